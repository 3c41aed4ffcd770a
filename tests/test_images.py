from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from extractors.images import ImageReadError, decode_image


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def test_exif_orientation_applied():
    img = Image.new("RGB", (200, 100), "white")
    img.paste((0, 0, 0), (0, 0, 20, 20))  # black mark top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    data = _png(img, format="JPEG", exif=exif)
    decoded = decode_image(data, max_pixels=10**8)
    page = decoded.pages[0]
    assert page.shape[:2] == (200, 100)  # now portrait
    assert decoded.exif_transposed
    assert page[:20, -20:].mean() < 60  # the mark moved to the top-right


def test_multipage_tiff_16bit_and_cmyk():
    a = Image.new("RGB", (50, 40), "white")
    b = Image.new("RGB", (50, 40), "black")
    buf = io.BytesIO()
    a.save(buf, format="TIFF", save_all=True, append_images=[b])
    decoded = decode_image(buf.getvalue(), max_pixels=10**8)
    assert len(decoded.pages) == 2 and decoded.pages[1].mean() < 5
    sixteen = Image.fromarray((np.arange(100 * 80).reshape(80, 100) * 8).astype(np.uint16))
    assert decode_image(_png(sixteen, format="TIFF"), max_pixels=10**8).pages[0].dtype == np.uint8
    cmyk = Image.new("CMYK", (30, 30), (0, 0, 0, 0))
    page = decode_image(_png(cmyk, format="TIFF"), max_pixels=10**8).pages[0]
    assert page.shape == (30, 30, 3) and page.mean() > 250


def test_transparency_flattened_on_white():
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    page = decode_image(_png(img), max_pixels=10**8).pages[0]
    assert page.mean() == 255


def test_decompression_bomb_refused():
    img = Image.new("1", (12000, 12000))
    with pytest.raises(ImageReadError) as exc:
        decode_image(_png(img), max_pixels=50_000_000)
    assert exc.value.code == "IMAGE_TOO_LARGE"


def test_corrupt_image():
    data = _png(Image.new("RGB", (100, 100), "white"))
    with pytest.raises(ImageReadError):
        decode_image(data[:40], max_pixels=10**8)


def test_animated_webp_first_frame():
    frames = [Image.new("RGB", (20, 20), c) for c in ("white", "black", "red")]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:])
    decoded = decode_image(buf.getvalue(), max_pixels=10**8)
    assert len(decoded.pages) == 1 and decoded.note and "3" in decoded.note
