"""Where results go: the output folder (for people) and the store (versioned, never overwritten)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.cache import atomic_write_bytes
from pipeline.model import ScreeningResult
from pipeline.settings import Settings


def write_result_file(result: ScreeningResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result.application_id}.json"
    atomic_write_bytes(path, result.to_json().encode())
    return path


def store_key(result: ScreeningResult, payload: bytes) -> str:
    digest = hashlib.sha256(payload).hexdigest()[:32]
    return f"results/{result.application_id}/{result.rules_version or 'unjudged'}/{digest}.json"


def save_result(result: ScreeningResult, out_dir: Path, settings: Settings) -> str:
    """Write the result to ``out_dir`` and, versioned by rules version and content, to the store."""
    from pipeline.storage import open_store

    payload = result.to_json().encode()
    write_result_file(result, out_dir)
    key = store_key(result, payload)
    open_store(settings).put_if_absent(key, payload)
    return key
