from __future__ import annotations

import hashlib
import zipfile

from builders import docx_bytes, text_pdf, write
from pipeline.ingest import clean_relpath, find_applications, load_application, sniff_media_type


def test_sniff_by_content_not_extension(tmp_path):
    pdf = text_pdf([["合同"]])
    assert sniff_media_type(pdf) == "application/pdf"
    assert sniff_media_type(b"\xff\xd8\xff\xe0" + b"0" * 20) == "image/jpeg"
    assert sniff_media_type(b"<!DOCTYPE html><html>") == "text/html"
    assert sniff_media_type(docx_bytes()).endswith("wordprocessingml.document")
    assert sniff_media_type(b"") is None


def test_folder_nested_and_identified_by_sha(tmp_path, settings):
    app = tmp_path / "APP-X"
    pdf = text_pdf([["服务合同", "甲方：某公司"]])
    write(app / "申请表.pdf", text_pdf([["星级上云企业评定申请表"]]))
    write(app / "合同" / "a.pdf", pdf)
    write(app / "合同" / "copy-of-a.pdf", pdf)
    write(app / ".DS_Store", b"junk")
    write(app / "说明.docx", docx_bytes())
    write(app / "empty.pdf", b"")
    source = load_application(app, settings)
    names = [f.relpath for f in source.files]
    assert names == ["合同/a.pdf", "合同/copy-of-a.pdf", "申请表.pdf", "empty.pdf", "说明.docx"] or sorted(
        names
    ) == sorted(["合同/a.pdf", "合同/copy-of-a.pdf", "申请表.pdf", "empty.pdf", "说明.docx"])
    by = {f.relpath: f for f in source.files}
    assert by["合同/a.pdf"].sha256 == hashlib.sha256(pdf).hexdigest() == by["合同/copy-of-a.pdf"].sha256
    assert by["empty.pdf"].error.code == "EMPTY_FILE"
    assert by["说明.docx"].error.code == "UNSUPPORTED_TYPE"
    assert "DOCX" in by["说明.docx"].error.zh


class _GbkInfo(zipfile.ZipInfo):
    """A member name stored as GBK without the UTF-8 flag, as Chinese Windows zips do."""

    def _encodeFilenameFlags(self):  # noqa: N802 - zipfile's private hook
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def test_zip_with_gbk_names_common_root_and_hostile_paths(tmp_path, settings):
    z = tmp_path / "APP-Z.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(_GbkInfo("APP-Z/合同.pdf"), text_pdf([["合同"]]))
        zf.writestr("APP-Z/../../etc/passwd.pdf", text_pdf([["x"]]))
        zf.writestr("APP-Z/__MACOSX/._x", b"junk")
    source = load_application(z, settings)
    assert source.application_id == "APP-Z"
    names = sorted(f.relpath for f in source.files)
    assert names == ["etc/passwd.pdf", "合同.pdf"]
    assert not (tmp_path / "etc").exists()


def test_bad_zip_is_an_application_error(tmp_path, settings):
    z = tmp_path / "APP-B.zip"
    z.write_bytes(b"PK\x03\x04 not really a zip")
    source = load_application(z, settings)
    assert source.error is not None and source.error.code == "BAD_ARCHIVE"


def test_zip_bomb_member_refused(tmp_path, settings):
    z = tmp_path / "APP-BOMB.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.pdf", b"\0" * (20 * 1024 * 1024))
        zf.writestr("ok.pdf", text_pdf([["合同"]]))
    source = load_application(z, settings)
    by = {f.relpath: f for f in source.files}
    assert by["big.pdf"].error.code == "ZIP_BOMB"
    assert by["ok.pdf"].error is None


def test_find_applications_container_vs_application(tmp_path):
    intake = tmp_path / "intake"
    write(intake / "APP-1" / "申请表.pdf", b"%PDF-1.4")
    write(intake / "APP-2" / "合同" / "c.pdf", b"%PDF-1.4")  # only category sub-folders
    write(intake / "APP-2" / "发票" / "i.pdf", b"%PDF-1.4")
    with zipfile.ZipFile(intake / "APP-3.zip", "w") as zf:
        zf.writestr("a.pdf", b"%PDF-1.4")
    found = find_applications(intake)
    assert [p.name for p in found] == ["APP-1", "APP-2", "APP-3.zip"]
    assert find_applications(intake / "APP-2") == [intake / "APP-2"]


def test_clean_relpath():
    assert clean_relpath("../../a/b\nc.pdf") == "a/b?c.pdf"
    assert clean_relpath("/abs/x.pdf") == "abs/x.pdf"
    assert clean_relpath("") == "unnamed"


def test_names_differing_in_case_are_kept_apart(tmp_path, settings):
    z = tmp_path / "APP-C.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("A.pdf", text_pdf([["甲"]]))
        zf.writestr("a.pdf", text_pdf([["乙"]]))
    names = [f.relpath for f in load_application(z, settings).files]
    assert len(set(n.lower() for n in names)) == 2
