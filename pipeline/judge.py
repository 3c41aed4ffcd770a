"""Judgement of one application: purchases and annualised spend, evidenced subdomains, the star
verdict with its rule-by-rule explanation, and every gap flag.

Input is the documents as the result holds them (kind, fields, seals, subdomain hits, errors), so
re-judging under a new rules file needs no OCR. The rules are data (``pipeline/data/rules.yaml``);
every reading the guideline leaves open is a named setting there. Criteria: shared/guideline/criteria.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from classifiers.taxonomy import Taxonomy, load_taxonomy, normalise_subdomain_name
from extractors import uscc as uscc_mod
from extractors.providers import match_party
from pipeline.flags import make_flag
from pipeline.model import (
    CHECKLIST_GROUPS,
    Applicant,
    Claimed,
    DocumentResult,
    Evidence,
    Flag,
    Purchase,
    Verdict,
)
from pipeline.rules import Rules

DEPLOYMENT_ZH = {"public": "公有云", "private": "私有云", "hybrid": "混合云"}


@dataclass
class Judgement:
    applicant: Applicant
    star_sought: int | None
    deployment: str | None
    claimed: Claimed
    purchases: list[Purchase]
    annualised_spend_yuan: float
    annualised_spend_accepted_yuan: float
    subdomains_evidenced: dict[str, list[str]]
    verdict: Verdict
    flags: list[Flag]


# --------------------------------------------------------------------------- small helpers


def _f(doc: DocumentResult) -> dict[str, Any]:
    return doc.fields.model_dump()


def _code(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return "".join(value.split()).upper()


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _ev(doc: DocumentResult, name: str | None = None) -> Evidence:
    if name and name in doc.field_evidence:
        return doc.field_evidence[name]
    return Evidence(file=doc.file)


def _reliable(doc: DocumentResult, name: str, rules: Rules) -> bool:
    """A value read below the OCR confidence bar is not evidence of a mismatch: a human checks it
    (LOW_OCR_CONFIDENCE) instead of the pipeline asserting a defect from a misread."""
    ev = doc.field_evidence.get(name)
    return ev is None or ev.confidence is None or ev.confidence >= rules.ocr.low_confidence


def _code_legible(doc: DocumentResult, code_field: str, name_field: str, applicant_name: str | None,
                  rules: Rules) -> bool:
    """Is a credit code read off this document good enough to call a mismatch?

    A typo on a document and an OCR misread both give a code whose check character fails. The
    read is trusted when it was read confidently, when the code is valid anyway, or when the name
    printed beside it matches the applicant exactly (so that block of the page was legible). A
    code that passes none of these is left to a human (LOW_OCR_CONFIDENCE), not called a defect.
    """
    code = _code(_f(doc).get(code_field))
    if not code or _reliable(doc, code_field, rules) or uscc_mod.validate(code):
        return True
    name = _f(doc).get(name_field)
    return bool(name and applicant_name and match_party(str(name), applicant_name) >= 0.95)


def _names(doc: DocumentResult) -> set[str]:
    return {hit.name for hit in doc.subdomains}


def _is_order_form(doc: DocumentResult) -> bool:
    f = _f(doc)
    return bool(f.get("order_form")) or "订单" in str(f.get("title") or "")


def _is_digital_invoice(doc: DocumentResult) -> bool:
    f = _f(doc)
    if f.get("invoice_type"):
        return f["invoice_type"] == "digital"
    number = str(f.get("invoice_number") or "")
    return len(number) == 20 and number.isdigit()


def _letter_kind(doc: DocumentResult) -> str:
    f = _f(doc)
    if f.get("explains") in ("cloud_deployment", "data_device", "innovation"):
        return f["explains"]
    title = str(f.get("title") or "")
    if "创新" in title:
        return "innovation"
    if "数据" in title and "设备" in title:
        return "data_device"
    return "cloud_deployment"


class _Flags:
    def __init__(self) -> None:
        self.items: list[Flag] = []

    def add(self, code: str, files: Iterable[str] = (), evidence: Iterable[Evidence] = (),
            subject: str | None = None, **params: Any) -> None:
        flag = make_flag(code, files=files, evidence=evidence, **params)
        if subject is not None:
            flag = flag.model_copy(update={"subject": subject})
        self.items.append(flag)


# --------------------------------------------------------------------------- applicant


def _applicant(docs: list[DocumentResult], flags: _Flags, rules: Rules) -> tuple[Applicant, DocumentResult | None, bool]:
    licences = [d for d in docs if d.kind == "licence" and not d.error]
    forms = [d for d in docs if d.kind == "application_form" and not d.error]
    lic = licences[0] if licences else None
    form = forms[0] if forms else None
    lf = _f(lic) if lic else {}
    ff = _f(form) if form else {}
    source = lic if lic and lf.get("uscc") else form
    code = _code(lf.get("uscc")) or _code(ff.get("uscc"))
    parsed = uscc_mod.parse(code) if code else None
    applicant = Applicant(
        name=lf.get("name") or ff.get("company"),
        uscc=code,
        uscc_valid=parsed.valid if parsed else None,
        jiangsu=parsed.jiangsu if parsed else None,
        legal_rep=lf.get("legal_rep") or ff.get("legal_rep"),
        registered_capital_yuan=lf.get("registered_capital_yuan") or ff.get("registered_capital_yuan"),
    )
    blocked = False
    files = [source.file] if source else []
    ev = [_ev(source, "uscc")] if source else []
    if lic is None:
        flags.add("LICENCE_MISSING")
        blocked |= rules.blocking.licence_missing
    if parsed is not None:
        if parsed.valid is False:
            flags.add("USCC_CHECKSUM_INVALID", files, ev, uscc=code)
            blocked |= rules.blocking.uscc_invalid
        if parsed.jiangsu is False:
            flags.add("NOT_JIANGSU", files, ev, division=parsed.division)
            blocked |= rules.blocking.not_jiangsu
        if parsed.enterprise is False:
            flags.add("NOT_ENTERPRISE", files, ev, label=parsed.kind_label)
            blocked |= rules.blocking.not_enterprise
    # the credit code on licence, form and invoices' buyer tax id must agree
    if code and source is not None:
        others = [form] if form is not None and source is lic else []
        others += [d for d in docs if d.kind == "invoice" and not d.error]
        for doc in others:
            field_name, name_field = ("uscc", "company") if doc.kind == "application_form" else ("buyer_tax_id", "buyer")
            theirs = _code(_f(doc).get(field_name))
            if theirs and theirs != code and _code_legible(doc, field_name, name_field, applicant.name, rules):
                flags.add(
                    "USCC_MISMATCH",
                    [source.file, doc.file],
                    [_ev(source, "uscc"), _ev(doc, "uscc" if doc.kind == "application_form" else "buyer_tax_id")],
                    codes=f"{code} / {theirs}",
                )
    return applicant, form, blocked


# --------------------------------------------------------------------------- purchases


@dataclass
class _Purchase:
    contract: DocumentResult | None
    invoices: list[DocumentResult] = field(default_factory=list)
    letters: list[DocumentResult] = field(default_factory=list)

    @property
    def provider(self) -> str | None:
        for doc in ([self.contract] if self.contract else []) + self.invoices:
            f = _f(doc)
            if f.get("provider") or f.get("seller"):
                return f.get("provider") or f.get("seller")
        return None


def _same_party(a: Any, b: Any, minimum: float) -> bool:
    return bool(a and b and match_party(str(a), str(b)) >= minimum)


def _link_score(inv: DocumentResult, con: DocumentResult, rules: Rules) -> int:
    fi, fc = _f(inv), _f(con)
    score = 0
    if fi.get("contract_number") and _code(fi["contract_number"]) == _code(fc.get("contract_number")):
        score += 4
    if fi.get("seller_tax_id") and _code(fi["seller_tax_id"]) == _code(fc.get("seller_tax_id")):
        score += 2
    if _same_party(fi.get("provider") or fi.get("seller"), fc.get("provider") or fc.get("seller"), rules.names.party_match_min):
        score += 1
    return score


def _seal_parties(doc: DocumentResult, applicant_name: str | None, rules: Rules) -> set[str]:
    """Who sealed this document: the seal's own party, or its text matched to the parties."""
    f = _f(doc)
    parties: set[str] = set()
    others = [f.get("seller"), f.get("provider"), f.get("about_provider"), f.get("party_b")]
    for seal in doc.seals:
        party = seal.party
        if party == "unknown" and seal.text:
            if _same_party(seal.text, applicant_name, rules.seals.party_match_min):
                party = "applicant"
            elif any(_same_party(seal.text, o, rules.seals.party_match_min) for o in others if o):
                party = "seller"
        if party == "buyer":
            party = "applicant"
        if party == "provider":
            party = "seller"
        parties.add(party)
    return parties


def _purchases(
    docs: list[DocumentResult], applicant: Applicant, rules: Rules, flags: _Flags
) -> tuple[list[Purchase], list[_Purchase]]:
    contracts = [d for d in docs if d.kind == "contract" and not d.error and not d.duplicate_of]
    letters = [d for d in docs if d.kind == "explanation" and not d.error and _letter_kind(d) == "cloud_deployment"]
    invoices: list[DocumentResult] = []
    seen_numbers: dict[str, DocumentResult] = {}
    duplicates: dict[str, DocumentResult] = {}
    for doc in docs:
        if doc.kind != "invoice" or doc.error:
            continue
        number = _code(_f(doc).get("invoice_number"))
        first = seen_numbers.get(number) if number else None
        if first is None and doc.duplicate_of:
            first = next((d for d in invoices if d.file == doc.duplicate_of), None)
        if first is not None:
            duplicates[doc.file] = first
            flags.add("DUPLICATE_INVOICE", [first.file, doc.file], [_ev(first, "invoice_number"), _ev(doc, "invoice_number")],
                      number=number or "", where=f"{first.file}, {doc.file}")
            continue
        if number:
            seen_numbers[number] = doc
        invoices.append(doc)

    groups: list[_Purchase] = [_Purchase(c) for c in contracts]
    orphans: dict[str, _Purchase] = {}
    for inv in invoices:
        scored = [(_link_score(inv, g.contract, rules), -i, g) for i, g in enumerate(groups) if g.contract]
        best = max(scored, default=None, key=lambda t: (t[0], t[1]))
        if best and best[0] > 0:
            best[2].invoices.append(inv)
        else:
            key = str(_f(inv).get("provider") or _f(inv).get("seller") or inv.file)
            orphans.setdefault(key, _Purchase(None)).invoices.append(inv)
    groups.extend(orphans.values())
    # the later copies of a duplicate invoice still belong to its purchase (proof of payment)
    for dup_file, first in duplicates.items():
        for g in groups:
            if first in g.invoices:
                g.invoices.append(next(d for d in docs if d.file == dup_file))

    for letter in letters:
        lf = _f(letter)
        for g in groups:
            if g.contract is None:
                continue
            cf = _f(g.contract)
            if (lf.get("about_contract") and _code(lf["about_contract"]) == _code(cf.get("contract_number"))) or (
                not lf.get("about_contract")
                and _same_party(lf.get("about_provider"), g.provider, rules.names.party_match_min)
            ):
                g.letters.append(letter)
                break

    purchases = [_judge_purchase(g, applicant, rules, flags, duplicates) for g in groups]
    # letters: seals of both parties (data/device and innovation write-ups need none)
    for letter in letters:
        parties = _seal_parties(letter, applicant.name, rules)
        missing = [p for p in ("applicant", "seller") if p not in parties]
        if rules.seals.letter_needs_both_parties and missing:
            zh = "、".join({"applicant": "申报企业", "seller": "云服务商"}[p] for p in missing)
            en = " and ".join({"applicant": "the applicant", "seller": "the provider"}[p] for p in missing)
            flags.add("EXPLANATION_SEAL_MISSING", [letter.file], [Evidence(file=letter.file)], missing=zh, missing_en=en)
    return purchases, groups


def _money_equal(a: float | None, b: float | None, rules: Rules) -> bool:
    return a is None or b is None or abs(a - b) <= rules.spend.money_tolerance_yuan


def _judge_purchase(
    g: _Purchase, applicant: Applicant, rules: Rules, flags: _Flags, duplicates: dict[str, DocumentResult]
) -> Purchase:
    acc = rules.acceptance
    reasons: list[str] = []
    con = g.contract
    cf = _f(con) if con else {}
    distinct = [inv for inv in g.invoices if inv.file not in duplicates]
    if con is None:
        amount = round(sum(_num(_f(i).get("amount_yuan")) or 0.0 for i in distinct), 2)
        months = None
        flags.add("CONTRACT_MISSING", [i.file for i in g.invoices], [_ev(i, "amount_yuan") for i in distinct],
                  provider=g.provider or "?")
        if acc.needs_contract:
            reasons.append("CONTRACT_MISSING")
    else:
        amount = _num(cf.get("amount_yuan"))
        if amount is None:
            amount = round(sum(_num(_f(i).get("amount_yuan")) or 0.0 for i in distinct), 2)
        months = cf.get("period_months")
        if not distinct:
            flags.add("INVOICE_MISSING", [con.file], [Evidence(file=con.file)], file=con.file)
            if acc.needs_invoice:
                reasons.append("INVOICE_MISSING")
        # cloud wording, or a letter about it sealed by both parties
        if cf.get("cloud_keywords_present") is False:
            cosealed = [
                lt for lt in g.letters
                if {"applicant", "seller"} <= _seal_parties(lt, applicant.name, rules)
            ]
            if not cosealed:
                flags.add("CONTRACT_NO_CLOUD_WORDING", [con.file, *(lt.file for lt in g.letters)], [Evidence(file=con.file)])
                if acc.cloud_wording_or_cosealed_letter:
                    reasons.append("CONTRACT_NO_CLOUD_WORDING")
        if not _money_equal(_num(cf.get("amount_uppercase_yuan")), _num(cf.get("amount_yuan")), rules):
            flags.add("AMOUNT_UPPER_LOWER_MISMATCH", [con.file], [_ev(con, "amount_uppercase_yuan"), _ev(con, "amount_yuan")],
                      upper=cf.get("amount_uppercase_yuan"), lower=cf.get("amount_yuan"))
            if acc.amounts_upper_lower_agree:
                reasons.append("AMOUNT_UPPER_LOWER_MISMATCH")
        # seals of both parties on an agreement (console order forms carry none)
        if rules.seals.contract_needs_both_parties and not (rules.seals.order_forms_exempt and _is_order_form(con)):
            parties = _seal_parties(con, applicant.name, rules)
            for party, zh, en in (("applicant", "申报企业", "the applicant"), ("seller", "服务商", "the provider")):
                if party not in parties:
                    flags.add("SEAL_MISSING", [con.file], [Evidence(file=con.file)], subject=party,
                              file=con.file, party=zh, party_en=en)
                    if acc.reject_on_missing_seal:
                        reasons.append("SEAL_MISSING")
    for inv in distinct:
        fi = _f(inv)
        legible = _code_legible(inv, "buyer_tax_id", "buyer", applicant.name, rules)
        if acc.invoice_buyer_name_matches and fi.get("buyer") and applicant.name and legible and _reliable(inv, "buyer", rules) and not _same_party(
            fi["buyer"], applicant.name, rules.names.party_match_min
        ):
            flags.add("INVOICE_BUYER_MISMATCH", [inv.file], [_ev(inv, "buyer")], buyer=fi["buyer"], applicant=applicant.name)
            reasons.append("INVOICE_BUYER_MISMATCH")
        if (acc.invoice_buyer_tax_id_matches and fi.get("buyer_tax_id") and applicant.uscc
                and _code(fi["buyer_tax_id"]) != applicant.uscc and legible):
            flags.add("INVOICE_BUYER_TAXID_MISMATCH", [inv.file], [_ev(inv, "buyer_tax_id")], tax_id=fi["buyer_tax_id"], uscc=applicant.uscc)
            reasons.append("INVOICE_BUYER_TAXID_MISMATCH")
        if not _money_equal(_num(fi.get("amount_uppercase_yuan")), _num(fi.get("amount_yuan")), rules):
            flags.add("AMOUNT_UPPER_LOWER_MISMATCH", [inv.file], [_ev(inv, "amount_uppercase_yuan"), _ev(inv, "amount_yuan")],
                      upper=fi.get("amount_uppercase_yuan"), lower=fi.get("amount_yuan"))
            if acc.amounts_upper_lower_agree:
                reasons.append("AMOUNT_UPPER_LOWER_MISMATCH")
        parts = [_num(fi.get("total_amount")), _num(fi.get("total_tax")), _num(fi.get("amount_yuan"))]
        if all(p is not None for p in parts) and not _money_equal(parts[0] + parts[1], parts[2], rules):
            flags.add("INVOICE_TOTAL_INCONSISTENT", [inv.file], [_ev(inv, "total_amount"), _ev(inv, "total_tax"), _ev(inv, "amount_yuan")],
                      amount=parts[0], tax=parts[1], total=parts[2])
            if acc.invoice_totals_consistent:
                reasons.append("INVOICE_TOTAL_INCONSISTENT")
        if con is not None and fi.get("date") and cf.get("date") and str(fi["date"]) < str(cf["date"]):
            flags.add("INVOICE_BEFORE_CONTRACT", [inv.file, con.file], [_ev(inv, "date"), _ev(con, "date")],
                      invoice_date=fi["date"], contract_date=cf["date"])
            if acc.reject_on_invoice_before_contract:
                reasons.append("INVOICE_BEFORE_CONTRACT")
        if (rules.seals.legacy_invoice_needs_seller_seal and not _is_digital_invoice(inv)
                and "seller" not in _seal_parties(inv, applicant.name, rules)):
            flags.add("SEAL_MISSING", [inv.file], [Evidence(file=inv.file)], subject="seller", file=inv.file,
                      party="销售方发票专用章", party_en="the seller")
    months_i = int(months) if isinstance(months, (int, float)) and months else None
    counted = months_i or rules.spend.default_months
    annual = round((amount or 0.0) * 12 / max(rules.spend.min_months, counted), 2) if amount is not None else None
    unique_reasons = list(dict.fromkeys(reasons))
    return Purchase(
        provider=g.provider,
        amount_yuan=amount,
        months=counted,
        annualised_yuan=annual,
        accepted=not unique_reasons,
        rejected_because=unique_reasons,
        contract_file=con.file if con else None,
        invoice_files=[i.file for i in g.invoices],
    )


# --------------------------------------------------------------------------- subdomains and stars


def _claimed(form: DocumentResult | None, taxonomy: Taxonomy) -> Claimed:
    if form is None:
        return Claimed()
    f = _f(form)
    names: list[str] = []
    for written, tick in (f.get("ticks") or {}).items():
        if isinstance(tick, dict) and tick.get("claimed"):
            name = normalise_subdomain_name(written, taxonomy) or written
            if name not in names:
                names.append(name)
    return Claimed(subdomains=names, annualised_spend_yuan=_num(f.get("claimed_spend_yuan")))


def judge(docs: list[DocumentResult], rules: Rules, taxonomy: Taxonomy | None = None) -> Judgement:
    taxonomy = taxonomy or load_taxonomy()
    flags = _Flags()
    applicant, form, blocked = _applicant(docs, flags, rules)
    ff = _f(form) if form else {}
    star = ff.get("star_sought") if ff.get("star_sought") in (3, 4, 5) else None
    deployment = ff.get("deployment") if ff.get("deployment") in ("public", "private", "hybrid") else None
    claimed = _claimed(form, taxonomy)

    purchases, groups = _purchases(docs, applicant, rules, flags)
    total = round(sum(p.annualised_yuan or 0.0 for p in purchases), 2)
    accepted = round(sum(p.annualised_yuan or 0.0 for p in purchases if p.accepted), 2)
    threshold = rules.spend.threshold_yuan
    if (star is None or star in rules.spend.threshold_stars) and accepted < threshold:
        files = [p.contract_file or f for p in purchases for f in ([p.contract_file] if p.contract_file else p.invoice_files)]
        flags.add("SPEND_BELOW_THRESHOLD", files, [Evidence(file=f) for f in files],
                  spend=f"{accepted:,.0f}", threshold=f"{threshold:,.0f}")
    if claimed.annualised_spend_yuan is not None and form is not None:
        tol = rules.spend.claimed_tolerance_pct / 100
        if abs(claimed.annualised_spend_yuan - total) > tol * max(total, 1.0):
            flags.add("CLAIMED_SPEND_MISMATCH", [form.file], [_ev(form, "claimed_spend_yuan")],
                      claimed=f"{claimed.annualised_spend_yuan:,.0f}", evidenced=f"{total:,.0f}",
                      tolerance=f"{rules.spend.claimed_tolerance_pct:g}")

    # what each source shows
    evidence_docs = [d for d in docs if not d.error and d.kind not in ("application_form", "licence")]
    purchase_names: set[str] = set()
    for g, p in zip(groups, purchases):
        if p.accepted:
            for d in ([g.contract] if g.contract else []) + g.invoices:
                purchase_names |= _names(d)
    screenshot_names = set().union(*(_names(d) for d in docs if d.kind == "screenshot" and not d.error))
    letters = [d for d in docs if d.kind == "explanation" and not d.error]

    def _letter_names(kind: str) -> set[str]:
        out: set[str] = set()
        for d in letters:
            if _letter_kind(d) == kind:
                out |= _names(d)
                for written in _f(d).get("subdomains") or []:
                    out.add(normalise_subdomain_name(written, taxonomy) or written)
        return out

    dd_letters = [d for d in letters if _letter_kind(d) == "data_device"]
    inn_letters = [d for d in letters if _letter_kind(d) == "innovation"]
    sources = {
        "claimed": set(claimed.subdomains),
        "accepted_purchase": purchase_names,
        "screenshot": screenshot_names,
        "data_device_explanation": _letter_names("data_device"),
        "innovation_explanation": _letter_names("innovation"),
    }
    evidenced: dict[str, list[str]] = {g: [] for g in CHECKLIST_GROUPS}
    for name in claimed.subdomains:
        sd = taxonomy.lookup(name)
        if sd is None:
            continue
        needs = rules.subdomain_evidence.get(sd.kind, [])
        if all(name in sources[n] for n in needs):
            evidenced[sd.group].append(name)
        mapped = [d for d in evidence_docs if name in _names(d) or name in (
            {normalise_subdomain_name(w, taxonomy) or w for w in _f(d).get("subdomains") or []})]
        if not mapped:
            flags.add("SUBDOMAIN_NO_EVIDENCE", [], [], subject=name, subdomain=name)
        elif name not in screenshot_names:
            flags.add("SUBDOMAIN_NO_SCREENSHOT", [d.file for d in mapped], [Evidence(file=d.file) for d in mapped],
                      subject=name, subdomain=name)

    # stars
    counts = {g: len(v) for g, v in evidenced.items()}
    dd_count = sum(counts[g] for g in rules.data_device_groups)
    inn_count = counts.get(rules.innovation_group, 0)
    have = {"data_device_explanation": bool(dd_letters), "innovation_explanation": bool(inn_letters)}
    table: list[dict[str, Any]] = []
    holds: dict[int, bool] = {}
    shortfalls: dict[int, list[tuple[str, int, int]]] = {}
    for s, sr in sorted(rules.stars.items()):
        rows: list[dict[str, Any]] = []
        group_ok = [counts[g] >= n for g, n in sr.groups.items()]
        for g, n in sr.groups.items():
            rows.append({"star": s, "rule": f"{g} ≥ {n}", "actual": counts[g], "passed": counts[g] >= n})
        combined = any(group_ok) if sr.groups_combine == "any" else all(group_ok)
        if sr.groups_combine == "any" and len(sr.groups) > 1:
            rows.append({"star": s, "rule": "任一类满足即可 (either group)", "actual": None, "passed": combined})
        short = [(g, counts[g], n) for g, n in sr.groups.items() if counts[g] < n] if not combined else []
        ok = combined
        if sr.data_device_min:
            passed = dd_count >= sr.data_device_min
            rows.append({"star": s, "rule": f"{rules.data_device_subject} ≥ {sr.data_device_min}", "actual": dd_count, "passed": passed})
            ok &= passed
            if not passed:
                short.append((rules.data_device_subject, dd_count, sr.data_device_min))
        if sr.innovation_min:
            passed = inn_count >= sr.innovation_min
            rows.append({"star": s, "rule": f"{rules.innovation_group} ≥ {sr.innovation_min}", "actual": inn_count, "passed": passed})
            ok &= passed
            if not passed:
                short.append((rules.innovation_group, inn_count, sr.innovation_min))
        for need in sr.needs:
            rows.append({"star": s, "rule": need, "actual": have[need], "passed": have[need]})
            ok &= have[need]
        if s in rules.spend.threshold_stars:
            passed = accepted >= threshold
            rows.append({"star": s, "rule": f"年化投入 ≥ ¥{threshold:,.0f}", "actual": accepted, "passed": passed})
            ok &= passed
        dep_ok = deployment is None or deployment in sr.deployments
        rows.append({"star": s, "rule": "部署模式 " + "/".join(sr.deployments), "actual": deployment, "passed": dep_ok})
        ok &= dep_ok
        rows.append({"star": s, "rule": "无阻断条件 (not blocked)", "actual": not blocked, "passed": not blocked})
        holds[s] = ok and not blocked
        shortfalls[s] = short
        table.extend(rows)

    if star is not None:
        for group, have_n, need_n in shortfalls.get(star, []):
            flags.add("SUBDOMAIN_COUNT_SHORT", [], [], subject=group, group=group, have=have_n, star=star, need=need_n)
        sr = rules.stars.get(star)
        if sr and deployment and deployment not in sr.deployments and form is not None:
            flags.add("PRIVATE_CLOUD_NOT_ALLOWED", [form.file], [_ev(form, "deployment")],
                      deployment=DEPLOYMENT_ZH[deployment], deployment_en=deployment)
        if star in (4, 5) and deployment in ("private", "hybrid") and not any(
            d.kind == "private_cloud_doc" and not d.error for d in docs
        ):
            flags.add("PRIVATE_CLOUD_DOCS_MISSING")
        if sr and "innovation_explanation" in sr.needs and not inn_letters:
            flags.add("INNOVATION_EVIDENCE_MISSING")

    _low_confidence(docs, rules, flags)
    verdict = Verdict(
        meets_star_sought=holds.get(star, False) if star is not None else False,
        highest_star_supported=max([s for s, ok in holds.items() if ok], default=0),
    )
    verdict = verdict.model_copy(update={"rules": table, "blocked": blocked})
    return Judgement(
        applicant=applicant,
        star_sought=star,
        deployment=deployment,
        claimed=claimed,
        purchases=purchases,
        annualised_spend_yuan=total,
        annualised_spend_accepted_yuan=accepted,
        subdomains_evidenced=evidenced,
        verdict=verdict,
        flags=flags.items,
    )


def _low_confidence(docs: list[DocumentResult], rules: Rules, flags: _Flags) -> None:
    by_file: dict[str, list[tuple[str, Evidence]]] = defaultdict(list)
    for doc in docs:
        for name in rules.ocr.key_fields.get(doc.kind, []):
            ev = doc.field_evidence.get(name)
            if ev is not None and ev.confidence is not None and ev.confidence < rules.ocr.low_confidence:
                by_file[doc.file].append((name, ev))
    for file, items in by_file.items():
        worst = min(items, key=lambda t: t[1].confidence or 0.0)
        flags.add("LOW_OCR_CONFIDENCE", [file], [ev for _, ev in items],
                  field="、".join(n for n, _ in items), confidence=f"{worst[1].confidence:.2f}")
