"""Invoice extractor (extractors/invoice.py) on hand-made invoice pages.

The builder below lays out a 数电 invoice (buyer left / seller right) and an older 增值税 invoice
(buyer block on top, seller block below, vertical 购买方/销售方 labels, 密码区) the way they are
printed. ``text_layer=True`` gives what a PDF text layer gives (a row's cells merged into one
line with word boxes); ``text_layer=False`` gives OCR-like output (one line per cell, no words),
optionally tilted like a photo and with characters misread.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace

import pytest

from extractors.facts import ExtractionContext, extract_facts
from extractors.invoice import extract, read_tax_id
from pipeline.model import Line, Page, Word

CTX = ExtractionContext(file="发票.pdf", kind="invoice")

BUYER = ("江苏澄明精密机械有限公司", "91320115MAKB4FL77U")
ALIYUN = ("阿里云计算有限公司", "91330106MA87NR5C74")


@dataclass(frozen=True)
class Item:
    name: list[str]  # printed name, one string per wrapped line
    spec: str
    amount: str
    rate: str
    tax: str


ITEMS = [
    Item(["*信息技术服务*云服务器ECS"], "ecs.g7.xlarge", "61132.08", "6%", "3667.92"),
    Item(["*信息技术服务*云数据库RDS for", "MySQL"], "mysql.n2", "27169.81", "6%", "1630.19"),
    Item(["*信息技术服务*云监控 应用性能监控", "APM"], "专业版", "13584.91", "6%", "815.09"),
]
EXPECTED_ITEMS = [
    {"name": "*信息技术服务*云服务器ECS", "amount": 61132.08, "tax_rate": "6%", "tax": 3667.92},
    {"name": "*信息技术服务*云数据库RDS for MySQL", "amount": 27169.81, "tax_rate": "6%", "tax": 1630.19},
    {"name": "*信息技术服务*云监控 应用性能监控APM", "amount": 13584.91, "tax_rate": "6%", "tax": 815.09},
]


@dataclass(frozen=True)
class Spec:
    digital: bool = True
    title: str = "电子发票（增值税专用发票）"
    number: str = "24332740524424825633"
    code: str = ""
    date: str = "2024年01月12日"
    check_code: str = ""
    buyer: tuple[str, str] = BUYER
    seller: tuple[str, str] = ALIYUN
    items: list[Item] = field(default_factory=lambda: list(ITEMS))
    total_amount: str = "¥101886.80"
    total_tax: str = "¥6113.20"
    upper: str = "ⓧ壹拾万捌仟元整"
    lower: str = "（小写）¥108000.00"
    remarks: str = "合同编号：ALY-JS-20240108-017"
    swap_party_labels: bool = False


Cell = tuple[str, float, float]  # text, x0, y0 (height fixed)
H = 0.021


def _w(text: str) -> float:
    return 0.0062 * sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cells(s: Spec) -> list[Cell]:
    c: list[Cell] = []
    if s.digital:
        c += [(s.title, 0.32, 0.081), (f"发票号码：{s.number}", 0.741, 0.073), (f"开票日期：{s.date}", 0.741, 0.116)]
        left, right = ("销", "购") if s.swap_party_labels else ("购", "销")
        for i, (a, b) in enumerate(zip(left + ("售方信息" if left == "销" else "买方信息"),
                                       right + ("买方信息" if right == "购" else "售方信息"))):
            c += [(a, 0.049, 0.233 + 0.029 * i), (b, 0.512, 0.233 + 0.029 * i)]
        c += [(f"名称：{s.buyer[0]}", 0.081, 0.276), (f"名称：{s.seller[0]}", 0.544, 0.276),
              (f"统一社会信用代码/纳税人识别号：{s.buyer[1]}", 0.081, 0.305),
              (f"统一社会信用代码/纳税人识别号：{s.seller[1]}", 0.544, 0.305)]
        header_y, name_h = 0.401, "项目名称"
    else:
        c += [(s.title, 0.37, 0.05), (f"发票代码：{s.code}", 0.72, 0.09), (f"发票号码：{s.number}", 0.72, 0.125),
              (f"No {s.number}", 0.72, 0.04), (s.code, 0.05, 0.056), (f"开票日期：{s.date}", 0.72, 0.16)]
        if s.check_code:
            c.append((f"校验码：{s.check_code}", 0.05, 0.14))
        for i, ch in enumerate("购买方"):
            c.append((ch, 0.045, 0.24 + 0.03 * i))
        c += [(f"名称：{s.buyer[0]}", 0.075, 0.222), (f"纳税人识别号：{s.buyer[1]}", 0.075, 0.246),
              ("地址、电话：某市某路1号 0510-85216688", 0.075, 0.27), ("开户行及账号：某银行 1103 0270 0920", 0.075, 0.294)]
        for i, ch in enumerate("密码区"):
            c.append((ch, 0.595, 0.23 + 0.03 * i))
        c += [("0*34626<7<8<53-92>411>+4202", 0.625, 0.212), ("8318<3>8703/24874>04*2+<<<+", 0.625, 0.236)]
        header_y, name_h = 0.343, "货物或应税劳务、服务名称"
    c += [(name_h, 0.044, header_y), ("规格型号", 0.294, header_y), ("单位", 0.435, header_y),
          ("数量", 0.493, header_y), ("单价", 0.595, header_y), ("金额", 0.715, header_y),
          ("税率/征收率" if s.digital else "税率", 0.758, header_y), ("税额", 0.928, header_y)]
    y = header_y + 0.05
    for item in s.items:
        mid = y + (len(item.name) - 1) * 0.0145
        for k, part in enumerate(item.name):
            c.append((part, 0.044, y + 0.029 * k))
        c += [(item.spec, 0.294, y), ("台", 0.442, mid), ("1", 0.513, mid), (item.amount, 0.56, mid),
              (item.amount, 0.681, mid), (item.rate, 0.787, mid), (item.tax, 0.902, mid)]
        y += 0.029 * len(item.name) + 0.035
    c += [("合计", 0.044, y), (s.total_amount, 0.664, y), (s.total_tax, 0.894, y)]
    y += 0.053
    c += [("价税合计（大写）", 0.057, y), (s.upper, 0.201, y), (s.lower, 0.711, y)]
    y += 0.065
    if s.digital:
        c += [("备", 0.049, y), ("注", 0.049, y + 0.028)]
        if s.remarks:
            c.append((s.remarks, 0.081, y + 0.014))
        c.append(("开票人：周婷", 0.065, y + 0.096))
    else:
        for i, ch in enumerate("销售方"):
            c.append((ch, 0.045, y + 0.02 + 0.03 * i))
        c += [(f"名称：{s.seller[0]}", 0.075, y), (f"纳税人识别号：{s.seller[1]}", 0.075, y + 0.024),
              ("地址、电话：某省某区某大道 0851-88285566", 0.075, y + 0.048)]
        c += [("备注", 0.6, y + 0.01)]
        if s.remarks:
            c.append((s.remarks, 0.63, y + 0.012))
        c += [("收款人：刘洋", 0.06, y + 0.12), ("销售方：（章）", 0.68, y + 0.12)]
    return c


def page(s: Spec, *, text_layer: bool, tilt: float = 0.0, misread: dict[str, str] | None = None,
         conf: float = 0.95) -> Page:
    cells = [c for c in _cells(s) if c[0]]  # an empty cell is one not printed / not read
    if text_layer:
        rows: dict[float, list[Cell]] = {}
        for cell in cells:
            rows.setdefault(round(cell[2], 4), []).append(cell)
        lines = []
        for y, row in sorted(rows.items()):
            row.sort(key=lambda c: c[1])
            words = [Word(text=t, bbox=[x, y, min(x + _w(t), 1.0), y + H], confidence=1.0) for t, x, _ in row]
            lines.append(Line(text=" ".join(w.text for w in words),
                              bbox=[words[0].bbox[0], y, words[-1].bbox[2], y + H], confidence=1.0, words=words))
        return Page(number=1, width=612, height=397, unit="pt", source="text-layer", lines=lines)
    lines = []
    for text, x, y in cells:
        for old, new in (misread or {}).items():
            text = text.replace(old, new)
        y2 = y + tilt * (x - 0.5)
        lines.append(Line(text=text, bbox=[x, y2, min(x + _w(text), 1.0), y2 + H], confidence=conf))
    return Page(number=1, width=2000, height=1300, unit="px", source="ocr", lines=lines)


EXPECTED_DIGITAL = {
    "invoice_type": "digital", "invoice_kind": "专用", "invoice_number": "24332740524424825633",
    "date": "2024-01-12", "buyer": BUYER[0], "buyer_tax_id": BUYER[1], "seller": ALIYUN[0],
    "seller_tax_id": ALIYUN[1], "provider": ALIYUN[0], "line_items": EXPECTED_ITEMS,
    "total_amount": 101886.80, "total_tax": 6113.20, "amount_yuan": 108000.0,
    "amount_uppercase_yuan": 108000.0, "amount_uppercase_text": "壹拾万捌仟元整",
    "remarks": "合同编号：ALY-JS-20240108-017", "contract_number": "ALY-JS-20240108-017",
    "cloud_keywords_present": True,
}


@pytest.mark.parametrize(
    ("text_layer", "tilt"), [(True, 0.0), (False, 0.0), (False, 0.04), (False, -0.03)],
    ids=["text-layer", "ocr", "ocr-tilted", "ocr-tilted-other-way"],
)
def test_digital_invoice_every_field(text_layer, tilt):
    got = extract([page(Spec(), text_layer=text_layer, tilt=tilt)], CTX).values()
    assert got == EXPECTED_DIGITAL


LEGACY = Spec(digital=False, title="江苏增值税普通发票", number="72852048", code="320024447877",
              date="2024年05月15日", check_code="59379 02219 66175 51848",
              seller=("南京博衍软件技术有限公司", "91320114MAQ7N00W88"),
              items=[Item(["*软件服务*博衍ERP管理系统"], "年度许可", "6792.45", "6%", "407.55")],
              total_amount="¥6792.45", total_tax="¥407.55", upper="柒仟贰佰元整", lower="(小写)¥7200.00",
              remarks="合同编号：BY-2024-0233")


@pytest.mark.parametrize(("text_layer", "tilt"), [(True, 0.0), (False, 0.0), (False, -0.04)],
                         ids=["text-layer", "ocr", "ocr-tilted"])
def test_legacy_vat_invoice_buyer_on_top_seller_below(text_layer, tilt):
    got = extract([page(LEGACY, text_layer=text_layer, tilt=tilt)], CTX).values()
    assert got == {
        "invoice_type": "vat", "invoice_kind": "普通", "invoice_number": "320024447877-72852048",
        "invoice_code": "320024447877", "check_code": "59379022196617551848", "date": "2024-05-15",
        "buyer": BUYER[0], "buyer_tax_id": BUYER[1], "seller": "南京博衍软件技术有限公司",
        "seller_tax_id": "91320114MAQ7N00W88", "provider": "南京博衍软件技术有限公司",
        "line_items": [{"name": "*软件服务*博衍ERP管理系统", "amount": 6792.45, "tax_rate": "6%", "tax": 407.55}],
        "total_amount": 6792.45, "total_tax": 407.55, "amount_yuan": 7200.0, "amount_uppercase_yuan": 7200.0,
        "amount_uppercase_text": "柒仟贰佰元整", "remarks": "合同编号：BY-2024-0233",
        "contract_number": "BY-2024-0233", "cloud_keywords_present": False,
    }


@pytest.mark.parametrize(
    ("title", "digital", "inv_type", "kind"),
    [("电子发票（普通发票）", True, "digital", "普通"), ("深圳增值税电子普通发票", False, "vat-electronic", "普通"),
     ("贵州增值税专用发票", False, "vat", "专用"), ("贵州增值税专用发栗", False, "vat", "专用")],
)
def test_invoice_type_and_kind_from_the_title(title, digital, inv_type, kind):
    s = replace(LEGACY, title=title) if not digital else replace(Spec(), title=title)
    got = extract([page(s, text_layer=False)], CTX).values()
    assert (got["invoice_type"], got["invoice_kind"]) == (inv_type, kind)


def test_parties_follow_the_labels_not_the_order():
    """Labels swapped (销售方 printed on the left): the left company is then the seller."""
    got = extract([page(Spec(swap_party_labels=True), text_layer=False)], CTX).values()
    assert got["seller"] == BUYER[0] and got["buyer"] == ALIYUN[0]
    assert got["seller_tax_id"] == BUYER[1] and got["buyer_tax_id"] == ALIYUN[1]


def test_ocr_misreads_are_repaired_from_printed_evidence_with_low_confidence():
    misread = {"MA87NR5C74": "MA87N/5C74", "捌仟元整": "捌衡元整", "*信息技术服务*云服务器ECS": "*信息技术服务·云服务器ECS",
               "合同编号": "合用编号"}
    s = replace(Spec(), items=[replace(ITEMS[0], rate="")] + ITEMS[1:])
    facts = extract([page(s, text_layer=False, misread=misread, conf=0.9)], CTX)
    got = facts.values()
    assert got["seller_tax_id"] == ALIYUN[1]  # the unreadable character follows from the check character
    assert facts.fields["seller_tax_id"].confidence < 0.9
    assert got["amount_uppercase_yuan"] == 108000.0 and got["amount_uppercase_text"] == "壹拾万捌仟元整"
    assert facts.fields["amount_uppercase_yuan"].confidence <= 0.5
    assert got["line_items"][0] == EXPECTED_ITEMS[0]  # rate from amount × 6 % = tax, name's * restored
    assert facts.fields["line_items"].confidence <= 0.5
    assert got["remarks"] == "合同编号：ALY-JS-20240108-017" and got["contract_number"] == "ALY-JS-20240108-017"
    assert facts.fields["remarks"].raw.startswith("合用编号")


def test_misread_check_code_label():
    s = replace(LEGACY, check_code="16079 28643 17239 29251")
    got = extract([page(s, text_layer=False, misread={"校验码": "校轴码"})], CTX).values()
    assert got["check_code"] == "16079286431723929251"


def test_nothing_is_invented():
    """No 备注, no contract label, no 校验码, an unreadable 大写 that is not the 小写's: absent."""
    s = replace(Spec(), remarks="")
    got = extract([page(s, text_layer=True)], CTX).values()
    assert "remarks" not in got and "contract_number" not in got and "check_code" not in got
    assert "invoice_code" not in got
    s = replace(Spec(), remarks="YonSuite年度订阅", upper="ⓧ壹拾万伍衡元整")
    got = extract([page(s, text_layer=False)], CTX).values()
    assert got["remarks"] == "YonSuite年度订阅" and "contract_number" not in got
    assert "amount_uppercase_yuan" not in got and "amount_uppercase_text" not in got
    assert extract([Page(number=1, width=1, height=1, unit="px", source="ocr")], CTX).values() == {}


def test_printed_inconsistencies_are_reported_as_printed_with_lower_confidence():
    s = replace(Spec(), upper="ⓧ壹拾万玖仟元整", lower="（小写）¥108500.00")
    facts = extract([page(s, text_layer=True)], CTX)
    assert facts.get("amount_uppercase_yuan") == 109000.0 and facts.get("amount_yuan") == 108500.0
    assert facts.fields["amount_uppercase_yuan"].confidence < 1.0
    assert facts.fields["amount_yuan"].confidence < 1.0  # 合计 + 税额 ≠ 价税合计
    assert facts.fields["total_amount"].confidence == 1.0  # the items do add up


def test_cloud_keywords_are_literal():
    s = replace(Spec(), items=[Item(["*信息技术服务*弹性云主机"], "s7", "1132.08", "6%", "67.92")],
                total_amount="¥1132.08", total_tax="¥67.92", upper="ⓧ壹仟贰佰元整", lower="（小写）¥1200.00")
    assert extract([page(s, text_layer=True)], CTX).get("cloud_keywords_present") is False


def test_known_provider_name_with_one_misread_character():
    s = replace(Spec(), seller=("阿里云计算有限公可", ALIYUN[1]))
    facts = extract([page(s, text_layer=False)], CTX)
    assert facts.get("seller") == ALIYUN[0] and facts.get("provider") == ALIYUN[0]
    assert facts.fields["seller"].raw == "阿里云计算有限公可"


def test_values_carry_their_boxes():
    p = page(Spec(), text_layer=True)
    facts = extract([p], CTX)
    seller = facts.fields["seller"]
    assert seller.page == 1 and seller.bbox[0] > 0.5  # the right-hand 名称 cell
    assert facts.fields["buyer"].bbox[2] < 0.5
    assert facts.fields["invoice_number"].raw == "24332740524424825633"
    assert facts.fields["invoice_number"].bbox[0] >= 0.741


@pytest.mark.parametrize(
    ("read", "expected"),
    [("91330106MA87NR5C74", ("91330106MA87NR5C74", 1.0)),
     ("9133 0106 MA87 NR5C 74", ("91330106MA87NR5C74", 1.0)),
     ("91110102MA5L/3BC5H", ("91110102MA5LJ3BC5H", 0.7)),
     ("9133O106MA87NR5C74", ("91330106MA87NR5C74", 0.8)),
     ("91320412MA6PGWN02J", ("91320412MA6PGWN02J", 0.5)),
     ("320106123456789", ("320106123456789", 1.0)),
     ("9133/106MA87NR5C7/", None),
     ("913301", None)],
)
def test_read_tax_id(read, expected):
    got = read_tax_id(read)
    assert (got[:2] if got else None) == expected


def test_dispatch():
    assert extract_facts("invoice", [page(Spec(), text_layer=True)], CTX).get("buyer") == BUYER[0]


def _ocr_page(*cells: tuple[str, float, float]) -> Page:
    lines = [Line(text=t, bbox=[x, y, min(x + _w(t), 1.0), y + H], confidence=0.9) for t, x, y in cells]
    return Page(number=1, width=2000, height=1300, unit="px", source="ocr", lines=lines)


def test_horizontal_party_headings_and_values_in_their_own_cells():
    """Some layouts print 购买方信息 / 销售方信息 as headings above the blocks, and OCR may
    return a label and its value as two cells of one row."""
    p = _ocr_page(
        ("购买方信息", 0.05, 0.20), ("销售方信息", 0.55, 0.20),
        ("名称：", 0.05, 0.24), (BUYER[0], 0.12, 0.241), ("名称：", 0.55, 0.24), (ALIYUN[0], 0.62, 0.239),
        ("纳税人识别号：", 0.05, 0.27), (BUYER[1], 0.16, 0.27),
        ("纳税人识别号：", 0.55, 0.27), (ALIYUN[1] + " 1", 0.66, 0.27),
        ("开栗日期：2024年01月12日", 0.74, 0.11),
    )
    got = extract([p], CTX).values()
    assert (got["buyer"], got["buyer_tax_id"]) == BUYER
    assert (got["seller"], got["seller_tax_id"]) == ALIYUN
    assert got["date"] == "2024-01-12"


def test_without_party_labels_layout_position_decides():
    p = _ocr_page((f"名称：{ALIYUN[0]}", 0.55, 0.24), (f"名称：{BUYER[0]}", 0.05, 0.24))
    got = extract([p], CTX).values()
    assert got["buyer"] == BUYER[0] and got["seller"] == ALIYUN[0]
    lone = extract([_ocr_page((f"名称：{BUYER[0]}", 0.05, 0.24))], CTX).values()
    assert "buyer" not in lone and "seller" not in lone  # one name, no label: whose is it?


def test_item_whose_star_ocr_lost_still_starts_its_own_row():
    misread = {"*信息技术服务*云数据库RDS for": "信息技术服务*云数据库RDS for"}
    got = extract([page(Spec(), text_layer=False, tilt=0.02, misread=misread)], CTX).values()
    assert [r["amount"] for r in got["line_items"]] == [61132.08, 27169.81, 13584.91]
    assert got["line_items"][1]["name"] == "信息技术服务*云数据库RDS for MySQL"
    assert got["line_items"][2] == EXPECTED_ITEMS[2]


def test_items_without_tax_category_prefix():
    items = [Item(["技术服务费"], "", "1000.00", "6%", "60.00"), Item(["软件使用费", "（年度）"], "", "2000.00", "6%", "120.00")]
    s = replace(Spec(), items=items, total_amount="¥3000.00", total_tax="¥180.00", upper="ⓧ叁仟壹佰捌拾元整",
                lower="（小写）¥3180.00")
    got = extract([page(s, text_layer=True)], CTX).values()
    assert got["line_items"] == [
        {"name": "技术服务费", "amount": 1000.0, "tax_rate": "6%", "tax": 60.0},
        {"name": "软件使用费（年度）", "amount": 2000.0, "tax_rate": "6%", "tax": 120.0},
    ]


def test_two_names_glued_on_one_ocr_line():
    got = extract([_ocr_page((f"名称:{BUYER[0]}名称:{ALIYUN[0]}", 0.1, 0.3))], CTX).values()
    assert got["buyer"] == BUYER[0] and got["seller"] == ALIYUN[0]


def test_junk_pages_never_raise():
    import random

    rng = random.Random(7)
    alphabet = "购买方销售名称纳税人识别号合计价税备注金额税率*¥0123456789.%：壹贰万元整 ABCXYZ"
    for _ in range(40):
        lines = []
        for _ in range(rng.randint(0, 40)):
            x0, y0 = rng.random(), rng.random()
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            lines.append(Line(text=text, bbox=[x0, y0, min(1.0, x0 + rng.random() / 3), min(1.0, y0 + 0.02)],
                              confidence=rng.random()))
        facts = extract([Page(number=1, width=100, height=100, unit="px", source="ocr", lines=lines)], CTX)
        for fv in facts.fields.values():
            assert 0.0 <= fv.confidence <= 1.0


def test_every_value_points_at_a_page_and_box():
    for s, text_layer in ((Spec(), True), (LEGACY, False), (replace(Spec(), items=[ITEMS[0]]), False)):
        facts = extract([page(s, text_layer=text_layer)], CTX)
        for name, fv in facts.fields.items():
            assert fv.page == 1 and fv.bbox is not None and len(fv.bbox) == 4, name
    kw = extract([page(Spec(), text_layer=True)], CTX).fields["cloud_keywords_present"]
    assert kw.value is True and "云服务" in kw.raw and kw.bbox != [0.0, 0.0, 1.0, 1.0]
