"""Signed identities the shop's servers hand to browsers, checked by the Rasa server.

- **Customer ids.** The shop's page signs the signed-in customer's id with
  ``SHOP_IDENTITY_SECRET`` and an expiry; a channel accepts a ``customer_id`` only with
  a matching, unexpired signature (``customer_sig``, ``"<expires_at>.<hex>"``).
- **Widget sessions.** The Rasa server issues each web-widget conversation a session
  token (``"<session id>.<expires_at>.<hex>"``) signed with ``SHOP_SESSION_SECRET``; a
  browser can only continue a conversation whose token it was given. Session ids are
  32 random hex digits, so they never collide with another channel's ids.

Every signature is HMAC-SHA256 over a string that names what it signs (``cid|…``,
``session|…``), so one kind can never be passed off as the other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

DEFAULT_CUSTOMER_TTL_S = 12 * 3600
DEFAULT_SESSION_TTL_S = 24 * 3600
_SESSION_RE = re.compile(r"^([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{64})$")
_CUSTOMER_SIG_RE = re.compile(r"^([0-9]{1,12})\.([0-9a-f]{64})$")


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_customer_id(customer_id: str | int, secret: str, *, expires_at: int) -> str:
    """``"<expires_at>.<hex HMAC>"``: what the shop's page sends as ``customer_sig``
    with ``customer_id`` (valid until the epoch second ``expires_at``)."""
    expires_at = int(expires_at)
    return f"{expires_at}.{_mac(secret, f'cid|{customer_id}|{expires_at}')}"


def customer_sig_valid(customer_id: object, sig: object, secret: str, *, now: float) -> bool:
    """Whether ``sig`` is :func:`sign_customer_id` of ``customer_id`` under ``secret``
    and has not expired at ``now``. Never true without a secret."""
    if not secret or customer_id is None or not isinstance(sig, str):
        return False
    match = _CUSTOMER_SIG_RE.match(sig.strip().lower())
    if match is None or int(match.group(1)) <= now:
        return False
    expected = _mac(secret, f"cid|{customer_id}|{int(match.group(1))}")
    return hmac.compare_digest(expected, match.group(2))


def issue_session(secret: str, *, now: float, ttl_s: int = DEFAULT_SESSION_TTL_S,
                  session_id: str | None = None) -> tuple[str, str]:
    """``(session_id, token)``: a new session (32 random hex digits) or, to extend a
    valid one, ``session_id``; the token expires ``ttl_s`` seconds after ``now``."""
    sid = session_id or secrets.token_hex(16)
    expires_at = int(now) + int(ttl_s)
    return sid, f"{sid}.{expires_at}.{_mac(secret, f'session|{sid}|{expires_at}')}"


def session_of(token: object, secret: str, *, now: float) -> str | None:
    """The session id of a valid, unexpired session ``token`` (else ``None``)."""
    if not secret or not isinstance(token, str):
        return None
    match = _SESSION_RE.match(token.strip())
    if match is None or int(match.group(2)) <= now:
        return None
    sid, expires_at = match.group(1), int(match.group(2))
    if not hmac.compare_digest(_mac(secret, f"session|{sid}|{expires_at}"), match.group(3)):
        return None
    return sid
