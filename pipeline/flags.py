"""The flag catalogue (``pipeline/data/flags.yaml``) and a helper to raise a flag from it."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.model import Evidence, Flag

CATALOGUE = Path(__file__).with_name("data") / "flags.yaml"


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))["flags"]


def make_flag(
    code: str,
    *,
    files: Iterable[str] = (),
    evidence: Iterable[Evidence] = (),
    severity: str | None = None,
    **params: Any,
) -> Flag:
    """A flag with the catalogue's severity and messages, filled with ``params``."""
    entry = catalogue()[code]  # KeyError: an unknown code is a programming error
    values = _Blank(params)
    return Flag(
        code=code,
        severity=severity or entry["severity"],  # type: ignore[arg-type]
        message=entry["zh"].format_map(values),
        message_en=entry["en"].format_map(values),
        files=sorted(set(files)),
        evidence=list(evidence),
    )
