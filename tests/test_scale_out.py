"""Scale-out: the batch flow on a real Prefect server with a Dask cluster of worker processes and
the S3 store shared by all of them gives the same results as the single-process run; and every
server and worker process started for it is gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import SAMPLES
from procs import alive, children, group_members

pytestmark = pytest.mark.slow

APPS = ("APP-01", "APP-04", "APP-06")  # the three smallest samples: OCR once, then from the S3 cache
RUN_SPECIFIC = ("screened_at", "stats")  # clock and cache counters; everything else must match


def _comparable(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in RUN_SPECIFIC}


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`prefect server start` on 127.0.0.1 with its own PREFECT_HOME; killed by process group."""
    from prefectserver import start_prefect_server

    server = start_prefect_server(tmp_path_factory.mktemp("prefect-server"))
    yield server
    server.stop()
    assert server.leftovers() == [], "processes of the Prefect server's group outlived teardown"
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pgid, 0)


def _api(server, path: str, body: dict) -> list[dict]:
    import httpx

    resp = httpx.post(f"{server.api_url}{path}", json=body, timeout=30)
    resp.raise_for_status()
    return resp.json()


@pytest.mark.timeout(900)
def test_batch_on_dask_workers_with_prefect_server_equals_single_process_run(
    prefect_server, s3_server, tmp_path, monkeypatch
):
    """`yunshen batch --dask tcp://…` on a LocalCluster of 2 worker processes vs the single-process flow."""
    from distributed import Client, LocalCluster
    from prefect.settings import PREFECT_API_URL, PREFECT_TASKS_REFRESH_CACHE, temporary_settings
    from typer.testing import CliRunner

    from flows.screening import screen_batch
    from pipeline.cli import app
    from pipeline.settings import Settings
    from s3server import ACCESS_KEY, SECRET_KEY

    intake = tmp_path / "intake"
    for name in APPS:
        shutil.copytree(SAMPLES / name, intake / name)
    # Settings by environment, as on every machine of docs/scale-out.md; Dask worker processes
    # inherit it (the S3 secret never travels with the flow's parameters) and the Prefect server.
    for key, value in {"STORE": "s3", "S3_ENDPOINT": s3_server.endpoint, "S3_ACCESS_KEY": ACCESS_KEY,
                       "S3_SECRET_KEY": SECRET_KEY, "S3_SECURE": "false", "S3_BUCKET": "yunshen-scale-out",
                       "OCR_THREADS": "1"}.items():
        monkeypatch.setenv(f"YUNSHEN_{key}", value)
    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    # Prefect's cache would hand the Dask run the single-process results (same content key):
    # both runs must really screen; the second reads its OCR from the S3 cache the first filled
    monkeypatch.setenv("PREFECT_TASKS_REFRESH_CACHE", "true")
    settings_json = Settings().to_json()

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url, PREFECT_TASKS_REFRESH_CACHE: True}):
        single = screen_batch(str(intake), str(tmp_path / "out-single"), workers=1, settings_json=settings_json)
        children_before = children(os.getpid())
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                worker_pids = set(client.run(os.getpid).values())
                cli = CliRunner().invoke(app, ["batch", str(intake), "--out", str(tmp_path / "out-dask"),
                                               "--dask", cluster.scheduler_address])

                def built_runner() -> bool:
                    from pipeline.workers import _STATE

                    return _STATE.get("settings_json") == settings_json

                screened_here = client.run(built_runner)
    assert cli.exit_code == 0, cli.output
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert any(screened_here.values()), "no Dask worker process screened anything"

    assert set(single) == set(APPS)
    assert (tmp_path / "out-dask" / "summary.xlsx").exists()
    ocr_by_single = 0
    for name in APPS:
        a = json.loads((tmp_path / "out-single" / f"{name}.json").read_text(encoding="utf-8"))
        b = json.loads((tmp_path / "out-dask" / f"{name}.json").read_text(encoding="utf-8"))
        assert _comparable(a) == _comparable(b), name
        assert b["stats"]["ocr_calls"] == 0, f"{name}: the Dask run should read OCR from the shared S3 cache"
        ocr_by_single += a["stats"]["ocr_calls"]
    assert ocr_by_single > 0, "the single-process run should have OCRed (and filled the S3 cache)"
    keys = [o.object_name for o in s3_server.client().list_objects("yunshen-scale-out", recursive=True)]
    for name in APPS:
        assert any(k.startswith(f"results/{name}/") for k in keys), name
    assert any(k.startswith("cache/ocr/") for k in keys)

    # the real server recorded the Dask flow run and its screening task runs, all completed
    runs = _api(prefect_server, "/flow_runs/filter", {"flows": {"name": {"any_": ["screen-batch-dask"]}}})
    assert [r["state_type"] for r in runs] == ["COMPLETED"]
    tasks = _api(prefect_server, "/task_runs/filter", {"flow_runs": {"id": {"any_": [runs[0]["id"]]}}})
    screened = [t for t in tasks if t["name"].startswith("screen-application")]
    assert len(screened) == len(APPS) and all(t["state_type"] == "COMPLETED" for t in screened)
    single_run = _api(prefect_server, "/flow_runs/filter", {"flows": {"name": {"any_": ["screen-batch"]}}})
    print(f"\nscreen-batch (1 process): {single_run[0]['total_run_time']:.1f}s; "
          f"screen-batch-dask (2 Dask workers, OCR cached): {runs[0]['total_run_time']:.1f}s")

    # the cluster is closed: its worker processes are gone
    deadline = time.monotonic() + 15
    while any(alive(p) for p in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in worker_pids if alive(p)]
    # nothing new under this process but multiprocessing's resource tracker, which ends with it
    new = {pid: cmd for pid, cmd in children(os.getpid()).items() if pid not in children_before}
    assert all("multiprocessing.resource_tracker" in cmd for cmd in new.values()), new


EPHEMERAL_CHILD = textwrap.dedent(
    """
    import time
    from prefect import flow

    @flow
    def noop():
        return 1

    noop()
    print("flow done", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.timeout(300)
def test_ephemeral_prefect_server_outlives_a_sigkilled_parent_but_not_a_group_kill(tmp_path):
    """Why the fixtures kill by process group: Prefect's ephemeral server is a child process that
    stops only on the parent's clean exit (atexit); SIGKILL the parent and it keeps running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_URL")}
    env.update(PREFECT_HOME=str(tmp_path / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    parent = subprocess.Popen([sys.executable, "-c", EPHEMERAL_CHILD], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert parent.stdout.readline().strip() == "flow done"
        server = [p for p in group_members(parent.pid) if p != parent.pid]
        assert server, "the ephemeral server should be a second process in the parent's group"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        time.sleep(3)
        assert [p for p in server if alive(p)] == server, "ephemeral server died with its parent"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while group_members(parent.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_members(parent.pid) == []


def test_batch_on_dask_without_a_prefect_server_is_a_usage_error(tmp_path, monkeypatch):
    """Prefect's ephemeral mode is no place for Dask workers: `--dask` asks for PREFECT_API_URL."""
    from prefect.settings import get_current_settings
    from typer.testing import CliRunner

    from pipeline.cli import app

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert get_current_settings().api.url is None
    cli = CliRunner().invoke(app, ["batch", str(SAMPLES / "APP-01"), "--out", str(tmp_path / "out"),
                                   "--dask", "tcp://127.0.0.1:9"])
    assert cli.exit_code == 2
    assert "PREFECT_API_URL" in cli.output
    assert not (tmp_path / "out").exists()
