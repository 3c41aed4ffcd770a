"""The reviewer evidence side-panel (FastAPI): queue, document viewer with evidence boxes, flag decisions.

``create_app`` builds the app; ``cli_users_add`` is the account command behind ``yunshen users add``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app", "cli_users_add"]


def create_app(results_dir: Path, samples_root: Path | None, db_url: str, **kwargs: object) -> FastAPI:
    """See :func:`pipeline.web.app.create_app` (imported lazily: the pipeline does not need FastAPI)."""
    from pipeline.web.app import create_app as _create

    return _create(Path(results_dir), Path(samples_root) if samples_root else None, db_url, **kwargs)  # type: ignore[arg-type]


def cli_users_add(db_url: str, username: str, password: str, role: str, city: str | None = None) -> int:
    """Create a reviewer account; returns its id. Raises ``ValueError`` with a readable message
    (bad role, a city reviewer without a Jiangsu division code such as ``3202``, name taken, short password)."""
    from pipeline.web.auth import add_user
    from pipeline.web.db import make_engine, session_factory

    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as db:
            return add_user(db, username, password, role, city or None).id
    finally:
        engine.dispose()
