"""Run-time settings, read from ``YUNSHEN_*`` environment variables (or passed explicitly).

Everything that changes what the pipeline outputs for the same bytes takes part in the OCR cache
key (see :meth:`Settings.ocr_fingerprint`), so a cached reading is never reused under different
settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

OcrEngineName = Literal["rapidocr", "paddleocr", "tesseract"]


SECRET_FIELDS = ("s3_secret_key", "database_url")
"""Settings never serialised by :meth:`Settings.to_json`."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YUNSHEN_", frozen=True, extra="ignore")

    # --- OCR ------------------------------------------------------------------------------
    ocr_engine: OcrEngineName = "rapidocr"
    """Which engine reads pages without a text layer. ``rapidocr`` ships its models in its wheel."""
    ocr_threads: int = Field(default=2, ge=1, le=64)
    """Intra-op threads per OCR engine (one engine per process)."""
    ocr_max_side: int = Field(default=2200, ge=640)
    """Images are downscaled so their longer side is at most this many pixels before OCR."""
    ocr_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    """Lines recognised below this confidence are dropped."""
    paddle_model_dir: Path | None = None
    """Folder holding PaddleOCR model folders (``det``/``rec``/``cls``, each with
    ``inference.onnx`` + ``inference.yml``, or Paddle-format files). Default: built from the
    ``rapidocr-onnxruntime`` wheel into ``<cache_dir>/models/paddle``."""
    paddle_inference: Literal["onnxruntime", "paddle"] = "onnxruntime"
    """PaddleOCR's inference engine: ``onnxruntime`` (no paddlepaddle needed) or ``paddle``."""
    tesseract_cmd: str = "tesseract"

    # --- pages ----------------------------------------------------------------------------
    render_dpi: int = Field(default=200, ge=72, le=600)
    """Resolution at which PDF pages without a usable text layer are rendered for OCR."""
    max_image_pixels: int = Field(default=120_000_000, ge=1_000_000)
    """Images larger than this are refused as decompression bombs."""
    max_pdf_pages: int = Field(default=500, ge=1)
    """A PDF with more pages is read up to this many pages and flagged."""
    max_file_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)

    # --- worker processes -------------------------------------------------------------------
    worker_max_applications: int = Field(default=50, ge=0)
    """Each OCR worker process is replaced after screening this many applications (0: never), so
    memory an engine accumulates in a long-running service is given back (see docs/reliability.md)."""
    worker_crash_retries: int = Field(default=2, ge=0)
    """An application whose worker process dies while screening it is tried again this many times,
    then reported as failed on its own (the rest of the batch is unaffected)."""

    # --- judgement ------------------------------------------------------------------------
    rules_file: Path | None = None
    """The rules file (star criteria, thresholds, readings); default ``pipeline/data/rules.yaml``."""

    # --- storage --------------------------------------------------------------------------
    store: Literal["local", "s3"] = "local"
    """Where originals, the OCR cache and results live: the local filesystem or S3/MinIO."""
    cache_dir: Path = Path(".yunshen/store")
    """Root of the local store (``store=local``): ``originals/``, ``cache/ocr/``, ``results/``."""
    s3_endpoint: str | None = None
    """``host:port`` of the S3-compatible server (``store=s3``)."""
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "yunshen"
    s3_secure: bool = True
    """Use TLS to reach the S3 server."""
    s3_region: str | None = None
    s3_prefix: str = ""

    # --- reviewer web app -----------------------------------------------------------------
    database_url: SecretStr | None = None
    """SQLAlchemy URL of the reviewer app's database (``YUNSHEN_DATABASE_URL``); default the SQLite
    file ``.yunshen/web.db``. Several app servers share one PostgreSQL database:
    ``postgresql+psycopg://user:password@host/dbname``. Secret: a URL may carry a password."""

    def to_json(self) -> str:
        """Settings to hand to another process or a flow run: secrets left out (they are stored
        with flow-run parameters) — :meth:`from_json` takes them from the environment again."""
        return self.model_dump_json(exclude=set(SECRET_FIELDS))

    def secrets(self) -> dict[str, str]:
        """The secret settings in plain text, for a child process's start-up arguments (never for
        flow parameters or logs). A worker process must not rely on the environment for them: a
        forkserver keeps the environment of the moment it started."""
        out = {}
        for name in SECRET_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.get_secret_value()
        return out

    @classmethod
    def from_json(cls, payload: str, secrets: dict[str, str] | None = None) -> Settings:
        """Settings from :meth:`to_json`; secrets from ``secrets`` (:meth:`secrets`) or else the
        environment."""
        return cls(**{**json.loads(payload), **(secrets or {})})

    def ocr_fingerprint(self) -> str:
        """A short digest of every setting that changes what OCR returns for the same bytes."""
        relevant = {
            "ocr_max_side": self.ocr_max_side,
            "ocr_min_confidence": self.ocr_min_confidence,
            "render_dpi": self.render_dpi,
            "paddle_inference": self.paddle_inference if self.ocr_engine == "paddleocr" else None,
        }
        blob = json.dumps(relevant, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
