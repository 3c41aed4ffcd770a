"""Batch-level work on many screened applications: cross-application checks and the bureau report."""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.model import ScreeningResult

log = logging.getLogger(__name__)


def add_cross_application_flags(results: dict[Path, ScreeningResult]) -> list[ScreeningResult]:
    """The same invoice or screenshot in two applications: flagged in both."""
    from pipeline.crosscheck import cross_check

    extra = cross_check([(result, path) for path, result in results.items()])
    out = []
    for result in results.values():
        flags = extra.get(result.application_id) or []
        out.append(result.model_copy(update={"flags": [*result.flags, *flags]}) if flags else result)
    return sorted(out, key=lambda r: r.application_id)


def page_images_for(results: dict[Path, ScreeningResult]):  # noqa: ANN201 - a PageImages callable
    """Page renderings for the report, from each application's own folder (zips: none yet)."""
    from pipeline.report import render_page_image

    folders = {r.application_id: path for path, r in results.items() if path.is_dir()}

    def page_images(application_id: str, file: str, page: int) -> bytes | None:
        folder = folders.get(application_id)
        return render_page_image(folder, file, page) if folder else None

    return page_images


def cross_check_and_report(results: dict[Path, ScreeningResult], out: Path) -> list[ScreeningResult]:
    from pipeline.report import write_report

    final = add_cross_application_flags(results)
    write_report(final, out, page_images_for(results))
    return final
