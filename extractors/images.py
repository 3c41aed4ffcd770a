"""Decode image files into upright BGR pages (one per frame of a multi-page TIFF).

Handles what phones and scanners send: EXIF orientation, 16-bit and CMYK TIFFs, palettes,
transparency (flattened on white), animated WEBP/TIFF frames, and decompression bombs (refused
before the pixels are decoded).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FRAMES = 500
MIN_IMAGE_SIDE = 8
"""An image narrower or lower than this many pixels cannot carry a legible character (a CJK
glyph needs about 10 px): it is refused as unreadable rather than OCR'd into nothing."""


class ImageReadError(ValueError):
    """The bytes cannot be decoded as a usable image; ``zh``/``en`` say why for the clerk."""

    def __init__(self, zh: str, en: str, code: str = "CORRUPT_IMAGE") -> None:
        super().__init__(en)
        self.zh, self.en, self.code = zh, en, code


@dataclass(frozen=True)
class DecodedImage:
    pages: list[np.ndarray]
    """BGR uint8 arrays, upright per the file's EXIF orientation."""
    exif_transposed: bool
    note: str | None = None


def _to_bgr(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        gray = ((arr - lo) * scale).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([gray] * 3, axis=-1))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    rgb = img.convert("RGB")  # CMYK, YCbCr, P, L, 1 …
    arr = np.asarray(rgb, dtype=np.uint8)
    return np.ascontiguousarray(arr[:, :, ::-1])


MAX_TOTAL_PIXELS_FACTOR = 2
"""All frames of one file together may hold at most this many times ``max_pixels``: every
frame is decoded into memory, so a TIFF of many big (but well compressed) pages is a bomb too."""


def _check_total_pixels(img: Image.Image, count: int, max_pixels: int) -> None:
    """Sum the frames' sizes by seeking (reads headers only, no pixels) before decoding any."""
    total = 0
    for index in range(count):
        img.seek(index)
        w, h = img.size
        if w * h > max_pixels:
            raise Image.DecompressionBombError(f"frame {index + 1}: {w}x{h}")
        total += w * h
    if total > max_pixels * MAX_TOTAL_PIXELS_FACTOR:
        raise Image.DecompressionBombError(f"{count} frames, {total:,} pixels in all")
    img.seek(0)


def decode_image(data: bytes, *, max_pixels: int) -> DecodedImage:
    """Decode every frame of an image file. Raises :class:`ImageReadError` on bad input."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise Image.DecompressionBombError(f"{w}x{h}")
            if min(w, h) < MIN_IMAGE_SIDE:
                raise ImageReadError(
                    f"图片太小（{w}×{h} 像素），无法辨认内容",
                    f"image too small to read ({w}x{h} px; at least {MIN_IMAGE_SIDE} px a side)",
                    "IMAGE_TOO_SMALL",
                )
            frames = getattr(img, "n_frames", 1) or 1
            animated = bool(getattr(img, "is_animated", False)) and img.format != "TIFF"
            pages: list[np.ndarray] = []
            exif_done = False
            count = 1 if animated else min(frames, MAX_FRAMES)
            _check_total_pixels(img, count, max_pixels)
            for index in range(count):
                img.seek(index)
                frame = img.copy()
                transposed = ImageOps.exif_transpose(frame)
                if transposed is not None and transposed.size != frame.size or (
                    frame.getexif().get(0x0112, 1) not in (1, None)
                ):
                    exif_done = True
                pages.append(_to_bgr(transposed if transposed is not None else frame))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(
            "图片像素数过大（疑似解压炸弹），已拒绝处理",
            f"image has too many pixels (suspected decompression bomb): {exc}",
            "IMAGE_TOO_LARGE",
        ) from exc
    except ImageReadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise ImageReadError(
            "图片文件损坏或无法解码", f"image is corrupt or cannot be decoded: {exc}"
        ) from exc
    except MemoryError as exc:  # pragma: no cover - depends on the machine
        raise ImageReadError("图片过大，内存不足", "image too large to decode", "IMAGE_TOO_LARGE") from exc
    note = None
    if animated:
        note = f"动图只读取第 1 帧（共 {frames} 帧） / animated image: first of {frames} frames read"
    elif frames > MAX_FRAMES:
        note = f"只读取前 {MAX_FRAMES} 页（共 {frames} 页） / first {MAX_FRAMES} of {frames} frames read"
    return DecodedImage(pages, exif_done, note)
