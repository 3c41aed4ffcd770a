"""Every flag code of the spec is raised by some test input, and none is raised on a clean one."""

from __future__ import annotations

import re
from pathlib import Path

from judge_fixtures import documents_from_truth
from pipeline.judge import judge
from pipeline.model import Evidence
from pipeline.rules import load_rules

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "result-v1.md"
APPS = [f"APP-{i:02d}" for i in range(1, 11)]
BATCH_CODES = {"SCREENSHOT_REUSED"}  # needs two applications: tests/test_crosscheck.py
READING_CODES = {"FILE_UNREADABLE"}  # raised while reading files: tests/test_samples_screening.py, test_cli.py


def spec_codes() -> set[str]:
    text = SPEC.read_text(encoding="utf-8")
    table = text[text.index("## Flag codes"):]
    return set(re.findall(r"^\| ([A-Z_]{5,}) \|", table, flags=re.M))


def test_the_spec_lists_the_codes_our_catalogue_knows():
    from pipeline.flags import catalogue

    assert spec_codes() == set(catalogue())


def test_every_code_is_raised_by_the_samples_and_none_on_the_clean_one():
    rules = load_rules()
    raised: set[str] = set()
    for app in APPS:
        codes = {f.code for f in judge(documents_from_truth(app), rules).flags}
        if app == "APP-01":
            assert codes == set(), codes  # the clean application
        raised |= codes
    # LOW_OCR_CONFIDENCE needs a low-confidence read: one key field of APP-01's invoice
    docs = documents_from_truth("APP-01")
    inv = next(d for d in docs if d.kind == "invoice")
    low = inv.model_copy(update={"field_evidence": {"amount_yuan": Evidence(file=inv.file, page=1, bbox=[0, 0, 1, 1], confidence=0.41)}})
    flags = judge([low if d is inv else d for d in docs], rules).flags
    assert [f.code for f in flags] == ["LOW_OCR_CONFIDENCE"] and flags[0].files == [inv.file]
    raised.add("LOW_OCR_CONFIDENCE")
    assert spec_codes() - BATCH_CODES - READING_CODES <= raised, sorted(spec_codes() - raised)
