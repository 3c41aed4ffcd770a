"""The reviewer database's Alembic migrations on SQLite: the newest revision is exactly the
models' schema (autogenerate finds nothing to do), downgrade/upgrade round-trips, a database made
by the pre-migration code (``create_all``) is adopted, a foreign one is refused, concurrent
starts do not race, and the database URL comes from ``--database-url`` / ``YUNSHEN_DATABASE_URL``.
PostgreSQL: tests/test_web_postgres.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from pipeline.web import db as webdb
from pipeline.web.db import Base, SchemaError, current_revision, downgrade, head_revision, make_engine, upgrade

# What the pre-migration code (make_engine = Base.metadata.create_all + two triggers) left in a
# SQLite file, verbatim from its sqlite_master.
LEGACY_SQLITE = [
    """CREATE TABLE users (id INTEGER NOT NULL, username VARCHAR(64) NOT NULL, password_hash VARCHAR(255) NOT NULL,
       role VARCHAR(16) NOT NULL, city VARCHAR(4), active BOOLEAN NOT NULL, created_at DATETIME NOT NULL,
       PRIMARY KEY (id), UNIQUE (username))""",
    """CREATE TABLE decisions (id INTEGER NOT NULL, at DATETIME NOT NULL, username VARCHAR(64) NOT NULL,
       role VARCHAR(16) NOT NULL, application_id VARCHAR(200) NOT NULL, flag_key VARCHAR(64) NOT NULL,
       flag_code VARCHAR(64) NOT NULL, action VARCHAR(16) NOT NULL, comment TEXT NOT NULL,
       rules_version VARCHAR(32), screened_at VARCHAR(40), PRIMARY KEY (id))""",
    "CREATE INDEX ix_decisions_app_flag ON decisions (application_id, flag_key, id)",
    "CREATE TABLE app_secret (id INTEGER NOT NULL, value VARCHAR(128) NOT NULL, PRIMARY KEY (id))",
    """CREATE TABLE sessions (id VARCHAR(64) NOT NULL, user_id INTEGER NOT NULL, csrf VARCHAR(64) NOT NULL,
       created_at DATETIME NOT NULL, expires_at DATETIME NOT NULL, revoked BOOLEAN NOT NULL, PRIMARY KEY (id),
       FOREIGN KEY(user_id) REFERENCES users (id))""",
]
LEGACY_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END",
]
INSERT_DECISION = ("INSERT INTO decisions (at, username, role, application_id, flag_key, flag_code, action, comment) "
                   "VALUES ('2026-11-25 10:00:00', 'wuxi', 'city', 'APP-WX', 'k1', 'SEAL_MISSING', 'confirm', '缺章')")


def schema_diff(engine: Engine) -> list:
    """What autogenerate would change to make the database match the models ([] = nothing)."""
    webdb.import_models()
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'")).scalars())


def assert_append_only(engine: Engine) -> None:
    for stmt in ("UPDATE decisions SET comment = 'x'", "DELETE FROM decisions"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(stmt))


def test_upgrade_head_on_an_empty_database_is_the_models_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'web.db'}"  # the folder does not exist yet
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
        assert tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
        assert {"decisions_no_update", "decisions_no_delete"} <= triggers(engine)
        with engine.begin() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            conn.execute(text(INSERT_DECISION))
        assert_append_only(engine)
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again_round_trips(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    try:
        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert tables(engine) == {"alembic_version"} and triggers(engine) == set()
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
        assert {"decisions_no_update", "decisions_no_delete"} <= triggers(engine)
    finally:
        engine.dispose()


def test_migrations_have_one_head_and_their_files_ship_in_the_package():
    from alembic.script import ScriptDirectory

    from pipeline.web.db import MIGRATIONS, _alembic_config

    script = ScriptDirectory.from_config(_alembic_config())
    assert script.get_heads() == [head_revision()]
    revisions = list(script.walk_revisions())
    assert revisions[-1].revision == "0001" and revisions[-1].down_revision is None
    assert (MIGRATIONS / "env.py").is_file() and (MIGRATIONS / "script.py.mako").is_file()
    for rev in revisions:  # every revision file sits in an importable package folder (installed by setuptools)
        assert (Path(rev.path).parent / "__init__.py").is_file()


@pytest.mark.parametrize("with_triggers", [True, False])
def test_a_database_made_before_migrations_is_adopted(tmp_path, with_triggers):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as conn:
        for stmt in LEGACY_SQLITE + (LEGACY_TRIGGERS if with_triggers else []):
            conn.execute(text(stmt))
        conn.execute(text("INSERT INTO users (username, password_hash, role, city, active, created_at) "
                          "VALUES ('wuxi', '$argon2id$x', 'city', '3202', 1, '2026-11-01 09:00:00')"))
        conn.execute(text(INSERT_DECISION))
    old.dispose()

    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
        with engine.connect() as conn:  # nothing lost
            assert conn.execute(text("SELECT username, city FROM users")).all() == [("wuxi", "3202")]
            assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 1
        assert_append_only(engine)  # the guard is there even if the old file lacked it
    finally:
        engine.dispose()


def test_a_foreign_database_is_refused_and_left_untouched(tmp_path):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    other = create_engine(url)
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"))
    other.dispose()
    with pytest.raises(SchemaError, match="users columns differ"):
        make_engine(url)
    other = create_engine(url)
    try:
        assert tables(other) == {"users"}
    finally:
        other.dispose()


def start_together(url: str, workdir: Path, n: int = 3) -> None:
    """``n`` processes (as separate app servers are) open ``url`` at the same moment; all must succeed."""
    go = workdir / f"go-{time.monotonic_ns()}"
    code = ("import sys, time, pathlib\n"
            "from pipeline.web.db import make_engine\n"
            "while not pathlib.Path(sys.argv[2]).exists(): time.sleep(0.005)\n"
            "make_engine(sys.argv[1]).dispose()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(go)], stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    time.sleep(0.5)  # let them import, then release all at once
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err


def assert_started_together_migrate_once(url: str, workdir: Path) -> None:
    """Three processes open a new database at once: one revision recorded, schema = models."""
    start_together(url, workdir)
    engine = make_engine(url, migrate=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert current_revision(engine) == head_revision() and schema_diff(engine) == []
    finally:
        engine.dispose()


def test_servers_starting_together_on_a_new_database_migrate_it_once(tmp_path):
    """Separate processes: the database's own lock (BEGIN IMMEDIATE) must serialise them."""
    assert_started_together_migrate_once(f"sqlite:///{tmp_path / 'web.db'}", tmp_path)


def test_database_url_from_the_option_else_the_environment_else_the_default(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import app

    monkeypatch.delenv("YUNSHEN_DATABASE_URL", raising=False)
    assert webdb.database_url() == "sqlite:///.yunshen/web.db"
    env_db, opt_db = tmp_path / "env" / "web.db", tmp_path / "opt" / "web.db"
    runner = CliRunner()
    env = {"YUNSHEN_DATABASE_URL": f"sqlite:///{env_db}"}
    r = runner.invoke(app, ["users", "add", "prov", "--role", "province", "--password", "correct horse battery"],
                      env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "prov2", "--role", "province", "--password", "correct horse battery",
                            "--database-url", f"sqlite:///{opt_db}"], env=env)
    assert r.exit_code == 0, r.output
    for path, users in ((env_db, ["prov"]), (opt_db, ["prov2"])):
        engine = make_engine(f"sqlite:///{path}", migrate=False)
        try:
            assert current_revision(engine) == head_revision()
            with engine.connect() as conn:
                assert list(conn.execute(text("SELECT username FROM users")).scalars()) == users
        finally:
            engine.dispose()
    # The URL may hold a password: it never travels with the pipeline settings.
    from pipeline.settings import Settings

    monkeypatch.setenv("YUNSHEN_DATABASE_URL", "postgresql+psycopg://u:s3cret@db/yunshen")
    s = Settings()
    assert s.database_url.get_secret_value().endswith("@db/yunshen") and "s3cret" not in s.to_json()
    assert webdb.database_url() == "postgresql+psycopg://u:s3cret@db/yunshen"
