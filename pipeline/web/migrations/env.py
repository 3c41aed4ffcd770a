"""Alembic environment: runs on the connection the app hands over (``config.attributes``), or,
for the ``alembic`` command line, on ``-x url=…`` / ``YUNSHEN_DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from pipeline.web.db import Base, import_models

import_models()
config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("YUNSHEN_DATABASE_URL")
    if not url:
        raise SystemExit("give the database: alembic ... -x url=<SQLAlchemy URL> (or YUNSHEN_DATABASE_URL)")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()
