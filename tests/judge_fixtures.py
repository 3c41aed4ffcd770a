"""Build result documents from a sample's truth.json, to test the judgement apart from extraction."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.model import DocumentFields, DocumentResult, Seal, SubdomainHit

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "samples" / "truth"
GROUP_OF: dict[str, str] = {}


def truth(app: str) -> dict:
    return json.loads((TRUTH / app / "truth.json").read_text(encoding="utf-8"))


def documents_from_truth(app: str) -> list[DocumentResult]:
    from classifiers.taxonomy import load_taxonomy

    tax = load_taxonomy()
    docs = []
    for d in truth(app)["documents"]:
        unreadable = bool(d.get("unreadable"))
        docs.append(
            DocumentResult(
                file=d["file"],
                sha256=d.get("sha256", ""),
                kind=d["kind"],
                pages=d["pages"],
                ocr_pages=0,
                error="unreadable" if unreadable else None,
                fields=DocumentFields(**(d.get("fields") or {})),
                seals=[Seal(text=s["text"], party=s["party"], page=s["page"], bbox=s["bbox"]) for s in d.get("seals", [])],
                subdomains=[
                    SubdomainHit(name=n, group=tax.lookup(n).group, term=n, score=1.0, page=1, bbox=[0, 0, 1, 1])
                    for n in d.get("subdomains", [])
                ],
                duplicate_of=d["duplicate_of"] if d.get("duplicate_of") and ":" not in d["duplicate_of"] else None,
            )
        )
    return docs


def flag_keys(flags, *, cross_application: bool = False) -> set[tuple]:
    """(code, files, subject) of flags; cross-application and engine-dependent ones left out."""
    out = set()
    for f in flags:
        code = f["code"] if isinstance(f, dict) else f.code
        files = tuple(sorted(f["files"] if isinstance(f, dict) else f.files))
        subject = f.get("subject") if isinstance(f, dict) else f.subject
        engine = f.get("engine_dependent") if isinstance(f, dict) else False
        if engine or code in ("FILE_UNREADABLE", "LOW_OCR_CONFIDENCE"):
            continue
        if not cross_application and subject and ":" in subject:
            continue
        out.add((code, files, subject if code.startswith("SUBDOMAIN") else None))
    return out
