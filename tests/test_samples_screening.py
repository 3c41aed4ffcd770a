"""Acceptance on the generated samples: kinds, text-layer pages, OCR error, cache, bad files.

Every sample application is read once with the real OCR model (a fresh cache), then again to
prove the second pass does no OCR at all.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from builders import docx_bytes, text_pdf, write
from conftest import SAMPLES, TRUTH
from pipeline.metrics import cer_detail, normalize
from pipeline.pages import OcrRunner
from pipeline.schema import SCHEMA_FILE
from pipeline.screen import build_result, read_application
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

APPS = sorted(p for p in SAMPLES.iterdir() if p.is_dir()) if SAMPLES.exists() else []


def _inside_any(bbox: list[float], regions: list[list[float]]) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in regions)


def _printed_cer(truth_lines, lines, seal_boxes) -> float:
    """CER of the printed text. The truth lists printed lines only, so recognised text that
    matches no truth line *and* lies inside a seal (its curved legend) is not an error; every
    other unmatched line still counts in full."""
    detail = cer_detail(truth_lines, [ln.text for ln in lines])
    in_seal = Counter(normalize(ln.text) for ln in lines if _inside_any(ln.bbox, seal_boxes))
    forgiven = 0
    for text in detail.unmatched_recognised:
        if in_seal[text] > 0:
            in_seal[text] -= 1
            forgiven += len(text)
    return (detail.errors - forgiven) / detail.truth_chars if detail.truth_chars else 0.0


def _truth(app: Path) -> dict:
    return json.loads((TRUTH / app.name / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cache_dir(sample_store) -> Path:
    return sample_store


@pytest.fixture(scope="module")
def first_pass(sample_readings):
    return sample_readings


def test_there_are_at_least_four_sample_applications():
    assert len(APPS) >= 4
    for app in APPS:
        assert (TRUTH / app.name / "truth.json").exists()


def test_every_sample_file_gets_its_kind(first_pass):
    _, readings = first_pass
    total = wrong = 0
    mistakes = []
    for app in APPS:
        got = {d.source.relpath: d.kind for d in readings[app.name].documents}
        for doc in _truth(app)["documents"]:
            total += 1
            if got.get(doc["file"]) != doc["kind"]:
                wrong += 1
                mistakes.append((app.name, doc["file"], doc["kind"], got.get(doc["file"])))
    accuracy = 1 - wrong / total
    assert accuracy >= 0.99, f"kind accuracy {accuracy:.3f}: {mistakes}"


def test_text_layer_pages_are_never_ocrd(first_pass):
    settings, readings = first_pass
    for app in APPS:
        results = build_result(readings[app.name], settings)
        by_file = {d.file: d for d in results.documents}
        for doc in _truth(app)["documents"]:
            if doc.get("text_layer"):
                assert by_file[doc["file"]].ocr_pages == 0, doc["file"]
            elif doc["rendering"] != "text-pdf":
                assert by_file[doc["file"]].ocr_pages == doc["pages"], doc["file"]


def test_ocr_character_error_on_scans_photos_and_screenshots(first_pass):
    _, readings = first_pass
    truth_chars = 0
    errors = 0.0
    per_rendering: dict[str, list[float]] = {}
    for app in APPS:
        docs = {d.source.relpath: d for d in readings[app.name].documents}
        for doc in _truth(app)["documents"]:
            if doc.get("text_layer"):
                continue
            read = docs[doc["file"]]
            for page, truth_lines in zip(read.pages, doc["page_text"]):
                n = sum(len("".join(t.split())) for t in truth_lines)
                seals = [seal["bbox"] for seal in doc.get("seals", []) if seal["page"] == page.number]
                rate = _printed_cer(truth_lines, page.lines, seals)
                errors += rate * n
                truth_chars += n
                per_rendering.setdefault(doc["rendering"], []).append(rate)
    overall = errors / truth_chars
    summary = {k: round(sum(v) / len(v), 4) for k, v in per_rendering.items()}
    print(f"OCR CER overall {overall:.4f} over {truth_chars} chars; mean by rendering {summary}")
    assert truth_chars > 2000
    assert overall <= 0.02, summary


def test_results_validate_against_the_schema(first_pass):
    settings, readings = first_pass
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    for app in APPS:
        payload = json.loads(build_result(readings[app.name], settings).to_json())
        jsonschema.validate(payload, schema)


def test_rescreening_does_no_ocr(first_pass, cache_dir):
    _, readings = first_pass
    assert sum(r.ocr_calls for r in readings.values()) > 0  # the first pass really OCR'd
    settings = Settings(cache_dir=cache_dir)
    runner = OcrRunner.from_settings(settings)
    for app in APPS:
        again = read_application(app, settings, runner)
        assert again.ocr_calls == 0, app.name
        assert again.ocr_cache_hits > 0 or all(
            d.reading.pages == [] or all(p.source != "ocr" for p in d.pages) for d in again.documents
        )
    assert runner.calls == 0
    assert runner._engine is None  # the model was not even loaded


def test_bad_files_in_a_sample_application(first_pass, cache_dir, tmp_path):
    settings, readings = first_pass
    source = APPS[0]
    app = tmp_path / source.name
    shutil.copytree(source, app)
    write(app / "坏的合同.pdf", text_pdf([["合同"]])[:300])
    write(app / "加密发票.pdf", text_pdf([["发票"]], encrypt_user="1234"))
    write(app / "空文件.pdf", b"")
    write(app / "说明.docx", docx_bytes())
    reading = read_application(app, Settings(cache_dir=cache_dir))
    result = build_result(reading, settings)
    by_file = {d.file: d for d in result.documents}
    for name in ("坏的合同.pdf", "加密发票.pdf", "空文件.pdf", "说明.docx"):
        assert by_file[name].error, name
        assert any(f.code == "FILE_UNREADABLE" and name in f.files for f in result.flags), name
    assert "加密" in by_file["加密发票.pdf"].error
    # the rest of the application is screened just as before
    before = {d.source.relpath: d.kind for d in readings[source.name].documents}
    after = {f: d.kind for f, d in by_file.items() if f in before}
    assert after == before
