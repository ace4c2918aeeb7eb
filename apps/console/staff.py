"""Staff accounts: argon2id password hashes, creating staff, and the demo logins
``python -m apps.cli console`` makes on first run."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.db.schema import STAFF_ROLES, StaffUser

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
TEAM_RE = re.compile(r"[a-z0-9_-]{1,40}")
MIN_PASSWORD = 12
MAX_PASSWORD = 256
DEMO_AGENT = ("agent@ridgeline.example", "Sam (demo agent)", "agent")
DEMO_SUPERVISOR = ("lead@ridgeline.example", "Robin (demo supervisor)", "supervisor")


class StaffError(ValueError):
    """Staff data that cannot be stored (bad email, role, team or password, or an email
    already in use); the message says which."""


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    """argon2-cffi's :class:`PasswordHasher` with its defaults (argon2id, RFC 9106 low-memory
    profile: t=3, m=64 MiB, p=4)."""
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; PHC string ``$argon2id$...``)."""
    return password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; ``False`` for a malformed hash."""
    try:
        return password_hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other parameters than today's (rehash at login)."""
    try:
        return password_hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash to verify against when the email is unknown, so a failed login takes about
    as long whether or not the account exists."""
    return hash_password(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()[:254]


def create_staff(session: Session, *, email: str, name: str, password: str, role: str,
                 teams: Sequence[str], now: datetime) -> StaffUser:
    """Add a staff member. ``role``: ``agent``, ``supervisor`` or ``admin``; ``teams``:
    queue names (lowercase letters, digits, ``_``/``-``); ``password``: 12-256 characters,
    stored only as its argon2id hash. Raises :class:`StaffError`."""
    email = normalize_email(email)
    if not EMAIL_RE.fullmatch(email):
        raise StaffError("email must look like name@example.com")
    if role not in STAFF_ROLES:
        raise StaffError(f"role must be one of {', '.join(STAFF_ROLES)}")
    name = " ".join(name.split())[:120]
    if not name:
        raise StaffError("name must not be empty")
    clean_teams = list(dict.fromkeys(t.strip().lower() for t in teams))
    if any(not TEAM_RE.fullmatch(t) for t in clean_teams):
        raise StaffError("teams must be 1-40 lowercase letters, digits, '_' or '-'")
    if role == "agent" and not clean_teams:
        raise StaffError("an agent needs at least one team")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if session.scalar(select(StaffUser.id).where(func.lower(StaffUser.email) == email)) is not None:
        raise StaffError("a staff member with that email already exists")
    user = StaffUser(email=email, name=name, password_hash=hash_password(password), role=role,
                     teams=clean_teams, is_active=True, created_at=now)
    session.add(user)
    session.flush()
    return user


def find_staff(session: Session, *, email: str) -> StaffUser | None:
    """The staff member with ``email`` (case-insensitive), or ``None``."""
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == normalize_email(email)))


def ensure_demo_staff(session: Session, *, path: Path, now: datetime,
                      agent_teams: Sequence[str] = ("support",)) -> list[tuple[str, str]]:
    """When nobody is on the staff yet: a demo agent (``agent@ridgeline.example``,
    ``agent_teams``) and a demo supervisor (``lead@ridgeline.example``), each with a
    random password, written to ``path`` (mode 600, ``email password role`` per line).
    Returns ``[(email, password), ...]``; ``[]`` when staff already exist."""
    if session.scalar(select(func.count()).select_from(StaffUser)):
        return []
    logins = []
    for (email, name, role), teams in ((DEMO_AGENT, agent_teams), (DEMO_SUPERVISOR, ())):
        password = secrets.token_urlsafe(12)
        create_staff(session, email=email, name=name, password=password, role=role, teams=list(teams), now=now)
        logins.append((email, password, role))
    write_private(path, "".join(f"{email} {password} {role}\n" for email, password, role in logins))
    return [(email, password) for email, password, _ in logins]


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (mode 600), parents created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)
