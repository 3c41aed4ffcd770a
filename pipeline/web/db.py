"""The reviewer app's database: users, sessions, and the append-only decision audit trail.

SQLite by default (a file, WAL mode, so reviewers reading never block the one writing);
PostgreSQL through a URL (``postgresql+psycopg://…``) when several app servers share one
database. The schema is owned by Alembic migrations (``pipeline/web/migrations``): every engine
made here upgrades its database to the newest revision first (:func:`upgrade`).

A flag's *current* decision is not stored anywhere on its own: it is the latest row of the
``decisions`` table for that (application, flag key). That table is append-only — database
triggers refuse ``UPDATE`` and ``DELETE`` (see :mod:`pipeline.web.migrations.append_only`) —
so who decided what, when, and why is never lost.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Index,
    String,
    Text,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

Role = Literal["city", "province", "admin"]
ROLES: tuple[str, ...] = ("city", "province", "admin")
Action = Literal["confirm", "dismiss"]
ACTIONS: tuple[str, ...] = ("confirm", "dismiss")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(4), default=None)
    """Division code (credit-code characters 3–6, e.g. ``3202`` 无锡); required for ``city``."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A server-side session: the cookie carries only its signed id, so logout really ends it."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


class Decision(Base):
    """One reviewer decision on one flag. Append-only (see module docstring)."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_app_flag", "application_id", "flag_key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    application_id: Mapped[str] = mapped_column(String(200))
    flag_key: Mapped[str] = mapped_column(String(64))
    flag_code: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str | None] = mapped_column(String(32), default=None)
    screened_at: Mapped[str | None] = mapped_column(String(40), default=None)
    """Which screening the reviewer looked at when deciding."""


class AppSecret(Base):
    """The cookie-signing key, generated once so every process and restart shares it."""

    __tablename__ = "app_secret"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


DEFAULT_URL = "sqlite:///.yunshen/web.db"
MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x79756E7368656E  # "yunshen": the PostgreSQL advisory lock held while migrating
_BUSY_MS = 5000  # SQLite: how long a writer waits for another's lock before "database is locked"
_PROCESS_LOCK = threading.RLock()
"""Alembic's ``context``/``op`` are module globals: one migration run per process at a time."""


class SchemaError(RuntimeError):
    """The database holds tables this app did not make (or an unknown revision): not touched."""


MODEL_MODULES: tuple[str, ...] = ("pipeline.web.db",)
"""Every module that declares tables on :class:`Base` (add yours here): the migrations'
autogenerate and the schema test compare the database against their union."""


def import_models() -> None:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``explicit`` (``--database-url``), else ``YUNSHEN_DATABASE_URL``, else
    the SQLite file ``.yunshen/web.db``."""
    if explicit:
        return explicit
    from pipeline.settings import Settings

    configured = Settings().database_url
    return (configured.get_secret_value().strip() if configured else "") or DEFAULT_URL


def make_engine(db_url: str, *, migrate: bool = True) -> Engine:
    """An engine for ``db_url`` with its database upgraded to the newest revision (``migrate``).

    SQLite: the file's folder is created; every connection gets WAL, foreign keys and a busy
    timeout. PostgreSQL connections are checked before use (``pool_pre_ping``), since a server
    restart must not break the app."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision in the packaged migrations (there is exactly one head)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge them")
    return heads[0]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest), under a lock so two app servers
    starting together do not both migrate. A database made before migrations existed (the four
    tables of revision 0001, no ``alembic_version``) is adopted: checked, stamped, upgraded."""
    if revision == "head" and current_revision(engine) == head_revision():
        return  # the common case: nothing to do, no lock taken
    from alembic import command

    with _PROCESS_LOCK, _locked(engine) as conn:
        cfg = _alembic_config(conn)
        _adopt_legacy(conn, cfg)
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Step the schema back to ``revision`` (``base``: nothing left). For tests and rollbacks."""
    from alembic import command

    with _PROCESS_LOCK, _locked(engine) as conn:
        command.downgrade(_alembic_config(conn), revision)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the database's migration lock: an advisory lock on PostgreSQL,
    ``BEGIN IMMEDIATE`` (the write lock) on SQLite — whose DDL then commits or rolls back whole."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA busy_timeout=120000")  # wait out another server's migration
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"PRAGMA busy_timeout={_BUSY_MS}")


# The schema of revision 0001, i.e. what ``create_all`` made before migrations existed.
_LEGACY_TABLES = {
    "users": {"id", "username", "password_hash", "role", "city", "active", "created_at"},
    "sessions": {"id", "user_id", "csrf", "created_at", "expires_at", "revoked"},
    "decisions": {"id", "at", "username", "role", "application_id", "flag_key", "flag_code", "action",
                  "comment", "rules_version", "screened_at"},
    "app_secret": {"id", "value"},
}


def _adopt_legacy(conn: Connection, cfg: Any) -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from pipeline.web.migrations import append_only

    if MigrationContext.configure(conn).get_current_revision() is not None:
        return
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    if not present & set(_LEGACY_TABLES):
        return  # an empty database: the migrations create everything
    problems = []
    for table, columns in _LEGACY_TABLES.items():
        if table not in present:
            problems.append(f"table {table} missing")
            continue
        found = {c["name"] for c in inspector.get_columns(table)}
        if found != columns:
            problems.append(f"{table} columns differ (missing {sorted(columns - found)}, extra {sorted(found - columns)})")
    if problems:
        raise SchemaError("the database has reviewer-app tables but not the schema this version knows, and no "
                          "alembic_version: not touching it — " + "; ".join(problems))
    append_only.install(conn)  # a PostgreSQL database made by create_all never had the triggers
    command.stamp(cfg, "0001")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def app_secret(db: Session) -> str:
    row = db.scalar(select(AppSecret).limit(1))
    if row is None:
        row = AppSecret(value=secrets.token_urlsafe(48))
        db.add(row)
        db.commit()
    return row.value


def latest_decisions(db: Session, application_ids: list[str] | None = None) -> dict[tuple[str, str], Decision]:
    """The current decision per (application_id, flag_key): the latest audit row of each."""
    latest = select(func.max(Decision.id)).group_by(Decision.application_id, Decision.flag_key)
    if application_ids is not None:
        latest = latest.where(Decision.application_id.in_(application_ids))
    rows = db.scalars(select(Decision).where(Decision.id.in_(latest)))
    return {(d.application_id, d.flag_key): d for d in rows}


def history(db: Session, application_id: str) -> list[Decision]:
    """Every decision on one application, oldest first."""
    return list(db.scalars(select(Decision).where(Decision.application_id == application_id).order_by(Decision.id)))
