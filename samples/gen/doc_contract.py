"""Cloud purchase contracts (agreements) and console order forms (订单详情)."""

from __future__ import annotations

import random

from .built import Built, cloud_keywords, cn_date, iso
from .entities import Company, Provider
from .money import fmt, to_uppercase
from .pdfdoc import A4, Cell, DocCanvas
from .seals import SealSpec
from .spec import ContractSpec


def _parties(spec: ContractSpec, co: Company, pv: Provider):
    """(甲方, 乙方) as (name, tax id, address, phone, role label)."""
    buyer = (co.name, co.uscc, co.address, co.phone)
    seller = (pv.name, pv.tax_id, pv.address, pv.phone)
    if spec.buyer_role == "甲方":
        return (buyer, "甲方（采购方）"), (seller, "乙方（服务方）")
    return (seller, "甲方（服务提供方）"), (buyer, "乙方（用户方）")


def build_agreement(spec: ContractSpec, co: Company, pv: Provider, seed: int) -> Built:
    rng = random.Random(seed)
    cloud = spec.cloud_wording
    title = spec.title or (f"{pv.short}云服务采购合同" if cloud else f"{spec.lines[0].name}合同")
    d = DocCanvas(A4, title=title, margin_mm=22, seed=seed)
    d.text(105, 24, title, size=18, align="center", bold=True)
    d.y = 40
    d.text(d.w - 22, d.y, f"合同编号：{spec.number}", size=10.5, align="right")
    d.y += 7
    d.text(d.w - 22, d.y, f"签订地点：{co.city}", size=10.5, align="right")
    d.y += 11
    (pa, la), (pb, lb) = _parties(spec, co, pv)
    for (name, tax, addr, phone), label in ((pa, la), (pb, lb)):
        d.text(22, d.y, f"{label}：{name}", size=10.5, bold=True)
        d.y += 6.5
        d.text(22, d.y, f"统一社会信用代码：{tax}", size=10.5)
        d.y += 6.5
        d.text(22, d.y, f"地址：{addr}", size=10.5)
        d.y += 6.5
        d.text(22, d.y, f"联系电话：{phone}", size=10.5)
        d.y += 9
    buyer_side = "甲方" if spec.buyer_role == "甲方" else "乙方"
    seller_side = "乙方" if buyer_side == "甲方" else "甲方"
    subject = f"{buyer_side}向{seller_side}采购{pv.short}云服务" if cloud else \
        f"{buyer_side}订阅使用{seller_side}提供的{spec.lines[0].name}"
    d.para(f"根据《中华人民共和国民法典》及相关法律法规的规定，双方本着平等自愿、诚实信用的原则，"
           f"就{subject}事宜，经友好协商，订立本合同，以资共同遵守。")
    d.gap(3)
    d.para("第一条 服务内容", bold=True, indent_chars=0)
    what = "云服务产品" if cloud else "软件产品及相应的技术支持服务"
    d.para(f"{seller_side}向{buyer_side}提供以下{what}，具体名称、规格、数量及价格如下表所示：")
    d.gap(2)
    period = f"{spec.months}个月" if spec.months else "—"
    rows: list[list] = [["序号", "产品名称", "规格配置", "数量", "服务期限", "金额（元）"]]
    for i, li in enumerate(spec.lines, 1):
        rows.append([str(i), li.name, li.product.spec, f"{li.qty}{li.product.unit}", period,
                     fmt(li.amount, comma=True)])
    upper_amount = spec.uppercase_override if spec.uppercase_override is not None else spec.amount
    upper = to_uppercase(upper_amount)
    rows.append([Cell(f"合计（人民币大写）：{upper}", colspan=5, align="left"),
                 fmt(spec.amount, comma=True)])
    d.table([12, 44, 46, 16, 20, 28], rows, size=9.5, aligns=["center", "left", "left", "center",
                                                              "center", "right"])
    d.gap(5)
    d.para("第二条 服务期限", bold=True, indent_chars=0)
    if spec.start and spec.end:
        d.para(f"本合同服务期限为{spec.months}个月，自{cn_date(spec.start)}起至{cn_date(spec.end)}止。"
               f"服务期限届满前三十日内，双方可协商续约事宜。")
    d.gap(2)
    d.para("第三条 合同金额及支付方式", bold=True, indent_chars=0)
    d.para(f"本合同总金额为人民币{upper}（¥{fmt(spec.amount, comma=True)}），该金额已包含增值税。"
           f"{buyer_side}应于本合同签订之日起十五个工作日内一次性支付全部款项，{seller_side}"
           f"在收到款项后向{buyer_side}开具等额合法有效的发票。")
    d.gap(2)
    d.para("第四条 服务标准", bold=True, indent_chars=0)
    if cloud:
        d.para(f"{seller_side}保证所提供云服务的月度可用性不低于99.95%，并提供7×24小时技术支持。"
               f"因{seller_side}原因导致服务不可用的，{seller_side}按照服务等级协议的约定给予赔偿。")
    else:
        d.para(f"{seller_side}负责系统的开通、配置、升级及日常运行维护，保证系统稳定运行，"
               f"并在工作日9:00至18:00提供电话及远程技术支持。")
    d.gap(2)
    d.para("第五条 数据安全与保密", bold=True, indent_chars=0)
    d.para(f"{seller_side}应采取必要的技术和管理措施保护{buyer_side}的业务数据安全，未经{buyer_side}"
           f"书面同意不得向任何第三方披露、使用或转让。双方对在履行本合同过程中知悉的对方商业秘密"
           f"负有保密义务，保密期限不因本合同的终止而终止。")
    d.gap(2)
    d.para("第六条 违约责任及争议解决", bold=True, indent_chars=0)
    d.para("任何一方违反本合同约定的，应承担相应的违约责任。因本合同引起的争议，双方应友好协商解决；"
           f"协商不成的，任何一方均可向{buyer_side}所在地有管辖权的人民法院提起诉讼。")
    d.gap(2)
    d.para("第七条 其他", bold=True, indent_chars=0)
    d.para("本合同一式肆份，双方各执贰份，具有同等法律效力，自双方签字盖章之日起生效。")
    d.para("（以下无正文）", indent_chars=0)
    d.gap(6)
    d.ensure(58)
    y0 = d.y
    sides = [(22, la.split("（")[0], pa[0]), (115, lb.split("（")[0], pb[0])]
    for x, side, name in sides:
        d.text(x, y0, f"{side}（盖章）：", size=10.5)
        d.text(x, y0 + 7, name, size=10.5)
        d.text(x, y0 + 20, "法定代表人或授权代表（签字）：", size=10.5)
        d.text(x, y0 + 33, f"日期：{cn_date(spec.date)}", size=10.5)
    parties = {"甲方": pa[0], "乙方": pb[0]}
    for x, side, name in sides:
        role = "buyer" if name == co.name else "seller"
        if role in spec.seals:
            party = "applicant" if role == "buyer" else "seller"
            bottom = "合同专用章"
            d.seal(SealSpec(name, bottom, party=party), x + 30 + rng.uniform(-6, 6),
                   y0 + 16 + rng.uniform(-4, 4), rotate_deg=rng.uniform(-12, 12))
    pdf = d.finish()
    assert parties
    fields = {
        "title": title,
        "contract_number": spec.number,
        "party_a": pa[0],
        "party_b": pb[0],
        "buyer": co.name,
        "buyer_tax_id": co.uscc,
        "seller": pv.name,
        "seller_tax_id": pv.tax_id,
        "provider": pv.name,
        "amount_yuan": spec.amount,
        "amount_uppercase_yuan": upper_amount,
        "amount_uppercase_text": upper,
        "date": iso(spec.date),
        "period_start": iso(spec.start),
        "period_end": iso(spec.end),
        "period_months": spec.months,
        "product_lines": [{"name": li.name, "spec": li.product.spec, "quantity": li.qty,
                           "amount": li.amount} for li in spec.lines],
        "cloud_keywords_present": cloud_keywords(pdf.page_text),
        "invoice_number": None,
    }
    subdomains = sorted({s for li in spec.lines for s in li.product.subdomains})
    return Built("contract", fields, pdf=pdf, subdomains=subdomains)


def build_order(spec: ContractSpec, co: Company, pv: Provider, seed: int) -> Built:
    """A console order printed from the browser: 订单号, 下单时间, products, 实付金额."""
    rng = random.Random(seed)
    title = "订单详情"
    d = DocCanvas(A4, title=title, margin_mm=14, seed=seed)
    placed = f"{spec.date.isoformat()} {rng.randint(9, 17):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    d.text(14, 8, f"{spec.date.year}/{spec.date.month}/{spec.date.day} {placed[11:16]}", size=7.5)
    d.text(105, 8, f"订单详情 - {pv.short}控制台", size=7.5, align="center")
    d.rect(14, 16, 182, 14, stroke=None, fill=(0.14, 0.16, 0.19))
    d.text(18, 20, f"{pv.short}", size=13, bold=True, color=(1, 1, 1))
    d.text(40, 21, "费用中心 / 订单管理 / 订单详情", size=9.5, color=(0.85, 0.85, 0.85))
    d.y = 38
    d.text(14, d.y, title, size=16, bold=True)
    d.y += 12
    paid = f"{spec.date.isoformat()} {int(placed[11:13]) :02d}:{min(59, int(placed[14:16]) + 3):02d}:{rng.randint(0, 59):02d}"
    account_id = str(rng.randint(100000000000, 999999999999))
    info = [
        [Cell("基本信息", colspan=4, align="left", bold=True)],
        ["订单号", spec.number, "订单状态", "已支付"],
        ["下单时间", placed, "支付时间", paid],
        ["账号ID", account_id, "账号名称", co.name],
        ["订单类型", "新购", "支付方式", "对公汇款"],
    ]
    d.table([26, 65, 26, 65], info, size=9.5, aligns=["left", "left", "left", "left"], header_rows=0,
            line_width=0.4)
    d.gap(8)
    d.text(14, d.y, "产品信息", size=11, bold=True)
    d.y += 8
    dur = f"{spec.months}个月" if spec.months else "按量"
    rows: list[list] = [["产品名称", "配置", "地域", "购买时长", "数量", "订单金额（元）"]]
    for li in spec.lines:
        rows.append([li.name, li.product.spec, "南京", dur, str(li.qty), fmt(li.amount)])
    d.table([38, 52, 16, 22, 14, 40], rows, size=9.5,
            aligns=["left", "left", "center", "center", "center", "right"], line_width=0.4)
    d.gap(6)
    if spec.start and spec.end:
        d.text(14, d.y, f"服务期：{spec.start.isoformat()} 至 {spec.end.isoformat()}", size=10)
        d.y += 8
    d.text(196, d.y, f"原价合计：¥{fmt(spec.amount)}", size=10, align="right")
    d.y += 7
    d.text(196, d.y, "优惠金额：¥0.00", size=10, align="right")
    d.y += 8
    d.text(196, d.y, f"实付金额：¥{fmt(spec.amount)}", size=13, bold=True, align="right",
           color=(0.85, 0.3, 0.0))
    d.y += 16
    d.text(14, d.y, f"{'云服务' if spec.cloud_wording else ''}提供方：{pv.name}", size=9.5)
    d.y += 6
    d.text(14, d.y, f"如需发票，请在费用中心-发票管理中申请开具，发票抬头：{co.name}", size=9.5)
    d.text(14, 287, f"https://console.{pv.key}.example.cn/expense/order/{spec.number}", size=7.5)
    d.text(196, 287, "1/1", size=7.5, align="right")
    pdf = d.finish()
    fields = {
        "title": title,
        "contract_number": spec.number,
        "party_a": None,
        "party_b": None,
        "buyer": co.name,
        "buyer_tax_id": None,
        "seller": pv.name,
        "seller_tax_id": None,
        "provider": pv.name,
        "amount_yuan": spec.amount,
        "amount_uppercase_yuan": None,
        "date": iso(spec.date),
        "period_start": iso(spec.start),
        "period_end": iso(spec.end),
        "period_months": spec.months,
        "product_lines": [{"name": li.name, "spec": li.product.spec, "quantity": li.qty,
                           "amount": li.amount} for li in spec.lines],
        "cloud_keywords_present": cloud_keywords(pdf.page_text),
        "invoice_number": None,
        "order_form": True,
    }
    subdomains = sorted({s for li in spec.lines for s in li.product.subdomains})
    return Built("contract", fields, pdf=pdf, subdomains=subdomains)
