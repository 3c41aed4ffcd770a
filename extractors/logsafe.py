"""Keep document text out of logs: PDF parsers log what they parse.

At DEBUG, pdfminer (under pdfplumber) logs every token and text operator it executes —
``exec: Tj [b'025-52761234']`` — i.e. the document's text, phone numbers and names included.
Applicants' documents carry personal data, so those records are dropped whatever level a
deployment sets: a *filter* on each parser logger, which survives ``setLevel(DEBUG)`` on it
(a level would not). Their warnings and errors (broken PDFs) still get through.
"""

from __future__ import annotations

import logging

CHATTY_PARSERS: tuple[str, ...] = ("pdfminer", "pdfplumber")
"""Logger name prefixes of libraries that log document content below WARNING."""


class _BelowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_FILTER = _BelowWarning()


def quiet_parser_logs() -> None:
    """Attach the filter to every parser logger that exists (idempotent and cheap: call it
    whenever a PDF is opened, so loggers a lazily imported module creates are covered too)."""
    import pdfplumber  # noqa: F401 - imports the pdfminer modules, creating their loggers

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in CHATTY_PARSERS]
    for name in {*names, *CHATTY_PARSERS}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
