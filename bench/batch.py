"""Batch throughput: ``yunshen batch`` over the samples at 1 and 2 workers, cold and warm OCR cache.

Each run is the real command line (``yunshen batch INTAKE --out OUT --store-dir STORE -w N``) in its
own subprocess, timed wall-clock from start to exit (Python start-up, model load, screening,
cross-application checks and the bureau report included). While it runs, a sampler thread reads the
RSS of the command and of every process under it (psutil, every 0.2 s) and keeps each process's
peak; ``RUSAGE_CHILDREN`` after the run gives the kernel's peak of the largest process as a check.

Runs, in this order (each cold run gets a fresh, empty store, i.e. an empty OCR cache):

1. ``cold-w1``: workers=1, empty store A;
2. ``cold-w2``: workers=2, empty store B;
3. ``warm-w1`` / ``warm-w2``: the same again on store A / B. ``yunshen batch`` resumes: a store that
   already holds a screening of the same content, engine, settings and rules hands it back, so
   after a cold run nothing is screened again (cross-checks and the report still run). With
   ``--warm-store`` (a store holding only the OCR cache) every application *is* screened again,
   with every page's OCR from the cache — the column "resumed" tells the two apart ("OCR calls" and
   "cache hits" are summed from the results' ``stats``: a resumed result keeps those of the run
   that screened it);
4. ``reprocess``: ``yunshen reprocess OUT`` on cold-w1's output (re-judge only, no file read), and
   the in-process :func:`pipeline.reprocess.rejudge_folder` (dry run) without interpreter start-up;
5. ``report``: :func:`pipeline.batch.cross_check_and_report` alone, in-process, on cold-w1's results.

    .venv/bin/python bench/batch.py                     # samples/applications, ~10 min on 2 cores
    .venv/bin/python bench/batch.py --json out/bench-batch.json --runs cold-w1 warm-w1
    .venv/bin/python bench/batch.py --only APP-01 APP-04 APP-06 APP-10 --runs cold-w1 cold-w2 warm-w1 warm-w2
    .venv/bin/python bench/batch.py --warm-store STORE --runs warm-w1 warm-w2 reprocess report

``--only`` screens a subset (copied into a temporary intake): a cold run of all ten samples takes
≈ 35 min on a heavily shared 2-core machine. ``--warm-store`` starts the warm runs from a copy of
an existing store that already holds the OCR of every page (e.g. the test session's
``sample-store``), so they need no cold run before them.

Timings on a shared machine are noisy: compare the runs of one invocation (the load average is
printed before and after each run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402

YUNSHEN = [sys.executable, "-c", "from pipeline.cli import main; main()"]
RUNS = ("cold-w1", "cold-w2", "warm-w1", "warm-w2", "reprocess", "report")


@dataclass
class Run:
    name: str
    workers: int
    applications: int
    seconds: float
    load_before: float
    load_after: float
    exit_code: int
    main_peak_mb: float = 0.0
    worker_peaks_mb: list[float] = field(default_factory=list)
    rusage_children_peak_mb: float = 0.0
    ocr_calls: int = 0
    ocr_cache_hits: int = 0
    resumed: int = 0
    """Applications whose stored screening was reused (the CLI's "resuming: N" line)."""

    @property
    def per_minute(self) -> float:
        return self.applications / self.seconds * 60 if self.seconds else 0.0


class RssSampler(threading.Thread):
    """Peak RSS of a process and each of its descendants, sampled until :meth:`stop`."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peaks: dict[int, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def _load() -> float:
    return os.getloadavg()[0]


def _children_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB


def run_batch(name: str, intake: Path, out: Path, store: Path, workers: int, n_apps: int) -> Run:
    """One ``yunshen batch`` in a subprocess, timed and RSS-sampled."""
    cmd = [*YUNSHEN, "batch", str(intake), "--out", str(out), "--store-dir", str(store), "-w", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    load_before = _load()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = RssSampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    if proc.returncode:
        sys.stderr.write(stderr.decode(errors="replace")[-3000:])
    main_peak = sampler.peaks.pop(proc.pid, 0)
    resumed = re.search(r"resuming: (\d+)", stderr.decode(errors="replace"))
    run = Run(name, workers, n_apps, seconds, load_before, _load(), proc.returncode,
              main_peak_mb=main_peak / 2**20,
              worker_peaks_mb=sorted((v / 2**20 for v in sampler.peaks.values()), reverse=True),
              rusage_children_peak_mb=_children_maxrss_mb(), resumed=int(resumed.group(1)) if resumed else 0)
    for path in out.glob("*.json"):
        try:
            stats = json.loads(path.read_text(encoding="utf-8")).get("stats") or {}
        except (ValueError, OSError):
            continue
        run.ocr_calls += int(stats.get("ocr_calls") or 0)
        run.ocr_cache_hits += int(stats.get("ocr_cache_hits") or 0)
    return run


def run_reprocess(out: Path, n_apps: int) -> tuple[Run, float]:
    """``yunshen reprocess OUT`` (CLI, start-up included) and ``rejudge_folder`` in-process (dry run)."""
    from pipeline.reprocess import rejudge_folder
    from pipeline.rules import load_rules

    cmd = [*YUNSHEN, "reprocess", str(out)]
    load_before = _load()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = RssSampler(proc.pid)
    sampler.start()
    proc.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    run = Run("reprocess", 1, n_apps, seconds, load_before, _load(), proc.returncode,
              main_peak_mb=sampler.peaks.get(proc.pid, 0) / 2**20)
    rules = load_rules(None)
    rejudge_folder(out, rules, write=False)  # warm the imports and the rules
    t0 = time.perf_counter()
    diffs = rejudge_folder(out, rules, write=False)
    in_process = time.perf_counter() - t0
    assert len(diffs) == n_apps, (len(diffs), n_apps)
    return run, in_process


def run_report(intake: Path, out: Path, n_apps: int) -> float:
    """Cross-application checks + summary.xlsx/csv + HTML pages, in-process, on stored results."""
    from pipeline.batch import cross_check_and_report
    from pipeline.ingest import application_id_for, find_applications
    from pipeline.model import ScreeningResult

    results = {}
    for app in find_applications(intake):
        path = out / f"{application_id_for(app)}.json"
        results[app] = ScreeningResult.model_validate_json(path.read_bytes())
    assert len(results) == n_apps
    report_out = out.parent / "report-only"
    t0 = time.perf_counter()
    cross_check_and_report(results, report_out)
    return time.perf_counter() - t0


def machine() -> dict[str, object]:
    cpu = cpu_model()
    mem = psutil.virtual_memory().total / 2**30
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem, 1), "python": platform.python_version(),
            "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load_start": os.getloadavg()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--intake", type=Path, default=ROOT / "samples" / "applications")
    ap.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    ap.add_argument("--only", nargs="+", metavar="APP", help="screen only these applications of the intake")
    ap.add_argument("--warm-store", type=Path, help="warm runs start from a copy of this store")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary stores and outputs")
    args = ap.parse_args()

    from pipeline.ingest import find_applications

    tmp = Path(tempfile.mkdtemp(prefix="yunshen-bench-batch-"))
    intake = args.intake
    if args.only:
        intake = tmp / "intake"
        intake.mkdir()
        for name in args.only:
            shutil.copytree(args.intake / name, intake / name)
    n_apps = len(find_applications(intake))
    info = machine()
    print(f"# bench/batch.py — {n_apps} applications from {args.intake}"
          + (f" (only {' '.join(args.only)})" if args.only else ""))
    print(f"# {info['date_utc']}  nproc={info['nproc']}  cpu={info['cpu']}  mem={info['memory_gb']} GB  "
          f"load={tuple(round(x, 2) for x in info['load_start'])}", flush=True)
    runs: list[Run] = []
    extra: dict[str, float] = {}
    try:
        for name in args.runs:
            if name in ("reprocess", "report"):
                continue
            workers = int(name[-1])
            store = tmp / f"store-w{workers}"  # cold-wN creates it, warm-wN reuses it
            if name.startswith("warm") and not store.exists():
                if args.warm_store is None:
                    sys.exit(f"{name} needs cold-w{workers} before it, or --warm-store")
                shutil.copytree(args.warm_store, store)
            run = run_batch(name, intake, tmp / f"out-{name}", store, workers, n_apps)
            runs.append(run)
            print(f"{name}: {run.seconds:.1f} s, {run.per_minute:.2f} apps/min, exit {run.exit_code}, "
                  f"resumed {run.resumed}, OCR calls {run.ocr_calls}, cache hits {run.ocr_cache_hits}, "
                  f"load {run.load_before:.2f}→{run.load_after:.2f}", flush=True)
        first = tmp / "out-cold-w1" if (tmp / "out-cold-w1").exists() else next(iter(sorted(tmp.glob("out-*"))), None)
        if "reprocess" in args.runs and first is not None:
            run, in_proc = run_reprocess(first, n_apps)
            runs.append(run)
            extra["rejudge_in_process_s"] = in_proc
            print(f"reprocess: CLI {run.seconds:.2f} s (exit {run.exit_code}), in-process {in_proc:.3f} s", flush=True)
        if "report" in args.runs and first is not None:
            extra["report_in_process_s"] = run_report(intake, first, n_apps)
            print(f"report: cross-check + xlsx/csv/html {extra['report_in_process_s']:.2f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"# kept {tmp}")

    print()
    print("| run | workers | wall s | apps/min | resumed | OCR calls | cache hits | peak RSS main MB | peak RSS child processes MB | load 1-min before→after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        workers = ", ".join(f"{m:.0f}" for m in r.worker_peaks_mb) or "(inline)"
        print(f"| {r.name} | {r.workers} | {r.seconds:.1f} | {r.per_minute:.2f} | {r.resumed} | {r.ocr_calls} | {r.ocr_cache_hits} "
              f"| {r.main_peak_mb:.0f} | {workers} | {r.load_before:.2f}→{r.load_after:.2f} |")
    by = {r.name: r for r in runs}
    if "cold-w1" in by and "cold-w2" in by:
        print(f"\ncold speed-up 2 workers / 1 worker: {by['cold-w1'].seconds / by['cold-w2'].seconds:.2f}×")
    for w in (1, 2):
        if f"cold-w{w}" in by and f"warm-w{w}" in by:
            print(f"warm / cold wall time at {w} worker(s): {by[f'warm-w{w}'].seconds / by[f'cold-w{w}'].seconds:.2f}")
    for k, v in extra.items():
        print(f"{k}: {v:.3f}")
    print(f"RUSAGE_CHILDREN peak (largest single process of all runs): {_children_maxrss_mb():.0f} MB")
    print(f"# load at end: {tuple(round(x, 2) for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": info, "runs": [{**asdict(r), "per_minute": r.per_minute} for r in runs], **extra}
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
