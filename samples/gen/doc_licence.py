"""营业执照（副本）: the business licence, A4 landscape, QR code and the authority's seal."""

from __future__ import annotations

from datetime import date

from .built import Built, cn_date, iso
from .entities import Company
from .money import to_uppercase
from .pdfdoc import A4_LANDSCAPE, DocCanvas
from .seals import SealSpec

BORDER = (0.62, 0.36, 0.16)


def build_licence(co: Company, issued: date, seed: int) -> Built:
    d = DocCanvas(A4_LANDSCAPE, title="营业执照", margin_mm=14, seed=seed)
    d.rect(8, 8, 281, 194, width=2.2, stroke=BORDER)
    d.rect(10.5, 10.5, 276, 189, width=0.8, stroke=BORDER)
    d.text(22, 22, "统一社会信用代码", size=10)
    d.text(22, 29, co.uscc, size=13)
    d.text(262, 22, "（1-1）", size=10, align="right")
    d.text(148.5, 30, "营业执照", size=38, align="center", bold=True, char_space=14)
    d.text(148.5, 50, "（副本）", size=15, align="center", char_space=6)
    d.qr(f"http://www.gsxt.gov.cn/index.html?uniscid={co.uscc}", 236, 34, 30)
    for i, ln in enumerate(["扫描二维码登录“国家企业", "信用信息公示系统”了解更", "多登记、备案、许可、监", "管信息。"]):
        d.text(239, 66 + i * 4.2, ln, size=7)
    label_x, value_x = 30, 58
    rlabel_x, rvalue_x = 160, 188
    y = 86
    sole = co.uscc.startswith("92")  # 个体工商户: 经营者, no registered capital
    rows_left = [("名称", co.name), ("类型", co.company_type),
                 ("经营者" if sole else "法定代表人", co.legal_rep)]
    rows_right = [
        ("组成形式", "个人经营") if sole else ("注册资本", to_uppercase(co.capital_yuan)),
        ("注册日期" if sole else "成立日期", cn_date(co.established)),
        ("营业期限", f"{cn_date(co.established)}至长期"),
    ]
    for (l1, v1), (l2, v2) in zip(rows_left, rows_right):
        d.text(label_x, y, l1, size=11, char_space=6 if len(l1) == 2 else 0)
        d.text(value_x, y, v1, size=11)
        d.text(rlabel_x, y, l2, size=11, char_space=6 if len(l2) == 2 else 0)
        d.text(rvalue_x, y, v2, size=11)
        y += 11
    d.text(rlabel_x, y, "经营场所" if sole else "住所", size=11, char_space=0 if sole else 6)
    d.y = y
    d.para(co.address, size=11, indent_chars=0, x=rvalue_x, width=90, leading=1.5)
    d.text(label_x, y, "经营范围", size=11)
    d.y = y
    d.para(co.scope, size=10, indent_chars=0, x=value_x, width=92, leading=1.5)
    d.text(178, 168, "登记机关", size=11, char_space=2)
    d.text(205, 177, cn_date(issued, pad=False), size=11)
    d.seal(SealSpec(co.authority, party="unknown"), 218, 168, rotate_deg=4.0, alpha=0.78)
    d.text(22, 186, "国家企业信用信息公示系统网址：http://www.gsxt.gov.cn", size=7.5)
    d.text(22, 190.5, "市场主体应当于每年1月1日至6月30日通过国家企业信用信息公示系统报送公示年度报告。", size=7.5)
    d.text(275, 190.5, "国家市场监督管理总局监制", size=7.5, align="right")
    pdf = d.finish()
    fields = {
        "date": iso(co.established),
        "name": co.name,
        "uscc": co.uscc,
        "company_type": co.company_type,
        "legal_rep": co.legal_rep,
        "registered_capital_yuan": None if sole else co.capital_yuan,
        "established": iso(co.established),
        "address": co.address,
        "issued": iso(issued),
        "authority": co.authority,
    }
    return Built("licence", fields, pdf=pdf)
