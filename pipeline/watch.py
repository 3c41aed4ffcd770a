"""The watched upload folder: screen each application once its upload is complete, exactly once
per content version, and survive restarts.

An application (a sub-folder or a ``.zip`` of the watched folder) is *ready* when it holds a
``.done`` marker, or when a zip opens, or when none of its files has changed for the quiet period.
Its *version* is the content fingerprint (file names + sha256s). A ledger in the store records
every version screened (``watch/ledger/<app>/<fingerprint>.json``, written after the result), so a
restarted watcher skips what it finished and re-screens what it was killed in the middle of: the
result write is atomic and idempotent, so that re-screening replaces nothing half-written.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline.fingerprint import application_fingerprint
from pipeline.settings import Settings
from pipeline.storage import Store

log = logging.getLogger(__name__)

DONE_MARKERS = (".done", ".upload-complete")


@dataclass(frozen=True)
class Candidate:
    path: Path
    application_id: str


def _latest_change(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    latest = path.stat().st_mtime
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                latest = max(latest, (Path(root) / name).stat().st_mtime)
            except FileNotFoundError:  # removed while we looked: not stable
                return time.time()
    return latest


def is_ready(path: Path, quiet_seconds: float, now: float | None = None) -> bool:
    """Upload complete: a done marker, a zip that opens, or quiet for ``quiet_seconds``."""
    now = time.time() if now is None else now
    if path.is_dir() and any((path / m).exists() for m in DONE_MARKERS):
        return True
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                if zf.testzip() is not None:
                    return False
        except (zipfile.BadZipFile, OSError):
            return now - _latest_change(path) >= quiet_seconds * 4  # broken for good: screen and flag
        return now - _latest_change(path) >= min(quiet_seconds, 1.0)
    return now - _latest_change(path) >= quiet_seconds


def candidates(inbox: Path) -> list[Candidate]:
    from pipeline.ingest import application_id_for

    out = []
    for child in sorted(inbox.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir() or child.suffix.lower() == ".zip":
            out.append(Candidate(child, application_id_for(child)))
    return out


class Ledger:
    """Which (application, version) pairs were screened — in the store, so restarts see it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _key(app_id: str, fingerprint: str) -> str:
        return f"watch/ledger/{app_id}/{fingerprint}.json"

    def done(self, app_id: str, fingerprint: str) -> bool:
        return self.store.exists(self._key(app_id, fingerprint))

    def record(self, app_id: str, fingerprint: str, result_key: str) -> None:
        entry = {
            "application_id": app_id,
            "fingerprint": fingerprint,
            "result": result_key,
            "screened_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "pid": os.getpid(),
        }
        self.store.put_if_absent(self._key(app_id, fingerprint), json.dumps(entry).encode())

    def entries(self) -> list[dict]:
        out = []
        for key in self.store.list("watch/ledger/"):
            data = self.store.get(key)
            if data:
                out.append(json.loads(data))
        return out


def scan_once(
    inbox: Path,
    outbox: Path,
    settings: Settings,
    ledger: Ledger,
    screen: Callable[[Path], object],
    quiet_seconds: float,
    on_screened: Callable[[object], None] | None = None,
) -> list[str]:
    """One pass over the inbox; the ids of the applications screened in it."""
    from pipeline.results import save_result, store_key
    from pipeline.rules import load_rules

    rules_version = load_rules(settings.rules_file).version
    screened = []
    for cand in candidates(inbox):
        try:
            if not is_ready(cand.path, quiet_seconds):
                continue
            fingerprint = application_fingerprint(cand.path, settings)
        except (FileNotFoundError, PermissionError):
            continue  # vanished or still being written
        if ledger.done(cand.application_id, fingerprint):
            continue
        key = store_key(cand.application_id, rules_version, fingerprint)
        if ledger.store.exists(key):  # screened before a crash cut the ledger write: record only
            ledger.record(cand.application_id, fingerprint, key)
            continue
        result = screen(cand.path)
        if fingerprint != application_fingerprint(cand.path, settings):
            log.info("%s changed while it was screened; screening it again later", cand.application_id)
            continue
        key = save_result(result, outbox, settings, version=fingerprint)  # type: ignore[arg-type]
        ledger.record(cand.application_id, fingerprint, key)
        screened.append(cand.application_id)
        if on_screened is not None:
            on_screened(result)
    return screened


def watch(
    inbox: Path,
    outbox: Path,
    settings: Settings,
    *,
    quiet_seconds: float = 10.0,
    poll_seconds: float = 2.0,
    stop_after: float | None = None,
    on_screened: Callable[[object], None] | None = None,
) -> None:
    """Watch ``inbox`` until interrupted (or for ``stop_after`` seconds). Filesystem events
    (watchdog, when installed) only wake the loop early; the periodic scan is what is relied on,
    so events missed while the watcher was down are never lost."""
    import threading

    from pipeline.pages import OcrRunner
    from pipeline.screen import screen_application
    from pipeline.storage import open_store

    ocr = OcrRunner.from_settings(settings)
    ledger = Ledger(open_store(settings))
    wake = threading.Event()
    observer = _start_observer(inbox, wake)
    started = time.monotonic()
    try:
        while stop_after is None or time.monotonic() - started < stop_after:
            done = scan_once(inbox, outbox, settings, ledger, lambda p: screen_application(p, settings, ocr),
                             quiet_seconds, on_screened)
            if done:
                refresh_report(outbox)
            wake.wait(poll_seconds)
            wake.clear()
    finally:
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)


def _start_observer(inbox: Path, wake):  # noqa: ANN001, ANN202 - optional dependency
    try:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:
        return None

    class _Wake(FileSystemEventHandler):
        def on_any_event(self, event) -> None:  # noqa: ANN001
            wake.set()

    observer = Observer()
    observer.schedule(_Wake(), str(inbox), recursive=True)
    observer.start()
    return observer


def refresh_report(outbox: Path) -> None:
    """Rewrite the outbox's summary from every result in it (page images are not re-rendered here)."""
    from pipeline.model import ScreeningResult
    from pipeline.report import write_csv, write_xlsx

    results = []
    for path in sorted(outbox.glob("*.json")):
        try:
            results.append(ScreeningResult.model_validate_json(path.read_bytes()))
        except ValueError:
            continue
    write_xlsx(results, outbox / "summary.xlsx")
    write_csv(results, outbox / "summary.csv")
