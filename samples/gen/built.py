"""What a document builder returns before it is rendered to a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .pdfdoc import RenderedPdf
from .screens import Screenshot


@dataclass
class Built:
    kind: str
    fields: dict[str, Any]
    pdf: RenderedPdf | None = None
    screen: Screenshot | None = None
    subdomains: list[str] = field(default_factory=list)


def cn_date(d: date, pad: bool = True) -> str:
    return f"{d.year}年{d.month:02d}月{d.day:02d}日" if pad else f"{d.year}年{d.month}月{d.day}日"


def iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def cloud_keywords(page_text: list[list[str]]) -> bool:
    """Literally says 云服务 or 云产品 somewhere on a printed line."""
    return any("云服务" in ln or "云产品" in ln for page in page_text for ln in page)
