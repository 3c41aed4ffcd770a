"""星级上云企业评定申请表: cover, 基本情况, 配套材料 list and the 附表 checklist with ticks,
proof page numbers and (3-star version only, as in 附件1) the 年化投入 figure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from .built import Built, cn_date, iso
from .entities import Company, catalog
from .money import fmt
from .pdfdoc import A4, Cell, DocCanvas
from .seals import SealSpec

DEPLOY_CN = {"public": "公有云", "private": "私有云", "hybrid": "混合云"}
STAR_CN = {3: "三星级", 4: "四星级", 5: "五星级"}


@dataclass(frozen=True)
class FormInput:
    star: int
    deployment: str
    filled: date
    start: date
    partners: tuple[str, ...]
    claims: tuple[str, ...]
    pages: dict[str, int]  # subdomain → proof page in the submission
    claimed_spend: float | None
    uscc_printed: str
    scope_text: str
    effect_text: str
    sealed: bool = True


def _rows_for(star: int) -> list[list[str]]:
    rows = catalog()["form_rows"]
    return [r for r in rows if r[0] == "业务上云"] if star == 3 else list(rows)


def build_form(co: Company, fi: FormInput, seed: int) -> Built:
    rng = random.Random(seed)
    version = "（适用于三星级）" if fi.star == 3 else "（适用于四星级、五星级）"
    d = DocCanvas(A4, title="星级上云企业评定申请表", margin_mm=22, seed=seed)
    # ---- cover
    d.text(105, 80, "星级上云企业评定申请表", size=24, align="center", bold=True)
    d.text(105, 96, version, size=15, align="center")
    d.text(40, 170, f"申报企业：{co.name}（盖章）", size=14)
    d.text(40, 186, f"填报日期：{cn_date(fi.filled, pad=False)}", size=14)
    d.text(105, 255, "江苏省工业和信息化厅编制", size=13, align="center")
    if fi.sealed:
        d.seal(SealSpec(co.name, party="applicant"), 120 + rng.uniform(-10, 10), 172,
               rotate_deg=rng.uniform(-12, 12))
    # ---- basic information
    d.new_page()
    d.para("申请单位基本情况", size=14, bold=True, indent_chars=0, align="center")
    d.gap(2)
    deploy = DEPLOY_CN[fi.deployment]
    rows: list[list] = [
        [Cell("申请单位基本情况", colspan=4, bold=True)],
        ["中文名称", Cell(co.name, colspan=3, align="left")],
        ["单位性质", Cell(co.company_type, colspan=3, align="left")],
        ["注册地址", Cell(co.address, colspan=3, align="left")],
        ["统一社会信用代码", fi.uscc_printed, "注册资金（万元）", str(co.capital_wan)],
        ["法人代表姓名", co.legal_rep, "电话", co.phone],
        ["联系人姓名", co.contact, "职务", co.contact_title],
        ["手机", co.contact_mobile, "电子邮箱", co.email],
        ["企业总人数", f"{co.staff}人", "使用云服务人员数量", f"{co.cloud_staff}人"],
    ]
    if fi.star != 3:
        rows.append(["申请评定星级", Cell(STAR_CN[fi.star], colspan=3, align="left")])
    rows += [
        ["云服务部署模型", Cell(deploy, colspan=3, align="left")],
        ["上云合作机构", Cell("、".join(fi.partners), colspan=3, align="left")],
        ["上云开始时间", Cell(f"{fi.start.year}年{fi.start.month:02d}月", colspan=3, align="left")],
        ["所处行业", Cell(co.industry, colspan=3, align="left")],
        ["上云范围及内容简介", Cell(fi.scope_text, colspan=3, align="left")],
        ["上云效果说明", Cell(fi.effect_text, colspan=3, align="left")],
    ]
    d.table([36, 52, 36, 42], rows, size=10, row_h=9, aligns=["center", "left", "center", "left"],
            header_rows=0)
    d.gap(4)
    d.ensure(50)
    d.para("真实性承诺：我单位申报的所有材料，均真实、完整，如有不实，愿承担相应的责任。", size=10.5,
           indent_chars=0)
    d.gap(4)
    y = d.y
    d.text(30, y, f"法人代表（签字）：{co.legal_rep}", size=10.5)
    d.text(110, y, "申报单位（公章）：", size=10.5)
    d.text(110, y + 10, cn_date(fi.filled, pad=False), size=10.5)
    if fi.sealed:
        d.seal(SealSpec(co.name, party="applicant"), 150 + rng.uniform(-6, 6), y + 4,
               rotate_deg=rng.uniform(-12, 12))
    # ---- checklist
    d.new_page()
    d.para("附表 企业上云业务及应用表", size=14, bold=True, indent_chars=0, align="center")
    d.gap(2)
    head = "是否上云/年化投入" if fi.star == 3 else "是否上云"
    table: list[list] = [["类", "子类", "域", "子域", head, "证明材料在申报书中的页码"]]
    prev: list[str] = ["", "", ""]
    ticks: dict[str, dict] = {}
    for r in _rows_for(fi.star):
        cells: list = []
        for i in range(3):
            same = all(r[j] == prev[j] for j in range(i + 1))
            cells.append(None if same else r[i])
        prev = r[:3]
        claimed = r[3] in fi.claims
        page = fi.pages.get(r[3]) if claimed else None
        cells += [r[3], "√" if claimed else "", str(page) if page else ""]
        table.append(cells)
        ticks[r[3]] = {"claimed": claimed, "page": page}
    if fi.star == 3:
        spend = f"{fmt(fi.claimed_spend, comma=True)}元" if fi.claimed_spend is not None else ""
        table.append([Cell("年化投入", colspan=3), "不低于1万元", spend, ""])
    d.table([18, 26, 24, 52, 22, 24], table, size=8.5, row_h=6.6,
            aligns=["center", "center", "center", "left", "center", "center"])
    pdf = d.finish()
    fields = {
        "date": iso(fi.filled),
        "company": co.name,
        "uscc": fi.uscc_printed,
        "star_sought": fi.star,
        "deployment": fi.deployment,
        "start_date": f"{fi.start.year}-{fi.start.month:02d}",
        "industry": co.industry,
        "legal_rep": co.legal_rep,
        "registered_capital_yuan": co.capital_yuan,
        "partners": list(fi.partners),
        "ticks": ticks,
        "claimed_spend_yuan": fi.claimed_spend if fi.star == 3 else None,
        "amount_yuan": None, "amount_uppercase_yuan": None, "buyer": None, "seller": None,
        "invoice_number": None, "provider": None, "cloud_keywords_present": None,
    }
    return Built("application_form", fields, pdf=pdf, subdomains=[])
