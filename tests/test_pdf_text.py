from __future__ import annotations

import pytest

from builders import image_pdf, render_lines, text_pdf
from extractors.pdf_text import PdfReadError, assess_text, open_pdf


def test_text_layer_lines_with_boxes():
    data = text_pdf([["云服务合同", "甲方：江苏澄明精密机械有限公司", "乙方：阿里云计算有限公司"]])
    with open_pdf(data) as pdf:
        assert len(pdf) == 1
        layer = pdf.text_layer(0)
    assert layer.quality.usable
    texts = [ln.text for ln in layer.lines]
    assert texts == ["云服务合同", "甲方：江苏澄明精密机械有限公司", "乙方：阿里云计算有限公司"]
    title = layer.lines[0]
    x0, y0, x1, y1 = title.bbox
    assert 0 < x0 < x1 < 1 and 0 < y0 < y1 < 0.2  # near the top-left, as drawn
    assert layer.lines[1].bbox[1] > title.bbox[3]


def test_image_only_pdf_has_no_usable_layer():
    data = image_pdf([render_lines(["扫描件", "甲方"])])
    with open_pdf(data) as pdf:
        layer = pdf.text_layer(0)
        image = pdf.render(0, dpi=100, max_side=2000)
    assert not layer.quality.usable and layer.quality.reason == "missing"
    assert image.ndim == 3 and image.shape[2] == 3 and image.mean() > 200  # white paper


@pytest.mark.parametrize(
    "text, reason",
    [
        ("(cid:12)(cid:44)(cid:99)(cid:100)" * 10 + "合同", "garbled: (cid:…) glyphs"),
        ("ÄÖÜ¸¹º»¼½¾¿ÀÁÂÃ" * 5, "garbled: mostly non-CJK junk"),
        ("合同编号甲方乙方\ufffd\ufffd\ufffd服务", "garbled: replacement characters"),
        ("12", "missing"),
    ],
)
def test_assess_text_rejects_garbage(text, reason):
    q = assess_text(text)
    assert not q.usable and q.reason == reason


def test_assess_text_accepts_real_text_and_thin_over_image():
    assert assess_text("甲方：江苏澄明精密机械有限公司 乙方：阿里云计算有限公司").usable
    assert not assess_text("CamScanner 扫描全能王", image_coverage=0.95).usable


def test_encrypted_and_corrupt_pdfs():
    with pytest.raises(PdfReadError) as exc:
        with open_pdf(text_pdf([["秘密"]], encrypt_user="secret")):
            pass
    assert exc.value.code == "ENCRYPTED" and "加密" in exc.value.zh
    with pytest.raises(PdfReadError) as exc:
        with open_pdf(b"%PDF-1.7\n1 0 obj <</Type /Catalog>> garbage"):
            pass
    assert exc.value.code == "CORRUPT_PDF"
    # owner-password-only encryption opens without a password: the text is read
    with open_pdf(text_pdf([["合同编号 HT-2024-001 甲方乙方"]], encrypt_owner_only=True)) as pdf:
        assert pdf.text_layer(0).quality.usable


def test_truncated_pdf_is_an_error_or_readable_never_a_crash():
    data = text_pdf([["服务合同 甲方 乙方 金额"]] * 3)
    try:
        with open_pdf(data[: len(data) // 2]) as pdf:
            for i in range(len(pdf)):
                pdf.text_layer(i)
    except PdfReadError as exc:
        assert exc.code in {"CORRUPT_PDF", "EMPTY_PDF"}
