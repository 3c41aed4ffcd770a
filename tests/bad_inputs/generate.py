"""Generate the bad-input corpus: every case as a copy of a good application plus its bad file(s).

Nothing here is committed as a binary: every file is built from code, deterministically (fixed
contents, no timestamps that change the bytes), at test or bench time. Big cases (the 2,000-page
PDF, the 300-page application, the bombs) are cheap to *build* — they are compressed or repetitive
— but large or hostile to *read*, which is the point.

    python tests/bad_inputs/generate.py OUT_DIR [--base samples/applications/APP-01] [--case NAME]

writes ``OUT_DIR/<case>/<application>`` (a folder or a ``.zip``) for each case.

Each :class:`Case` says what the pipeline must make of it: ``error`` (the bad file gets a
per-file error whose code is one of ``codes``, and a ``FILE_UNREADABLE`` flag naming it), ``read``
(odd but legitimate input — it is read, and ``check`` says what must come out), or ``app_error``
(the application's own container is refused with a flag).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from builders import image_bytes, render_lines, text_pdf  # noqa: E402
from reportlab import rl_config  # noqa: E402

rl_config.invariant = 1  # no creation date or random document id: the same bytes every run

DEFAULT_BASE = ROOT / "samples" / "applications" / "APP-01"

BIG_PDF_PAGES = 2000
LONG_APP_FILES, LONG_APP_PAGES_PER_FILE = 10, 30  # the 300-page application
HUGE_PAGE_PT = 20_000
BOMB_SIDE = 30_000  # a 30,000 x 30,000 PNG: 900 Mpx that compress to ~100 kB
ZIP_BOMB_BYTES = 150 * 1024 * 1024  # one member: under the file-size limit, ratio ~1000:1


def neutral_lines(tag: str, page: int = 1) -> list[str]:
    """Text that no rule cares about (kind ``other``), unique per case so no two files share bytes."""
    return [f"可靠性测试附件 {tag}", "本页为生成的测试材料，与申报内容无关。", f"第 {page} 页"]


def neutral_pdf(tag: str, pages: int = 1) -> bytes:
    return text_pdf([neutral_lines(tag, i + 1) for i in range(pages)])


def neutral_image(tag: str, size: tuple[int, int] = (900, 360)) -> np.ndarray:
    """A small picture of two lines of text (cheap to OCR)."""
    return render_lines(
        [f"可靠性测试 {tag}", "与申报内容无关"], size=size, font_px=36, title_px=44, margin=40
    )


# --------------------------------------------------------------------------- hostile bytes


def broken_xref_pdf(tag: str) -> bytes:
    """A valid PDF whose xref table points at the wrong offsets and whose startxref lies."""
    data = bytearray(neutral_pdf(tag, 2))
    xref = data.rfind(b"\nxref")
    body = data[xref:]
    body = re.sub(rb"\d{10} 00000 n", lambda m: b"0000000099 00000 n", bytes(body))
    body = re.sub(rb"startxref\s+\d+", b"startxref\n123456", body)
    return bytes(data[:xref]) + body


def huge_page_pdf() -> bytes:
    """One 20,000 x 20,000 pt page with drawings but no text layer: it must be rendered, bounded."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(HUGE_PAGE_PT, HUGE_PAGE_PT), invariant=1)
    for i in range(20):
        c.rect(500 + i * 900, 500 + i * 900, 600, 600, fill=1)
    c.showPage()
    c.save()
    return buf.getvalue()


def blank_pdf(pages: int = 3) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    for _ in range(pages):
        c.showPage()
    c.save()
    return buf.getvalue()


def zero_page_pdf() -> bytes:
    """A syntactically valid PDF whose page tree is empty."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A 1-bit PNG of ``side``² pixels built row by row (never held as pixels in memory)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 1000) for _ in range(side // 1000)]
    parts.append(comp.compress(row * (side % 1000)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def tiff_16bit(tag: str) -> bytes:
    gray = neutral_image(tag)[:, :, 0].astype(np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="TIFF")  # mode I;16
    return buf.getvalue()


def tiff_frame_bomb(frames: int = 40, side: int = 6000) -> bytes:
    """A multi-page TIFF: each 36 Mpx page is under the per-image limit, all 40 together 1.4 Gpx."""
    page = Image.new("1", (side, side), 1)
    buf = io.BytesIO()
    page.save(buf, format="TIFF", compression="group4", save_all=True, append_images=[page] * (frames - 1))
    return buf.getvalue()


def tiff_cmyk(tag: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(neutral_image(tag)).convert("CMYK").save(buf, format="TIFF")
    return buf.getvalue()


def animated_webp(tag: str) -> bytes:
    frames = [Image.fromarray(neutral_image(f"{tag}{i}")) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], lossless=True, duration=200)
    return buf.getvalue()


def gif_image(tag: str) -> bytes:
    return image_bytes(neutral_image(tag), "GIF")


def upside_down_jpeg(tag: str) -> bytes:
    page = render_lines(
        [f"可靠性测试 {tag}", "本页为倒置扫描的测试材料", "与申报内容无关", "第 1 页"],
        size=(1000, 700), font_px=40, title_px=52, margin=60,
    )
    return image_bytes(np.ascontiguousarray(page[::-1, ::-1]), "JPEG", quality=90)


def docx_bytes() -> bytes:
    """The parts of a Word file that identify it (fixed member dates: the same bytes every run)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(_member("[Content_Types].xml"), "<Types/>")
        z.writestr(_member("word/document.xml"), "<w:document>合同</w:document>")
    return buf.getvalue()


SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="400" '
    'height="100"><text x="10" y="50">营业执照</text></svg>\n'
).encode()
HTML = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>合同</title></head><body>合同</body></html>".encode()


# --------------------------------------------------------------------------- zips


def _zip_folder(folder: Path, zf: zipfile.ZipFile, arc_root: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            info = zipfile.ZipInfo(f"{arc_root}/{path.relative_to(folder).as_posix()}", (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())


def as_zip(app: Path, extra: Callable[[zipfile.ZipFile, str], None]) -> Path:
    """The application folder as ``<app>.zip`` (folder removed), plus hostile members."""
    target = app.with_suffix(".zip")
    with zipfile.ZipFile(target, "w") as zf:
        _zip_folder(app, zf, app.name)
        extra(zf, app.name)
    shutil.rmtree(app)
    return target


def _member(name: str, *, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if mode is not None:
        info.create_system = 3  # unix
        info.external_attr = mode << 16
    return info


def _zip_bomb_member(zf: zipfile.ZipFile, name: str) -> None:
    chunk = b"\0" * (1 << 20)
    with zf.open(_member(name), "w", force_zip64=True) as out:
        for _ in range(ZIP_BOMB_BYTES // len(chunk)):
            out.write(chunk)


def _lying_size_member(zf: zipfile.ZipFile, name: str) -> None:
    """A member that inflates to 50 MB; :func:`lie_about_sizes` later makes its header say 1 kB."""
    zf.writestr(_member(name), b"\0" * (50 << 20))


def mark_encrypted(path: Path, name: str) -> None:
    """Set the "encrypted" bit (traditional PKWARE) of ``name`` in its local and central headers
    (zipfile clears it when writing, so it is patched in afterwards)."""
    data = bytearray(path.read_bytes())
    raw = name.encode()
    for sig, flag_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        pos = data.find(sig)
        while pos != -1:
            n = struct.unpack_from("<H", data, pos + name_len_at)[0]
            if bytes(data[pos + name_at : pos + name_at + n]) == raw:
                flags = struct.unpack_from("<H", data, pos + flag_at)[0]
                struct.pack_into("<H", data, pos + flag_at, flags | 0x1)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


def corrupt_member_data(path: Path, name: str) -> None:
    """Overwrite the middle of ``name``'s compressed bytes: its headers stay valid, inflating fails."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    start = info.header_offset
    n, m = struct.unpack_from("<HH", data, start + 26)
    body = start + 30 + n + m
    for i in range(body + 16, body + min(info.compress_size - 8, 400)):
        data[i] = 0xFF
    path.write_bytes(bytes(data))


def lie_about_sizes(path: Path, name: str, claimed: int = 1024) -> None:
    """Patch the central-directory entry of ``name`` so it claims ``claimed`` bytes uncompressed."""
    data = bytearray(path.read_bytes())
    raw = name.encode()
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == raw:
            struct.pack_into("<I", data, pos + 24, claimed)
            path.write_bytes(bytes(data))
            return
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise ValueError(f"{name} not in {path}")


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    expect: str  # "error" | "read" | "app_error"
    build: Callable[[Path], tuple[Path, list[str]]]
    """Given a fresh copy of the good application folder, add the bad input; return the path to
    screen (the folder, or a zip made of it) and the result-relative names of the bad files."""
    codes: frozenset[str] = frozenset()
    heavy: bool = False
    """Built or read at a size that matters: measured in its own process."""
    check: str | None = None
    """For ``read`` cases, what must come out (see tests/test_bad_inputs.py ``CHECKS``)."""


def _put(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], tuple[Path, list[str]]]:
    def build(app: Path) -> tuple[Path, list[str]]:
        target = app / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data() if callable(data) else data)
        return app, [name]

    return build


def _put_named(name: str, shown: str, data: Callable[[], bytes]) -> Callable[[Path], tuple[Path, list[str]]]:
    """A file whose name the result shows cleaned (control characters become ``?``)."""

    def build(app: Path) -> tuple[Path, list[str]]:
        (app / name).write_bytes(data())
        return app, [shown]

    return build


def _put_raw_name(raw: bytes, data: Callable[[], bytes], shown: str) -> Callable[[Path], tuple[Path, list[str]]]:
    """A file whose on-disk name is arbitrary bytes (not valid UTF-8, control characters …)."""

    def build(app: Path) -> tuple[Path, list[str]]:
        Path(os.fsdecode(os.fsencode(app) + b"/" + raw)).write_bytes(data())
        return app, [shown]

    return build


def _truncated(app: Path) -> tuple[Path, list[str]]:
    data = neutral_pdf("truncated", 3)
    (app / "截断的合同.pdf").write_bytes(data[: len(data) * 2 // 5])
    return app, ["截断的合同.pdf"]


def _symlink_folder(app: Path) -> tuple[Path, list[str]]:
    os.symlink("/etc/passwd", app / "链接到系统文件.pdf")
    os.symlink(app / "IMG_2041.jpg", app / "营业执照快捷方式.jpg")
    return app, ["营业执照快捷方式.jpg", "链接到系统文件.pdf"]


def _zip_slip(app: Path) -> tuple[Path, list[str]]:
    def extra(zf: zipfile.ZipFile, root: str) -> None:
        zf.writestr(_member(f"{root}/../../../tmp/zip-slip.pdf"), neutral_pdf("zip-slip"))
        zf.writestr(_member(f"{root}/合同/../../escape.pdf"), neutral_pdf("zip-slip-2"))

    return as_zip(app, extra), ["tmp/zip-slip.pdf", "合同/escape.pdf"]


def _zip_absolute_symlink(app: Path) -> tuple[Path, list[str]]:
    def extra(zf: zipfile.ZipFile, root: str) -> None:
        zf.writestr(_member("/etc/cron.d/absolute.pdf"), neutral_pdf("abs-posix"))
        zf.writestr(_member("C:\\Windows\\absolute.pdf"), neutral_pdf("abs-windows"))
        zf.writestr(_member(f"{root}/link.pdf", mode=0o120777), b"/etc/passwd")

    return as_zip(app, extra), ["C:/Windows/absolute.pdf", "etc/cron.d/absolute.pdf", "link.pdf"]


def _zip_bomb(app: Path) -> tuple[Path, list[str]]:
    def extra(zf: zipfile.ZipFile, root: str) -> None:
        _zip_bomb_member(zf, f"{root}/附件/bomb.pdf")

    return as_zip(app, extra), ["附件/bomb.pdf"]


def _zip_lying_size(app: Path) -> tuple[Path, list[str]]:
    member = f"{app.name}/附件/lying-size.pdf"
    target = as_zip(app, lambda zf, root: _lying_size_member(zf, member))
    lie_about_sizes(target, member)
    return target, ["附件/lying-size.pdf"]


def _zip_corrupt_member(app: Path) -> tuple[Path, list[str]]:
    member = f"{app.name}/附件/损坏成员.pdf"
    target = as_zip(app, lambda zf, root: zf.writestr(_member(member), neutral_pdf("corrupt-member", 5)))
    corrupt_member_data(target, member)
    return target, ["附件/损坏成员.pdf"]


def _nested_zip(app: Path) -> tuple[Path, list[str]]:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        _zip_bomb_member(zf, "inner-bomb.pdf")
    (app / "附件.zip").write_bytes(inner.getvalue())
    return app, ["附件.zip"]


def _zip_encrypted_member(app: Path) -> tuple[Path, list[str]]:
    def extra(zf: zipfile.ZipFile, root: str) -> None:
        info = _member(f"{root}/加密附件.pdf")
        info.compress_type = zipfile.ZIP_STORED
        zf.writestr(info, b"\x12" * 12 + neutral_pdf("encrypted-member"))

    target = as_zip(app, extra)
    mark_encrypted(target, f"{app.name}/加密附件.pdf")
    return target, ["加密附件.pdf"]


def _bad_zip(app: Path) -> tuple[Path, list[str]]:
    target = app.with_suffix(".zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _zip_folder(app, zf, app.name)
    data = buf.getvalue()
    target.write_bytes(data[: len(data) // 2])  # the central directory is gone
    shutil.rmtree(app)
    return target, []


def _zip_names(app: Path) -> tuple[Path, list[str]]:
    """Member names: NUL inside, newline, 1,000 characters, case twins, GBK without the UTF-8 flag."""

    class _Gbk(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's private hook
            return self.filename.encode("gbk"), self.flag_bits & ~0x800

    long_name = "很长的文件名" * 170 + ".pdf"

    def extra(zf: zipfile.ZipFile, root: str) -> None:
        zf.writestr(_member(f"{root}/nul\x00hidden.pdf"), neutral_pdf("zip-nul"))
        zf.writestr(_member(f"{root}/换行\n名称.pdf"), neutral_pdf("zip-newline"))
        zf.writestr(_member(f"{root}/{long_name}"), neutral_pdf("zip-long"))
        zf.writestr(_member(f"{root}/Twin.pdf"), neutral_pdf("zip-twin-1"))
        zf.writestr(_member(f"{root}/twin.PDF"), neutral_pdf("zip-twin-2"))
        gbk = _Gbk(f"{root}/国标编码附件.pdf", (2024, 1, 1, 0, 0, 0))
        zf.writestr(gbk, neutral_pdf("zip-gbk"))

    return as_zip(app, extra), ["nul", "换行?名称.pdf", long_name[:255], "Twin.pdf", "twin (2).PDF", "国标编码附件.pdf"]


def _case_twins(app: Path) -> tuple[Path, list[str]]:
    (app / "附件").mkdir()
    (app / "附件" / "说明.PDF").write_bytes(neutral_pdf("twin-upper"))
    (app / "附件" / "说明.pdf").write_bytes(neutral_pdf("twin-lower"))
    return app, ["附件/说明 (2).pdf", "附件/说明.PDF"]


def _long_app(app: Path) -> tuple[Path, list[str]]:
    names = []
    for i in range(LONG_APP_FILES):
        name = f"附件/材料-{i + 1:02d}.pdf"
        (app / "附件").mkdir(exist_ok=True)
        (app / name).write_bytes(neutral_pdf(f"long-{i}", LONG_APP_PAGES_PER_FILE))
        names.append(name)
    return app, names


def _too_large(app: Path) -> tuple[Path, list[str]]:
    """A 201 MB file (sparse: it costs no disk) — refused before a byte is read."""
    path = app / "超大扫描件.pdf"
    with open(path, "wb") as f:
        f.write(b"%PDF-1.4\n")
        f.truncate(201 * 1024 * 1024)
    return app, ["超大扫描件.pdf"]


def _jpeg(tag: str) -> bytes:
    return image_bytes(neutral_image(tag), "JPEG", quality=90)


def cases() -> list[Case]:
    err, read = "error", "read"
    return [
        Case("zero_byte", "zero-byte file", err, _put("空文件.pdf", b""), frozenset({"EMPTY_FILE"})),
        Case("truncated_pdf", "truncated PDF (first 40 % of the bytes)", err, _truncated,
             frozenset({"CORRUPT_PDF", "EMPTY_PDF"})),
        Case("broken_xref_pdf", "PDF with a broken xref table and startxref", read,
             _put("错乱索引.pdf", lambda: broken_xref_pdf("xref")), check="text:xref"),
        Case("garbage_pdf_header", "%PDF- header followed by garbage", err,
             _put("损坏.pdf", b"%PDF-1.7\n1 0 obj <</Type /Catalog>> garbage\n" * 50), frozenset({"CORRUPT_PDF"})),
        Case("zero_page_pdf", "valid PDF with no pages", err, _put("零页.pdf", zero_page_pdf),
             frozenset({"EMPTY_PDF", "CORRUPT_PDF"})),
        Case("encrypted_user_pw", "encrypted PDF with a user (open) password", err,
             _put("加密合同.pdf", lambda: text_pdf([neutral_lines("enc-user")], encrypt_user="secret")),
             frozenset({"ENCRYPTED"})),
        Case("encrypted_owner_only", "encrypted PDF, owner password only (opens without one)", read,
             _put("限制编辑.pdf", lambda: text_pdf([neutral_lines("enc-owner")], encrypt_owner_only=True)),
             check="text:enc-owner"),
        Case("pdf_2000_pages", f"PDF with {BIG_PDF_PAGES} pages", err,
             _put("两千页.pdf", lambda: neutral_pdf("2000", BIG_PDF_PAGES)), frozenset({"TOO_MANY_PAGES"}),
             heavy=True),
        Case("pdf_huge_page", f"PDF page {HUGE_PAGE_PT:,} x {HUGE_PAGE_PT:,} pt, no text layer", read,
             _put("巨幅页面.pdf", huge_page_pdf), heavy=True, check="rendered"),
        Case("blank_pages", "PDF of 3 blank pages", read, _put("空白页.pdf", lambda: blank_pdf(3)),
             check="blank"),
        Case("file_too_large", "201 MB file (over the 200 MB limit)", err, _too_large,
             frozenset({"FILE_TOO_LARGE"})),
        Case("jpeg_lying_extension", "JPEG named .pdf", read, _put("其实是图片.pdf", lambda: _jpeg("jpeg-as-pdf")),
             check="media:image/jpeg"),
        Case("png_decompression_bomb", f"decompression-bomb PNG ({BOMB_SIDE:,}² px, ~100 kB)", err,
             _put("炸弹.png", png_bomb), frozenset({"IMAGE_TOO_LARGE"}), heavy=True),
        Case("corrupt_jpeg", "JPEG cut after its header", err,
             _put("损坏照片.jpg", lambda: _jpeg("corrupt")[:300]), frozenset({"CORRUPT_IMAGE"})),
        Case("tiff_16bit", "16-bit greyscale TIFF", read, _put("扫描16位.tif", lambda: tiff_16bit("16bit")),
             check="text:16bit"),
        Case("tiff_frame_bomb", "multi-page TIFF: 40 pages of 6,000² px (1.4 Gpx in all, group 4)", err,
             _put("多页扫描.tif", tiff_frame_bomb), frozenset({"IMAGE_TOO_LARGE"}), heavy=True),
        Case("tiff_cmyk", "CMYK TIFF", read, _put("印刷CMYK.tiff", lambda: tiff_cmyk("cmyk")), check="text:cmyk"),
        Case("webp_animated", "animated WEBP (3 frames)", read, _put("动图.webp", lambda: animated_webp("webp")),
             check="pages:1"),
        Case("gif", "GIF image", err, _put("动画.gif", lambda: gif_image("gif")), frozenset({"UNSUPPORTED_TYPE"})),
        Case("svg", "SVG drawing", err, _put("营业执照.svg", SVG), frozenset({"UNSUPPORTED_TYPE"})),
        Case("html_as_pdf", "HTML page renamed .pdf", err, _put("合同.html.pdf", HTML), frozenset({"UNSUPPORTED_TYPE"})),
        Case("docx", "Word DOCX", err, _put("说明.docx", docx_bytes), frozenset({"UNSUPPORTED_TYPE"})),
        Case("random_bytes", "random bytes named .jpg", err,
             _put("乱码.jpg", lambda: np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()),
             frozenset({"UNSUPPORTED_TYPE"})),
        Case("image_1x1", "1 x 1 px image", err, _put("一像素.png", lambda: image_bytes(np.full((1, 1, 3), 255, np.uint8))),
             frozenset({"IMAGE_TOO_SMALL"})),
        Case("upside_down_scan", "scan photographed upside down", read,
             _put("倒置扫描.jpg", lambda: upside_down_jpeg("upside")), check="upright:upside"),
        Case("zip_bomb", "application zip with a 150 MB zero-filled member (ratio ~1000:1)", err, _zip_bomb,
             frozenset({"ZIP_BOMB"}), heavy=True),
        Case("zip_lying_size", "zip member whose header understates its size (1 kB → 50 MB)", err,
             _zip_lying_size, frozenset({"BAD_ARCHIVE"}), heavy=True),
        Case("zip_corrupt_member", "zip member whose deflate stream is corrupt", err, _zip_corrupt_member,
             frozenset({"BAD_ARCHIVE"})),
        Case("nested_zip_bomb", "zip bomb inside the application folder (not expanded)", err, _nested_zip,
             frozenset({"UNSUPPORTED_TYPE"})),
        Case("zip_slip", "zip with ../ member paths (zip-slip)", err, _zip_slip, frozenset({"UNSAFE_PATH"})),
        Case("zip_absolute_symlink", "zip with absolute paths (POSIX, Windows) and a symlink member", err,
             _zip_absolute_symlink, frozenset({"UNSAFE_PATH", "SYMLINK"})),
        Case("zip_encrypted_member", "zip with a password-protected member", err, _zip_encrypted_member,
             frozenset({"BAD_ARCHIVE"})),
        Case("bad_zip", "application zip truncated (no central directory)", "app_error", _bad_zip,
             frozenset({"BAD_ARCHIVE"})),
        Case("zip_odd_names", "zip member names: NUL, newline, 1,000 chars, case twins, GBK", read, _zip_names,
             check="all_read"),
        Case("folder_symlinks", "symbolic links in the application folder", err, _symlink_folder,
             frozenset({"SYMLINK"})),
        Case("name_newline", "file name with a newline", read,
             _put_named("合同\n副本.pdf", "合同?副本.pdf", lambda: neutral_pdf("newline")), check="text:newline"),
        Case("name_control_chars", "file name with control characters (\\x01, \\x7f, \\x1b)", read,
             _put_named("附件\x01\x7f\x1b.pdf", "附件???.pdf", lambda: neutral_pdf("control")), check="text:control"),
        Case("name_very_long", "file name of 250 bytes", read,
             _put("很" * 82 + ".pdf", lambda: neutral_pdf("long-name")), check="text:long-name"),
        Case("name_non_utf8_gbk", "file name in GBK bytes (not UTF-8)", read,
             _put_raw_name("发票附件".encode("gbk") + b".pdf", lambda: neutral_pdf("gbk-name"), "发票附件.pdf"),
             check="text:gbk-name"),
        Case("name_invalid_bytes", "file name of invalid bytes (\\xff\\xfe\\x80)", read,
             _put_raw_name(b"\xff\xfe\x80.pdf", lambda: neutral_pdf("bad-bytes"), "\ufffd\ufffd\ufffd.pdf"),
             check="text:bad-bytes"),
        Case("case_twins", "two names differing only in case", read, _case_twins, check="all_read"),
        Case("application_300_pages", f"application of {LONG_APP_FILES * LONG_APP_PAGES_PER_FILE} pages "
             f"({LONG_APP_FILES} text PDFs of {LONG_APP_PAGES_PER_FILE})", read, _long_app, heavy=True,
             check="all_read"),
    ]


def case_by_name(name: str) -> Case:
    for case in cases():
        if case.name == name:
            return case
    raise KeyError(name)


def build_case(case: Case, out: Path, base: Path = DEFAULT_BASE) -> tuple[Path, list[str]]:
    """``out/<case.name>/<base name>``: a copy of ``base`` with the case's bad input added."""
    app = out / case.name / base.name
    if app.exists():
        shutil.rmtree(app)
    zipped = app.with_suffix(".zip")
    if zipped.exists():
        zipped.unlink()
    shutil.copytree(base, app, symlinks=True)
    return case.build(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    args = parser.parse_args(argv)
    chosen = [case_by_name(n) for n in args.case] if args.case else cases()
    for case in chosen:
        path, bad = build_case(case, args.out, args.base)
        print(f"{case.name:26s} {case.expect:9s} {path}  bad={bad!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
