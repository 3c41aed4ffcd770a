"""Login throttling: failed attempts counted per username and per client address.

After ``max_failures_per_user`` failed logins for one username (or ``max_failures_per_ip`` from one
address) within ``window_seconds``, that username (address) is locked for ``lockout_seconds``: every
login for it is answered 429 *without checking the password*, so a guessing run learns nothing
during the lockout. A successful login clears the username's counter.

Kept in memory (one process): the counters are a speed bump against online guessing, not an
audit record. Several server processes would each count on their own — the effective limit is
then ``workers ×`` the setting; put the limit in the reverse proxy too when running several.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottleSettings:
    """Named limits (defaults: 5 wrong passwords per user / 20 per address in 15 min → 15 min lock)."""

    max_failures_per_user: int = 5
    max_failures_per_ip: int = 20
    window_seconds: float = 15 * 60
    lockout_seconds: float = 15 * 60
    max_tracked: int = 100_000
    """Bound on remembered keys, so a flood of made-up usernames cannot exhaust memory."""


@dataclass(frozen=True)
class Locked:
    """Why a login is refused right now, and for how long."""

    scope: str  # "user" or "ip"
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        what = "该账号" if self.scope == "user" else "该地址"
        minutes = max(1, -(-self.retry_after // 60))
        return (f"登录失败次数过多，{what}已暂时锁定，请 {minutes} 分钟后再试 "
                f"(too many failed logins: locked, try again in {minutes} min)")


class LoginThrottle:
    """Thread-safe failure counters with lockout; ``clock`` is injectable for tests."""

    def __init__(self, settings: ThrottleSettings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or ThrottleSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}

    @staticmethod
    def _keys(username: str, ip: str | None) -> list[tuple[str, str]]:
        keys = [("user", "u:" + username.casefold())]
        if ip:
            keys.append(("ip", "ip:" + ip))
        return keys

    def check(self, username: str, ip: str | None) -> Locked | None:
        """The lock in force for this username or address, if any."""
        now = self._clock()
        with self._lock:
            for scope, key in self._keys(username, ip):
                until = self._locked_until.get(key)
                if until is None:
                    continue
                if until > now:
                    return Locked(scope, int(until - now) + 1)
                del self._locked_until[key]
                self._failures.pop(key, None)
        return None

    def failed(self, username: str, ip: str | None) -> Locked | None:
        """Count one failed login; returns the lock it triggered, if any."""
        s = self.settings
        now = self._clock()
        triggered = None
        with self._lock:
            if len(self._failures) > s.max_tracked:
                self._prune(now)
            for scope, key in self._keys(username, ip):
                q = self._failures.setdefault(key, deque())
                q.append(now)
                while q and q[0] <= now - s.window_seconds:
                    q.popleft()
                limit = s.max_failures_per_user if scope == "user" else s.max_failures_per_ip
                if len(q) >= limit:
                    self._locked_until[key] = now + s.lockout_seconds
                    q.clear()
                    triggered = triggered or Locked(scope, int(s.lockout_seconds))
        return triggered

    def succeeded(self, username: str) -> None:
        with self._lock:
            key = self._keys(username, None)[0][1]
            self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_seconds
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= horizon]:
            del self._failures[key]
        for key in [k for k, t in self._locked_until.items() if t <= now]:
            del self._locked_until[key]
