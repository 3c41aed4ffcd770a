"""Build one application: plan its documents from the scenario data, render them, number the
submission's pages, fill in the form's 附表 and collect the ground truth."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageEnhance

from .built import Built
from .doc_contract import build_agreement, build_order
from .doc_form import FormInput, build_form
from .doc_invoice import build_invoice
from .doc_letters import (build_cloud_letter, build_data_explanation,
                          build_innovation_explanation, build_private_cloud_doc)
from .doc_licence import build_licence
from .entities import Company, catalog, provider, screens
from .ids import make_uscc
from .judge import AppFacts, PurchaseFacts
from .render import Rendered, render
from .screens import Screenshot, render_screen
from .spec import ContractSpec, as_date, purchase_from

COMMON_FIELDS = ("amount_yuan", "amount_uppercase_yuan", "date", "period_start", "period_end",
                 "period_months", "buyer", "buyer_tax_id", "seller", "seller_tax_id",
                 "invoice_number", "provider", "cloud_keywords_present")


def seed_of(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


@dataclass
class Plan:
    file: str
    rendering: str
    built: Built | None
    rotation: int = 0
    degrade: str = "normal"
    raw: bytes | None = None  # files written as-is (corrupt/empty ones)
    rendered: Rendered | None = None


@dataclass
class Registry:
    """What later applications of the batch may reuse from earlier ones."""

    invoice_numbers: dict[str, str] = field(default_factory=dict)  # "APP:file" → number
    invoice_buyers: dict[str, tuple[str, str]] = field(default_factory=dict)  # → (name, tax id)
    screenshots: dict[str, tuple[Built, str]] = field(default_factory=dict)  # "APP:file" → built


@dataclass
class BuiltApp:
    app_id: str
    files: dict[str, bytes]
    truth: dict[str, Any]
    facts: AppFacts
    reuses_invoice: dict[str, str]  # file → "APP:file"
    reuses_screenshot: dict[str, str]


def make_company(key: str, data: dict, app: dict) -> Company:
    d = {**data, **app.get("company_overrides", {})}
    rng = random.Random(f"uscc|{app['id']}|{key}")
    uscc = make_uscc(rng, str(d["division"]), str(d.get("registry", "91")),
                     valid=d.get("uscc_valid", True))
    contact = d["contact"]
    return Company(
        name=d["name"], uscc=uscc, uscc_valid=d.get("uscc_valid", True),
        division=str(d["division"]), city=d["city"], address=d["address"],
        legal_rep=d["legal_rep"], capital_wan=int(d["capital_wan"]),
        established=as_date(d["established"]), company_type=d["company_type"], scope=d["scope"],
        industry=d["industry"], phone=d["phone"], bank=d["bank"], authority=d["authority"],
        contact=contact[0], contact_title=contact[1], contact_mobile=contact[2], email=contact[3],
        staff=int(d["staff"][0]), cloud_staff=int(d["staff"][1]),
    )


def _typo(code: str) -> str:
    """A one-character slip in a tax id (the 11th character replaced)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    c = code[10]
    repl = alphabet[(alphabet.index(c) + 7) % len(alphabet)]
    return code[:10] + repl + code[11:]


def _screenshot(item: dict, co: Company, contracts: dict[str, ContractSpec], captured: datetime,
                seed: int) -> Built:
    tpl = screens()[item["screen"]]
    pv = provider(tpl["provider"])
    c = contracts.get(item.get("purchase", ""))
    account = item.get("account_name", co.name)
    ctx = {"company": account,
           "expire": c.end.isoformat() if c and c.end else "2025-12-31",
           "start": c.start.isoformat() if c and c.start else captured.date().isoformat(),
           "date": captured.date().isoformat()}
    shot = render_screen(tpl, tpl.get("brand", pv.short), pv.color, ctx, captured,
                         random.Random(seed))
    fields = {"date": captured.date().isoformat(), "captured_at": captured.isoformat(timespec="minutes"),
              "account_name": account, "products": list(tpl["products"]), "provider": pv.name}
    return Built("screenshot", fields, screen=shot, subdomains=list(tpl["subdomains"]))


def _altered(built: Built) -> Built:
    """The same screenshot re-captured: cropped a few pixels, rescaled, slightly brighter."""
    assert built.screen is not None
    img = built.screen.image.crop((0, 0, 1272, 795)).resize((1280, 800), Image.LANCZOS)
    img = ImageEnhance.Brightness(img).enhance(1.03)
    return Built(built.kind, dict(built.fields), screen=Screenshot(img, list(built.screen.lines)),
                 subdomains=list(built.subdomains))


def _truncated_pdf(seed: int) -> bytes:
    from .pdfdoc import DocCanvas

    d = DocCanvas(title="扫描件", seed=seed)
    d.para("补充材料" * 40)
    data = d.finish().data
    return data[: len(data) * 2 // 5]


def build_application(app: dict, companies: dict, reg: Registry) -> BuiltApp:
    app_id = app["id"]
    co = make_company(app["company"], companies[app["company"]], app)
    plans: list[Plan] = []
    purchases = [purchase_from(p) for p in app.get("purchases", [])]
    contracts = {p.id: p.contract for p in purchases if p.contract}
    facts_purchases: list[PurchaseFacts] = []
    reuses_invoice: dict[str, str] = {}
    reuses_shot: dict[str, str] = {}
    low_conf: list[str] = []

    def sd(*parts: str) -> int:
        return seed_of(app_id, *parts)

    lic = app.get("licence")
    if lic:
        plans.append(Plan(lic["file"], lic.get("rendering", "photo"),
                          build_licence(co, as_date(lic["issued"]), sd(lic["file"])),
                          rotation=lic.get("rotation", 0)))
    for p in purchases:
        pv = provider(p.provider)
        pf = PurchaseFacts(pv.name, p.contract.file if p.contract else None, [])
        c = p.contract
        if c:
            b = (build_order if c.form == "order" else build_agreement)(c, co, pv, sd(c.file))
            if c.cloud_wording != b.fields["cloud_keywords_present"]:
                raise ValueError(f"{app_id} {c.file}: cloud wording is "
                                 f"{b.fields['cloud_keywords_present']}, scenario says {c.cloud_wording}")
            plans.append(Plan(c.file, c.rendering, b, rotation=c.rotation))
        if p.letter:
            lt = p.letter
            assert c is not None, "a letter explains a contract"
            subs = sorted({s for li in c.lines for s in li.product.subdomains},
                          key=lambda s: _order(s))
            b = build_cloud_letter(c, co, pv, as_date(lt["date"]), lt.get("seals", ["applicant", "provider"]),
                                   subs, sd(lt["file"]), c.title or b.fields["title"])
            plans.append(Plan(lt["file"], lt.get("rendering", "text-pdf"), b))
            pf.letters.append(lt["file"])
        for inv in p.invoices:
            if inv.number and inv.number.startswith("@"):
                ref = inv.number[1:] if ":" in inv.number else f"{app_id}:{inv.number[1:]}"
                number = reg.invoice_numbers[ref]
                if not ref.startswith(app_id + ":"):
                    reuses_invoice[inv.file] = ref
                inv = replace(inv, number=number)
                if inv.buyer_name == "@ref":  # a copy of another applicant's invoice
                    name, tax = reg.invoice_buyers[ref]
                    inv = replace(inv, buyer_name=name, buyer_tax_id=tax)
            if inv.buyer_tax_id == "typo":
                inv = replace(inv, buyer_tax_id=_typo(co.uscc))
            b = build_invoice(inv, c, co, pv, sd(inv.file))
            reg.invoice_numbers[f"{app_id}:{inv.file}"] = b.fields["invoice_number"]
            reg.invoice_buyers[f"{app_id}:{inv.file}"] = (b.fields["buyer"], b.fields["buyer_tax_id"])
            plans.append(Plan(inv.file, inv.rendering, b, rotation=inv.rotation, degrade=inv.degrade))
            pf.invoices.append(inv.file)
            if inv.degrade == "heavy":
                low_conf.append(inv.file)
        facts_purchases.append(pf)
    for ex in app.get("extras", []):
        kind = ex["kind"]
        when = as_date(ex["date"])
        if kind == "data_explanation":
            b = build_data_explanation(co, when, ex["subdomains"], ex["platform"], sd(ex["file"]))
        elif kind == "innovation_explanation":
            b = build_innovation_explanation(co, when, ex["subdomains"], ex["platform"], sd(ex["file"]))
        elif kind == "private_cloud_doc":
            b = build_private_cloud_doc(co, when, ex["platform"], ex["vendor"], sd(ex["file"]))
        else:
            raise ValueError(f"unknown extra kind {kind!r}")
        plans.append(Plan(ex["file"], ex.get("rendering", "text-pdf"), b))
    shots = app.get("screenshots") or {}
    base = datetime.fromisoformat(str(shots.get("captured", "2024-09-01 10:00")))
    for i, item in enumerate(shots.get("items", [])):
        if "reuse" in item:
            ref = item["reuse"]
            b = _altered(reg.screenshots[ref][0])
            reuses_shot[item["file"]] = ref
        else:
            captured = base + timedelta(minutes=3 * i + (i * 7) % 5)
            b = _screenshot(item, co, contracts, captured, sd(item["file"]))
        reg.screenshots[f"{app_id}:{item['file']}"] = (b, item["file"])
        plans.append(Plan(item["file"], "screenshot", b))
    for other in app.get("others", []):
        raw = _truncated_pdf(sd(other["file"])) if other["make"] == "truncated-pdf" else b""
        plans.append(Plan(other["file"], other.get("rendering", "text-pdf"), None, raw=raw))

    for pl in plans:
        if pl.built is not None:
            pl.rendered = render(pl.built, pl.rendering, sd(pl.file, "render"), rotation=pl.rotation,
                                 degrade=pl.degrade)

    # ---- the form, numbered against the rest of the submission
    fdef = app["form"]
    form_plan = None
    if fdef:
        claims = list(fdef["claims"])
        partners = tuple(dict.fromkeys(provider(p.provider).name for p in purchases))
        products = list(dict.fromkeys(li.name for p in purchases if p.contract for li in p.contract.lines))
        fi_args = dict(
            star=app["star"], deployment=app["deployment"], filled=as_date(fdef["filled"]),
            start=as_date(fdef["start"]), partners=partners, claims=tuple(claims),
            claimed_spend=fdef.get("claimed_spend"),
            uscc_printed=_typo(co.uscc) if fdef.get("uscc") == "typo" else co.uscc,
            scope_text=(f"公司自{as_date(fdef['start']).year}年起推进企业上云，采购"
                        f"{'、'.join(provider(p.provider).short for p in purchases)}提供的"
                        f"{'、'.join(products[:6])}等产品，实现{'、'.join(claims[:8])}等业务上云。"),
            effect_text="上云后核心业务系统可用性达到99.9%以上，IT运维成本降低约30%，订单处理效率提升约25%，"
                        "管理人员可随时随地查看经营和生产数据。",
            sealed=fdef.get("sealed", True),
        )
        trial = build_form(co, FormInput(pages={}, **fi_args), sd(fdef["file"]))
        n_form = len(trial.pdf.pages) if trial.pdf else 0
        page_of: dict[str, int] = {}
        cursor = n_form + 1
        for pl in plans:
            page_of[pl.file] = cursor
            cursor += pl.rendered.pages if pl.rendered else 1
        pages: dict[str, int] = {}
        for s in claims:
            shot = next((pl for pl in plans if pl.built and pl.built.kind == "screenshot"
                         and s in pl.built.subdomains), None)
            any_doc = shot or next((pl for pl in plans if pl.built and s in pl.built.subdomains), None)
            if any_doc:
                pages[s] = page_of[any_doc.file]
        form_b = build_form(co, FormInput(pages=pages, **fi_args), sd(fdef["file"]))
        assert form_b.pdf and len(form_b.pdf.pages) == n_form, "form page count changed"
        form_plan = Plan(fdef["file"], fdef.get("rendering", "text-pdf"), form_b)
        form_plan.rendered = render(form_b, form_plan.rendering, sd(fdef["file"], "render"))
        plans.insert(0, form_plan)

    # ---- files and truth
    files: dict[str, bytes] = {}
    docs: list[dict[str, Any]] = []
    for pl in plans:
        if pl.built is None:
            data = pl.raw or b""
            files[pl.file] = data
            docs.append({"file": pl.file, "kind": "other", "rendering": pl.rendering, "pages": 0,
                         "text_layer": False, "rotation": 0, "page_text": [], "unreadable": True,
                         "fields": {k: None for k in COMMON_FIELDS}, "seals": [], "subdomains": [],
                         "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)})
            continue
        r = pl.rendered
        assert r is not None
        files[pl.file] = r.data
        fields = {k: None for k in COMMON_FIELDS}
        fields.update(pl.built.fields)
        rec: dict[str, Any] = {
            "file": pl.file, "kind": pl.built.kind, "rendering": pl.rendering, "pages": r.pages,
            "text_layer": r.text_layer, "rotation": r.rotation, "page_text": r.page_text,
            "fields": fields, "seals": r.seals, "subdomains": list(pl.built.subdomains),
            "sha256": hashlib.sha256(r.data).hexdigest(), "size_bytes": len(r.data),
        }
        if r.image_size:
            rec["image_size"] = list(r.image_size)
        if r.info:
            rec["degradation"] = r.info
        if pl.file in reuses_shot:
            rec["reused_from"] = reuses_shot[pl.file]
        if pl.file in reuses_invoice:
            rec["duplicate_of"] = reuses_invoice[pl.file]
        docs.append(rec)

    claims = list(fdef["claims"]) if fdef else []
    facts = AppFacts(star=app["star"], deployment=app["deployment"], claims=claims,
                     claimed_spend=fdef.get("claimed_spend") if fdef and app["star"] == 3 else None,
                     docs=docs, purchases=facts_purchases, low_confidence_files=low_conf)
    truth = {
        "application_id": app_id,
        "scenario": app["scenario"],
        "applicant": {"name": co.name, "uscc": co.uscc, "uscc_valid": co.uscc_valid,
                      "jiangsu": co.jiangsu, "legal_rep": co.legal_rep,
                      "registered_capital_yuan": None if co.uscc.startswith("92") else co.capital_yuan,
                      "city": co.city},
        "star_sought": app["star"],
        "deployment": app["deployment"],
        "claimed": {"subdomains": claims,
                    "annualised_spend_yuan": facts.claimed_spend},
        "submission_order": [pl.file for pl in plans],
        "documents": docs,
    }
    return BuiltApp(app_id, files, truth, facts, reuses_invoice, reuses_shot)


def _order(sub: str) -> int:
    rows = [r[3] for r in catalog()["form_rows"]]
    return rows.index(sub)
