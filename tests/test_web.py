"""The reviewer web app (pipeline.web) through FastAPI's TestClient: login, sessions, CSRF,
city-level authorization, decisions and their audit trail, page images, queue filters.

Results are small hand-made ScreeningResult objects; the originals are generated here (a two-page
text PDF and a PNG), so nothing depends on /tmp or on the OCR model.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builders import image_bytes, render_lines, text_pdf
from pipeline.model import (
    Applicant,
    Claimed,
    DocumentFields,
    DocumentResult,
    Evidence,
    Flag,
    PageSummary,
    Purchase,
    ScreeningResult,
    Seal,
    SubdomainHit,
    Verdict,
)

from fastapi.testclient import TestClient

from pipeline.web import cli_users_add, create_app
from pipeline.web.results import flag_base_key, flag_keys

PASSWORD = "correct horse battery"
WUXI_USCC = "91320214MAHHBM9D7Y"  # division 3202 无锡
NANJING_USCC = "91320115MAKB4FL77U"  # division 3201 南京
MARKER = (0.55, 0.62, 0.80, 0.72)
"""Where the invoice image carries a solid dark block — and where its flag's evidence box is."""


# ------------------------------------------------------------------------------- the world


def invoice_png() -> bytes:
    rgb = render_lines(["电子发票（普通发票）", "购买方：无锡某某科技有限公司", "价税合计 ¥12,000.00"],
                       size=(1200, 900))
    rgb = rgb.copy()
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = MARKER
    rgb[int(y0 * h):int(y1 * h), int(x0 * w):int(x1 * w)] = (10, 10, 10)
    return image_bytes(rgb)


def contract_pdf() -> bytes:
    return text_pdf([["云服务合同", "甲方：无锡某某科技有限公司", "乙方：阿里云计算有限公司"],
                     ["第二页", "合同金额：人民币 36,000.00 元", "签订日期：2024-01-01"]])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _page(n: int, w: float, h: float, unit: str = "pt", rotation: int = 0) -> PageSummary:
    return PageSummary(number=n, width=w, height=h, unit=unit, source="text-layer", confidence=1.0,
                       rotation=rotation, lines=3)


def wuxi_result(contract: bytes, invoice: bytes) -> ScreeningResult:
    contract_doc = DocumentResult(
        file="合同/云服务合同.pdf", sha256=_sha(contract), kind="contract", pages=2, ocr_pages=0,
        fields=DocumentFields(amount_yuan=36000.0, date="2024-01-01", provider="阿里云计算有限公司"),
        field_evidence={"amount_yuan": Evidence(file="合同/云服务合同.pdf", page=2, bbox=[0.1, 0.12, 0.45, 0.15],
                                                text="36,000.00", confidence=1.0)},
        seals=[Seal(text="无锡某某科技有限公司合同专用章", party="applicant", page=2, bbox=[0.6, 0.7, 0.85, 0.86])],
        subdomains=[SubdomainHit(name="计算资源", group="基础云服务", term="云服务器ECS", score=0.95, page=1,
                                 bbox=[0.1, 0.3, 0.4, 0.33])],
        page_info=[_page(1, 595.0, 842.0), _page(2, 595.0, 842.0)],
    )
    invoice_doc = DocumentResult(
        file="发票/发票.png", sha256=_sha(invoice), kind="invoice", pages=1, ocr_pages=1,
        fields=DocumentFields(amount_yuan=12000.0, buyer="无锡某某科技有限公司"),
        page_info=[_page(1, 1200.0, 900.0, "px")],
    )
    flags = [
        Flag(code="SEAL_MISSING", severity="warning", message="合同/云服务合同.pdf 上未找到服务商的印章",
             files=["合同/云服务合同.pdf"],
             evidence=[Evidence(file="合同/云服务合同.pdf", page=2, bbox=[0.55, 0.55, 0.9, 0.9])]),
        Flag(code="SEAL_MISSING", severity="warning", message="合同/云服务合同.pdf 上未找到申报企业的印章",
             files=["合同/云服务合同.pdf"], evidence=[Evidence(file="合同/云服务合同.pdf")]),
        Flag(code="INVOICE_TOTAL_INCONSISTENT", severity="error", message="发票金额 + 税额 ≠ 价税合计",
             files=["发票/发票.png"],
             evidence=[Evidence(file="发票/发票.png", page=1, bbox=list(MARKER), text="¥12,000.00")]),
        Flag(code="SUBDOMAIN_NO_EVIDENCE", severity="error", message="申报的子领域“存储资源”没有证据",
             subject="存储资源"),
    ]
    return ScreeningResult(
        application_id="APP-WX", screened_at="2026-11-25T10:00:00+08:00", rules_version="2019.1",
        applicant=Applicant(name="无锡某某科技有限公司", uscc=WUXI_USCC, uscc_valid=True, jiangsu=True),
        star_sought=3, deployment="public",
        claimed=Claimed(subdomains=["计算资源", "存储资源"], annualised_spend_yuan=24000.0),
        documents=[contract_doc, invoice_doc],
        purchases=[Purchase(provider="阿里云计算有限公司", amount_yuan=36000.0, months=36, annualised_yuan=12000.0,
                            accepted=True, contract_file="合同/云服务合同.pdf", invoice_files=["发票/发票.png"])],
        annualised_spend_yuan=12000.0, annualised_spend_accepted_yuan=12000.0,
        subdomains_evidenced={"工业APP应用": [], "基础云服务": ["计算资源", "网络资源"], "数据上云": [], "设备接入": [],
                              "边缘计算": [], "设备服务": [], "创新应用": []},
        verdict=Verdict(meets_star_sought=False, highest_star_supported=0,
                        rules=[{"star": 3, "rule": "基础云服务 ≥ 3", "actual": 2, "passed": False},
                               {"star": 3, "rule": "年化投入 ≥ ¥10,000", "actual": 12000.0, "passed": True}]),
        flags=flags,
    )


def nanjing_result() -> ScreeningResult:
    return ScreeningResult(
        application_id="APP-NJ", screened_at="2026-11-25T10:00:00+08:00",
        applicant=Applicant(name="南京某某软件有限公司", uscc=NANJING_USCC, uscc_valid=True, jiangsu=True),
        star_sought=3, verdict=Verdict(meets_star_sought=True, highest_star_supported=3),
        annualised_spend_accepted_yuan=50000.0,
        flags=[Flag(code="LICENCE_MISSING", severity="error", message="没有营业执照")],
    )


@dataclass(frozen=True)
class World:
    results: Path
    samples: Path
    db_url: str


def build_world(root: Path) -> World:
    """Two applications (无锡 3202, 南京 3201), originals for the 无锡 one, four accounts."""
    results, samples = root / "results", root / "samples"
    results.mkdir(parents=True)
    contract, invoice = contract_pdf(), invoice_png()
    app_dir = samples / "APP-WX"
    (app_dir / "合同").mkdir(parents=True)
    (app_dir / "发票").mkdir(parents=True)
    (app_dir / "合同" / "云服务合同.pdf").write_bytes(contract)
    (app_dir / "发票" / "发票.png").write_bytes(invoice)
    (results / "APP-WX.json").write_text(wuxi_result(contract, invoice).to_json(), encoding="utf-8")
    (results / "APP-NJ.json").write_text(nanjing_result().to_json(), encoding="utf-8")
    db_url = f"sqlite:///{root / 'web.db'}"
    cli_users_add(db_url, "prov", PASSWORD, "province")
    cli_users_add(db_url, "wuxi", PASSWORD, "city", "3202")
    cli_users_add(db_url, "nanjing", PASSWORD, "city", "3201")
    cli_users_add(db_url, "admin", PASSWORD, "admin")
    return World(results, samples, db_url)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return build_world(tmp_path_factory.mktemp("web"))


@pytest.fixture
def fresh(tmp_path, tmp_path_factory) -> World:
    """A world of its own, for tests that write decisions or change files (a copy of a pristine
    one: hashing four passwords with argon2 for every test would dominate the run)."""
    global _PRISTINE
    if _PRISTINE is None:
        _PRISTINE = tmp_path_factory.mktemp("web-pristine")
        build_world(_PRISTINE)
    shutil.copytree(_PRISTINE, tmp_path / "w")
    root = tmp_path / "w"
    return World(root / "results", root / "samples", f"sqlite:///{root / 'web.db'}")


_PRISTINE: Path | None = None


def client_for(world: World, **kw) -> TestClient:
    return TestClient(create_app(world.results, world.samples, world.db_url, rescan_seconds=0), **kw)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def key_of(code: str, n: int = 0) -> str:
    """The key of the n-th flag with this code in the 无锡 result."""
    flags = wuxi_result(contract_pdf(), invoice_png()).flags
    keys = flag_keys(flags)
    return [k for k, f in zip(keys, flags) if f.code == code][n]


# ------------------------------------------------------------------------------- login & sessions


def test_anonymous_is_sent_to_login_and_the_api_says_401(world):
    c = client_for(world)
    r = c.get("/applications/APP-WX", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fapplications%2FAPP-WX")
    assert c.get("/api/applications").status_code == 401
    assert c.get("/applications/APP-WX/documents/0/pages/1/view.jpg", follow_redirects=False).status_code == 303


def test_login_needs_the_right_password_and_its_csrf_token(world):
    c = client_for(world)
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": "prov", "password": "wrong password", "csrf_token": token})
    assert r.status_code == 401 and "wrong username or password" in r.text
    token = csrf_of(r.text)
    assert c.post("/login", data={"username": "prov", "password": PASSWORD}).status_code == 403
    assert c.post("/login", data={"username": "prov", "password": PASSWORD, "csrf_token": "forged"}).status_code == 403
    r = c.post("/login", data={"username": "prov", "password": PASSWORD, "csrf_token": token,
                               "next": "//evil.example/x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_session_cookie_is_httponly_lax_and_secure_off_localhost(world):
    local = client_for(world)
    token = csrf_of(local.get("/login").text)
    r = local.post("/login", data={"username": "prov", "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "ys_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie

    remote = client_for(world, base_url="https://review.example.gov.cn")
    token = csrf_of(remote.get("/login").text)
    r = remote.post("/login", data={"username": "prov", "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "ys_session=" in cookie and "secure" in cookie and "httponly" in cookie


def test_logout_ends_the_session_server_side(world):
    c = login(client_for(world), "prov")
    stolen = c.cookies.get("ys_session")
    page = c.get("/").text
    assert c.post("/logout", data={}, follow_redirects=False).status_code == 403  # CSRF on logout too
    assert c.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False).status_code == 303
    replay = client_for(world)
    replay.cookies.set("ys_session", stolen)
    assert replay.get("/api/me").status_code == 401


def test_tampered_session_cookie_is_refused(world):
    c = login(client_for(world), "prov")
    value = c.cookies.get("ys_session")
    replay = client_for(world)
    replay.cookies.set("ys_session", value)
    assert replay.get("/api/me").status_code == 200
    forged = client_for(world)
    forged.cookies.set("ys_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert forged.get("/api/me").status_code == 401


# ------------------------------------------------------------------------------- authorization


def _queue_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-app="([^"]+)"', html)


def test_province_sees_every_application_and_a_city_only_its_own(world):
    assert _queue_ids(login(client_for(world), "prov").get("/").text) == ["APP-NJ", "APP-WX"]
    wuxi = login(client_for(world), "wuxi")
    assert _queue_ids(wuxi.get("/").text) == ["APP-WX"]
    assert [a["application_id"] for a in wuxi.get("/api/applications").json()["applications"]] == ["APP-WX"]
    assert _queue_ids(login(client_for(world), "nanjing").get("/").text) == ["APP-NJ"]


def test_city_reviewer_cannot_open_or_decide_on_another_citys_application(world):
    nanjing = login(client_for(world), "nanjing")
    assert nanjing.get("/applications/APP-WX").status_code == 404
    assert nanjing.get("/api/applications/APP-WX").status_code == 404
    assert nanjing.get("/applications/APP-WX/documents/0/pages/1/view.jpg").status_code == 404
    csrf = nanjing.get("/api/me").json()["csrf_token"]
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    r = nanjing.post(f"/applications/APP-WX/flags/{key}/decision",
                     data={"action": "dismiss", "comment": "不是我市的", "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 404
    r = nanjing.post(f"/api/applications/APP-WX/flags/{key}/decision", json={"action": "dismiss", "comment": "x"},
                     headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    # …and nothing was recorded: the 无锡 reviewer still sees the flag open.
    wuxi = login(client_for(world), "wuxi")
    flags = {f["key"]: f for f in wuxi.get("/api/applications/APP-WX").json()["flags"]}
    assert flags[key]["decision"] is None


def test_admin_reads_everything_but_takes_no_review_decision(fresh):
    admin = login(client_for(fresh), "admin")
    assert admin.get("/applications/APP-WX").status_code == 200
    csrf = admin.get("/api/me").json()["csrf_token"]
    r = admin.post(f"/api/applications/APP-WX/flags/{key_of('SEAL_MISSING')}/decision",
                   json={"action": "confirm", "comment": "ok"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


# ------------------------------------------------------------------------------- decisions


def test_decision_without_csrf_token_is_rejected(fresh):
    c = login(client_for(fresh), "wuxi")
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    r = c.post(f"/applications/APP-WX/flags/{key}/decision", data={"action": "dismiss", "comment": "ok"},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/applications/APP-WX/flags/{key}/decision",
               data={"action": "dismiss", "comment": "ok", "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    r = c.post(f"/api/applications/APP-WX/flags/{key}/decision", json={"action": "dismiss", "comment": "ok"})
    assert r.status_code == 403
    assert all(f["decision"] is None for f in c.get("/api/applications/APP-WX").json()["flags"])


def test_decision_needs_a_comment_and_a_known_action_and_flag(fresh):
    c = login(client_for(fresh), "wuxi")
    csrf = c.get("/api/me").json()["csrf_token"]
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    url = f"/applications/APP-WX/flags/{key}/decision"
    assert c.post(url, data={"action": "dismiss", "comment": "   ", "csrf_token": csrf}).status_code == 422
    assert c.post(url, data={"action": "approve", "comment": "x", "csrf_token": csrf}).status_code == 422
    assert c.post("/applications/APP-WX/flags/nope/decision",
                  data={"action": "dismiss", "comment": "x", "csrf_token": csrf}).status_code == 404


def test_decision_is_persisted_shown_after_reload_and_audited(fresh):
    c = login(client_for(fresh), "wuxi")
    page = c.get("/applications/APP-WX").text
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    assert f'id="flag-{key}"' in page
    before = c.get("/api/applications").json()["applications"][0]["open_flags"]
    r = c.post(f"/applications/APP-WX/flags/{key}/decision",
               data={"action": "dismiss", "comment": "税额四舍五入，差 0.01 元", "csrf_token": csrf_of(page)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/applications/APP-WX#flag-{key}"

    # A new app instance over the same database (a server restart) shows the decision.
    again = login(client_for(fresh), "prov")
    html = again.get("/applications/APP-WX").text
    item = html[html.index(f'id="flag-{key}"'):]
    item = item[:item.index("</li>")]
    assert "decided dismiss" in item and "税额四舍五入，差 0.01 元" in item and "wuxi" in item
    after = again.get("/api/applications").json()["applications"]
    assert {a["application_id"]: a["open_flags"] for a in after}["APP-WX"] == {**before, "error": before["error"] - 1}

    # The province overrides through the JSON API; both decisions stay in the audit trail.
    csrf = again.get("/api/me").json()["csrf_token"]
    r = again.post(f"/api/applications/APP-WX/flags/{key}/decision",
                   json={"action": "confirm", "comment": "省级复核：需补正"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.json()["decision"]["by"] == "prov"
    flags = {f["key"]: f for f in again.get("/api/applications/APP-WX").json()["flags"]}
    assert flags[key]["decision"]["action"] == "confirm"
    assert sum(1 for f in flags.values() if f["decision"]) == 1

    from sqlalchemy import create_engine, text

    engine = create_engine(fresh.db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username, role, action, comment FROM decisions ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("wuxi", "city", "dismiss", "税额四舍五入，差 0.01 元"),
                                            ("prov", "province", "confirm", "省级复核：需补正")]
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    for stmt in ("UPDATE decisions SET comment = 'x'", "DELETE FROM decisions"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(stmt))
    engine.dispose()


def test_flags_with_the_same_identity_are_decided_separately(fresh):
    keys = flag_keys(wuxi_result(contract_pdf(), invoice_png()).flags)
    assert keys[0] != keys[1] and keys[1] == keys[0] + "-2"
    c = login(client_for(fresh), "wuxi")
    csrf = c.get("/api/me").json()["csrf_token"]
    assert c.post(f"/api/applications/APP-WX/flags/{keys[1]}/decision", json={"action": "confirm", "comment": "缺章"},
                  headers={"X-CSRF-Token": csrf}).status_code == 201
    decided = {f["key"]: f["decision"] for f in c.get("/api/applications/APP-WX").json()["flags"]}
    assert decided[keys[1]]["action"] == "confirm" and decided[keys[0]] is None


def test_flag_identity_survives_rescreening():
    a = Flag(code="SEAL_MISSING", severity="warning", message="旧的说明", files=["b.pdf", "a.pdf"])
    b = Flag(code="SEAL_MISSING", severity="error", message="new wording", files=["a.pdf", "b.pdf"],
             evidence=[Evidence(file="a.pdf", page=3)])
    assert flag_base_key(a) == flag_base_key(b)
    assert flag_base_key(a) != flag_base_key(b.model_copy(update={"subject": "存储资源"}))
    assert flag_base_key(a) != flag_base_key(b.model_copy(update={"code": "INVOICE_MISSING"}))


# ------------------------------------------------------------------------------- views


def test_application_view_panel_and_viewer_data(world):
    c = login(client_for(world), "wuxi")
    html = c.get("/applications/APP-WX").text
    assert 'id="viewer"' in html and 'src="/static/viewer.js"' in html
    # checklist: claimed+evidenced, claimed+missing, evidenced-but-unclaimed
    assert re.search(r'<tr class="evidenced" data-subdomain="计算资源">', html)
    assert re.search(r'<tr class="missing" data-subdomain="存储资源">', html)
    assert re.search(r'<tr class="unclaimed" data-subdomain="网络资源">', html)
    assert "基础云服务 ≥ 3" in html and "阿里云计算有限公司" in html and "¥12,000.00" in html
    data = json.loads(re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.S).group(1))
    assert [d["file"] for d in data["docs"]] == ["合同/云服务合同.pdf", "发票/发票.png"]
    assert [p["number"] for p in data["docs"][0]["pages"]] == [1, 2]
    kinds = sorted((b["kind"], b["page"]) for b in data["boxes"])
    assert kinds == [("field", 2), ("seal", 2), ("subdomain", 1)]
    inv = next(f for f in data["flags"] if f["code"] == "INVOICE_TOTAL_INCONSISTENT")
    assert inv["evidence"] == [{"doc": 1, "file": "发票/发票.png", "page": 1, "bbox": list(MARKER), "text": "¥12,000.00"}]


def test_queue_filters_by_verdict_flag_code_and_search(world):
    c = login(client_for(world), "prov")
    assert _queue_ids(c.get("/?verdict=pass").text) == ["APP-NJ"]
    assert _queue_ids(c.get("/?verdict=fail").text) == ["APP-WX"]
    assert _queue_ids(c.get("/?flag=LICENCE_MISSING").text) == ["APP-NJ"]
    assert _queue_ids(c.get("/?q=无锡").text) == ["APP-WX"]
    assert _queue_ids(c.get("/?q=91320115").text) == ["APP-NJ"]
    assert _queue_ids(c.get("/?q=no-such-company").text) == []
    rows = {a["application_id"]: a for a in c.get("/api/applications?flag=SEAL_MISSING").json()["applications"]}
    assert list(rows) == ["APP-WX"]
    assert rows["APP-WX"]["open_flags"] == {"error": 2, "warning": 2, "info": 0}
    assert rows["APP-WX"]["star_sought"] == 3 and rows["APP-WX"]["annualised_spend_accepted_yuan"] == 12000.0


def test_results_folder_is_rescanned_and_bad_files_are_skipped(fresh):
    c = login(client_for(fresh), "prov")
    (fresh.results / "broken.json").write_text("{not json", encoding="utf-8")
    extra = nanjing_result().model_copy(update={"application_id": "APP-NJ2"})
    (fresh.results / "APP-NJ2.json").write_text(extra.to_json(), encoding="utf-8")
    assert _queue_ids(c.get("/").text) == ["APP-NJ", "APP-NJ2", "APP-WX"]


# ------------------------------------------------------------------------------- page images


def test_page_images_are_rendered_cached_and_revalidated(world):
    c = login(client_for(world), "wuxi")
    r = c.get("/applications/APP-WX/documents/0/pages/2/view.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    img = Image.open(io.BytesIO(r.content))
    assert max(img.size) == 1600 and img.height > img.width  # A4 portrait
    assert c.get("/applications/APP-WX/documents/0/pages/2/view.jpg",
                 headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    page1 = c.get("/applications/APP-WX/documents/0/pages/1/view.jpg")
    assert page1.headers["etag"] != r.headers["etag"]
    thumb = Image.open(io.BytesIO(c.get("/applications/APP-WX/documents/1/pages/1/thumb.jpg").content))
    assert max(thumb.size) == 220
    for bad in ("/applications/APP-WX/documents/0/pages/3/view.jpg",
                "/applications/APP-WX/documents/2/pages/1/view.jpg",
                "/applications/APP-WX/documents/0/pages/1/huge.jpg",
                "/applications/APP-NJ/documents/0/pages/1/view.jpg",
                "/applications/..%2FAPP-WX/documents/0/pages/1/view.jpg"):
        assert c.get(bad).status_code == 404, bad


def test_invoice_marker_is_where_the_evidence_box_says(world):
    """The served image is the upright page the boxes refer to: the dark block sits inside MARKER."""
    c = login(client_for(world), "wuxi")
    img = np.asarray(Image.open(io.BytesIO(c.get("/applications/APP-WX/documents/1/pages/1/view.jpg").content)).convert("L"))
    h, w = img.shape
    x0, y0, x1, y1 = MARKER
    inside = img[int((y0 + 0.02) * h):int((y1 - 0.02) * h), int((x0 + 0.02) * w):int((x1 - 0.02) * w)]
    assert inside.mean() < 40 and img[: int(0.1 * h), int(0.6 * w):].mean() > 230


def test_rotated_page_is_served_upright(fresh):
    result = json.loads((fresh.results / "APP-WX.json").read_text(encoding="utf-8"))
    result["documents"][1]["page_info"][0]["rotation"] = 90
    (fresh.results / "APP-WX.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    c = login(client_for(fresh), "wuxi")
    img = Image.open(io.BytesIO(c.get("/applications/APP-WX/documents/1/pages/1/view.jpg").content))
    assert img.height > img.width  # the 1200×900 landscape original turned a quarter


def test_original_changed_after_screening_is_refused(fresh):
    (fresh.samples / "APP-WX" / "发票" / "发票.png").write_bytes(image_bytes(render_lines(["另一张图"], size=(600, 400))))
    c = login(client_for(fresh), "wuxi")
    assert c.get("/applications/APP-WX/documents/1/pages/1/view.jpg").status_code == 409
    assert c.get("/applications/APP-WX/documents/0/pages/1/view.jpg").status_code == 200


def test_security_headers(world):
    c = login(client_for(world), "wuxi")
    r = c.get("/applications/APP-WX")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"


# ------------------------------------------------------------------------------- accounts


def test_cli_users_add_validates(tmp_path):
    db = f"sqlite:///{tmp_path / 'u.db'}"
    assert cli_users_add(db, "suzhou", PASSWORD, "city", "3205") >= 1
    with pytest.raises(ValueError, match="exists"):
        cli_users_add(db, "suzhou", PASSWORD, "city", "3205")
    with pytest.raises(ValueError, match="division code"):
        cli_users_add(db, "nocity", PASSWORD, "city", None)
    with pytest.raises(ValueError, match="division code"):
        cli_users_add(db, "shanghai", PASSWORD, "city", "3101")
    with pytest.raises(ValueError, match="role"):
        cli_users_add(db, "boss", PASSWORD, "superuser")
    with pytest.raises(ValueError, match="8 characters"):
        cli_users_add(db, "short", "pw", "province")
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username='suzhou'")).scalar()
    engine.dispose()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


# ------------------------------------------------------------------------------- queue: city and sort


def test_queue_filters_by_city_and_sorts(fresh):
    extra = nanjing_result().model_copy(update={"application_id": "APP-SZ", "applicant": Applicant(
        name="苏州某某电子有限公司", uscc="91320594MA1XXXXXXX"), "annualised_spend_accepted_yuan": 90000.0,
        "screened_at": "2026-11-26T09:00:00+08:00"})
    (fresh.results / "APP-SZ.json").write_text(extra.to_json(), encoding="utf-8")
    c = login(client_for(fresh), "prov")
    assert _queue_ids(c.get("/?city=3202").text) == ["APP-WX"]
    assert _queue_ids(c.get("/?city=3205").text) == ["APP-SZ"]
    assert _queue_ids(c.get("/?city=3213").text) == []
    assert _queue_ids(c.get("/?city=3201&verdict=pass").text) == ["APP-NJ"]
    html = c.get("/").text
    assert re.search(r'<option value="3202"\s*>无锡 3202</option>', html) and "苏州 3205" in html
    api = lambda q: [a["application_id"] for a in c.get(f"/api/applications?{q}").json()["applications"]]  # noqa: E731
    assert api("city=3201") == ["APP-NJ"]
    assert api("sort=spend") == ["APP-SZ", "APP-NJ", "APP-WX"]  # 90 000, 50 000, 12 000
    assert api("sort=screened") == ["APP-SZ", "APP-NJ", "APP-WX"]  # newest first, then by id
    assert api("sort=company") == ["APP-NJ", "APP-WX", "APP-SZ"]  # by code point: 南 < 无 < 苏
    assert api("sort=open") == ["APP-WX", "APP-NJ", "APP-SZ"]  # 2 open errors, then 1 and 1 (id order)
    assert api("sort=bogus") == ["APP-NJ", "APP-SZ", "APP-WX"]  # unknown order: by id
    assert _queue_ids(c.get("/?sort=spend").text) == ["APP-SZ", "APP-NJ", "APP-WX"]
    # a city reviewer has nothing to choose: the city filter is not offered, and cannot widen the view
    wuxi = login(client_for(fresh), "wuxi")
    assert 'name="city"' not in wuxi.get("/").text
    assert _queue_ids(wuxi.get("/?city=3205").text) == []


# ------------------------------------------------------------------------------- export


def test_export_html_carries_the_review_and_its_audit_trail(fresh):
    c = login(client_for(fresh), "wuxi")
    csrf = c.get("/api/me").json()["csrf_token"]
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    for action, comment in (("confirm", "金额不一致，需补正"), ("dismiss", "四舍五入，差 0.01 元")):
        assert c.post(f"/api/applications/APP-WX/flags/{key}/decision", json={"action": action, "comment": comment},
                      headers={"X-CSRF-Token": csrf}).status_code == 201
    html = c.get("/applications/APP-WX/export").text
    assert 'href="/static/export.css"' in html and "@media print" in c.get("/static/export.css").text
    assert "无锡某某科技有限公司" in html and WUXI_USCC in html and "不通过" in html
    assert "基础云服务 ≥ 3" in html and "✗ 不满足" in html and "¥12,000.00" in html
    row = html[html.index(f'data-key="{key}"'):]
    row = row[:row.index("</tr>")]
    assert "驳回" in row and "四舍五入，差 0.01 元" in row and "金额不一致" not in row  # the current decision
    audit = html[html.index('id="export-audit"'):]
    assert audit.index("金额不一致，需补正") < audit.index("四舍五入，差 0.01 元")  # both, oldest first
    assert "未处理问题 3 / 4" in html
    assert "<form" not in html and "<script" not in html


@pytest.mark.slow
def test_export_pdf_is_a_real_pdf_with_the_decisions(fresh):
    import pypdfium2 as pdfium

    c = login(client_for(fresh), "wuxi")
    csrf = c.get("/api/me").json()["csrf_token"]
    key = key_of("SEAL_MISSING", 1)
    assert c.post(f"/api/applications/APP-WX/flags/{key}/decision", json={"action": "confirm", "comment": "合同缺少公章"},
                  headers={"X-CSRF-Token": csrf}).status_code == 201
    r = c.get("/applications/APP-WX/export.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and "APP-WX-review.pdf" in r.headers["content-disposition"]
    pdf = pdfium.PdfDocument(r.content)
    try:
        assert len(pdf) >= 1
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        w, h = pdf[0].get_size()
    finally:
        pdf.close()
    assert abs(w - 595) < 3 and abs(h - 842) < 3  # A4
    squeezed = re.sub(r"\s+", "", text)
    assert "合同缺少公章" in squeezed and "无锡某某科技有限公司" in squeezed and WUXI_USCC in squeezed


def test_export_pdf_without_a_browser_is_503_not_a_crash(fresh, tmp_path):
    app = create_app(fresh.results, fresh.samples, fresh.db_url, chromium=tmp_path / "no-chromium")
    c = login(TestClient(app), "wuxi")
    r = c.get("/applications/APP-WX/export.pdf")
    assert r.status_code == 503 and "unavailable" in r.text
