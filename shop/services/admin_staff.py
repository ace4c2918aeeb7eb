"""The password rule for staff accounts made from the command line (the console keeps
its own 12-256 character check; hashing is the console's argon2id,
``apps.console.staff.hash_password``)."""

from __future__ import annotations

import re

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_DISTINCT = 6
#: words that make a password guessable wherever they appear in it
COMMON_WORDS = ("password", "passwort", "123456", "qwerty", "azerty", "letmein", "welcome", "admin", "iloveyou",
                "abc123", "111111", "monkey", "dragon", "secret", "changeme", "ridgeline")
PASSWORD_RULE = (f"{MIN_LENGTH}-{MAX_LENGTH} characters with at least {MIN_DISTINCT} different ones; not "
                 "containing the email's name part, the person's name, or a common password word (password, "
                 "123456, qwerty, admin, welcome, ...). A few unrelated words make a good one.")


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What makes ``password`` too weak under :data:`PASSWORD_RULE` (``[]``: strong enough)."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"it must be {MIN_LENGTH}-{MAX_LENGTH} characters long (it has {len(password)})")
    if len(set(password)) < MIN_DISTINCT:
        problems.append(f"it must have at least {MIN_DISTINCT} different characters")
    low = password.lower()
    common = [w for w in COMMON_WORDS if w in low]
    if common:
        problems.append(f"it contains the common password word {common[0]!r}")
    local = email.split("@", 1)[0].lower()
    personal = [w for w in re.split(r"[^a-z0-9]+", f"{local} {name.lower()}") if len(w) >= 3]
    if any(w in low for w in personal):
        problems.append("it contains the email's name part or the person's name")
    if any(ch in password for ch in "\r\n\0"):
        problems.append("it must not contain line breaks or NUL characters")
    return problems
