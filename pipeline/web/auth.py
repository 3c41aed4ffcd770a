"""Accounts, sessions, CSRF and who may see which application.

* Passwords: argon2id (argon2-cffi defaults); a login for an unknown user still runs one hash
  verification so response time does not reveal which usernames exist.
* Sessions: a random id stored server-side (``sessions`` table), sent as an itsdangerous-signed,
  HttpOnly, SameSite=Lax cookie — Secure unless the app is reached on localhost.
* CSRF: every POST carries the session's token (form field ``csrf_token`` or header
  ``X-CSRF-Token``). Before login, a double-submit token (signed cookie + form field) guards the
  login form itself.
* Visibility: a city reviewer sees an application only when its credit code's division
  (characters 3–6, e.g. ``3202`` 无锡) is their city; province reviewers and admins see all.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.model import ScreeningResult
from pipeline.web.db import ROLES, LoginSession, User, utcnow

SESSION_COOKIE = "ys_session"
PRELOGIN_COOKIE = "ys_prelogin"
SESSION_TTL = timedelta(hours=12)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "testserver"})
"""Hosts served over plain HTTP in development and tests: the cookie is not marked Secure there."""

JIANGSU_CITIES: dict[str, str] = {
    "3201": "南京", "3202": "无锡", "3203": "徐州", "3204": "常州", "3205": "苏州", "3206": "南通", "3207": "连云港",
    "3208": "淮安", "3209": "盐城", "3210": "扬州", "3211": "镇江", "3212": "泰州", "3213": "宿迁",
}
"""Division code (credit-code characters 3–6) → city, for labels in the queue's city filter."""

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")
_CITY = re.compile(r"^32\d{2}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


@dataclass(frozen=True)
class Principal:
    """The logged-in reviewer, as the request handlers see them."""

    user_id: int
    username: str
    role: str
    city: str | None
    session_id: str
    csrf: str

    def can_see(self, result: ScreeningResult) -> bool:
        return can_see(self.role, self.city, result)


def division_of(uscc: str | None) -> str | None:
    """Characters 3–6 of a credit code: the registering division (``3202`` = 无锡)."""
    if not uscc or len(uscc) < 6:
        return None
    code = uscc[2:6]
    return code if code.isdigit() else None


def can_see(role: str, city: str | None, result: ScreeningResult) -> bool:
    if role in ("province", "admin"):
        return True
    if role == "city" and city:
        return division_of(result.applicant.uscc) == city
    return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(db: Session, username: str, password: str, role: str, city: str | None = None) -> User:
    """Create a user; raises ``ValueError`` with a clear message for a bad role, city or name."""
    if not _USERNAME.match(username or ""):
        raise ValueError("username: 2–64 characters of letters, digits, _ . @ -")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "city":
        if not city or not _CITY.match(city):
            raise ValueError("a city reviewer needs a Jiangsu division code such as 3202 (无锡)")
    elif city:
        raise ValueError("only city reviewers have a city")
    if len(password or "") < 8:
        raise ValueError("password: at least 8 characters")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists")
    user = User(username=username, password_hash=hash_password(password), role=role, city=city)
    db.add(user)
    db.commit()
    return user


def authenticate(db: Session, username: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.username == username, User.active.is_(True)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.commit()
    return user


def start_session(db: Session, user: User) -> LoginSession:
    now = utcnow()
    s = LoginSession(
        id=secrets.token_urlsafe(32), user_id=user.id, csrf=secrets.token_urlsafe(32),
        created_at=now, expires_at=now + SESSION_TTL,
    )
    db.add(s)
    db.commit()
    return s


def end_session(db: Session, session_id: str) -> None:
    s = db.get(LoginSession, session_id)
    if s is not None:
        s.revoked = True
        db.commit()


class Signer:
    """Signs the session id and the pre-login CSRF token carried in cookies."""

    def __init__(self, secret: str) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="yunshen.web.session")
        self._prelogin = URLSafeTimedSerializer(secret, salt="yunshen.web.prelogin")

    def session_cookie(self, session_id: str) -> str:
        return self._session.dumps(session_id)

    def session_id(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._session.loads(cookie, max_age=int(SESSION_TTL.total_seconds()))
        except BadSignature:
            return None

    def prelogin_cookie(self, token: str) -> str:
        return self._prelogin.dumps(token)

    def prelogin_token(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._prelogin.loads(cookie, max_age=3600)
        except BadSignature:
            return None


def principal(db: Session, session_id: str | None) -> Principal | None:
    """The reviewer behind a (verified) session id, if the session and the account are live."""
    if not session_id:
        return None
    s = db.get(LoginSession, session_id)
    if s is None or s.revoked or s.expires_at < utcnow():
        return None
    user = db.get(User, s.user_id)
    if user is None or not user.active:
        return None
    return Principal(user.id, user.username, user.role, user.city, s.id, s.csrf)


def tokens_equal(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def cookie_secure(host: str | None, scheme: str = "http", setting: bool | None = None) -> bool:
    """Mark cookies Secure when ``setting`` says so; left to ``None``: over https always, and over
    http everywhere except on a local development host."""
    if setting is not None:
        return setting
    if scheme == "https":
        return True
    host = (host or "").strip().lower()
    name = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
    return name not in LOCAL_HOSTS
