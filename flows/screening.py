"""Prefect flows around the plain functions of ``pipeline`` — wiring only, no logic.

* ``screen_application``: one application → result v1, written to the output folder and the store;
* ``screen_batch``: a city's intake, bounded concurrency, one failure never stops the rest, then
  cross-application checks and the bureau report;
* ``reprocess``: re-judge stored results under a rules file (no OCR).

``flows.scale_out`` runs the same batch on a Dask cluster (``screen_each`` + ``report_and_store``).

Tasks are coarse (one per application): Prefect costs ≈14 ms of CPU per task. OCR runs in the
worker processes of :class:`pipeline.workers.ScreeningPool` (engines are not thread-safe); Prefect's
threads only wait on them. The screening task is cached on the application's *content* (file
sha256s) + OCR engine and version + settings + rules version — never on paths — and retried only
when the store failed (a bad file is a flag, not an exception). Prefect runs ephemeral unless
``PREFECT_API_URL`` names a server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline.ingest import find_applications
from pipeline.model import ScreeningResult
from pipeline.settings import Settings
from pipeline.storage import StoreError
from pipeline.workers import ScreeningPool, screen_here

_POOL: ScreeningPool | None = None


def _retry_on_store_error(task, task_run, state) -> bool:  # noqa: ANN001 - Prefect's hook signature
    try:
        state.result()
    except StoreError:
        return True
    except Exception:
        return False
    return False


def _screening_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    from pipeline.fingerprint import screening_key

    settings = Settings.from_json(parameters["settings_json"])
    return screening_key(Path(parameters["path"]), settings)


@task(
    name="screen-application",
    cache_key_fn=_screening_cache_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_on_store_error,
)
def screen_application_task(path: str, settings_json: str) -> str:
    """Screen one application in a worker process; the result v1 as JSON text."""
    if _POOL is None:  # a Dask worker, or called outside a flow that owns a pool: screen here
        return screen_here(path, settings_json)
    return _POOL.submit(path).result()


@task(name="store-result", retries=3, retry_delay_seconds=[1, 4, 15], retry_condition_fn=_retry_on_store_error)
def store_result_task(result_json: str, out_dir: str, settings_json: str) -> str:
    from pipeline.results import save_result

    return save_result(
        ScreeningResult.model_validate_json(result_json), Path(out_dir), Settings.from_json(settings_json)
    )


@task(name="cross-check-and-report")
def report_task(results: dict[str, str], out_dir: str) -> list[str]:
    from pipeline.batch import cross_check_and_report

    parsed = {Path(p): ScreeningResult.model_validate_json(r) for p, r in results.items()}
    return [r.to_json() for r in cross_check_and_report(parsed, Path(out_dir))]


@flow(name="screen-application")
def screen_application(path: str, out_dir: str, settings_json: str | None = None) -> dict:
    settings_json = settings_json or Settings().to_json()
    result = screen_application_task(path, settings_json)
    store_result_task(result, out_dir, settings_json)
    return json.loads(result)


@flow(name="screen-batch", task_runner=ThreadPoolTaskRunner(max_workers=4))
def screen_batch(
    intake: str, out_dir: str, workers: int = 1, settings_json: str | None = None, refresh: bool = False
) -> dict[str, Any]:
    """Screen every application under ``intake``; returns {application_id: verdict or error}.

    ``refresh`` re-screens even what Prefect's cache already holds (the OCR cache still applies).
    """
    global _POOL
    logger = get_run_logger()
    settings = Settings.from_json(settings_json) if settings_json else Settings()
    settings_json = settings.to_json()
    apps = find_applications(Path(intake))
    logger.info("screening %d applications with %d worker processes", len(apps), workers)
    summary: dict[str, Any] = {}
    with ScreeningPool(settings, workers) as pool:
        _POOL = pool
        try:
            results = screen_each(apps, settings_json, refresh, summary)
        finally:
            _POOL = None
    return report_and_store(results, out_dir, settings_json, summary)


def screen_each(apps: list[Path], settings_json: str, refresh: bool, summary: dict[str, Any]) -> dict[str, str]:
    """Submit one screening task per application to the flow's task runner; wait for all.

    Failures go to ``summary`` as ``{"error": ...}``; the rest are returned as {path: result JSON}.
    """
    logger = get_run_logger()
    # not refreshing leaves Prefect's own default (PREFECT_TASKS_REFRESH_CACHE) in charge
    screen = screen_application_task.with_options(refresh_cache=True if refresh else None)
    futures = {str(p): screen.submit(str(p), settings_json) for p in apps}
    results: dict[str, str] = {}
    for path, fut in futures.items():
        fut.wait()
        if fut.state.is_completed():
            results[path] = fut.result()
        else:  # a bug in one application must not stop the rest
            summary[Path(path).name] = {"error": str(fut.state.message or fut.state.name)}
            logger.error("application %s failed: %s", path, fut.state.message)
    return results


def report_and_store(
    results: dict[str, str], out_dir: str, settings_json: str, summary: dict[str, Any]
) -> dict[str, Any]:
    """Cross-application checks and the report (in the flow's process), then every final result
    to the output folder and the store; the batch summary."""
    final = report_task(results, out_dir)
    for result_json in final:
        store_result_task(result_json, out_dir, settings_json)
        r = ScreeningResult.model_validate_json(result_json)
        summary[r.application_id] = {
            "meets_star_sought": r.verdict.meets_star_sought,
            "highest_star_supported": r.verdict.highest_star_supported,
            "flags": len(r.flags),
        }
    return summary


@flow(name="reprocess")
def reprocess(results_dir: str, rules_file: str | None = None) -> list[str]:
    """Re-judge the results in ``results_dir`` under ``rules_file``; the per-application changes."""
    from pipeline.reprocess import rejudge_folder
    from pipeline.rules import load_rules

    diffs = rejudge_folder(Path(results_dir), load_rules(rules_file))
    return [d.describe() for d in diffs if d.changed]
