"""Soak: screen continuously for a long time and watch memory (a bench script, not a test).

Two modes:

* ``watch`` (default): runs ``yunshen watch`` as a subprocess and keeps re-dropping a sample
  application under a few rotating ids, each time with *changed content* (every image gets a
  one-pixel change, so its bytes, fingerprint and OCR-cache key are new and the page is really
  OCR'd again). Screenings are counted from the watcher's ledger in the store.
* ``pool``: a :class:`pipeline.workers.ScreeningPool` with ``--workers`` processes in this process,
  fed the same changed copies; reports each worker's RSS (workers are recycled after
  ``YUNSHEN_WORKER_MAX_APPLICATIONS`` applications, so worker pids change over time).

RSS is sampled every ``--sample-seconds``; a table per minute (minute, applications screened, RSS of
the main process, RSS of each worker) and the least-squares slope of main and total RSS over the
run after a warm-up (MB per hour) are printed and, with ``--json``, written out.

    .venv/bin/python bench/soak.py --minutes 120            # the full 2 h run
    .venv/bin/python bench/soak.py --minutes 25 --mode pool --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def changed_copy(src: Path, dest: Path, n: int) -> None:
    """Copy application ``src`` to ``dest`` with every image changed by one pixel (version ``n``)."""
    from PIL import Image

    shutil.copytree(src, dest)
    for path in sorted(dest.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        with Image.open(path) as img:
            img.load()
            fmt = img.format
            im = img.convert("RGB") if img.mode not in ("RGB", "L") else img.copy()
        x, y = n % 7, (n // 7) % 7  # a corner pixel, away from any text
        im.putpixel((x, y), (n * 37) % 256 if im.mode == "L" else ((n * 37) % 256, (n * 11) % 256, 0))
        im.save(path, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def rss_mb(proc: psutil.Process) -> float:
    try:
        return proc.memory_info().rss / 2**20
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return float("nan")


def slope_mb_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB/hour."""
    pts = [(t, v) for t, v in points if v == v]
    if len(pts) < 2:
        return float("nan")
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return float("nan") if den == 0 else sum((t - mt) * (v - mv) for t, v in pts) / den * 3600


class WatchDriver:
    def __init__(self, work: Path, app: Path, slots: int) -> None:
        self.inbox, self.outbox, self.store = work / "inbox", work / "outbox", work / "store"
        self.staging = work / "staging"
        for d in (self.inbox, self.outbox, self.staging):
            d.mkdir(parents=True)
        self.app, self.slots, self.dropped = app, slots, 0
        env = dict(os.environ, YUNSHEN_CACHE_DIR=str(self.store))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "watch", str(self.inbox), "--outbox", str(self.outbox),
             "--quiet", "1", "--poll", "0.5"],
            cwd=ROOT, env=env, stdout=open(work / "watch.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)

    def screened(self) -> int:
        ledger = self.store / "watch" / "ledger"
        return sum(1 for _ in ledger.rglob("*.json")) if ledger.exists() else 0

    def step(self) -> None:
        """Keep one application waiting: drop the next version once the last one was screened."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"watcher exited with {self.proc.returncode}")
        if self.screened() < self.dropped:
            return
        n = self.dropped
        stage = self.staging / f"v{n}"
        changed_copy(self.app, stage, n)
        (stage / ".done").write_text("")
        target = self.inbox / f"SOAK-{n % self.slots}"
        if target.exists():
            shutil.rmtree(target)
        os.rename(stage, target)
        self.dropped += 1

    def workers(self) -> list[psutil.Process]:
        try:
            return self.ps.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)


class PoolDriver:
    def __init__(self, work: Path, app: Path, workers: int) -> None:
        from pipeline.settings import Settings
        from pipeline.workers import ScreeningPool

        self.staging = work / "staging"
        self.staging.mkdir(parents=True)
        self.app, self.n, self.done = app, 0, 0
        settings = Settings(cache_dir=work / "store", ocr_threads=max(1, (os.cpu_count() or 2) // workers))
        self.pool = ScreeningPool(settings, workers).__enter__()
        self.pending: dict = {}
        self.ps = psutil.Process()
        self.width = workers

    def step(self) -> None:
        for fut in [f for f in self.pending if f.done()]:
            fut.result()
            shutil.rmtree(self.pending.pop(fut), ignore_errors=True)
            self.done += 1
        while len(self.pending) < self.width:
            dest = self.staging / f"SOAK-{self.n}"
            changed_copy(self.app, dest, self.n)
            self.pending[self.pool.submit(dest)] = dest
            self.n += 1

    def screened(self) -> int:
        return self.done

    def workers(self) -> list[psutil.Process]:
        out = []
        for pid in self.pool.worker_pids():
            try:
                out.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
        return out

    def close(self) -> None:
        self.pool.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=120.0)
    ap.add_argument("--mode", choices=("watch", "pool"), default="watch")
    ap.add_argument("--workers", type=int, default=2, help="pool mode: worker processes")
    ap.add_argument("--app", type=Path, default=ROOT / "samples" / "applications" / "APP-06")
    ap.add_argument("--slots", type=int, default=3, help="watch mode: rotating application ids")
    ap.add_argument("--sample-seconds", type=float, default=15.0)
    ap.add_argument("--warmup-minutes", type=float, default=3.0, help="left out of the slope")
    ap.add_argument("--json", type=Path, help="write samples and summary here")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="yunshen-soak-"))
    driver = WatchDriver(work, args.app, args.slots) if args.mode == "watch" else PoolDriver(work, args.app, args.workers)
    main_ps = driver.ps
    started = time.monotonic()
    samples: list[dict] = []
    next_sample = started
    print(f"soak: mode={args.mode} app={args.app.name} minutes={args.minutes} work={work}", flush=True)
    print(f"{'min':>6} {'apps':>6} {'RSS main MB':>12} {'RSS workers MB':>28}", flush=True)
    last_minute = -1
    try:
        while (now := time.monotonic()) - started < args.minutes * 60:
            driver.step()
            if now >= next_sample:
                workers = {p.pid: rss_mb(p) for p in driver.workers()}
                s = {"t": round(now - started, 1), "screened": driver.screened(), "rss_main_mb": round(rss_mb(main_ps), 1),
                     "rss_workers_mb": {str(k): round(v, 1) for k, v in workers.items()}}
                samples.append(s)
                minute = int(s["t"] // 60)
                if minute != last_minute:
                    w = " ".join(f"{v:.0f}" for v in workers.values()) or "-"
                    print(f"{s['t'] / 60:6.1f} {s['screened']:6d} {s['rss_main_mb']:12.1f} {w:>28}", flush=True)
                    last_minute = minute
                next_sample += args.sample_seconds
            time.sleep(0.2)
    finally:
        driver.close()
    warm = [s for s in samples if s["t"] >= args.warmup_minutes * 60]
    main_slope = slope_mb_per_hour([(s["t"], s["rss_main_mb"]) for s in warm])
    total_slope = slope_mb_per_hour([(s["t"], s["rss_main_mb"] + sum(s["rss_workers_mb"].values())) for s in warm])
    elapsed = samples[-1]["t"] if samples else 0.0
    screened = samples[-1]["screened"] if samples else 0
    summary = {
        "mode": args.mode, "app": args.app.name, "minutes": round(elapsed / 60, 1), "screened": screened,
        "rss_main_first_mb": warm[0]["rss_main_mb"] if warm else None,
        "rss_main_last_mb": warm[-1]["rss_main_mb"] if warm else None,
        "rss_main_max_mb": max((s["rss_main_mb"] for s in warm), default=None),
        "rss_worker_max_mb": max((v for s in warm for v in s["rss_workers_mb"].values()), default=None),
        "rss_total_first_mb": round(warm[0]["rss_main_mb"] + sum(warm[0]["rss_workers_mb"].values()), 1) if warm else None,
        "rss_total_last_mb": round(warm[-1]["rss_main_mb"] + sum(warm[-1]["rss_workers_mb"].values()), 1) if warm else None,
        "slope_main_mb_per_hour": round(main_slope, 1), "slope_total_mb_per_hour": round(total_slope, 1),
        "worker_pids_seen": sorted({p for s in samples for p in s["rss_workers_mb"]}),
    }
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
