"""The expected judgement of an application, computed from its ground-truth documents.

This is a deliberately plain re-statement of ``shared/guideline/criteria.md`` (plus the flag
table of ``result-v1.md``) over *true* facts, so the pipeline's result can be compared with it.
Readings we made where the texts are silent are listed in ``samples/README.md`` and marked
``# reading:`` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .entities import catalog
from .ids import uscc_is_valid
from .money import r2, to_fen

THRESHOLD = 10_000
DATA_GROUPS = ("数据上云", "设备接入", "边缘计算", "设备服务")
CLAIMED_SPEND_TOLERANCE = 0.05


@dataclass
class PurchaseFacts:
    provider: str
    contract: str | None
    invoices: list[str]
    letters: list[str] = field(default_factory=list)


@dataclass
class AppFacts:
    star: int
    deployment: str
    claims: list[str]
    claimed_spend: float | None
    docs: list[dict[str, Any]]  # truth document records
    purchases: list[PurchaseFacts]
    # batch-level facts (other applications of the same batch)
    duplicate_invoices_elsewhere: dict[str, str] = field(default_factory=dict)  # file → other
    screenshots_reused: dict[str, str] = field(default_factory=dict)  # file → other
    low_confidence_files: list[str] = field(default_factory=list)


def _groups() -> dict[str, list[str]]:
    return catalog()["checklist"]


def applicant_of(facts: AppFacts) -> dict[str, Any]:
    lic = next((d for d in facts.docs if d["kind"] == "licence" and not d.get("unreadable")), None)
    form = next((d for d in facts.docs if d["kind"] == "application_form"), None)
    if lic:
        f = lic["fields"]
        name, uscc, legal, capital = f["name"], f["uscc"], f["legal_rep"], f["registered_capital_yuan"]
    elif form:
        f = form["fields"]
        name, uscc, legal, capital = f["company"], f["uscc"], f["legal_rep"], f["registered_capital_yuan"]
    else:
        name = uscc = legal = capital = None
    return {
        "name": name, "uscc": uscc, "uscc_valid": uscc_is_valid(uscc) if uscc else None,
        "jiangsu": (uscc[2:4] == "32") if uscc else None,
        "enterprise": (uscc[:2] == "91") if uscc else None,
        "legal_rep": legal, "registered_capital_yuan": capital,
    }


def _months(c: dict | None) -> int:
    m = (c or {}).get("fields", {}).get("period_months")
    return int(m) if m else 12  # no stated service period counts as 12 months


def judge(facts: AppFacts) -> dict[str, Any]:
    docs = {d["file"]: d for d in facts.docs}
    readable = {f: d for f, d in docs.items() if not d.get("unreadable")}
    app = applicant_of(facts)
    flags: list[dict[str, Any]] = []

    def flag(code: str, files: list[str], subject: str | None = None, soft: bool = False) -> None:
        rec: dict[str, Any] = {"code": code, "files": sorted(set(files))}
        if subject:
            rec["subject"] = subject
        if soft:
            rec["engine_dependent"] = True
        if rec not in flags:
            flags.append(rec)

    # ---------------------------------------------------------------- applicant
    licences = [d for d in readable.values() if d["kind"] == "licence"]
    form = next((d for d in readable.values() if d["kind"] == "application_form"), None)
    blocked = False
    if not licences:
        flag("LICENCE_MISSING", [])
        blocked = True
    if app["uscc"]:
        src = [licences[0]["file"]] if licences else ([form["file"]] if form else [])
        if not app["uscc_valid"]:
            flag("USCC_CHECKSUM_INVALID", src)
            blocked = True
        if not app["jiangsu"]:
            flag("NOT_JIANGSU", src)
            blocked = True
        if not app["enterprise"]:
            # reading: only enterprises may apply (criteria "Who may apply"), so this blocks too
            flag("NOT_ENTERPRISE", src)
            blocked = True
        mismatch = []
        if form and licences and form["fields"]["uscc"] != app["uscc"]:
            mismatch.append(form["file"])
        for d in readable.values():
            if d["kind"] == "invoice" and d["fields"].get("buyer_tax_id") != app["uscc"]:
                # reading: result-v1 lists the invoices' buyer tax id among the codes compared
                mismatch.append(d["file"])
        if mismatch:
            flag("USCC_MISMATCH", mismatch + [licences[0]["file"]] if licences else mismatch)

    for f, d in docs.items():
        if d.get("unreadable"):
            flag("FILE_UNREADABLE", [f])
    for f in facts.low_confidence_files:
        flag("LOW_OCR_CONFIDENCE", [f], soft=True)

    # ---------------------------------------------------------------- invoices across the app
    seen_numbers: dict[str, str] = {}
    duplicate_of: dict[str, str] = {}
    for f, d in readable.items():
        if d["kind"] != "invoice":
            continue
        num = d["fields"]["invoice_number"]
        if num in seen_numbers:
            duplicate_of[f] = seen_numbers[num]
            flag("DUPLICATE_INVOICE", [f, seen_numbers[num]])
        else:
            seen_numbers[num] = f
    for f, other in facts.duplicate_invoices_elsewhere.items():
        flag("DUPLICATE_INVOICE", [f], subject=other)
    for f, other in facts.screenshots_reused.items():
        flag("SCREENSHOT_REUSED", [f], subject=other)

    # ---------------------------------------------------------------- purchases
    purchases = []
    accepted_products: set[str] = set()
    for p in facts.purchases:
        reasons: list[str] = []
        contract = readable.get(p.contract) if p.contract else None
        invoices = [readable[f] for f in p.invoices if f in readable]
        distinct = [i for i in invoices if i["file"] not in duplicate_of]
        if contract is None:
            reasons.append("CONTRACT_MISSING")
            flag("CONTRACT_MISSING", [i["file"] for i in invoices])
        else:
            cf = contract["fields"]
            letters = [readable[f] for f in p.letters if f in readable]
            sealed_letters = []
            for lt in letters:
                parties = {s["party"] for s in lt["seals"]}
                if {"applicant", "provider"} <= parties:
                    sealed_letters.append(lt)
                else:
                    flag("EXPLANATION_SEAL_MISSING", [lt["file"]])
            if not cf["cloud_keywords_present"] and not sealed_letters:
                reasons.append("CONTRACT_NO_CLOUD_WORDING")
                flag("CONTRACT_NO_CLOUD_WORDING", [contract["file"]] + [lt["file"] for lt in letters])
            if cf.get("amount_uppercase_yuan") is not None and \
                    to_fen(cf["amount_uppercase_yuan"]) != to_fen(cf["amount_yuan"]):
                reasons.append("AMOUNT_UPPER_LOWER_MISMATCH")
                flag("AMOUNT_UPPER_LOWER_MISMATCH", [contract["file"]])
            if not cf.get("order_form"):
                # reading: online console orders carry no seals; agreements need both parties'
                parties = {s["party"] for s in contract["seals"]}
                if not parties & {"applicant", "buyer"} or not parties & {"seller", "provider"}:
                    flag("SEAL_MISSING", [contract["file"]])
            if not invoices:
                reasons.append("INVOICE_MISSING")
                flag("INVOICE_MISSING", [contract["file"]])
        for inv in distinct:
            f_ = inv["fields"]
            if f_["buyer"] != app["name"]:
                reasons.append("INVOICE_BUYER_MISMATCH")
                flag("INVOICE_BUYER_MISMATCH", [inv["file"]])
            if f_["buyer_tax_id"] != app["uscc"]:
                reasons.append("INVOICE_BUYER_TAXID_MISMATCH")
                flag("INVOICE_BUYER_TAXID_MISMATCH", [inv["file"]])
            if to_fen(f_["amount_uppercase_yuan"]) != to_fen(f_["amount_yuan"]):
                reasons.append("AMOUNT_UPPER_LOWER_MISMATCH")
                flag("AMOUNT_UPPER_LOWER_MISMATCH", [inv["file"]])
            if to_fen(f_["total_amount"]) + to_fen(f_["total_tax"]) != to_fen(f_["amount_yuan"]):
                reasons.append("INVOICE_TOTAL_INCONSISTENT")
                flag("INVOICE_TOTAL_INCONSISTENT", [inv["file"]])
            if contract and f_["date"] < contract["fields"]["date"]:
                flag("INVOICE_BEFORE_CONTRACT", [inv["file"], contract["file"]])
            # reading: 数电 invoices carry no 发票专用章 by design; older invoices need the seller's
            if f_["invoice_type"] != "digital" and not any(s["party"] == "seller" for s in inv["seals"]):
                flag("SEAL_MISSING", [inv["file"]])
        if contract:
            amount = contract["fields"]["amount_yuan"]
            months = _months(contract)
        else:
            amount = r2(sum(i["fields"]["amount_yuan"] for i in distinct))
            months = 12
        annual = r2(amount * 12 / max(12, months))
        accepted = not reasons
        if accepted and contract:
            accepted_products.update(contract["subdomains"])
        purchases.append({
            "provider": p.provider, "amount_yuan": amount, "months": months,
            "annualised_yuan": annual, "accepted": accepted,
            "rejected_because": sorted(set(reasons)),
            "contract_file": p.contract if contract else None,
            "invoice_files": [i["file"] for i in invoices],
        })
    spend_all = r2(sum(p["annualised_yuan"] for p in purchases))
    spend_ok = r2(sum(p["annualised_yuan"] for p in purchases if p["accepted"]))

    # ---------------------------------------------------------------- subdomains
    shots = [d for d in readable.values() if d["kind"] == "screenshot"]
    shown = {s for d in shots for s in d["subdomains"]}
    expl = [d for d in readable.values() if d["kind"] == "explanation"]
    named_data = {s for d in expl if d["fields"].get("explains") == "data_device" for s in d["subdomains"]}
    named_innov = {s for d in expl if d["fields"].get("explains") == "innovation" for s in d["subdomains"]}
    has_data_expl = any(d["fields"].get("explains") == "data_device" for d in expl)
    has_innov_expl = any(d["fields"].get("explains") == "innovation" for d in expl)
    evidenced: dict[str, list[str]] = {g: [] for g in _groups()}
    for g, subs in _groups().items():
        for s in subs:
            if s not in facts.claims or s not in shown:
                continue
            if g in ("工业APP应用", "基础云服务"):
                ok = s in accepted_products
            elif g in DATA_GROUPS:
                ok = s in named_data
            else:
                ok = s in named_innov
            if ok:
                evidenced[g].append(s)
    for s in facts.claims:
        mapped = [d["file"] for d in readable.values() if s in d["subdomains"]]
        if not mapped:
            flag("SUBDOMAIN_NO_EVIDENCE", [], subject=s)
        elif s not in shown:
            # reading: only raised when some document maps the subdomain (else NO_EVIDENCE)
            flag("SUBDOMAIN_NO_SCREENSHOT", mapped, subject=s)

    n_ind, n_basic = len(evidenced["工业APP应用"]), len(evidenced["基础云服务"])
    n_dd = sum(len(evidenced[g]) for g in DATA_GROUPS)
    n_inn = len(evidenced["创新应用"])
    has_private_docs = any(d["kind"] == "private_cloud_doc" for d in readable.values())

    def rules(star: int) -> bool:
        if spend_ok < THRESHOLD:
            return False
        if star == 3:
            return facts.deployment == "public" and (n_ind >= 2 or n_basic >= 3)
        ok = n_ind >= 3 and n_basic >= 5 and n_dd >= 6 and has_data_expl
        if facts.deployment in ("private", "hybrid"):
            ok = ok and has_private_docs
        if star == 5:
            ok = ok and n_inn >= 1 and has_innov_expl
        return ok

    meets = not blocked and rules(facts.star)
    highest = 0 if blocked else max([s for s in (3, 4, 5) if rules(s)], default=0)

    # ---------------------------------------------------------------- rule flags
    if spend_ok < THRESHOLD:
        # reading: the verdict uses the accepted figure, so the threshold flag does too
        flag("SPEND_BELOW_THRESHOLD", [p["contract_file"] for p in purchases if p["contract_file"]])
    if facts.claimed_spend is not None and spend_all > 0 and \
            abs(facts.claimed_spend - spend_all) > CLAIMED_SPEND_TOLERANCE * spend_all:
        flag("CLAIMED_SPEND_MISMATCH", [form["file"]] if form else [])
    star = facts.star
    if star == 3:
        if facts.deployment != "public":
            flag("PRIVATE_CLOUD_NOT_ALLOWED", [form["file"]] if form else [])
        if not (n_ind >= 2 or n_basic >= 3):
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="工业APP应用")
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="基础云服务")
    else:
        if n_ind < 3:
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="工业APP应用")
        if n_basic < 5:
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="基础云服务")
        if n_dd < 6:
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="数据和设备上云")
        if star == 5 and n_inn < 1:
            flag("SUBDOMAIN_COUNT_SHORT", [], subject="创新应用")
        if facts.deployment in ("private", "hybrid") and not has_private_docs:
            flag("PRIVATE_CLOUD_DOCS_MISSING", [])
        if star == 5 and not has_innov_expl:
            flag("INNOVATION_EVIDENCE_MISSING", [])

    flags.sort(key=lambda f: (f["code"], f["files"], f.get("subject", "")))
    return {
        "applicant": {k: v for k, v in app.items() if k != "enterprise"},
        "purchases": purchases,
        "annualised_spend_yuan": spend_all,
        "annualised_spend_accepted_yuan": spend_ok,
        "subdomains_evidenced": evidenced,
        "verdict": {"meets_star_sought": meets, "highest_star_supported": highest},
        "flags": flags,
    }
