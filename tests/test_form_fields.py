"""The application form extractor (extractors/form.py): fields, the 附表 ticks, never guessing.

Three kinds of pages:
* hand-made pages (text-layer style: a row's cells as the words of one line; OCR style: one
  line per cell, noisy marks, tilted rows);
* the samples' text-layer forms, read from the PDFs in samples/ (no OCR) and checked against
  their truth.json;
* those same pages turned OCR-like (one line per cell, rows tilted as on a skewed scan or a phone
  photo, confidences < 1, √ read as V / > or lost) and checked against the same truth.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

import pytest

from extractors.facts import ExtractionContext
from extractors.form import (
    extract,
    parse_capital_yuan,
    parse_deployment,
    parse_person,
    parse_proof_page,
    parse_spend_yuan,
    parse_star,
    parse_year_month,
    read_table,
    split_partners,
)
from pipeline.evaluation import score_fields
from pipeline.model import Line, Page, Word

ROOT = Path(__file__).resolve().parents[1]
CTX = ExtractionContext(file="申请表.pdf", kind="application_form")


# --------------------------------------------------------------------------- builders


def _line(text, x0, y0, x1, y1, conf=0.99, words=()):
    return Line(text=text, bbox=[x0, y0, x1, y1], confidence=conf, words=list(words))


def _page(lines, number=1, source="ocr"):
    return Page(number=number, width=1556, height=2200, unit="px", source=source, lines=list(lines))


def _cell(text, x, y, *, conf=0.99, h=0.022, cw=0.0155, slope=0.0):
    """One OCR line for one table cell starting at ``x``, centred on ``y`` (+ row tilt)."""
    w = max(len(text), 1) * cw
    dy = slope * (x + w / 2 - 0.5)
    return _line(text, x, y - h / 2 + dy, min(x + w, 0.99), y + h / 2 + dy, conf)


def _words_line(cells, y, h=0.012, cw=0.0165):
    """A text-layer line: the row's cells as words of one line (what pdfplumber gives)."""
    words = []
    for text, x in cells:
        words.append(Word(text=text, bbox=[x, y, min(x + len(text) * cw, 0.99), y + h], confidence=1.0))
    text = " ".join(t for t, _ in cells)
    return Line(text=text, bbox=[words[0].bbox[0], y, words[-1].bbox[2], y + h], confidence=1.0,
                words=words)


HEADER_45 = [("类", 0.14), ("子类", 0.25), ("域", 0.37), ("子域", 0.44), ("是否上云", 0.71),
             ("证明材料在申报", 0.80)]


def _table_page(rows, *, number=3, slope=0.0, header=HEADER_45, source="ocr", pitch=0.024,
                top=0.15, conf=0.99):
    """An OCR'd 附表 page: ``rows`` = (域, 子域, tick, page) with '' for an empty cell."""
    lines = [_cell(t, x, 0.115, slope=slope) for t, x in header]
    lines.append(_cell("书中的页码", 0.81, 0.14, slope=slope))
    for i, (domain, sub, tick, proof) in enumerate(rows):
        y = top + 0.02 + i * pitch
        if domain:
            lines.append(_cell(domain, 0.35, y, slope=slope))
        if sub:
            lines.append(_cell(sub, 0.44, y, slope=slope, conf=conf))
        if tick:
            lines.append(_cell(tick, 0.725, y, cw=min(0.018, 0.045 / len(tick)), slope=slope, conf=0.6))
        if proof:
            lines.append(_cell(proof, 0.83, y, slope=slope))
    return _page(lines, number=number, source=source)


BASIC_ROWS = [
    ("中文名称", ["江苏澄明精密机械有限公司"]),
    ("单位性质", ["有限责任公司（自然人投资或控股）"]),
    ("统一社会信用代码", ["91320115MAKB4FL77U"]),
    ("法人代表姓名", ["王建国"]),
    ("云服务部署模型", ["公有云"]),
    ("上云合作机构", ["腾讯云计算（北京）有限责任公司、金蝶软件（中国）有限公司、钉钉（中国）信", "息技术有限公司"]),
    ("上云开始时间", ["2024年01月"]),
    ("所处行业", ["通用设备制造业"]),
    ("上云范围及内容简介", ["公司自2024年起推进企业上云，采购阿里云提供的云服务器ECS、对象存储OSS、",
                   "云数据库RDS MySQL版等产品，实现计算资源、存储资源、数据库等业务上云。",
                   "上云后核心业务系统可用性达到99.9%以上，IT运维成本降低约30%。",
                   "管理人员可随时随地查看经营和生产数据。"]),
]


def _basic_page(rows=BASIC_ROWS, *, slope=0.0, number=2, row_h=0.034, line_h=0.0165):
    """An OCR'd 基本情况 page: labels in a column, values right of them (centred if wrapped)."""
    lines = []
    y = 0.14
    for label, values in rows:
        block = max(row_h, len(values) * line_h + 0.012)
        cy = y + block / 2
        lines.append(_cell(label, 0.13, cy, slope=slope))
        first = cy - (len(values) - 1) * line_h / 2
        for k, v in enumerate(values):
            lines.append(_cell(v, 0.28, first + k * line_h, slope=slope, cw=0.0125))
        y += block
    return _page(lines, number=number)


def _ticks(facts):
    return facts.get("ticks") or {}


# --------------------------------------------------------------------------- basic fields


def test_text_layer_row_of_words_gives_each_labelled_value():
    page = _page([
        _words_line([("中文名称", 0.157), ("苏州瑞柯智能装备股份有限公司", 0.283)], 0.15),
        _words_line([("统一社会信用代码", 0.123), ("91320505MA34CK3U05", 0.283), ("注册资金（万元）", 0.54),
                     ("8000", 0.70)], 0.24),
        _words_line([("法人代表姓名", 0.14), ("陈雅琴", 0.283), ("电话", 0.59), ("0512-66153388", 0.70)], 0.27),
        _words_line([("申请评定星级", 0.14), ("五星级", 0.283)], 0.40),
        _words_line([("云服务部署模型", 0.132), ("混合云", 0.283)], 0.43),
        _words_line([("上云开始时间", 0.14), ("2024年03月", 0.283)], 0.506),
        _words_line([("所处行业", 0.157), ("木材加工和木、竹、藤、棕、草制品业", 0.283)], 0.537),
    ], source="text-layer")
    f = extract([page], CTX)
    assert f.get("company") == "苏州瑞柯智能装备股份有限公司"
    assert f.get("uscc") == "91320505MA34CK3U05"
    assert f.get("registered_capital_yuan") == 80_000_000.0
    assert f.get("legal_rep") == "陈雅琴"
    assert f.get("star_sought") == 5
    assert f.get("deployment") == "hybrid"
    assert f.get("start_date") == "2024-03"
    assert f.get("industry") == "木材加工和木、竹、藤、棕、草制品业"
    fv = f.fields["uscc"]
    assert fv.page == 1 and fv.confidence == 1.0 and fv.bbox[0] >= 0.28  # the value's own box


def test_ocr_page_wrapped_partners_and_the_paragraph_below_industry():
    for slope in (0.0, 0.035, -0.03):  # level, and rows tilted as on a skewed scan / a photo
        f = extract([_basic_page(slope=slope)], CTX)
        assert f.get("partners") == ["腾讯云计算（北京）有限责任公司", "金蝶软件（中国）有限公司",
                                     "钉钉（中国）信息技术有限公司"], slope
        # the 简介 paragraph's first line sits nearer 所处行业 than its own label: not the industry
        assert f.get("industry") == "通用设备制造业", slope
        assert f.get("start_date") == "2024-01"
        assert f.get("company") == "江苏澄明精密机械有限公司"
        assert f.get("deployment") == "public"


def test_a_value_ends_at_the_widest_gap_before_the_next_label():
    # the 简介 paragraph's first line is above the midpoint between the two labels (a photo's
    # perspective does this): the cell border is the wide gap after the industry value
    page = _page([
        _cell("上云开始时间", 0.13, 0.45), _cell("2024年01月", 0.28, 0.45),
        _cell("所处行业", 0.13, 0.50), _cell("通用设备制造业", 0.28, 0.50),
        _cell("上云范围及内容简介", 0.11, 0.55),
        _cell("公司自2024年起推进企业上云，采购阿里云提供的云服务器ECS、", 0.28, 0.521, cw=0.012),
        _cell("对象存储OSS、云数据库RDS MySQL版等产品，实现计算资源、", 0.28, 0.537, cw=0.012),
        _cell("存储资源、数据库等业务上云。", 0.28, 0.553, cw=0.012),
        _cell("上云效果说明", 0.13, 0.60), _cell("IT运维成本降低约30%", 0.28, 0.60),
    ])
    f = extract([page], CTX)
    assert f.get("industry") == "通用设备制造业"
    assert f.get("start_date") == "2024-01"


def test_cover_gives_company_date_and_the_3_star_version():
    cover = _page([
        _line("星级上云企业评定申请表", 0.28, 0.26, 0.73, 0.30),
        _line("(适用于三星级)", 0.41, 0.317, 0.60, 0.347),
        _line("申报企业：上海岑川电子科技有限公司（盖章）", 0.18, 0.56, 0.68, 0.60),
        _line("填报日期：2024年9月11日", 0.18, 0.615, 0.475, 0.646),
    ])
    f = extract([cover], CTX)
    assert f.get("company") == "上海岑川电子科技有限公司"
    assert f.get("date") == "2024-09-11"
    assert f.get("star_sought") == 3
    assert f.fields["company"].confidence < 0.99  # only the cover shows it: a little less sure


def test_cover_seal_damage_is_cut_and_the_basic_page_wins_a_disagreement():
    cover = _page([
        _line("申报企业：无锡恒拓液压科技有限公司盖章）", 0.18, 0.56, 0.68, 0.60, conf=0.7),
        _line("广州川电子科校有司", 0.50, 0.50, 0.70, 0.58, conf=0.62),  # seal text
    ])
    basic = _page([_cell("中文名称", 0.15, 0.15), _cell("无锡恒拓液压科技有限公司", 0.29, 0.15)], number=2)
    f = extract([cover, basic], CTX)
    assert f.get("company") == "无锡恒拓液压科技有限公司"
    only_cover = extract([cover], CTX)
    assert only_cover.get("company") == "无锡恒拓液压科技有限公司"  # 盖章 with a lost bracket is cut


def test_template_layout_legal_rep_after_a_name_sub_label():
    page = _page([_cell("法人代表", 0.12, 0.2), _cell("姓名", 0.21, 0.2), _cell("王建国", 0.30, 0.2),
                  _cell("电话", 0.55, 0.2), _cell("025-52761234", 0.65, 0.2)])
    f = extract([page], CTX)
    assert f.get("legal_rep") == "王建国"


def test_legal_rep_falls_back_on_the_signature_line_and_cross_checks_it():
    sig_only = _page([_line("法人代表（签字）：许承志", 0.13, 0.65, 0.35, 0.68)])
    assert extract([sig_only], CTX).get("legal_rep") == "许承志"
    both = _page([_cell("法人代表姓名", 0.12, 0.2), _cell("许承志", 0.28, 0.2),
                  _line("法人代表（签字）：许承志", 0.13, 0.65, 0.35, 0.68)])
    f = extract([both], CTX)
    assert f.get("legal_rep") == "许承志" and f.fields["legal_rep"].confidence == 0.99
    clash = _page([_cell("法人代表姓名", 0.12, 0.2), _cell("许承志", 0.28, 0.2),
                   _line("法人代表（签字）：王建国", 0.13, 0.65, 0.35, 0.68)])
    f = extract([clash], CTX)
    assert f.get("legal_rep") == "许承志" and f.fields["legal_rep"].confidence < 0.7


def test_credit_code_ocr_confusion_repaired_and_a_bad_code_kept_as_printed():
    page = _page([_cell("统一社会信用代码", 0.12, 0.24), _cell("91310115MAMQ0R7LOW", 0.29, 0.24, conf=0.98)])
    f = extract([page], CTX)
    assert f.get("uscc") == "91310115MAMQ0R7L0W"
    assert any("repaired" in n for n in f.notes)
    bad = _page([_cell("统一社会信用代码", 0.12, 0.24), _cell("91321003MANRKC326P", 0.29, 0.24)])
    f = extract([bad], CTX)
    assert f.get("uscc") == "91321003MANRKC326P"  # the form's code as printed: the judge flags it
    assert f.fields["uscc"].confidence < 0.7


def test_registered_capital_units():
    assert parse_capital_yuan("500", "注册资金（万元）") == 5_000_000
    assert parse_capital_yuan("500万元", "注册资金") == 5_000_000
    assert parse_capital_yuan("1,000", "注册资金(万元)") == 10_000_000
    assert parse_capital_yuan("50万", "注册资金（万元）") == 500_000  # the value's own unit wins
    assert parse_capital_yuan("500", "注册资金") is None  # unit not shown: not guessed
    assert parse_capital_yuan("", "注册资金（万元）") is None


def test_deployment_words_and_checkboxes():
    assert parse_deployment("公有云") == ("public", 1.0)
    assert parse_deployment("私有云") == ("private", 1.0)
    assert parse_deployment("混合云") == ("hybrid", 1.0)
    assert parse_deployment("☑私有云 □公有云 □混合云") == ("private", 1.0)
    assert parse_deployment("□公有云 ☑混合云") == ("hybrid", 1.0)
    assert parse_deployment("□公有云 □私有云 □混合云")[0] is None  # nothing ticked
    value, conf = parse_deployment("公有云+私有云")
    assert value == "hybrid" and conf < 1.0
    page = _page([_cell("云服务部署模型", 0.12, 0.4), _cell("指公有云、私有云、混合云等", 0.28, 0.4)])
    assert extract([page], CTX).get("deployment") is None  # the template's hint left as printed


def test_start_date_star_person_and_proof_page_parsers():
    assert parse_year_month("2024年01月") == "2024-01"
    assert parse_year_month("2024年3月1日") == "2024-03"
    assert parse_year_month("2023.11") == "2023-11"
    assert parse_year_month("2024年13月") is None
    assert parse_star("四星级") == 4 and parse_star("五星") == 5 and parse_star("★★★★") == 4
    assert parse_star("4星级") == 4 and parse_star("星级") is None
    assert parse_person("王建国") == "王建国" and parse_person("阿卜杜·热合曼") == "阿卜杜·热合曼"
    assert parse_person("025-52761234") is None
    assert parse_proof_page("21") == 21 and parse_proof_page("P8") == 8
    assert parse_proof_page("第12页") == 12 and parse_proof_page("2l") == 21
    assert parse_proof_page("21-22") == 21 and parse_proof_page("") is None
    assert parse_proof_page("3201150012345") is None  # a seal's code number is no page
    assert parse_proof_page("l") is None  # a look-alike alone is no page


def test_partner_names_split_and_an_ocr_misread_provider_name_repaired():
    assert split_partners("阿里云计算有限公司、天翼云科技有限公司") == ["阿里云计算有限公司", "天翼云科技有限公司"]
    assert split_partners("华为云计算技术有限公司 用友网络科技股份有限公司") == [
        "华为云计算技术有限公司", "用友网络科技股份有限公司"]
    assert split_partners("钉钉（中国）信\n息技术有限公司") == ["钉钉（中国）信息技术有限公司"]
    assert split_partners("阿里云计算有限公司和天翼云科技有限公司") == ["阿里云计算有限公司", "天翼云科技有限公司"]
    assert split_partners("阿里云 天翼云") == ["阿里云", "天翼云"]  # brand names, space-separated
    page = _page([_cell("上云合作机构", 0.13, 0.45), _cell("阿里云计算有限公可；南京博衍软件技术有限公司", 0.28, 0.45)])
    f = extract([page], CTX)
    assert f.get("partners") == ["阿里云计算有限公司", "南京博衍软件技术有限公司"]
    assert f.fields["partners"].confidence < 0.99


def test_date_from_the_signature_block_when_the_cover_has_none():
    page = _page([
        _line("法人代表（签字）：王建国", 0.13, 0.70, 0.35, 0.72),
        _line("申报单位（公章）：", 0.50, 0.70, 0.65, 0.72),
        _line("2024年9月18日", 0.51, 0.74, 0.65, 0.76),
    ])
    assert extract([page], CTX).get("date") == "2024-09-18"
    blank = _page([_line("填  报 日 期：          年        月      日", 0.18, 0.6, 0.6, 0.64)])
    assert extract([blank], CTX).get("date") is None


def test_star_from_the_4_5_form_needs_its_star_field():
    title = _line("（适用于四星级、五星级）", 0.36, 0.317, 0.645, 0.346)
    assert extract([_page([title])], CTX).get("star_sought") is None  # 4 or 5: not shown → not guessed
    page = _page([title, _cell("申请评定星级", 0.13, 0.40, ), _cell("四星级", 0.28, 0.40)])
    assert extract([page], CTX).get("star_sought") == 4


# --------------------------------------------------------------------------- the 附表


ROWS = [
    ("设计", "研发设计应用", "", ""),
    ("", "研发设计案例库", "", ""),
    ("", "研发设计协同", "", ""),
    ("生产", "生产排产管理", "√", "21"),
    ("", "制造执行系统", "", ""),
    ("供应链", "供应链关系管理", "", ""),
    ("", "采购管理", "V", "21"),
    ("", "物流管理", ">", "21"),
    ("", "企业资源规划", "", "21"),  # the √ lost by OCR: the page says it is claimed
    ("销售", "电商系统", "", ""),
]


def test_ocr_ticks_lookalikes_and_a_lost_tick_with_its_page():
    table = read_table([_table_page(ROWS)])
    got = {r.name: (r.claimed, r.page) for r in table.rows}
    assert got == {
        "研发设计应用": (False, None), "研发设计案例库": (False, None), "研发设计协同": (False, None),
        "生产排产管理": (True, 21), "制造执行系统": (False, None), "供应链关系管理": (False, None),
        "采购管理": (True, 21), "物流管理": (True, 21), "企业资源规划": (True, 21), "电商系统": (False, None),
    }
    how = {r.name: (r.how, r.confidence) for r in table.rows}
    assert how["生产排产管理"][0] == "mark"
    assert how["采购管理"][0] == "lookalike"
    assert how["企业资源规划"][0] == "page-only" and how["企业资源规划"][1] <= 0.6  # inferred: less sure


@pytest.mark.parametrize("slope", [0.045, -0.045, 0.03, 0.08, -0.1])
def test_tilted_rows_keep_each_tick_on_its_own_row(slope):
    # at this tilt the tick column is a whole row off: without straightening every tick and page
    # would land on a neighbouring row
    table = read_table([_table_page(ROWS, slope=slope)])
    got = {r.name: (r.claimed, r.page) for r in table.rows}
    assert got["生产排产管理"] == (True, 21) and got["制造执行系统"] == (False, None)
    assert got["采购管理"] == (True, 21) and got["供应链关系管理"] == (False, None)
    assert got["电商系统"] == (False, None)
    assert sum(1 for v in got.values() if v[0]) == 4


def test_marks_that_say_no_or_cannot_be_read_are_not_ticks():
    rows = [
        ("", "计算资源", "否", ""),
        ("", "存储资源", "×", ""),
        ("", "数据库", "/", ""),        # a slash alone on a scan: undecided
        ("", "管理工具", "/", "12"),     # … with a proof page: OCR's √
        ("", "数据安全", "☑是 □否", "13"),
        ("", "业务安全", "□是 ☑否", ""),
        ("", "网络安全", "?", ""),       # unreadable mark: undecided, not a tick
        ("", "工业系统安全", "已上云", "14"),
    ]
    got = {r.name: r.claimed for r in read_table([_table_page(rows)]).rows}
    assert got == {"计算资源": False, "存储资源": False, "数据库": None, "管理工具": True, "数据安全": True,
                   "业务安全": False, "网络安全": None, "工业系统安全": True}


def test_cells_ocr_merged_across_columns_are_cut_at_the_column_borders():
    rows = list(ROWS)
    rows[4] = ("", "", "", "")  # 制造执行系统 and its tick read as one line
    rows[7] = ("", "物流管理", "", "")  # 物流管理's tick and page read as one line
    page = _table_page(rows)
    y4, y7 = 0.17 + 4 * 0.024, 0.17 + 7 * 0.024
    merged = [_line("制造执行系统                    √", 0.44, y4 - 0.011, 0.745, y4 + 0.011),
              _line("V21", 0.72, y7 - 0.011, 0.86, y7 + 0.011)]
    page = page.model_copy(update={"lines": page.lines + merged})
    got = {r.name: (r.claimed, r.page) for r in read_table([page]).rows}
    assert got["制造执行系统"] == (True, None) and got["物流管理"] == (True, 21)
    assert got["采购管理"] == (True, 21) and got["企业资源规划"] == (True, 21)
    assert got["生产排产管理"] == (True, 21) and got["供应链关系管理"] == (False, None)


def test_header_without_its_tick_cell_still_gives_the_columns():
    header = [h for h in HEADER_45 if h[0] != "是否上云"]
    got = {r.name: (r.claimed, r.page) for r in read_table([_table_page(ROWS, header=header)]).rows}
    assert got["采购管理"] == (True, 21) and got["研发设计应用"] == (False, None) and len(got) == 10


def test_text_layer_slash_means_none():
    lines = [_words_line([("子域", 0.44), ("是否上云", 0.71), ("证明材料在申报书中的页码", 0.79)], 0.12)]
    lines.append(_words_line([("数据库", 0.436), ("/", 0.72)], 0.16))
    lines.append(_words_line([("计算资源", 0.436), ("√", 0.72), ("8", 0.84)], 0.184))
    table = read_table([_page(lines, source="text-layer")])
    assert {r.name: (r.claimed, r.page) for r in table.rows} == {"数据库": (False, None), "计算资源": (True, 8)}


def test_garbled_row_name_is_not_read_and_its_tick_not_given_to_a_neighbour():
    # the last row's name is unreadable: nothing bounds it below, so it cannot be placed
    rows = [("", "采购管理", "", ""), ("", "物流管理", "", ""), ("", "企业资源规划", "", ""),
            ("", "电商系统", "", ""), ("", "客户资xx", "√", "21")]
    table = read_table([_table_page(rows)])
    got = {r.name: (r.claimed, r.page) for r in table.rows}
    assert got == {"采购管理": (False, None), "物流管理": (False, None), "企业资源规划": (False, None),
                   "电商系统": (False, None)}


def test_a_row_whose_name_ocr_lost_is_placed_by_the_table_order():
    rows = [(d, s, t, p) for d, s, t, p in ROWS]
    rows[7] = ("", "物流xx", ">", "21")   # 物流管理's name unreadable, its tick and page read
    rows[4] = ("", "", "", "")      # 制造执行系统's whole row lost
    table = read_table([_table_page(rows)])
    got = {r.name: (r.claimed, r.page) for r in table.rows}
    assert got["物流管理"] == (True, 21) and got["制造执行系统"] == (False, None)
    assert got["采购管理"] == (True, 21) and got["企业资源规划"] == (True, 21)  # neighbours unchanged
    placed = {r.name: r for r in table.rows if not r.written}
    assert set(placed) == {"物流管理", "制造执行系统"}
    assert all(r.confidence <= 0.7 for r in placed.values())


def test_a_gap_that_is_not_a_missing_row_is_not_filled():
    # 采购管理 directly after 生产排产管理 (rows deleted by the applicant): one pitch, no invention
    rows = [r for r in ROWS if r[1] not in ("制造执行系统", "供应链关系管理")]
    names = {r.name for r in read_table([_table_page(rows)]).rows}
    assert "制造执行系统" not in names and "供应链关系管理" not in names


def test_a_seal_over_the_table_gives_no_ticks():
    page = _table_page(ROWS)
    seal = [_line("上海岑川电子科技有限公司", 0.62, 0.16, 0.86, 0.26, conf=0.55),  # curved legend
            _line("3101150012345", 0.80, 0.20, 0.88, 0.215, conf=0.6)]            # its code
    page = page.model_copy(update={"lines": page.lines + seal})
    got = {r.name: (r.claimed, r.page) for r in read_table([page]).rows}
    assert got["研发设计应用"] == (False, None) and got["研发设计案例库"] == (False, None)
    assert got["研发设计协同"] == (False, None)


def test_split_domain_cells_do_not_make_rows_and_the_rightmost_name_wins():
    header = [("类", 0.10), ("子类", 0.22), ("域", 0.35), ("子域", 0.43), ("是否上云", 0.69),
              ("证明材料在申报", 0.78)]
    lines = [_cell(t, x, 0.09) for t, x in header]
    # 子类 and 域 cells repeat the name over two lines; the 子域 cell has it whole
    for y, name, tick, proof in ((0.13, "市场交易分析和预测", "V", "26"), (0.17, "产业链协同", "", "")):
        for x in (0.19, 0.31):
            lines.append(_cell(name[:7], x, y - 0.007))
            if len(name) > 7:
                lines.append(_cell(name[7:], x + 0.03, y + 0.007))
        lines.append(_cell(name, 0.427, y))
        if tick:
            lines.append(_cell(tick, 0.70, y, cw=0.018))
            lines.append(_cell(proof, 0.80, y))
    table = read_table([_page(lines, number=5)])
    assert [(r.name, r.claimed, r.page) for r in table.rows] == [
        ("市场交易分析和预测", True, 26), ("产业链协同", False, None)]


def test_table_continues_on_a_page_without_header_and_names_count_once():
    p1 = _table_page(ROWS[:5], number=3)
    cont = [_cell(s, 0.44, 0.10 + i * 0.024) for i, s in enumerate(["物流管理", "电商系统", "客户服务"])]
    cont.append(_cell("√", 0.725, 0.10, cw=0.018))
    cont.append(_cell("9", 0.83, 0.10))
    cont.append(_cell("研发设计应用", 0.44, 0.20))  # listed again
    table = read_table([p1, _page(cont, number=4)])
    names = [r.name for r in table.rows]
    assert names.count("研发设计应用") == 1
    got = {r.name: (r.claimed, r.page) for r in table.rows}
    assert got["物流管理"] == (True, 9) and got["客户服务"] == (False, None)


def test_narrative_page_names_are_not_table_rows():
    page = _basic_page()  # its 简介 names 计算资源, 存储资源, 数据库 in running text
    assert read_table([page]).rows == ()
    assert "ticks" not in extract([page], CTX).fields


def test_spend_row_of_the_3_star_form():
    header = [("子域", 0.44), ("是否上云/年", 0.67), ("化投入", 0.69), ("证明材料在申报", 0.77)]

    def page(value):
        lines = [_cell(t, x, 0.115 if t != "化投入" else 0.135) for t, x in header]
        lines += [_cell("计算资源", 0.44, 0.18), _cell("√", 0.72, 0.18, cw=0.018), _cell("10", 0.83, 0.18),
                  _cell("云灾备", 0.44, 0.204), _cell("年化投入", 0.24, 0.228), _cell("不低于1万元", 0.44, 0.228)]
        if value:
            lines.append(_cell(value, 0.69, 0.228, cw=0.012))
        return _page(lines)

    for value, expected in (("36,000.00元", 36000.0), ("3.6万元", 36000.0), ("39000", 39000.0)):
        f = extract([page(value)], CTX)
        assert f.get("claimed_spend_yuan") == expected, value
        assert f.get("star_sought") == 3  # no title read: the 年化投入 row is 附件1's
        assert _ticks(f)["云灾备"] == {"claimed": False, "page": None}  # the spend is not 云灾备's tick
    assert extract([page("（请写明具体数值）")], CTX).get("claimed_spend_yuan") is None
    assert extract([page("")], CTX).get("claimed_spend_yuan") is None  # 不低于1万元 is not a claim
    assert parse_spend_yuan("3.6", header_wan=True) == 36000.0


def test_a_4_5_star_form_has_no_spend_claim():
    f = extract([_table_page(ROWS)], CTX)
    assert f.get("claimed_spend_yuan") is None and f.get("star_sought") is None
    assert set(_ticks(f)) == {r[1] for r in ROWS}


def test_no_table_no_ticks_and_no_invented_fields():
    f = extract([_page([_line("星级上云企业评定申请表", 0.28, 0.26, 0.73, 0.30)])], CTX)
    assert f.values() == {}


# --------------------------------------------------------------------------- the samples


def _truth_form(app: str) -> dict:
    truth = json.loads((ROOT / "samples" / "truth" / app / "truth.json").read_text(encoding="utf-8"))
    return next(d for d in truth["documents"] if d["kind"] == "application_form")


TEXT_FORMS = [app for app in (f"APP-{i:02d}" for i in range(1, 11))
              if _truth_form(app)["rendering"] == "text-pdf"]


@lru_cache(maxsize=None)
def _text_pages(app: str) -> tuple[Page, ...]:
    from extractors.pdf_text import open_pdf

    doc = _truth_form(app)
    data = (ROOT / "samples" / "applications" / app / doc["file"]).read_bytes()
    pages = []
    with open_pdf(data) as pdf:
        for i in range(len(pdf)):
            layer = pdf.text_layer(i)
            pages.append(Page(number=i + 1, width=layer.width, height=layer.height, unit="pt",
                              source="text-layer", lines=layer.lines))
    return tuple(pages)


def _wrong(app: str, pages) -> list:
    f = extract(list(pages), CTX)
    return [i for i in score_fields(_truth_form(app)["fields"], f.values()) if not i.correct]


@pytest.mark.parametrize("app", TEXT_FORMS)
def test_sample_text_layer_forms_match_their_truth(app):
    assert _wrong(app, _text_pages(app)) == []


def _ocrify(page: Page, rng: random.Random, m0: float, m1: float) -> Page:
    """A text-layer page as OCR would give it: one line per cell, tilted rows, confidences < 1,
    √ read as V / > / v or lost (lost only where the row's page number still shows it)."""
    lines = []
    for line in page.lines:
        has_page = any(w.text.isdigit() for w in line.words)
        for word in line.words:
            x0, y0, x1, y1 = word.bbox
            text = word.text
            if text == "√":
                text = rng.choice(["V", ">", "√", "v"] + ([""] if has_page else []))
                if not text:
                    continue
            cx = (x0 + x1) / 2
            m = m0 + m1 * ((y0 + y1) / 2 - 0.5)
            dy = m * (cx - 0.5)
            grow = abs(m) * (x1 - x0) / 2
            lines.append(_line(text, x0, max(y0 + dy - grow, 0), x1, min(y1 + dy + grow, 1),
                               conf=round(rng.uniform(0.8, 1.0), 3)))
    return _page(lines, number=page.number)


@pytest.mark.parametrize("app,m0,m1", [
    ("APP-03", 0.0, 0.0), ("APP-07", 0.03, 0.0), ("APP-09", -0.035, 0.02),
    ("APP-01", 0.025, 0.04), ("APP-10", -0.02, -0.03), ("APP-04", 0.04, 0.0), ("APP-06", 0.08, -0.03),
])
def test_sample_forms_read_like_a_scan_or_a_photo_still_match(app, m0, m1):
    rng = random.Random(f"{app}{m0}{m1}")
    pages = [_ocrify(p, rng, m0, m1) for p in _text_pages(app)]
    assert _wrong(app, pages) == []
