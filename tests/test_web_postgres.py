"""The reviewer app on PostgreSQL (a real throwaway cluster, tests/pgserver.py) and, for the same
flows, on SQLite: migrations to head match the models, accounts, logins and decisions through
the app, the audit trail refusing UPDATE/DELETE (and TRUNCATE on PostgreSQL) at the database.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text

from pgserver import start_postgres
from pipeline.web import cli_users_add, create_app
from pipeline.web.db import Base, current_revision, downgrade, head_revision, make_engine, upgrade
from test_migrations import assert_started_together_migrate_once, schema_diff
from test_web import PASSWORD, contract_pdf, invoice_png, key_of, login, nanjing_result, wuxi_result

pytestmark = pytest.mark.slow

_names = itertools.count()


@pytest.fixture(scope="module")
def pg():
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'web.db'}"
    return request.getfixturevalue("pg").create_database(f"t{next(_names)}")


@pytest.fixture
def results(tmp_path) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    (out / "APP-WX.json").write_text(wuxi_result(contract_pdf(), invoice_png()).to_json(), encoding="utf-8")
    (out / "APP-NJ.json").write_text(nanjing_result().to_json(), encoding="utf-8")
    return out


def test_migrations_to_head_match_the_models_and_round_trip(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision() and schema_diff(engine) == []
    finally:
        engine.dispose()


def test_review_flow_and_an_append_only_audit_trail(db_url, results):
    cli_users_add(db_url, "wuxi", PASSWORD, "city", "3202")
    cli_users_add(db_url, "prov", PASSWORD, "province")
    with pytest.raises(ValueError, match="exists"):  # the unique constraint holds on this backend too
        cli_users_add(db_url, "wuxi", PASSWORD, "city", "3202")

    def client() -> TestClient:
        return TestClient(create_app(results, None, db_url, rescan_seconds=0))

    city = login(client(), "wuxi")
    assert [a["application_id"] for a in city.get("/api/applications").json()["applications"]] == ["APP-WX"]
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    csrf = city.get("/api/me").json()["csrf_token"]
    r = city.post(f"/api/applications/APP-WX/flags/{key}/decision",
                  json={"action": "dismiss", "comment": "税额四舍五入，差 0.01 元"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert city.post("/api/applications/APP-NJ/flags/x/decision", json={"action": "confirm", "comment": "越权"},
                     headers={"X-CSRF-Token": csrf}).status_code == 404

    province = login(client(), "prov")  # a second app instance over the same database
    csrf = province.get("/api/me").json()["csrf_token"]
    r = province.post(f"/api/applications/APP-WX/flags/{key}/decision",
                      json={"action": "confirm", "comment": "省级复核：需补正"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    flags = {f["key"]: f for f in city.get("/api/applications/APP-WX").json()["flags"]}
    assert flags[key]["decision"]["action"] == "confirm" and flags[key]["decision"]["by"] == "prov"

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, role, action, comment FROM decisions ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [("wuxi", "city", "dismiss", "税额四舍五入，差 0.01 元"),
                                                ("prov", "province", "confirm", "省级复核：需补正")]
        refused = ["UPDATE decisions SET comment = 'x'", "DELETE FROM decisions"]
        if engine.dialect.name == "postgresql":
            refused.append("TRUNCATE decisions")
        for stmt in refused:
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(stmt))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 2
    finally:
        engine.dispose()


def test_a_postgresql_database_made_before_migrations_is_adopted_and_guarded(pg):
    """The old code ran create_all on PostgreSQL too, without any guard: adoption adds it."""
    url = pg.create_database(f"legacy{next(_names)}")
    old = create_engine(url)
    Base.metadata.create_all(old)
    with old.begin() as conn:
        conn.execute(text("INSERT INTO decisions (at, username, role, application_id, flag_key, flag_code, action, "
                          "comment) VALUES (now(), 'wuxi', 'city', 'APP-WX', 'k', 'SEAL_MISSING', 'confirm', '缺章')"))
        conn.execute(text("UPDATE decisions SET comment = 'not yet guarded'"))  # the old database's gap
    old.dispose()
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision() and schema_diff(engine) == []
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE decisions SET comment = 'x'"))
    finally:
        engine.dispose()


def test_servers_starting_together_on_postgresql_migrate_once(pg, tmp_path):
    """Separate processes: the advisory lock must serialise their migrations."""
    assert_started_together_migrate_once(pg.create_database(f"race{next(_names)}"), tmp_path)
