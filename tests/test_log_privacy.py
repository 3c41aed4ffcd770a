"""Logs never carry document text (issue #7, item 6): a sample application is screened with every
logger at DEBUG — in process (every log record captured, whichever logger wrote it) and through
the ``yunshen`` CLI in a subprocess (its whole stderr) — and none of the application's personal
data from ``samples/truth`` (legal representative, contact person, address, phone numbers,
e-mail, invoice numbers, credit code) may appear.

The OCR cache is the session's ``sample_store``: whichever test reads APP-01 first pays its OCR
(here, under DEBUG logging, that is the point), the others reuse it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = "APP-01"

pytestmark = pytest.mark.slow  # real OCR model (cold cache) and a CLI subprocess


def _after(lines: list[str], label: str) -> list[str]:
    return [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.strip() == label]


def personal_data(app: str = APP) -> set[str]:
    """What of the application's documents must never be logged, from its truth file."""
    truth = json.loads((ROOT / "samples" / "truth" / app / "truth.json").read_text(encoding="utf-8"))
    secrets = {truth["applicant"]["legal_rep"], truth["applicant"]["uscc"]}
    for doc in truth["documents"]:
        fields = doc.get("fields") or {}
        for key in ("invoice_number", "legal_rep", "buyer_tax_id", "seller_tax_id"):
            if fields.get(key):
                secrets.add(str(fields[key]))
        lines = [line for page in doc.get("page_text") or [] for line in page]
        for label in ("注册地址", "法人代表姓名", "联系人姓名", "电话", "手机", "电子邮箱", "住所", "地址"):
            secrets.update(_after(lines, label))
        text = "\n".join(lines)
        secrets.update(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))  # mobile numbers
        secrets.update(re.findall(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)", text))  # landlines
    secrets = {s.strip() for s in secrets if s and len(s.strip()) >= 3}
    assert len(secrets) >= 5, secrets  # the truth file really gives something to look for
    return secrets


def _leaks(text: str, secrets: set[str]) -> list[str]:
    escaped = {s: json.dumps(s).strip('"') for s in secrets}
    return sorted(s for s in secrets if s in text or escaped[s] in text)


@pytest.fixture
def every_logger_at_debug(caplog):
    """Every logger — including ones that set their own level or do not propagate — at DEBUG,
    into caplog. Libraries are imported first so their loggers exist."""
    import extractors.ocr  # noqa: F401
    import pipeline.screen  # noqa: F401
    from extractors.ocr import engine_identity  # noqa: F401

    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        pass
    saved = {}
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, logger.disabled)
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(caplog.handler)
    yield caplog
    for name, (level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled
        if caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


def test_screening_logs_no_document_text(every_logger_at_debug, sample_store, capfd) -> None:
    from pipeline.screen import screen_application
    from pipeline.settings import Settings

    secrets = personal_data()
    result = screen_application(ROOT / "samples" / "applications" / APP, Settings(cache_dir=sample_store))
    # the screening really read the personal data (so not finding it in the logs means something)
    assert _leaks(result.to_json(), secrets), "the result should carry some of the applicant's data"
    records = every_logger_at_debug.records
    assert records, "DEBUG logging captured nothing: the capture is broken"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    out, err = capfd.readouterr()
    assert _leaks(logged, secrets) == [], "log records carry document text"
    assert _leaks(out + err, secrets) == [], "stdout/stderr carry document text"


def test_cli_stderr_has_no_document_text(tmp_path, sample_store) -> None:
    secrets = personal_data()
    code = (
        "import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr);"
        "from pipeline.cli import main; sys.argv[0] = 'yunshen'; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("YUNSHEN_STORE", None)
    proc = subprocess.run(
        [sys.executable, "-c", code, "screen", str(ROOT / "samples" / "applications" / APP),
         "--out", str(tmp_path / "out"), "--store-dir", str(sample_store)],
        capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "DEBUG" in proc.stderr or "INFO" in proc.stderr or "预审" in proc.stderr  # stderr was captured
    assert _leaks((tmp_path / "out" / f"{APP}.json").read_text(encoding="utf-8"), secrets)
    assert _leaks(proc.stderr, secrets) == [], "the CLI's stderr carries document text"
