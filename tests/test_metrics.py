"""Character error rate: the bench's definition, including the alignment edge cases."""

from __future__ import annotations

import pytest

from pipeline.metrics import cer, cer_detail, key_hits, normalize

TRUTH = [
    "江苏增值税专用发票",
    "发票号码：08563217",
    "价税合计（大写）壹万贰仟陆佰元整",
    "11886.79",
    "11886.79",
    "单价",
    "金额",
]


def test_normalize_folds_full_width_and_drops_whitespace():
    assert normalize("发票号码：０８５６ 3217\t（小写）￥12600.00") == "发票号码:08563217(小写)¥12600.00"
    assert normalize("\u3000 ") == ""


def test_identical_lines_give_zero():
    assert cer(TRUTH, TRUTH) == 0.0


def test_reading_order_does_not_count():
    assert cer(TRUTH, list(reversed(TRUTH))) == 0.0


def test_half_width_recognition_of_full_width_truth_is_not_an_error():
    assert cer(["发票号码：08563217"], ["发票号码:08563217"]) == 0.0


def test_one_substitution_counts_once():
    rec = [t.replace("壹万", "壹方") for t in TRUTH]
    d = cer_detail(TRUTH, rec)
    assert d.errors == 1
    assert d.cer == pytest.approx(1 / sum(len(normalize(t)) for t in TRUTH))


def test_a_split_line_costs_nothing_when_its_pieces_are_right():
    rec = [t for t in TRUTH if not t.startswith("价税")] + ["壹万贰仟陆佰元整", "价税合计(大写)"]
    assert cer(TRUTH, rec) == 0.0


def test_merged_table_cells_cost_nothing_when_read_right():
    rec = [t for t in TRUTH if t not in ("单价", "金额")] + ["单价金额"]
    assert cer(TRUTH, rec) == 0.0


def test_duplicate_truth_lines_each_need_their_own_reading():
    rec = [t for t in TRUTH if t != "11886.79"] + ["11886.79"]
    d = cer_detail(TRUTH, rec)
    assert d.errors == len("11886.79")
    assert d.unmatched_truth == ("11886.79",)


def test_unmatched_recognised_text_is_charged_as_insertions():
    d = cer_detail(TRUTH, TRUTH + ["合同专用章"])
    assert d.unmatched_recognised == ("合同专用章",)
    assert d.inserted_chars == 5
    assert d.errors == 5
    assert d.cer > 0


def test_missing_line_is_charged_as_deletions():
    d = cer_detail(TRUTH, TRUTH[1:])
    assert d.errors == len(TRUTH[0])
    assert d.deleted_chars == len(TRUTH[0])


def test_nothing_recognised_is_total_error():
    assert cer(TRUTH, []) == 1.0


def test_garbage_can_exceed_one():
    assert cer(["发票"], ["完全无关的一大段识别结果"]) > 1.0


def test_empty_truth():
    assert cer([], []) == 0.0
    assert cer([], ["噪声"]) > 0


def test_key_hits_exact_after_normalisation():
    rec = ["纳税人识别号：91320106MA1MXY2K4P", "（小写）", "¥12600.00"]
    assert key_hits(["91320106MA1MXY2K4P", "（小写）¥12600.00", "91320106MA1MXY2K4Q"], rec) == [True, True, False]


def test_two_unmatched_truth_lines_read_as_one_line_join_it():
    d = cer_detail(["腾讯云", "控制台", "发票"], ["█腾讯云控制台", "发票"])
    assert d.errors == 1  # only the icon glyph
    assert d.unmatched_truth == () and d.unmatched_recognised == ()


def test_a_vertical_label_read_as_one_line_costs_nothing():
    assert cer(["购", "买", "方", "发票联"], ["购买方", "发票联"]) == 0.0


def test_short_garbage_does_not_steal_a_line_from_its_real_reading():
    d = cer_detail(["腾讯云", "控制台"], ["█腾讯云控制台", "V"])
    assert d.errors == 2
    assert d.unmatched_recognised == ("V",)


def test_unrelated_leftovers_are_not_paired_to_look_cheaper():
    d = cer_detail(["法定代表人签字", "发票"], ["合同专用章", "发票"])
    assert d.errors == len("法定代表人签字") + len("合同专用章")
