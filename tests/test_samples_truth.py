"""The generated sample applications and their ground truth are self-consistent.

These checks deliberately re-implement what they verify (GB 32100 check characters, 大写
amounts, annualised spend) instead of importing the generator, so a generator bug cannot
hide behind its own helpers. Regenerate with ``.venv/bin/python samples/generate.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
APPS = SAMPLES / "applications"
TRUTH = SAMPLES / "truth"

KINDS = {"licence", "contract", "invoice", "screenshot", "explanation", "application_form",
         "private_cloud_doc", "other"}
RENDERINGS = {"text-pdf", "scan-pdf", "photo", "scan-image", "screenshot"}
FLAG_CODES = {
    "LICENCE_MISSING", "USCC_CHECKSUM_INVALID", "USCC_MISMATCH", "NOT_JIANGSU", "NOT_ENTERPRISE",
    "CONTRACT_MISSING", "INVOICE_MISSING", "INVOICE_BUYER_MISMATCH", "INVOICE_BUYER_TAXID_MISMATCH",
    "AMOUNT_UPPER_LOWER_MISMATCH", "INVOICE_TOTAL_INCONSISTENT", "INVOICE_BEFORE_CONTRACT",
    "DUPLICATE_INVOICE", "SCREENSHOT_REUSED", "CONTRACT_NO_CLOUD_WORDING",
    "EXPLANATION_SEAL_MISSING", "SEAL_MISSING", "SUBDOMAIN_NO_EVIDENCE", "SUBDOMAIN_NO_SCREENSHOT",
    "SUBDOMAIN_COUNT_SHORT", "SPEND_BELOW_THRESHOLD", "CLAIMED_SPEND_MISMATCH",
    "PRIVATE_CLOUD_NOT_ALLOWED", "PRIVATE_CLOUD_DOCS_MISSING", "INNOVATION_EVIDENCE_MISSING",
    "FILE_UNREADABLE", "LOW_OCR_CONFIDENCE",
}
GROUPS = ("工业APP应用", "基础云服务", "数据上云", "设备接入", "边缘计算", "设备服务", "创新应用")
BLOCKING = {"LICENCE_MISSING", "USCC_CHECKSUM_INVALID", "NOT_JIANGSU", "NOT_ENTERPRISE"}

# ----------------------------------------------------------------------------- helpers

_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in _USCC for c in code):
        return False
    s = sum(_USCC.index(c) * w for c, w in zip(code[:17], _W))
    return _USCC[(31 - s % 31) % 31] == code[17]


_D = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_U = {"拾": 10, "佰": 100, "仟": 1000}


def upper_to_fen(s: str) -> int:
    s = s.lstrip("ⓧ⊗").replace("整", "").replace("正", "")
    yuan, _, frac = s.partition("元") if "元" in s else ("", "", s)
    total = sec = num = 0
    for ch in yuan:
        if ch in _D:
            num = _D[ch]
        elif ch in _U:
            sec += (num or 1) * _U[ch]
            num = 0
        elif ch == "万":
            total += (sec + num) * 10_000
            sec = num = 0
        elif ch == "亿":
            total = (total + sec + num) * 100_000_000
            sec = num = 0
        else:
            raise ValueError(f"unexpected {ch!r} in {s!r}")
    fen = (total + sec + num) * 100
    num = 0
    for ch in frac:
        if ch in _D:
            num = _D[ch]
        elif ch == "角":
            fen += num * 10
            num = 0
        elif ch == "分":
            fen += num
            num = 0
    return fen


def fen(x: float) -> int:
    return round(x * 100)


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def load_truths() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(TRUTH.glob("*/truth.json"))]


TRUTHS = load_truths()
IDS = [t["application_id"] for t in TRUTHS]


def docs_of(kind: str | None = None):
    for t in TRUTHS:
        for d in t["documents"]:
            if kind is None or d["kind"] == kind:
                yield t, d


def flagged(t: dict, code: str, file: str | None = None) -> bool:
    return any(f["code"] == code and (file is None or file in f["files"])
               for f in t["expected"]["flags"])


# ----------------------------------------------------------------------------- tests


def test_samples_exist():
    assert TRUTHS, "no samples: run .venv/bin/python samples/generate.py"
    assert sorted(p.name for p in APPS.iterdir()) == IDS
    assert IDS == [f"APP-{i:02d}" for i in range(1, len(IDS) + 1)]


def test_own_helpers():
    assert uscc_ok("91350100M000100Y43") and not uscc_ok("91350100M000100Y44")
    assert upper_to_fen("壹万贰仟陆佰元整") == 1_260_000
    assert upper_to_fen("ⓧ壹仟零伍元零伍分") == 100_505
    assert upper_to_fen("壹亿零壹万元整") == 10_001_000_000


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_files_listed_exist_and_match(t):
    folder = APPS / t["application_id"]
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    listed = sorted(d["file"] for d in t["documents"])
    assert on_disk == listed
    assert t["submission_order"] == [d["file"] for d in t["documents"]]
    for d in t["documents"]:
        data = (folder / d["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == d["sha256"], d["file"]
        assert len(data) == d["size_bytes"]
        assert d["kind"] in KINDS and d["rendering"] in RENDERINGS
        assert d["rotation"] in (0, 90, 180, 270)


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_pages_and_text_layers(t):
    folder = APPS / t["application_id"]
    for d in t["documents"]:
        path = folder / d["file"]
        if d.get("unreadable"):
            with pytest.raises(Exception):
                doc = pdfium.PdfDocument(path.read_bytes())
                assert len(doc) > 0 and doc[0].get_textpage() is not None
            continue
        assert len(d["page_text"]) == d["pages"] and all(d["page_text"]), d["file"]
        if path.suffix == ".pdf":
            assert len(pdfium.PdfDocument(path.read_bytes())) == d["pages"], d["file"]
            with pdfplumber.open(path) as pdf:
                for page, lines in zip(pdf.pages, d["page_text"]):
                    text = squash(page.extract_text() or "")
                    if d["text_layer"]:
                        missing = [ln for ln in lines if squash(ln) not in text]
                        assert not missing, (d["file"], missing[:3])
                    else:
                        assert not page.chars, f"{d['file']}: a scan must have no text layer"
        else:
            assert d["pages"] == 1 and not d["text_layer"]
            with Image.open(path) as im:
                assert list(im.size) == d["image_size"]
                if d["rendering"] == "screenshot":
                    assert im.format == "PNG" and im.size == (1280, 800)
                else:
                    assert im.format == "JPEG"
                if d["rendering"] == "photo":
                    assert max(im.size) >= 1600


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_seals(t):
    for d in t["documents"]:
        for s in d["seals"]:
            assert 1 <= s["page"] <= d["pages"]
            assert s["party"] in {"applicant", "provider", "seller", "buyer", "unknown"}
            for key in ("bbox", "bbox_as_stored"):
                if key in s:
                    x0, y0, x1, y1 = s[key]
                    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, (d["file"], s)
            assert s["text"]
            if s.get("tax_id"):
                assert uscc_ok(s["tax_id"])
        if d["rotation"] in (90, 270):
            assert all("bbox_as_stored" in s for s in d["seals"])


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_credit_codes(t):
    a = t["applicant"]
    assert uscc_ok(a["uscc"]) == a["uscc_valid"]
    assert a["jiangsu"] == (a["uscc"][2:4] == "32")
    for d in t["documents"]:
        f = d["fields"]
        for key in ("uscc", "buyer_tax_id", "seller_tax_id"):
            code = f.get(key)
            if not code:
                continue
            if code == a["uscc"] and not a["uscc_valid"]:
                continue  # the applicant's deliberately invalid code
            if uscc_ok(code):
                continue
            # any other invalid code is a deliberate slip and must be flagged
            code_flags = {"USCC_MISMATCH", "INVOICE_BUYER_TAXID_MISMATCH"}
            assert any(flagged(t, c, d["file"]) for c in code_flags), (d["file"], key, code)
            assert code in " ".join(ln for p in d["page_text"] for ln in p)
        if d["kind"] == "licence":
            assert f["uscc"] == a["uscc"] and f["name"] == a["name"]


def test_invoices_add_up():
    n = 0
    for t, d in docs_of("invoice"):
        f = d["fields"]
        text = "".join(squash(ln) for p in d["page_text"] for ln in p)
        num = f["invoice_number"]
        assert re.fullmatch(r"\d{20}|\d{12}-\d{8}", num), num
        for part in num.split("-"):
            assert part in text
        items = f["line_items"]
        assert items and fen(sum(i["amount"] for i in items)) == fen(f["total_amount"])
        assert fen(sum(i["tax"] for i in items)) == fen(f["total_tax"])
        for i in items:
            assert abs(fen(i["amount"]) * 0.06 - fen(i["tax"])) <= 1, i
        consistent = fen(f["total_amount"]) + fen(f["total_tax"]) == fen(f["amount_yuan"])
        assert consistent != flagged(t, "INVOICE_TOTAL_INCONSISTENT", d["file"]), d["file"]
        assert upper_to_fen(f["amount_uppercase_text"]) == fen(f["amount_uppercase_yuan"])
        same = fen(f["amount_uppercase_yuan"]) == fen(f["amount_yuan"])
        assert same != flagged(t, "AMOUNT_UPPER_LOWER_MISMATCH", d["file"]), d["file"]
        assert f"¥{f['amount_yuan']:.2f}" in text and f["amount_uppercase_text"] in text
        assert f["buyer"] in text and f["seller"] in text and f["buyer_tax_id"] in text
        assert f["date"].replace("-", "")[:4] in text
        n += 1
    assert n


def test_contracts_add_up():
    n = 0
    for t, d in docs_of("contract"):
        f = d["fields"]
        text = "".join(squash(ln) for p in d["page_text"] for ln in p)
        assert fen(sum(li["amount"] for li in f["product_lines"])) == fen(f["amount_yuan"])
        assert f["contract_number"] in text and f["seller"] in text
        kw = "云服务" in text or "云产品" in text
        assert kw == f["cloud_keywords_present"], d["file"]
        if f["amount_uppercase_yuan"] is not None:
            assert upper_to_fen(f["amount_uppercase_text"]) == fen(f["amount_uppercase_yuan"])
            assert f["amount_uppercase_text"] in text
            same = fen(f["amount_uppercase_yuan"]) == fen(f["amount_yuan"])
            assert same != flagged(t, "AMOUNT_UPPER_LOWER_MISMATCH", d["file"])
        if f["period_months"]:
            assert f["period_start"] < f["period_end"]
        n += 1
    assert n


def test_screenshots_show_account_and_date():
    for _, d in docs_of("screenshot"):
        lines = d["page_text"][0]
        assert d["fields"]["account_name"] in lines
        y, m, day = (int(x) for x in d["fields"]["date"].split("-"))
        assert f"{y}/{m}/{day}" in lines
        assert d["subdomains"], d["file"]


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_form_ticks_point_at_evidence(t):
    forms = [d for d in t["documents"] if d["kind"] == "application_form"]
    if not forms:
        return
    form = forms[0]
    f = form["fields"]
    assert f["star_sought"] == t["star_sought"] and f["deployment"] == t["deployment"]
    claimed = [s for s, v in f["ticks"].items() if v["claimed"]]
    assert sorted(claimed) == sorted(t["claimed"]["subdomains"])
    assert len(f["ticks"]) == (22 if t["star_sought"] == 3 else 57)
    start: dict[str, int] = {}
    cursor = 1
    by_file = {d["file"]: d for d in t["documents"]}
    for name in t["submission_order"]:
        start[name] = cursor
        cursor += max(by_file[name]["pages"], 1)
    for s in claimed:
        page = f["ticks"][s]["page"]
        if page is None:
            continue
        doc = next(n for n in reversed(t["submission_order"]) if start[n] <= page)
        assert s in by_file[doc]["subdomains"], (s, page, doc)
        assert str(page) in sum(form["page_text"], [])
    if t["star_sought"] == 3:
        assert f["claimed_spend_yuan"] == t["claimed"]["annualised_spend_yuan"]


@pytest.mark.parametrize("t", TRUTHS, ids=IDS)
def test_expected_is_consistent(t):
    e = t["expected"]
    files = {d["file"] for d in t["documents"]}
    total = accepted = 0
    for p in e["purchases"]:
        months = p["months"] or 12
        assert fen(p["annualised_yuan"]) == round(p["amount_yuan"] * 12 / max(12, months) * 100)
        total += fen(p["annualised_yuan"])
        accepted += fen(p["annualised_yuan"]) if p["accepted"] else 0
        assert p["accepted"] == (not p["rejected_because"])
        assert {p["contract_file"], *p["invoice_files"]} - {None} <= files
    assert total == fen(e["annualised_spend_yuan"])
    assert accepted == fen(e["annualised_spend_accepted_yuan"])
    assert (accepted < 1_000_000) == flagged(t, "SPEND_BELOW_THRESHOLD")
    assert list(e["subdomains_evidenced"]) == list(GROUPS)
    shown = {s for d in t["documents"] if d["kind"] == "screenshot" for s in d["subdomains"]}
    for subs in e["subdomains_evidenced"].values():
        assert set(subs) <= set(t["claimed"]["subdomains"]) and set(subs) <= shown
    for fl in e["flags"]:
        assert fl["code"] in FLAG_CODES and set(fl["files"]) <= files, fl
    v = e["verdict"]
    blocked = any(flagged(t, c) for c in BLOCKING)
    if blocked:
        assert v == {"meets_star_sought": False, "highest_star_supported": 0}
    else:
        assert v["meets_star_sought"] == (v["highest_star_supported"] >= t["star_sought"])
    if v["meets_star_sought"]:
        assert not any(flagged(t, c) for c in ("SUBDOMAIN_COUNT_SHORT", "SPEND_BELOW_THRESHOLD",
                                                "PRIVATE_CLOUD_NOT_ALLOWED"))


def test_coverage_of_kinds_renderings_flags_and_verdicts():
    kinds = {d["kind"] for _, d in docs_of()}
    renderings = {d["rendering"] for _, d in docs_of()}
    assert KINDS - {"other"} <= kinds
    assert renderings == RENDERINGS
    rotations = {d["rotation"] for _, d in docs_of()}
    assert {90, 180} <= rotations
    raised = {f["code"] for t in TRUTHS for f in t["expected"]["flags"]}
    assert FLAG_CODES - raised == set()
    for star in (3, 4, 5):
        outcomes = {t["expected"]["verdict"]["meets_star_sought"] for t in TRUTHS
                    if t["star_sought"] == star}
        assert outcomes == {True, False}, star


def test_size_budget():
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 40 * 1024 * 1024, total


@pytest.mark.slow
def test_generation_is_deterministic(tmp_path):
    """Regenerating reproduces every file byte for byte (and the same truth)."""
    subprocess.run([sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for t in TRUTHS:
        fresh = json.loads((tmp_path / "truth" / t["application_id"] / "truth.json")
                           .read_text(encoding="utf-8"))
        assert fresh == t
