"""Invoices: 数电发票 (20-digit number, QR code) and the older 增值税专用/普通发票 family
(12-digit 发票代码 + 8-digit 发票号码, 密码区, oval 发票专用章)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .built import Built, cloud_keywords, cn_date, iso
from .entities import Company, Provider
from .ids import (make_check_code, make_digital_invoice_number, make_vat_invoice_code,
                  make_vat_invoice_no)
from .money import fmt, r2, to_fen, to_uppercase
from .pdfdoc import Cell, DocCanvas
from .seals import SealSpec
from .spec import ContractSpec, InvoiceSpec, LineItem

TAX_RATE = 0.06
INK = (0.55, 0.25, 0.12)  # the brown-red of invoice forms
CLERKS = ["张丽", "刘洋", "陈静", "赵敏", "孙倩", "周婷"]
CHECKERS = ["王磊", "李娜", "杨帆", "吴琼"]


@dataclass(frozen=True)
class Item:
    name: str
    spec: str
    unit: str
    qty: int
    amount: float  # 金额 (tax exclusive)
    tax: float

    @property
    def unit_price(self) -> float:
        return self.amount / self.qty


def split_items(lines: tuple[LineItem, ...], total: float) -> list[Item]:
    """Spread a tax-inclusive ``total`` over ``lines`` in proportion; cents add up exactly."""
    base = sum(li.amount for li in lines)
    fen_total = to_fen(total)
    shares = [to_fen(li.amount / base * total) for li in lines]
    shares[-1] += fen_total - sum(shares)
    items = []
    for li, fen in zip(lines, shares):
        gross = fen / 100
        net = r2(gross / (1 + TAX_RATE))
        items.append(Item(f"*{li.product.tax_class}*{li.name}", li.product.spec, li.product.unit,
                          li.qty, net, r2(gross - net)))
    return items


def _invoice_items(inv: InvoiceSpec, contract: ContractSpec | None) -> tuple[list[Item], float]:
    lines = inv.lines or (contract.lines if contract else ())
    if not lines:
        raise ValueError(f"{inv.file}: an invoice needs lines (or a contract)")
    total = inv.amount if inv.amount is not None else (contract.amount if contract
                                                      else sum(li.amount for li in lines))
    return split_items(lines, total), r2(total)


def _number(inv: InvoiceSpec, pv: Provider, rng: random.Random) -> tuple[str, str | None, str | None]:
    """(invoice_number field, 发票代码, 发票号码)."""
    prov = {"浙江": "33", "贵州": "52", "北京": "11", "深圳": "44", "江苏": "32",
            "上海": "31"}[pv.province]
    if inv.type == "digital":
        num = inv.number or make_digital_invoice_number(rng, inv.date.year, prov)
        return num, None, num
    if inv.number:
        code, no = inv.number.split("-")
    else:
        code = make_vat_invoice_code(rng, inv.date.year, inv.invoice_kind, prov + "00")
        if inv.type == "vat-electronic":
            code = "0" + code[1:]
        no = make_vat_invoice_no(rng)
    return f"{code}-{no}", code, no


def _supervision_seal(pv: Provider) -> SealSpec:
    office = pv.tax_office.replace("国家税务总局", "")
    bureau = office if office.endswith("省税务局") else pv.province + ("市税务局" if pv.province in
                                                                    ("北京", "深圳") else "省税务局")
    return SealSpec("全国统一发票监制章", bottom=bureau, middle="国家税务总局", shape="oval",
                    party="unknown", label=f"全国统一发票监制章国家税务总局{bureau}",
                    dims=(34.0, 22.0))


def build_invoice(inv: InvoiceSpec, contract: ContractSpec | None, co: Company, pv: Provider,
                  seed: int) -> Built:
    rng = random.Random(seed)
    items, total = _invoice_items(inv, contract)
    sum_amount = r2(sum(i.amount for i in items))
    sum_tax = r2(sum(i.tax for i in items))
    printed_total = r2(inv.total_override) if inv.total_override is not None else total
    upper_value = inv.uppercase_override if inv.uppercase_override is not None else printed_total
    upper = to_uppercase(upper_value)
    buyer = inv.buyer_name or co.name
    buyer_tax = inv.buyer_tax_id or co.uscc
    number, code, no = _number(inv, pv, rng)
    remarks = inv.remarks if inv.remarks is not None else (
        f"合同编号：{contract.number}" if contract else "")
    clerk = rng.choice(CLERKS)
    check_code = make_check_code(rng) if inv.type != "digital" and inv.invoice_kind == "普通" else None
    if inv.type == "digital":
        d = _digital(inv, co, pv, items, sum_amount, sum_tax, printed_total, upper, buyer,
                     buyer_tax, number, remarks, clerk, seed)
    else:
        d = _vat(inv, co, pv, items, sum_amount, sum_tax, printed_total, upper, buyer, buyer_tax,
                 code or "", no or "", check_code, remarks, clerk, rng, seed)
    pdf = d.finish()
    fields = {
        "invoice_type": inv.type,
        "invoice_kind": inv.invoice_kind,
        "invoice_number": number,
        "invoice_code": code,
        "date": iso(inv.date),
        "buyer": buyer,
        "buyer_tax_id": buyer_tax,
        "seller": pv.name,
        "seller_tax_id": pv.tax_id,
        "provider": pv.name,
        "line_items": [{"name": i.name, "amount": i.amount, "tax_rate": "6%", "tax": i.tax}
                       for i in items],
        "total_amount": sum_amount,
        "total_tax": sum_tax,
        "amount_yuan": printed_total,
        "amount_uppercase_yuan": r2(upper_value),
        "amount_uppercase_text": upper,
        "remarks": remarks or None,
        "contract_number": contract.number if contract and remarks and contract.number in remarks else None,
        "check_code": check_code,
        "period_start": None,
        "period_end": None,
        "period_months": None,
        "cloud_keywords_present": cloud_keywords(pdf.page_text),
    }
    subdomains = sorted({s for li in (inv.lines or (contract.lines if contract else ()))
                         for s in li.product.subdomains})
    return Built("invoice", fields, pdf=pdf, subdomains=subdomains)


def _items_rows(items: list[Item], sum_amount: float, sum_tax: float, first: str) -> list[list]:
    rows: list[list] = [[first, "规格型号", "单位", "数量", "单价", "金额", "税率/征收率" if
                         first == "项目名称" else "税率", "税额"]]
    for it in items:
        rows.append([it.name, it.spec, it.unit, str(it.qty), f"{it.unit_price:.2f}", fmt(it.amount),
                     "6%", fmt(it.tax)])
    rows.append(["合计", "", "", "", "", f"¥{fmt(sum_amount)}", "", f"¥{fmt(sum_tax)}"])
    return rows


def _digital(inv, co, pv, items, sum_amount, sum_tax, printed_total, upper, buyer, buyer_tax,
             number, remarks, clerk, seed) -> DocCanvas:
    d = DocCanvas((216, 140), title="电子发票", margin_mm=8, seed=seed)
    d.paginate = False
    title = "电子发票（增值税专用发票）" if inv.invoice_kind == "专用" else "电子发票（普通发票）"
    qr = f"01,{'20' if inv.invoice_kind == '专用' else '32'},,{number},{fmt(printed_total)},{inv.date:%Y%m%d},,"
    d.qr(qr, 9, 6, 22)
    d.text(108, 11, title, size=17, align="center", color=INK)
    d.line(62, 20.5, 154, 20.5, width=0.7, color=INK)
    d.line(62, 21.6, 154, 21.6, width=0.7, color=INK)
    d.seal(_supervision_seal(pv), 108, 15, alpha=0.55)
    d.text(160, 10, f"发票号码：{number}", size=9)
    d.text(160, 16, f"开票日期：{cn_date(inv.date)}", size=9)
    d.y = 30
    x = 8
    party = [[Cell("购\n买\n方\n信\n息"),
              Cell(f"名称：{buyer}\n统一社会信用代码/纳税人识别号：{buyer_tax}", align="left"),
              Cell("销\n售\n方\n信\n息"),
              Cell(f"名称：{pv.name}\n统一社会信用代码/纳税人识别号：{pv.tax_id}", align="left")]]
    d.table([8, 92, 8, 92], party, size=8.5, row_h=24, x=x, header_rows=0, line_width=0.5)
    rows = _items_rows(items, sum_amount, sum_tax, "项目名称")
    d.table([54, 30, 10, 12, 22, 26, 20, 26], rows, size=8.5, row_h=6.5, x=x, header_rows=1,
            aligns=["left", "left", "center", "right", "right", "right", "center", "right"],
            line_width=0.5)
    d.table([34, 110, 56], [[Cell("价税合计（大写）"), Cell(f"ⓧ{upper}", align="left"),
                             Cell(f"（小写）¥{fmt(printed_total)}", align="left")]],
            size=9, row_h=8, x=x, header_rows=0, line_width=0.5)
    d.table([8, 192], [[Cell("备\n注"), Cell(remarks, align="left")]], size=8.5, row_h=14, x=x,
            header_rows=0, line_width=0.5)
    d.text(14, d.y + 3, f"开票人：{clerk}", size=9)
    return d


def _vat(inv, co, pv, items, sum_amount, sum_tax, printed_total, upper, buyer, buyer_tax, code, no,
         check_code, remarks, clerk, rng, seed) -> DocCanvas:
    d = DocCanvas((240, 150), title="增值税发票", margin_mm=6, seed=seed)
    d.paginate = False
    electronic = inv.type == "vat-electronic"
    kind = "电子普通发票" if electronic else ("专用发票" if inv.invoice_kind == "专用" else "普通发票")
    title = f"{pv.province}增值税{kind}"
    d.text(14, 8, code, size=13)
    d.text(120, 9, title, size=17, align="center", color=INK, char_space=1.5)
    d.line(78, 18.5, 162, 18.5, width=0.7, color=INK)
    d.line(78, 19.6, 162, 19.6, width=0.7, color=INK)
    if not electronic:
        d.text(120, 21.5, "发票联", size=9, align="center", color=INK, char_space=3)
    d.seal(_supervision_seal(pv), 120, 15, alpha=0.5)
    d.text(176, 8, f"No {no}", size=13, color=(0.2, 0.2, 0.35))
    d.text(14, 17, f"机器编号：{rng.randint(100000000000, 999999999999)}", size=8.5)
    d.text(176, 16, f"发票代码：{code}", size=8.5)
    d.text(176, 21, f"发票号码：{no}", size=8.5)
    d.text(176, 26, f"开票日期：{cn_date(inv.date)}", size=8.5)
    if check_code:
        blocks = " ".join(check_code[i:i + 5] for i in range(0, 20, 5))
        d.text(14, 22, f"校验码：{blocks}", size=8.5)
    d.y = 31
    x = 10
    cipher = "".join(rng.choice("0123456789+-*/<>") for _ in range(27 * 4))
    cipher_lines = "\n".join(cipher[i:i + 27] for i in range(0, len(cipher), 27))
    buyer_block = (f"名称：{buyer}\n纳税人识别号：{buyer_tax}\n地址、电话：{co.address} {co.phone}\n"
                   f"开户行及账号：{co.bank}")
    d.table([8, 124, 8, 80], [[Cell("购\n买\n方"), Cell(buyer_block, align="left"),
                               Cell("密\n码\n区"), Cell(cipher_lines, align="left")]],
            size=7.8, row_h=19, x=x, header_rows=0, line_width=0.5)
    rows = _items_rows(items, sum_amount, sum_tax, "货物或应税劳务、服务名称")
    d.table([62, 32, 10, 12, 24, 30, 16, 34], rows, size=8, row_h=6, x=x, header_rows=1,
            aligns=["left", "left", "center", "right", "right", "right", "center", "right"],
            line_width=0.5)
    d.table([36, 118, 66], [[Cell("价税合计（大写）"), Cell(f"ⓧ{upper}", align="left"),
                             Cell(f"（小写）¥{fmt(printed_total)}", align="left")]],
            size=8.5, row_h=7.5, x=x, header_rows=0, line_width=0.5)
    seller_block = (f"名称：{pv.name}\n纳税人识别号：{pv.tax_id}\n地址、电话：{pv.address} {pv.phone}\n"
                    f"开户行及账号：{pv.bank}")
    d.table([8, 124, 8, 80], [[Cell("销\n售\n方"), Cell(seller_block, align="left"),
                               Cell("备\n注"), Cell(remarks, align="left")]],
            size=7.8, row_h=19, x=x, header_rows=0, line_width=0.5)
    y = d.y + 3
    d.text(14, y, f"收款人：{rng.choice(CLERKS)}", size=8.5)
    d.text(64, y, f"复核：{rng.choice(CHECKERS)}", size=8.5)
    d.text(114, y, f"开票人：{clerk}", size=8.5)
    d.text(164, y, "销售方：（章）", size=8.5)
    if inv.seal:
        d.seal(SealSpec(pv.name, bottom="发票专用章", middle=pv.tax_id, shape="oval", party="seller",
                        tax_id=pv.tax_id), 188, y - 4, rotate_deg=rng.uniform(-8, 8), alpha=0.8)
    return d
