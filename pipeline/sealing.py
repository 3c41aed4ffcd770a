"""Seals on the pages of the documents that carry them (contracts, invoices, letters, forms,
licences): found and read once per page image, cached in the store like OCR, then matched to the
application's parties (which are only known once every document has been read).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.model import Page, Seal, clamp_bbox

if TYPE_CHECKING:
    from pipeline.ingest import SourceFile
    from pipeline.pages import OcrRunner

log = logging.getLogger(__name__)

SEAL_KINDS = frozenset({"contract", "invoice", "explanation", "application_form", "licence", "private_cloud_doc"})
MAX_SEAL_PAGES = 12
SEAL_RENDER_DPI = 150


def _page_images(src: SourceFile, pages: Sequence[Page], settings) -> dict[int, np.ndarray]:  # noqa: ANN001
    """Upright images of the first pages (the frame every box of the page uses)."""
    wanted = {p.number: p for p in pages[:MAX_SEAL_PAGES]}
    out: dict[int, np.ndarray] = {}
    if src.media_type == "application/pdf":
        from extractors.pdf_text import open_pdf

        with open_pdf(src.data) as pdf:
            for number in wanted:
                out[number] = pdf.render(number - 1, dpi=SEAL_RENDER_DPI, max_side=2200)
    else:
        from extractors.images import decode_image

        decoded = decode_image(src.data, max_pixels=settings.max_image_pixels)
        for number, image in enumerate(decoded.pages, start=1):
            if number in wanted:
                out[number] = image
    for number, image in out.items():
        rotation = wanted[number].rotation % 360
        if rotation:
            import cv2

            code = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}.get(rotation)
            if code is not None:
                out[number] = cv2.rotate(image, code)
    return out


def _cache_key(sha256: str, page: int, runner: OcrRunner) -> str:
    from extractors.seals import SEAL_DETECTOR_VERSION

    name, version = runner.identity
    raw = (
        f"seals|{SEAL_DETECTOR_VERSION}|{sha256}|{page}|{name}|{version}|{SEAL_RENDER_DPI}"
        f"|{runner.settings.ocr_fingerprint()}"
    )
    return "cache/seals/" + hashlib.sha256(raw.encode()).hexdigest() + ".json"


def read_seals(src: SourceFile, kind: str, pages: Sequence[Page], runner: OcrRunner) -> list[dict[str, Any]]:
    """Every seal of the document, as plain dicts (page, bbox, text, tax_id, shape, confidences)."""
    if kind not in SEAL_KINDS or not pages:
        return []
    store = runner.cache.store
    found: list[dict[str, Any]] = []
    missing: list[int] = []
    for page in pages[:MAX_SEAL_PAGES]:
        cached = store.get(_cache_key(src.sha256, page.number, runner))
        if cached is None:
            missing.append(page.number)
        else:
            found.extend(json.loads(cached))
    if missing:
        from extractors.seals import find_seals

        try:
            images = _page_images(src, [p for p in pages if p.number in missing], runner.settings)
        except Exception as exc:  # noqa: BLE001 - a page we cannot render has no seals we can see
            log.info("seal pages of %s not rendered: %s", src.sha256[:12], type(exc).__name__)
            images = {}
        for number in missing:
            image = images.get(number)
            entries: list[dict[str, Any]] = []
            if image is not None:
                for f in find_seals(image, engine=runner.engine):
                    entry = asdict(f)
                    entry["page"] = number
                    entries.append(entry)
            store.put(_cache_key(src.sha256, number, runner), json.dumps(entries, ensure_ascii=False).encode())
            found.extend(entries)
    return sorted(found, key=lambda e: (e["page"], e["bbox"][1], e["bbox"][0]))


def assign_parties(raw: Sequence[dict[str, Any]], parties: Mapping[str, Sequence[str]]) -> list[Seal]:
    """Result seals: each raw seal matched to the application's parties by its text / tax id."""
    from extractors.seals import match_seal_party

    seals = []
    for entry in raw:
        party = "unknown"
        if entry.get("text") or entry.get("tax_id"):
            party, _score = match_seal_party(entry.get("text"), parties, tax_id=entry.get("tax_id"))
        seals.append(
            Seal(
                text=entry.get("text"),
                party=party if party in {"applicant", "provider", "seller", "buyer"} else "unknown",
                page=int(entry["page"]),
                bbox=clamp_bbox(list(entry["bbox"])),
                confidence=round(min(max(float(entry.get("confidence") or 0.0), 0.0), 1.0), 4),
            )
        )
    return seals


def document_parties(kind: str, fields: Mapping[str, Any], applicant: Sequence[str]) -> dict[str, list[str]]:
    """Who may have sealed a document of this kind: the applicant and the other side it names."""
    parties: dict[str, list[str]] = {"applicant": [n for n in applicant if n]}
    if kind in ("contract", "invoice"):
        sellers = [fields.get(k) for k in ("seller", "provider", "party_b") if fields.get(k)]
        tax = [fields.get("seller_tax_id")] if fields.get("seller_tax_id") else []
        if sellers or tax:
            parties["seller"] = [*dict.fromkeys(sellers), *tax]
    elif kind in ("explanation", "private_cloud_doc"):
        providers = [fields.get(k) for k in ("about_provider", "provider", "seller") if fields.get(k)]
        if providers:
            parties["provider"] = list(dict.fromkeys(providers))
    return parties
