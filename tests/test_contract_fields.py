"""extractors/contract.py: contract and order-form fields on hand-made and truth-text pages.

Pages are built here, never read from a cache: the samples' truth ``page_text`` stacked top to
bottom (a text layer without table geometry), and small hand-made pages laid out like a text
layer (rows as lines of words) or an OCR'd scan (cells as separate, tilted lines).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from extractors.contract import extract, read_table
from extractors.facts import ExtractionContext
from extractors.uscc import check_char
from pipeline.evaluation import equal
from pipeline.model import Line, Page, Word

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "samples" / "truth"
CTX = ExtractionContext(file="合同.pdf", kind="contract")

# --------------------------------------------------------------------------- page builders


def _units(text: str) -> float:
    return sum(0.5 if unicodedata.east_asian_width(ch) in "NaH" else 1.0 for ch in text)


def ln(text: str, x0: float, y0: float, *, x1: float | None = None, h: float = 0.014,
       conf: float = 1.0, words: list[Word] | None = None) -> Line:
    x1 = x1 if x1 is not None else min(0.98, x0 + 0.0175 * _units(text))
    return Line(text=text, bbox=[x0, y0, x1, y0 + h], confidence=conf, words=words or [])


def words_line(cells: list[tuple[str, float]], y0: float, h: float = 0.012) -> Line:
    """A text-layer row: one line whose words carry their own boxes (as pdfplumber gives them)."""
    words = []
    for text, x0 in cells:
        for k, part in enumerate(text.split(" ")):
            wx0 = x0 + 0.0175 * _units(" ".join(text.split(" ")[:k])) + (0.005 if k else 0)
            words.append(Word(text=part, bbox=[wx0, y0, wx0 + 0.0175 * _units(part), y0 + h], confidence=1.0))
    return Line(text=" ".join(w.text for w in words), bbox=[words[0].bbox[0], y0, words[-1].bbox[2], y0 + h],
                confidence=1.0, words=words)


def page(lines: list[Line], *, source: str = "ocr", number: int = 1) -> Page:
    conf = min((x.confidence for x in lines), default=1.0)
    return Page(number=number, width=1000, height=1414, unit="px" if source == "ocr" else "pt",
                source=source, lines=lines, confidence=conf)


def stacked(page_text: list[list[str]]) -> list[Page]:
    """Truth page_text as text-layer pages: lines stacked top to bottom at the left margin,
    widths in proportion to the characters (so full paragraph lines reach the right edge)."""
    pages = []
    for n, texts in enumerate(page_text, 1):
        pitch = min(0.02, 0.9 / max(len(texts), 1))
        lines = [ln(t, 0.1, 0.05 + i * pitch, h=pitch * 0.7, x1=min(0.98, 0.1 + 0.0185 * _units(t)))
                 for i, t in enumerate(texts)]
        pages.append(page(lines, source="text-layer", number=n))
    return pages


def fields(pages: list[Page]) -> dict:
    return extract(pages, CTX).values()


def _code(body17: str) -> str:
    return body17 + check_char(body17)


BUYER_CODE = _code("91320115MA1ABCD2X")
SELLER_CODE = _code("91330106MA27XK0P3")

# --------------------------------------------------------------------------- samples' truth text


def _truth_docs(kind: str):
    for path in sorted(TRUTH.glob("APP-*/truth.json")):
        for doc in json.loads(path.read_text(encoding="utf-8"))["documents"]:
            if doc["kind"] == kind:
                yield pytest.param(doc, id=f"{path.parent.name}:{doc['file']}")


@pytest.mark.parametrize("doc", list(_truth_docs("contract")))
def test_every_printed_field_of_the_sample_contracts(doc):
    """Each sample contract's printed lines, stacked without table geometry: every field but
    the table's comes out exactly, and nothing the truth lacks is invented."""
    got = fields(stacked(doc["page_text"]))
    truth = {k: v for k, v in doc["fields"].items() if v is not None and k != "product_lines"}
    wrong = {k: (v, got.get(k)) for k, v in truth.items() if not equal(v, got.get(k))}
    assert not wrong
    invented = set(got) - set(truth) - {"product_lines"}
    assert not invented


# --------------------------------------------------------------------------- product tables


def _ocr_table(slope: float = 0.0) -> list[Line]:
    """A scanned table: every cell its own OCR line, the page tilted by ``slope`` (dy/dx), a
    product name and a spec wrapped onto a second line, then the total row."""

    def cell(text, x0, yc, conf=0.98):
        y = yc + slope * (x0 - 0.5)
        return ln(text, x0, y - 0.009, h=0.018, conf=conf)

    header = [("序号", 0.10), ("产品名称", 0.16), ("规格配置", 0.37), ("数量", 0.60), ("服务期限", 0.67), ("金额(元)", 0.80)]
    out = [cell(t, x, 0.50) for t, x in header]
    out += [cell("1", 0.12, 0.535), cell("弹性云服务器ECS", 0.16, 0.535), cell("c7.2xlarge.2 8vCPUs", 0.37, 0.535),
            cell("2台", 0.61, 0.535), cell("24个月", 0.68, 0.535), cell("48,000.00", 0.81, 0.535)]
    # row 2: name and spec wrap onto a second line; the single-line cells sit between them
    out += [cell("2", 0.12, 0.575), cell("华为云Stack 对象存储服务", 0.16, 0.566), cell("OBS", 0.16, 0.584),
            cell("财务+供应链+生产制造 40用", 0.37, 0.566), cell("户", 0.37, 0.584),
            cell("1套", 0.61, 0.575), cell("24个月", 0.68, 0.575), cell("12,000.00", 0.81, 0.575)]
    out += [cell("合计（人民币大写）：陆万元整", 0.11, 0.615), cell("60,000.00", 0.80, 0.615)]
    out += [ln("第二条 服务期限", 0.10, 0.66)]
    return out


@pytest.mark.parametrize("slope", [0.0, 0.025, -0.025])
def test_scanned_table_cells_group_into_rows_despite_tilt_and_wraps(slope):
    table = read_table(page(_ocr_table(slope)))
    rows = [r.cells for r in table.rows]
    assert len(rows) == 2  # the 合计 row is not a product
    assert rows[0]["name"] == "弹性云服务器ECS" and rows[0]["quantity"] == "2台"
    assert rows[0]["amount"] == "48,000.00" and rows[0]["index"] == "1"
    assert rows[1]["name"].replace(" ", "") == "华为云Stack对象存储服务OBS"
    assert rows[1]["spec"] == "财务+供应链+生产制造 40用户"
    assert table.total is not None and table.total.value == "60,000.00"


def test_product_lines_from_a_scan_with_total_from_the_table():
    got = fields([page(_ocr_table(0.02))])
    assert got["product_lines"] == [
        {"name": "弹性云服务器ECS", "spec": "c7.2xlarge.2 8vCPUs", "quantity": 2, "amount": 48000.0},
        {"name": "华为云Stack 对象存储服务 OBS", "spec": "财务+供应链+生产制造 40用户", "quantity": 1, "amount": 12000.0},
    ]
    assert got["amount_yuan"] == 60000.0 and got["amount_uppercase_yuan"] == 60000.0
    assert got["amount_uppercase_text"] == "陆万元整"


def test_text_layer_rows_read_by_word_positions():
    """A text layer prints a row as one line; its words' boxes put spaces inside cells right."""
    cols = [0.07, 0.25, 0.52, 0.60, 0.70, 0.85]
    lines = [
        words_line(list(zip(["产品名称", "配置", "地域", "购买时长", "数量", "订单金额（元）"], cols)), 0.36),
        words_line(list(zip(["云服务器CVM", "S5.LARGE8 4核8GB", "南京", "12个月", "3", "27000.00"], cols)), 0.39),
        words_line([("云监控 应用性能监控", 0.07)], 0.415),
        words_line(list(zip(["专业版 20探针", "南京", "12个月", "1", "4800.00"], cols[1:])), 0.423),
        words_line([("APM", 0.07)], 0.431),
        ln("服务期：2024-03-02 至 2025-03-01", 0.07, 0.47),
    ]
    got = fields([page(lines, source="text-layer")])
    assert got["product_lines"] == [
        {"name": "云服务器CVM", "spec": "S5.LARGE8 4核8GB", "quantity": 3, "amount": 27000.0},
        {"name": "云监控 应用性能监控 APM", "spec": "专业版 20探针", "quantity": 1, "amount": 4800.0},
    ]
    assert (got["period_start"], got["period_end"], got["period_months"]) == ("2024-03-02", "2025-03-01", 12)


def test_no_header_no_table():
    lines = [ln("1 云服务器ECS 2台 64,800.00", 0.1, 0.3), ln("2 对象存储OSS 1个 14,400.00", 0.1, 0.33)]
    assert "product_lines" not in fields([page(lines)])


# --------------------------------------------------------------------------- parties


def _agreement(a_label: str, a_name: str, b_label: str, b_name: str, clause: str = "",
               a_code: str = BUYER_CODE, b_code: str = SELLER_CODE) -> list[Page]:
    lines = [
        ln("云服务采购合同", 0.35, 0.05, h=0.025),
        ln("合同编号：ALY-JS-20240108-017", 0.63, 0.10),
        ln(f"{a_label}：{a_name}", 0.1, 0.15),
        ln(f"统一社会信用代码：{a_code}", 0.1, 0.17),
        ln("地址：南京市江宁区将军大道199号", 0.1, 0.19),
        ln(f"{b_label}：{b_name}", 0.1, 0.23),
        ln(f"统一社会信用代码：{b_code}", 0.1, 0.25),
        ln("就甲方向乙方采购云服务事宜，经友好协商，订立本合同。", 0.1, 0.29),
    ]
    if clause:
        lines.append(ln(clause, 0.1, 0.32))
    return [page(lines, source="text-layer")]


def test_buyer_named_by_role_word_even_as_yifang():
    got = fields(_agreement("甲方（服务提供方）", "阿里云计算有限公司", "乙方（用户方）", "江苏澄明精密机械有限公司",
                            a_code=SELLER_CODE, b_code=BUYER_CODE))
    assert got["party_a"] == "阿里云计算有限公司" and got["party_b"] == "江苏澄明精密机械有限公司"
    assert got["buyer"] == "江苏澄明精密机械有限公司" and got["buyer_tax_id"] == BUYER_CODE
    assert got["seller"] == got["provider"] == "阿里云计算有限公司" and got["seller_tax_id"] == SELLER_CODE


def test_buyer_is_the_party_that_pays_when_no_role_word_says():
    got = fields(_agreement("甲方", "南京博衍软件技术有限公司", "乙方", "常州宏顺五金制品有限公司",
                            "乙方应于本合同签订之日起十五个工作日内向甲方支付全部款项。",
                            a_code=SELLER_CODE, b_code=BUYER_CODE))
    assert got["buyer"] == "常州宏顺五金制品有限公司" and got["buyer_tax_id"] == BUYER_CODE
    assert got["seller"] == "南京博衍软件技术有限公司"


def test_buyer_is_the_side_that_is_not_a_known_provider_and_confidence_says_so():
    facts = extract(_agreement("甲方", "华为云计算技术有限公司", "乙方", "无锡恒拓液压科技有限公司"), CTX)
    assert facts.get("buyer") == "无锡恒拓液压科技有限公司"
    assert facts.get("seller") == "华为云计算技术有限公司"
    assert facts.fields["buyer"].confidence < 1.0
    # nothing at all says who buys: 甲方 by convention, surer of nothing
    facts = extract(_agreement("甲方", "常州宏顺五金制品有限公司", "乙方", "南京博衍软件技术有限公司"), CTX)
    assert facts.get("buyer") == "常州宏顺五金制品有限公司"
    assert facts.fields["buyer"].confidence <= 0.7


def test_sentence_about_the_parties_is_not_a_party_header():
    lines = [
        ln("甲方向乙方采购南京数据中心", 0.1, 0.1),
        ln("甲方（采购方）：扬州润禾食品有限公司", 0.1, 0.2),
        ln("乙方（服务方）：华为云计算技术有限公司", 0.1, 0.25),
    ]
    got = fields([page(lines, source="text-layer")])
    assert got["party_a"] == "扬州润禾食品有限公司" and got["buyer"] == "扬州润禾食品有限公司"


def test_ocr_noise_half_width_labels_dashes_and_a_repairable_code():
    bad = BUYER_CODE[:10] + {"0": "O", "1": "I"}.get(BUYER_CODE[10], BUYER_CODE[10]) + BUYER_CODE[11:]
    lines = [
        ln("合 同 编 号:HWC一WX一2024一0317", 0.6, 0.1, conf=0.93),
        ln("甲方(采购方):无锡恒拓液压科技有限公司", 0.1, 0.15, conf=0.97),
        ln(f"统一社会信用代码:{bad}", 0.1, 0.17, conf=0.9),
        ln("乙方(服务方):腾讯云汁算（北京）有限责任公司", 0.1, 0.2, conf=0.95),
    ]
    facts = extract([page(lines)], CTX)
    got = facts.values()
    assert got["contract_number"] == "HWC-WX-2024-0317"
    assert got["buyer"] == "无锡恒拓液压科技有限公司" and got["buyer_tax_id"] == BUYER_CODE
    # one misread character in a known provider's legal name is repaired, with less confidence
    assert got["seller"] == got["provider"] == "腾讯云计算（北京）有限责任公司"
    assert facts.fields["seller"].confidence < 0.95


# --------------------------------------------------------------------------- order forms


def test_console_order_form_read_from_ocr_label_value_cells():
    lines = [
        ln("2024/5/19 09:33 订单详情 - 天翼云控制台", 0.07, 0.02, conf=0.96),
        ln("订单详情", 0.07, 0.12, h=0.022),
        ln("订单号", 0.07, 0.20), ln("CT20240520093311", 0.20, 0.20),
        ln("下单时间", 0.07, 0.23), ln("2024-05-20 09:33:11", 0.20, 0.23),
        ln("账号名称", 0.07, 0.26), ln("常州宏顺五金制品有限公司", 0.20, 0.26),
        ln("服务期：2024-05-21 至 2025-05-20", 0.07, 0.50),
        ln("原价合计：¥5000.00", 0.76, 0.55), ln("优惠金额：¥200.00", 0.80, 0.57),
        ln("实付金额：¥4800.00", 0.71, 0.59),
        ln("云服务提供方：天翼云科技有限公司", 0.07, 0.64),
    ]
    got = fields([page(lines)])
    assert got["order_form"] is True and got["title"] == "订单详情"
    assert got["contract_number"] == "CT20240520093311"
    assert got["date"] == "2024-05-20"  # 下单时间, not the browser's print time
    assert got["buyer"] == "常州宏顺五金制品有限公司"
    assert got["seller"] == got["provider"] == "天翼云科技有限公司"
    assert got["amount_yuan"] == 4800.0
    assert got["period_months"] == 12
    for absent in ("amount_uppercase_yuan", "party_a", "party_b", "buyer_tax_id", "seller_tax_id"):
        assert absent not in got


def test_order_form_without_seller_line_names_the_provider_by_brand():
    lines = [ln("订单详情", 0.07, 0.12, h=0.022), ln("腾讯云 费用中心 / 订单管理", 0.07, 0.05),
             ln("订单号 20240302154311728634", 0.07, 0.2)]
    facts = extract([page(lines)], CTX)
    assert facts.get("provider") == "腾讯云计算（北京）有限责任公司"
    assert facts.fields["provider"].raw == "腾讯云" and facts.fields["provider"].confidence < 0.9
    assert "seller" not in facts.fields


# --------------------------------------------------------------------------- amounts, dates, periods


def test_uppercase_and_lowercase_are_reported_as_printed_even_when_they_disagree():
    lines = [
        ln("合计（人民币大写）：壹万元整", 0.1, 0.3),
        ln("本合同总金额为人民币（¥12,000.00），该金额已包含增值税。", 0.1, 0.35),
    ]
    facts = extract([page(lines, source="text-layer")], CTX)
    assert facts.get("amount_uppercase_yuan") == 10000.0 and facts.get("amount_uppercase_text") == "壹万元整"
    assert facts.get("amount_yuan") == 12000.0
    assert facts.fields["amount_yuan"].confidence < 1.0  # nothing confirms it


def test_signature_block_date_is_the_last_signature():
    lines = [
        ln("甲方（盖章）：", 0.1, 0.3), ln("日期：2024年01月08日", 0.1, 0.4),
        ln("乙方（盖章）：", 0.55, 0.3), ln("日期：2024年01月10日", 0.55, 0.4),
        ln("签订地点：南京市", 0.1, 0.1),
    ]
    assert fields([page(lines, source="text-layer")])["date"] == "2024-01-10"


def test_period_wrapped_over_two_lines_and_a_duration_without_dates():
    lines = [
        ln("本合同服务期限为36个月，自2024年01月10日起至2027年01", 0.1, 0.30, x1=0.9),
        ln("月09日止。服务期限届满前三十日内，双方可协商续约事宜。", 0.1, 0.32),
    ]
    got = fields([page(lines, source="text-layer")])
    assert (got["period_start"], got["period_end"], got["period_months"]) == ("2024-01-10", "2027-01-09", 36)
    got = fields([page([ln("服务期限：12个月", 0.1, 0.3)], source="text-layer")])
    assert got["period_months"] == 12 and "period_start" not in got and "period_end" not in got


def test_what_is_not_printed_stays_absent():
    got = fields([page([ln("技术服务协议", 0.4, 0.05, h=0.025), ln("双方友好协商，达成如下协议。", 0.1, 0.2)],
                       source="text-layer")])
    assert got == {"title": "技术服务协议", "cloud_keywords_present": False}


def test_cloud_wording_is_recorded_with_its_exact_text():
    facts = extract([page([ln("乙方向甲方提供以下云服务器产品", 0.1, 0.2)], source="text-layer")], CTX)
    assert facts.get("cloud_keywords_present") is True
    assert "云服务器" in facts.fields["cloud_keywords_present"].raw


def test_table_column_labels_are_unambiguous():
    from extractors.contract import _data, _header_key

    for col, labels in _data()["table"]["columns"].items():
        for label in labels:
            assert _header_key(label) == col, label


def test_table_running_onto_the_next_page_keeps_its_columns():
    cols = [0.10, 0.16, 0.40, 0.62, 0.80]
    head = ["序号", "产品名称", "规格", "数量", "金额（元）"]
    first = [ln("云服务采购合同", 0.35, 0.05, h=0.025), words_line(list(zip(head, cols)), 0.70)]
    first += [words_line(list(zip([str(i + 1), f"产品{i + 1}号", "标准版", "1套", f"{(i + 1) * 1000}.00"], cols)), 0.80 + 0.04 * i)
              for i in range(3)]
    first.append(ln("第 1 页", 0.47, 0.96))
    second = [words_line(list(zip(["4", "产品4号", "标准版", "2套", "4,000.00"], cols)), 0.06),
              words_line([("合计", 0.10), ("10,000.00", 0.80)], 0.10),
              ln("第二条 服务期限", 0.10, 0.16), ln("6 个工作日内完成部署", 0.10, 0.20)]
    got = fields([page(first, source="text-layer"), page(second, source="text-layer", number=2)])
    assert [p["name"] for p in got["product_lines"]] == ["产品1号", "产品2号", "产品3号", "产品4号"]
    assert got["product_lines"][3] == {"name": "产品4号", "spec": "标准版", "quantity": 2, "amount": 4000.0}
    assert got["amount_yuan"] == 10000.0


def test_a_finished_table_does_not_swallow_the_next_page():
    cols = [0.10, 0.16, 0.62, 0.80]
    first = [words_line(list(zip(["序号", "产品名称", "数量", "金额"], cols)), 0.30),
             words_line(list(zip(["1", "云服务器ECS", "2台", "64,800.00"], cols)), 0.33),
             ln("第二条 服务期限", 0.10, 0.40), ln("本合同服务期限为12个月。", 0.1, 0.43)]
    second = [words_line(list(zip(["2", "附件清单", "3", "12.00"], cols)), 0.06)]
    got = fields([page(first, source="text-layer"), page(second, source="text-layer", number=2)])
    assert [p["name"] for p in got["product_lines"]] == ["云服务器ECS"]


def test_row_with_an_unreadable_amount_is_kept_by_its_index_and_unknown_columns_hold_their_cells():
    cols = [0.10, 0.16, 0.45, 0.62, 0.80]
    lines = [
        words_line(list(zip(["序号", "产品名称", "备注", "数量", "金额"], cols)), 0.30),
        words_line(list(zip(["1", "云服务器ECS", "包年", "2台", "64,800.00"], cols)), 0.33),
        words_line(list(zip(["2", "对象存储OSS", "赠送", "1个", "—"], cols)), 0.36),
        words_line(list(zip(["3", "云数据库RDS", "包年", "1个", "28,8O0.00"], cols)), 0.39),
    ]
    got = fields([page(lines)])
    assert got["product_lines"] == [
        {"name": "云服务器ECS", "quantity": 2, "amount": 64800.0},
        {"name": "对象存储OSS", "quantity": 1},
        {"name": "云数据库RDS", "quantity": 1, "amount": 28800.0},  # O for 0, repaired
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [("9,80O.00", "9,800.00"), ("20Z4/9/10", "2024/9/10"), ("11:l7", "11:17"), ("HWC-WX-2O24-0317", "HWC-WX-2024-0317"),
     ("DD-2024-JS-0456", "DD-2024-JS-0456"), ("YY-SUB-2024-0588", "YY-SUB-2024-0588"), ("S5.LARGE8", "S5.LARGE8"),
     ("91110108MA1B0KKJ67", "91110108MA1B0KKJ67"), ("OSS", "OSS")],
)
def test_repair_digits_touches_only_digit_groups(text, want):
    from extractors.contract import repair_digits

    assert repair_digits(text) == want


def test_cells_ocr_merged_into_one_line_are_split_back_into_their_columns():
    """OCR joins neighbouring cells when the gap is small: 序号 with the name, the spec with
    the quantity, the name with the spec across a wide gap."""

    def cell(text, x0, x1, yc):
        return ln(text, x0, yc - 0.009, x1=x1, h=0.018)

    lines = [cell("序号", 0.10, 0.15, 0.50), cell("产品名称", 0.16, 0.24, 0.50), cell("规格配置", 0.37, 0.45, 0.50),
             cell("数量", 0.60, 0.65, 0.50), cell("金额(元)", 0.80, 0.89, 0.50)]
    lines += [cell("1 弹性云服务器ECS", 0.12, 0.30, 0.535), cell("c7.2xlarge.2 8vCPUs 2台", 0.37, 0.65, 0.535),
              cell("48,000.00", 0.81, 0.89, 0.535)]
    # name and spec in one line: the spec starts where its column does
    lines += [cell("2", 0.12, 0.14, 0.575), cell("对象存储服务OBS 标准存储 2TB", 0.16, 0.48, 0.575),
              cell("1套", 0.61, 0.65, 0.575), cell("12,000.00", 0.81, 0.89, 0.575)]
    lines += [ln("本合同服务期限为24个月。", 0.1, 0.62)]
    got = fields([page(lines)])
    assert got["product_lines"] == [
        {"name": "弹性云服务器ECS", "spec": "c7.2xlarge.2 8vCPUs", "quantity": 2, "amount": 48000.0},
        {"name": "对象存储服务OBS", "spec": "标准存储 2TB", "quantity": 1, "amount": 12000.0},
    ]


def test_failed_cross_checks_lower_confidence():
    lines = [
        ln("本合同服务期限为12个月，自2024年01月10日起至2026年01月09日止。", 0.1, 0.30),
        ln("合计（人民币大写）：壹万元整", 0.1, 0.35),
        ln("本合同总金额为人民币（¥12,000.00）。", 0.1, 0.40),
    ]
    facts = extract([page(lines, source="text-layer")], CTX)
    assert facts.get("period_months") == 24  # what the dates say, as printed …
    assert facts.fields["period_months"].confidence < 1.0  # … but 12个月 disagrees
    assert facts.fields["amount_uppercase_yuan"].confidence < 1.0
    ok = extract([page([ln("本合同服务期限为24个月，自2024年01月10日起至2026年01月09日止。", 0.1, 0.3)],
                       source="text-layer")], CTX)
    assert ok.fields["period_months"].confidence == 1.0
