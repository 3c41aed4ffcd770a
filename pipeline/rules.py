"""The rules file (``pipeline/data/rules.yaml``, or ``YUNSHEN_RULES_FILE``) as a validated model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.datafiles import load_yaml_model

DEFAULT_RULES = Path(__file__).with_name("data") / "rules.yaml"


class _M(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpendRules(_M):
    threshold_yuan: float
    threshold_stars: list[int]
    min_months: int = 12
    default_months: int = 12
    claimed_tolerance_pct: float = 5.0
    money_tolerance_yuan: float = 0.01


class StarRules(_M):
    groups: dict[str, int]
    groups_combine: Literal["any", "all"]
    data_device_min: int = 0
    innovation_min: int = 0
    deployments: list[Literal["public", "private", "hybrid"]]
    needs: list[Literal["data_device_explanation", "innovation_explanation"]] = Field(default_factory=list)


class Blocking(_M):
    not_jiangsu: bool = True
    uscc_invalid: bool = True
    licence_missing: bool = True
    not_enterprise: bool = True


class Acceptance(_M):
    needs_contract: bool = True
    needs_invoice: bool = True
    cloud_wording_or_cosealed_letter: bool = True
    invoice_buyer_name_matches: bool = True
    invoice_buyer_tax_id_matches: bool = True
    amounts_upper_lower_agree: bool = True
    invoice_totals_consistent: bool = True
    reject_on_invoice_before_contract: bool = False
    reject_on_duplicate_invoice: bool = False
    reject_on_missing_seal: bool = False


class SealRules(_M):
    contract_needs_both_parties: bool = True
    order_forms_exempt: bool = True
    digital_invoices_exempt: bool = True
    legacy_invoice_needs_seller_seal: bool = True
    letter_needs_both_parties: bool = True
    party_match_min: float = 0.80


class NameRules(_M):
    party_match_min: float = 0.80


class OcrRules(_M):
    low_confidence: float = 0.8
    key_fields: dict[str, list[str]] = Field(default_factory=dict)


class Rules(_M):
    version: str
    spend: SpendRules
    stars: dict[int, StarRules]
    data_device_groups: list[str]
    data_device_subject: str
    innovation_group: str
    subdomain_evidence: dict[str, list[str]]
    blocking: Blocking = Blocking()
    acceptance: Acceptance = Acceptance()
    seals: SealRules = SealRules()
    names: NameRules = NameRules()
    ocr: OcrRules = OcrRules()


def load_rules(path: Path | str | None = None) -> Rules:
    return load_yaml_model(Path(path) if path else DEFAULT_RULES, Rules)
