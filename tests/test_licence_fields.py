"""Business licence extractor (extractors/licence.py) on hand-made pages and on pages rebuilt
from the samples' truth ``page_text`` (one line per printed line, stacked top to bottom)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conftest import TRUTH
from extractors.facts import ExtractionContext, extract_facts
from extractors.licence import authority_from_seals, extract
from pipeline.model import Line, Page, Seal

CTX = ExtractionContext(file="营业执照.jpg", kind="licence", is_image=True)


def _line(text: str, x0: float, y0: float, x1: float | None = None, h: float = 0.025, conf: float = 0.97) -> Line:
    if x1 is None:
        x1 = min(x0 + 0.013 * len(text), 1.0)
    return Line(text=text, bbox=[x0, y0, x1, y0 + h], confidence=conf)


def _page(*lines: Line, source: str = "ocr") -> Page:
    return Page(number=1, width=2000, height=1500, unit="px", source=source, lines=list(lines))


def _stacked(texts: list[str]) -> Page:
    """The truth's printed lines stacked top to bottom, one per row (a narrow layout)."""
    step = 0.9 / max(len(texts), 1)
    return _page(*(_line(t, 0.05, 0.03 + i * step, h=step * 0.8, conf=1.0) for i, t in enumerate(texts)))


def _licences() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(TRUTH.glob("APP-*/truth.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        for doc in truth["documents"]:
            if doc["kind"] == "licence":
                out.append((f"{path.parent.name}/{doc['file']}", doc))
    return out


LICENCES = _licences()


def test_samples_have_licences():
    assert len(LICENCES) >= 5


@pytest.mark.parametrize("doc", [d for _, d in LICENCES], ids=[k for k, _ in LICENCES])
def test_truth_page_text_gives_every_printed_field(doc):
    """Every field the truth lists is read; the authority (printed only in its seal) is not
    invented from the page text, and no field the licence does not print appears."""
    facts = extract([_stacked(doc["page_text"][0])], CTX)
    got = facts.values()
    expected = {k: v for k, v in doc["fields"].items() if v is not None and k != "authority"}
    for key, value in expected.items():
        assert got.get(key) == value, key
    assert "authority" not in got
    for key in got:
        assert doc["fields"].get(key) is not None, f"invented {key}"


def _two_column_licence(merged: bool) -> Page:
    """A photo's OCR: two columns, values beside their labels, rows slightly tilted; ``merged``
    puts a whole row on one OCR line (tesseract-style)."""
    rows = [
        ("名称", "江苏澄明精密机械有限公司", "注册资本", "伍佰万元整"),
        ("类型", "有限责任公司（自然人投资或控股）", "成立日期", "2012年05月16日"),
        ("法定代表人", "王建国", "营业期限", "2012年05月16日至长期"),
        ("经营范围", "精密机械零部件的研发、制造、销售", "住所", "南京市江宁区秣陵街道将军大道199号"),
    ]
    lines = [
        _line("统一社会信用代码", 0.14, 0.15),
        _line("91320115MAKB4FL77U", 0.14, 0.18),
        _line("营业执照", 0.41, 0.18, h=0.07),
    ]
    for i, (l1, v1, l2, v2) in enumerate(rows):
        y = 0.39 + 0.043 * i
        if merged:
            lines.append(_line(f"{l1} {v1}   {l2} {v2}", 0.14, y, 0.82))
        else:
            lines += [_line(l1, 0.14, y + 0.004), _line(v1, 0.23, y), _line(l2, 0.54, y - 0.003),
                      _line(v2, 0.625, y - 0.006)]
    lines += [_line("登记机关", 0.59, 0.72), _line("市", 0.66, 0.71, h=0.02), _line("2023年8月21日", 0.67, 0.753)]
    return _page(*lines)


EXPECTED_TWO_COLUMN = {
    "name": "江苏澄明精密机械有限公司",
    "uscc": "91320115MAKB4FL77U",
    "company_type": "有限责任公司（自然人投资或控股）",
    "legal_rep": "王建国",
    "registered_capital_yuan": 5_000_000.0,
    "established": "2012-05-16",
    "date": "2012-05-16",
    "address": "南京市江宁区秣陵街道将军大道199号",
    "issued": "2023-08-21",
}


@pytest.mark.parametrize("merged", [False, True], ids=["cells", "merged-rows"])
def test_two_column_layout_values_stop_at_the_next_label(merged):
    facts = extract([_two_column_licence(merged)], CTX)
    assert facts.values() == EXPECTED_TWO_COLUMN


def test_values_carry_page_box_and_confidence():
    page = _two_column_licence(merged=True)
    facts = extract([page], CTX)
    name = facts.fields["name"]
    row = next(ln for ln in page.lines if ln.text.startswith("名称"))
    assert name.page == 1 and name.raw == "江苏澄明精密机械有限公司"
    assert row.bbox[0] < name.bbox[0] < name.bbox[2] < row.bbox[2]  # the value's part of the row
    assert name.confidence == pytest.approx(row.confidence)
    assert name.evidence("营业执照.jpg").text == "江苏澄明精密机械有限公司"


@pytest.mark.parametrize(
    ("printed", "yuan"),
    [("贰仟万元整", 20_000_000), ("人民币伍佰万元整", 5_000_000), ("500万元", 5_000_000),
     ("壹佰万元整", 1_000_000), ("1000万元人民币", 10_000_000)],
)
def test_registered_capital_forms(printed, yuan):
    page = _page(_line("名称", 0.1, 0.3), _line("某某科技有限公司", 0.2, 0.3), _line(f"注册资本 {printed}", 0.5, 0.3))
    assert extract([page], CTX).get("registered_capital_yuan") == yuan


def test_sole_proprietorship_labels_and_no_capital():
    page = _page(
        _line("名称", 0.12, 0.39), _line("宿迁市宿城区鑫达木业加工厂", 0.2, 0.39),
        _line("组成形式", 0.51, 0.40), _line("个人经营", 0.6, 0.40),
        _line("类型", 0.12, 0.435), _line("个体工商户", 0.21, 0.437),
        _line("注册日期", 0.51, 0.45), _line("2018年03月22日", 0.6, 0.451),
        _line("经营者", 0.13, 0.48), _line("孙国华", 0.21, 0.483),
        _line("经营场所", 0.52, 0.54), _line("宿迁市宿城区埠子镇工业集中区8号", 0.61, 0.543),
    )
    got = extract([page], CTX).values()
    assert got == {
        "name": "宿迁市宿城区鑫达木业加工厂", "company_type": "个体工商户", "legal_rep": "孙国华",
        "established": "2018-03-22", "date": "2018-03-22", "address": "宿迁市宿城区埠子镇工业集中区8号",
    }


def test_misread_label_is_matched_fuzzily_but_not_across_labels():
    page = _page(_line("法定代表入", 0.1, 0.3), _line("王建国", 0.2, 0.3), _line("经营范固 软件开发", 0.1, 0.4))
    facts = extract([page], CTX)
    assert facts.get("legal_rep") == "王建国"
    assert facts.get("address") is None  # 经营范固 is not 经营场所 with one error
    assert any("法定代表入" in n for n in facts.notes)


def test_credit_code_repair_is_recorded_and_lowers_confidence():
    page = _page(_line("统一社会信用代码", 0.1, 0.1), _line("9132O115MAKB4FL77U", 0.1, 0.13, conf=0.9))
    facts = extract([page], CTX)
    assert facts.get("uscc") == "91320115MAKB4FL77U"
    assert facts.fields["uscc"].confidence < 0.9
    assert facts.fields["uscc"].raw == "9132O115MAKB4FL77U"
    assert any("repaired" in n for n in facts.notes)


def test_credit_code_failing_its_check_is_kept_as_printed():
    page = _page(_line("统一社会信用代码 91320902MA4E78YY1F", 0.1, 0.1, conf=0.95))
    facts = extract([page], CTX)
    assert facts.get("uscc") == "91320902MA4E78YY1F"
    assert facts.fields["uscc"].confidence < 0.95
    assert any("fails" in n for n in facts.notes)


def test_issue_date_without_the_authority_label_is_the_bottom_date():
    page = _page(_line("成立日期", 0.5, 0.45), _line("2012年05月16日", 0.6, 0.45),
                 _line("2023年8月21日", 0.67, 0.75),
                 _line("市场主体应当于每年1月1日至6月30日报送年度报告。", 0.1, 0.82))
    got = extract([page], CTX).values()
    assert got["issued"] == "2023-08-21" and got["established"] == "2012-05-16"


def test_no_issue_date_when_none_is_printed():
    page = _page(_line("成立日期", 0.5, 0.45), _line("2012年05月16日", 0.6, 0.45))
    assert "issued" not in extract([page], CTX).values()


def test_printed_authority_is_read_and_stray_seal_characters_are_not():
    printed = _page(_line("登记机关 南京市江宁区市场监督管理局", 0.55, 0.72), _line("2023年8月21日", 0.6, 0.76))
    got = extract([printed], CTX).values()
    assert got["authority"] == "南京市江宁区市场监督管理局" and got["issued"] == "2023-08-21"
    stray = _page(_line("登记机关", 0.59, 0.72), _line("市", 0.66, 0.72, h=0.02), _line("2023年8月21日", 0.67, 0.753))
    assert "authority" not in extract([stray], CTX).values()


def test_authority_from_seal_texts():
    seals = [
        Seal(text="江苏澄明精密机械有限公司", party="applicant", page=1, bbox=[0.1, 0.6, 0.2, 0.75], confidence=0.9),
        Seal(text="南京市江宁区市场监督管理局登记专用章", party="unknown", page=1,
             bbox=[0.65, 0.64, 0.78, 0.81], confidence=0.8),
    ]
    fv = authority_from_seals(seals, [_two_column_licence(False)])
    assert fv is not None and fv.value == "南京市江宁区市场监督管理局"
    assert fv.bbox == [0.65, 0.64, 0.78, 0.81] and fv.confidence == 0.8
    assert authority_from_seals(seals[:1]) is None


def test_extract_uses_seals_when_the_context_carries_them():
    @dataclass(frozen=True)
    class SealCtx(ExtractionContext):
        seals: tuple[Seal, ...] = ()

    seal = Seal(text="无锡市新吴区市场监督管理局", page=1, bbox=[0.63, 0.67, 0.76, 0.83], confidence=0.9)
    ctx = SealCtx(file="x.jpg", kind="licence", is_image=True, seals=(seal,))
    assert extract([_two_column_licence(False)], ctx).get("authority") == "无锡市新吴区市场监督管理局"


def test_dispatch_and_empty_pages():
    assert extract_facts("licence", [_two_column_licence(False)], CTX).get("name") == "江苏澄明精密机械有限公司"
    assert extract([_page()], CTX).values() == {}


def test_junk_pages_never_raise():
    import random

    rng = random.Random(11)
    alphabet = "名称类型住所注册资本成立日期法定代表人登记机关统一社会信用代码伍佰万元整2012年05月16日 9132AB"
    for _ in range(40):
        lines = []
        for _ in range(rng.randint(0, 30)):
            x0, y0 = rng.random(), rng.random()
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 25)))
            lines.append(Line(text=text, bbox=[x0, y0, min(1.0, x0 + rng.random() / 3), min(1.0, y0 + 0.02)],
                              confidence=rng.random()))
        extract([_page(*lines)], CTX)


def test_issue_date_equal_to_the_registration_date_without_authority_label():
    page = _page(_line("注册日期", 0.5, 0.45), _line("2018年03月22日", 0.6, 0.45),
                 _line("营业期限", 0.5, 0.5), _line("2018年03月22日至长期", 0.6, 0.5),
                 _line("2018年3月22日", 0.67, 0.78))
    got = extract([page], CTX).values()
    assert got["issued"] == "2018-03-22" and got.get("established") == "2018-03-22"
    assert extract([_page(*page.lines[:4])], CTX).values().get("issued") is None
