"""extractors/cloud_wording.py: the literal 云服务 / 云产品 test, OCR-tolerant but not loose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors.cloud_wording import best_cloud_wording, find_cloud_wording
from pipeline.model import Line, Page

TRUTH = Path(__file__).resolve().parents[1] / "samples" / "truth"


def _page(texts: list[str], source: str = "ocr", widths: list[float] | None = None) -> Page:
    lines = []
    for i, t in enumerate(texts):
        x1 = widths[i] if widths else min(0.95, 0.1 + 0.018 * len(t))
        lines.append(Line(text=t, bbox=[0.1, 0.1 + 0.025 * i, x1, 0.115 + 0.025 * i], confidence=0.97))
    return Page(number=1, width=1000, height=1414, unit="px", source=source, lines=lines)


@pytest.mark.parametrize(
    ("text", "term", "found_in"),
    [
        ("乙方向甲方提供以下云服务产品", "云服务", "云服务"),
        ("就甲方采购云产品事宜订立本合同", "云产品", "云产品"),
        ("1 云服务器ECS 2台 64,800.00", "云服务", "云服务器"),  # 云服务器 contains 云服务 (the truth's reading)
        ("提供 云 服 务 支持", "云服务", "云 服 务"),
    ],
)
def test_literal_wording_and_what_was_printed(text, term, found_in):
    hit = best_cloud_wording([_page([text], source="text-layer")])
    assert hit is not None and hit.term == term and hit.exact
    assert found_in in hit.found and hit.bbox[0] >= 0.1 and hit.page == 1


@pytest.mark.parametrize("text", ["本合同为软件许可合同", "公司云端部署服务器", "采购服装服务", "云计算服务平台"])
def test_no_wording_no_hit(text):
    assert best_cloud_wording([_page([text])]) is None


def test_ocr_look_alike_counts_on_scans_only_and_is_marked():
    hit = best_cloud_wording([_page(["乙方提供以下云服各产品"], source="ocr")])
    assert hit is not None and not hit.exact and hit.term == "云服务" and hit.confidence < 0.97
    # a text layer has no misreads: 云服各 there is not the term
    assert best_cloud_wording([_page(["乙方提供以下云服各产品"], source="text-layer")]) is None


@pytest.mark.parametrize("text", ["去朋各", "云服装", "会服务"])
def test_two_look_alikes_or_an_arbitrary_character_is_not_the_term(text):
    assert best_cloud_wording([_page([text])]) is None


def test_exact_wording_beats_a_look_alike():
    hit = best_cloud_wording([_page(["去服务时间", "提供云产品"])])
    assert hit.exact and hit.term == "云产品"


def test_term_broken_over_a_paragraph_wrap_is_found_but_not_across_unrelated_lines():
    wrapped = _page(["就甲方向乙方采购华为云数据中心云", "服务事宜，经友好协商"], widths=[0.9, 0.5])
    hits = find_cloud_wording([wrapped])
    assert len(hits) == 1 and not hits[0].exact and "⏎" in hits[0].found
    # the first line stops short of the right margin: a new line, not a wrap
    separate = _page(["标题：华为云", "服务事宜，经友好协商的长长长长长长长长长长长长长长长"], widths=[0.3, 0.9])
    assert find_cloud_wording([separate]) == []


def test_sample_truth_agrees_line_by_line():
    """On every sample document's printed lines, the wording test gives the truth's answer."""
    checked = 0
    for path in sorted(TRUTH.glob("APP-*/truth.json")):
        for doc in json.loads(path.read_text(encoding="utf-8"))["documents"]:
            want = doc["fields"].get("cloud_keywords_present")
            if want is None:
                continue
            pages = [_page(lines, source="text-layer") for lines in doc["page_text"]]
            assert (best_cloud_wording(pages) is not None) is want, doc["file"]
            checked += 1
    assert checked >= 25
