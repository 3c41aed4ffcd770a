"""Provider names and products (extractors/data/providers.yaml) and company-name matching."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from classifiers.taxonomy import load_taxonomy
from extractors.providers import (
    DEFAULT_PATH,
    best_provider,
    find_providers,
    load_providers,
    match_party,
    normalize_party_name,
)


@pytest.fixture(scope="module")
def cat():
    return load_providers()


def found(text: str) -> list[tuple[str, str, str]]:
    return [(m.canonical, m.matched, m.via) for m in find_providers(text)]


def canonicals(text: str) -> set[str]:
    return {m.canonical for m in find_providers(text)}


# --------------------------------------------------------------------------- catalog


def test_catalog_lists_the_main_providers(cat):
    expected = {"阿里云", "腾讯云", "华为云", "天翼云", "移动云", "联通云", "百度智能云", "京东云", "金山云",
                "用友", "金蝶", "浪潮", "徐工汉云", "树根互联", "海尔卡奥斯", "紫光云", "优刻得", "青云",
                "纷享销客", "销售易", "钉钉", "企业微信"}
    assert expected <= set(cat.canonicals)
    assert "阿里云计算有限公司" in cat.get("阿里云").legal_names
    assert "腾讯云计算（北京）有限责任公司" in cat.get("腾讯云").legal_names
    assert {"华为云计算技术有限公司", "华为软件技术有限公司"} <= set(cat.get("华为云").legal_names)
    assert "天翼云科技有限公司" in cat.get("天翼云").legal_names
    assert "用友网络科技股份有限公司" in cat.get("用友").legal_names
    assert "金蝶软件（中国）有限公司" in cat.get("金蝶").legal_names
    assert "联通云数据有限公司" in cat.get("联通云").legal_names


def test_taxonomy_provider_tags_name_known_providers(cat):
    tax = load_taxonomy()
    tags = {t.provider for sd in tax.subdomains for t in sd.terms if t.provider}
    assert tags and tags <= set(cat.canonicals)


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "providers.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_a_provider_added_in_yaml_is_found(tmp_path):
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["providers"].append({"canonical": "星河云", "kind": "iaas",
                              "legal_names": ["江苏星河云计算有限公司"], "aliases": ["星河云"],
                              "products": ["星河云主机XY"]})
    cat2 = load_providers(_write(tmp_path, data))
    assert [m.canonical for m in find_providers("销售方：江苏星河云计算有限公司", cat2)] == ["星河云"]
    assert find_providers("星河云主机XY 2台", cat2)[0].via == "product"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["providers"].append(dict(d["providers"][0])), "listed twice"),
        (lambda d: d["providers"][1]["aliases"].append("阿里云"), "belongs to"),
        (lambda d: d["providers"][0].update(kind="bank"), "kind"),
        (lambda d: d["providers"][0]["products"].append({"name": "X", "weight": 2}), "weight"),
    ],
)
def test_validation_rejects_broken_edits(tmp_path, mutate, message):
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(ValidationError, match=message):
        load_providers(_write(tmp_path, data))


# --------------------------------------------------------------------------- find_providers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("销售方名称：阿里云计算有限公司", [("阿里云", "阿里云计算有限公司", "legal_name")]),
        ("腾讯云计算（北京）有限责任公司合同专用章",
         [("腾讯云", "腾讯云计算（北京）有限责任公司", "legal_name")]),
        ("腾讯云计算北京有限责任公司", [("腾讯云", "腾讯云计算北京有限责任公司", "legal_name")]),
        ("中国电信股份有限公司南京分公司", [("天翼云", "中国电信股份有限公司", "legal_name")]),
        ("乙方：联通云数据有限公司", [("联通云", "联通云数据有限公司", "legal_name")]),
        ("Alibaba Cloud International", [("阿里云", "Alibaba Cloud", "alias")]),
        ("金蝶云·星空 标准版", [("金蝶", "金蝶云·星空", "product")]),
        ("用友U9 Cloud", [("用友", "用友", "alias"), ("用友", "U9 Cloud", "product")]),
        ("华为云 弹性云服务器 ECS", [("华为云", "华为云", "alias"), ("华为云", "弹性云服务器 ECS", "product")]),
        ("树根互联 根云平台", [("树根互联", "树根互联", "alias"), ("树根互联", "根云平台", "product")]),
        ("海尔卡奥斯COSMOPlat",  # overlapping names are both kept
         [("海尔卡奥斯", "海尔卡奥斯", "alias"), ("海尔卡奥斯", "卡奥斯COSMOPlat", "alias")]),
        ("UCloud优刻得", [("优刻得", "UCloud优刻得", "alias")]),
        ("青云QingCloud", [("青云", "青云QingCloud", "alias")]),
    ],
)
def test_find_providers(text, expected):
    assert found(text) == expected


def test_offsets_point_into_the_original_text():
    text = "甲方：江苏某某科技有限公司\n乙方（服务方）：阿里云计算有限公司\n产品：对象存储 OSS"
    ms = find_providers(text)
    assert [m.canonical for m in ms] == ["阿里云", "阿里云"]
    for m in ms:
        assert text[m.start:m.end] == m.matched
    assert ms[1].matched == "对象存储 OSS" and ms[1].via == "product"


def test_a_product_of_several_providers_names_each_candidate():
    ms = find_providers("ECS 实例")
    assert [(m.canonical, m.score) for m in ms] == [("阿里云", 0.6), ("华为云", 0.4)]
    assert best_provider("ECS 实例").canonical == "阿里云"
    # the longer Huawei product name hides Aliyun's shorter one
    assert canonicals("弹性云服务器ECS") == {"华为云"}


@pytest.mark.parametrize(
    "text",
    [
        "在数字化转型浪潮中",  # 浪潮 alone is an everyday word
        "SECS/GEM",  # ECS inside a token
        "cost estimate",  # cos inside a word
        "华中技术有限公司",  # one character from 华为技术有限公司: too short to be fuzzy
        "江苏某某科技有限公司",
        "对象存储XOS",  # a different code is not a misread one
        "",
    ],
)
def test_find_providers_negatives(text):
    assert find_providers(text) == []


def test_cos_inside_cosmoplat_is_not_tencent():
    assert canonicals("COSMOPlat") == {"海尔卡奥斯"}


def test_ocr_errors_in_long_legal_names():
    m = best_provider("华为云计算技术有限公同")
    assert m and m.canonical == "华为云" and m.via == "legal_name" and 0.85 <= m.score < 1
    m = best_provider("销售方：腾讯云计箅（北京）有限责任公司")
    assert m and m.canonical == "腾讯云" and m.score < 1
    assert canonicals("北京金山去网络技术有限公司") == {"金山云"}  # 9-character core: fuzzy
    # a name whose distinctive part is short is matched exactly only
    assert canonicals("华为技木有限公司") == set()


# --------------------------------------------------------------------------- match_party


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("腾讯云计算（北京）有限责任公司", "腾讯云计算(北京)有限公司"),
        ("腾讯云计算（北京）有限责任公司", "腾讯云计算北京有限责任公司"),
        ("阿里云计算有限公司合同专用章", "阿里云计算有限公司"),
        ("江苏某某科技有限公司 91320106MA1MXY2K4P 发票专用章", "江苏某某科技有限公司"),
        ("金蝶软件（中国）有限公司", "金蝶软件(中国)有限公司"),
        ("ＡＢＣ Technology Co., Ltd.", "abc technology co.,ltd"),
        (" 江苏 某某 科技 有限公司 ", "江苏某某科技有限公司"),
    ],
)
def test_match_party_equal_names(a, b):
    assert match_party(a, b) == 1.0


def test_match_party_scores():
    applicant = "江苏某某科技有限公司"
    assert match_party("江苏某某科枝有限公司", applicant) >= 0.85  # one OCR error
    assert 0.8 < match_party("江苏某某科技股份有限公司", applicant) < 1.0
    assert match_party("阿里云计算有限公司", applicant) < 0.5
    assert match_party("南京某某科技有限公司", applicant) < match_party("江苏某某科枝有限公司", applicant)
    assert match_party("", applicant) == 0.0
    assert match_party("合同专用章", applicant) < 0.5
    assert match_party(applicant, "江苏某某科枝有限公司") == match_party("江苏某某科枝有限公司", applicant)


def test_normalize_party_name():
    assert normalize_party_name("腾讯云计算（北京）有限责任公司") == "腾讯云计算北京有限公司"
    assert normalize_party_name("阿里云计算有限公司 合同专用章") == "阿里云计算有限公司"
