"""Scoring extracted fields against the samples' ``truth.json`` (used by tests and bench/accuracy.py).

A *field item* is one scalar to get right: a top-level field, one element of a list field, one
sub-field of a list-of-records field (invoice line items, contract product lines) or one entry of
the 附表 ticks. An item counts when the truth or the prediction has a value; it is correct when
they agree (strings after NFKC/space/bracket folding, numbers within ¥0.01). Predicting a value
the truth does not have is an error too: the pipeline must never guess.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SKIP_FIELDS = frozenset({"engine_dependent", "bbox_as_stored"})


@dataclass(frozen=True)
class ItemScore:
    field: str
    truth: Any
    predicted: Any
    correct: bool


def _norm_str(value: str) -> str:
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if not ch.isspace()).replace("（", "(").replace("）", ")")


def equal(truth: Any, predicted: Any) -> bool:
    if truth is None or predicted is None:
        return truth is None and predicted is None
    if isinstance(truth, bool) or isinstance(predicted, bool):
        return truth is predicted or truth == predicted and type(truth) is type(predicted)
    if isinstance(truth, (int, float)) and isinstance(predicted, (int, float)):
        return abs(float(truth) - float(predicted)) <= 0.01
    if isinstance(truth, str) and isinstance(predicted, str):
        return _norm_str(truth) == _norm_str(predicted)
    return truth == predicted


def _scalar(name: str, truth: Any, predicted: Any) -> Iterable[ItemScore]:
    if truth is None and predicted is None:
        return []
    return [ItemScore(name, truth, predicted, equal(truth, predicted))]


def _records(name: str, truth: list[dict], predicted: list[dict] | None) -> Iterable[ItemScore]:
    predicted = list(predicted or [])
    out: list[ItemScore] = []
    for i, t_rec in enumerate(truth):
        p_rec = predicted[i] if i < len(predicted) and isinstance(predicted[i], dict) else {}
        for key, t_val in t_rec.items():
            out.extend(_scalar(f"{name}[{i}].{key}", t_val, p_rec.get(key)))
    for j in range(len(truth), len(predicted)):  # invented records
        out.append(ItemScore(f"{name}[{j}]", None, predicted[j], False))
    return out


def _list(name: str, truth: list, predicted: list | None) -> Iterable[ItemScore]:
    remaining = list(predicted or [])
    out: list[ItemScore] = []
    for t_val in truth:
        hit = next((p for p in remaining if equal(t_val, p)), None)
        if hit is not None:
            remaining.remove(hit)
        out.append(ItemScore(f"{name}[]", t_val, hit, hit is not None))
    out.extend(ItemScore(f"{name}[]", None, p, False) for p in remaining)
    return out


def _dict(name: str, truth: dict, predicted: dict | None) -> Iterable[ItemScore]:
    predicted = predicted or {}
    out: list[ItemScore] = []
    for key, t_val in truth.items():
        p_val = predicted.get(key)
        if isinstance(t_val, dict):
            out.extend(_dict(f"{name}.{key}", t_val, p_val if isinstance(p_val, dict) else None))
        else:
            out.extend(_scalar(f"{name}.{key}", t_val, p_val))
    return out


def score_fields(truth: dict[str, Any], predicted: dict[str, Any]) -> list[ItemScore]:
    """Every field item of one document, scored."""
    out: list[ItemScore] = []
    for name, t_val in truth.items():
        if name in SKIP_FIELDS:
            continue
        p_val = predicted.get(name)
        if isinstance(t_val, list) and t_val and isinstance(t_val[0], dict):
            out.extend(_records(name, t_val, p_val if isinstance(p_val, list) else None))
        elif isinstance(t_val, list):
            out.extend(_list(name, t_val, p_val if isinstance(p_val, list) else None))
        elif isinstance(t_val, dict):
            out.extend(_dict(name, t_val, p_val if isinstance(p_val, dict) else None))
        else:
            out.extend(_scalar(name, t_val, p_val))
    for name, p_val in predicted.items():  # fields the truth does not have at all
        if name not in truth and p_val not in (None, [], {}):
            out.append(ItemScore(name, None, p_val, False))
    return out


def accuracy(items: Iterable[ItemScore]) -> tuple[float, int, int]:
    items = list(items)
    correct = sum(1 for i in items if i.correct)
    return (correct / len(items) if items else 1.0), correct, len(items)
