"""The parties and products of a generated application, built from catalog data."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from .ids import make_uscc

HERE = Path(__file__).parent


@lru_cache(maxsize=1)
def catalog() -> dict:
    return yaml.safe_load((HERE / "catalog.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def screens() -> dict:
    return yaml.safe_load((HERE / "screens.yaml").read_text(encoding="utf-8"))


def group_of(subdomain: str) -> str:
    for g, subs in catalog()["checklist"].items():
        if subdomain in subs:
            return g
    raise KeyError(f"unknown subdomain {subdomain!r}")


@dataclass(frozen=True)
class Company:
    name: str
    uscc: str
    uscc_valid: bool
    division: str
    city: str
    address: str
    legal_rep: str
    capital_wan: int
    established: date
    company_type: str
    scope: str
    industry: str
    phone: str
    bank: str
    authority: str  # 登记机关
    contact: str
    contact_title: str
    contact_mobile: str
    email: str
    staff: int
    cloud_staff: int

    @property
    def jiangsu(self) -> bool:
        return self.uscc[2:4] == "32"

    @property
    def capital_yuan(self) -> int:
        return self.capital_wan * 10000


@dataclass(frozen=True)
class Provider:
    key: str
    name: str
    short: str
    tax_id: str
    address: str
    phone: str
    bank: str
    tax_office: str
    color: tuple[int, int, int]

    @property
    def province(self) -> str:
        return {"33": "浙江", "52": "贵州", "11": "北京", "44": "深圳", "32": "江苏",
                "31": "上海"}[self.tax_id[2:4]]


@dataclass(frozen=True)
class Product:
    key: str
    provider: str
    name: str
    spec: str
    unit: str
    tax_class: str
    subdomains: tuple[str, ...]
    contract_name: str | None = None


def provider(key: str, seed: int = 0) -> Provider:
    """A provider with a generated (stable per key) tax id."""
    p = catalog()["providers"][key]
    rng = random.Random(f"provider-{key}-{seed}")
    return Provider(key, p["name"], p["short"], make_uscc(rng, p["division"]), p["address"],
                    p["phone"], p["bank"], p["tax_office"], tuple(p["color"]))


def product(key: str) -> Product:
    p = dict(catalog()["products"][key])
    return Product(key=key, provider=p["provider"], name=p["name"], spec=p["spec"], unit=p["unit"],
                   tax_class=p["tax_class"], subdomains=tuple(p["subdomains"]),
                   contract_name=p.get("contract_name"))
