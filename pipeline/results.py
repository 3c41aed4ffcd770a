"""Where results go: the output folder (for people) and the store (versioned, never overwritten);
and how a result document is read back (:func:`load_result`: a valid model or :class:`ResultLoadError`)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.cache import atomic_write_bytes
from pipeline.model import ScreeningResult
from pipeline.settings import Settings

MAX_RESULT_BYTES = 64 * 1024 * 1024
"""A result file larger than this is not read (a real one is a few hundred kB)."""


class ResultLoadError(ValueError):
    """A document that is not a readable ``yunshen.result/v1`` result.

    The message names the file and *where* the document is wrong (JSON path, error type), never
    the offending values: those are document text (names, phone numbers) and end up in logs.
    """


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    first = errors[0] if errors else {}
    where = ".".join(str(p)[:40] for p in first.get("loc", ()))[:200] or "document"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('type', 'invalid')}{more}"


def _non_finite(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path or "document"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _non_finite(v, f"{path}.{i}" if path else str(i))


def load_result(data: bytes | str, source: str = "result") -> ScreeningResult:
    """Parse one ``yunshen.result/v1`` document; :class:`ResultLoadError` for anything else.

    Besides the schema, amounts must be finite: JSON's ``1e400`` parses as infinity, which no
    amount is, and which the JSON API could not serialise again.
    """
    if not isinstance(data, (bytes, bytearray, str)):
        raise ResultLoadError(f"{source}: not a document ({type(data).__name__})")
    if len(data) > MAX_RESULT_BYTES:
        raise ResultLoadError(f"{source}: larger than {MAX_RESULT_BYTES} bytes")
    try:
        result = ScreeningResult.model_validate_json(data)
    except ValidationError as exc:
        raise ResultLoadError(f"{source}: not a yunshen.result/v1 document — {_describe(exc)}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # defensive: the parser's own limits
        raise ResultLoadError(f"{source}: unreadable ({type(exc).__name__})") from None
    bad = next(_non_finite(result.model_dump()), None)
    if bad is not None:
        raise ResultLoadError(f"{source}: {bad[:200]}: not a finite number")
    return result


def load_result_file(path: Path) -> ScreeningResult:
    """:func:`load_result` on a file; an unreadable file is a :class:`ResultLoadError` too."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            raise ResultLoadError(f"{path.name}: larger than {MAX_RESULT_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise ResultLoadError(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    return load_result(data, source=path.name)


def write_result_file(result: ScreeningResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result.application_id}.json"
    atomic_write_bytes(path, result.to_json().encode())
    return path


def store_key(application_id: str, rules_version: str | None, version: str) -> str:
    """``results/<application>/<rules version>/<version>.json``: one object per input version."""
    return f"results/{application_id}/{rules_version or 'unjudged'}/{version}.json"


def save_result(
    result: ScreeningResult, out_dir: Path, settings: Settings, version: str | None = None
) -> str:
    """Write the result to ``out_dir`` and to the store, keyed by rules version and ``version``
    (the application's content fingerprint; default: the result's own digest). Never overwrites."""
    from pipeline.storage import open_store

    payload = result.to_json().encode()
    write_result_file(result, out_dir)
    key = store_key(result.application_id, result.rules_version, version or hashlib.sha256(payload).hexdigest()[:32])
    open_store(settings).put_if_absent(key, payload)
    return key
