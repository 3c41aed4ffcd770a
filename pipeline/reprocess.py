"""Re-judging stored results under a (new) rules file, and what changed.

A stored result holds every document's facts, so re-judging reads no file and runs no OCR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.model import ScreeningResult
from pipeline.rules import Rules
from pipeline.screen import apply_judgement


@dataclass(frozen=True)
class ResultDiff:
    application_id: str
    verdict_before: tuple[bool | None, int | None]
    verdict_after: tuple[bool | None, int | None]
    flags_added: list[str] = field(default_factory=list)
    flags_removed: list[str] = field(default_factory=list)
    spend_before: float | None = None
    spend_after: float | None = None

    @property
    def verdict_changed(self) -> bool:
        return self.verdict_before != self.verdict_after

    @property
    def changed(self) -> bool:
        return self.verdict_changed or bool(self.flags_added or self.flags_removed) or (
            self.spend_before != self.spend_after
        )

    def describe(self) -> str:
        def v(t: tuple[bool | None, int | None]) -> str:
            meets, star = t
            return f"{'通过' if meets else '不通过' if meets is False else '未判定'}/最高{star}星"

        parts = []
        if self.verdict_changed:
            parts.append(f"结论 verdict {v(self.verdict_before)} → {v(self.verdict_after)}")
        if self.spend_before != self.spend_after:
            parts.append(f"认可年化投入 accepted spend {self.spend_before} → {self.spend_after}")
        if self.flags_added:
            parts.append("新增 + " + ", ".join(self.flags_added))
        if self.flags_removed:
            parts.append("消除 - " + ", ".join(self.flags_removed))
        return f"{self.application_id}: " + ("; ".join(parts) if parts else "无变化 unchanged")


def _flag_labels(result: ScreeningResult) -> list[str]:
    return sorted(
        f"{f.code}[{f.subject}]" if f.subject else f"{f.code}({', '.join(f.files)})" if f.files else f.code
        for f in result.flags
    )


def diff_results(before: ScreeningResult, after: ScreeningResult) -> ResultDiff:
    b, a = _flag_labels(before), _flag_labels(after)
    added = [x for x in a if x not in b]
    removed = [x for x in b if x not in a]
    return ResultDiff(
        application_id=after.application_id,
        verdict_before=(before.verdict.meets_star_sought, before.verdict.highest_star_supported),
        verdict_after=(after.verdict.meets_star_sought, after.verdict.highest_star_supported),
        flags_added=added,
        flags_removed=removed,
        spend_before=before.annualised_spend_accepted_yuan,
        spend_after=after.annualised_spend_accepted_yuan,
    )


def rejudge(result: ScreeningResult, rules: Rules) -> tuple[ScreeningResult, ResultDiff]:
    """The result judged under ``rules`` (cross-application flags are kept), and the difference."""
    cross = [f for f in result.flags if f.subject and ":" in f.subject]
    new = apply_judgement(result, rules)
    if cross:
        new = new.model_copy(update={"flags": [*new.flags, *cross]})
    return new, diff_results(result, new)


def screened_since(result: ScreeningResult, since: datetime | None) -> bool:
    if since is None:
        return True
    try:
        when = datetime.fromisoformat(result.screened_at)
    except ValueError:
        return True
    if when.tzinfo is not None and since.tzinfo is None:
        since = since.replace(tzinfo=when.tzinfo)
    return when >= since


def rejudge_folder(
    results_dir, rules: Rules, *, since: datetime | None = None, applications: list[str] | None = None,
    write: bool = True,
) -> list[ResultDiff]:
    """Re-judge every result JSON in ``results_dir`` (optionally only some); the diffs, in order."""
    from pathlib import Path

    from pipeline.results import write_result_file

    diffs: list[ResultDiff] = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            old = ScreeningResult.model_validate_json(path.read_bytes())
        except ValueError:
            continue  # summary files, failure lists: not results
        if applications and old.application_id not in applications:
            continue
        if not screened_since(old, since):
            continue
        new, diff = rejudge(old, rules)
        if write:
            write_result_file(new, Path(results_dir))
        diffs.append(diff)
    return diffs
