"""The checklist taxonomy (classifiers/data/taxonomy.yaml): structure, validation, name normalisation."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from classifiers.taxonomy import (
    DEFAULT_PATH,
    fold,
    load_taxonomy,
    normalise_subdomain_name,
    normalize,
    resolve_subdomain_name,
)
from extractors.textnorm import normalize_with_offsets
from pipeline.model import CHECKLIST_GROUPS

# The 附表 as criteria.md lists it (the spec this file must match).
CRITERIA_TABLE: dict[str, list[str]] = {
    "工业APP应用": ["研发设计应用", "研发设计案例库", "研发设计协同", "生产排产管理", "制造执行系统",
                 "供应链关系管理", "采购管理", "物流管理", "企业资源规划", "电商系统", "客户资源管理",
                 "客户服务", "其他工业APP应用"],
    "基础云服务": ["计算资源", "存储资源", "数据库", "管理工具", "数据安全", "业务安全", "网络安全",
              "工业系统安全", "云灾备"],
    "数据上云": ["基础数据", "设计数据", "生产数据", "供应链数据", "销售数据", "服务数据", "企业其他数据"],
    "设备接入": ["高能耗设备", "通用动力设备", "新能源设备", "智能装备", "其他设备"],
    "边缘计算": ["数据处理", "数据分析"],
    "设备服务": ["设备台账", "设备点检", "工单管理", "维修保养", "实时数据", "数据报表", "信息追溯",
             "组态画面", "异常报警", "反向控制", "执行优化"],
    "创新应用": ["市场交易分析和预测", "产品/设备远程监控与运维", "产品质量管控及工艺优化", "产业链协同",
             "企业运营分析和预测", "智能制造", "个性化定制", "网络协同制造", "服务型制造", "其他创新应用"],
}
GUIDELINE = Path(
    os.environ.get(
        "YUNSHEN_GUIDELINE",
        str(Path(__file__).resolve().parents[2] / "shared" / "guideline" / "guideline-zh.txt"),
    )
)


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- structure


def test_groups_and_subdomains_match_criteria_table(tax):
    assert tax.version
    assert tuple(g.key for g in tax.groups) == CHECKLIST_GROUPS
    assert {g.key: [sd.name for sd in g.subdomains] for g in tax.groups} == CRITERIA_TABLE
    assert len(tax.subdomains) == 57
    assert len(set(tax.names)) == 57


def test_group_and_kind_of_each_subdomain(tax):
    assert tax.group_of("企业资源规划") == "工业APP应用"
    assert tax.group_of("云灾备") == "基础云服务"
    assert tax.group_of("执行优化") == "设备服务"
    kinds = {g.key: {sd.kind for sd in g.subdomains} for g in tax.groups}
    assert kinds == {
        "工业APP应用": {"business"}, "基础云服务": {"business"}, "数据上云": {"data_device"},
        "设备接入": {"data_device"}, "边缘计算": {"data_device"}, "设备服务": {"data_device"},
        "创新应用": {"innovation"},
    }


def test_forms_record_the_two_annex_tables(tax):
    """3-star 附表: business rows only; 4/5-star 附表: all but 企业其他数据; 基础数据 not in 评定标准."""
    three = [sd.name for sd in tax.subdomains if 3 in sd.forms]
    assert three == CRITERIA_TABLE["工业APP应用"] + CRITERIA_TABLE["基础云服务"]
    four_five = {sd.name for sd in tax.subdomains if set(sd.forms) >= {4, 5}}
    assert four_five == set(tax.names) - {"企业其他数据"}
    assert tax.subdomain("企业其他数据").forms == ()
    assert tax.subdomain("基础数据").in_criteria_table is False
    assert [sd.name for sd in tax.subdomains if not sd.in_criteria_table] == ["基础数据"]
    assert any("企业其他数据" in n and "基础数据" in n for n in tax.notes)


def test_every_subdomain_has_a_description_and_terms_except_the_other_rows(tax):
    no_terms = {sd.name for sd in tax.subdomains if not tax.evidence_terms(sd)}
    assert no_terms == {"企业其他数据", "其他设备", "其他创新应用"}
    for sd in tax.subdomains:
        assert sd.description and sd.description_source
    ours = {sd.name for sd in tax.subdomains if sd.description_source == "ours"}
    assert ours == {"其他工业APP应用", "企业其他数据", "其他设备", "其他创新应用"}
    assert tax.subdomain("电商系统").description_source == "guideline_domain"


def test_guideline_descriptions_are_verbatim(tax):
    text = re.sub(r"\s+", "", GUIDELINE.read_text(encoding="utf-8"))
    for sd in tax.subdomains:
        if sd.description_source != "ours":
            assert re.sub(r"\s+", "", sd.description) in text, sd.name


def test_brief_terms_are_present(tax):
    """Generic terms and product names a reviewer expects to find in the data."""
    all_terms = {t.text for sd in tax.subdomains for t in tax.evidence_terms(sd)}
    expected = [
        "云服务器", "弹性伸缩", "容器", "GPU", "对象存储", "块存储", "文件存储", "归档存储", "云数据库",
        "数据库", "数据复制", "微服务", "应用运维", "应用性能", "堡垒机", "数据加密", "数据防篡改",
        "注册保护", "登录保护", "漏洞巡检", "应用加固", "WAF", "Web应用防火墙", "DDoS", "访问控制",
        "子账户", "漏洞扫描", "入侵检测", "防火墙", "镜像安全", "容灾备份", "云备份",
        "ECS", "OSS", "RDS", "PolarDB", "SLB", "ARMS", "云盾", "云安全中心", "混合云备份HBR",
        "CVM", "COS", "TDSQL", "CDB", "主机安全", "云防火墙", "弹性云服务器ECS", "OBS", "GaussDB",
        "云备份CBR", "天翼云主机", "BCC", "BOS", "云MES", "U9 Cloud", "YonSuite", "NC Cloud",
        normalize("金蝶云·星空"), normalize("金蝶云·苍穹"), "金蝶精斗云", "纷享销客", "销售易", "简道云",
        "明道云", "飞书", "钉钉", "企业微信", "Onshape", "云CAD", "ERP", "CRM", "SRM",
    ]
    missing = [t for t in expected if t not in all_terms]
    assert not missing


def test_ambiguous_terms_name_several_candidates(tax):
    def owners(term: str) -> set[str]:
        return {sd.name for sd in tax.subdomains for t in tax.evidence_terms(sd) if t.text == term}

    assert owners("堡垒机") == {"网络安全", "数据安全", "管理工具"}
    assert owners("钉钉") == {"客户服务", "研发设计协同", "其他工业APP应用"}
    assert owners("WAF") == {"网络安全", "业务安全"}
    # 钉钉 only counts in context
    for sd in tax.subdomains:
        for t in tax.evidence_terms(sd):
            if t.text in {"钉钉", "企业微信", "飞书"}:
                assert t.context_any, (sd.name, t.text)


def test_name_terms_are_implicit_unless_disabled(tax):
    terms = {t.text: t for t in tax.evidence_terms(tax.subdomain("设备台账"))}
    assert terms["设备台账"].implicit and terms["设备台账"].weight == tax.matching.name_weight
    assert "其他工业APP应用" not in {t.text for t in tax.evidence_terms(tax.subdomain("其他工业APP应用"))}
    # an explicit entry overrides the implicit one (数据库 is deliberately weak)
    db = [t for t in tax.evidence_terms(tax.subdomain("数据库")) if t.text == "数据库"]
    assert len(db) == 1 and not db[0].implicit and db[0].weight < 1


def test_short_latin_codes_are_case_sensitive_by_default(tax):
    terms = {t.text: t for sd in tax.subdomains for t in sd.terms}
    assert terms["ECS"].is_case_sensitive and terms["OA"].is_case_sensitive
    assert not terms["PolarDB"].is_case_sensitive
    assert not terms["云服务器"].is_case_sensitive


# --------------------------------------------------------------------------- normalisation


def test_normalize_folds_width_spaces_and_middle_dots():
    assert normalize("云服务器 ＥＣＳ") == "云服务器ECS"
    assert normalize("U9  Cloud") == "U9 Cloud"
    assert normalize("金蝶云·星空") == normalize("金蝶云.星空") == "金蝶云星空"
    assert normalize("企业资源规划（ERP）") == "企业资源规划(ERP)"
    assert normalize("版本 3.5") == "版本3.5"
    assert fold("PolarDB") == "polardb" and len(fold("ＡＢ")) == 2
    text = "云 服务器 ＥＣＳ"
    norm, origin = normalize_with_offsets(text)
    assert norm == "云服务器ECS"
    assert [text[i] for i in origin] == ["云", "服", "务", "器", "Ｅ", "Ｃ", "Ｓ"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("供应链关系管理", "供应链关系管理"),
        ("供应商关系管理", "供应链关系管理"),
        ("SRM", "供应链关系管理"),
        ("ERP", "企业资源规划"),
        ("erp", "企业资源规划"),
        ("企业资源规划（ERP）", "企业资源规划"),
        ("企业资源规划(ERP)", "企业资源规划"),
        ("（ERP）", "企业资源规划"),
        ("客户关系管理", "客户资源管理"),
        ("CRM", "客户资源管理"),
        ("MES", "制造执行系统"),
        ("1. 研发设计应用", "研发设计应用"),
        ("√ 云灾备", "云灾备"),
        ("其他工业APP应用（请说明）：OA系统", "其他工业APP应用"),
        ("其他设备（请说明）", "其他设备"),
        ("基础云服务-安全-数据安全", "数据安全"),
        ("产品/设备远程监控与运维", "产品/设备远程监控与运维"),
        ("市场交易分析与预测", "市场交易分析和预测"),
        ("设备台帐", "设备台账"),
        ("容灾备份", "云灾备"),
        # OCR misreadings on a scanned form
        ("研发设汁应用", "研发设计应用"),
        ("数据厍", "数据库"),
        ("设计数椐", "设计数据"),
    ],
)
def test_normalise_subdomain_name(tax, written, expected):
    assert normalise_subdomain_name(written, tax) == expected


@pytest.mark.parametrize("written", ["", "   ", "数据表", "云服务", "某某数据", "阿里云", "其他"])
def test_normalise_subdomain_name_refuses_what_it_cannot_tell(tax, written):
    assert normalise_subdomain_name(written, tax) is None


def test_resolution_reports_how(tax):
    r = resolve_subdomain_name("供应商关系管理", tax)
    assert r and r.via == "alias" and r.score == 1.0 and r.group == "工业APP应用"
    r = resolve_subdomain_name("研发设汁应用", tax)
    assert r and r.via == "fuzzy" and 0.75 <= r.score < 1.0
    assert tax.lookup("ERP") is tax.subdomain("企业资源规划")
    assert tax.lookup("企业资源规划（ERP）") is None  # lookup is exact; resolve is forgiving


# --------------------------------------------------------------------------- validation


def _write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "taxonomy.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _sub(data: dict, name: str) -> dict:
    for g in data["groups"]:
        for sd in g["subdomains"]:
            if sd["name"] == name:
                return sd
    raise KeyError(name)


def test_loading_a_copy_works(tmp_path, raw):
    assert len(load_taxonomy(_write(tmp_path, raw)).subdomains) == 57


def test_a_product_added_in_yaml_is_used(tmp_path, raw):
    from classifiers.subdomains import explain_line

    data = yaml.safe_load(yaml.safe_dump(raw))
    _sub(data, "计算资源")["terms"].append({"term": "星河云主机XY", "provider": "测试云"})
    tax2 = load_taxonomy(_write(tmp_path, data))
    hits = explain_line("*信息技术服务*星河云主机XY 包年", tax2, kind="invoice")
    assert any(h.name == "计算资源" and h.term == "星河云主机XY" for h in hits)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["groups"][0]["subdomains"].pop(), "56 subdomains"),
        (lambda d: d["groups"][0]["subdomains"].append(dict(d["groups"][0]["subdomains"][0])),
         "listed twice"),
        (lambda d: d["groups"].reverse(), "groups must be exactly"),
        (lambda d: d["groups"][1].update(key="基础服务"), "groups must be exactly"),
        (lambda d: _sub(d, "数据库")["aliases"].append("ERP"), "also names"),
        (lambda d: _sub(d, "数据库")["terms"].append({"term": "(", "match": "regex"}),
         "bad regular expression"),
        (lambda d: _sub(d, "数据库")["terms"].append({"term": "云数据库"}), "terms listed twice"),
        (lambda d: _sub(d, "数据库")["terms"].append({"term": "X库", "not_within": ["压力容器"]}),
         "does not contain"),
        (lambda d: _sub(d, "数据库")["terms"].append({"term": "Y库", "kinds": ["poster"]}), "kinds"),
        (lambda d: _sub(d, "数据库")["terms"].append({"term": "Z库", "weight": 1.5}), "weight"),
        (lambda d: _sub(d, "数据库").update(group="工业APP应用"), "listed under"),
        (lambda d: _sub(d, "数据库").update(colour="blue"), "colour"),
        (lambda d: d.pop("version"), "version"),
        (lambda d: d["products"][0].update(bundled=["采购系统X"]), "unknown subdomains"),
        (lambda d: d["products"][0]["modules"][0].update(subdomains=["无此子域"]),
         "unknown subdomains"),
        (lambda d: d["products"].append(dict(d["products"][0])), "listed twice"),
        (lambda d: d["layout"]["sale"].update(table_end="(合计"), "table_end"),
        (lambda d: d["layout"]["screenshot"].update(top_bar_max_y=0.9), "top_bar_max_y"),
    ],
)
def test_validation_rejects_broken_edits(tmp_path, raw, mutate, message):
    data = yaml.safe_load(yaml.safe_dump(raw))
    mutate(data)
    with pytest.raises(ValidationError, match=message):
        load_taxonomy(_write(tmp_path, data))


# --------------------------------------------------------------------------- products (suites)


def test_products_generate_terms_with_their_role(tax):
    erp = {t.text: t for t in tax.evidence_terms(tax.subdomain("企业资源规划"))}
    assert erp["金蝶云星空"].role == "product" and erp["金蝶云星空"].product == "金蝶云·星空"
    purchase = [t for t in tax.evidence_terms(tax.subdomain("采购管理")) if t.product]
    assert {t.role for t in purchase} >= {"module", "bundled"}
    for t in purchase:  # bundled scope and modules count on sale documents only
        assert set(t.kinds) == {"contract", "invoice"}
    module = next(t for t in purchase if t.role == "module" and t.product == "金蝶云·星空")
    assert "金蝶云·星空" in module.context_any


def test_a_suite_added_in_yaml_is_used(tmp_path, raw):
    from classifiers.subdomains import map_lines
    from pipeline.model import Line

    data = yaml.safe_load(yaml.safe_dump(raw))
    data["products"].append({
        "name": "星河ERP", "terms": ["星河ERP"], "subdomains": ["企业资源规划"],
        "bundled": ["物流管理"], "modules": [{"terms": ["排程"], "subdomains": ["生产排产管理"]}],
    })
    tax2 = load_taxonomy(_write(tmp_path, data))
    line = Line(text="*软件服务*星河ERP 排程模块", bbox=[0.1, 0.4, 0.9, 0.42], confidence=1.0)
    got = {m.name for m in map_lines([line], tax2, file="i.pdf", kind="invoice")}
    assert got == {"企业资源规划", "物流管理", "生产排产管理"}


def test_naming_keys_are_names_and_aliases_longest_first(tax):
    keys = tax.naming_keys()
    assert ("erp", "企业资源规划") in keys and ("生产数据", "生产数据") in keys
    assert [len(k) for k, _ in keys] == sorted((len(k) for k, _ in keys), reverse=True)
