"""Faults, caused for real: an OCR worker SIGKILLed mid-page, the whole batch SIGKILLed and run
again, the S3 server stopped mid-batch, the local store's disk full, the Prefect server away.

Every case checks the same three things: the batch does not crash, no result is lost or
half-written (every JSON parses, no temporary files are left), and nothing is screened twice
(``batch/screenings/…`` records in the store count completed screenings; see pipeline/resume.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from builders import image_pdf, render_lines, text_pdf, write

from pipeline.settings import Settings
from pipeline.workers import ScreeningPool, WorkerCrashed

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers


def _text_app(folder: Path, i: int, pages: int = 6) -> Path:
    company = f"江苏故障{i:02d}科技有限公司"
    write(folder / "申请表.pdf", text_pdf([["星级上云企业评定申请表", f"申报企业：{company}", "填报日期：2024年3月1日"]]))
    write(folder / "合同/云服务合同.pdf", text_pdf(
        [["云服务合同", f"合同编号：HT-2024-{i:03d}", f"甲方：{company}", "乙方：阿里云计算有限公司", f"第{k}页"]
         for k in range(pages)]))
    write(folder / "说明.pdf", text_pdf([["情况说明", f"{company} 特此说明"]]))
    return folder


def _ocr_app(folder: Path, i: int, pages: int) -> Path:
    """Scanned pages only (no text layer): every page goes through the real OCR model."""
    company = f"江苏扫描{i:02d}科技有限公司"
    scans = [render_lines(["云服务合同", f"合同编号：HT-2024-{i:03d}-{k}", f"甲方：{company}",
                           "乙方：阿里云计算有限公司", f"服务期限：2024年1月1日至2024年12月31日 第{k + 1}页"])
             for k in range(pages)]
    write(folder / "合同扫描件.pdf", image_pdf(scans))
    return folder


def _normalised(result_json: str) -> dict:
    """A result without what differs between two honest runs (clock, timings, cache counters)."""
    data = json.loads(result_json)
    for key in ("screened_at", "stats"):
        data.pop(key, None)
    return data


def _screening_counts(store_root: Path) -> Counter:
    """Completed screenings per application, from the ``batch/screenings`` records of a local store."""
    base = store_root / "batch" / "screenings"
    return Counter(p.relative_to(base).parts[0] for p in base.rglob("*.json")) if base.exists() else Counter()


def _leftovers(*roots: Path) -> list[str]:
    """Temporary files of atomic writes left behind (hidden: readers never see them)."""
    return [f"leftover {p}" for root in roots for p in root.rglob(".*") if p.name.endswith((".tmp", ".part"))]


def _unparseable(*roots: Path) -> list[str]:
    """Result, record and cache files (what readers see) that do not parse: half-written."""
    bad = []
    for root in roots:
        for p in root.rglob("*.json"):
            if p.is_file() and not p.name.startswith("."):
                try:
                    json.loads(p.read_bytes())
                except ValueError:
                    bad.append(f"unparseable {p}")
    return bad


def _half_written(*roots: Path) -> list[str]:
    return _unparseable(*roots) + _leftovers(*roots)


def _batch_cmd(intake: Path, out: Path, store: Path | None, workers: int = 2) -> list[str]:
    cmd = [sys.executable, "-m", "pipeline.cli", "batch", str(intake), "--out", str(out), "--workers", str(workers)]
    return cmd + (["--store-dir", str(store)] if store else [])


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **extra}


def _wait(predicate, timeout: float, every: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


# --------------------------------------------------------------------------- (c) a worker killed


@pytest.mark.slow
def test_ocr_worker_killed_mid_page_the_batch_completes_each_application_once(tmp_path):
    """workers=2, one worker SIGKILLed while it OCRs: the pool restarts, re-submits what was
    unfinished, and every application is screened once, identical to an uninterrupted run."""
    apps = [_ocr_app(tmp_path / "intake" / f"APP-{i:02d}", i, pages=2) for i in range(3)]

    clean = Settings(cache_dir=tmp_path / "clean-store", ocr_threads=1)
    with ScreeningPool(clean, 1) as pool:
        reference = {p.name: _normalised(f.result()) for p, f in pool.map_completed(apps)}

    store = tmp_path / "store"
    settings = Settings(cache_dir=store, ocr_threads=1)
    killed: list[tuple[int, str]] = []
    with ScreeningPool(settings, 2) as pool:
        def kill_once_ocr_is_under_way() -> None:
            def busy_worker() -> tuple[int, str] | None:
                pages_done = list((store / "cache" / "ocr").rglob("*.json")) if store.exists() else []
                if not pages_done:  # OCR has not produced a page yet
                    return None
                for marker in pool._markers.iterdir():  # applications started, not finished
                    pid = int(marker.read_text() or 0)
                    if pid in pool.worker_pids():
                        return pid, marker.name
                return None

            found: list = []
            if _wait(lambda: found.append(busy_worker()) or found[-1] is not None, 600, every=0.02):
                pid, task = found[-1]
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, task))

        killer = threading.Thread(target=kill_once_ocr_is_under_way, daemon=True)
        killer.start()
        seen: Counter = Counter()
        results = {}
        for path, fut in pool.map_completed(apps):
            seen[path.name] += 1
            results[path.name] = _normalised(fut.result())  # raises if the application failed
        killer.join(timeout=5)
        restarts = pool.restarts

    assert killed, "no worker was killed: OCR never seen under way"
    assert restarts >= 1
    assert seen == Counter({a.name: 1 for a in apps})  # each application exactly once
    assert all(f"江苏扫描{i:02d}" in json.dumps(results[f"APP-{i:02d}"], ensure_ascii=False) for i in range(3))  # read
    assert results == reference
    assert _half_written(store) == []


@pytest.mark.slow
def test_an_application_that_keeps_killing_its_worker_fails_alone(tmp_path):
    """Whenever one application starts, its worker is SIGKILLed: after worker_crash_retries + 1
    deaths it gets a clear WorkerCrashed error; the applications beside it are unaffected."""
    apps = [_text_app(tmp_path / f"APP-{i:02d}", i, pages=2) for i in range(4)]
    poison = _ocr_app(tmp_path / "APP-POISON", 99, pages=1)  # one OCR page: seconds, so the kill lands
    settings = Settings(cache_dir=tmp_path / "store", ocr_threads=1, worker_crash_retries=1)
    kills: list[int] = []
    stop = threading.Event()
    with ScreeningPool(settings, 2) as pool:
        futures = {pool.submit(p): p for p in [apps[0], apps[1], poison, apps[2], apps[3]]}
        poison_task = "2"  # task ids count submissions from 0

        def killer() -> None:
            while not stop.is_set():
                marker = pool._markers / poison_task
                try:
                    pid = int(marker.read_text())
                except (FileNotFoundError, ValueError):
                    pid = 0
                if pid and pid not in kills and pid in pool.worker_pids():
                    os.kill(pid, signal.SIGKILL)
                    kills.append(pid)
                time.sleep(0.01)

        t = threading.Thread(target=killer, daemon=True)
        t.start()
        outcomes = {}
        for fut, path in futures.items():
            try:
                outcomes[path.name] = json.loads(fut.result(timeout=600))["application_id"]
            except WorkerCrashed as exc:
                outcomes[path.name] = f"crashed: {exc}"
        stop.set()
        t.join(timeout=5)
        restarts = pool.restarts

    assert outcomes["APP-POISON"].startswith("crashed: APP-POISON: its worker process died 2 times")
    assert {k: v for k, v in outcomes.items() if k != "APP-POISON"} == {a.name: a.name for a in apps}
    assert len(kills) == 2 and restarts == 2


@pytest.mark.slow
def test_workers_are_recycled_after_their_quota(tmp_path):
    apps = [_text_app(tmp_path / f"APP-{i:02d}", i, pages=1) for i in range(4)]
    settings = Settings(cache_dir=tmp_path / "store", worker_max_applications=1)
    pids: set[int] = set()
    with ScreeningPool(settings, 2) as pool:
        for _path, fut in pool.map_completed(apps):
            fut.result()
            pids.update(pool.worker_pids())
        recycles, restarts = pool.recycles, pool.restarts
    assert restarts == 0
    assert recycles == 1  # 4 applications, 2 workers × 1 each: two generations of workers
    assert len(pids) >= 3


# --------------------------------------------------------------------------- (e) the whole batch killed


@pytest.mark.slow
def test_whole_batch_killed_and_restarted_loses_and_repeats_nothing(tmp_path):
    intake, out, store = tmp_path / "intake", tmp_path / "out", tmp_path / "store"
    apps = [_text_app(intake / f"APP-{i:02d}", i, pages=6) for i in range(10)]
    proc = subprocess.Popen(_batch_cmd(intake, out, store), cwd=ROOT, env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: sum(_screening_counts(store).values()) >= 3, 600)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI, its forkserver and its workers
        proc.wait(timeout=30)
    done_before = sum(_screening_counts(store).values())
    assert done_before < len(apps), "the batch finished before it could be killed"
    assert _unparseable(store, out) == []  # a SIGKILL mid-write may leave a hidden temp file, never half a result
    orphans_at_kill = len(_leftovers(store, out))

    rerun = subprocess.run(_batch_cmd(intake, out, store), cwd=ROOT, env=_env(), capture_output=True,
                           text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{done_before} 个申报已完成 already screened" in rerun.stderr
    counts = _screening_counts(store)
    assert counts == Counter({a.name: 1 for a in apps})  # 0 lost, 0 screened twice
    assert sorted(p.stem for p in out.glob("APP-*.json")) == [a.name for a in apps]
    assert _unparseable(store, out) == [] and _leftovers(out) == []  # the re-run swept its output folder
    assert not (out / "failed.json").exists()
    print(f"batch SIGKILLed after {done_before}/{len(apps)} screenings; the rerun screened {len(apps) - done_before};"
          f" temp files orphaned by the kill: {orphans_at_kill}, left in the store after the re-run: {len(_leftovers(store))}")


# --------------------------------------------------------------------------- (a) S3 stopped mid-batch


@pytest.fixture
def own_s3(tmp_path):
    """A SeaweedFS server of this test's own, to stop and start (the session one is untouched)."""
    from s3server import start_s3

    server = start_s3(tmp_path / "own-s3")
    yield server
    server.stop()


@pytest.mark.slow
def test_s3_stopped_mid_batch_fails_those_items_and_resumes_when_back(tmp_path, own_s3):
    from s3server import ACCESS_KEY, SECRET_KEY

    intake, out = tmp_path / "intake", tmp_path / "out"
    apps = [_text_app(intake / f"APP-{i:02d}", i, pages=8) for i in range(8)]
    env = _env(YUNSHEN_STORE="s3", YUNSHEN_S3_ENDPOINT=own_s3.endpoint, YUNSHEN_S3_ACCESS_KEY=ACCESS_KEY,
               YUNSHEN_S3_SECRET_KEY=SECRET_KEY, YUNSHEN_S3_SECURE="false", YUNSHEN_S3_BUCKET="faults",
               YUNSHEN_CACHE_DIR=str(tmp_path / "unused-local"))

    def stored_screenings() -> list[str]:
        try:
            return [o.object_name for o in own_s3.client().list_objects("faults", prefix="batch/screenings/", recursive=True)]
        except Exception:  # noqa: BLE001 - bucket not made yet
            return []

    proc = subprocess.Popen(_batch_cmd(intake, out, None), cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait(lambda: len(stored_screenings()) >= 2, 600)
        before = {n.split("/")[2] for n in stored_screenings()}
        own_s3.stop()
        t0 = time.monotonic()
        _stdout, stderr = proc.communicate(timeout=900)
        fail_seconds = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-3000:]  # the batch itself did not crash
    failed = json.loads((out / "failed.json").read_text(encoding="utf-8"))
    assert failed and set(failed).isdisjoint(before)
    assert all("StoreError" in msg and "Max retries exceeded" in msg for msg in failed.values()), failed  # retried
    ok = {p.stem for p in out.glob("APP-*.json")}
    assert ok | set(failed) == {a.name for a in apps} and ok.isdisjoint(failed)  # only those items failed
    assert _half_written(out) == []

    own_s3.restart()
    rerun = subprocess.run(_batch_cmd(intake, out, None), cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not (out / "failed.json").exists()
    names = stored_screenings()
    counts = Counter(n.split("/")[2] for n in names)
    assert counts == Counter({a.name: 1 for a in apps}), counts  # nothing screened twice, nothing lost
    assert len(ok) == len(apps) - len(failed) and f"{len(ok)} 个申报已完成 already screened" in rerun.stderr
    print(f"S3 down: {len(failed)} failed after {fail_seconds:.1f}s; {len(ok)} kept; rerun screened {len(failed)}")


# --------------------------------------------------------------------------- (b) disk full


def _tmpfs(mountpoint: Path, size: str) -> bool:
    mountpoint.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)],
                       capture_output=True, text=True)
    return r.returncode == 0


@pytest.mark.slow
def test_disk_full_on_the_local_store_fails_clearly_and_half_writes_nothing(tmp_path):
    intake, out = tmp_path / "intake", tmp_path / "out"
    apps = [_text_app(intake / f"APP-{i:02d}", i, pages=2) for i in range(6)]
    disk = tmp_path / "disk"
    store = disk / "store"
    if _tmpfs(disk, "2m"):  # a real full disk (ENOSPC): needs root and mount permission
        try:
            store.mkdir()
            free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
            write(disk / "filler", b"\0" * max(0, free - 48 * 1024))  # room for about two results
            first = subprocess.run(_batch_cmd(intake, out, store), cwd=ROOT, env=_env(), capture_output=True,
                                   text=True, timeout=900)
            assert first.returncode == 0, first.stderr[-3000:]
            failed = json.loads((out / "failed.json").read_text(encoding="utf-8"))
            assert failed and all("No space left on device" in m for m in failed.values()), failed
            assert _half_written(store, out) == []
            done_first = sum(_screening_counts(store).values())
            assert done_first + len(failed) == len(apps)
            assert _screening_counts(store).keys().isdisjoint(failed)

            (disk / "filler").unlink()  # the operator frees space; the batch is run again
            second = subprocess.run(_batch_cmd(intake, out, store), cwd=ROOT, env=_env(), capture_output=True,
                                    text=True, timeout=900)
            assert second.returncode == 0, second.stderr[-3000:]
            assert _screening_counts(store) == Counter({a.name: 1 for a in apps})
            assert not (out / "failed.json").exists() and _half_written(store, out) == []
            print(f"disk full: {len(failed)} failed, {done_first} stored before the disk filled")
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
        return
    # No mount permission: the same run with RLIMIT_FSIZE (writes past 4 KiB fail with EFBIG).
    import resource

    store.mkdir(parents=True)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    first = subprocess.run(_batch_cmd(intake, out, store, workers=1), cwd=ROOT, env=_env(), capture_output=True,
                           text=True, timeout=900, preexec_fn=limit)
    assert _half_written(store) == []
    assert "File too large" in first.stderr
    second = subprocess.run(_batch_cmd(intake, out, store), cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    assert _screening_counts(store) == Counter({a.name: 1 for a in apps})
    assert _half_written(store, out) == []


# --------------------------------------------------------------------------- (d) Prefect away


@pytest.mark.slow
def test_prefect_server_unavailable_flow_fails_clearly_cli_does_not_need_it(tmp_path):
    """The Prefect flow fails fast with Prefect's own message (no silent ephemeral fallback: a
    deployment that names a server wants its runs recorded there); ``yunshen batch`` does not use
    Prefect and screens as usual."""
    from s3server import free_port

    intake = tmp_path / "intake"
    _text_app(intake / "APP-01", 1, pages=1)
    closed = f"http://127.0.0.1:{free_port()}/api"
    env = _env(PREFECT_API_URL=closed, PREFECT_HOME=str(tmp_path / "prefect-home"))
    code = ("import sys; from flows.screening import screen_batch\n"
            f"screen_batch({str(intake)!r}, {str(tmp_path / 'out-flow')!r}, workers=1)\n")
    t0 = time.monotonic()
    flow = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    flow_seconds = time.monotonic() - t0
    assert flow.returncode != 0
    assert f"Failed to reach API at {closed}" in flow.stderr, flow.stderr[-2000:]
    assert flow_seconds < 120

    cli = subprocess.run(_batch_cmd(intake, tmp_path / "out", tmp_path / "store", workers=1), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert (tmp_path / "out" / "APP-01.json").exists()
    print(f"Prefect away: flow failed in {flow_seconds:.1f}s; CLI batch unaffected")
