"""Turn a built document into file bytes for one rendering, with page-accurate truth.

Renderings: ``text-pdf`` (reportlab, real text layer), ``scan-pdf`` (image-only PDF of 200 dpi
scans), ``scan-image`` (one scanned page as JPEG), ``photo`` (phone photo, JPEG),
``screenshot`` (PNG as captured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .built import Built
from .raster import Degraded, images_to_pdf, jpeg_bytes, map_box, photo, png_bytes, rasterize, scan

SCAN_DPI = 200
EXT = {"text-pdf": ".pdf", "scan-pdf": ".pdf", "scan-image": ".jpg", "photo": ".jpg",
       "screenshot": ".png"}


@dataclass
class Rendered:
    data: bytes
    pages: int
    text_layer: bool
    rotation: int
    page_text: list[list[str]]
    seals: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)
    image_size: tuple[int, int] | None = None


def _seal_truth(built: Built, degraded: list[Degraded] | None, page_sizes) -> list[dict]:
    out = []
    assert built.pdf is not None
    for s in built.pdf.seals:
        rec: dict[str, Any] = {"text": s.spec.text, "party": s.spec.party, "page": s.page}
        if s.spec.tax_id:
            rec["tax_id"] = s.spec.tax_id
        if degraded is None:
            rec["bbox"] = [round(v, 5) for v in s.bbox]
        else:
            dg = degraded[s.page - 1]
            src = page_sizes[s.page - 1]
            rec["bbox"] = list(map_box(s.bbox, src, dg.m_upright, dg.upright_size))
            if dg.rotation:
                rec["bbox_as_stored"] = list(map_box(s.bbox, src, dg.m_stored, dg.image.size))
        out.append(rec)
    return out


def render(built: Built, rendering: str, seed: int, rotation: int = 0,
           degrade: str = "normal") -> Rendered:
    rng = np.random.default_rng(seed)
    if rendering == "screenshot":
        assert built.screen is not None
        return Rendered(png_bytes(built.screen.image), 1, False, 0, [list(built.screen.lines)], [],
                        image_size=built.screen.image.size)
    assert built.pdf is not None
    pdf = built.pdf
    if rendering == "text-pdf":
        return Rendered(pdf.data, len(pdf.pages), True, 0, pdf.page_text, _seal_truth(built, None, None))
    if rendering == "scan-pdf":
        pages = rasterize(pdf.data, SCAN_DPI)
        degraded = []
        skews = []
        for p in pages:
            skew = float(rng.uniform(0.5, 2.0) * rng.choice([-1, 1]))
            skews.append(round(skew, 2))
            degraded.append(scan(p, rng, skew, rotation=rotation))
        data = images_to_pdf([dg.image for dg in degraded], SCAN_DPI, quality=75)
        return Rendered(data, len(pages), False, rotation, pdf.page_text,
                        _seal_truth(built, degraded, [p.size for p in pages]),
                        {"dpi": SCAN_DPI, "skew_deg": skews, "jpeg_quality": 75})
    if len(pdf.pages) != 1:
        raise ValueError(f"{rendering} needs a one-page document, got {len(pdf.pages)}")
    if rendering == "scan-image":
        page = rasterize(pdf.data, SCAN_DPI)[0]
        skew = float(rng.uniform(0.5, 2.0) * rng.choice([-1, 1]))
        dg = scan(page, rng, skew, rotation=rotation)
        return Rendered(jpeg_bytes(dg.image, 85), 1, False, rotation, pdf.page_text,
                        _seal_truth(built, [dg], [page.size]),
                        {"dpi": SCAN_DPI, "skew_deg": [round(skew, 2)], "jpeg_quality": 85},
                        image_size=dg.image.size)
    if rendering == "photo":
        w_mm, h_mm = pdf.pages[0].width_mm, pdf.pages[0].height_mm
        dpi = 2400 / (max(w_mm, h_mm) / 25.4)
        page = rasterize(pdf.data, dpi)[0]
        heavy = degrade == "heavy"
        dg = photo(page, rng, out_long=1700 if heavy else 2000, rotation=rotation,
                   tilt=0.05 if heavy else 0.035, blur=2.2 if heavy else 0.8)
        quality = 45 if heavy else 85
        return Rendered(jpeg_bytes(dg.image, quality), 1, False, rotation, pdf.page_text,
                        _seal_truth(built, [dg], [page.size]),
                        {"jpeg_quality": quality, "degrade": degrade}, image_size=dg.image.size)
    raise ValueError(f"unknown rendering {rendering!r}")
