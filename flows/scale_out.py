"""The batch flow on a Dask cluster — wiring only; see ``docs/scale-out.md`` for N machines.

Same steps as :func:`flows.screening.screen_batch`, but each application's screening task runs in
a Dask worker process (``prefect-dask``'s ``DaskTaskRunner``), which builds its OCR runner once
and keeps it (:func:`pipeline.workers.screen_here`). Cross-application checks, the report and the
results' writes run in the flow's own process, so ``out_dir`` is a folder of the machine that runs
the flow; results also go to the store, which should be S3 so every machine shares the OCR cache.

Needs a real Prefect server (``PREFECT_API_URL``) for the flow *and* the workers: in Prefect's
ephemeral mode the task runs inside the Dask worker processes fail (measured). Dask is an optional
extra (``pip install 'yunshen[dask]'``); nothing here is imported by the embedded default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.screening import report_and_store, screen_each
from pipeline.ingest import find_applications
from pipeline.settings import Settings


@flow(name="screen-batch-dask")
def _screen_batch_dask(intake: str, out_dir: str, settings_json: str, refresh: bool = False) -> dict[str, Any]:
    apps = find_applications(Path(intake))
    get_run_logger().info("screening %d applications on Dask", len(apps))
    summary: dict[str, Any] = {}
    results = screen_each(apps, settings_json, refresh, summary)
    return report_and_store(results, out_dir, settings_json, summary)


def screen_batch_dask(
    intake: str,
    out_dir: str,
    address: str | None = None,
    *,
    workers: int = 2,
    settings_json: str | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Screen every application under ``intake`` on the Dask scheduler at ``address``
    (``tcp://host:8786``); without an address, on a temporary local cluster of ``workers``
    single-threaded processes. Returns {application_id: verdict or error} like ``screen_batch``.
    """
    from prefect_dask import DaskTaskRunner

    settings_json = (Settings.from_json(settings_json) if settings_json else Settings()).to_json()
    if address:
        runner = DaskTaskRunner(address=address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
        )
    return _screen_batch_dask.with_options(task_runner=runner)(intake, out_dir, settings_json, refresh)
