"""Screening in worker processes: one OCR engine per process (engines are not thread-safe).

Used by the CLI and by the Prefect flows alike. With one worker everything runs in this process
(no pool to start); with more, a ``ProcessPoolExecutor`` whose initializer builds each process's
settings and OCR runner once. A worker that dies does not take the batch with it, and workers are
replaced after a quota of applications (see :class:`ScreeningPool`; measured in docs/reliability.md).
"""

from __future__ import annotations

import collections
import functools
import itertools
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings

log = logging.getLogger(__name__)

_STATE: dict[str, object] = {}
_STATE_LOCK = threading.Lock()


def init_worker(settings_json: str, secrets: dict[str, str] | None = None) -> None:
    from pipeline.pages import OcrRunner

    settings = Settings.from_json(settings_json, secrets)
    _STATE["settings"] = settings
    _STATE["ocr"] = OcrRunner.from_settings(settings)
    _STATE["settings_json"] = settings_json


def screen_in_worker(path: str) -> str:
    """Screen one application in this (initialised) process; the result v1 as JSON text."""
    from pipeline.screen import screen_application

    result = screen_application(Path(path), _STATE["settings"], _STATE["ocr"])  # type: ignore[arg-type]
    return result.to_json()


def screen_here(path: str, settings_json: str) -> str:
    """Screen one application in *this* process, whoever owns it (a Dask worker, a lone task run).

    The OCR runner is built on the first call and kept for the process (a model load costs
    seconds); a call with other settings rebuilds it. One call at a time per process: engines are
    not thread-safe, so a worker with several threads screens one application after another.
    """
    with _STATE_LOCK:
        if _STATE.get("settings_json") != settings_json:
            init_worker(settings_json)
        return screen_in_worker(path)


class WorkerCrashed(RuntimeError):
    """An application whose screening killed its worker process every time it was tried."""


def _screen_tracked(markers: str, task_id: int, path: str) -> str:
    """Leave a *started* marker (this worker's pid) before screening, so that when a worker dies the
    pool knows which applications were in the dying process and which were only queued."""
    try:
        Path(markers, str(task_id)).write_text(str(os.getpid()))
    except OSError:  # marker folder gone (a tmp cleaner): screen anyway, a crash is just not charged
        pass
    return screen_in_worker(path)


@dataclass
class _Task:
    id: int
    path: str
    outer: Future
    crashes: int = 0


class ScreeningPool:
    """Submit applications to be screened by ``workers`` processes (or inline for one).

    A worker process that dies mid-application (SIGKILL, the OOM killer, a segfault in an engine)
    breaks a ``ProcessPoolExecutor`` for every pending future. The pool then starts a fresh
    executor and re-submits every unfinished application: only an application that was running in
    the process that died (exit code other than the executor's own SIGTERM) is charged a crash;
    after ``settings.worker_crash_retries`` + 1 crashes it fails alone with :class:`WorkerCrashed`.

    Workers are recycled (OCR engines grow in long-running processes): each executor is given
    ``workers × settings.worker_max_applications`` applications; later ones wait until it has
    finished them, then a fresh executor takes over. (``max_tasks_per_child`` would do this per
    process, but hangs on Python 3.11 once a worker retires with work still queued.)
    """

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self.restarts = 0
        """Executors replaced because a worker died (observable for tests and logs)."""
        self.recycles = 0
        """Executors replaced because their workers had screened their quota."""
        self._pool: ProcessPoolExecutor | None = None
        self._gen = 0
        self._sent = 0
        self._outstanding = 0
        self._waiting: collections.deque[_Task] = collections.deque()
        self._lock = threading.RLock()
        self._ids = itertools.count()
        self._tasks: dict[int, _Task] = {}
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._culprits: dict[int, set[int]] = {}
        self._fruitless = 0
        self._markers: Path | None = None
        self._supervisor: threading.Thread | None = None

    def _executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),  # no fork of a threaded parent
            initializer=init_worker,
            initargs=(self.settings.to_json(), self.settings.secrets()),
        )

    def __enter__(self) -> ScreeningPool:
        if self.workers > 1:
            self._markers = Path(tempfile.mkdtemp(prefix="yunshen-pool-"))
            self._pool = self._executor()
            self._supervisor = threading.Thread(target=self._supervise, name="screening-pool", daemon=True)
            self._supervisor.start()
        else:
            init_worker(self.settings.to_json(), self.settings.secrets())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            with self._lock:
                pool, self._pool = self._pool, None
                self._waiting.clear()
            self._events.put(None)
            pool.shutdown(wait=True, cancel_futures=True)
            if self._supervisor is not None:
                self._supervisor.join(timeout=60)
            for task in list(self._tasks.values()):
                task.outer.cancel()
            self._tasks.clear()
            if self._markers is not None:
                shutil.rmtree(self._markers, ignore_errors=True)

    def worker_pids(self) -> list[int]:
        """Pids of the live worker processes (empty inline)."""
        with self._lock:
            procs = getattr(self._pool, "_processes", None) or {}
            return [pid for pid, p in list(procs.items()) if p.is_alive()]

    def submit(self, path: Path | str) -> Future[str]:
        if self._pool is not None:
            task = _Task(next(self._ids), str(path), Future())
            self._tasks[task.id] = task
            self._dispatch(task)
            return task.outer
        fut: Future[str] = Future()
        try:
            fut.set_result(screen_in_worker(str(path)))
        except BaseException as exc:  # the caller decides; a bad file never gets here
            fut.set_exception(exc)
        return fut

    def _quota(self) -> int | None:
        n = self.settings.worker_max_applications
        return self.workers * n if n else None

    def _dispatch(self, task: _Task) -> None:
        with self._lock:
            pool, gen = self._pool, self._gen
            if pool is None:  # shutting down
                task.outer.cancel()
                return
            quota = self._quota()
            if quota is not None and self._sent >= quota:
                self._waiting.append(task)  # for the next executor
                return
            try:
                inner = pool.submit(_screen_tracked, str(self._markers), task.id, task.path)
            except BrokenProcessPool:
                self._events.put(("broken", task, gen))
                return
            self._sent += 1
            self._outstanding += 1
        inner.add_done_callback(functools.partial(self._settle, task, gen))

    def _settle(self, task: _Task, gen: int, inner: Future) -> None:
        """Runs in the executor's thread: hand breaks to the supervisor, pass on everything else."""
        if not inner.cancelled() and isinstance(inner.exception(), BrokenProcessPool):
            self._events.put(("broken", task, gen))
            return
        with self._lock:
            if gen == self._gen:
                self._outstanding -= 1
                if self._outstanding == 0 and self._waiting:
                    self._events.put(("recycle", None, gen))
            self._fruitless = 0
        if inner.cancelled():
            task.outer.cancel()
            self._tasks.pop(task.id, None)
            return
        exc = inner.exception()
        self._finish(task, exc, None if exc else inner.result())

    def _finish(self, task: _Task, exc: BaseException | None, result: str | None) -> None:
        self._tasks.pop(task.id, None)
        if self._markers is not None:
            Path(self._markers, str(task.id)).unlink(missing_ok=True)
        if task.outer.done():
            return
        if exc is not None:
            task.outer.set_exception(exc)
        else:
            task.outer.set_result(result)

    def _supervise(self) -> None:
        while (event := self._events.get()) is not None:
            kind, task, gen = event
            if kind == "recycle":
                if self._replace(gen, broken=False):
                    self._flush_waiting()
                continue
            if self._replace(gen, broken=True):
                self._flush_waiting()
            marker = Path(self._markers, str(task.id))  # type: ignore[arg-type]
            try:
                ran_in = int(marker.read_text())
            except (FileNotFoundError, ValueError):
                ran_in = None  # queued only, or the worker died before writing
            marker.unlink(missing_ok=True)
            if ran_in is not None and ran_in in self._culprits.get(gen, set()):
                task.crashes += 1
                log.warning("worker %d died while screening %s (crash %d)", ran_in, task.path, task.crashes)
            if task.crashes > self.settings.worker_crash_retries:
                self._finish(task, WorkerCrashed(
                    f"{Path(task.path).name}: its worker process died {task.crashes} times while screening it"
                ), None)
            elif self._fruitless > self.settings.worker_crash_retries + 2:
                self._finish(task, WorkerCrashed(
                    f"{Path(task.path).name}: worker processes keep dying before finishing anything "
                    f"({self._fruitless} restarts in a row)"
                ), None)
            else:
                self._dispatch(task)

    def _replace(self, gen: int, *, broken: bool) -> bool:
        """Swap in a fresh executor if ``gen`` is still the current one; for a broken one, remember
        which worker pids died on their own (not by the executor's SIGTERM)."""
        with self._lock:
            if self._pool is None or gen != self._gen or (not broken and self._outstanding):
                return False
            old = self._pool
            procs = dict(getattr(old, "_processes", None) or {})
            self._pool = self._executor()
            self._gen += 1
            self._sent = self._outstanding = 0
            if broken:
                self.restarts += 1
                self._fruitless += 1
            else:
                self.recycles += 1
        old.shutdown(wait=True)
        if broken:
            self._culprits[gen] = {pid for pid, p in procs.items() if p.exitcode not in (None, 0, -signal.SIGTERM)}
            log.warning("a worker process died (pids %s); restarted the pool", sorted(self._culprits[gen]))
        return True

    def _flush_waiting(self) -> None:
        with self._lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        for task in waiting:
            self._dispatch(task)

    def map_completed(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Future[str]]]:
        """Yield ``(path, finished future)`` as each application finishes (in order when inline)."""
        if self._pool is None:
            for path in paths:
                yield path, self.submit(path)
            return
        futures = {self.submit(p): p for p in paths}
        for fut in as_completed(futures):
            yield futures[fut], fut
