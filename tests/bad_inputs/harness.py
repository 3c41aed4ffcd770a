"""Screen one bad-input case and describe the outcome; in-process or in a fresh child process.

Used by tests/test_bad_inputs.py and bench/bad_inputs.py so that the test and the measurement
run exactly the same code: ``python tests/bad_inputs/harness.py CASE OUT_DIR STORE`` builds the
case, screens it through :func:`pipeline.screen.screen_application` and prints one JSON line
(outcome, seconds, peak RSS of the process).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))  # tests/: ``bad_inputs`` is a package there
sys.path.insert(0, str(ROOT))


CLEAN = "clean"
"""Pseudo-case: the good application alone (the baseline every case is compared with)."""


@dataclass(frozen=True)
class BadFileOutcome:
    file: str
    read: bool
    error_code: str | None
    error: str | None
    error_en: str | None
    flag_codes: list[str]
    flag_messages: list[list[str]]
    """``[zh, en]`` of every flag naming this file."""
    pages: int
    page_count: int
    text: str
    rotations: list[int]
    media_type: str | None
    kind: str


@dataclass(frozen=True)
class CaseOutcome:
    case: str
    application_id: str
    app_error: str | None
    bad: list[BadFileOutcome]
    documents: dict[str, dict]
    """Every document as ``{file: {kind, fields, error_code}}`` (to compare with the clean run)."""
    verdict: dict
    flag_codes: list[str]
    seconds: float
    peak_rss_mb: float | None = None


def summarise(case_name: str, result, bad_files: list[str], seconds: float, texts: dict[str, str]):  # noqa: ANN001, ANN201
    """The parts of a ``ScreeningResult`` a reliability check looks at (``texts``: page text by
    file, which the result itself does not carry)."""
    docs = {d.file: d for d in result.documents}
    bad = []
    for name in bad_files:
        doc = docs.get(name)
        named = [f for f in result.flags if name in f.files]
        flags = [f.code for f in named]
        messages = [[f.message, f.message_en or ""] for f in named]
        if doc is None:
            bad.append(BadFileOutcome(name, False, None, None, None, flags, messages, 0, 0, "", [], None, "missing"))
            continue
        text = texts.get(name, "")
        bad.append(
            BadFileOutcome(
                file=name,
                read=doc.error is None,
                error_code=doc.error_code,
                error=doc.error,
                error_en=doc.error_en,
                flag_codes=flags,
                flag_messages=messages,
                pages=len(doc.page_info),
                page_count=doc.pages,
                text=text,
                rotations=[p.rotation for p in doc.page_info],
                media_type=doc.media_type,
                kind=doc.kind,
            )
        )
    app_flag = next((f for f in result.flags if f.code == "FILE_UNREADABLE" and not result.documents), None)
    return CaseOutcome(
        case=case_name,
        application_id=result.application_id,
        app_error=f"{app_flag.message} / {app_flag.message_en}" if app_flag else None,
        bad=bad,
        documents={
            d.file: {
                "kind": d.kind,
                "error_code": d.error_code,
                "fields": d.fields.model_dump(mode="json"),
            }
            for d in result.documents
        },
        verdict=result.verdict.model_dump(mode="json"),
        flag_codes=sorted({f.code for f in result.flags}),
        seconds=round(seconds, 3),
    )


def screen_case(case_name: str, out: Path, store: Path, runner=None) -> CaseOutcome:  # noqa: ANN001
    """Build ``case_name`` under ``out`` and screen it with the OCR cache in ``store``."""
    from bad_inputs.generate import build_case, case_by_name

    case = case_by_name(case_name)
    path, bad_files = build_case(case, out)
    return screen_path(case_name, path, bad_files, store, runner)


def screen_path(case_name: str, path: Path, bad_files: list[str], store: Path, runner=None) -> CaseOutcome:  # noqa: ANN001
    """Screen the application at ``path`` through the pipeline's own entry points."""
    from pipeline.pages import OcrRunner
    from pipeline.screen import build_result, read_application
    from pipeline.settings import Settings

    settings = Settings(cache_dir=store)
    runner = runner or OcrRunner.from_settings(settings)
    started = time.perf_counter()
    reading = read_application(path, settings, runner)
    result = build_result(reading, settings)
    seconds = time.perf_counter() - started
    texts = {
        doc.source.relpath: "\n".join(line.text for page in doc.pages for line in page.lines)
        for doc in reading.documents
    }
    return summarise(case_name, result, bad_files, seconds, texts)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def run_in_child(case_name: str, out: Path, store: Path, *, timeout: float = 600) -> CaseOutcome:
    """Screen a case in a fresh Python process: its own peak RSS, and a crash cannot hide."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__)), case_name, str(out), str(store)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"case {case_name} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    line = proc.stdout.strip().splitlines()[-1]
    return outcome_from_json(line)


def outcome_from_json(line: str) -> CaseOutcome:
    raw = json.loads(line)
    raw["bad"] = [BadFileOutcome(**b) for b in raw["bad"]]
    return CaseOutcome(**raw)


def main(argv: list[str]) -> int:
    case_name, out, store = argv[0], Path(argv[1]), Path(argv[2])
    if case_name == CLEAN:
        from bad_inputs.generate import DEFAULT_BASE

        outcome = screen_path(CLEAN, DEFAULT_BASE, [], store)
    else:
        outcome = screen_case(case_name, out, store)
    record = asdict(outcome)
    record["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    print(json.dumps(record, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
