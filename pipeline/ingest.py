"""Ingest: find applications under a path and list their files, identified by sha256.

An application is a folder (nested sub-folders allowed) or a ``.zip`` of one. Files are read
into memory once (they are bounded by ``Settings.max_file_bytes``); nothing from an archive is
ever written to disk, so hostile member names (``../``, absolute paths) cannot escape anywhere.
The media type comes from the bytes, not the extension.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.settings import Settings

SKIPPED_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".done", ".upload-complete"}
"""Operating-system litter and upload markers: not evidence, never listed."""

# Sub-folder names that mean "a category of evidence inside one application" rather than
# "one application per sub-folder" (used only when a folder holds no files of its own).
_CATEGORY_DIR = re.compile(
    r"(合同|协议|订单|发票|票据|截图|截屏|说明|执照|营业|申请|附表|附件|证明|材料|方案|手册|"
    r"资料|扫描|照片|图片|contract|invoice|screenshot|licen[cs]e|explanation|form|docs?)",
    re.IGNORECASE,
)

MAX_ZIP_MEMBERS = 5000
"""More members than this and the archive is refused whole (no application has thousands)."""
MAX_ZIP_RATIO = 200
"""A member that inflates more than this many times its compressed size is a zip bomb."""


@dataclass(frozen=True)
class FileError:
    """A per-file problem, in Chinese for the clerk and English for the log."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class SourceFile:
    """One file of an application, its bytes already read (or the reason they could not be)."""

    relpath: str
    data: bytes = field(repr=False)
    sha256: str
    size: int
    media_type: str | None
    error: FileError | None = None


@dataclass(frozen=True)
class ApplicationSource:
    application_id: str
    location: Path
    files: tuple[SourceFile, ...]
    error: FileError | None = None
    """Set when the application itself (e.g. its zip) could not be opened."""


# --------------------------------------------------------------------------- media types


def sniff_media_type(data: bytes) -> str | None:
    """Identify a file from its first bytes. ``None`` when nothing matches."""
    head = data[:64]
    if not head:
        return None
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if head.startswith(b"BM") and len(data) > 26:
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip_container(data)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "application/x-ole-storage"  # .doc / .xls of old Office
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<svg"):
        return "image/svg+xml" if b"<svg" in data[:2048].lower() else "application/xml"
    return None


def _sniff_zip_container(data: bytes) -> str:
    try:
        import io

        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return "application/zip"
    if "word/document.xml" in names:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if "xl/workbook.xml" in names:
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if "ppt/presentation.xml" in names:
        return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    return "application/zip"


SUPPORTED_MEDIA_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/bmp",
    "image/webp",
}

_MEDIA_LABELS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word 文档 (DOCX)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel 表格 (XLSX)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint (PPTX)",
    "application/x-ole-storage": "旧版 Office 文档 (DOC/XLS)",
    "application/zip": "ZIP 压缩包",
    "text/html": "HTML 网页",
    "image/svg+xml": "SVG 矢量图",
    "application/xml": "XML",
    "image/gif": "GIF 动图",
}


def unsupported_error(media_type: str | None, name: str) -> FileError:
    if media_type is None:
        return FileError(
            "UNSUPPORTED_TYPE",
            f"无法识别的文件格式（{Path(name).suffix or '无扩展名'}）：请提交 PDF 或 JPG/PNG/TIFF/BMP/WEBP 图片",
            f"unrecognised file format ({Path(name).suffix or 'no extension'}): "
            "submit PDF or JPG/PNG/TIFF/BMP/WEBP images",
        )
    label = _MEDIA_LABELS.get(media_type, media_type)
    return FileError(
        "UNSUPPORTED_TYPE",
        f"不支持的文件类型：{label}。请转换为 PDF 或图片后重新提交",
        f"unsupported file type: {media_type}; convert it to PDF or an image",
    )


# --------------------------------------------------------------------------- files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_source_file(relpath: str, data: bytes, settings: Settings) -> SourceFile:
    """Wrap bytes as a :class:`SourceFile`, deciding up front whether they can be read at all."""
    size = len(data)
    if size == 0:
        err = FileError("EMPTY_FILE", "文件为空（0 字节）", "the file is empty (0 bytes)")
        return SourceFile(relpath, b"", _sha256(b""), 0, None, err)
    media = sniff_media_type(data)
    error = None if media in SUPPORTED_MEDIA_TYPES else unsupported_error(media, relpath)
    if media == "application/pdf" and error is None:
        error = _page_limit_error(data, settings.max_pdf_pages)
    return SourceFile(relpath, data, _sha256(data), size, media, error)


def _page_limit_error(data: bytes, limit: int) -> FileError | None:
    """A PDF over ``Settings.max_pdf_pages`` is refused whole, with a flag, before any page is read.

    Why refuse rather than read the first pages: a silently partial reading would let the
    verdict rest on a document nobody saw the end of, and hundreds of scanned pages would be
    OCR'd for nothing. Counting pages only opens the cross-reference table (milliseconds).
    Files pdfium cannot open are left to the reader, which says why (encrypted, corrupt …).
    """
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(data)
    except Exception:  # noqa: BLE001 - any failure is reported by the reader with its reason
        return None
    try:
        pages = len(doc)
    finally:
        doc.close()
    if pages <= limit:
        return None
    return FileError(
        "TOO_MANY_PAGES",
        f"PDF 共 {pages} 页，超过 {limit} 页的上限，未读取。请拆分文件或只提交相关页面",
        f"the PDF has {pages} pages, over the limit of {limit}; not read — split it or submit "
        "the relevant pages only",
    )


def _too_big(relpath: str, size: int, settings: Settings) -> SourceFile:
    limit_mb = settings.max_file_bytes // (1024 * 1024)
    err = FileError(
        "FILE_TOO_LARGE",
        f"文件过大（{size / 1048576:.0f} MB，上限 {limit_mb} MB）",
        f"file too large ({size / 1048576:.0f} MB, limit {limit_mb} MB)",
    )
    return SourceFile(relpath, b"", "", size, None, err)


def clean_relpath(name: str) -> str:
    """A safe, printable relative path for a member or file name (display and result only).

    Control characters become ``?``; ``..``, empty and absolute components are dropped.
    """
    name = name.replace("\\", "/")
    parts = []
    for part in PurePosixPath(name).parts:
        if part in ("/", "", ".", ".."):
            continue
        part = "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in part)
        parts.append(part[:255])
    return "/".join(parts) or "unnamed"


def _is_skipped(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return (
        base.lower() in SKIPPED_NAMES
        or base.startswith("._")
        or name.startswith("__MACOSX/")
        or "/__MACOSX/" in name
    )


def _fs_name(p: Path) -> str:
    """A path component as text, even when the file system name is not valid UTF-8."""
    raw = os.fsencode(p.name)
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _walk_folder(root: Path, settings: Settings) -> Iterator[SourceFile]:
    entries: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        rel_dir = [_fs_name(Path(p)) for p in base.relative_to(root).parts] if base != root else []
        for fname in sorted(filenames):
            path = base / fname
            rel = clean_relpath("/".join([*rel_dir, _fs_name(path)]))
            if fname.startswith(".") or _is_skipped(rel):
                continue
            entries.append((rel, path))
    seen_rel: set[str] = set()
    for rel, path in sorted(entries, key=lambda e: e[0]):
        rel = _unique(rel, seen_rel)
        try:
            st = os.lstat(path)
        except OSError as exc:
            yield _unreadable(rel, exc)
            continue
        if stat.S_ISLNK(st.st_mode):
            err = FileError(
                "SYMLINK", "符号链接未被读取（出于安全考虑）", "symbolic link not followed (security)"
            )
            yield SourceFile(rel, b"", "", 0, None, err)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if st.st_size > settings.max_file_bytes:
            yield _too_big(rel, st.st_size, settings)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield _unreadable(rel, exc)
            continue
        yield make_source_file(rel, data, settings)


def _unique(rel: str, seen: set[str]) -> str:
    """Keep two names that differ only in case (or were cleaned to the same text) apart."""
    candidate, n = rel, 1
    while candidate.lower() in seen:
        n += 1
        stem, dot, ext = rel.rpartition(".")
        candidate = f"{stem} ({n}).{ext}" if dot else f"{rel} ({n})"
    seen.add(candidate.lower())
    return candidate


def _unreadable(rel: str, exc: OSError) -> SourceFile:
    err = FileError(
        "IO_ERROR", f"无法读取文件：{exc.strerror or exc}", f"cannot read file: {exc.strerror or exc}"
    )
    return SourceFile(rel, b"", "", 0, None, err)


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """Zips made on Chinese Windows store GBK names without the UTF-8 flag: decode them as such."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _walk_zip(path: Path, settings: Settings) -> tuple[list[SourceFile], FileError | None]:
    files: list[SourceFile] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return files, FileError(
            "BAD_ARCHIVE",
            "压缩包损坏或不是有效的 ZIP 文件，无法打开",
            f"the zip archive cannot be opened: {exc}",
        )
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS:
            return files, FileError(
                "BAD_ARCHIVE",
                f"压缩包内文件过多（{len(infos)} 个）",
                f"too many files in the archive ({len(infos)})",
            )
        names = [_zip_member_name(i) for i in infos]
        # hostile names must not decide the common root of the honest ones
        prefix = _common_root([n for n in names if not unsafe_member_name(n)])
        total = 0
        seen_rel: set[str] = set()
        for info, raw_name in sorted(zip(infos, names), key=lambda t: t[1]):
            rel = clean_relpath(raw_name[len(prefix) :] if prefix and raw_name.startswith(prefix) else raw_name)
            if _is_skipped(rel) or rel.rsplit("/", 1)[-1].startswith("."):
                continue
            rel = _unique(rel, seen_rel)
            if unsafe_member_name(raw_name):
                err = FileError(
                    "UNSAFE_PATH",
                    "压缩包内的文件路径不安全（含 ../ 或绝对路径），未读取",
                    "unsafe path inside the archive (../ or an absolute path); not extracted",
                )
                files.append(SourceFile(rel, b"", "", info.file_size, None, err))
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                err = FileError(
                    "SYMLINK", "压缩包内的符号链接未被读取", "symbolic link inside the archive not followed"
                )
                files.append(SourceFile(rel, b"", "", 0, None, err))
                continue
            if info.file_size > settings.max_file_bytes:
                files.append(_too_big(rel, info.file_size, settings))
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            total += info.file_size
            if ratio > MAX_ZIP_RATIO or total > settings.max_file_bytes * 4:
                err = FileError(
                    "ZIP_BOMB",
                    "压缩包成员的解压比例异常（疑似压缩炸弹），未解压",
                    "archive member inflates abnormally (suspected zip bomb); not extracted",
                )
                files.append(SourceFile(rel, b"", "", info.file_size, None, err))
                continue
            try:
                data = zf.read(info)
            except (
                zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, ValueError, zlib.error
            ) as exc:  # zlib.error: a corrupt deflate stream is not an OSError
                encrypted = bool(info.flag_bits & 0x1)
                err = FileError(
                    "BAD_ARCHIVE",
                    "压缩包成员已加密，无法读取" if encrypted else "压缩包成员损坏（校验失败或数据不完整），无法读取",
                    "archive member is encrypted" if encrypted else f"archive member corrupt: {exc}",
                )
                files.append(SourceFile(rel, b"", "", 0, None, err))
                continue
            files.append(make_source_file(rel, data, settings))
    return files, None


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member_name(name: str) -> bool:
    """A zip-slip (``../``) or absolute (``/x``, ``C:\\x``) member name: never trusted.

    Nothing is extracted to disk, so such a name could not escape anyway; it is refused because
    no honest application zip contains one — it means a crafted or broken archive.
    """
    norm = name.replace("\\", "/")
    return norm.startswith("/") or bool(_DRIVE.match(norm)) or ".." in norm.split("/")


def _common_root(names: list[str]) -> str:
    """``APP-01/…`` inside ``APP-01.zip``: drop the single top folder every member shares."""
    tops = {n.replace("\\", "/").split("/", 1)[0] for n in names if "/" in n.replace("\\", "/")}
    flat = [n for n in names if "/" not in n.replace("\\", "/")]
    if len(tops) == 1 and not flat:
        return tops.pop() + "/"
    return ""


# --------------------------------------------------------------------------- applications


def application_id_for(path: Path) -> str:
    name = _fs_name(path)
    if name.lower().endswith(".zip"):
        name = name[:-4]
    safe = re.sub(r"[\x00-\x1f/\\:*?\"<>|]", "_", name).strip(" .") or "application"
    return safe[:120]


def _has_own_files(folder: Path) -> bool:
    for child in folder.iterdir():
        if (
            child.is_file()
            and not child.name.startswith(".")
            and child.name.lower() not in SKIPPED_NAMES
            and child.suffix.lower() != ".zip"  # zips beside each other are applications
        ):
            return True
    return False


def _looks_like_one_application(folder: Path) -> bool:
    """A folder is one application when it holds files itself, or only category sub-folders."""
    if _has_own_files(folder):
        return True
    subdirs = [c for c in folder.iterdir() if c.is_dir() and not c.name.startswith(".")]
    zips = [c for c in folder.iterdir() if c.is_file() and c.suffix.lower() == ".zip"]
    if zips:
        return False
    return bool(subdirs) and all(_CATEGORY_DIR.search(_fs_name(d)) for d in subdirs)


def find_applications(path: Path) -> list[Path]:
    """Application folders and zips at or under ``path`` (a folder of applications works too)."""
    path = Path(path)
    if path.is_file():
        return [path] if path.suffix.lower() == ".zip" else []
    if not path.is_dir():
        return []
    if _looks_like_one_application(path):
        # a folder holding both its own files and application zips is still one application
        return [path]
    found: list[Path] = []
    for child in sorted(path.iterdir(), key=lambda c: c.name):
        if child.name.startswith("."):
            continue
        if child.is_dir() or child.suffix.lower() == ".zip":
            found.extend(find_applications(child))
    return found


def load_application(path: Path, settings: Settings) -> ApplicationSource:
    """Read every file of one application (folder or zip) into memory."""
    path = Path(path)
    app_id = application_id_for(path)
    if path.is_file():
        files, err = _walk_zip(path, settings)
        return ApplicationSource(app_id, path, tuple(files), err)
    return ApplicationSource(app_id, path, tuple(_walk_folder(path, settings)))


class DocumentBytes:
    """A document's bytes by the name the result gives it, from its application folder or zip.

    A zip member is named in results as ingest names it (single top folder dropped, GBK names
    decoded), so zips are read through :func:`load_application`. Batch-level work (reports,
    cross-application checks) goes application by application, so only the members of the
    ``keep`` most recently asked-for zips stay in memory.
    """

    def __init__(self, settings: Settings | None = None, keep: int = 1) -> None:
        self._settings = settings
        self._keep = max(1, keep)
        self._zips: dict[Path, dict[str, bytes]] = {}  # insertion order = least recently used first

    def get(self, application: Path, file: str) -> bytes | None:
        application = Path(application)
        if application.is_dir():
            path = application / file
            try:
                inside = path.resolve().is_relative_to(application.resolve())
                return path.read_bytes() if inside and path.is_file() else None
            except OSError:
                return None
        if not application.is_file():
            return None
        members = self._zips.pop(application, None)
        if members is None:
            source = load_application(application, self._settings or Settings())
            members = {f.relpath: f.data for f in source.files if f.error is None}
        self._zips[application] = members
        while len(self._zips) > self._keep:
            self._zips.pop(next(iter(self._zips)))
        return members.get(file)

    def clear(self) -> None:
        self._zips.clear()

