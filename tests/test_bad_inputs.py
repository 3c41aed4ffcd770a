"""The bad-input corpus (tests/bad_inputs/): every case screened inside a good application.

Each case adds its bad file(s) to a copy of samples/applications/APP-01 and screens it through the
pipeline (``read_application`` + ``build_result``, i.e. ``screen_application``). For every case:
no exception; a bad file gets a per-file error in Chinese and English and a ``FILE_UNREADABLE``
flag naming it (or, for odd but legitimate input, it is read correctly); APP-01's own documents
come out exactly as in the clean run, and so does the verdict; time and memory are bounded (the
heavy cases run in their own process and report their peak RSS). A last test screens a whole
intake through the CLI's ``batch`` command with two applications made only of bad input.

The OCR cache is the session's ``sample_store``: APP-01's pages are OCR'd at most once per
session; the corpus's own pictures are small (two lines of text).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from bad_inputs.generate import DEFAULT_BASE, build_case, case_by_name, cases  # noqa: E402
from bad_inputs.harness import CaseOutcome, run_in_child, screen_case, screen_path  # noqa: E402

pytestmark = pytest.mark.slow  # real OCR (APP-01 once, then the corpus's small pictures)

CASES = cases()
LIGHT = [c.name for c in CASES if not c.heavy]
HEAVY = [c.name for c in CASES if c.heavy]

MAX_SECONDS = 60.0
"""Per case, generous: the point is "bounded", not a benchmark (see docs/reliability.md)."""
MAX_RSS_MB = 1500.0

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{3,}")


def test_corpus_has_at_least_25_kinds():
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


def test_generation_is_deterministic(tmp_path):
    """The corpus is code: building a case twice gives the same bytes (no dates, no random ids)."""
    for name in ("encrypted_user_pw", "docx", "zip_slip", "tiff_cmyk", "broken_xref_pdf"):
        first, _ = build_case(case_by_name(name), tmp_path / "a")
        second, _ = build_case(case_by_name(name), tmp_path / "b")
        files_a = sorted(p for p in first.rglob("*") if p.is_file()) if first.is_dir() else [first]
        files_b = sorted(p for p in second.rglob("*") if p.is_file()) if second.is_dir() else [second]
        assert [p.read_bytes() for p in files_a] == [p.read_bytes() for p in files_b], name


@pytest.fixture(scope="module")
def runner(sample_store):
    from pipeline.pages import OcrRunner
    from pipeline.settings import Settings

    return OcrRunner.from_settings(Settings(cache_dir=sample_store))


@pytest.fixture(scope="module")
def clean(sample_store, runner) -> CaseOutcome:
    return screen_path("clean", DEFAULT_BASE, [], sample_store, runner)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_read(case_name: str, outcome: CaseOutcome) -> None:
    case = case_by_name(case_name)
    for bad in outcome.bad:
        assert bad.read, f"{bad.file}: {bad.error}"
        assert bad.error_code is None and "FILE_UNREADABLE" not in bad.flag_codes
    check = case.check or ""
    kind, _, arg = check.partition(":")
    text = _squash("\n".join(b.text for b in outcome.bad))
    if kind == "text":
        assert _squash(f"可靠性测试附件{arg}") in text or _squash(f"可靠性测试{arg}") in text, text[:200]
    elif kind == "media":
        assert [b.media_type for b in outcome.bad] == [arg]
        assert "可靠性测试" in text
    elif kind == "pages":
        assert [b.pages for b in outcome.bad] == [int(arg)]
        assert "可靠性测试" in text
    elif kind == "upright":
        assert outcome.bad[0].rotations == [180]
        assert _squash(f"可靠性测试{arg}") in text
    elif kind == "blank":
        assert outcome.bad[0].pages == 3 and text == ""
    elif kind == "rendered":
        assert outcome.bad[0].pages == 1
    elif kind == "all_read":
        assert len(outcome.bad) >= 2 and all(b.text for b in outcome.bad)
        assert len({b.text for b in outcome.bad}) == len(outcome.bad)  # twins are not merged
    else:  # pragma: no cover - a case without a check is a corpus bug
        pytest.fail(f"{case_name}: unknown check {check!r}")


def _check_error(case_name: str, outcome: CaseOutcome) -> None:
    case = case_by_name(case_name)
    assert outcome.bad, "the case names its bad files"
    for bad in outcome.bad:
        assert bad.kind != "missing", f"{bad.file} is not among the result's documents"
        assert not bad.read and bad.error_code in case.codes, (bad.file, bad.error_code, bad.error)
        zh, _, en = (bad.error or "").partition(" / ")
        assert _CJK.search(zh) and _LATIN.search(bad.error_en or ""), bad.error
        assert bad.flag_codes == ["FILE_UNREADABLE"], bad.flag_codes
        message, message_en = bad.flag_messages[0]
        assert zh in message and (bad.error_en or "") in message_en


def _check_application(case_name: str, outcome: CaseOutcome, clean: CaseOutcome) -> None:
    """Everything the good application held is screened as if the bad input were not there."""
    case = case_by_name(case_name)
    if case.expect == "app_error":
        assert outcome.app_error and _CJK.search(outcome.app_error)
        assert outcome.documents == {} and "FILE_UNREADABLE" in outcome.flag_codes
        return
    for name, doc in clean.documents.items():
        assert outcome.documents.get(name) == doc, f"{case_name}: {name} changed"
    bad_names = {b.file for b in outcome.bad}
    extra = set(outcome.documents) - set(clean.documents) - bad_names
    assert not extra, f"unexpected documents {extra}"
    assert outcome.verdict == clean.verdict


@pytest.mark.parametrize("case_name", LIGHT)
def test_light_case(case_name, tmp_path, sample_store, runner, clean):
    started = time.perf_counter()
    outcome = screen_case(case_name, tmp_path, sample_store, runner)
    assert time.perf_counter() - started < MAX_SECONDS
    case = case_by_name(case_name)
    if case.expect == "read":
        _check_read(case_name, outcome)
    elif case.expect == "error":
        _check_error(case_name, outcome)
    _check_application(case_name, outcome, clean)


@pytest.mark.parametrize("case_name", HEAVY)
def test_heavy_case_in_its_own_process(case_name, tmp_path, sample_store, clean):
    """Built and screened in a child process: its peak RSS is measured, a crash cannot hide."""
    started = time.perf_counter()
    outcome = run_in_child(case_name, tmp_path, sample_store, timeout=300)
    wall = time.perf_counter() - started
    assert outcome.seconds < MAX_SECONDS and wall < MAX_SECONDS * 2
    assert outcome.peak_rss_mb is not None and outcome.peak_rss_mb < MAX_RSS_MB, outcome.peak_rss_mb
    case = case_by_name(case_name)
    if case.expect == "read":
        _check_read(case_name, outcome)
    else:
        _check_error(case_name, outcome)
    _check_application(case_name, outcome, clean)


def test_zip_members_never_touch_the_disk(tmp_path, sample_store, runner):
    """Zip-slip and absolute members are refused, and nothing appears outside the case folder."""
    before = set(os.listdir("/tmp"))
    for name in ("zip_slip", "zip_absolute_symlink"):
        screen_case(name, tmp_path, sample_store, runner)
    assert "zip-slip.pdf" not in set(os.listdir("/tmp")) - before
    written = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert not {"zip-slip.pdf", "escape.pdf", "absolute.pdf"} & set(written)


BATCH_BAD = ["zero_byte", "truncated_pdf", "encrypted_user_pw", "png_decompression_bomb", "image_1x1",
             "svg", "html_as_pdf", "docx", "folder_symlinks", "pdf_2000_pages", "nested_zip_bomb",
             "random_bytes", "corrupt_jpeg"]
BATCH_ZIPS = ["zip_slip", "zip_bomb", "bad_zip"]


def test_batch_with_bad_applications_completes(tmp_path, sample_store):
    """``yunshen batch`` over an intake where two applications are nothing but bad input and a third
    zip cannot be opened: every application gets a result, the good one exactly as alone."""
    import shutil

    intake = tmp_path / "intake"
    shutil.copytree(DEFAULT_BASE, intake / "APP-01")
    bad_app = intake / "APP-BAD"
    bad_app.mkdir(parents=True)
    expected_bad: dict[str, set[str]] = {}
    work = tmp_path / "work"
    for name in BATCH_BAD:  # every bad file of every case, without APP-01's good files
        case = case_by_name(name)
        app, bad_files = build_case(case, work)
        for rel in bad_files:
            src, dst = app / rel, bad_app / f"{name}-{Path(rel).name}"
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            elif src.exists():
                shutil.copyfile(src, dst)
            expected_bad[dst.name] = set(case.codes)
    newline_named = bad_app / "换行\n名称.pdf"
    newline_named.write_bytes(b"")
    expected_bad["换行?名称.pdf"] = {"EMPTY_FILE"}
    for name in BATCH_ZIPS:
        zpath, _ = build_case(case_by_name(name), work)
        shutil.copyfile(zpath, intake / f"APP-{name.upper().replace('_', '-')}.zip")

    out = tmp_path / "out"
    env = dict(os.environ, YUNSHEN_CACHE_DIR=str(sample_store))
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "batch", str(intake), "--out", str(out)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.perf_counter() - started < 300
    assert not (out / "failed.json").exists()
    ids = {"APP-01", "APP-BAD", "APP-ZIP-SLIP", "APP-ZIP-BOMB", "APP-BAD-ZIP"}
    assert {p.stem for p in out.glob("*.json")} >= ids
    results = {i: json.loads((out / f"{i}.json").read_text(encoding="utf-8")) for i in ids}
    import jsonschema

    from pipeline.schema import SCHEMA_FILE

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for result in results.values():  # bad input still yields a valid yunshen.result/v1
        jsonschema.validate(result, schema)

    alone = screen_path("alone", DEFAULT_BASE, [], sample_store)
    good = {d["file"]: d for d in results["APP-01"]["documents"]}
    for name, doc in alone.documents.items():
        assert good[name]["kind"] == doc["kind"] and good[name]["fields"] == doc["fields"]
    assert results["APP-01"]["verdict"] == alone.verdict

    bad_docs = {d["file"]: d for d in results["APP-BAD"]["documents"]}
    assert set(bad_docs) == set(expected_bad)
    unreadable = {f for fl in results["APP-BAD"]["flags"] if fl["code"] == "FILE_UNREADABLE" for f in fl["files"]}
    for file, codes in expected_bad.items():
        assert bad_docs[file]["error_code"] in codes, (file, bad_docs[file]["error"])
        assert file in unreadable
    # the two zips with a good application inside: the good files are all screened
    for app_id in ("APP-ZIP-SLIP", "APP-ZIP-BOMB"):
        files = {d["file"]: d for d in results[app_id]["documents"]}
        for name, doc in alone.documents.items():
            assert files[name]["kind"] == doc["kind"], (app_id, name)
    assert results["APP-BAD-ZIP"]["documents"] == []
    assert [f["code"] for f in results["APP-BAD-ZIP"]["flags"]][:1] == ["FILE_UNREADABLE"]
    assert (out / "summary.xlsx").exists()
