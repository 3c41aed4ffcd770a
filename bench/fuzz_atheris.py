"""Coverage-guided fuzzing (atheris / libFuzzer) of the parsers and the result loader.

Not part of ``make test`` — run it for as long as you like; a crash or a broken property stops it
and leaves the input in ``crash-*`` in the working directory::

    pip install -e '.[fuzz]'
    python bench/fuzz_atheris.py --seconds 300                 # every target, one after another
    python bench/fuzz_atheris.py --seconds 600 --target money  # one target
    python bench/fuzz_atheris.py --target loader crash-1234    # replay a crash

Targets: ``money``, ``dates``, ``uscc``, ``invoice``, ``loader``. The properties are those of
``tests/test_fuzz.py`` (hypothesis, in ``make test``): never raise, typed answers, real dates,
finite amounts, credit codes that pass GB 32100, a valid model or ``ResultLoadError``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports():
    from extractors import dates, invoice_number, money, uscc
    from pipeline.results import ResultLoadError, load_result

TARGETS = ("money", "dates", "uscc", "invoice", "loader")
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _gb32100_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in _ALPHABET for c in code):
        return False
    total = sum(_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    return _ALPHABET.index(code[17]) == (31 - total % 31) % 31


SEEDS: dict[str, list[str]] = {
    "money": ["价税合计（大写）壹万贰仟陆佰元整（小写）¥12,600.00", "合同金额：人民币1.26万元", "-¥3,000.00"],
    "dates": ["服务期限：自2024年1月1日起至2026年12月31日止", "二〇二四年十二月三十一日", "2024-01-01 10:21:35",
              "自2024年3月1日起，为期三年"],
    "uscc": ["统一社会信用代码：91320214MAHHBM9D7Y", "纳税人识别号 9132 0106 MA1M XY2K 4P", "320106123456789"],
    "invoice": ["发票号码：24322000000012345678", "发票代码 3200231130 发票号码 08563217", "校验码 12345 67890 12345 67890"],
    "loader": ['{"application_id": "APP-1", "screened_at": "2024-01-01", "documents": [{"file": "a.pdf", '
               '"sha256": "00", "kind": "contract", "pages": 1, "ocr_pages": 0}], "flags": [{"code": "X", '
               '"severity": "info", "message": "m"}]}'],
}


def _text(data: bytes) -> str:
    """UTF-8 (bad bytes replaced): the seeds are real printed forms, mutations stay near them."""
    return data.decode("utf-8", "replace")


def fuzz_money(data: bytes) -> None:
    text = _text(data)
    for fn in (money.parse_amount, money.parse_uppercase):
        value = fn(text)
        assert value is None or (isinstance(value, Decimal) and value.is_finite()), (fn, value)
    for a in money.find_amounts(text):
        assert a.value.is_finite() and text[a.start : a.end] == a.raw


def fuzz_dates(data: bytes) -> None:
    text = _text(data)
    value = dates.parse_date(text)
    assert value is None or (isinstance(value, date) and 1900 <= value.year <= 2099)
    for m in dates.find_dates(text):
        assert isinstance(m.value, date) and text[m.start : m.end] == m.raw
    for p in dates.find_periods(text):
        assert p.end is None or (p.end >= p.start and p.months == dates.months_between(p.start, p.end))


def fuzz_uscc(data: bytes) -> None:
    text = _text(data)
    if uscc.validate(text):
        assert _gb32100_ok(text.strip().upper())
    parsed = uscc.parse(text)
    assert parsed is None or not parsed.valid or _gb32100_ok(parsed.code)
    for code, start, end in uscc.find_codes(text):
        assert 0 <= start < end <= len(text) and (not code.valid or _gb32100_ok(code.code))


def fuzz_invoice(data: bytes) -> None:
    text = _text(data)
    for n in [invoice_number.parse_invoice_number(text), *invoice_number.find_invoice_numbers(text)]:
        if n is not None:
            assert n.value.replace("-", "").isascii() and n.value.replace("-", "").isdigit(), n
    for c in invoice_number.find_check_codes(text):
        assert len(c.value) == 20 and c.value.isascii() and c.value.isdigit()


def fuzz_loader(data: bytes) -> None:
    try:
        result = load_result(data)
    except ResultLoadError:
        return
    assert load_result(result.to_json().encode()) == result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="time per target (default 60)")
    ap.add_argument("--target", choices=TARGETS, help="one target (default: each in turn, in subprocesses)")
    args, rest = ap.parse_known_args()
    if args.target is None:
        failed = 0
        for target in TARGETS:
            cmd = [sys.executable, __file__, "--seconds", str(args.seconds), "--target", target, *rest]
            print(f"== {target} ({args.seconds} s)", flush=True)
            failed |= subprocess.call(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)})
        sys.exit(1 if failed else 0)
    fn = globals()[f"fuzz_{args.target}"]
    if not any(not r.startswith("-") for r in rest):  # no corpus or crash file given: seed one
        corpus = Path(tempfile.mkdtemp(prefix=f"yunshen-fuzz-{args.target}-"))
        for i, seed in enumerate(SEEDS[args.target]):
            (corpus / f"seed-{i}").write_bytes(seed.encode())
        rest = [*rest, str(corpus)]
    atheris.Setup([sys.argv[0], f"-max_total_time={args.seconds}", "-rss_limit_mb=4096", *rest], fn)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
