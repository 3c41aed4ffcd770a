"""Remove one application's personal data from every store: ``yunshen purge APPLICATION_ID``.

Applicants' documents carry personal data (legal representatives' names, ID and phone numbers), so
an application can be erased on request. What it leaves behind, and where, is:

* **results** — every version under ``results/<id>/`` in the store, and ``<id>.json`` (any result
  file whose ``application_id`` is ``<id>``) plus ``applications/<id>.html`` in the output folder;
  ``summary.xlsx``/``summary.csv`` there are rewritten from the remaining results;
* **originals** — ``originals/…<sha256>…`` objects of the application's files;
* **OCR and seal cache** — entries of the application's pages. Their keys are one-way hashes of
  (file sha256, page, engine, engine version, settings), so they are found by recomputing the
  keys for every installed engine under the current settings; entries written under other
  settings or an older engine version cannot be attributed and stay (they are unreachable too);
* **watch ledger** — ``watch/ledger/<id>/`` (application id, content fingerprint, timestamps).

A file whose sha256 another application's result still lists (the same PDF filed twice) is shared:
its original and cache entries are kept, and the report says so.

Not touched, by decision: the reviewer app's database. Its ``decisions`` table is the append-only
audit trail (SQLite triggers refuse UPDATE/DELETE); it holds the application id, a hash of each
flag's identity, the flag code, the decision, the reviewer's name and comment — no document text
the pipeline extracted. Erasing reviewers' records is a separate, deliberate act on that database.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from pipeline.cache import OcrCache, cache_key
from pipeline.model import ScreeningResult
from pipeline.results import ResultLoadError, load_result, load_result_file
from pipeline.settings import Settings
from pipeline.storage import Store

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("results", "originals", "ocr_cache", "seal_cache", "ledger", "output_files")
"""What the report counts, in the order it is printed."""

_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass
class PurgeReport:
    application_id: str
    removed: Counter[str] = field(default_factory=Counter)
    """Kind (see :data:`KINDS`) → objects or files removed (or that would be, on a dry run)."""
    kept_shared: list[str] = field(default_factory=list)
    """sha256 of files another application still references: their original and cache kept."""
    rewritten: list[str] = field(default_factory=list)
    """Output-folder files rewritten without the application (summary.xlsx, summary.csv)."""
    found: bool = False
    """Whether anything of the application was found at all."""


def _check_id(application_id: str) -> str:
    if (
        not application_id
        or application_id != application_id.strip()
        or any(c in application_id for c in "/\\\x00")
        or application_id in (".", "..")
    ):
        raise ValueError(f"not an application id: {application_id!r}")
    return application_id


def _shas(data: bytes) -> set[str]:
    """The file sha256s a result lists; for a result that no longer loads, every sha256-looking
    string in it (over-keeping is safe, deleting a shared original is not)."""
    try:
        return {d.sha256 for d in load_result(data).documents if d.sha256}
    except ResultLoadError:
        return set(_SHA.findall(data.decode("utf-8", "replace")))


def _pages(results: list[ScreeningResult]) -> dict[str, int]:
    """sha256 → how many pages to clear in the cache (the most any result saw)."""
    pages: dict[str, int] = {}
    for r in results:
        for d in r.documents:
            if not d.sha256:
                continue
            n = max([d.pages, *(p.number for p in d.page_info)], default=0)
            pages[d.sha256] = max(pages.get(d.sha256, 0), n)
    return pages


def _identities(settings: Settings) -> list[tuple[str, str]]:
    """(engine, version) of every engine installed here — each may have read the pages."""
    from extractors.ocr import ENGINE_NAMES, engine_identity

    out = []
    for name in ENGINE_NAMES:
        try:
            out.append(engine_identity(settings, name))
        except Exception as exc:  # noqa: BLE001 - an engine not installed has no cache entries
            log.debug("engine %s not available for purge: %s", name, type(exc).__name__)
    return out


def _cache_keys(pages: dict[str, int], settings: Settings) -> tuple[set[str], set[str]]:
    """Store keys of the OCR and seal cache entries of these files' pages."""
    from extractors.preprocess import PREPROCESS_VERSION
    from pipeline.sealing import _cache_key as seal_key

    ocr: set[str] = set()
    seals: set[str] = set()
    for name, version in _identities(settings):
        # the fingerprint depends on the engine (paddle's inference backend counts only for paddle)
        engine_settings = settings.model_copy(update={"ocr_engine": name})
        fingerprint = engine_settings.ocr_fingerprint()
        runner = SimpleNamespace(identity=(name, version), settings=engine_settings)
        for sha, count in pages.items():
            for page in range(1, count + 1):
                key = cache_key(sha, page, name, f"{version}+pre{PREPROCESS_VERSION}", fingerprint)
                ocr.add(OcrCache._key(key))
                seals.add(seal_key(sha, page, runner))  # type: ignore[arg-type]
    return ocr, seals


def purge_application(
    application_id: str,
    settings: Settings,
    store: Store,
    out_dir: Path | None = None,
    *,
    dry_run: bool = False,
) -> PurgeReport:
    """Remove everything of ``application_id`` from ``store`` and ``out_dir`` (see module doc)."""
    app_id = _check_id(application_id)
    report = PurgeReport(app_id)
    prefix = f"results/{app_id}/"

    # 1. what the application is: its results, in the store and in the output folder
    result_keys = list(store.list(prefix))
    results: list[ScreeningResult] = []
    own_shas: set[str] = set()
    for key in result_keys:
        data = store.get(key) or b""
        own_shas |= _shas(data)
        try:
            results.append(load_result(data))
        except ResultLoadError:
            log.warning("purge: stored result %s unreadable; its files are found by sha256 only", key)
    out_files: list[Path] = []
    others_out: list[Path] = []
    if out_dir is not None and Path(out_dir).is_dir():
        for path in sorted(Path(out_dir).glob("*.json")):
            try:
                r = load_result_file(path)
            except ResultLoadError:
                if path.name == f"{app_id}.json":
                    out_files.append(path)
                continue
            if r.application_id == app_id:
                out_files.append(path)
                results.append(r)
                own_shas |= {d.sha256 for d in r.documents if d.sha256}
            else:
                others_out.append(path)
        from pipeline.report import page_name

        html = Path(out_dir) / "applications" / page_name(app_id)
        if html.exists():
            out_files.append(html)
    pages = _pages(results)
    for sha in own_shas:
        pages.setdefault(sha, 0)

    # 2. what other applications still reference
    shared: set[str] = set()
    for key in store.list("results/"):
        if key.startswith(prefix):
            continue
        shared |= _shas(store.get(key) or b"") & own_shas
    for path in others_out:
        shared |= _shas(path.read_bytes()) & own_shas
    report.kept_shared = sorted(shared)
    mine = {sha: n for sha, n in pages.items() if sha not in shared}

    # 3. the store
    ocr_keys, seal_keys = _cache_keys(mine, settings)
    targets: dict[str, list[str]] = {
        "results": result_keys,
        "originals": [k for k in store.list("originals/") if any(s in k.rsplit("/", 1)[-1] for s in mine)],
        "ocr_cache": sorted(k for k in ocr_keys if store.exists(k)),
        "seal_cache": sorted(k for k in seal_keys if store.exists(k)),
        "ledger": list(store.list(f"watch/ledger/{app_id}/")),
    }
    for kind, keys in targets.items():
        for key in keys:
            if not dry_run:
                store.delete(key)
            report.removed[kind] += 1

    # 4. the output folder
    for path in out_files:
        if not dry_run:
            path.unlink(missing_ok=True)
        report.removed["output_files"] += 1
    if out_dir is not None and out_files and not dry_run:
        report.rewritten = _rewrite_summaries(Path(out_dir), others_out)
    report.found = bool(sum(report.removed.values()) or shared)
    log.info("purged application %s: %s", app_id, dict(report.removed))
    return report


def _rewrite_summaries(out_dir: Path, remaining: list[Path]) -> list[str]:
    """summary.xlsx / summary.csv again, from the results left in the folder. (Sheet 3, contract
    numbers reused across applications, is left empty: the next ``yunshen batch`` rebuilds it.)"""
    from pipeline.report import write_csv, write_xlsx

    targets = [p for p in (out_dir / "summary.xlsx", out_dir / "summary.csv") if p.exists()]
    if not targets:
        return []
    results = []
    for path in remaining:
        try:
            results.append(load_result_file(path))
        except ResultLoadError:
            continue
    results.sort(key=lambda r: r.application_id)
    for path in targets:
        if path.suffix == ".xlsx":
            write_xlsx(results, path)
        else:
            write_csv(results, path)
    return [p.name for p in targets]
