"""Authorization matrix of the reviewer app: every route × every role × own / other city.

The routes are read from ``app.routes``, and the test fails when one is missing from ``POLICY`` —
a new endpoint has to be given a policy here before it can pass. Every response a city reviewer
gets is searched for the other city's company name, credit code and application id (HTML, JSON,
PDF text): zero leaks. Decisions are posted with the poster's valid CSRF token, so a refusal is
the authorization check and not a CSRF failure; afterwards the audit table must hold exactly the
decisions the policy allows.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from builders import image_bytes, render_lines
from pipeline.model import Applicant, DocumentFields, DocumentResult, Evidence, Flag, PageSummary, ScreeningResult, Verdict
from pipeline.web.results import flag_keys
from test_web import NANJING_USCC, PASSWORD, WUXI_USCC, build_world, csrf_of

ROLES = ("anonymous", "city_a", "city_b", "province", "admin")
ACCOUNT = {"city_a": "wuxi", "city_b": "nanjing", "province": "prov", "admin": "admin"}
APP = {"A": "APP-WX", "B": "APP-NJ"}
SECRETS = {  # what must never reach the other city
    "A": ("无锡某某科技有限公司", WUXI_USCC, "APP-WX"),
    "B": ("南京某某软件有限公司", NANJING_USCC, "APP-NJ"),
}
OWN = {"city_a": "A", "city_b": "B"}
LOGIN = "login"
"""A 303 redirect to ``/login?next=…`` (pages, for an anonymous visitor)."""

# Per route: role → expected status; for routes about one application, role → (city A app, city B app).
SEE = {"anonymous": (LOGIN, LOGIN), "city_a": (200, 404), "city_b": (404, 200), "province": (200, 200),
       "admin": (200, 200)}
SEE_API = {**SEE, "anonymous": (401, 401)}
DECIDE_FORM = {"anonymous": (LOGIN, LOGIN), "city_a": (303, 404), "city_b": (404, 303), "province": (303, 303),
               "admin": (403, 403)}
DECIDE_API = {"anonymous": (401, 401), "city_a": (201, 404), "city_b": (404, 201), "province": (201, 201),
              "admin": (403, 403)}
LOGGED_IN = {"anonymous": LOGIN, "city_a": 200, "city_b": 200, "province": 200, "admin": 200}
LOGGED_IN_API = {**LOGGED_IN, "anonymous": 401}

POLICY: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/login"): {"anonymous": 200, "city_a": 303, "city_b": 303, "province": 303, "admin": 303},
    ("POST", "/login"): {r: 403 for r in ROLES},  # no pre-login CSRF token in the probe
    ("POST", "/logout"): {"anonymous": LOGIN, "city_a": 303, "city_b": 303, "province": 303, "admin": 303},
    ("GET", "/"): LOGGED_IN,
    ("GET", "/applications/{application_id}"): SEE,
    ("GET", "/applications/{application_id}/export"): SEE,
    ("GET", "/applications/{application_id}/export.pdf"): SEE,
    ("GET", "/applications/{application_id}/documents/{doc}/pages/{page}/{size}.jpg"): SEE,
    ("POST", "/applications/{application_id}/flags/{key}/decision"): DECIDE_FORM,
    ("GET", "/api/me"): LOGGED_IN_API,
    ("GET", "/api/applications"): LOGGED_IN_API,
    ("GET", "/api/applications/{application_id}"): SEE_API,
    ("POST", "/api/applications/{application_id}/flags/{key}/decision"): DECIDE_API,
    ("GET", "/static"): {r: 200 for r in ROLES},  # public stylesheet and script
}
SLOW_ROUTES = {("GET", "/applications/{application_id}/export.pdf")}  # one Chromium launch per PDF


# ------------------------------------------------------------------------------- world


def nanjing_with_document(invoice: bytes) -> ScreeningResult:
    doc = DocumentResult(
        file="发票/南京发票.png", sha256=hashlib.sha256(invoice).hexdigest(), kind="invoice", pages=1, ocr_pages=1,
        fields=DocumentFields(amount_yuan=50000.0, buyer="南京某某软件有限公司"),
        page_info=[PageSummary(number=1, width=900.0, height=1200.0, unit="px", source="ocr", confidence=0.9,
                               rotation=0, lines=2)],
    )
    return ScreeningResult(
        application_id="APP-NJ", screened_at="2026-11-25T10:00:00+08:00",
        applicant=Applicant(name="南京某某软件有限公司", uscc=NANJING_USCC, uscc_valid=True, jiangsu=True),
        star_sought=3, verdict=Verdict(meets_star_sought=True, highest_star_supported=3),
        documents=[doc], annualised_spend_accepted_yuan=50000.0,
        flags=[Flag(code="LICENCE_MISSING", severity="error", message="没有营业执照"),
               Flag(code="INVOICE_TOTAL_INCONSISTENT", severity="warning", message="发票合计不一致",
                    files=["发票/南京发票.png"], evidence=[Evidence(file="发票/南京发票.png", page=1,
                                                                 bbox=[0.1, 0.1, 0.5, 0.2])])],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The test_web world (无锡 3202 + 南京 3201, four accounts) with originals for both cities."""
    world = build_world(tmp_path_factory.mktemp("authz"))
    invoice = image_bytes(render_lines(["电子发票", "购买方：南京某某软件有限公司"], size=(900, 1200)))
    (world.samples / "APP-NJ" / "发票").mkdir(parents=True)
    (world.samples / "APP-NJ" / "发票" / "南京发票.png").write_bytes(invoice)
    (world.results / "APP-NJ.json").write_text(nanjing_with_document(invoice).to_json(), encoding="utf-8")
    return world


@pytest.fixture(scope="module")
def app(world):
    from pipeline.web import create_app

    return create_app(world.results, world.samples, world.db_url, rescan_seconds=0)


@pytest.fixture(scope="module")
def clients(app):
    """One logged-in client per role (and an anonymous one), sharing one app."""
    from fastapi.testclient import TestClient

    out = {"anonymous": TestClient(app)}
    for role, name in ACCOUNT.items():
        c = TestClient(app)
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        out[role] = c
    return out


def _csrf(client) -> str | None:
    r = client.get("/api/me")
    return r.json()["csrf_token"] if r.status_code == 200 else None


def _flag_key(world, app_id: str) -> str:
    result = ScreeningResult.model_validate_json((world.results / f"{app_id}.json").read_bytes())
    return flag_keys(result.flags)[-1]


def _url(path: str, world, target: str | None) -> str:
    values = {"doc": "0", "page": "1", "size": "thumb"}
    if target:
        values["application_id"] = APP[target]
        values["key"] = _flag_key(world, APP[target])
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    return url + "/app.css" if path == "/static" else url


def _request(client, method: str, path: str, url: str, role: str, app) -> Any:
    if path == "/logout":  # logging out would end the shared session: use a session of its own
        from fastapi.testclient import TestClient

        client = TestClient(app)
        if role != "anonymous":
            token = csrf_of(client.get("/login").text)
            client.post("/login", data={"username": ACCOUNT[role], "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
        return client.post(url, data={"csrf_token": _csrf(client) or ""}, follow_redirects=False)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if path == "/login":
        return client.post(url, data={"username": "prov", "password": PASSWORD}, follow_redirects=False)
    if path.startswith("/api/"):
        return client.post(url, json={"action": "dismiss", "comment": f"矩阵测试 {role}"},
                           headers={"X-CSRF-Token": _csrf(client) or ""}, follow_redirects=False)
    return client.post(url, data={"action": "dismiss", "comment": f"矩阵测试 {role}", "csrf_token": _csrf(client) or ""},
                       follow_redirects=False)


def _text_of(response) -> str:
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("image/"):
        return ""
    if ctype.startswith("application/pdf"):
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(io.BytesIO(response.content))
        try:
            return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        finally:
            pdf.close()
    return response.text + " " + response.headers.get("location", "")


def _check(response, expected: Any, what: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), \
            f"{what}: {response.status_code} {response.headers.get('location')}"
    else:
        assert response.status_code == expected, f"{what}: expected {expected}, got {response.status_code} {response.text[:200]}"


def _leaks(role: str, text: str) -> list[str]:
    own = OWN.get(role)
    if own is None:
        return []
    other = "B" if own == "A" else "A"
    return [s for s in SECRETS[other] if s in text]


# ------------------------------------------------------------------------------- the matrix


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            found |= {(m, route.path) for m in route.methods if m != "HEAD"}
        elif isinstance(route, Mount):
            found.add(("GET", route.path))
        else:
            found |= {(m, getattr(route, "path", repr(route))) for m in (getattr(route, "methods", None) or {"?"})}
    return found


def test_every_route_has_a_declared_policy(app):
    routes = _routes(app)
    assert routes - POLICY.keys() == set(), "routes without an authorization policy in POLICY"
    assert POLICY.keys() - routes == set(), "POLICY names routes the app no longer has"
    for key, table in POLICY.items():
        assert set(table) == set(ROLES), key


@pytest.mark.parametrize(
    "route", [pytest.param(k, id=f"{k[0]} {k[1]}", marks=[pytest.mark.slow] if k in SLOW_ROUTES else [])
              for k in POLICY])
def test_route_authorization(route, app, world, clients):
    method, path = route
    table = POLICY[route]
    per_app = "{application_id}" in path
    for role in ROLES:
        for i, target in enumerate(("A", "B") if per_app else (None,)):
            expected = table[role][i] if per_app else table[role]
            url = _url(path, world, target)
            r = _request(clients[role], method, path, url, role, app)
            what = f"{role} {method} {url}"
            _check(r, expected, what)
            assert not _leaks(role, _text_of(r)), f"{what} leaks {_leaks(role, _text_of(r))}"
            if r.status_code == 200 and target and OWN.get(role) == target and path.endswith("}"):
                assert APP[target] in _text_of(r)


def test_lists_show_only_the_own_city_and_nothing_of_the_other(clients):
    for role, own in OWN.items():
        other = "B" if own == "A" else "A"
        html = clients[role].get("/").text
        api = clients[role].get("/api/applications").text
        for text in (html, api):
            assert all(s in text for s in SECRETS[own]), f"{role}: own application missing"
            assert not any(s in text for s in SECRETS[other]), f"{role}: other city leaks"
        # …also when asking for the other city explicitly, or searching for its name/code
        for query in (f"city={'3201' if own == 'A' else '3202'}", f"q={SECRETS[other][0]}", f"q={SECRETS[other][1]}",
                      "flag=LICENCE_MISSING" if own == "A" else "flag=SEAL_MISSING"):
            for url in (f"/?{query}", f"/api/applications?{query}"):
                text = clients[role].get(url).text
                echoed = query.split("=", 1)[1] if query.startswith("q=") else None
                if echoed:  # the search box shows back what the reviewer typed: not a leak
                    text = text.replace(f'value="{echoed}"', "")
                assert not any(s in text for s in SECRETS[other]), f"{role} {url} leaks"
    for role in ("province", "admin"):
        text = clients[role].get("/").text
        assert all(s in text for s in SECRETS["A"] + SECRETS["B"])


def test_decisions_recorded_are_exactly_the_allowed_ones(world, app, clients):
    """Runs the two decision routes for every role and city, then reads the audit table."""
    for path in ("/applications/{application_id}/flags/{key}/decision",
                 "/api/applications/{application_id}/flags/{key}/decision"):
        for role in ROLES:
            for target in ("A", "B"):
                _request(clients[role], "POST", path, _url(path, world, target), role, app)
    from sqlalchemy import create_engine, text

    engine = create_engine(world.db_url)
    with engine.connect() as conn:
        rows = {tuple(r) for r in conn.execute(text("SELECT username, application_id FROM decisions"))}
    engine.dispose()
    assert rows == {("wuxi", "APP-WX"), ("nanjing", "APP-NJ"), ("prov", "APP-WX"), ("prov", "APP-NJ")}


def test_other_citys_flag_keys_do_not_open_a_door(world, clients):
    """A city-B reviewer who guesses a city-A flag key still cannot decide on it, by form or API."""
    key = _flag_key(world, "APP-WX")
    c = clients["city_b"]
    csrf = _csrf(c)
    assert c.post(f"/applications/APP-WX/flags/{key}/decision",
                  data={"action": "confirm", "comment": "x", "csrf_token": csrf}, follow_redirects=False).status_code == 404
    assert c.post(f"/api/applications/APP-WX/flags/{key}/decision", json={"action": "confirm", "comment": "x"},
                  headers={"X-CSRF-Token": csrf}).status_code == 404
    a = clients["city_a"].get("/api/applications/APP-WX").json()
    assert all("nanjing" not in str(f["decision"]) for f in a["flags"])
