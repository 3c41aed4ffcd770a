"""Content fingerprints: what a screening result depends on, without paths or clocks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline import __version__
from pipeline.ingest import load_application
from pipeline.settings import Settings


def application_fingerprint(path: Path, settings: Settings) -> str:
    """sha256 over the application's files (relative name + content sha256), not its location."""
    source = load_application(path, settings)
    items = sorted((f.relpath, f.sha256, f.error.code if f.error else "") for f in source.files)
    blob = json.dumps([source.application_id, items, source.error.code if source.error else ""])
    return hashlib.sha256(blob.encode()).hexdigest()


def screening_key(path: Path, settings: Settings) -> str:
    """Everything a result depends on: content, OCR engine and version, settings, rules, yunshen."""
    from extractors.ocr import engine_identity
    from pipeline.rules import load_rules

    engine, version = engine_identity(settings)
    rules = load_rules(settings.rules_file)
    parts = [application_fingerprint(path, settings), engine, version, settings.ocr_fingerprint(), rules.version, __version__]
    return "screen-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
