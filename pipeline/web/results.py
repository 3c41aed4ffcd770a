"""The screening results the reviewers see: loaded from a folder of ``yunshen.result/v1`` JSON files.

The folder is rescanned (by file size and mtime) at most every ``rescan_seconds``, so a new batch
written next to a running server shows up without a restart. Files that are not valid results
(corrupt, truncated, wrong shape — see :func:`pipeline.results.load_result`) are skipped, logged
without their content, and listed by :meth:`ResultIndex.unreadable`; never served half-read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.model import CHECKLIST_GROUPS, Flag, ScreeningResult
from pipeline.results import ResultLoadError, load_result_file

log = logging.getLogger(__name__)


def flag_base_key(flag: Flag) -> str:
    """A flag's identity across re-screenings: hash of (code, sorted files, subject)."""
    blob = json.dumps([flag.code, sorted(flag.files), flag.subject or ""], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def flag_keys(flags: list[Flag]) -> list[str]:
    """Keys of a result's flags, in order. Two flags with the same (code, files, subject) — e.g. two
    SEAL_MISSING on one contract, one per missing party — get ``-2``, ``-3``… by order of appearance,
    so each can be decided on its own."""
    seen: Counter[str] = Counter()
    keys = []
    for flag in flags:
        base = flag_base_key(flag)
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return keys


def verdict_key(meets: bool | None) -> str:
    return "pass" if meets is True else ("fail" if meets is False else "unknown")


@dataclass(frozen=True)
class _Entry:
    stamp: tuple[int, int]
    result: ScreeningResult | None
    problem: str | None = None


class ResultIndex:
    """Thread-safe, lazily refreshed ``application_id → ScreeningResult``."""

    def __init__(self, results_dir: Path, rescan_seconds: float = 2.0) -> None:
        self.results_dir = Path(results_dir)
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        self._files: dict[Path, _Entry] = {}
        self._by_id: dict[str, ScreeningResult] = {}
        self._unreadable: dict[str, str] = {}
        self._scanned = float("-inf")

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._scanned < self.rescan_seconds:
            return
        self._scanned = now
        files: dict[Path, _Entry] = {}
        for path in sorted(self.results_dir.glob("*.json")):
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            old = self._files.get(path)
            if old is not None and old.stamp == stamp:
                files[path] = old
                continue
            problem = None
            try:
                result = load_result_file(path)
            except ResultLoadError as exc:
                # the message names where the document is wrong, never its values (document text)
                log.warning("skipping %s", exc)
                result, problem = None, str(exc)
            except Exception as exc:  # noqa: BLE001 - a bug in loading one file never takes the app down
                log.warning("skipping %s: %s", path.name, type(exc).__name__)
                result, problem = None, f"{path.name}: {type(exc).__name__}"
            files[path] = _Entry(stamp, result, problem)
        by_id: dict[str, ScreeningResult] = {}
        unreadable = {p.name: e.problem for p, e in files.items() if e.problem is not None}
        for path, entry in files.items():
            r = entry.result
            if r is None:
                continue
            if r.application_id in by_id:
                log.warning("%s: application %s already loaded from another file; ignored", path.name, r.application_id)
                continue
            by_id[r.application_id] = r
        self._files, self._by_id, self._unreadable = files, by_id, unreadable

    def all(self) -> list[ScreeningResult]:
        with self._lock:
            self._refresh()
            return [self._by_id[k] for k in sorted(self._by_id)]

    def get(self, application_id: str) -> ScreeningResult | None:
        with self._lock:
            self._refresh()
            return self._by_id.get(application_id)

    def unreadable(self) -> dict[str, str]:
        """``file name → why`` for every ``*.json`` in the folder that is not a readable result
        (so the queue can show "unreadable" instead of silently losing an application)."""
        with self._lock:
            self._refresh()
            return dict(sorted(self._unreadable.items()))


@dataclass(frozen=True)
class ChecklistRow:
    """One subdomain of the 附表 as the panel shows it."""

    group: str
    name: str
    claimed: bool
    evidenced: bool

    @property
    def status(self) -> str:
        if self.claimed and self.evidenced:
            return "evidenced"
        if self.claimed:
            return "missing"
        return "unclaimed"


def checklist(result: ScreeningResult) -> list[tuple[str, list[ChecklistRow]]]:
    """Claimed / evidenced / missing per group: every claimed and every evidenced subdomain, once."""
    group_of: dict[str, str] = {}
    try:
        from classifiers.taxonomy import load_taxonomy

        tax = load_taxonomy()
        group_of = {sd.name: sd.group for sd in tax.subdomains}
    except Exception as exc:  # noqa: BLE001 - the panel still works without the taxonomy
        log.warning("taxonomy unavailable: %s", exc)
    evidenced = {name: g for g, names in result.subdomains_evidenced.items() for name in names}
    claimed = list(dict.fromkeys(result.claimed.subdomains))
    rows: dict[str, list[ChecklistRow]] = {g: [] for g in [*CHECKLIST_GROUPS, *result.subdomains_evidenced]}
    for name in claimed:
        group = evidenced.get(name) or group_of.get(name) or "未归类"
        rows.setdefault(group, []).append(ChecklistRow(group, name, True, name in evidenced))
    for name, group in evidenced.items():
        if name not in claimed:
            rows.setdefault(group, []).append(ChecklistRow(group, name, False, True))
    return list(rows.items())
