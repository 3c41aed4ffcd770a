"""extractors/letter.py: explanation letters and private-cloud documents."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from extractors.facts import ExtractionContext
from extractors.letter import extract
from extractors.uscc import check_char
from pipeline.evaluation import equal
from pipeline.model import Line, Page, Word

TRUTH = Path(__file__).resolve().parents[1] / "samples" / "truth"
LETTER = ExtractionContext(file="说明.pdf", kind="explanation")
PLAN = ExtractionContext(file="方案.pdf", kind="private_cloud_doc")
CODE = "91320214MA1XYW1B3" + check_char("91320214MA1XYW1B3")


def _units(text: str) -> float:
    return sum(0.5 if unicodedata.east_asian_width(ch) in "NaH" else 1.0 for ch in text)


def ln(text, x0, y0, *, x1=None, h=0.014, conf=1.0, words=None):
    x1 = x1 if x1 is not None else min(0.98, x0 + 0.0175 * _units(text))
    return Line(text=text, bbox=[x0, y0, x1, y0 + h], confidence=conf, words=words or [])


def row(cells, y0, h=0.012):
    words = [Word(text=t, bbox=[x, y0, x + 0.0175 * _units(t), y0 + h], confidence=1.0) for t, x in cells]
    return Line(text=" ".join(t for t, _ in cells), bbox=[words[0].bbox[0], y0, words[-1].bbox[2], y0 + h],
                confidence=1.0, words=words)


def page(lines, source="ocr", number=1):
    return Page(number=number, width=1000, height=1414, unit="px", source=source, lines=lines)


def stacked(page_text):
    pages = []
    for n, texts in enumerate(page_text, 1):
        pitch = min(0.02, 0.9 / max(len(texts), 1))
        lines = [ln(t, 0.1, 0.05 + i * pitch, h=pitch * 0.7, x1=min(0.98, 0.1 + 0.0185 * _units(t)))
                 for i, t in enumerate(texts)]
        pages.append(page(lines, source="text-layer", number=n))
    return pages


def _truth_docs(*kinds):
    for path in sorted(TRUTH.glob("APP-*/truth.json")):
        for doc in json.loads(path.read_text(encoding="utf-8"))["documents"]:
            if doc["kind"] in kinds:
                yield pytest.param(doc, id=f"{path.parent.name}:{doc['file']}")


@pytest.mark.parametrize("doc", list(_truth_docs("explanation", "private_cloud_doc")))
def test_every_printed_field_of_the_sample_letters(doc):
    ctx = LETTER if doc["kind"] == "explanation" else PLAN
    got = extract(stacked(doc["page_text"]), ctx).values()
    truth = {k: v for k, v in doc["fields"].items() if v is not None}
    wrong = {}
    for k, v in truth.items():
        if isinstance(v, list):
            if sorted(v) != sorted(got.get(k) or []):
                wrong[k] = (v, got.get(k))
        elif not equal(v, got.get(k)):
            wrong[k] = (v, got.get(k))
    assert not wrong
    assert not set(got) - set(truth)


# --------------------------------------------------------------------------- cloud-deployment letter


def _deployment_letter(source="ocr"):
    return [page([
        ln("关于《博衍ERP管理系统使用许可合同》云端部署及应用情况的说明", 0.15, 0.06, h=0.022),
        ln("常州市工业和信息化局：", 0.1, 0.10),
        ln(f"常州宏顺五金制品有限公司（统一社会信用代码：{CODE}）与南京博衍", 0.1, 0.13, x1=0.9),
        ln("软件技术有限公司于2024年05月06日签订《博衍ERP管理系统使用许可合同》（合同编", 0.1, 0.15, x1=0.9),
        ln("号：BY-2024-0233），合同金额人民币7,200.00元，服务期限自2024年05月10日", 0.1, 0.17, x1=0.9),
        ln("至2025年05月09日。", 0.1, 0.19),
        ln("我单位通过该云服务实现了企业资源规划、采购管理等业务的上云应用。", 0.1, 0.22),
        ln("申报企业（盖章）：", 0.55, 0.40), ln("常州宏顺五金制品有限公司", 0.55, 0.42),
        ln("2024年09月18日 司", 0.55, 0.44, conf=0.9),
        ln("云服务提供方（盖章）：", 0.55, 0.50), ln("南京博衍软件技术有限公司", 0.55, 0.52),
        ln("2024年09月19日", 0.55, 0.54),
    ], source=source)]


def test_deployment_letter_restates_its_purchase_across_wrapped_lines():
    facts = extract(_deployment_letter(), LETTER)
    got = facts.values()
    assert got["explains"] == "cloud_deployment"
    assert got["about_contract"] == "BY-2024-0233"  # 合同编 / 号：… broken over two lines
    assert got["buyer"] == "常州宏顺五金制品有限公司" and got["buyer_tax_id"] == CODE
    assert got["seller"] == got["about_provider"] == got["provider"] == "南京博衍软件技术有限公司"
    assert got["amount_yuan"] == 7200.0 and "amount_uppercase_yuan" not in got
    assert got["date"] == "2024-09-19"  # the last 落款, a seal's stray 司 beside one of them
    assert sorted(got["subdomains"]) == ["企业资源规划", "采购管理"]
    assert got["cloud_keywords_present"] is True
    # the service period belongs to the contract's facts, not the letter's
    assert not {"period_start", "period_end", "period_months"} & set(got)
    assert facts.fields["about_contract"].page == 1


# --------------------------------------------------------------------------- data / innovation letters


def test_subdomains_from_the_table_column_only_not_category_or_platform():
    cols = [0.10, 0.16, 0.30, 0.50, 0.78]
    lines = [
        ln("无锡恒拓液压科技有限公司数据和设备上云情况说明", 0.2, 0.05, h=0.022),
        ln("公司依托华为云设备接入IoTDA推进数据上云和设备上云，现说明如下：", 0.1, 0.10),
        row(list(zip(["序号", "类别", "子域", "实现平台", "佐证材料"], cols)), 0.20),
        row(list(zip(["1", "数据上云", "生产数据", "华为云设备接入IoTDA", "使用截图"], cols)), 0.23),
        row(list(zip(["2", "创新应用", "设备台帐", "华为云设备接入IoTDA", "使用截图"], cols)), 0.26),
        row(list(zip(["3", "设备服务", "异常报警", "数据处理平台", "使用截图"], cols)), 0.29),
        ln("申报企业（盖章）：", 0.55, 0.40), ln("2024年09月15日", 0.55, 0.44),
    ]
    got = extract([page(lines, source="text-layer")], LETTER).values()
    assert got["explains"] == "data_device"
    # 设备台帐 (帐 for 账) resolves; the 类别 column's 创新应用 and the platform column do not count
    assert got["subdomains"] == ["生产数据", "设备台账", "异常报警"]
    assert got["cloud_keywords_present"] is False and got["date"] == "2024-09-15"
    for absent in ("provider", "about_provider", "buyer", "seller", "about_contract", "amount_yuan"):
        assert absent not in got  # 华为云 named in passing is not a provider statement


def test_innovation_letter_items_not_words_in_passing():
    lines = [
        ln("基于数据+模型的创新应用情况和效果说明", 0.2, 0.05, h=0.022),
        ln("公司在实现业务上云、数据上云和设备上云的基础上开展创新应用：", 0.1, 0.10),
        ln("一、创新应用情况", 0.1, 0.13),
        ln("(1)企业运营分析和预测。融合财务、销售、生产数据建立经营驾驶舱。", 0.12, 0.16, conf=0.97),
        ln("（2）产品质量管控及工艺优化：训练质量预测模型。", 0.12, 0.19),
        ln("2024年09月16日", 0.55, 0.44),
    ]
    got = extract([page(lines)], LETTER).values()
    assert got["explains"] == "innovation"
    assert sorted(got["subdomains"]) == ["产品质量管控及工艺优化", "企业运营分析和预测"]  # no 生产数据


def test_letter_kind_from_the_body_when_the_title_is_unreadable():
    lines = [ln("▓▓▒▒ 说明", 0.3, 0.05, conf=0.4), ln("x", 0.3, 0.08), ln("y", 0.3, 0.09),
             ln("现将数据和设备上云情况说明如下：", 0.1, 0.12)]
    assert extract([page(lines)], LETTER).get("explains") == "data_device"


# --------------------------------------------------------------------------- private-cloud documents


def test_private_cloud_plan_title_date_vendor_platform():
    cover = page([
        ln("南通锦程纺织科技有限公司", 0.3, 0.15, h=0.03),
        ln("私有云平台实施方案", 0.3, 0.20, h=0.035),
        ln("编制单位：南通锦程纺织科技有限公司信息部", 0.3, 0.5),
        ln("编制日期：2024年03月02日", 0.3, 0.53),
    ], source="text-layer")
    body = page([
        ln("三、总体架构", 0.1, 0.1),
        ln("平台采用ZStack搭建，计算、存储资源池化。平台由南京云帆信息科技有限公", 0.1, 0.13, x1=0.9),
        ln("司负责实施并提供运维服务。经营类系统使用公有云产品。", 0.1, 0.15),
    ], source="text-layer", number=2)
    got = extract([cover, body], PLAN).values()
    assert got == {
        "title": "南通锦程纺织科技有限公司私有云平台实施方案",
        "date": "2024-03-02",
        "provider": "南京云帆信息科技有限公司",
        "platform": "ZStack",
        "cloud_keywords_present": True,
    }


def test_private_cloud_doc_without_vendor_or_platform_reports_neither():
    got = extract([page([ln("私有云平台用户手册", 0.3, 0.1, h=0.03), ln("请使用统一身份认证账号登录。", 0.1, 0.3)],
                        source="text-layer")], PLAN).values()
    assert got == {"title": "私有云平台用户手册", "cloud_keywords_present": False}


def test_letter_date_is_its_own_not_a_date_the_body_labels():
    lines = [
        ln("关于云端部署情况的说明", 0.3, 0.05, h=0.022),
        ln("合同签订日期：2024年04月02日，服务期限一年。", 0.1, 0.10),
        ln("申报企业（盖章）：", 0.55, 0.40),
        ln("2024年09月10日", 0.55, 0.44),
    ]
    assert extract([page(lines, source="text-layer")], LETTER).get("date") == "2024-09-10"
    lines[3] = ln("日期：2024年09月12日", 0.55, 0.44)
    assert extract([page(lines, source="text-layer")], LETTER).get("date") == "2024-09-12"
