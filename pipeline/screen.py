"""Screen one application: files → pages → kinds → result v1. No orchestration here.

The stages are plain functions so that the CLI, the Prefect flows and the tests all call the
same code: :func:`read_application` does the expensive part (text layer, OCR through the cache),
:func:`build_result` turns what was read into the ``yunshen.result/v1`` document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from classifiers.kinds import classify
from classifiers.subdomains import map_pages
from extractors.facts import DocumentFacts, ExtractionContext, extract_facts
from pipeline import __version__
from pipeline.flags import make_flag
from pipeline.ingest import ApplicationSource, FileError, SourceFile, load_application
from pipeline.judge import judge
from pipeline.model import (
    DocumentFields,
    DocumentResult,
    Evidence,
    Flag,
    Page,
    PageSummary,
    RunStats,
    ScreeningResult,
    Seal,
    SubdomainHit,
)
from pipeline.pages import DocumentReading, OcrRunner, read_document
from pipeline.rules import Rules, load_rules
from pipeline.sealing import assign_parties, document_parties, read_seals
from pipeline.settings import Settings

CHINA_TZ = timezone(timedelta(hours=8))


@dataclass
class ReadDocument:
    """One file of an application after reading: its pages, kind, and any error."""

    source: SourceFile
    reading: DocumentReading
    kind: str = "other"
    kind_score: float | None = None
    kind_evidence: list[Evidence] = field(default_factory=list)
    duplicate_of: str | None = None
    facts: DocumentFacts = field(default_factory=DocumentFacts)
    subdomains: list[SubdomainHit] = field(default_factory=list)
    raw_seals: list[dict] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)

    @property
    def pages(self) -> list[Page]:
        return self.reading.pages

    @property
    def error(self) -> FileError | None:
        return self.reading.error


@dataclass
class ApplicationReading:
    application_id: str
    location: Path
    documents: list[ReadDocument]
    error: FileError | None
    ocr_calls: int = 0
    ocr_cache_hits: int = 0
    seconds: float = 0.0


def read_application(
    path: Path, settings: Settings, ocr: OcrRunner | None = None
) -> ApplicationReading:
    """Read every file of the application at ``path`` (folder or zip); never raises on bad files."""
    started = time.perf_counter()
    ocr = ocr or OcrRunner.from_settings(settings)
    calls0, hits0 = ocr.calls, ocr.cache.stats.hits
    source: ApplicationSource = load_application(Path(path), settings)
    documents: list[ReadDocument] = []
    by_sha: dict[str, ReadDocument] = {}
    for src in source.files:
        first = by_sha.get(src.sha256) if src.sha256 and src.error is None else None
        if first is not None:
            # the same bytes are read once; the copy shares the reading
            doc = ReadDocument(
                src,
                first.reading,
                first.kind,
                first.kind_score,
                first.kind_evidence,
                facts=first.facts,
                subdomains=first.subdomains,
                raw_seals=first.raw_seals,
            )
            doc.duplicate_of = first.source.relpath
            documents.append(doc)
            continue
        reading = read_document(src, settings, ocr)
        doc = ReadDocument(src, reading)
        if reading.error is None:
            decision = classify(
                reading.pages, is_image_file=src.media_type != "application/pdf", file=src.relpath
            )
            doc.kind, doc.kind_score, doc.kind_evidence = (
                decision.kind,
                decision.score,
                decision.evidence,
            )
            doc.facts = extract_facts(
                doc.kind,
                reading.pages,
                ExtractionContext(
                    file=src.relpath, kind=doc.kind, is_image=src.media_type != "application/pdf"
                ),
            )
            doc.subdomains = [
                m.to_hit() for m in map_pages(reading.pages, file=src.relpath, kind=doc.kind)
            ]
            doc.raw_seals = read_seals(src, doc.kind, reading.pages, ocr)
        documents.append(doc)
        if src.sha256 and src.error is None:
            by_sha[src.sha256] = doc
    _match_seals(documents)
    return ApplicationReading(
        application_id=source.application_id,
        location=source.location,
        documents=documents,
        error=source.error,
        ocr_calls=ocr.calls - calls0,
        ocr_cache_hits=ocr.cache.stats.hits - hits0,
        seconds=time.perf_counter() - started,
    )


def _match_seals(documents: list[ReadDocument]) -> None:
    """Seals name parties; the applicant is known only once the licence and form are read."""
    applicant = [
        d.facts.get(name)
        for d in documents
        for name in ("name", "company")
        if d.kind in ("licence", "application_form") and d.facts.get(name)
    ]
    for doc in documents:
        if doc.raw_seals:
            parties = document_parties(doc.kind, doc.facts.values(), list(dict.fromkeys(applicant)))
            doc.seals = assign_parties(doc.raw_seals, parties)
        if doc.kind == "licence" and doc.seals and "authority" not in doc.facts.fields:
            from extractors.licence import authority_from_seals  # the 登记机关 is printed in its seal

            found = authority_from_seals(doc.seals, doc.pages)
            if found is not None:
                doc.facts.fields["authority"] = found


def _document_result(doc: ReadDocument) -> DocumentResult:
    src, reading = doc.source, doc.reading
    err = reading.error
    pages = reading.pages
    return DocumentResult(
        file=src.relpath,
        sha256=src.sha256,
        kind=doc.kind,  # type: ignore[arg-type]
        pages=reading.page_count or len(pages),
        ocr_pages=sum(1 for p in pages if p.source == "ocr"),
        error=f"{err.zh} / {err.en}" if err else None,
        error_code=err.code if err else None,
        error_en=err.en if err else None,
        media_type=src.media_type,
        size_bytes=src.size,
        duplicate_of=doc.duplicate_of,
        kind_score=doc.kind_score,
        kind_evidence=doc.kind_evidence,
        fields=DocumentFields(**doc.facts.values()),
        subdomains=doc.subdomains,
        seals=doc.seals,
        field_evidence={name: fv.evidence(src.relpath) for name, fv in doc.facts.fields.items()},
        page_info=[
            PageSummary(
                number=p.number,
                width=p.width,
                height=p.height,
                unit=p.unit,
                source=p.source,
                confidence=p.confidence,
                rotation=p.rotation,
                lines=len(p.lines),
            )
            for p in pages
        ],
    )


def reading_flags(reading: ApplicationReading) -> list[Flag]:
    """Flags that follow from reading alone: files that could not be read."""
    flags: list[Flag] = []
    if reading.error is not None:
        flags.append(
            make_flag(
                "FILE_UNREADABLE",
                files=[reading.location.name],
                evidence=[Evidence(file=reading.location.name)],
                reason=reading.error.zh,
                reason_en=reading.error.en,
            )
        )
    for doc in reading.documents:
        if doc.error is not None:
            flags.append(
                make_flag(
                    "FILE_UNREADABLE",
                    files=[doc.source.relpath],
                    evidence=[Evidence(file=doc.source.relpath)],
                    reason=doc.error.zh,
                    reason_en=doc.error.en,
                )
            )
    return flags


def build_result(
    reading: ApplicationReading, settings: Settings, rules: Rules | None = None
) -> ScreeningResult:
    rules = rules or load_rules(settings.rules_file)
    documents = [_document_result(doc) for doc in reading.documents]
    result = ScreeningResult(
        application_id=reading.application_id,
        screened_at=datetime.now(CHINA_TZ).isoformat(timespec="seconds"),
        documents=documents,
        flags=reading_flags(reading),
        stats=RunStats(
            yunshen_version=__version__,
            ocr_engine=settings.ocr_engine,
            pages=sum(len(d.pages) for d in reading.documents if d.duplicate_of is None),
            ocr_pages=sum(
                sum(1 for p in d.pages if p.source == "ocr")
                for d in reading.documents
                if d.duplicate_of is None
            ),
            ocr_calls=reading.ocr_calls,
            ocr_cache_hits=reading.ocr_cache_hits,
            seconds=round(reading.seconds, 3),
        ),
    )
    return apply_judgement(result, rules)


READING_FLAG_CODES = frozenset({"FILE_UNREADABLE"})
"""Flags raised while reading files; every other flag is the judgement's and is recomputed."""


def apply_judgement(result: ScreeningResult, rules: Rules) -> ScreeningResult:
    """Judge (or re-judge) a result from its documents alone: no file is read, no OCR runs."""
    j = judge(result.documents, rules)
    kept = [f for f in result.flags if f.code in READING_FLAG_CODES]
    return result.model_copy(
        update={
            "rules_version": rules.version,
            "applicant": j.applicant,
            "star_sought": j.star_sought,
            "deployment": j.deployment,
            "claimed": j.claimed,
            "purchases": j.purchases,
            "annualised_spend_yuan": j.annualised_spend_yuan,
            "annualised_spend_accepted_yuan": j.annualised_spend_accepted_yuan,
            "subdomains_evidenced": j.subdomains_evidenced,
            "verdict": j.verdict,
            "flags": kept + j.flags,
        }
    )


def screen_application(
    path: Path, settings: Settings, ocr: OcrRunner | None = None
) -> ScreeningResult:
    """Screen one application folder or zip into a ``yunshen.result/v1`` result."""
    return build_result(read_application(path, settings, ocr), settings)
