"""The OCR cache: a page read once is never OCR'd again.

Entries are keyed by (file sha256, page number, engine name, engine version, settings
fingerprint) — never by path — so a renamed or re-uploaded file hits the cache, and a new model or
a changed setting misses it. Writes are atomic (write to a temporary file, then rename), so a
crash leaves either the old state or the new one, never half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from pipeline.model import Page

if TYPE_CHECKING:
    from pipeline.storage import Store


def cache_key(sha256: str, page: int, engine: str, engine_version: str, fingerprint: str) -> str:
    raw = f"{sha256}|{page}|{engine}|{engine_version}|{fingerprint}"
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0


@dataclass
class OcrCache:
    """Pages read by OCR, stored as JSON at ``cache/ocr/<k[:2]>/<k>.json`` in a store."""

    store: Store
    stats: CacheStats = field(default_factory=CacheStats)

    @staticmethod
    def _key(key: str) -> str:
        return f"cache/ocr/{key[:2]}/{key}.json"

    def get(self, key: str) -> Page | None:
        data = self.store.get(self._key(key))
        page = None
        if data is not None:
            try:
                page = Page.model_validate_json(data)
            except (ValidationError, ValueError):
                page = None  # an unreadable entry is a miss; it is rewritten
        if page is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return page

    def put(self, key: str, page: Page) -> None:
        self.store.put(self._key(key), page.model_dump_json().encode())
        self.stats.writes += 1


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, json.dumps(obj, ensure_ascii=False, indent=2).encode())
