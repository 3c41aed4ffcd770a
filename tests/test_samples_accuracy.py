"""Acceptance of facts and judgement on the samples, end to end (real OCR, real extractors).

Field accuracy ≥ 98 % overall and ≥ 95 % on photos and scans; every non-null field has a page and
a box; spend exact (±¥1) and verdict exact for every application; subdomain F1 ≥ 0.97; flag
precision and recall ≥ 0.95. Flags that need the whole batch (the same invoice or screenshot in two
applications) are scored by the batch tests, not here.
"""

from __future__ import annotations

import json

import pytest

from conftest import SAMPLES, TRUTH
from pipeline.evaluation import SampleReport, accuracy, score_application
from pipeline.screen import build_result

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(sample_readings):
    settings, readings = sample_readings
    return {app: build_result(reading, settings) for app, reading in readings.items()}


@pytest.fixture(scope="module")
def report(results) -> SampleReport:
    rep = SampleReport()
    for app, result in results.items():
        truth = json.loads((TRUTH / app / "truth.json").read_text(encoding="utf-8"))
        truth["expected"]["flags"] = [f for f in truth["expected"]["flags"] if ":" not in (f.get("subject") or "")]
        score_application(rep, truth, result, skip_flag_codes={"SCREENSHOT_REUSED"})
    return rep


def test_field_accuracy(report):
    overall = accuracy(row[4] for row in report.field_items)
    images = accuracy(row[4] for row in report.field_items if row[3] != "text-pdf")
    wrong = [(a, f, i.field, i.truth, i.predicted) for a, f, _k, _r, i in report.field_items if not i.correct]
    print(f"field accuracy {overall}; photos+scans {images}")
    assert overall[0] >= 0.98, wrong[:40]
    assert images[0] >= 0.95, wrong[:40]


def test_every_field_has_page_and_box(results):
    missing = []
    for app, result in results.items():
        for doc in result.documents:
            for name, value in doc.fields.model_dump().items():
                if value in (None, [], {}):
                    continue
                ev = doc.field_evidence.get(name)
                if ev is None or ev.page is None or ev.bbox is None:
                    missing.append((app, doc.file, name))
    assert not missing, missing[:30]


def test_spend_and_verdict_exact(report):
    errors = [e for e in report.app_errors if e[1] in ("spend", "verdict")]
    assert report.spend_exact == report.applications, errors
    assert report.verdict_exact == report.applications, errors


def test_seal_recall_and_party(report):
    """Issue #3: seals found (same page, IoU ≥ 0.5) recall ≥ 0.95 and matched party ≥ 0.95."""
    p, r, _ = report.seal_prf
    errors = [e for e in report.app_errors if e[1].startswith("seal")]
    print(f"seals: {report.seal_found}/{report.seal_true} found, {report.seal_false} false, "
          f"party {report.seal_party_correct}/{report.seal_found}")
    assert report.seal_true >= 90  # the samples carry ~97 seals: a truth that lost them cannot pass
    assert r >= 0.95, errors
    assert report.seal_party_accuracy >= 0.95, errors
    assert p >= 0.95, errors


def test_subdomain_f1(report):
    p, r, f1 = report.subdomain_prf
    assert f1 >= 0.97, [e for e in report.app_errors if e[1] == "subdomains"]


def test_flag_precision_and_recall(report):
    p, r, _ = report.flag_prf
    errors = [e for e in report.app_errors if e[1].startswith("flag")]
    assert p >= 0.95 and r >= 0.95, errors


def test_flag_precision_and_recall_as_a_batch(results):
    """All ten applications screened as one batch: cross-application flags included."""
    from pipeline.batch import add_cross_application_flags

    batch = add_cross_application_flags({SAMPLES / app: r for app, r in results.items()})
    rep = SampleReport()
    for result in batch:
        truth = json.loads((TRUTH / result.application_id / "truth.json").read_text(encoding="utf-8"))
        score_application(rep, truth, result)
    p, r, _ = rep.flag_prf
    print(f"batch flags P {p:.3f} R {r:.3f} ({rep.flag_tp} tp, {rep.flag_fp} fp, {rep.flag_fn} fn)")
    assert p >= 0.95 and r >= 0.95, [e for e in rep.app_errors if e[1].startswith("flag")]
    codes = {f.code for res in batch for f in res.flags}
    assert {"SCREENSHOT_REUSED", "DUPLICATE_INVOICE"} <= codes


def test_a_changed_threshold_rejudges_without_reading_or_ocr(results, tmp_path, monkeypatch):
    import yaml

    import pipeline.pages
    from pipeline.rules import DEFAULT_RULES, load_rules
    from pipeline.screen import apply_judgement

    def no_reading(*args, **kwargs):
        raise AssertionError("re-judging must not read files or run OCR")

    monkeypatch.setattr(pipeline.pages, "read_document", no_reading)
    monkeypatch.setattr(pipeline.pages.OcrRunner, "read", no_reading)
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["version"] = "2019.1-strict"
    data["spend"]["threshold_yuan"] = 100000
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    strict = load_rules(path)
    before = {app: r.verdict.meets_star_sought for app, r in results.items()}
    after = {app: apply_judgement(r, strict).verdict.meets_star_sought for app, r in results.items()}
    assert before["APP-01"] is True and after["APP-01"] is False  # ¥36,000 < ¥100,000
    for app, r in results.items():  # exactly the passing applications under ¥100,000 change
        expected = before[app] and r.annualised_spend_accepted_yuan >= 100000
        assert after[app] is expected, app
    assert any(before[a] and not after[a] for a in results) and any(before[a] and after[a] for a in results)
