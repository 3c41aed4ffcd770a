"""The reviewer evidence side-panel: a FastAPI app over a folder of screening results.

Pages: ``/login``, the queue ``/``, the application view ``/applications/{id}`` (document viewer
left, panel right), page images ``/applications/{id}/documents/{i}/pages/{n}/{thumb|view}.jpg``.
JSON: ``/api/me``, ``/api/applications``, ``/api/applications/{id}``, POST
``/api/applications/{id}/flags/{key}/decision``. Every page and API call goes through the same
visibility rule (:func:`pipeline.web.auth.can_see`): an application a reviewer may not see is
a 404 for them, whether they read it or try to decide on it.
"""

# No `from __future__ import annotations`: FastAPI must see the real (local) Depends annotations.

import os
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from pipeline.model import ScreeningResult
from pipeline.report import DEPLOYMENT_ZH, FIELD_ZH, KIND_ZH, PARTY_ZH, SEVERITY_ZH, _fmt, verdict_text
from pipeline.web import auth, export
from pipeline.web.db import ACTIONS, Decision, app_secret, history, latest_decisions, make_engine, session_factory
from pipeline.web.images import SIZES, OriginalChanged, PageImages, PageNotFound
from pipeline.web.results import ResultIndex, checklist, flag_keys, verdict_key
from pipeline.web.throttle import LoginThrottle, ThrottleSettings

HERE = Path(__file__).parent
MAX_COMMENT = 2000
ACTION_ZH = {"confirm": "确认问题", "dismiss": "驳回（非问题）"}
DECIDERS = frozenset({"city", "province"})
"""Roles that may decide on flags. Admins manage accounts and can read everything, but do not
take review decisions (separation of duties)."""
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
"""Sent on every response (pages, API, images, static files, errors)."""
SORTS: dict[str, str] = {"id": "编号", "company": "企业名称", "open": "未处理问题（多→少）",
                         "spend": "认可年化投入（高→低）", "screened": "预审时间（新→旧）"}
"""Queue orders (``?sort=``); ``id`` is the default."""


class DecisionIn(BaseModel):
    action: str = Field(pattern="^(confirm|dismiss)$")
    comment: str = Field(min_length=1, max_length=MAX_COMMENT)


class _LoginRequired(Exception):
    pass


def _templates() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: "—" if v is None else f"¥{v:,.2f}"
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    env.globals.update(SEVERITY_ZH=SEVERITY_ZH, KIND_ZH=KIND_ZH, ACTION_ZH=ACTION_ZH, verdict_text=verdict_text,
                       verdict_key=verdict_key, DEPLOYMENT_ZH=DEPLOYMENT_ZH)
    return env


def _decision_json(d: Decision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"action": d.action, "comment": d.comment, "by": d.username, "role": d.role,
            "at": d.at.isoformat(timespec="seconds") + "Z"}


def _summary(result: ScreeningResult, decided: dict[tuple[str, str], Decision]) -> dict[str, Any]:
    keys = flag_keys(result.flags)
    open_counts: Counter[str] = Counter()
    for key, flag in zip(keys, result.flags):
        if (result.application_id, key) not in decided:
            open_counts[flag.severity] += 1
    return {
        "application_id": result.application_id,
        "company": result.applicant.name,
        "uscc": result.applicant.uscc,
        "division": auth.division_of(result.applicant.uscc),
        "star_sought": result.star_sought,
        "verdict": verdict_key(result.verdict.meets_star_sought),
        "highest_star_supported": result.verdict.highest_star_supported,
        "annualised_spend_accepted_yuan": result.annualised_spend_accepted_yuan,
        "open_flags": {s: open_counts[s] for s in ("error", "warning", "info")},
        "flags_total": len(result.flags),
        "flag_codes": sorted({f.code for f in result.flags}),
        "screened_at": result.screened_at,
    }


class QueueFilters(BaseModel):
    """The queue's query string, shared by ``/`` and ``/api/applications``."""

    verdict: str | None = None
    flag: str | None = None
    q: str | None = None
    city: str | None = None
    sort: str | None = None

    def active(self) -> bool:
        return any((self.verdict, self.flag, self.q, self.city))


def _matches(result: ScreeningResult, verdict: str | None, flag: str | None, q: str | None,
             city: str | None = None) -> bool:
    if city and auth.division_of(result.applicant.uscc) != city:
        return False
    if verdict and verdict_key(result.verdict.meets_star_sought) != verdict:
        return False
    if flag and not any(f.code == flag for f in result.flags):
        return False
    if q:
        needle = q.strip().casefold()
        hay = [(result.applicant.name or ""), (result.applicant.uscc or ""), result.application_id]
        if needle and not any(needle in h.casefold() for h in hay):
            return False
    return True


def _sorted_rows(rows: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """Rows arrive ordered by id; the other orders keep id as the tie-breaker (stable sort)."""
    if sort == "company":
        return sorted(rows, key=lambda r: (r["company"] is None, r["company"] or ""))
    if sort == "open":
        return sorted(rows, key=lambda r: tuple(-r["open_flags"][s] for s in ("error", "warning", "info")))
    if sort == "spend":
        return sorted(rows, key=lambda r: (r["annualised_spend_accepted_yuan"] is None,
                                           -(r["annualised_spend_accepted_yuan"] or 0.0)))
    if sort == "screened":
        return sorted(rows, key=lambda r: r["screened_at"] or "", reverse=True)
    return rows


def _viewer_data(result: ScreeningResult, keys: list[str]) -> dict[str, Any]:
    """Everything the document viewer's script draws: documents, pages, boxes, flag evidence."""
    app_q = quote(result.application_id, safe="")
    doc_index = {d.file: i for i, d in enumerate(result.documents)}
    docs, boxes = [], []
    for i, doc in enumerate(result.documents):
        info = {p.number: p for p in doc.page_info}
        total = max(doc.pages, len(doc.page_info))
        pages = [{"number": n, "ratio": (info[n].height / info[n].width) if n in info else 1.4142}
                 for n in range(1, total + 1)]
        docs.append({"index": i, "file": doc.file, "kind": doc.kind, "kind_zh": KIND_ZH.get(doc.kind, doc.kind),
                     "pages": pages, "error": doc.error,
                     "url": f"/applications/{app_q}/documents/{i}/pages/"})
        values = doc.fields.model_dump(exclude_none=True)
        for name, ev in doc.field_evidence.items():
            if ev.page is None or ev.bbox is None or doc_index.get(ev.file or doc.file, i) != i:
                continue
            label = FIELD_ZH.get(name, name)
            boxes.append({"doc": i, "page": ev.page, "kind": "field", "bbox": ev.bbox,
                          "title": f"字段 {label} = {_fmt(values.get(name, ev.text))}"})
        for seal in doc.seals:
            boxes.append({"doc": i, "page": seal.page, "kind": "seal", "bbox": seal.bbox,
                          "title": f"印章 {seal.text or '（未识别文字）'} — {PARTY_ZH.get(seal.party, seal.party)}"})
        for hit in doc.subdomains:
            boxes.append({"doc": i, "page": hit.page, "kind": "subdomain", "bbox": hit.bbox,
                          "title": f"子领域 {hit.name}（{hit.group}）← “{hit.term}” {hit.score:.2f}"})
    flags = []
    for key, flag in zip(keys, result.flags):
        evidence = [{"doc": doc_index.get(ev.file), "file": ev.file, "page": ev.page, "bbox": ev.bbox,
                     "text": ev.text} for ev in flag.evidence]
        for f in flag.files:  # files named without evidence: jump to their first page
            if not any(ev.file == f for ev in flag.evidence):
                evidence.append({"doc": doc_index.get(f), "file": f, "page": None, "bbox": None, "text": None})
        flags.append({"key": key, "code": flag.code, "severity": flag.severity, "message": flag.message,
                      "evidence": evidence})
    return {"application_id": result.application_id, "docs": docs, "boxes": boxes, "flags": flags}


def create_app(
    results_dir: Path,
    samples_root: Path | None,
    db_url: str,
    *,
    secret_key: str | None = None,
    rescan_seconds: float = 2.0,
    secure_cookies: bool | None = None,
    throttle: LoginThrottle | ThrottleSettings | None = None,
    chromium: Path | None = None,
) -> FastAPI:
    """The reviewer web app.

    ``results_dir`` holds ``yunshen.result/v1`` JSON files (rescanned while running);
    ``samples_root/<application_id>/<file>`` are the originals the page images are rendered from
    (``None``: no images, boxes drawn on page-shaped placeholders); ``db_url`` is the SQLAlchemy URL
    of the accounts/decisions database (``sqlite:///path.db``). The cookie-signing key is
    ``secret_key``, else ``YUNSHEN_WEB_SECRET``, else one generated once and kept in the database.
    ``secure_cookies``: force the cookies' Secure attribute on/off (``None``: on over https and on
    any non-local host). ``throttle``: login-failure limits (:mod:`pipeline.web.throttle`).
    ``chromium``: the browser that prints ``export.pdf`` (default ``/usr/bin/chromium``).
    """
    engine = make_engine(db_url)
    Sessions: sessionmaker[Session] = session_factory(engine)
    with Sessions() as db:
        secret = secret_key or os.environ.get("YUNSHEN_WEB_SECRET") or app_secret(db)
    signer = auth.Signer(secret)
    index = ResultIndex(results_dir, rescan_seconds=rescan_seconds)
    images = PageImages(samples_root)
    env = _templates()
    limiter = throttle if isinstance(throttle, LoginThrottle) else LoginThrottle(throttle)
    _warm_up(env)
    pdf_browser = Path(chromium) if chromium else export.CHROMIUM

    def secure(request: Request) -> bool:
        return auth.cookie_secure(request.headers.get("host"), request.url.scheme, secure_cookies)

    app = FastAPI(title="yunshen reviewer", docs_url=None, redoc_url=None, openapi_url=None,
                  redirect_slashes=False)  # no "/x/" → "/x" redirects: a URL names one thing or nothing
    app.state.engine = engine
    app.state.results = index
    app.state.throttle = limiter
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "cache-control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, _exc: _LoginRequired) -> Response:
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(nxt, safe='')}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        # A URL whose parts do not parse (``/documents/../pages/…``) names nothing: 404, not 422.
        if exc.errors() and all(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return await request_validation_exception_handler(request, exc)

    # ------------------------------------------------------------------ dependencies

    def get_db() -> Iterator[Session]:
        with Sessions() as db:
            yield db

    Db = Annotated[Session, Depends(get_db)]

    def optional_user(request: Request, db: Db) -> auth.Principal | None:
        return auth.principal(db, signer.session_id(request.cookies.get(auth.SESSION_COOKIE)))

    def page_user(user: Annotated[auth.Principal | None, Depends(optional_user)]) -> auth.Principal:
        if user is None:
            raise _LoginRequired()
        return user

    def api_user(user: Annotated[auth.Principal | None, Depends(optional_user)]) -> auth.Principal:
        if user is None:
            raise HTTPException(401, "login required")
        return user

    PageUser = Annotated[auth.Principal, Depends(page_user)]
    ApiUser = Annotated[auth.Principal, Depends(api_user)]

    def visible(user: auth.Principal, application_id: str) -> ScreeningResult:
        result = index.get(application_id)
        if result is None or not user.can_see(result):
            raise HTTPException(404, "no such application")
        return result

    def render(name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**ctx), status_code=status)

    def decide(db: Session, user: auth.Principal, result: ScreeningResult, key: str, action: str,
               comment: str) -> Decision:
        if user.role not in DECIDERS:
            raise HTTPException(403, "this role does not take review decisions")
        keys = flag_keys(result.flags)
        if key not in keys:
            raise HTTPException(404, "no such flag")
        comment = comment.strip()
        if action not in ACTIONS:
            raise HTTPException(422, "action must be confirm or dismiss")
        if not comment:
            raise HTTPException(422, "a comment is required")
        if len(comment) > MAX_COMMENT:
            raise HTTPException(422, f"comment longer than {MAX_COMMENT} characters")
        row = Decision(username=user.username, role=user.role, application_id=result.application_id,
                       flag_key=key, flag_code=result.flags[keys.index(key)].code, action=action,
                       comment=comment, rules_version=result.rules_version, screened_at=result.screened_at)
        db.add(row)
        db.commit()
        return row

    # ------------------------------------------------------------------ login / logout

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, user: Annotated[auth.Principal | None, Depends(optional_user)],
                   next: str = "/") -> Response:
        if user is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
        return _login_page(request, next, None, 200)

    def _login_page(request: Request, nxt: str, error: str | None, status: int) -> Response:
        token = secrets.token_urlsafe(32)
        response = render("login.html.j2", status=status, csrf=token, next=_safe_next(nxt), error=error, user=None)
        response.set_cookie(auth.PRELOGIN_COOKIE, signer.prelogin_cookie(token), max_age=3600, httponly=True,
                            samesite="lax", secure=secure(request), path="/login")
        return response

    @app.post("/login")
    def login(request: Request, db: Db, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
              csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
        expected = signer.prelogin_token(request.cookies.get(auth.PRELOGIN_COOKIE))
        if not auth.tokens_equal(expected, csrf_token):
            raise HTTPException(403, "CSRF token missing or invalid")
        username = username.strip()
        ip = request.client.host if request.client else None
        locked = limiter.check(username, ip)
        if locked is not None:  # refused before the password is even looked at
            return _locked_page(request, next, locked)
        user = auth.authenticate(db, username, password)
        if user is None:
            locked = limiter.failed(username, ip)
            if locked is not None:
                return _locked_page(request, next, locked)
            return _login_page(request, next, "用户名或密码错误 (wrong username or password)", 401)
        limiter.succeeded(username)
        # Session fixation: whatever session cookie came in is ended; the login always mints a new id.
        old = signer.session_id(request.cookies.get(auth.SESSION_COOKIE))
        if old:
            auth.end_session(db, old)
        session = auth.start_session(db, user)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(auth.SESSION_COOKIE, signer.session_cookie(session.id),
                            max_age=int(auth.SESSION_TTL.total_seconds()), httponly=True, samesite="lax",
                            secure=secure(request), path="/")
        response.delete_cookie(auth.PRELOGIN_COOKIE, path="/login")
        return response

    def _locked_page(request: Request, nxt: str, locked: Any) -> Response:
        response = _login_page(request, nxt, locked.message, 429)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response

    @app.post("/logout")
    def logout(db: Db, user: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
        if not auth.tokens_equal(user.csrf, csrf_token):
            raise HTTPException(403, "CSRF token missing or invalid")
        auth.end_session(db, user.session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ HTML pages

    @app.get("/", response_class=HTMLResponse)
    def queue(db: Db, user: PageUser, filters: Annotated[QueueFilters, Depends()]) -> Response:
        mine = [r for r in index.all() if user.can_see(r)]
        rows = rows_for(db, mine, filters)
        codes = sorted({f.code for r in mine for f in r.flags})
        cities = sorted({d for r in mine if (d := auth.division_of(r.applicant.uscc))})
        return render("queue.html.j2", user=user, rows=rows, codes=codes, total=len(mine), cities=cities,
                      CITY_ZH=auth.JIANGSU_CITIES, SORTS=SORTS, filtered=filters.active(),
                      filters={k: v or "" for k, v in filters.model_dump().items()})

    def rows_for(db: Session, mine: list[ScreeningResult], f: QueueFilters) -> list[dict[str, Any]]:
        decided = latest_decisions(db, [r.application_id for r in mine])
        rows = [_summary(r, decided) for r in mine if _matches(r, f.verdict, f.flag, f.q, f.city)]
        return _sorted_rows(rows, f.sort)

    @app.get("/applications/{application_id}", response_class=HTMLResponse)
    def application(application_id: str, db: Db, user: PageUser) -> Response:
        result = visible(user, application_id)
        keys = flag_keys(result.flags)
        decided = latest_decisions(db, [result.application_id])
        past: dict[str, list[Decision]] = {}
        for d in history(db, result.application_id):
            past.setdefault(d.flag_key, []).append(d)
        flags = [{"n": n, "key": k, "flag": f, "decision": decided.get((result.application_id, k)),
                  "history": past.get(k, [])} for n, (k, f) in enumerate(zip(keys, result.flags))]
        extra = result.verdict.model_extra or {}
        rules = extra.get("rules") if isinstance(extra.get("rules"), list) else None
        return render("application.html.j2", user=user, r=result, flags=flags, rules=rules,
                      blocked=extra.get("blocked"), checklist=checklist(result), fmt=_fmt,
                      viewer=_viewer_data(result, keys), can_decide=user.role in DECIDERS,
                      verdict=verdict_text(result.verdict.meets_star_sought))

    @app.get("/applications/{application_id}/export", response_class=HTMLResponse)
    def export_html(application_id: str, db: Db, user: PageUser) -> Response:
        result = visible(user, application_id)
        html = export.render_html(env, result, history(db, result.application_id), user.username)
        return HTMLResponse(html)

    @app.get("/applications/{application_id}/export.pdf")
    def export_pdf(application_id: str, db: Db, user: PageUser) -> Response:
        result = visible(user, application_id)
        html = export.render_html(env, result, history(db, result.application_id), user.username, inline_css=True)
        try:
            pdf = export.html_to_pdf(html, pdf_browser)
        except export.PdfUnavailable as exc:
            raise HTTPException(503, f"PDF export unavailable: {exc}") from exc
        name = quote(f"{result.application_id}-review.pdf", safe="")
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})

    @app.get("/applications/{application_id}/documents/{doc}/pages/{page}/{size}.jpg")
    def page_image(application_id: str, doc: int, page: int, size: str, request: Request,
                   user: PageUser) -> Response:
        result = visible(user, application_id)
        if size not in SIZES:
            raise HTTPException(404, "no such size")
        headers = {"Cache-Control": "private, max-age=86400"}
        try:
            etag = images.etag(result, doc, page, size)
            headers["ETag"] = etag
            if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
                return Response(status_code=304, headers=headers)
            image = images.get(result, doc, page, size)
        except PageNotFound as exc:
            raise HTTPException(404, f"no page image: {exc}") from exc
        except OriginalChanged as exc:
            raise HTTPException(409, "the original file changed after screening; boxes would not match") from exc
        return Response(image.body, media_type=image.media_type, headers=headers)

    @app.post("/applications/{application_id}/flags/{key}/decision")
    def decide_form(application_id: str, key: str, db: Db, user: PageUser,
                    action: Annotated[str, Form()] = "", comment: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
        if not auth.tokens_equal(user.csrf, csrf_token):
            raise HTTPException(403, "CSRF token missing or invalid")
        result = visible(user, application_id)
        decide(db, user, result, key, action, comment)
        return RedirectResponse(f"/applications/{quote(result.application_id, safe='')}#flag-{key}", status_code=303)

    # ------------------------------------------------------------------ JSON API

    @app.get("/api/me")
    def me(user: ApiUser) -> dict[str, Any]:
        return {"username": user.username, "role": user.role, "city": user.city, "csrf_token": user.csrf}

    @app.get("/api/applications")
    def api_list(db: Db, user: ApiUser, filters: Annotated[QueueFilters, Depends()]) -> dict[str, Any]:
        mine = [r for r in index.all() if user.can_see(r)]
        return {"applications": rows_for(db, mine, filters)}

    @app.get("/api/applications/{application_id}")
    def api_get(application_id: str, db: Db, user: ApiUser) -> dict[str, Any]:
        result = visible(user, application_id)
        keys = flag_keys(result.flags)
        decided = latest_decisions(db, [result.application_id])
        return {
            "result": result.to_dict(),
            "flags": [{"key": k, "code": f.code, "severity": f.severity,
                       "decision": _decision_json(decided.get((result.application_id, k)))}
                      for k, f in zip(keys, result.flags)],
        }

    @app.post("/api/applications/{application_id}/flags/{key}/decision")
    def api_decide(application_id: str, key: str, body: DecisionIn, request: Request, db: Db,
                   user: ApiUser) -> JSONResponse:
        if not auth.tokens_equal(user.csrf, request.headers.get("x-csrf-token")):
            raise HTTPException(403, "CSRF token missing or invalid")
        result = visible(user, application_id)
        row = decide(db, user, result, key, body.action, body.comment)
        return JSONResponse({"key": key, "decision": _decision_json(row)}, status_code=201)

    return app


def _warm_up(env: Any) -> None:
    """Compile the templates and load the taxonomy (the checklist's groups) now: done lazily, they
    made the first application view after a start ~0.7 s slower (bench/web.py)."""
    for name in env.list_templates():
        env.get_template(name)
    try:
        from classifiers.taxonomy import load_taxonomy

        load_taxonomy()
    except Exception:  # noqa: BLE001 - results.checklist logs and copes when it is unavailable
        pass


def _safe_next(nxt: str | None) -> str:
    """Only same-site paths: ``//evil.example`` or ``https://…`` would be an open redirect."""
    if not nxt or not nxt.startswith("/") or nxt.startswith("//") or "\\" in nxt:
        return "/"
    return nxt
