"""Screening in worker processes: one OCR engine per process (engines are not thread-safe).

Used by the CLI and by the Prefect flows alike. With one worker everything runs in this process
(no pool to start); with more, a ``ProcessPoolExecutor`` whose initializer builds each process's
settings and OCR runner once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

from pipeline.settings import Settings

_STATE: dict[str, object] = {}


def init_worker(settings_json: str) -> None:
    from pipeline.pages import OcrRunner

    settings = Settings.from_json(settings_json)
    _STATE["settings"] = settings
    _STATE["ocr"] = OcrRunner.from_settings(settings)


def screen_in_worker(path: str) -> str:
    """Screen one application in this (initialised) process; the result v1 as JSON text."""
    from pipeline.screen import screen_application

    result = screen_application(Path(path), _STATE["settings"], _STATE["ocr"])  # type: ignore[arg-type]
    return result.to_json()


class ScreeningPool:
    """Submit applications to be screened by ``workers`` processes (or inline for one)."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        self.settings = settings
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ScreeningPool:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                initializer=init_worker,
                initargs=(self.settings.to_json(),),
            )
        else:
            init_worker(self.settings.to_json())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def submit(self, path: Path | str) -> Future[str]:
        if self._pool is not None:
            return self._pool.submit(screen_in_worker, str(path))
        fut: Future[str] = Future()
        try:
            fut.set_result(screen_in_worker(str(path)))
        except BaseException as exc:  # the caller decides; a bad file never gets here
            fut.set_exception(exc)
        return fut

    def map_completed(self, paths: Iterable[Path]) -> Iterator[tuple[Path, Future[str]]]:
        """Yield ``(path, finished future)`` as each application finishes (in order when inline)."""
        if self._pool is None:
            for path in paths:
                yield path, self.submit(path)
            return
        futures = {self.submit(p): p for p in paths}
        for fut in as_completed(futures):
            yield futures[fut], fut
