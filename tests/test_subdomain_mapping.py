"""Evidence → subdomain mapping (classifiers/subdomains.py): real-looking lines, OCR noise, negatives,
and the length-dependent thresholds, measured over every term of the taxonomy."""

from __future__ import annotations

import pytest
from rapidfuzz import fuzz

from classifiers.subdomains import _compile, explain_line, map_lines, map_pages
from classifiers.taxonomy import load_taxonomy
from extractors.textnorm import is_latin
from pipeline.model import Line, Page, SubdomainHit, Word

NOISE = "口"  # a character no term contains and no confusable group lists


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


def names(text: str, kind: str = "contract") -> set[str]:
    return {m.name for m in map_lines([_line(text)], None, file="f.pdf", kind=kind)}


def _line(text: str, y: float = 0.1, x0: float = 0.1, x1: float = 0.9,
          words: list[Word] | None = None) -> Line:
    return Line(text=text, bbox=[x0, y, x1, y + 0.02], confidence=0.99, words=words or [])


def _term_hit(text: str, term: str, kind: str = "other") -> bool:
    return any(h.term == term for h in explain_line(text, kind=kind))


# --------------------------------------------------------------------------- real-looking lines


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # invoice items (数电票 / 增值税发票 品名)
        ("*信息技术服务*云服务器ECS", "invoice", {"计算资源"}),
        ("*信息技术服务*对象存储OSS 包年包月", "invoice", {"存储资源"}),
        ("*信息技术服务*云数据库RDS MySQL版", "invoice", {"数据库"}),
        ("*信息安全服务*Web应用防火墙", "invoice", {"网络安全", "业务安全"}),
        ("*信息技术服务*腾讯云云服务器CVM", "invoice", {"计算资源"}),
        ("*软件服务*金蝶云·星空 标准版 年费", "invoice", {"企业资源规划"}),
        ("*软件*用友U9 Cloud 订阅服务费", "invoice", {"企业资源规划"}),
        ("*信息技术服务*纷享销客CRM 专业版 20用户", "invoice", {"客户资源管理"}),
        # contract product lines
        ("产品名称：云数据库PolarDB MySQL版 规格：4核16G 数量：1", "contract", {"数据库"}),
        ("华为云 弹性云服务器 ECS  s6.large.2  3年", "contract", {"计算资源"}),
        ("对象存储服务OBS 标准存储 1TB", "contract", {"存储资源"}),
        ("天翼云主机 通用型 8核16G", "contract", {"计算资源"}),
        ("百度智能云 BCC 计算型C5", "contract", {"计算资源"}),
        ("云备份CBR 500GB", "contract", {"云灾备"}),
        ("GaussDB(for MySQL) 主备版", "contract", {"数据库"}),
        ("黑湖智造云MES 生产管理模块 年度订阅", "contract", {"制造执行系统"}),
        ("云防火墙 高级版", "contract", {"网络安全"}),
        ("DDoS高防IP 防护带宽300G", "contract", {"网络安全"}),
        ("应用实时监控服务ARMS 专家版", "contract", {"管理工具"}),
        ("Onshape 云CAD 专业版 5席位", "contract", {"研发设计应用"}),
        ("简道云 企业版", "contract", {"其他工业APP应用"}),
        # console screenshot labels
        ("云安全中心 / 主机资产", "screenshot", {"网络安全"}),
        ("混合云备份 HBR", "screenshot", {"云灾备"}),
        ("ecs.g7.xlarge", "screenshot", {"计算资源"}),
        ("i-bp1a2b3c4d5e6f7g8h", "screenshot", {"计算资源"}),
        ("数据库审计", "screenshot", {"数据安全"}),
        # explanation-letter sentences
        ("我司通过钉钉接待客户咨询，售后服务统一在钉钉处理。", "explanation", {"客户服务"}),
        ("我公司采用金蝶云·星空进行财务与供应链一体化管理。", "explanation", {"企业资源规划"}),
        ("通过边缘网关对采集数据进行筛选、压缩后上传云端", "explanation", {"数据处理"}),
        ("边缘侧完成数据分析，实时监控设备运行参数", "explanation",
         {"数据分析", "数据处理", "实时数据"}),
        # an explanation naming 设备台账 outright maps that name only (see the letter tests below)
        ("设备台账、点检计划与维修工单均在云平台管理", "other",
         {"设备台账", "设备点检", "工单管理"}),
    ],
)
def test_real_lines_map_to_their_subdomains(text, kind, expected):
    assert names(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("服务器", "计算资源"),  # 云服务器 needs 云
        ("物理服务器托管服务", "计算资源"),
        ("SECS/GEM 通信协议", "计算资源"),  # ECS inside SECS
        ("ecs specs", "计算资源"),  # case-sensitive short code
        ("数据", "数据库"),
        ("数据采集与数据分析报告", "数据库"),
        ("数据表", "数据库"),  # one non-look-alike character
        ("数据库设计文档", "数据安全"),  # 数据库设计 is not 数据库审计
        ("压力容器制造许可证", "计算资源"),  # 容器 inside 压力容器
        ("乙方提供7×24小时客户服务热线", "客户服务"),
        ("钉钉打卡", "客户服务"),
        ("遵守《中华人民共和国网络安全法》", "网络安全"),
        ("内存 RAM 16GB", "网络安全"),
        ("COSMOPlat 平台", "存储资源"),  # COS inside COSMOPlat
        ("工单", "工单管理"),  # a console's support-ticket menu
        ("数据处理和存储支持服务", "数据处理"),  # without 边缘
        ("企业资源规刬", "企业资源规划"),  # 6 characters, one non-look-alike error, no context
        ("弹性云服务", "计算资源"),
    ],
)
def test_negative_lines(text, forbidden):
    assert forbidden not in names(text)


def test_boilerplate_has_no_business_hits():
    """Contract boilerplate and a licence-like scope: no 工业APP应用/基础云服务 evidence at all."""
    boilerplate = [
        "本合同一式两份，甲乙双方各执一份，具有同等法律效力。",
        "如发生争议，双方应友好协商解决；协商不成的，提交甲方所在地人民法院诉讼解决。",
        "乙方保证服务可用性不低于99.95%，因乙方原因导致服务中断的，按服务等级协议赔偿。",
        "甲方应妥善保管账号及密码，因甲方保管不善造成的损失由甲方承担。",
        "付款方式：银行转账；开户行：中国工商银行南京分行",
        "甲方：江苏某某机械制造有限公司  统一社会信用代码：91320106MA1MXY2K4P",
        "乙方（服务方）：阿里云计算有限公司",
        "第二条 服务期限 本合同服务期限为2024年1月1日至2025年12月31日。",
        "双方对在履行本合同过程中知悉的对方商业秘密负有保密义务。",
        "乙方提供7×24小时客户服务热线：95187",
        "经营范围：信息技术咨询服务；软件开发；数据处理和存储支持服务。",
        "法定代表人：张伟  注册资本：伍佰万元整",
        "价税合计（大写）壹万贰仟陆佰元整 （小写）¥12600.00",
        "服务器机房位于甲方厂区，由甲方负责供电与空调。",
    ]
    lines = [_line(t, y=0.03 * i) for i, t in enumerate(boilerplate)]
    hits = map_lines(lines, None, file="c.pdf", kind="contract")
    business = [(m.name, m.matched) for m in hits if m.group in {"工业APP应用", "基础云服务"}]
    assert business == []


def test_licence_and_application_form_are_not_evidence():
    lines = [_line("经营范围：数控机床、工业机器人的研发；云服务器ECS销售")]
    assert map_lines(lines, None, file="l.png", kind="licence") == []
    assert map_lines(lines, None, file="a.pdf", kind="application_form") == []
    assert map_lines(lines, None, file="x.pdf", kind="other")


# --------------------------------------------------------------------------- OCR noise


@pytest.mark.parametrize(
    ("noisy", "expected", "method"),
    [
        ("云服务噐ECS", "计算资源", "fuzzy"),  # 7 chars: partial_ratio 85.7
        ("云数据厍", "数据库", "confusable"),  # 4 chars: look-alike 库/厍
        ("混合云各份HBR", "云灾备", "fuzzy"),
        ("Web应用防火樯", "网络安全", "fuzzy"),
        ("对象存偖 标准型", "存储资源", "confusable"),
        ("云服务器 ＥＣＳ", "计算资源", "exact"),  # full width + space
        ("金蝶云.星空", "企业资源规划", "exact"),  # misread middle dot
        ("U9Cloud", "企业资源规划", "exact"),
        ("市场交易分析与预测", "市场交易分析和预测", "fuzzy"),
    ],
)
def test_ocr_noise_is_tolerated(noisy, expected, method):
    # kind "other": a one-line screenshot would be its own title, where names count outright
    ms = {m.name: m for m in map_lines([_line(noisy)], None, file="s.png", kind="other")}
    assert expected in ms
    assert ms[expected].method == method
    assert ms[expected].score < 1.0 or method == "exact"


def test_latin_code_in_a_long_term_must_be_exact():
    """对象存储COS is not 对象存储OSS with one error: the code is the distinctive part."""
    hits = explain_line("对象存储OSS", kind="contract")
    assert [h.term for h in hits] == ["对象存储OSS"]  # not 对象存储COS/BOS/EOS
    assert not any(h.provider == "腾讯云" for h in hits)


def test_context_allows_one_substitution_on_short_terms():
    """数据处理 needs 边缘 nearby; with it, one arbitrary wrong character is forgiven."""
    assert not _term_hit("对数据处口进行筛选", "数据处理")
    assert _term_hit("在边缘侧对数据处口进行筛选", "数据处理")


# --------------------------------------------------------------------------- thresholds, measured


def _policies(tax):
    return [ct for ct in _compile(tax).terms]


def _line_for(ct, text: str) -> str:
    """The term's text in a line that satisfies its context rule, if it has one."""
    return text + ("，" + ct.spec.context_any[0] if ct.spec.context_any else "")


def _kind_for(ct) -> str:
    return ct.spec.kinds[0] if ct.spec.kinds else "other"


def test_every_term_is_found_verbatim(tax):
    missed = [
        (ct.name, ct.spec.term) for ct in _policies(tax)
        if ct.policy != "regex" and not ct.spec.context_none
        and not _term_hit(_line_for(ct, ct.spec.term), ct.spec.term, _kind_for(ct))
    ]
    assert missed == []


def test_short_terms_forgive_a_look_alike_but_not_another_character(tax):
    """3–6 characters: recall over every look-alike substitution, rejection of any other one."""
    conf = tax.matching.confusable_map()
    assert NOISE not in conf
    tried = found = rejected = 0
    leaks = []
    for ct in _policies(tax):
        if ct.policy != "substitution" or ct.spec.context_none:
            continue
        for i, ch in enumerate(ct.text):
            if ch == " ":
                continue
            if ch in conf:
                noisy = ct.text[:i] + sorted(conf[ch])[0] + ct.text[i + 1:]
                tried += 1
                found += _term_hit(_line_for(ct, noisy), ct.spec.term, _kind_for(ct))
            if not ct.spec.context_any and not is_latin(ch):
                noisy = ct.text[:i] + NOISE + ct.text[i + 1:]
                if _term_hit(noisy, ct.spec.term, _kind_for(ct)):
                    leaks.append(noisy)
                else:
                    rejected += 1
    assert tried > 100 and found == tried
    assert rejected > 500 and leaks == []


def test_long_terms_forgive_one_edit_and_two_only_from_14_characters(tax):
    """≥ 7 characters: partial_ratio ≥ 85 admits one substitution or deletion of any Chinese
    character; two substitutions only once the term has 14 or more characters."""
    one_tried = one_found = 0
    two = {"short_rejected": 0, "short_leaked": 0, "long_found": 0, "long_tried": 0}
    for ct in _policies(tax):
        if ct.policy != "partial" or ct.spec.context_none:
            continue
        latin = {i for i, ch in enumerate(ct.text) if ch.isascii()}
        n = len(ct.text)
        for i in range(n):
            if i in latin:
                continue
            for noisy in (ct.text[:i] + NOISE + ct.text[i + 1:], ct.text[:i] + ct.text[i + 1:]):
                one_tried += 1
                one_found += _term_hit(_line_for(ct, "甲方使用" + noisy + "服务"), ct.spec.term,
                                       _kind_for(ct))
        free = [i for i in range(n) if i not in latin]
        if len(free) >= 4:
            a, b = free[1], free[-2]
            noisy = ct.text[:a] + NOISE + ct.text[a + 1:b] + NOISE + ct.text[b + 1:]
            hit = _term_hit(_line_for(ct, "甲方使用" + noisy + "服务"), ct.spec.term, _kind_for(ct))
            if n >= 14:
                two["long_tried"] += 1
                two["long_found"] += hit
            elif hit:
                two["short_leaked"] += 1
            else:
                two["short_rejected"] += 1
    assert one_tried > 300 and one_found == one_tried
    assert two["short_rejected"] > 40 and two["short_leaked"] == 0
    assert two["long_found"] == two["long_tried"]  # no such term today; the arithmetic below
    threshold = load_taxonomy().matching.partial_ratio_min
    for n in range(7, 14):
        term = "甲乙丙丁戊己庚辛壬癸子丑寅卯"[:n]
        one = term[:3] + NOISE + term[4:]
        two_subs = term[:1] + NOISE + term[2:-2] + NOISE + term[-1:]
        assert fuzz.partial_ratio(term, one) >= threshold > fuzz.partial_ratio(term, two_subs)
    term = "甲乙丙丁戊己庚辛壬癸子丑寅卯"
    assert fuzz.partial_ratio(term, term[:1] + NOISE + term[2:-2] + NOISE + term[-1:]) >= threshold


def test_why_not_partial_ratio_for_short_terms():
    """One wrong character scores the same whether OCR misread it or the word is another word."""
    misread = fuzz.partial_ratio("数据库", "导出数据厍文件")
    other_word = fuzz.partial_ratio("数据库", "导出数据表文件")
    assert misread == other_word < 70
    assert fuzz.partial_ratio("数据库审计", "数据库设计") == 80  # a different product, 80 points
    assert fuzz.partial_ratio("云服务器", "服务器") == 100  # the shorter string is aligned inside
    assert not _term_hit("数据库设计", "数据库审计") and _term_hit("数据库审汁", "数据库审计")


# --------------------------------------------------------------------------- ambiguity, dedup, API


def test_ambiguous_term_returns_every_candidate_with_its_weight():
    ms = {m.name: m.score for m in map_lines([_line("堡垒机 基础版")], None, file="c", kind="contract")}
    assert ms == {"网络安全": 0.8, "数据安全": 0.6, "管理工具": 0.5}
    ms = {m.name: m.score for m in map_lines([_line("WAF")], None, file="c", kind="contract")}
    assert ms == {"网络安全": 1.0, "业务安全": 0.6}


def test_longer_term_hides_a_contained_one():
    hits = explain_line("数据库审计 标准版")
    assert [h.term for h in hits] == ["数据库审计"]


def test_dedup_per_subdomain_and_page():
    lines = [_line("云服务器ECS 2台", 0.1), _line("ECS 实例续费", 0.2), _line("云主机", 0.3)]
    ms = map_lines([(1, lines), (2, lines[:1])], None, file="c.pdf", kind="invoice")
    assert [(m.name, m.page, m.hits) for m in ms] == [("计算资源", 1, 3), ("计算资源", 2, 1)]
    assert ms[0].term == "云服务器ECS" and ms[0].line_index == 0


def test_inputs_lines_pairs_and_pages_agree():
    lines = [_line("对象存储OSS")]
    a = map_lines(lines, None, file="x", kind="contract", page=3)
    b = map_lines([(3, lines)], None, file="x", kind="contract")
    page = Page(number=3, width=595, height=842, unit="pt", source="text-layer", lines=lines)
    c = map_pages([page], None, file="x", kind="contract")
    assert a == b == c and a[0].page == 3
    assert map_lines([], None, file="x", kind="contract") == []


def test_match_carries_what_the_result_needs():
    m = map_lines([_line("*信息技术服务*云服务器ECS")], None, file="发票/1.pdf", kind="invoice")[0]
    assert (m.file, m.doc_kind, m.group, m.kind, m.provider) == ("发票/1.pdf", "invoice", "基础云服务",
                                                                 "business", "阿里云")
    hit = m.to_hit()
    assert isinstance(hit, SubdomainHit) and hit.name == "计算资源" and hit.term == "云服务器ECS"
    ev = m.to_evidence()
    assert ev.file == "发票/1.pdf" and ev.page == 1 and ev.text == "*信息技术服务*云服务器ECS"


def test_min_score_filters_weak_candidates():
    ms = map_lines([_line("堡垒机")], None, file="c", kind="contract", min_score=0.7)
    assert [m.name for m in ms] == ["网络安全"]


# --------------------------------------------------------------------------- geometry


def test_bbox_is_tightened_to_the_matched_words():
    words = [
        Word(text="*信息技术服务*", bbox=[0.10, 0.40, 0.30, 0.42], confidence=0.99),
        Word(text="云服务器ECS", bbox=[0.31, 0.40, 0.45, 0.42], confidence=0.98),
        Word(text="ecs.g7.xlarge", bbox=[0.50, 0.40, 0.62, 0.42], confidence=0.97),
    ]
    line = Line(text="*信息技术服务*云服务器ECS ecs.g7.xlarge", bbox=[0.10, 0.40, 0.62, 0.42],
                confidence=0.98, words=words)
    m = map_lines([line], None, file="i", kind="invoice")[0]
    assert m.bbox == [0.31, 0.40, 0.45, 0.42]


def test_bbox_falls_back_to_the_line_without_words():
    m = map_lines([_line("云服务器ECS", 0.5)], None, file="i", kind="invoice")[0]
    assert m.bbox == [0.1, 0.5, 0.9, 0.52]


def test_a_term_broken_across_lines_is_found_in_flowing_text_only():
    lines = [
        Line(text="乙方向甲方提供阿里云云服务，包括云服务器ECS、对象存储OSS及云数据库R",
             bbox=[0.08, 0.30, 0.92, 0.32], confidence=0.99),
        Line(text="DS等产品。甲方按照本合同约定向乙方支付服务费用。", bbox=[0.08, 0.33, 0.70, 0.35],
             confidence=0.99),
    ]
    broken = [m for m in explain_line(lines[0].text) if m.term == "云数据库RDS"]
    assert broken == []  # not on one line
    ms = map_lines(lines, None, file="c", kind="contract", min_score=0)
    rds = [m for m in ms if m.name == "数据库"]
    assert rds and rds[0].term == "云数据库RDS"
    assert rds[0].matched == "云数据库R\nDS" and rds[0].bbox == [0.08, 0.30, 0.92, 0.35]
    # a screenshot's cells are not flowing text: 云数据库 alone is found, 云数据库RDS is not
    ms = map_lines(lines, None, file="s", kind="screenshot", min_score=0)
    assert [m.term for m in ms if m.name == "数据库"] == ["云数据库"]


def test_cells_side_by_side_are_not_joined():
    """Two table cells (next one to the right, same row) never form a term."""
    lines = [Line(text="数据", bbox=[0.1, 0.3, 0.2, 0.32], confidence=1.0),
             Line(text="库存", bbox=[0.25, 0.3, 0.35, 0.32], confidence=1.0)]
    assert "数据库" not in {m.name for m in map_lines(lines, None, file="c", kind="contract")}


# --------------------------------------------------------------------------- where evidence counts
# Hand-made pages: boxes are page fractions. Two geometries per screen show that chrome is told
# from the layout (a left column of short items, a top row of menu items), not fixed positions.


def _at(text: str, x0: float, y0: float, x1: float | None = None, h: float = 0.03) -> Line:
    x1 = x0 + 0.012 * max(len(text), 2) if x1 is None else x1
    return Line(text=text, bbox=[x0, y0, x1, y0 + h], confidence=0.99)


def _console(scale: float, shift: float, nav: list[str], heading: str, title: list[str],
             body: list[list[str]]) -> list[Line]:
    """A console screen: top bar, left sidebar (heading + nav), title rows, then table rows."""
    lines = [_at(t, 0.15 + 0.06 * k, 0.015) for k, t in enumerate(["工作台", "费用", "工单", "备案"])]
    lines.append(_at("江苏某某精密机械有限公司", 0.85, 0.015))
    left = 0.01 + shift
    lines.append(_at(heading, left, 0.07))
    lines += [_at(t, left, 0.11 + 0.045 * k * scale) for k, t in enumerate(nav)]
    main = left + 0.16 * scale
    lines += [_at(t, main, 0.07 + 0.04 * k) for k, t in enumerate(title)]
    for r, row in enumerate(body):
        lines += [_at(t, main + 0.14 * c, 0.2 + 0.05 * r) for c, t in enumerate(row)]
    lines.append(_at("2024/9/5", 0.94, 0.97, h=0.025))
    return lines


def _shot(lines: list[Line]) -> set[str]:
    return {m.name for m in map_lines(lines, None, file="s.png", kind="screenshot")}


@pytest.mark.parametrize(("scale", "shift"), [(1.0, 0.0), (1.3, 0.03)])
def test_screenshot_menus_are_not_evidence(scale, shift):
    lines = _console(
        scale, shift, ["概览", "实例", "镜像", "弹性块存储", "快照", "安全组", "告警规则"],
        "云服务器 ECS", ["云服务器 ECS / 实例与镜像 / 实例", "实例"],
        [["实例ID/名称", "状态", "配置"], ["i-bp178cc4uzd262nww", "运行中", "4 vCPU 16 GiB"]],
    )
    assert _shot(lines) == {"计算资源"}
    # the same menu words in the main area do count
    lines.append(_at("快照 备份恢复", 0.5, 0.5))
    assert "云灾备" in _shot(lines)


def test_top_bar_needs_a_row_of_menu_items():
    # a lone line at the very top (a cropped screen's title) is not chrome
    assert _shot([_at("云数据库 RDS 实例列表", 0.02, 0.01)]) == {"数据库"}
    bar = [_at(t, 0.1 + 0.08 * k, 0.01) for k, t in enumerate(["首页", "云数据库", "费用"])]
    assert _shot(bar) == set()


def test_a_table_first_column_is_not_a_sidebar():
    # cells left-aligned at the left edge, but the title above starts there too and runs wide
    lines = [_at("资源列表 南京", 0.02, 0.05, x1=0.6)]
    lines += [_at(t, 0.02, 0.12 + 0.05 * k) for k, t in enumerate(["对象存储", "云硬盘", "云主机"])]
    lines += [_at("正常", 0.3, 0.12 + 0.05 * k) for k in range(3)]
    assert _shot(lines) == {"存储资源", "计算资源"}


def test_sidebar_heading_counts_as_the_console_title():
    lines = _console(1.0, 0.0, ["采购管理", "物流管理", "库存管理", "销售管理", "报表中心"],
                     "YonSuite 企业资源规划", ["首页 / 采购管理 / 采购订单", "采购订单列表"],
                     [["订单编号", "供应商", "物流状态"], ["CG20240801", "常州某钢材厂", "运输中"]])
    assert _shot(lines) == {"企业资源规划", "采购管理", "物流管理"}


def test_a_subdomain_named_in_the_title_counts_outright():
    body = [["数据集", "类别"], ["dwd_output", "数据分析"]]
    lines = _console(1.0, 0.0, ["数据管理", "数据探索", "任务调度"], "数据湖计算",
                     ["数据湖计算 / 数据分析", "数据分析 生产数据与销售数据"], body)
    assert {"数据分析", "生产数据", "销售数据"} <= _shot(lines)
    # in a table cell the everyday word still needs 边缘 nearby
    lines = _console(1.0, 0.0, ["数据管理", "数据探索", "任务调度"], "数据湖计算",
                     ["数据湖计算", "数据集列表"], body)
    assert "数据分析" not in _shot(lines)


def test_weak_terms_need_more_in_the_screen_body():
    lines = _console(1.0, 0.0, ["客户列表", "联系人", "跟进记录"], "工作台",
                     ["工作台 / 客户列表", "客户列表"], [["客户名称", "销售管理"]])
    assert "客户资源管理" not in _shot(lines)  # 销售管理 weighs 0.5 < body_min_score
    lines = _console(1.0, 0.0, ["客户列表", "联系人", "跟进记录"], "工作台",
                     ["工作台 / 销售管理", "客户列表"], [["客户名称", "负责人"]])
    assert "客户资源管理" in _shot(lines)  # … but counts in the title


def test_a_suite_on_a_screen_shows_itself_and_the_module_page():
    nav = ["采购管理", "销售管理", "库存管理", "质量管理"]
    lines = _console(1.0, 0.0, nav, "供应链", ["金蝶云·星空 / 供应链 / 采购管理 / 采购订单", "采购订单"],
                     [["单据编号", "供应商"], ["CGDD001201", "常州某铸造有限公司"]])
    assert _shot(lines) == {"企业资源规划", "采购管理"}  # not the menu's 销售/库存/质量管理
    # the suite in the top bar only is chrome
    bar = [_at(t, 0.02 + 0.12 * k, 0.015) for k, t in enumerate(["金蝶云·星空 工作台", "首页", "消息"])]
    assert _shot(bar + [_at("我的任务", 0.3, 0.3)]) == set()


def test_provenance_column_cells_are_not_in_use():
    def screen(header: str) -> set[str]:
        return _shot(_console(1.0, 0.0, ["数据集成", "数据开发", "数据目录"], "DataArts Studio",
                              ["数据治理中心 / 数据目录", "数据目录"],
                              [["数据表", header, "记录数"], ["ods_work_order", "MES 生产工单", "20000"]]))
    assert "制造执行系统" not in screen("来源系统")
    assert "制造执行系统" in screen("应用系统")


def test_an_equipment_term_in_a_machine_label_is_not_the_class():
    def screen(cell: str) -> set[str]:
        return _shot(_console(1.0, 0.0, ["总览", "边缘节点", "应用管理"], "智能边缘平台",
                              ["智能边缘平台 / 异常报警", "异常报警 报警记录"],
                              [["报警名称", "设备名称"], ["主轴温度过高", cell]]))
    assert "智能装备" not in screen("CNC-加工中心-01")
    assert "智能装备" not in screen("五轴加工中心 EQ-0101")
    assert "智能装备" in screen("数控机床")


def test_device_alarm_words_need_device_context():
    assert "异常报警" not in names("入侵检测 告警事件", "contract")
    assert "异常报警" in names("主轴温度过高 告警", "contract")
    assert "实时数据" not in names("运行状态 运行中", "contract")
    assert "实时数据" in names("设备运行状态 在线", "contract")


def test_a_company_name_is_no_evidence():
    for kind in ("contract", "invoice", "screenshot", "other"):
        assert names("名称：苏州瑞柯智能装备股份有限公司", kind) == set()
    assert names("苏州瑞柯智能装备股份有限公司采购数控机床", "other") == {"智能装备"}


# --------------------------------------------------------------------------- contracts, invoices


def _contract(rows: list[list[tuple[str, float]]], clauses: list[str]) -> list[Line]:
    lines = [_at("第一条 服务内容", 0.1, 0.40, x1=0.3)]
    lines += [_at(t, x, 0.45) for t, x in [("序号", 0.1), ("产品名称", 0.16), ("规格配置", 0.37),
                                            ("金额（元）", 0.8)]]
    for r, row in enumerate(rows):
        lines += [_at(t, x, 0.49 + 0.04 * r) for t, x in row]
    y = 0.49 + 0.04 * len(rows)
    lines.append(_at("合计（人民币大写）：壹拾贰万陆仟元整", 0.1, y, x1=0.5))
    lines += [_at(t, 0.1, y + 0.05 + 0.03 * k, x1=0.9) for k, t in enumerate(clauses)]
    return lines


def test_contract_maps_its_product_table_not_its_clauses():
    lines = _contract(
        [[("1", 0.12), ("云服务器ECS", 0.16), ("ecs.g7.xlarge", 0.37), ("27,000.00", 0.8)]],
        ["第五条 数据安全与保密", "乙方应保护甲方的业务数据安全，提供7×24小时客户服务热线及数据备份。"],
    )
    got = {m.name for m in map_lines(lines, None, file="c.pdf", kind="contract")}
    assert got == {"计算资源"}


def test_contract_without_a_table_maps_every_line_but_clause_headings():
    lines = [_at("乙方为甲方提供对象存储OSS 1TB，服务期一年。", 0.1, 0.3, x1=0.9),
             _at("第五条 数据安全与保密", 0.1, 0.35, x1=0.3)]
    assert {m.name for m in map_lines(lines, None, file="c.pdf", kind="contract")} == {"存储资源"}


def test_suite_modules_listed_beside_the_product_count():
    # OCR'd cells arrive out of order: the module cell comes several lines before the product
    rows = [[("财务+供应链+生产制造 40用户", 0.37), ("1套", 0.6), ("36个月", 0.68), ("126,000.00", 0.8),
             ("1", 0.12), ("金蝶云·星空 标准版", 0.16)]]
    lines = _contract(rows, ["乙方负责供应链系统和生产制造系统的运维。"])
    got = {m.name for m in map_lines(lines, None, file="c.pdf", kind="contract")}
    assert got == {"企业资源规划", "生产排产管理", "采购管理"}
    # module words without the suite nearby are not modules of it
    rows = [[("供应链咨询服务", 0.16), ("1项", 0.6), ("9,000.00", 0.8)]]
    got = {m.name for m in map_lines(_contract(rows, []), None, file="c.pdf", kind="contract")}
    assert got == set()


def test_a_suite_sale_includes_its_bundled_scope_a_screen_does_not():
    item = [_at("项目名称 规格型号 单位 数量", 0.05, 0.40, x1=0.95),
            _at("*软件服务*用友YonSuite订阅许可 标准版 30用户 套 1", 0.05, 0.45, x1=0.95),
            _at("合计 ¥35849.06", 0.05, 0.50, x1=0.95)]
    got = {m.name for m in map_lines(item, None, file="i.pdf", kind="invoice")}
    assert got == {"企业资源规划", "采购管理", "物流管理"}
    assert _shot([_at("YonSuite 工作台", 0.3, 0.2)]) == {"企业资源规划"}


def test_an_invoice_item_wrapped_onto_the_next_line_is_joined():
    lines = [_at("货物或应税劳务、服务名称", 0.04, 0.34, x1=0.19),
             _at("*信息系统集成服务*华为云Stack企业主机安", 0.045, 0.575, x1=0.287),
             _at("企业版 30台", 0.30, 0.587, x1=0.374),
             _at("28301.89", 0.69, 0.582, x1=0.748),
             _at("全HSS", 0.046, 0.607, x1=0.086),
             _at("合计", 0.044, 0.694, x1=0.078)]
    got = {m.name for m in map_lines(lines, None, file="i.jpg", kind="invoice")}
    assert got == {"网络安全"}


def test_private_cloud_plans_are_not_evidence_of_use():
    lines = [_at("平台服务层提供虚拟机、容器、数据库和对象存储服务", 0.1, 0.3, x1=0.9)]
    assert map_lines(lines, None, file="p.pdf", kind="private_cloud_doc") == []


# --------------------------------------------------------------------------- explanations


def _letter(texts: list[str]) -> list[Line]:
    return [_at(t, 0.1, 0.1 + 0.03 * k, x1=0.9, h=0.02) for k, t in enumerate(texts)]


def test_a_letter_maps_the_subdomains_it_names_not_those_it_mentions():
    lines = _letter([
        "一、数据上云",
        "（1）生产数据。生产工单、产量、质量检验数据实时上传至云端。",
        "（2）供应链数据。采购订单、到货及物流跟踪数据上传云端。",
        "三、边缘计算",
        "（1）设备台账。设备型号、规格、维保记录等在云端电子化管理。",
        "我单位通过该云服务实现了采购管理、物流管理、企业资源规划等业务的上云应用。",
        "融合财务、销售、生产数据建立经营驾驶舱。",
    ])
    got = {m.name for m in map_lines(lines, None, file="l.pdf", kind="explanation")}
    assert got == {"生产数据", "供应链数据", "设备台账", "采购管理", "物流管理", "企业资源规划"}
    assert all(m.method == "named" for m in map_lines(lines, None, file="l.pdf", kind="explanation"))


def test_a_letter_summary_table_names_subdomains_in_cells():
    lines = _letter(["序号 类别 子域 实现平台 佐证材料", "1 数据上云 生产数据 使用截图",
                     "2 设备服务 异常报警 使用截图"])
    got = {m.name for m in map_lines(lines, None, file="l.pdf", kind="explanation")}
    assert got == {"生产数据", "异常报警"}


def test_a_named_subdomain_tolerates_one_ocr_look_alike():
    got = {m.name for m in map_lines(_letter(["（2）实时数掘。设备参数实时展示。"]), None,
                                     file="l.jpg", kind="explanation")}
    assert got == {"实时数据"}


def test_a_letter_naming_nothing_falls_back_to_its_terms():
    got = {m.name for m in map_lines(_letter(["我公司采用金蝶云·星空进行财务与供应链一体化管理。"]),
                                     None, file="l.pdf", kind="explanation")}
    assert got == {"企业资源规划"}
