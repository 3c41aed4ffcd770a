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


def store_key(application_id: str, rules_version: str | None, version: str) -> str:
    """``results/<application>/<rules version>/<version>.json``: one object per input version."""
    return f"results/{application_id}/{rules_version or 'unjudged'}/{version}.json"


def save_result(
    result: ScreeningResult, out_dir: Path, settings: Settings, version: str | None = None
) -> str:
    """Write the result to ``out_dir`` and to the store, keyed by rules version and ``version``
    (the application's content fingerprint; default: the result's own digest). Never overwrites."""
    from pipeline.storage import open_store

    payload = result.to_json().encode()
    write_result_file(result, out_dir)
    key = store_key(result.application_id, result.rules_version, version or hashlib.sha256(payload).hexdigest()[:32])
    open_store(settings).put_if_absent(key, payload)
    return key
