"""The database-side guard that makes ``decisions`` append-only: triggers that refuse ``UPDATE``
and ``DELETE`` (and, on PostgreSQL, ``TRUNCATE``) with the message ``decisions are append-only``.

Part of revision 0001, and re-applied (idempotently) when a database made before migrations
existed is adopted. Frozen: a change to the guard is a new revision, not an edit here.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

MESSAGE = "decisions are append-only"

_SQLITE = [
    f"CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
_SQLITE_DROP = ["DROP TRIGGER IF EXISTS decisions_no_update", "DROP TRIGGER IF EXISTS decisions_no_delete"]

# Row triggers catch UPDATE/DELETE; TRUNCATE skips row triggers, so it gets a statement trigger.
_POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END
$$""",
    "DROP TRIGGER IF EXISTS decisions_no_update_delete ON decisions",
    "CREATE TRIGGER decisions_no_update_delete BEFORE UPDATE OR DELETE ON decisions "
    "FOR EACH ROW EXECUTE FUNCTION decisions_append_only()",
    "DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions",
    "CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions "
    "FOR EACH STATEMENT EXECUTE FUNCTION decisions_append_only()",
]
_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS decisions_no_update_delete ON decisions",
    "DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions",
    "DROP FUNCTION IF EXISTS decisions_append_only()",
]


def _statements(conn: Connection, create: bool) -> list[str]:
    name = conn.dialect.name
    if name == "sqlite":
        return _SQLITE if create else _SQLITE_DROP
    if name == "postgresql":
        return _POSTGRES if create else _POSTGRES_DROP
    raise NotImplementedError(f"no append-only guard for {name}: use SQLite or PostgreSQL")


def install(conn: Connection) -> None:
    for stmt in _statements(conn, True):
        conn.exec_driver_sql(stmt)


def remove(conn: Connection) -> None:
    for stmt in _statements(conn, False):
        conn.exec_driver_sql(stmt)


def installed(conn: Connection) -> bool:
    """Whether the guard's triggers are present (both UPDATE and DELETE covered)."""
    if conn.dialect.name == "sqlite":
        names = set(conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='decisions'")).scalars())
        return {"decisions_no_update", "decisions_no_delete"} <= names
    if conn.dialect.name == "postgresql":
        names = set(conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'decisions'::regclass AND NOT tgisinternal")).scalars())
        return {"decisions_no_update_delete", "decisions_no_truncate"} <= names
    return False
