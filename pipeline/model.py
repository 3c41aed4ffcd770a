"""The domain model: what crosses a module boundary.

Two layers live here:

* the *reading* model — :class:`Page`, :class:`Line`, :class:`Word` — one clear object model in
  the spirit of pdfplumber (page → lines → words, each with a box), whatever produced the text
  (the PDF text layer or OCR);
* the *result* model — :class:`ScreeningResult` and its parts — the ``yunshen.result/v1`` contract
  of ``shared/spec/result-v1.md``. Its JSON Schema is generated from these classes
  (``python -m pipeline.schema``) and checked into ``pipeline/schema/``.

Boxes are always ``[x0, y0, x1, y1]`` as fractions of the page (0–1, origin top-left) so that any
rendering of the page can draw them; pages count from 1.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_ID = "yunshen.result/v1"

BBox = Annotated[list[float], Field(min_length=4, max_length=4)]
"""``[x0, y0, x1, y1]`` as fractions of the page's width and height, origin top-left."""

DocumentKind = Literal[
    "licence",
    "contract",
    "invoice",
    "screenshot",
    "explanation",
    "application_form",
    "private_cloud_doc",
    "other",
]
DOCUMENT_KINDS: tuple[str, ...] = DocumentKind.__args__  # type: ignore[attr-defined]

PageSource = Literal["text-layer", "ocr", "none"]
Severity = Literal["error", "warning", "info"]

CHECKLIST_GROUPS: tuple[str, ...] = (
    "工业APP应用",
    "基础云服务",
    "数据上云",
    "设备接入",
    "边缘计算",
    "设备服务",
    "创新应用",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def clamp_bbox(box: list[float] | tuple[float, ...]) -> list[float]:
    """Normalise a fractional box: order the corners, clip to [0, 1], round to 5 decimals."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    return [round(min(max(v, 0.0), 1.0), 5) for v in (x0, y0, x1, y1)]


# --------------------------------------------------------------------------- reading model


class Word(_Frozen):
    text: str
    bbox: BBox
    confidence: float = Field(ge=0.0, le=1.0)


class Line(_Frozen):
    """One line of text in reading order, with its words where the source gives them."""

    text: str
    bbox: BBox
    confidence: float = Field(ge=0.0, le=1.0)
    words: list[Word] = Field(default_factory=list)


class Page(_Frozen):
    """One page of a document as located text.

    ``width``/``height`` are in ``unit``: PDF points for a PDF page, pixels for an image (after
    orientation correction, so the boxes match the upright page). ``rotation`` is the clockwise
    rotation, in degrees, yunshen applied to make the page upright.
    """

    number: int = Field(ge=1)
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    unit: Literal["pt", "px"]
    source: PageSource
    lines: list[Line] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0, default=1.0)
    rotation: int = 0
    ocr_engine: str | None = None
    note: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


# --------------------------------------------------------------------------- result model


class Evidence(_Frozen):
    """Where a value, subdomain or flag came from: a reviewer clicks through to it."""

    file: str
    page: int | None = Field(default=None, ge=1)
    bbox: BBox | None = None
    text: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class Applicant(BaseModel):
    name: str | None = None
    uscc: str | None = None
    uscc_valid: bool | None = None
    jiangsu: bool | None = None
    legal_rep: str | None = None
    registered_capital_yuan: float | None = None


class Claimed(BaseModel):
    subdomains: list[str] = Field(default_factory=list)
    annualised_spend_yuan: float | None = None


class DocumentFields(BaseModel):
    """The spec's common fields of a document. Kind-specific fields may be added as extra keys."""

    model_config = ConfigDict(extra="allow")

    amount_yuan: float | None = None
    amount_uppercase_yuan: float | None = None
    date: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    period_months: int | None = None
    buyer: str | None = None
    buyer_tax_id: str | None = None
    seller: str | None = None
    seller_tax_id: str | None = None
    invoice_number: str | None = None
    provider: str | None = None
    cloud_keywords_present: bool | None = None


class Seal(BaseModel):
    text: str | None = None
    party: Literal["applicant", "provider", "seller", "buyer", "unknown"] = "unknown"
    page: int = Field(ge=1)
    bbox: BBox
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class SubdomainHit(BaseModel):
    name: str
    group: str
    term: str
    score: float = Field(ge=0.0, le=1.0)
    page: int = Field(ge=1)
    bbox: BBox


class PageSummary(BaseModel):
    """Per-page facts a viewer needs (sizes to draw boxes, how the text was obtained)."""

    number: int = Field(ge=1)
    width: float
    height: float
    unit: Literal["pt", "px"]
    source: PageSource
    confidence: float = Field(ge=0.0, le=1.0)
    rotation: int = 0
    lines: int = 0


class DocumentResult(BaseModel):
    file: str
    sha256: str
    kind: DocumentKind
    pages: int = Field(ge=0)
    ocr_pages: int = Field(ge=0)
    error: str | None = None
    fields: DocumentFields = Field(default_factory=DocumentFields)
    seals: list[Seal] = Field(default_factory=list)
    subdomains: list[SubdomainHit] = Field(default_factory=list)
    # additions beyond the spec's required keys
    media_type: str | None = None
    size_bytes: int | None = None
    error_code: str | None = None
    error_en: str | None = None
    duplicate_of: str | None = None
    kind_score: float | None = Field(default=None, ge=0.0, le=1.0)
    kind_evidence: list[Evidence] = Field(default_factory=list)
    field_evidence: dict[str, Evidence] = Field(default_factory=dict)
    page_info: list[PageSummary] = Field(default_factory=list)


class Purchase(BaseModel):
    provider: str | None = None
    amount_yuan: float | None = None
    months: int | None = None
    annualised_yuan: float | None = None
    accepted: bool = False
    rejected_because: list[str] = Field(default_factory=list)
    contract_file: str | None = None
    invoice_files: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    model_config = ConfigDict(extra="allow")

    meets_star_sought: bool | None = None
    highest_star_supported: int | None = Field(default=None, ge=0, le=5)


class Flag(BaseModel):
    code: str
    severity: Severity
    message: str
    files: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    message_en: str | None = None
    subject: str | None = None
    """What the flag is about when it is not a file: a subdomain, a group, another application's file."""

    @field_validator("code")
    @classmethod
    def _upper(cls, v: str) -> str:
        if not v or v != v.upper():
            raise ValueError("flag codes are upper-case")
        return v


class RunStats(BaseModel):
    """How the result was produced: engine, cache behaviour, timing."""

    yunshen_version: str
    ocr_engine: str
    pages: int = 0
    ocr_pages: int = 0
    ocr_calls: int = 0
    ocr_cache_hits: int = 0
    seconds: float = 0.0


def _empty_groups() -> dict[str, list[str]]:
    return {g: [] for g in CHECKLIST_GROUPS}


class ScreeningResult(BaseModel):
    """``yunshen.result/v1``: one JSON document per application."""

    schema_: Literal["yunshen.result/v1"] = Field(default=SCHEMA_ID, alias="schema")
    application_id: str
    screened_at: str
    rules_version: str | None = None
    applicant: Applicant = Field(default_factory=Applicant)
    star_sought: Literal[3, 4, 5] | None = None
    deployment: Literal["public", "private", "hybrid"] | None = None
    claimed: Claimed = Field(default_factory=Claimed)
    documents: list[DocumentResult] = Field(default_factory=list)
    purchases: list[Purchase] = Field(default_factory=list)
    annualised_spend_yuan: float | None = None
    annualised_spend_accepted_yuan: float | None = None
    subdomains_evidenced: dict[str, list[str]] = Field(default_factory=_empty_groups)
    verdict: Verdict = Field(default_factory=Verdict)
    flags: list[Flag] = Field(default_factory=list)
    stats: RunStats | None = None

    model_config = ConfigDict(populate_by_name=True, json_schema_extra={"$id": SCHEMA_ID})

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
