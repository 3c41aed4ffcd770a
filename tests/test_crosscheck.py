"""Cross-application checks: copied invoices, reused contracts, reused screenshots.

The sample batch is built from the samples' truth (documents with kind/fields/sha256) and their
real screenshot files; planted reuses and innocent siblings are made here in tmp with the
helpers of ``bench/crosscheck.py`` (which render with the samples' own console templates).
"""

from __future__ import annotations

import hashlib
import importlib.util
import random
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT, SAMPLES
from judge_fixtures import documents_from_truth, truth
from pipeline.crosscheck import (
    CrossCheckReport,
    ScreenParams,
    cross_check,
    cross_check_report,
    normalise_number,
    phash_variants,
    hash_distance,
    load_gray,
    same_account,
    screenshot_matches,
)
from pipeline.model import DocumentFields, DocumentResult, ScreeningResult

APPS = [f"APP-{i:02d}" for i in range(1, 11)]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_crosscheck", ROOT / "bench" / "crosscheck.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _bench()


def _result(app: str, docs: list[DocumentResult]) -> ScreeningResult:
    return ScreeningResult(application_id=app, screened_at="2024-09-30T00:00:00", documents=docs)


def sample_batch(apps=APPS) -> list[tuple[ScreeningResult, Path]]:
    return [(_result(a, documents_from_truth(a)), SAMPLES / a) for a in apps]


def _cross_expected(app: str, codes: tuple[str, ...]) -> set[tuple]:
    return {
        (f["code"], tuple(f["files"]), f["subject"])
        for f in truth(app)["expected"]["flags"]
        if f["code"] in codes and f.get("subject") and ":" in f["subject"]
    }


def _keys(flags) -> set[tuple]:
    return {(f.code, tuple(f.files), f.subject) for f in flags}


# --------------------------------------------------------------------------- numbers


def test_numbers_are_compared_without_spacing_or_dash_variants():
    assert normalise_number(" 0400 2447 1690－78795725 ") == "040024471690-78795725"
    assert normalise_number("dd-2024—js-0456") == "DD-2024-JS-0456"
    assert normalise_number("   ") is None
    assert normalise_number(None) is None


def _invoice(file: str, number: str | None, **extra) -> DocumentResult:
    return DocumentResult(file=file, sha256=hashlib.sha256(file.encode()).hexdigest(), kind="invoice", pages=1,
                          ocr_pages=0, fields=DocumentFields(invoice_number=number, **extra))


def test_duplicate_invoice_is_flagged_in_both_applications_naming_the_other():
    a = _result("A", [_invoice("发票/x.pdf", "24332405526803325181"), _invoice("发票/y.pdf", "111")])
    b = _result("B", [_invoice("发票/copy.pdf", "2433 2405 5268 0332 5181")])
    c = _result("C", [_invoice("发票/own.pdf", "24332405526803325182")])
    flags = cross_check([(a, Path("/nonexistent/A")), (b, Path("/nonexistent/B")), (c, Path("/nonexistent/C"))])
    assert _keys(flags["A"]) == {("DUPLICATE_INVOICE", ("发票/x.pdf",), "B:发票/copy.pdf")}
    assert _keys(flags["B"]) == {("DUPLICATE_INVOICE", ("发票/copy.pdf",), "A:发票/x.pdf")}
    assert flags["C"] == []
    f = flags["A"][0]
    assert f.severity == "error" and "24332405526803325181" in f.message and "B:发票/copy.pdf" in f.message


def test_unreadable_or_numberless_invoices_and_same_application_copies_are_left_to_the_judge():
    broken = _invoice("发票/bad.pdf", "999").model_copy(update={"error": "unreadable"})
    a = _result("A", [_invoice("发票/1.pdf", "555"), _invoice("发票/2.pdf", "555"), _invoice("发票/n.pdf", None)])
    b = _result("B", [broken, _invoice("发票/m.pdf", None)])
    c = _result("C", [_invoice("发票/ok.pdf", "999")])
    flags = cross_check([(a, Path("/x/A")), (b, Path("/x/B")), (c, Path("/x/C"))])
    assert flags == {"A": [], "B": [], "C": []}


def test_reused_contract_is_reported_for_the_batch_not_flagged():
    def contract(file: str, number: str) -> DocumentResult:
        return DocumentResult(file=file, sha256=file, kind="contract", pages=1, ocr_pages=0,
                              fields=DocumentFields(contract_number=number))

    a = _result("A", [contract("合同/a.pdf", "ALY-JS-2024-017")])
    b = _result("B", [contract("合同/b.pdf", "aly-js-2024-017 ")])
    c = _result("C", [contract("合同/c.pdf", "ALY-JS-2024-018")])
    report = cross_check_report([(a, Path("/x/A")), (b, Path("/x/B")), (c, Path("/x/C"))])
    assert isinstance(report, CrossCheckReport)
    assert [(r.number, str(r.a), str(r.b)) for r in report.reused_contracts] == [
        ("ALY-JS-2024-017", "A:合同/a.pdf", "B:合同/b.pdf")
    ]
    assert report.flags == {"A": [], "B": [], "C": []}


# --------------------------------------------------------------------------- the sample batch


@pytest.fixture(scope="module")
def sample_report() -> CrossCheckReport:
    return cross_check_report(sample_batch())


def test_sample_batch_raises_exactly_the_expected_cross_application_flags(sample_report):
    codes = ("DUPLICATE_INVOICE", "SCREENSHOT_REUSED")
    for app in APPS:
        assert _keys(sample_report.flags[app]) == _cross_expected(app, codes), app
    # the planted pair is there (a test of the test: truth does expect something)
    assert ("SCREENSHOT_REUSED", ("截图/存储.png",), "APP-08:截图/OSS.png") in _keys(sample_report.flags["APP-10"])
    assert ("DUPLICATE_INVOICE", ("发票/钉钉发票.pdf",), "APP-08:发票/钉钉电子发票.pdf") in _keys(sample_report.flags["APP-10"])


def test_sample_batch_template_siblings_were_examined_and_rejected(sample_report):
    """RDS.png in APP-01 and APP-08 are the same console for two customers (truth: not reused)."""
    rds = [m for m in sample_report.screen_matches if {str(m.a), str(m.b)} == {"APP-01:截图/RDS.png", "APP-08:截图/RDS.png"}]
    assert rds and not rds[0].reused and rds[0].tiles > 100 and rds[0].disagreeing > 0
    examined = [m for m in sample_report.screen_matches if m.tiles]
    assert len(examined) >= 20  # the hash alone would have matched all of these
    assert sum(m.reused for m in sample_report.screen_matches) == 1
    assert sample_report.reused_contracts == []


def test_identical_bytes_are_reused_without_looking_at_the_image(tmp_path):
    def shot(app: str) -> DocumentResult:
        return DocumentResult(file="截图/a.png", sha256="ab" * 32, kind="screenshot", pages=1, ocr_pages=0)

    flags = cross_check([(_result("A", [shot("A")]), tmp_path / "A"), (_result("B", [shot("B")]), tmp_path / "B")])
    assert _keys(flags["A"]) == {("SCREENSHOT_REUSED", ("截图/a.png",), "B:截图/a.png")}
    assert _keys(flags["B"]) == {("SCREENSHOT_REUSED", ("截图/a.png",), "A:截图/a.png")}


# --------------------------------------------------------------------------- planted reuses


PLANT_SOURCES = [
    ("APP-01", "截图/ECS实例列表.png"),
    ("APP-02", "截图/数据和设备/设备台账.png"),
    ("APP-03", "截图/金蝶生产排产.png"),
    ("APP-07", "截图/资源概览.png"),
    ("APP-09", "截图/告警.png"),
]


def _shot_doc(folder: Path, file: str, data: bytes, account: str | None) -> DocumentResult:
    (folder / file).parent.mkdir(parents=True, exist_ok=True)
    (folder / file).write_bytes(data)
    return bench.screenshot_doc(file, data, account)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Originals, each with a degraded copy in another application, plus innocent siblings.

    Returns (batch, true pairs) with and without account names in the results.
    """
    root = tmp_path_factory.mktemp("planted")
    rng = random.Random(7)
    docs: dict[str, list[tuple[str, bytes, str | None]]] = {}
    pairs = set()
    for k, (app, file) in enumerate(PLANT_SOURCES):
        img = Image.open(SAMPLES / app / file).convert("RGB")
        account = truth(app)["applicant"]["name"]
        docs.setdefault(f"ORIG-{k}", []).append((f"shot{k}.png", bench.png_bytes(img), account))
        docs.setdefault(f"COPY-{k}", []).append((f"copy{k}.jpg", bench.degrade(img, rng), account))
        pairs.add(frozenset({f"ORIG-{k}:shot{k}.png", f"COPY-{k}:copy{k}.jpg"}))
    # innocent siblings: the same console templates for three other customers, same dates
    names = bench.company_names(3, rng)
    for j, company in enumerate(names):
        for tpl in ("ali_ecs", "hw_iot_devices", "kd_plan", "tc_cos_cdb", "ali_rds"):
            img = bench.render_screen_for(tpl, company, 1000 * j + len(tpl))
            docs.setdefault(f"SIB-{j}", []).append((f"{tpl}.png", bench.png_bytes(img), company))
        # and a re-compressed sibling (innocent, but degraded like a copy would be)
        img = bench.render_screen_for("tc_cvm", company, 77 + j)
        docs[f"SIB-{j}"].append(("tc_cvm.jpg", bench.degrade(img, rng), company))

    def batch(with_account: bool):
        out = []
        for app, items in sorted(docs.items()):
            folder = root / app
            ds = [_shot_doc(folder, f, data, acc if with_account else None) for f, data, acc in items]
            out.append((_result(app, ds), folder))
        return out

    return batch, pairs


@pytest.fixture(scope="module")
def planted_reports(planted) -> dict[bool, CrossCheckReport]:
    make, _ = planted
    return {acc: cross_check_report(make(acc)) for acc in (True, False)}


@pytest.mark.parametrize("with_account", [True, False], ids=["with-account", "image-alone"])
def test_every_planted_reuse_is_found_and_no_innocent_sibling_is_flagged(planted, planted_reports, with_account):
    _, pairs = planted
    matches = planted_reports[with_account].screen_matches
    found = {frozenset({str(m.a), str(m.b)}) for m in matches if m.reused}
    assert found == pairs
    # the innocent siblings did reach the image comparison (they are hash-close), and lost there
    innocent = [m for m in matches if frozenset({str(m.a), str(m.b)}) not in pairs and m.tiles]
    assert len(innocent) >= 10
    assert min(m.disagreeing for m in innocent) >= 3


def test_flags_for_planted_reuse_name_the_other_application(planted_reports):
    flags = planted_reports[True].flags
    assert _keys(flags["COPY-0"]) == {("SCREENSHOT_REUSED", ("copy0.jpg",), "ORIG-0:shot0.png")}
    assert _keys(flags["ORIG-0"]) == {("SCREENSHOT_REUSED", ("shot0.png",), "COPY-0:copy0.jpg")}
    ev = flags["COPY-0"][0].evidence[0]
    assert ev.file == "copy0.jpg" and ev.page == 1 and ev.bbox and ev.confidence and ev.confidence > 0.9
    assert all(not fs for app, fs in flags.items() if app.startswith("SIB-"))


def test_reuse_is_found_when_the_copy_is_inside_a_zip_application(tmp_path):
    """Zip applications are compared on pixels too, not only on identical bytes."""
    import zipfile

    app, file = PLANT_SOURCES[0]
    img = Image.open(SAMPLES / app / file).convert("RGB")
    copy = bench.degrade(img, random.Random(11))  # re-compressed, slightly cropped: other bytes
    zpath = tmp_path / "COPY.zip"
    with zipfile.ZipFile(zpath, "w") as zf:  # one top folder, dropped by ingest's naming
        zf.writestr("COPY/截图/copy.jpg", copy)
    original = bench.screenshot_doc(file, (SAMPLES / app / file).read_bytes(), None)
    copied = bench.screenshot_doc("截图/copy.jpg", copy, None)
    assert original.sha256 != copied.sha256
    report = cross_check_report([(_result("ORIG", [original]), SAMPLES / app), (_result("COPY", [copied]), zpath)])
    assert [(str(m.a), str(m.b)) for m in report.screen_matches if m.reused] == [
        ("COPY:截图/copy.jpg", f"ORIG:{file}")
    ]


def test_the_same_two_images_are_aligned_once_however_many_applications_carry_them(tmp_path, monkeypatch):
    import pipeline.crosscheck as cc

    app, file = PLANT_SOURCES[1]
    original = (SAMPLES / app / file).read_bytes()
    copy = bench.degrade(Image.open(SAMPLES / app / file).convert("RGB"), random.Random(5))
    batch = [(_result("ORIG", [_shot_doc(tmp_path / "ORIG", "a.png", original, None)]), tmp_path / "ORIG")]
    for k in range(3):  # the same re-compressed copy submitted by three applications
        folder = tmp_path / f"COPY{k}"
        batch.append((_result(f"COPY{k}", [_shot_doc(folder, "b.jpg", copy, None)]), folder))
    calls = []
    real = cc.compare_shots
    monkeypatch.setattr(cc, "compare_shots", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    matches = screenshot_matches(batch)
    reused = sorted((str(m.a), str(m.b)) for m in matches if m.reused)
    assert reused == [
        ("COPY0:b.jpg", "COPY1:b.jpg"), ("COPY0:b.jpg", "COPY2:b.jpg"), ("COPY0:b.jpg", "ORIG:a.png"),
        ("COPY1:b.jpg", "COPY2:b.jpg"), ("COPY1:b.jpg", "ORIG:a.png"), ("COPY2:b.jpg", "ORIG:a.png"),
    ]
    assert len(calls) == 1  # the copies among themselves are equal bytes; the original is aligned once


def test_crop_tolerant_hash_keeps_a_cropped_copy_close():
    import cv2
    import numpy as np

    img = Image.open(SAMPLES / "APP-08" / "截图" / "OSS.png").convert("RGB")
    rng = random.Random(3)
    orig = phash_variants(load_gray(SAMPLES / "APP-08" / "截图" / "OSS.png"), ScreenParams().hash_trim)
    for _ in range(4):
        data = bench.degrade(img, rng)
        copy = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert hash_distance(orig, phash_variants(copy, ScreenParams().hash_trim)) <= ScreenParams().hash_candidate_distance


def test_unreadable_screenshot_is_skipped(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "x.png").write_bytes(b"not an image")
    src = SAMPLES / "APP-01" / "截图" / "RDS.png"
    docs_a = [DocumentResult(file="x.png", sha256="1" * 64, kind="screenshot", pages=1, ocr_pages=0)]
    docs_b = [DocumentResult(file="截图/RDS.png", sha256="2" * 64, kind="screenshot", pages=1, ocr_pages=0)]
    flags = cross_check([(_result("A", docs_a), tmp_path / "A"), (_result("B", docs_b), src.parents[1])])
    assert flags == {"A": [], "B": []}


def test_clearly_different_account_names_veto_an_image_match(tmp_path):
    """A static page for two customers on the same day differs in the account name only."""
    rng = random.Random(5)
    names = ["泰州华信医疗器械有限公司", "泰州康泰医疗器械有限公司"]
    batch = []
    for k, name in enumerate(names):
        img = bench.render_screen_for("dd_crm", name, 1)
        folder = tmp_path / f"A{k}"
        batch.append((_result(f"A{k}", [_shot_doc(folder, "crm.jpg", bench.degrade(img, rng), name)]), folder))
    (m,) = screenshot_matches(batch)
    assert not m.reused and m.reason == "account names differ"


def test_account_names_compare_tolerantly():
    assert same_account("上海岑川电子科技有限公司", "上海岑川电子科技有限公司")
    assert same_account("上海岑川电子科技有限公司", "上海岑川电子科枝有限公司")  # one OCR slip
    assert same_account("上海岑川电子科技有限公司", "江苏澄明精密机械有限公司") is False
    assert same_account(None, "江苏澄明精密机械有限公司") is None
