"""Resuming a batch that was killed: what the store already holds is not screened again.

A finished screening is stored as ``results/<application>/<rules version>/<screening key>.json``
(the key covers content, OCR engine and version, settings, rules and yunshen version — never
paths), then a *screening record* ``batch/screenings/<application>/<screening key>/<run>.json``
is added. The record is the commit point: a restarted batch loads a stored result instead of
screening again only when its record exists (a run killed between the two writes left a result
nobody committed: it is screened again, and counted once). The records count completed
screenings, so "nothing screened twice" is something one can check in the store.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pipeline.results import store_key
from pipeline.settings import Settings
from pipeline.storage import Store, StoreError

log = logging.getLogger(__name__)

RUN_ID = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def screening_version(path: Path, settings: Settings) -> str | None:
    """The screening key of the application at ``path`` (None: unreadable, so never resumed)."""
    from pipeline.fingerprint import screening_key

    try:
        return screening_key(path, settings)
    except Exception as exc:  # a bad upload is screened (and flagged), just not resumed
        log.info("no screening key for %s: %s", path, exc)
        return None


def _rules_version(settings: Settings) -> str:
    from pipeline.rules import load_rules

    return load_rules(settings.rules_file).version


def _record_prefix(application_id: str, version: str) -> str:
    return f"batch/screenings/{application_id}/{version}/"


def stored_result(store: Store, settings: Settings, application_id: str, version: str | None) -> str | None:
    """The stored result JSON for this exact screening, if a previous run finished it."""
    if version is None:
        return None
    try:
        if next(iter(store.list(_record_prefix(application_id, version))), None) is None:
            return None  # never committed (killed between the result and its record)
        data = store.get(store_key(application_id, _rules_version(settings), version))
    except StoreError as exc:
        log.warning("store unavailable, screening %s again: %s", application_id, exc)
        return None
    return data.decode() if data else None


def record_screening(
    store: Store, settings: Settings, result_json: str, version: str | None, application_id: str | None = None
) -> None:
    """Store a finished screening (idempotent) and count it. Raises :class:`StoreError`."""
    app_id = application_id or json.loads(result_json)["application_id"]
    version = version or "unversioned"
    key = store_key(app_id, _rules_version(settings), version)
    created = store.put_if_absent(key, result_json.encode())
    record = {"application_id": app_id, "version": version, "run": RUN_ID, "pid": os.getpid(), "at": time.time()}
    try:
        store.put(f"{_record_prefix(app_id, version)}{RUN_ID}.json", json.dumps(record).encode())
    except BaseException:
        if created:  # no stored result without its record: the next run screens it again
            try:
                store.delete(key)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
        raise


def screening_counts(store: Store) -> dict[tuple[str, str], int]:
    """How many times each (application, screening key) was screened to completion."""
    counts: dict[tuple[str, str], int] = {}
    for key in store.list("batch/screenings/"):
        _, _, app_id, version, _run = key.split("/", 4)
        counts[(app_id, version)] = counts.get((app_id, version), 0) + 1
    return counts
