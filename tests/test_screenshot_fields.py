"""extractors/screenshot.py: capture time, account holder, provider and products of a screen.

Screens are built as OCR'd 1280×800 pages: a top bar (brand left, account right), a left
sidebar menu, a main area (breadcrumb, title, cards, table) and the taskbar clock.
"""

from __future__ import annotations

from extractors.facts import ExtractionContext
from extractors.screenshot import extract
from pipeline.model import Line, Page

CTX = ExtractionContext(file="截图.png", kind="screenshot", is_image=True)


def ln(text: str, x0: float, y0: float, *, w: float | None = None, h: float = 0.03, conf: float = 0.99) -> Line:
    w = w if w is not None else 0.011 * len(text)
    return Line(text=text, bbox=[x0, y0, min(0.999, x0 + w), min(0.999, y0 + h)], confidence=conf)


def screen(brand: str | None, account: str | None, nav: list[str], main: list[str],
           clock: tuple[str, str] | None = ("10:21", "2024/9/5"), rows: list[list[str]] = ()) -> list[Page]:
    lines: list[Line] = []
    if brand:
        lines.append(ln(f"█{brand} 控制台", 0.008, 0.010, w=0.11))
    lines += [ln(t, 0.2 + 0.05 * i, 0.016) for i, t in enumerate(["工作台", "费用", "工单"])]
    if account:
        lines.append(ln(account, 0.86, 0.018, w=0.13))
    lines += [ln(t, 0.015, 0.07 + 0.043 * i, w=0.07) for i, t in enumerate(nav)]
    lines += [ln(t, 0.172, 0.07 + 0.04 * i) for i, t in enumerate(main)]
    for r, cells in enumerate(rows):
        lines += [ln(c, 0.184 + 0.16 * k, 0.30 + 0.05 * r) for k, c in enumerate(cells)]
    if clock:
        lines.append(ln(clock[0], 0.959, 0.951))
        lines.append(ln(clock[1], 0.945, 0.973))
    return [Page(number=1, width=1280, height=800, unit="px", source="ocr", lines=lines)]


def test_console_screen_fields():
    pages = screen("阿里云", "江苏澄明精密机械有限公司", ["云服务器 ECS", "概览", "实例", "云数据库 RDS"],
                   ["云服务器 ECS / 实例与镜像 / 实例", "实例"],
                   rows=[["i-bp178cc4uzd262nvw", "运行中", "2027-01-09 23:59"]])
    facts = extract(pages, CTX)
    got = facts.values()
    assert got == {
        "date": "2024-09-05",
        "captured_at": "2024-09-05T10:21",
        "account_name": "江苏澄明精密机械有限公司",
        "provider": "阿里云计算有限公司",
        "products": ["云服务器ECS"],  # the sidebar's 云数据库 RDS is a menu, not use
    }
    assert facts.fields["date"].bbox[1] > 0.9  # read from the taskbar, not the table's expiry


def test_sidebar_only_products_do_not_count_and_longer_names_win():
    pages = screen("华为云", "无锡恒拓液压科技有限公司",
                   ["资源管理", "弹性云服务器ECS", "对象存储服务OBS", "云备份CBR", "企业主机安全"],
                   ["控制台 / 我的资源", "我的资源 华北-北京四"],
                   rows=[["ecs-mes-01", "弹性云服务器ECS", "运行中"], ["rds-1", "云数据库RDS for MySQL", "正常"]])
    got = extract(pages, CTX).values()
    assert got["products"] == ["弹性云服务器ECS", "云数据库RDS for MySQL"]
    assert got["provider"] == "华为云计算技术有限公司"


def test_breadcrumb_module_beats_its_suite_and_other_providers_products_are_ignored():
    pages = screen("金蝶云·星空", "泰州华晟医疗器械有限公司", ["经营驾驶舱", "利润分析"],
                   ["金蝶云·星空 / 经营分析 / 企业运营分析和预测", "企业运营分析和预测"],
                   rows=[["营业收入", "数据来源：腾讯云 云服务器CVM"]])
    got = extract(pages, CTX).values()
    assert got["products"] == ["金蝶云·星空 经营分析"]
    assert got["provider"] == "金蝶软件（中国）有限公司"


def test_saas_workbench_shows_its_brand_product():
    pages = screen("用友YonSuite", "无锡恒拓液压科技有限公司", ["YonSuite 企业资源规划", "采购管理", "物流管理"],
                   ["供应链云 / 采购管理 / 采购订单", "采购订单列表"])
    got = extract(pages, CTX).values()
    assert got["products"] == ["用友YonSuite"] and got["provider"] == "用友网络科技股份有限公司"


def test_vendor_outside_the_provider_catalog():
    pages = screen("博衍ERP 管理系统", "常州宏顺五金制品有限公司", ["企业资源规划", "采购管理"],
                   ["首页 / 采购管理 / 采购入库单"])
    got = extract(pages, CTX).values()
    assert got["provider"] == "南京博衍软件技术有限公司" and got["products"] == ["博衍ERP管理系统"]


def test_unreadable_brand_provider_from_its_products_at_lower_confidence():
    pages = screen(None, "宿迁市宿城区鑫达木业加工厂", ["弹性云主机", "云硬盘"], ["控制中心 / 弹性云主机", "弹性云主机 南京3"])
    facts = extract(pages, CTX)
    assert facts.get("products") == ["弹性云主机"]
    assert facts.get("provider") == "天翼云科技有限公司" and facts.fields["provider"].confidence < 0.9


def test_no_clock_no_date_and_no_company_no_account():
    pages = screen("腾讯云", None, ["云服务器"], ["云服务器 / 实例 / 南京"], clock=None,
                   rows=[["ins-1", "运行中", "2025-03-01"]])
    got = extract(pages, CTX).values()
    assert "date" not in got and "captured_at" not in got and "account_name" not in got
    assert got["products"] == ["云服务器CVM"]


def test_clock_on_one_line_and_single_digit_hour():
    pages = screen("腾讯云", "苏州瑞柯智能装备股份有限公司", [], ["物联网开发平台 / 设备台账"], clock=None)
    pages[0].lines.append(ln("9:05 2024/9/10", 0.90, 0.965))
    got = extract(pages, CTX).values()
    assert got["captured_at"] == "2024-09-10T09:05" and got["date"] == "2024-09-10"
    assert got["products"] == ["物联网开发平台IoT Explorer"]


def test_screen_without_any_known_product_reports_none():
    pages = screen("阿里云", "江苏澄明精密机械有限公司", ["概览"], ["费用中心 / 账单详情"])
    got = extract(pages, CTX).values()
    assert "products" not in got and got["provider"] == "阿里云计算有限公司"


def test_ocr_misreads_in_brand_and_product_names():
    # 去 for 云 in the brand; one misread character in a five-character product name
    pages = screen("腾讯去", "泰州华晟医疗器械有限公司", ["数据湖计算", "数据管理"], ["数掘湖计算 / 数据分析"])
    facts = extract(pages, CTX)
    assert facts.get("provider") == "腾讯云计算（北京）有限责任公司"
    assert facts.get("products") == ["云数据仓库"]


def test_a_misread_never_overrides_a_name_read_right():
    # 金蝶云·星空 is read right; it must not also count as a misread 金蝶云·星辰
    pages = screen("金蝶云·星空", "泰州华晟医疗器械有限公司", ["生产制造"], ["金蝶云·星空 / 生产制造 / 生产排产管理"])
    assert extract(pages, CTX).get("products") == ["金蝶云·星空"]


def test_sidebar_title_names_the_console_when_the_main_area_does_not():
    pages = screen("阿里云", "江苏澄明精密机械有限公司", ["云服务器 ECS", "概览", "实例", "云数据库 RDS"],
                   ["EC5 / 实例与镜像 / 实例"])
    assert extract(pages, CTX).get("products") == ["云服务器ECS"]  # not the menu's 云数据库 RDS


def test_unknown_brand_takes_the_provider_the_main_area_names_first():
    pages = screen(None, "泰州华晟医疗器械有限公司", [], ["数据湖计算 / 数据分析"],
                   rows=[["dwd_production", "金蝶云·星空 生产制造"]])
    facts = extract(pages, CTX)
    assert facts.get("products") == ["云数据仓库"] and facts.get("provider") == "腾讯云计算（北京）有限责任公司"


def test_a_garbled_clock_gives_no_date_rather_than_a_wrong_one():
    pages = screen("阿里云", "江苏澄明精密机械有限公司", [], ["云服务器 ECS / 实例"], clock=("10:21", "2024/9/1X"))
    got = extract(pages, CTX).values()
    assert "date" not in got and "captured_at" not in got
    pages = screen("阿里云", "江苏澄明精密机械有限公司", [], ["云服务器 ECS / 实例"], clock=("1O:21", "2O24/9/5"))
    assert extract(pages, CTX).get("captured_at") == "2024-09-05T10:21"  # look-alikes repaired
