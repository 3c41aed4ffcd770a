"""The reviewer app's database: users, sessions, and the append-only decision audit trail.

SQLite (SQLAlchemy 2) in WAL mode, so reviewers reading never block the one writing. A flag's
*current* decision is not stored anywhere on its own: it is the latest row of the ``decisions``
table for that (application, flag key). That table is append-only — SQLite triggers refuse
``UPDATE`` and ``DELETE`` — so who decided what, when, and why is never lost.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    DDL,
    Engine,
    ForeignKey,
    Index,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
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


_APPEND_ONLY = [
    DDL(
        "CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions "
        "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
    ),
    DDL(
        "CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions "
        "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
    ),
]


def make_engine(db_url: str) -> Engine:
    """An engine with WAL, foreign keys and a busy timeout on every SQLite connection; tables created."""
    engine = create_engine(db_url, connect_args={"check_same_thread": False} if db_url.startswith("sqlite") else {})
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    Base.metadata.create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            for ddl in _APPEND_ONLY:
                conn.execute(ddl)
    return engine


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
