"""The batch report: summary.xlsx, summary.csv and the offline HTML page per application."""

from __future__ import annotations

import base64
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from builders import image_pdf, text_pdf, write
from openpyxl.utils import get_column_letter
from PIL import Image

from pipeline.model import (
    Applicant,
    Claimed,
    DocumentFields,
    DocumentResult,
    Evidence,
    Flag,
    PageSummary,
    Purchase,
    ScreeningResult,
    Seal,
    SubdomainHit,
    Verdict,
)
from pipeline.report import (
    FLAG_COLUMNS,
    SUMMARY_COLUMNS,
    folder_page_images,
    page_name,
    render_page_image,
    write_report,
)

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "applications"
HEADERS = [h for h, _, _ in SUMMARY_COLUMNS]


# --------------------------------------------------------------------------- HTML parsing


class _Dom(HTMLParser):
    """Just enough of a DOM: every element with its attributes and its ancestors' classes."""

    VOID = {"img", "meta", "br", "hr", "input", "link", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.elements: list[tuple[str, dict[str, str], list[tuple[str, dict[str, str]]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a, list(self.stack)))
        if tag not in self.VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def parse(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    dom.close()
    return dom


def boxes(dom: _Dom) -> list[dict]:
    out = []
    for tag, a, ancestors in dom.elements:
        if tag == "div" and "box" in a.get("class", "").split():
            style = dict(
                (k.strip(), float(v.strip().rstrip("%")))
                for k, v in (part.split(":") for part in a["style"].split(";") if part.strip())
            )
            page = next((anc for anc in reversed(ancestors) if "page" in anc[1].get("class", "").split()), None)
            figure = next((anc for anc in reversed(ancestors) if anc[0] == "figure"), None)
            out.append({**a, **style, "in_page": page is not None, "figure": figure[1].get("id") if figure else None})
    return out


def ids(dom: _Dom) -> set[str]:
    return {a["id"] for _, a, _ in dom.elements if "id" in a}


# --------------------------------------------------------------------------- hand-built results


def _page(n: int, w: float = 595.0, h: float = 842.0, rotation: int = 0) -> PageSummary:
    return PageSummary(number=n, width=w, height=h, unit="pt", source="text-layer", confidence=1.0, rotation=rotation)


def passing_result() -> ScreeningResult:
    contract = DocumentResult(
        file="合同/阿里云服务合同.pdf", sha256="a" * 64, kind="contract", pages=2, ocr_pages=0,
        fields=DocumentFields(amount_yuan=36000.0, date="2024-01-01", provider="阿里云计算有限公司"),
        field_evidence={
            "amount_yuan": Evidence(file="合同/阿里云服务合同.pdf", page=1, bbox=[0.1, 0.5, 0.6, 0.53], text="36,000.00"),
            "date": Evidence(file="合同/阿里云服务合同.pdf", page=2, bbox=[0.55, 0.9, 0.8, 0.93], text="2024年1月1日"),
        },
        seals=[Seal(text="阿里云计算有限公司合同专用章", party="seller", page=2, bbox=[0.61, 0.72, 0.83, 0.86])],
        subdomains=[SubdomainHit(name="计算资源", group="基础云服务", term="云服务器ECS", score=0.97, page=1,
                                 bbox=[0.1, 0.4, 0.5, 0.43])],
        page_info=[_page(1), _page(2)],
    )
    invoice = DocumentResult(
        file="发票/阿里云发票.pdf", sha256="b" * 64, kind="invoice", pages=1, ocr_pages=0,
        fields=DocumentFields(amount_yuan=36000.0, invoice_number="24322000000012345678"),
        page_info=[_page(1, 680, 425)],
    )
    return ScreeningResult(
        application_id="APP-A",
        screened_at="2026-11-25T10:00:00+08:00",
        rules_version="2019.1",
        applicant=Applicant(name="江苏某某科技有限公司", uscc="91320100MA1XXXXXXX", uscc_valid=True, jiangsu=True),
        star_sought=3,
        deployment="public",
        claimed=Claimed(subdomains=["计算资源", "存储资源"], annualised_spend_yuan=12000),
        documents=[contract, invoice],
        purchases=[Purchase(provider="阿里云计算有限公司", amount_yuan=36000, months=36, annualised_yuan=12000,
                            accepted=True, contract_file=contract.file, invoice_files=[invoice.file])],
        annualised_spend_yuan=12000.0,
        annualised_spend_accepted_yuan=12000.0,
        subdomains_evidenced={"基础云服务": ["计算资源"]},
        verdict=Verdict(meets_star_sought=True, highest_star_supported=3,
                        rules=[{"star": 3, "rule": "年化投入 ≥ ¥10,000", "actual": 12000.0, "passed": True},
                               {"star": 4, "rule": "基础云服务 ≥ 4", "actual": 1, "passed": False}],
                        blocked=False),
        flags=[
            Flag(code="SUBDOMAIN_NO_EVIDENCE", severity="warning", message="申报的子领域“存储资源”没有材料证明",
                 subject="存储资源"),
            Flag(code="LOW_OCR_CONFIDENCE", severity="info", message="金额识别置信度低",
                 files=[contract.file],
                 evidence=[Evidence(file=contract.file, page=1, bbox=[0.1, 0.5, 0.6, 0.53], confidence=0.41)]),
        ],
    )


def failing_result() -> ScreeningResult:
    """Awkward content: formula-like text, unknown evidence files, an unreadable file, no rule table."""
    broken = DocumentResult(file="=HYPERLINK(\"http://x\").pdf", sha256="c" * 64, kind="other", pages=0,
                            ocr_pages=0, error="文件已加密", error_en="encrypted")
    return ScreeningResult(
        application_id="APP-B<2>",
        screened_at="2026-11-25T10:00:00+08:00",
        applicant=Applicant(name="=1+1 <script>alert(1)</script>", uscc=None),
        star_sought=4,
        documents=[broken],
        annualised_spend_yuan=7500.0,
        annualised_spend_accepted_yuan=0.0,
        verdict=Verdict(meets_star_sought=False, highest_star_supported=0),
        flags=[
            Flag(code="SPEND_BELOW_THRESHOLD", severity="error", message="年化投入 ¥0 低于 ¥10,000"),
            Flag(code="FILE_UNREADABLE", severity="error", message="文件已加密", files=[broken.file],
                 evidence=[Evidence(file=broken.file)]),
            Flag(code="DUPLICATE_INVOICE", severity="error", message="发票号码重复", subject="APP-C:发票/x.pdf",
                 evidence=[Evidence(file="APP-C:发票/x.pdf", page=1, bbox=[0, 0, 1, 1])]),
            Flag(code="LICENCE_MISSING", severity="error", message="材料中未找到营业执照"),
        ],
    )


def blank_page_png(app_id: str, file: str, page: int) -> bytes:
    img = Image.new("RGB", (600, 848), "white")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = [passing_result(), failing_result()]
    files = write_report(results, out, blank_page_png)
    return out, results, files


# --------------------------------------------------------------------------- summary.xlsx


def test_xlsx_summary_sheet(report):
    out, results, files = report
    wb = openpyxl.load_workbook(files.xlsx)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS
    assert all("(" in h and re.search(r"[\u4e00-\u9fff]", h) for h in HEADERS)
    assert ws.max_row == 1 + len(results)
    col = {h: i for i, h in enumerate(HEADERS)}
    a, b = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert a[col["申请编号 (Application ID)"]] == "APP-A"
    assert a[col["企业名称 (Company)"]] == "江苏某某科技有限公司"
    assert a[col["预审结论 (Verdict)"]] == "通过" and b[col["预审结论 (Verdict)"]] == "不通过"
    assert a[col["年化投入·认可 (Annualised spend, accepted, ¥)"]] == 12000.0
    assert b[col["年化投入·全部 (Annualised spend, all, ¥)"]] == 7500.0
    assert (a[col["错误 (Errors)"]], a[col["警告 (Warnings)"]], a[col["提示 (Info)"]]) == (0, 1, 1)
    assert (b[col["错误 (Errors)"]], b[col["警告 (Warnings)"]], b[col["提示 (Info)"]]) == (4, 0, 0)
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(HEADERS))}{1 + len(results)}"
    # formula-looking text stays text
    name_cell = ws.cell(row=3, column=col["企业名称 (Company)"] + 1)
    assert name_cell.data_type == "s" and name_cell.value.startswith("=1+1")
    # every hyperlink resolves to a page that was written
    links = [ws.cell(row=r, column=len(HEADERS)).hyperlink for r in (2, 3)]
    assert all(link is not None for link in links)
    for link, result in zip(links, results):
        assert (out / link.target).is_file()
        assert (out / link.target) == files.pages[result.application_id]
    # column widths were set from content, not left at the default
    assert ws.column_dimensions["B"].width > 20


def test_xlsx_flag_sheet(report):
    out, results, files = report
    wb = openpyxl.load_workbook(files.xlsx)
    fs = wb.worksheets[1]
    assert [c.value for c in fs[1]] == list(FLAG_COLUMNS)
    rows = [[c.value for c in row] for row in fs.iter_rows(min_row=2)]
    expected = [(r.application_id, f.code) for r in results for f in r.flags]
    assert [(row[0], row[1]) for row in rows] == expected
    assert fs.auto_filter.ref == f"A1:F{1 + len(expected)}"
    assert fs.freeze_panes == "A2"
    by_code = {row[1]: row for row in rows}
    assert by_code["SUBDOMAIN_NO_EVIDENCE"][5] == "存储资源"
    assert by_code["FILE_UNREADABLE"][4] == '=HYPERLINK("http://x").pdf'
    assert fs.cell(row=1 + [r[1] for r in rows].index("FILE_UNREADABLE") + 1, column=5).data_type == "s"
    assert "error" in by_code["LICENCE_MISSING"][2]
    # each flag row links to the flag's anchor on the application's page
    html_b = files.pages["APP-B<2>"].read_text(encoding="utf-8")
    for r in range(2, fs.max_row + 1):
        target = fs.cell(row=r, column=1).hyperlink.target
        page, _, anchor = target.partition("#")
        assert (out / page).is_file() and anchor.startswith("flag-")
        assert f'id="{anchor}"' in (out / page).read_text(encoding="utf-8")
    assert 'id="flag-4"' in html_b


# --------------------------------------------------------------------------- summary.csv


def test_csv_has_bom_and_the_summary_rows(report):
    out, results, files = report
    raw = files.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:]] == ["APP-A", "APP-B<2>"]
    assert rows[1][HEADERS.index("预审结论 (Verdict)")] == "通过"
    assert float(rows[1][HEADERS.index("年化投入·全部 (Annualised spend, all, ¥)")]) == 12000.0
    assert rows[2][HEADERS.index("统一社会信用代码 (Credit code)")] == ""
    assert rows[2][HEADERS.index("企业名称 (Company)")].startswith("'=1+1")  # defused for Excel
    assert rows[2][-1] == "applications/" + page_name("APP-B<2>")


# --------------------------------------------------------------------------- HTML


def test_html_draws_every_evidence_box_where_the_result_says(report):
    out, results, files = report
    dom = parse(files.pages["APP-A"].read_text(encoding="utf-8"))
    found = boxes(dom)
    # 2 field evidences + 1 seal + 1 subdomain hit + 1 flag evidence
    assert sorted(b["data-kind"] for b in found) == ["field", "field", "flag", "seal", "subdomain"]
    for b in found:
        assert b["in_page"] and b["title"]
        assert 0 <= b["left"] <= 100 and 0 <= b["top"] <= 100
        assert 0 < b["width"] and b["left"] + b["width"] <= 100.001
        assert 0 < b["height"] and b["top"] + b["height"] <= 100.001
    seal = next(b for b in found if b["data-kind"] == "seal")
    assert (seal["left"], seal["top"], seal["width"], seal["height"]) == pytest.approx((61, 72, 22, 14))
    assert seal["figure"] == "d1-p2" and "合同专用章" in seal["title"]
    hit = next(b for b in found if b["data-kind"] == "subdomain")
    assert hit["figure"] == "d1-p1" and "计算资源" in hit["title"] and "云服务器ECS" in hit["title"]
    flag_box = next(b for b in found if b["data-kind"] == "flag")
    assert "LOW_OCR_CONFIDENCE" in flag_box["title"]
    assert (flag_box["left"], flag_box["top"]) == pytest.approx((10, 50))


def test_html_links_resolve_and_nothing_is_external(report):
    out, results, files = report
    for path in files.pages.values():
        html = path.read_text(encoding="utf-8")
        dom = parse(html)
        known = ids(dom)
        for tag, a, _ in dom.elements:
            href, src = a.get("href", ""), a.get("src", "")
            if href:
                assert href.startswith("#") and href[1:] in known, href
            if src:
                assert src.startswith("data:image/"), src[:40]
            assert tag not in ("link", "script", "iframe")
        assert "http://" not in html.replace('=HYPERLINK(&#34;http://x&#34;)', "").replace(
            '=HYPERLINK(&quot;http://x&quot;)', ""
        )
        assert "<script>" not in html  # applicant text is escaped


def test_html_content(report):
    out, results, files = report
    a = files.pages["APP-A"].read_text(encoding="utf-8")
    for text in ("江苏某某科技有限公司", "91320100MA1XXXXXXX", "通过", "¥12,000.00", "年化投入 ≥ ¥10,000",
                 "阿里云计算有限公司", "计算资源", "存储资源", "SUBDOMAIN_NO_EVIDENCE"):
        assert text in a, text
    dom = parse(a)
    evidence_links = [x.get("href") for t, x, _ in dom.elements if t == "a" and "evidence" in x.get("class", "")]
    by_id = {b["id"]: b for b in boxes(dom)}
    amount_box = next(i for i, b in by_id.items() if b["data-kind"] == "field" and "amount_yuan" in b["title"])
    flag_box = next(i for i, b in by_id.items() if b["data-kind"] == "flag")
    assert f"#{amount_box}" in evidence_links and f"#{flag_box}" in evidence_links
    assert all(h[1:] in ids(dom) for h in evidence_links)
    assert 'id="flag-2"' in a
    b = files.pages["APP-B<2>"].read_text(encoding="utf-8")
    assert "不通过" in b and "文件已加密" in b and "APP-C:发票/x.pdf" in b
    assert not boxes(parse(b))  # evidence on a file not in this application is listed, not drawn


def test_page_image_failure_gives_placeholder_with_boxes(tmp_path):
    def broken(app: str, file: str, page: int) -> bytes | None:
        if page == 1:
            raise OSError("store down")
        return b"not an image"

    files = write_report([passing_result()], tmp_path, broken)
    html = files.pages["APP-A"].read_text(encoding="utf-8")
    dom = parse(html)
    assert len(boxes(dom)) == 5
    assert 'class="placeholder"' in html and "data:image" not in html
    # A4 portrait placeholder keeps the page's shape from page_info
    assert "padding-top:141.513%" in html


def test_duplicate_page_names_refused(tmp_path):
    r1 = passing_result().model_copy(update={"application_id": "A/1"})
    r2 = passing_result().model_copy(update={"application_id": "A:1"})
    with pytest.raises(ValueError):
        write_report([r1, r2], tmp_path, blank_page_png)


# --------------------------------------------------------------------------- page images and rotation


MARK = (0.10, 0.20, 0.35, 0.30)  # marker box in the upright page, fractions


def _upright_page(size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size, "white")
    x0, y0, x1, y1 = MARK
    img.paste((0, 0, 0), (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)))
    return img


def _thumb(html: str, anchor: str) -> np.ndarray:
    m = re.search(rf'<figure class="page-wrap" id="{anchor}">.*?base64,([^"]+)"', html, re.S)
    assert m, anchor
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(m.group(1)))).convert("L"), dtype=float)


def _mean(img: np.ndarray, box: tuple[float, float, float, float], inset: float = 0.2) -> float:
    h, w = img.shape
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * inset, (y1 - y0) * inset
    return float(img[int((y0 + dy) * h):int((y1 - dy) * h), int((x0 + dx) * w):int((x1 - dx) * w)].mean())


def _marker_result(file: str, rotation: int, w: float, h: float, unit: str = "px") -> ScreeningResult:
    doc = DocumentResult(
        file=file, sha256="d" * 64, kind="licence", pages=1, ocr_pages=1,
        field_evidence={"date": Evidence(file=file, page=1, bbox=list(MARK), text="marker")},
        page_info=[PageSummary(number=1, width=w, height=h, unit=unit, source="ocr", confidence=0.9,
                               rotation=rotation)],
    )
    return ScreeningResult(application_id="ROT", screened_at="2026-11-25T10:00:00+08:00", documents=[doc])


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotated_image_boxes_land_on_the_marker(tmp_path, rotation):
    upright = _upright_page((600, 800))
    scanned = upright.rotate(rotation, expand=True)  # PIL turns counter-clockwise: yunshen turns it back
    buf = io.BytesIO()
    scanned.save(buf, format="JPEG", quality=95)
    write(tmp_path / "apps" / "ROT" / "执照.jpg", buf.getvalue())
    files = write_report([_marker_result("执照.jpg", rotation, 600, 800)], tmp_path / "out",
                         folder_page_images(tmp_path / "apps"))
    html = files.pages["ROT"].read_text(encoding="utf-8")
    thumb = _thumb(html, "d1-p1")
    assert thumb.shape[0] > thumb.shape[1]  # upright portrait again
    (box,) = boxes(parse(html))
    drawn = (box["left"] / 100, box["top"] / 100, (box["left"] + box["width"]) / 100, (box["top"] + box["height"]) / 100)
    assert _mean(thumb, drawn) < 40  # the box covers the black marker …
    assert _mean(thumb, (0.6, 0.6, 0.9, 0.9)) > 215  # … and the rest of the page is white


@pytest.mark.parametrize("rotation", [0, 180])
def test_rotated_pdf_scan_boxes_land_on_the_marker(tmp_path, rotation):
    upright = _upright_page((1240, 1754))
    scanned = np.asarray(upright.rotate(rotation, expand=True))
    write(tmp_path / "apps" / "ROT" / "扫描件.pdf", image_pdf([scanned]))
    files = write_report([_marker_result("扫描件.pdf", rotation, 1240, 1754)], tmp_path / "out",
                         folder_page_images(tmp_path / "apps"))
    html = files.pages["ROT"].read_text(encoding="utf-8")
    thumb = _thumb(html, "d1-p1")
    assert _mean(thumb, MARK) < 60
    assert _mean(thumb, (0.6, 0.6, 0.9, 0.9)) > 200


def test_render_page_image_pdf_and_images(tmp_path):
    app = tmp_path / "APP"
    write(app / "a.pdf", text_pdf([["第一页"], ["第二页"]]))
    write(app / "b.png", b"\x89PNG broken")
    png = render_page_image(app, "a.pdf", 2, max_side=500)
    assert png is not None
    img = Image.open(io.BytesIO(png))
    assert max(img.size) == 500 and img.height > img.width  # A4 portrait
    turned = Image.open(io.BytesIO(render_page_image(app, "a.pdf", 1, max_side=500, rotation=90)))
    assert turned.width > turned.height
    assert render_page_image(app, "a.pdf", 3) is None
    assert render_page_image(app, "b.png", 1) is None
    assert render_page_image(app, "missing.pdf", 1) is None
    assert render_page_image(app, "../outside.pdf", 1) is None


# --------------------------------------------------------------------------- a real run


@pytest.mark.slow
def test_report_from_the_screened_samples(tmp_path, sample_readings):
    from pipeline.screen import build_result

    settings, readings = sample_readings
    results = [build_result(reading, settings) for reading in readings.values()]
    files = write_report(results, tmp_path, folder_page_images(SAMPLES))
    wb = openpyxl.load_workbook(files.xlsx)
    assert wb.worksheets[0].max_row == 1 + len(results)
    assert wb.worksheets[1].max_row == 1 + sum(len(r.flags) for r in results)
    for r in results:
        dom = parse(files.pages[r.application_id].read_text(encoding="utf-8"))
        found = boxes(dom)
        expected = (
            sum(1 for d in r.documents for e in d.field_evidence.values() if e.page and e.bbox)
            + sum(len(d.seals) + len(d.subdomains) for d in r.documents)
            + sum(1 for f in r.flags for e in f.evidence
                  if e.page and e.bbox and any(d.file == e.file for d in r.documents))
        )
        assert len(found) == expected, r.application_id
        assert all(b["in_page"] and 0 <= b["left"] <= 100 and 0 <= b["top"] <= 100 for b in found)
        readable = [d for d in r.documents if not d.error and (SAMPLES / r.application_id / d.file).is_file()]
        images = [a for t, a, _ in dom.elements if t == "img"]
        assert len(images) >= sum(min(max(d.pages, 1), 20) for d in readable)
