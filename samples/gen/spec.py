"""Typed views of the scenario data (``samples/scenarios.yaml``) the builders work from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .entities import Product, product
from .money import r2


def as_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    import calendar

    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


@dataclass(frozen=True)
class LineItem:
    product: Product
    qty: int
    amount: float  # tax inclusive

    @property
    def name(self) -> str:
        return self.product.contract_name or self.product.name


@dataclass(frozen=True)
class ContractSpec:
    file: str
    rendering: str
    form: str  # agreement | order
    number: str
    date: date
    start: date | None
    months: int | None
    lines: tuple[LineItem, ...]
    cloud_wording: bool = True
    buyer_role: str = "甲方"
    seals: tuple[str, ...] = ("buyer", "seller")
    uppercase_override: float | None = None
    rotation: int = 0
    title: str | None = None

    @property
    def amount(self) -> float:
        return r2(sum(li.amount for li in self.lines))

    @property
    def end(self) -> date | None:
        if self.start is None or self.months is None:
            return None
        from datetime import timedelta

        return add_months(self.start, self.months) - timedelta(days=1)


@dataclass(frozen=True)
class InvoiceSpec:
    file: str
    rendering: str
    type: str  # digital | vat | vat-electronic
    invoice_kind: str  # 普通 | 专用
    date: date
    amount: float | None = None  # None: the whole contract
    lines: tuple[LineItem, ...] = ()
    buyer_name: str | None = None  # override (defect)
    buyer_tax_id: str | None = None  # override (defect)
    uppercase_override: float | None = None
    total_override: float | None = None  # printed 价税合计 ≠ 金额 + 税额 (defect)
    number: str | None = None  # fixed number (duplicates)
    seal: bool = True
    rotation: int = 0
    degrade: str = "normal"  # normal | heavy
    remarks: str | None = None


@dataclass(frozen=True)
class PurchaseSpec:
    id: str
    provider: str
    contract: ContractSpec | None
    invoices: tuple[InvoiceSpec, ...] = ()
    letter: dict | None = None


def lines_from(data: list[dict]) -> tuple[LineItem, ...]:
    return tuple(LineItem(product(d["product"]), int(d.get("qty", 1)), float(d["amount"]))
                 for d in data)


def contract_from(d: dict | None) -> ContractSpec | None:
    if not d:
        return None
    return ContractSpec(
        file=d["file"], rendering=d.get("rendering", "text-pdf"), form=d.get("form", "agreement"),
        number=str(d["number"]), date=as_date(d["date"]),
        start=as_date(d["start"]) if d.get("start") else None,
        months=d.get("months"), lines=lines_from(d["lines"]),
        cloud_wording=d.get("cloud_wording", True), buyer_role=d.get("buyer_role", "甲方"),
        seals=tuple(d.get("seals", ["buyer", "seller"])),
        uppercase_override=d.get("uppercase_override"), rotation=d.get("rotation", 0),
        title=d.get("title"),
    )


def invoice_from(d: dict) -> InvoiceSpec:
    return InvoiceSpec(
        file=d["file"], rendering=d.get("rendering", "text-pdf"), type=d.get("type", "digital"),
        invoice_kind=d.get("invoice_kind", "普通"), date=as_date(d["date"]),
        amount=d.get("amount"), lines=lines_from(d["lines"]) if d.get("lines") else (),
        buyer_name=d.get("buyer_name"), buyer_tax_id=d.get("buyer_tax_id"),
        uppercase_override=d.get("uppercase_override"), total_override=d.get("total_override"),
        number=d.get("number"), seal=d.get("seal", True), rotation=d.get("rotation", 0),
        degrade=d.get("degrade", "normal"), remarks=d.get("remarks"),
    )


def purchase_from(d: dict) -> PurchaseSpec:
    return PurchaseSpec(id=d["id"], provider=d["provider"], contract=contract_from(d.get("contract")),
                        invoices=tuple(invoice_from(i) for i in d.get("invoices", [])),
                        letter=d.get("letter"))


@dataclass
class Extra:
    """Any other document: explanation letters, data/innovation explanations, build plans."""

    kind: str
    data: dict = field(default_factory=dict)
