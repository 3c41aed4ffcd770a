"""The judgement over the samples' *true* facts: spend, verdicts and flags as criteria.md says.

Extraction is taken out of the loop (documents are built from truth.json), so a failure here is a
rules bug, not an OCR or extraction miss.
"""

from __future__ import annotations

import pytest

from judge_fixtures import documents_from_truth, flag_keys, truth
from pipeline.judge import judge
from pipeline.rules import load_rules

APPS = [f"APP-{i:02d}" for i in range(1, 11)]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize("app", APPS)
def test_spend_verdict_and_flags_follow_the_criteria(app, rules):
    t = truth(app)
    exp = t["expected"]
    j = judge(documents_from_truth(app), rules)
    assert j.annualised_spend_yuan == pytest.approx(exp["annualised_spend_yuan"], abs=1)
    assert j.annualised_spend_accepted_yuan == pytest.approx(exp["annualised_spend_accepted_yuan"], abs=1)
    got_p = sorted((p.contract_file or "", tuple(sorted(p.invoice_files)), p.accepted, tuple(sorted(p.rejected_because))) for p in j.purchases)
    exp_p = sorted((p["contract_file"] or "", tuple(sorted(p["invoice_files"])), p["accepted"], tuple(sorted(p["rejected_because"]))) for p in exp["purchases"])
    assert got_p == exp_p
    assert {g: sorted(v) for g, v in j.subdomains_evidenced.items()} == {g: sorted(v) for g, v in exp["subdomains_evidenced"].items()}
    assert j.verdict.meets_star_sought == exp["verdict"]["meets_star_sought"]
    assert j.verdict.highest_star_supported == exp["verdict"]["highest_star_supported"]
    assert flag_keys(j.flags) == flag_keys(exp["flags"])
