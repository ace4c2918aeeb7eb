"""Console sessions, CSRF, the login rate limit and the audit log.

- A login opens a row in ``staff_sessions``; the browser holds the random token
  (cookie ``console_session``, 32 bytes, HttpOnly, SameSite=Strict, Secure over https),
  the table only its SHA-256. A session ends at logout, after ``idle_s`` without a
  request, or ``max_s`` after login, whichever comes first. ``last_seen_at`` is written
  at most every ``touch_s`` seconds (it also tells the gate who is online).
- CSRF: every POST/PUT/DELETE carries ``X-CSRF-Token`` equal to the session's
  ``csrf_token`` (the console page has it in ``<meta name="csrf-token">``); the login
  form uses a double-submit cookie (``console_login_csrf``) + hidden field.
- Failed logins are audited (``login_failed``, with the email, never the password) and
  limit further tries per email: ``limit`` failures in ``window_s`` seconds block that
  email until the window has passed (counted from ``audit_log``, so it holds across
  restarts and processes).
- Failed logins also count per client address, across emails (:class:`LoginGuard`:
  ``per_address`` in ``address_window_s``, in Redis when ``redis_url`` is set), and at
  most ``concurrency`` password checks (argon2id, 64 MiB each) run at once; both are
  checked before any password is verified, so spraying many emails from one address or
  flooding the form costs no more than the limits allow. Unknown emails are verified
  against a dummy hash, so they cost (and take) what known ones do.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.ratelimit import Limit, MemoryCounters, RateLimiter
from shop.db.schema import AuditEntry, StaffSession, StaffUser
from shop.shared_counters import get_limiter

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_token() -> str:
    """32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 of ``token``, hex (what ``staff_sessions.token_hash`` keeps)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two non-empty tokens."""
    return bool(a) and bool(b) and secrets.compare_digest(str(a).encode("utf-8", "surrogatepass"),
                                                          str(b).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class SessionPolicy:
    """``idle_s``: seconds without a request that end a session (default 30 min);
    ``max_s``: seconds after login that end it regardless (8 h); ``touch_s``: least
    seconds between ``last_seen_at`` writes (30)."""

    idle_s: int = 1800
    max_s: int = 28800
    touch_s: int = 30


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of a request. ``teams``: the queues an agent works;
    supervisors and admins see every team (:attr:`all_teams`)."""

    user_id: int
    email: str
    name: str
    role: str
    teams: tuple[str, ...]
    session_id: int
    csrf_token: str

    @property
    def all_teams(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def visible_teams(self) -> tuple[str, ...] | None:
        """The teams whose handoffs this member sees; ``None``: all of them."""
        return None if self.all_teams else self.teams

    def sees(self, team: str) -> bool:
        return self.all_teams or team in self.teams

    def public(self) -> dict[str, Any]:
        """``{"id", "email", "name", "role", "teams"}`` for the page and ``/api/me``."""
        return {"id": self.user_id, "email": self.email, "name": self.name, "role": self.role,
                "teams": list(self.teams)}


def open_session(session: Session, *, user: StaffUser, now: datetime, policy: SessionPolicy) -> str:
    """A new session for ``user``; returns the cookie token (only its hash is stored)."""
    token = new_token()
    session.add(StaffSession(token_hash=token_hash(token), user_id=user.id, csrf_token=new_token(),
                             created_at=now, expires_at=now + timedelta(seconds=policy.max_s), last_seen_at=now))
    session.flush()
    return token


def resolve_session(session: Session, *, token: str | None, now: datetime, policy: SessionPolicy,
                    touch: bool = True) -> Staff | None:
    """The :class:`Staff` behind cookie ``token`` when its session is live, else ``None``.
    A session found idle or past its absolute end is ended (``ended_at``); a live one
    gets ``last_seen_at = now`` when ``touch`` and the last write is ``touch_s`` old."""
    if not token or len(token) > 128:
        return None
    row = session.execute(select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
                          .where(StaffSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    live, user = row
    if live.ended_at is not None:
        return None
    if not user.is_active or now >= live.expires_at or now - live.last_seen_at > timedelta(seconds=policy.idle_s):
        live.ended_at = now
        return None
    if touch and now - live.last_seen_at >= timedelta(seconds=policy.touch_s):
        live.last_seen_at = now
    return Staff(user_id=user.id, email=user.email, name=user.name, role=user.role,
                 teams=tuple(user.teams or ()), session_id=live.id, csrf_token=live.csrf_token)


def end_session(session: Session, *, session_id: int, now: datetime) -> None:
    """Log out: the session no longer resolves."""
    live = session.get(StaffSession, session_id)
    if live is not None and live.ended_at is None:
        live.ended_at = now


def audit(session: Session, *, action: str, now: datetime, user_id: int | None = None,
          handoff_id: int | None = None, **detail: Any) -> AuditEntry:
    """Append one row to ``audit_log`` (``detail``: JSON-able facts, never a password)."""
    entry = AuditEntry(at=now, user_id=user_id, action=action[:40], handoff_id=handoff_id, detail=detail)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class LoginLimit:
    """``limit`` failed logins per email within ``window_s`` seconds (default 5 in 5 min);
    ``per_address`` failed logins per client address within ``address_window_s``
    seconds, whatever the emails (default 20 in 15 min); ``concurrency`` password checks
    at once, each login waiting at most ``wait_s`` seconds for its turn (default 2 and
    2 s); ``redis_url``: where the per-address counts are shared (``""``: this app only)."""

    limit: int = 5
    window_s: int = 300
    per_address: int = 20
    address_window_s: int = 900
    concurrency: int = 2
    wait_s: float = 2.0
    redis_url: str = ""


class LoginGuard:
    """One console app's login limits before any password is verified: failures per
    client address (``shop.shared_counters.get_limiter`` with ``limit.redis_url``; counters
    of this guard's own without one) and a semaphore over the password checks."""

    def __init__(self, limit: LoginLimit) -> None:
        if limit.per_address < 1 or limit.concurrency < 1 or limit.wait_s < 0:
            raise ValueError("per_address and concurrency must be at least 1 and wait_s not negative")
        self.limit = limit
        self.by_address = Limit("console-login-address", limit.per_address, limit.address_window_s)
        self.limiter = get_limiter(limit.redis_url) if limit.redis_url else RateLimiter(MemoryCounters())
        self._checks = threading.BoundedSemaphore(limit.concurrency)

    def address_blocked(self, address: str) -> float | None:
        """Seconds until ``address`` may try again when its failures are used up, else ``None``."""
        return self.limiter.over(self.by_address, address)

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        self.limiter.hit(self.by_address, address)

    @contextmanager
    def password_check(self) -> Iterator[bool]:
        """A turn to verify a password: yields ``True`` once one is free, ``False`` when
        none freed up within ``wait_s`` (the caller answers busy instead of queueing)."""
        acquired = self._checks.acquire(timeout=self.limit.wait_s)
        try:
            yield acquired
        finally:
            if acquired:
                self._checks.release()


def login_blocked(session: Session, *, email: str, now: datetime, limit: LoginLimit) -> bool:
    """Whether ``email`` has ``limit.limit`` or more failed logins in the window."""
    since = now - timedelta(seconds=limit.window_s)
    failures = session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "login_failed", AuditEntry.at > since,
        AuditEntry.detail["email"].as_string() == email)) or 0
    return int(failures) >= limit.limit
