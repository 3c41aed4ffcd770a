"""Scoring extracted fields against the samples' ``truth.json`` (used by tests and bench/accuracy.py).

A *field item* is one scalar to get right: a top-level field, one element of a list field, one
sub-field of a list-of-records field (invoice line items, contract product lines) or one entry of
the 附表 ticks. An item counts when the truth or the prediction has a value; it is correct when
they agree (strings after NFKC/space/bracket folding, numbers within ¥0.01). Predicting a value
the truth does not have is an error too: the pipeline must never guess.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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


# --------------------------------------------------------------------------- whole applications


@dataclass
class SampleReport:
    """Every figure the accuracy harness reports, over a set of sample applications."""

    kind_total: int = 0
    kind_correct: int = 0
    kind_errors: list = field(default_factory=list)
    field_items: list = field(default_factory=list)
    """(application, file, kind, rendering, ItemScore) per field item."""
    subdomain_tp: int = 0
    subdomain_fp: int = 0
    subdomain_fn: int = 0
    spend_exact: int = 0
    verdict_exact: int = 0
    applications: int = 0
    flag_tp: int = 0
    flag_fp: int = 0
    flag_fn: int = 0
    seal_true: int = 0
    seal_found: int = 0
    """True seals found: a result seal on the same page whose box overlaps it at IoU ≥ 0.5."""
    seal_false: int = 0
    """Result seals matching no true seal."""
    seal_party_correct: int = 0
    """Found seals whose matched party is the true one."""
    app_errors: list = field(default_factory=list)

    @staticmethod
    def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def subdomain_prf(self) -> tuple[float, float, float]:
        return self._f1(self.subdomain_tp, self.subdomain_fp, self.subdomain_fn)

    @property
    def flag_prf(self) -> tuple[float, float, float]:
        return self._f1(self.flag_tp, self.flag_fp, self.flag_fn)

    @property
    def seal_prf(self) -> tuple[float, float, float]:
        return self._f1(self.seal_found, self.seal_false, self.seal_true - self.seal_found)

    @property
    def seal_party_accuracy(self) -> float:
        return self.seal_party_correct / self.seal_found if self.seal_found else 1.0


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x0, y0, x1, y1]`` boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def match_boxes(
    truth: Sequence[Sequence[float]],
    found: Sequence[Sequence[float]],
    min_iou: float = 0.5,
    comparable: Callable[[int, int], bool] | None = None,
) -> list[tuple[int, int, float]]:
    """One-to-one (truth index, found index, IoU) pairs, best overlap first, each ≥ ``min_iou``;
    ``comparable(i, j)`` restricts which may pair at all (e.g. the same page)."""
    pairs = sorted(
        ((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)
         if comparable is None or comparable(i, j)),
        reverse=True,
    )
    used_t: set[int] = set()
    used_f: set[int] = set()
    out = []
    for overlap, i, j in pairs:
        if overlap < min_iou or i in used_t or j in used_f:
            continue
        used_t.add(i)
        used_f.add(j)
        out.append((i, j, overlap))
    return out


def _score_seals(report: SampleReport, app: str, file: str, truth: list[dict], found: list[Any]) -> None:
    """Seals matched on the same page at IoU ≥ 0.5 (as bench/seals.py), then their parties."""
    report.seal_true += len(truth)
    pairs = match_boxes(
        [t["bbox"] for t in truth],
        [list(s.bbox) for s in found],
        comparable=lambda i, j: int(truth[i].get("page", 1)) == found[j].page,
    )
    used_t = {i for i, _, _ in pairs}
    used_f = {j for _, j, _ in pairs}
    for i, j, _ in pairs:
        report.seal_found += 1
        if found[j].party == truth[i].get("party"):
            report.seal_party_correct += 1
        else:
            report.app_errors.append((app, "seal party", file, truth[i].get("party"), found[j].party))
    report.seal_false += len(found) - len(used_f)
    for i, t in enumerate(truth):
        if i not in used_t:
            report.app_errors.append((app, "seal missed", file, t.get("page"), t.get("text")))


def flag_key(flag: Any) -> tuple:
    """How flags are matched: code, the files behind it, and the subject of subdomain flags."""
    get = flag.get if isinstance(flag, dict) else lambda k, d=None: getattr(flag, k, d)
    code = get("code")
    subject = get("subject")
    if subject and ":" in subject:  # another application's file: the pair, not the text, matters
        subject = "other-application"
    return code, tuple(sorted(get("files") or [])), subject if code.startswith("SUBDOMAIN") or subject == "other-application" else None


def score_application(report: SampleReport, truth: dict, result: Any, *, skip_flag_codes=frozenset()) -> None:
    """Add one application's figures to ``report`` (result: a ScreeningResult)."""
    app = truth["application_id"]
    report.applications += 1
    docs = {d.file: d for d in result.documents}
    for t_doc in truth["documents"]:
        doc = docs.get(t_doc["file"])
        report.kind_total += 1
        if doc is not None and doc.kind == t_doc["kind"]:
            report.kind_correct += 1
        else:
            report.kind_errors.append((app, t_doc["file"], t_doc["kind"], doc.kind if doc else None))
        predicted = doc.fields.model_dump() if doc is not None else {}
        _score_seals(report, app, t_doc["file"], t_doc.get("seals") or [], list(doc.seals) if doc is not None else [])
        for item in score_fields(t_doc.get("fields") or {}, predicted):
            report.field_items.append((app, t_doc["file"], t_doc["kind"], t_doc["rendering"], item))
    exp = truth["expected"]
    for group, names in exp["subdomains_evidenced"].items():
        got = set(result.subdomains_evidenced.get(group, []))
        want = set(names)
        report.subdomain_tp += len(got & want)
        report.subdomain_fp += len(got - want)
        report.subdomain_fn += len(want - got)
        if got != want:
            report.app_errors.append((app, "subdomains", group, sorted(want), sorted(got)))
    spend_ok = (
        result.annualised_spend_accepted_yuan is not None
        and abs(result.annualised_spend_accepted_yuan - exp["annualised_spend_accepted_yuan"]) <= 1
        and result.annualised_spend_yuan is not None
        and abs(result.annualised_spend_yuan - exp["annualised_spend_yuan"]) <= 1
    )
    report.spend_exact += spend_ok
    if not spend_ok:
        report.app_errors.append((app, "spend", exp["annualised_spend_yuan"], exp["annualised_spend_accepted_yuan"],
                                  result.annualised_spend_yuan, result.annualised_spend_accepted_yuan))
    verdict_ok = (
        result.verdict.meets_star_sought == exp["verdict"]["meets_star_sought"]
        and result.verdict.highest_star_supported == exp["verdict"]["highest_star_supported"]
    )
    report.verdict_exact += verdict_ok
    if not verdict_ok:
        report.app_errors.append((app, "verdict", exp["verdict"], result.verdict.meets_star_sought,
                                  result.verdict.highest_star_supported))
    want_flags = {flag_key(f) for f in exp["flags"] if f["code"] not in skip_flag_codes and not f.get("engine_dependent")}
    got_flags = {flag_key(f) for f in result.flags if f.code not in skip_flag_codes and f.code != "LOW_OCR_CONFIDENCE"}
    report.flag_tp += len(got_flags & want_flags)
    report.flag_fp += len(got_flags - want_flags)
    report.flag_fn += len(want_flags - got_flags)
    for key in sorted(got_flags - want_flags):
        report.app_errors.append((app, "flag not expected", key))
    for key in sorted(want_flags - got_flags):
        report.app_errors.append((app, "flag missed", key))
