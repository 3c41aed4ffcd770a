from __future__ import annotations

from extractors.layout import fold, label_value, reading_order, sub_bbox
from pipeline.model import Line, Page, Word


def _line(text, x0, y0, x1, y1, conf=0.99, words=()):
    return Line(text=text, bbox=[x0, y0, x1, y1], confidence=conf, words=list(words))


def _page(*lines):
    return Page(number=1, width=1000, height=1000, unit="px", source="ocr", lines=list(lines))


def test_value_on_the_same_line_with_its_own_box():
    page = _page(_line("名称：江苏澄明精密机械有限公司", 0.1, 0.1, 0.6, 0.13))
    got = label_value([page], ["名称"])
    assert got.value == "江苏澄明精密机械有限公司"
    assert got.page == 1 and got.bbox[0] > 0.1 and got.bbox[2] == 0.6


def test_value_right_of_or_below_the_label_and_spaced_labels():
    page = _page(
        _line("名 称", 0.1, 0.1, 0.18, 0.13),
        _line("江苏澄明精密机械有限公司", 0.25, 0.1, 0.6, 0.13),
        _line("统一社会信用代码", 0.1, 0.3, 0.3, 0.33),
        _line("91320100MA1XXXXX0X", 0.1, 0.34, 0.35, 0.37),
    )
    assert label_value([page], ["名称"]).value == "江苏澄明精密机械有限公司"
    got = label_value([page], ["统一社会信用代码"], value=r"[0-9A-Z]{18}")
    assert got.value == "91320100MA1XXXXX0X" and got.bbox[1] == 0.34


def test_value_pattern_and_region_restrict_the_search():
    page = _page(
        _line("购买方 名称：甲公司", 0.05, 0.2, 0.45, 0.23),
        _line("销售方 名称：乙公司", 0.55, 0.2, 0.95, 0.23),
    )
    assert label_value([page], ["名称"], region=(0.5, 0, 1, 1)).value == "乙公司"
    assert label_value([page], ["开票日期"]) is None


def test_full_width_colon_and_reading_order():
    lines = [_line("B", 0.5, 0.101, 0.6, 0.12), _line("A", 0.1, 0.1, 0.2, 0.12), _line("C", 0.1, 0.3, 0.2, 0.32)]
    assert [ln.text for ln in reading_order(lines)] == ["A", "B", "C"]
    assert fold("发票号码：１２３") == "发票号码:123"


def test_sub_bbox_uses_words_when_present():
    line = _line("金额 ¥12600.00", 0.1, 0.1, 0.5, 0.12,
                 words=[Word(text="金额", bbox=[0.1, 0.1, 0.2, 0.12], confidence=1),
                        Word(text="¥12600.00", bbox=[0.3, 0.1, 0.5, 0.12], confidence=1)])
    assert sub_bbox(line, 3, 12) == [0.3, 0.1, 0.5, 0.12]
