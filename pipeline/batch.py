"""Batch-level work on many screened applications: cross-application checks and the bureau report."""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.model import ScreeningResult

log = logging.getLogger(__name__)


def _with_cross_flags(results: dict[Path, ScreeningResult], extra: dict) -> list[ScreeningResult]:
    out = []
    for result in results.values():
        flags = extra.get(result.application_id) or []
        out.append(result.model_copy(update={"flags": [*result.flags, *flags]}) if flags else result)
    return sorted(out, key=lambda r: r.application_id)


def add_cross_application_flags(results: dict[Path, ScreeningResult]) -> list[ScreeningResult]:
    """The same invoice or screenshot in two applications: flagged in both."""
    from pipeline.crosscheck import cross_check

    return _with_cross_flags(results, cross_check([(result, path) for path, result in results.items()]))


def page_images_for(results: dict[Path, ScreeningResult]):  # noqa: ANN201 - a PageImages callable
    """Page renderings for the report, from each application's own folder or zip.

    A zip's members are named in the result as ingest names them (single top folder dropped,
    GBK names decoded), so they are looked up through :func:`pipeline.ingest.load_application`.
    """
    from pipeline.ingest import DocumentBytes
    from pipeline.report import render_page_bytes, render_page_image

    where = {r.application_id: path for path, r in results.items()}
    zips = DocumentBytes()

    def page_images(application_id: str, file: str, page: int) -> bytes | None:
        path = where.get(application_id)
        if path is None:
            return None
        if path.is_dir():
            return render_page_image(path, file, page)
        if path.is_file():
            data = zips.get(path, file)
            return render_page_bytes(data, file, page) if data else None
        return None

    return page_images


def cross_check_and_report(results: dict[Path, ScreeningResult], out: Path) -> list[ScreeningResult]:
    """Cross-application flags (duplicate invoices, reused screenshots) added to each result, and
    ``summary.xlsx``/``summary.csv``/HTML pages written, reused contract numbers included."""
    from pipeline.crosscheck import cross_check_report
    from pipeline.report import write_report

    report = cross_check_report([(result, path) for path, result in results.items()])
    final = _with_cross_flags(results, report.flags)
    write_report(final, out, page_images_for(results), report.reused_contracts)
    return final
