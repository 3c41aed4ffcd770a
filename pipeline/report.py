"""The bureau's batch report: ``summary.xlsx``, ``summary.csv`` and one offline HTML page per application.

Everything here reads :class:`~pipeline.model.ScreeningResult` objects only; page images come from a
caller-supplied ``page_images(application_id, file, page)`` so the report does not care where the
originals live (local folder, zip, S3). ``summary.xlsx`` has three sheets: one row per application,
every flag, and the contract numbers found in more than one application of the batch (reused
contracts have no result-v1 flag code, so they are reported here and on the pages involved).

Page-image contract: ``page_images`` returns the page *as the file shows it* — an image file with its
EXIF orientation applied, a PDF page as pdfium renders it (its ``/Rotate`` applied). The report then
turns it clockwise by ``documents[].page_info[].rotation`` (the turn yunshen applied before OCR), so
that the evidence boxes, which are in that upright frame, line up. :func:`render_page_image` honours
this contract and is the reference implementation.

Boxes are drawn as absolutely positioned ``<div>``s in percent of the page over the image (no canvas,
no script) so the page works offline, prints, and a browser test can find each box by DOM position.
"""

from __future__ import annotations

import base64
import csv
import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.model import CHECKLIST_GROUPS, DocumentResult, Evidence, ScreeningResult

if TYPE_CHECKING:
    from pipeline.crosscheck import ReusedContract

log = logging.getLogger(__name__)

PageImages = Callable[[str, str, int], "bytes | None"]
"""``page_images(application_id, file, page) -> PNG/JPEG bytes | None`` (page counts from 1)."""

TEMPLATES = Path(__file__).with_name("templates")
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
SEVERITY_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
KIND_ZH = {
    "licence": "营业执照",
    "contract": "合同/订单",
    "invoice": "发票",
    "screenshot": "使用截图",
    "explanation": "情况说明",
    "application_form": "申请表",
    "private_cloud_doc": "私有云材料",
    "other": "其他",
}
FIELD_ZH = {
    "amount_yuan": "金额（小写）",
    "amount_uppercase_yuan": "金额（大写）",
    "date": "日期",
    "period_start": "服务起始",
    "period_end": "服务截止",
    "period_months": "服务月数",
    "buyer": "购买方",
    "buyer_tax_id": "购买方税号",
    "seller": "销售方",
    "seller_tax_id": "销售方税号",
    "invoice_number": "发票号码",
    "provider": "服务商",
    "cloud_keywords_present": "含云服务字样",
}
PARTY_ZH = {"applicant": "申报企业", "provider": "服务商", "seller": "销售方", "buyer": "购买方", "unknown": "未知"}
DEPLOYMENT_ZH = {"public": "公有云", "private": "私有云", "hybrid": "混合云"}

THUMB_MAX_SIDE = 1000
"""Longer side, in pixels, of the page images embedded in the HTML."""
THUMB_JPEG_QUALITY = 78
MAX_PAGES_SHOWN = 20
"""Per document, the first pages shown; pages carrying evidence boxes are always shown."""


# ============================================================================ page images


def _upright(img: Any, rotation: int) -> Any:
    """Turn a PIL image clockwise by 0/90/180/270 degrees (PIL's ROTATE_* are counter-clockwise)."""
    from PIL import Image

    turn = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
    op = turn.get(int(rotation) % 360)
    return img.transpose(op) if op is not None else img


def _encode(img: Any, fmt: str = "PNG", quality: int = THUMB_JPEG_QUALITY) -> bytes:
    """Encode quickly: PNG here is only an interchange format (zlib level 1, no optimise pass,
    which cost ~0.6 s a page), JPEG is what the HTML embeds."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(buf, format="JPEG", quality=quality)
    else:
        img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def render_page_image(
    app_dir: Path, file: str, page: int, max_side: int = THUMB_MAX_SIDE, rotation: int = 0
) -> bytes | None:
    """A PNG of page ``page`` (from 1) of ``app_dir/file``, longer side at most ``max_side`` pixels.

    ``rotation`` turns the result clockwise; leave it 0 when the image feeds :func:`write_report`,
    which applies ``page_info`` rotations itself. Returns ``None`` for a missing file, a path outside
    ``app_dir``, or whatever :func:`render_page_bytes` refuses; never raises for bad input.
    """
    path = (Path(app_dir) / file).resolve()
    try:
        if not path.is_relative_to(Path(app_dir).resolve()) or not path.is_file() or page < 1:
            return None
        data = path.read_bytes()
    except OSError as exc:
        log.info("no image for %s page %d: %s", file, page, type(exc).__name__)
        return None
    return render_page_bytes(data, file, page, max_side, rotation)


def render_page_bytes(
    data: bytes, name: str, page: int, max_side: int = THUMB_MAX_SIDE, rotation: int = 0
) -> bytes | None:
    """A PNG of page ``page`` (from 1) of a file's bytes (``name`` only hints PDF by its suffix).

    The bytes may come from a folder, a zip member or a store. PDFs are rendered with pypdfium2,
    images read with Pillow (EXIF orientation applied, frame ``page`` of a multi-page TIFF).
    Returns ``None`` for unreadable or encrypted bytes or a page that does not exist; never raises.
    """
    from PIL import Image, ImageOps

    try:
        if page < 1 or not data:
            return None
        if data[:5] == b"%PDF-" or str(name).lower().endswith(".pdf"):
            img = _render_pdf_page(data, page, max_side)
        else:
            with Image.open(io.BytesIO(data)) as src:
                frames = getattr(src, "n_frames", 1) or 1
                if page > frames:
                    return None
                src.seek(page - 1)
                img = ImageOps.exif_transpose(src.copy()) or src.copy()
            if img.mode not in ("RGB", "L"):
                background = Image.new("RGBA", img.size, (255, 255, 255, 255))
                img = Image.alpha_composite(background, img.convert("RGBA")).convert("RGB")
            img.thumbnail((max_side, max_side))
        if img is None:
            return None
        return _encode(_upright(img, rotation))
    except Exception as exc:  # noqa: BLE001 - a bad original must not stop the report
        log.info("no image for %s page %d: %s", name, page, type(exc).__name__)
        return None


def _render_pdf_page(data: bytes, page: int, max_side: int) -> Any:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        if page > len(pdf):
            return None
        pg = pdf[page - 1]
        w, h = pg.get_size()
        scale = max_side / max(w, h, 1.0)
        bitmap = pg.render(scale=scale, fill_color=(255, 255, 255, 255))
        return bitmap.to_pil().convert("RGB")
    finally:
        pdf.close()


def folder_page_images(root: Path) -> PageImages:
    """``page_images`` over a folder of application folders (``root/<application_id>/<file>``)."""
    return lambda app_id, file, page: render_page_image(Path(root) / app_id, file, page)


def _thumbnail(raw: bytes | None, rotation: int) -> tuple[str, float] | None:
    """(data URI, height/width) of an upright, downscaled JPEG of ``raw``; ``None`` if undecodable."""
    if not raw:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as src:
            img = src.convert("RGB")
        img = _upright(img, rotation)
        img.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE))
        uri = "data:image/jpeg;base64," + base64.b64encode(_encode(img, "JPEG")).decode("ascii")
        return uri, img.height / img.width
    except Exception as exc:  # noqa: BLE001 - an undecodable image becomes a placeholder
        log.info("page image not decodable: %s", type(exc).__name__)
        return None


# ============================================================================ summary rows


@dataclass(frozen=True)
class SummaryRow:
    """One application in ``summary.xlsx`` sheet 1 and ``summary.csv``."""

    application_id: str
    company: str | None
    uscc: str | None
    star_sought: int | None
    verdict: str
    highest_star: int | None
    spend_all: float | None
    spend_accepted: float | None
    errors: int
    warnings: int
    infos: int
    page: str
    """Path of the HTML page, relative to the output folder."""


SUMMARY_COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    # (header, SummaryRow attribute, Excel number format)
    ("申请编号 (Application ID)", "application_id", None),
    ("企业名称 (Company)", "company", None),
    ("统一社会信用代码 (Credit code)", "uscc", None),
    ("申报星级 (Star sought)", "star_sought", "0"),
    ("预审结论 (Verdict)", "verdict", None),
    ("最高可达星级 (Highest star supported)", "highest_star", "0"),
    ("年化投入·全部 (Annualised spend, all, ¥)", "spend_all", "#,##0.00"),
    ("年化投入·认可 (Annualised spend, accepted, ¥)", "spend_accepted", "#,##0.00"),
    ("错误 (Errors)", "errors", "0"),
    ("警告 (Warnings)", "warnings", "0"),
    ("提示 (Info)", "infos", "0"),
    ("详情页 (Detail page)", "page", None),
)
REUSED_CONTRACT_COLUMNS: tuple[str, ...] = (
    "合同编号 (Contract number)",
    "申请编号 A (Application A)",
    "文件 A (File A)",
    "申请编号 B (Application B)",
    "文件 B (File B)",
)
"""Sheet 3: the same contract number in two applications (no result-v1 flag code fits)."""
FLAG_COLUMNS: tuple[str, ...] = (
    "申请编号 (Application ID)",
    "代码 (Code)",
    "级别 (Severity)",
    "说明 (Message)",
    "文件 (Files)",
    "对象 (Subject)",
)


def verdict_text(meets: bool | None) -> str:
    """通过 / 不通过, or 未判定 when the judgement could not be made (no star sought read)."""
    return {True: "通过", False: "不通过"}.get(meets, "未判定")  # type: ignore[arg-type]


def page_name(application_id: str) -> str:
    """File name of an application's HTML page: the id with characters illegal on Windows replaced."""
    safe = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", application_id).strip(" .") or "_"
    return f"{safe}.html"


def summary_row(result: ScreeningResult) -> SummaryRow:
    counts = Counter(f.severity for f in result.flags)
    return SummaryRow(
        application_id=result.application_id,
        company=result.applicant.name,
        uscc=result.applicant.uscc,
        star_sought=result.star_sought,
        verdict=verdict_text(result.verdict.meets_star_sought),
        highest_star=result.verdict.highest_star_supported,
        spend_all=result.annualised_spend_yuan,
        spend_accepted=result.annualised_spend_accepted_yuan,
        errors=counts["error"],
        warnings=counts["warning"],
        infos=counts["info"],
        page=f"applications/{page_name(result.application_id)}",
    )


# ============================================================================ spreadsheet + CSV


def _display_width(value: Any) -> int:
    text = "" if value is None else str(value)
    longest = max(text.split("\n"), key=len) if text else ""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in longest)


def _set(cell: Any, value: Any) -> None:
    """Write a value; text is never taken as a formula (a file may be called ``=cmd|…``)."""
    cell.value = value
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"


def _style_sheet(ws: Any, widths: Sequence[int]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", fgColor="DDE6F0")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[1].height = 36
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 70)
    ws.auto_filter.ref = ws.dimensions


def write_xlsx(
    results: Sequence[ScreeningResult], path: Path, reused_contracts: Sequence[ReusedContract] = ()
) -> None:
    """``summary.xlsx``: sheet 1 one row per application, sheet 2 every flag, sheet 3 the contract
    numbers found in more than one application of the batch (header only when there are none)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "申请汇总"
    widths = [min(_display_width(h), 24) for h, _, _ in SUMMARY_COLUMNS]
    ws.append([h for h, _, _ in SUMMARY_COLUMNS])
    fills = {"通过": PatternFill("solid", fgColor="D8F0D8"), "不通过": PatternFill("solid", fgColor="F8D8D8")}
    for r, result in enumerate(results, start=2):
        row = summary_row(result)
        for c, (_, attr, fmt) in enumerate(SUMMARY_COLUMNS, start=1):
            value = getattr(row, attr)
            cell = ws.cell(row=r, column=c)
            if attr == "page":
                _set(cell, "打开 (open)")
                cell.hyperlink = value
                cell.style = "Hyperlink"
            else:
                _set(cell, value)
            if fmt:
                cell.number_format = fmt
            if attr == "verdict" and value in fills:
                cell.fill = fills[value]
            widths[c - 1] = max(widths[c - 1], _display_width(cell.value) + (2 if fmt else 0))
    ws.freeze_panes = "B2"
    _style_sheet(ws, widths)

    fs = wb.create_sheet("问题清单")
    fs.append(list(FLAG_COLUMNS))
    widths = [min(_display_width(h), 16) for h in FLAG_COLUMNS]
    sev_font = {"error": Font(color="B00020", bold=True), "warning": Font(color="9A6700")}
    r = 1
    for result in results:
        link = f"applications/{page_name(result.application_id)}"
        for i, flag in enumerate(result.flags):
            r += 1
            values = [
                result.application_id,
                flag.code,
                f"{SEVERITY_ZH[flag.severity]} ({flag.severity})",
                flag.message,
                "\n".join(flag.files),
                flag.subject,
            ]
            for c, value in enumerate(values, start=1):
                cell = fs.cell(row=r, column=c)
                _set(cell, value)
                widths[c - 1] = max(widths[c - 1], _display_width(value))
            fs.cell(row=r, column=1).hyperlink = f"{link}#flag-{i + 1}"
            fs.cell(row=r, column=1).style = "Hyperlink"
            if flag.severity in sev_font:
                fs.cell(row=r, column=3).font = sev_font[flag.severity]
            fs.cell(row=r, column=4).alignment = Alignment(wrap_text=True, vertical="top")
            fs.cell(row=r, column=5).alignment = Alignment(wrap_text=True, vertical="top")
    widths[3] = min(widths[3], 60)
    fs.freeze_panes = "A2"
    _style_sheet(fs, widths)

    cs = wb.create_sheet("重复合同")
    cs.append(list(REUSED_CONTRACT_COLUMNS))
    widths = [min(_display_width(h), 16) for h in REUSED_CONTRACT_COLUMNS]
    known = {r.application_id for r in results}
    for r, rc in enumerate(reused_contracts, start=2):
        values = [rc.number, rc.a.app, rc.a.file, rc.b.app, rc.b.file]
        for c, value in enumerate(values, start=1):
            _set(cs.cell(row=r, column=c), value)
            widths[c - 1] = max(widths[c - 1], _display_width(value))
        for c, app_id in ((2, rc.a.app), (4, rc.b.app)):
            if app_id in known:
                cs.cell(row=r, column=c).hyperlink = f"applications/{page_name(app_id)}#reused-contracts"
                cs.cell(row=r, column=c).style = "Hyperlink"
    cs.freeze_panes = "A2"
    _style_sheet(cs, widths)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formula injection in CSV text cells (OWASP: prefix with an apostrophe)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def write_csv(results: Sequence[ScreeningResult], path: Path) -> None:
    """``summary.csv``: the sheet-1 rows, UTF-8 with BOM so Excel shows the Chinese correctly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([h for h, _, _ in SUMMARY_COLUMNS])
        for result in results:
            row = summary_row(result)
            writer.writerow([_csv_safe(getattr(row, attr)) for _, attr, _ in SUMMARY_COLUMNS])


# ============================================================================ HTML view model


@dataclass(frozen=True)
class Box:
    """One evidence box on a page, in percent of the page (origin top-left)."""

    id: str
    kind: str
    """``field`` | ``seal`` | ``subdomain`` | ``flag``: also the CSS class that colours it."""
    title: str
    left: float
    top: float
    width: float
    height: float


@dataclass
class PageView:
    anchor: str
    number: int
    image: str | None
    """``data:`` URI of the upright page, or ``None`` (a grey placeholder of the page's shape)."""
    ratio: float
    """height / width of the page, for the placeholder and the padding trick."""
    note: str | None
    boxes: list[Box] = field(default_factory=list)


@dataclass
class DocView:
    anchor: str
    doc: DocumentResult
    kind_zh: str
    fields: list[tuple[str, str, str | None]]
    """(label, value, anchor of its evidence box or page)."""
    pages: list[PageView]
    hidden_pages: int


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _pct(v: float) -> float:
    return round(min(max(float(v), 0.0), 1.0) * 100.0, 3)


def _box(box_id: str, kind: str, title: str, bbox: Sequence[float]) -> Box:
    x0, y0, x1, y1 = (float(v) for v in bbox)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    left, top = _pct(x0), _pct(y0)
    return Box(box_id, kind, title, left, top, round(_pct(x1) - left, 3), round(_pct(y1) - top, 3))


class _Anchors:
    """Index of documents/pages/boxes by (file, page) so flags and fields link to their evidence."""

    def __init__(self, documents: Sequence[DocumentResult]) -> None:
        self.doc_index = {d.file: i for i, d in enumerate(documents)}
        self.boxes: dict[tuple[int, int], list[Box]] = {}

    def doc(self, file: str) -> str | None:
        i = self.doc_index.get(file)
        return None if i is None else f"d{i + 1}"

    def page(self, file: str, page: int | None) -> str | None:
        anchor = self.doc(file)
        if anchor is None or page is None:
            return anchor
        return f"{anchor}-p{page}"

    def add(self, file: str, page: int | None, bbox: Sequence[float] | None, kind: str, title: str) -> str | None:
        """Register a box; returns the anchor to link to (the box, else its page, else its document)."""
        i = self.doc_index.get(file)
        if i is None or page is None or bbox is None:
            return self.page(file, page)
        boxes = self.boxes.setdefault((i, page), [])
        box = _box(f"d{i + 1}-p{page}-b{len(boxes) + 1}", kind, title, bbox)
        boxes.append(box)
        return box.id


def _evidence_title(prefix: str, ev: Evidence) -> str:
    parts = [prefix]
    if ev.text:
        parts.append(f"“{ev.text}”")
    if ev.confidence is not None:
        parts.append(f"(置信度 {ev.confidence:.2f})")
    return " ".join(parts)


def _pages_to_show(doc: DocumentResult, with_boxes: Iterable[int]) -> tuple[list[int], int]:
    total = max(doc.pages, len(doc.page_info))
    boxed = {p for p in with_boxes if p >= 1}
    shown = sorted(set(range(1, min(total, MAX_PAGES_SHOWN) + 1)) | boxed)
    return shown, max(0, total - len([p for p in shown if p <= total]))


def _application_view(
    result: ScreeningResult, page_images: PageImages, reused_contracts: Sequence[ReusedContract] = ()
) -> dict[str, Any]:
    docs = result.documents
    anchors = _Anchors(docs)

    flag_views = []
    for n, flag in enumerate(result.flags, start=1):
        links = []
        for ev in flag.evidence:
            title = f"问题 {flag.code}: {flag.message}"
            target = anchors.add(ev.file, ev.page, ev.bbox, "flag", _evidence_title(title, ev))
            label = ev.file + (f" 第{ev.page}页" if ev.page else "")
            links.append((label, target))
        for f in flag.files:
            if not any(ev.file == f for ev in flag.evidence):
                links.append((f, anchors.doc(f)))
        flag_views.append({"n": n, "flag": flag, "severity_zh": SEVERITY_ZH[flag.severity], "links": links})

    doc_views: list[DocView] = []
    for i, doc in enumerate(docs, start=1):
        field_rows: list[tuple[str, str, str | None]] = []
        values = doc.fields.model_dump(exclude_none=True)
        for key in dict.fromkeys([*values, *doc.field_evidence]):
            ev = doc.field_evidence.get(key)
            label = FIELD_ZH.get(key, key)
            value = values.get(key, ev.text if ev else None)
            target = None
            if ev is not None:
                title = _evidence_title(f"字段 {label} ({key}) = {_fmt(value)}", ev)
                target = anchors.add(ev.file or doc.file, ev.page, ev.bbox, "field", title)
            field_rows.append((f"{label} ({key})", _fmt(value), target))
        for seal in doc.seals:
            title = f"印章 seal: {seal.text or '（未识别文字）'} — {PARTY_ZH.get(seal.party, seal.party)} ({seal.party})"
            anchors.add(doc.file, seal.page, seal.bbox, "seal", title)
        for hit in doc.subdomains:
            title = f"子领域 {hit.name}（{hit.group}）← “{hit.term}” 得分 {hit.score:.2f}"
            anchors.add(doc.file, hit.page, hit.bbox, "subdomain", title)

        info = {p.number: p for p in doc.page_info}
        shown, hidden = _pages_to_show(doc, [p for (d, p) in anchors.boxes if d == i - 1])
        pages = []
        for number in shown if not doc.error or doc.page_info else []:
            pi = info.get(number)
            rotation = pi.rotation if pi else 0
            try:
                raw = page_images(result.application_id, doc.file, number)
            except Exception as exc:  # noqa: BLE001 - a failing image source must not stop the report
                log.warning("page_images failed for %s %s p%d: %s", result.application_id, doc.file, number, exc)
                raw = None
            thumb = _thumbnail(raw, rotation)
            ratio = thumb[1] if thumb else (pi.height / pi.width if pi else 1.4142)
            note = None if thumb else "无法显示页面图像 (page image unavailable)"
            pages.append(PageView(f"d{i}-p{number}", number, thumb[0] if thumb else None, ratio, note,
                                  anchors.boxes.get((i - 1, number), [])))
        doc_views.append(DocView(f"d{i}", doc, KIND_ZH.get(doc.kind, doc.kind), field_rows, pages, hidden))

    rules = result.verdict.model_extra.get("rules") if result.verdict.model_extra else None
    claimed = set(result.claimed.subdomains)
    groups = [
        (g, result.subdomains_evidenced.get(g, []))
        for g in [*CHECKLIST_GROUPS, *[k for k in result.subdomains_evidenced if k not in CHECKLIST_GROUPS]]
    ]
    evidenced = {s for _, names in groups for s in names}
    return {
        "r": result,
        "verdict": verdict_text(result.verdict.meets_star_sought),
        "blocked": (result.verdict.model_extra or {}).get("blocked"),
        "rules": rules if isinstance(rules, list) else None,
        "deployment": DEPLOYMENT_ZH.get(result.deployment or "", None),
        "groups": groups,
        "claimed_missing": sorted(claimed - evidenced),
        "flags": flag_views,
        "counts": Counter(f.severity for f in result.flags),
        "docs": doc_views,
        "fmt": _fmt,
        "boxes_total": sum(len(b) for b in anchors.boxes.values()),
        "reused_contracts": _reused_for(result.application_id, reused_contracts, anchors),
    }


def _reused_for(
    application_id: str, reused: Sequence[ReusedContract], anchors: _Anchors
) -> list[dict[str, Any]]:
    """This application's side of each reused-contract pair: its file, the other application's."""
    out = []
    for rc in reused:
        for me, other in ((rc.a, rc.b), (rc.b, rc.a)):
            if me.app == application_id:
                out.append({"number": rc.number, "file": me.file, "target": anchors.doc(me.file),
                            "other_app": other.app, "other_file": other.file,
                            "other_page": page_name(other.app)})
    return out


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: "—" if v is None else f"¥{v:,.2f}"
    return env


def render_application_html(
    result: ScreeningResult, page_images: PageImages, reused_contracts: Sequence[ReusedContract] = ()
) -> str:
    """The self-contained HTML page of one application (inline CSS, page images as data URIs)."""
    view = _application_view(result, page_images, reused_contracts)
    return _environment().get_template("application.html.j2").render(**view)


# ============================================================================ entry point


@dataclass(frozen=True)
class ReportFiles:
    xlsx: Path
    csv: Path
    pages: dict[str, Path]
    """Application id → its HTML page."""


def write_report(
    results: list[ScreeningResult],
    out_dir: Path,
    page_images: PageImages,
    reused_contracts: Sequence[ReusedContract] = (),
) -> ReportFiles:
    """Write ``summary.xlsx``, ``summary.csv`` and ``applications/<id>.html`` into ``out_dir``.

    ``reused_contracts`` (from :func:`pipeline.crosscheck.cross_check_report`) go to the
    workbook's third sheet and to the pages of the applications involved.

    Rows follow the order of ``results``. ``page_images`` is called once per page shown; it may
    return ``None`` (or raise) for a page it cannot supply: that page is drawn as a placeholder of
    the page's shape, with its boxes still in place.
    """
    out_dir = Path(out_dir)
    pages_dir = out_dir / "applications"
    pages_dir.mkdir(parents=True, exist_ok=True)
    names = [page_name(r.application_id) for r in results]
    clashes = [n for n, c in Counter(names).items() if c > 1]
    if clashes:
        raise ValueError(f"application ids map to the same page file: {clashes}")
    pages: dict[str, Path] = {}
    for result, name in zip(results, names):
        path = pages_dir / name
        path.write_text(render_application_html(result, page_images, reused_contracts), encoding="utf-8")
        pages[result.application_id] = path
    files = ReportFiles(xlsx=out_dir / "summary.xlsx", csv=out_dir / "summary.csv", pages=pages)
    write_xlsx(results, files.xlsx, reused_contracts)
    write_csv(results, files.csv)
    return files
