"""Facts of one document: every field with the page, box and confidence it was read from.

Each kind has one extractor module (``extractors/licence.py``, ``invoice.py``, ``contract.py``,
``form.py``, ``letter.py``, ``screenshot.py``) exposing ``extract(pages, ctx) -> DocumentFacts``.
:func:`extract_facts` dispatches on the kind. A value the evidence does not show stays absent
(null in the result) — an extractor never guesses.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from extractors.layout import Located
from pipeline.model import Evidence, Page

log = logging.getLogger(__name__)

EXTRACTOR_MODULES: dict[str, str] = {
    "licence": "extractors.licence",
    "invoice": "extractors.invoice",
    "contract": "extractors.contract",
    "application_form": "extractors.form",
    "explanation": "extractors.letter",
    "screenshot": "extractors.screenshot",
    "private_cloud_doc": "extractors.letter",
}


@dataclass(frozen=True)
class ExtractionContext:
    file: str
    kind: str
    is_image: bool = False
    """The document came from an image file (photo, scan, screenshot) rather than a PDF."""


@dataclass(frozen=True)
class FieldValue:
    """One extracted value (JSON-serialisable) and where it came from."""

    value: Any
    page: int | None
    bbox: list[float] | None
    confidence: float
    raw: str | None = None
    """The printed text the value was parsed from (e.g. ``壹万贰仟陆佰元整``)."""

    def evidence(self, file: str) -> Evidence:
        return Evidence(
            file=file,
            page=self.page,
            bbox=self.bbox,
            text=self.raw,
            confidence=round(min(max(self.confidence, 0.0), 1.0), 4),
        )


@dataclass
class DocumentFacts:
    fields: dict[str, FieldValue] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def set(
        self,
        name: str,
        value: Any,
        where: Located | FieldValue | None,
        *,
        confidence: float | None = None,
        raw: str | None = None,
    ) -> None:
        """Record ``value`` read at ``where`` (ignored when ``value`` is None)."""
        if value is None:
            return
        if isinstance(where, Located):
            self.fields[name] = FieldValue(
                value, where.page, list(where.bbox), confidence if confidence is not None else where.confidence,
                raw if raw is not None else where.value,
            )
        elif isinstance(where, FieldValue):
            self.fields[name] = FieldValue(
                value, where.page, where.bbox, confidence if confidence is not None else where.confidence,
                raw if raw is not None else where.raw,
            )
        else:
            self.fields[name] = FieldValue(value, None, None, confidence or 0.0, raw)

    def get(self, name: str) -> Any:
        fv = self.fields.get(name)
        return fv.value if fv else None

    def values(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.fields.items()}


def extract_facts(kind: str, pages: Sequence[Page], ctx: ExtractionContext) -> DocumentFacts:
    """Run the kind's extractor. An extractor bug costs that document's fields, never the batch."""
    module_name = EXTRACTOR_MODULES.get(kind)
    if module_name is None or not pages:
        return DocumentFacts()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return DocumentFacts(notes=[f"no extractor for {kind} yet"])
    except Exception as exc:  # noqa: BLE001 - a broken extractor module costs its fields only
        log.exception("extractor %s cannot be imported", module_name)
        return DocumentFacts(notes=[f"extractor unavailable: {type(exc).__name__}: {exc}"])
    try:
        return module.extract(list(pages), ctx)
    except Exception as exc:  # noqa: BLE001 - isolate extractor bugs per document
        log.exception("extractor %s failed on %s", module_name, ctx.file)
        return DocumentFacts(notes=[f"extractor failed: {type(exc).__name__}: {exc}"])
