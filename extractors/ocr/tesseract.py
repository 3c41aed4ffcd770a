"""Tesseract engine (Debian ``tesseract-ocr-chi-sim``): a benchmark baseline only.

Runs the CLI once per image with TSV output and groups words into lines by Tesseract's own
(block, paragraph, line) numbers. Chinese words come back one glyph each, so words are joined
without spaces unless both sides are ASCII.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from extractors.ocr.base import EngineUnavailable, OcrLine, OcrWord
from pipeline.settings import Settings

LANGS = "chi_sim+eng"


def _join(words: list[str]) -> str:
    out = ""
    for w in words:
        if out and out[-1].isascii() and out[-1].isalnum() and w[:1].isascii() and w[:1].isalnum():
            out += " "
        out += w
    return out


def engine_version(settings: Settings) -> str:
    """``tesseract-<version>+<langs>``: runs ``tesseract --version`` (no model load)."""
    cmd = shutil.which(settings.tesseract_cmd)
    if cmd is None:
        return "tesseract-missing"
    ver = subprocess.run([cmd, "--version"], capture_output=True, text=True, check=False).stdout
    first = (ver.splitlines() or ["tesseract unknown"])[0].split()
    return f"tesseract-{first[-1] if first else 'unknown'}+{LANGS}"


class TesseractEngine:
    name = "tesseract"

    def __init__(self, settings: Settings) -> None:
        cmd = shutil.which(settings.tesseract_cmd)
        if cmd is None:
            raise EngineUnavailable(
                f"tesseract not found ({settings.tesseract_cmd!r}): apt-get install tesseract-ocr "
                "tesseract-ocr-chi-sim, or set YUNSHEN_TESSERACT_CMD / YUNSHEN_OCR_ENGINE"
            )
        langs = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True, check=False).stdout
        if "chi_sim" not in langs.split():
            raise EngineUnavailable(
                "tesseract has no chi_sim data: apt-get install tesseract-ocr-chi-sim, or set "
                "YUNSHEN_OCR_ENGINE to another engine"
            )
        self._cmd = cmd
        self._threads = settings.ocr_threads
        self.version = engine_version(settings)

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "page.png"
            cv2.imwrite(str(path), image)
            proc = subprocess.run(
                [self._cmd, str(path), "stdout", "-l", LANGS, "--psm", "3", "tsv"],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "OMP_THREAD_LIMIT": str(self._threads)},
            )
        if proc.returncode != 0:
            raise RuntimeError(f"tesseract failed: {proc.stderr.strip()[:300]}")
        return parse_tsv(proc.stdout)


def parse_tsv(tsv: str) -> list[OcrLine]:
    """Turn ``tesseract … tsv`` output into lines (level-5 words grouped by line id)."""
    groups: dict[tuple[int, int, int, int], list[OcrWord]] = {}
    reader = csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        conf = float(row.get("conf") or -1)
        if not text or conf < 0:
            continue
        x, y, w, h = (float(row[k]) for k in ("left", "top", "width", "height"))
        key = (int(row["page_num"]), int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        groups.setdefault(key, []).append(OcrWord(text=text, box=(x, y, x + w, y + h), confidence=conf / 100.0))
    lines = []
    for words in groups.values():
        box = (
            min(w.box[0] for w in words),
            min(w.box[1] for w in words),
            max(w.box[2] for w in words),
            max(w.box[3] for w in words),
        )
        conf = sum(w.confidence for w in words) / len(words)
        lines.append(OcrLine(text=_join([w.text for w in words]), box=box, confidence=conf, words=tuple(words)))
    return lines
