"""Re-judging with another rules file changes verdicts without Python changes and without OCR."""

from __future__ import annotations

import yaml

from judge_fixtures import documents_from_truth
from pipeline.judge import judge
from pipeline.model import ScreeningResult
from pipeline.rules import DEFAULT_RULES, load_rules
from pipeline.screen import apply_judgement


def _rules_with(tmp_path, **spend):
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["spend"].update(spend)
    data["version"] = "2019.1-test"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_rules(path)


def test_threshold_in_the_rules_file_changes_the_verdict(tmp_path):
    docs = documents_from_truth("APP-01")  # 3 stars, ¥36,000 a year accepted
    assert judge(docs, load_rules()).verdict.meets_star_sought is True
    strict = _rules_with(tmp_path, threshold_yuan=50000)
    j = judge(docs, strict)
    assert j.verdict.meets_star_sought is False and j.verdict.highest_star_supported == 0
    assert "SPEND_BELOW_THRESHOLD" in {f.code for f in j.flags}


def test_apply_judgement_rejudges_a_stored_result_and_keeps_reading_flags(tmp_path):
    from pipeline.flags import make_flag

    stored = ScreeningResult(
        application_id="APP-01",
        screened_at="2026-11-25T10:00:00+08:00",
        documents=documents_from_truth("APP-01"),
        flags=[make_flag("FILE_UNREADABLE", files=["x.pdf"], reason="损坏", reason_en="corrupt")],
    )
    first = apply_judgement(stored, load_rules())
    assert first.rules_version == "2019.1" and first.verdict.meets_star_sought is True
    again = apply_judgement(ScreeningResult.model_validate_json(first.to_json()), _rules_with(tmp_path, threshold_yuan=50000))
    assert again.rules_version == "2019.1-test"
    assert again.verdict.meets_star_sought is False
    codes = [f.code for f in again.flags]
    assert codes.count("FILE_UNREADABLE") == 1 and "SPEND_BELOW_THRESHOLD" in codes
    # the verdict explains itself rule by rule
    rows = again.verdict.model_dump()["rules"]
    assert any(r["star"] == 3 and "年化投入" in r["rule"] and r["passed"] is False for r in rows)
