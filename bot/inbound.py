"""Checks on every inbound message, shared by the channels (plain Python, no Rasa).

- :func:`decode_body` turns raw request bytes into JSON, tolerating invalid UTF-8.
- :func:`clean_text` removes control characters and unpaired surrogates.
- :func:`check_message` says what is wrong with a message, in words for the shopper.
- :func:`verified_metadata` keeps only allowed metadata, and a customer id only
  when the page signed it with the shop's secret and the signature has not expired.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from typing import Any

from protocol.identity import customer_sig_valid

ALLOWED_METADATA = ("locale", "page_url")
MAX_METADATA_CHARS = 2048   # a longer locale or page URL is not kept at all
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

EMPTY_REPLY = "It looks like your message was empty. What can I help you with?"
BAD_BODY_REPLY = (
    "Sorry, I couldn't read that request. Send JSON like "
    '{"sender": "some-id", "message": "hello"}.'
)


def decode_body(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in ``raw`` (invalid UTF-8 bytes become U+FFFD), or ``None``
    when the body is not a JSON object."""
    try:
        value = json.loads(raw.decode("utf-8", errors="replace"))
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def clean_text(text: str) -> str:
    """``text`` without control characters (newline and tab stay) or unpaired
    surrogates, NFC-normalised and stripped."""
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace")
    text = _CONTROL_RE.sub(" ", text)
    return unicodedata.normalize("NFC", text).strip()


def check_message(text: str | None, *, max_chars: int) -> str | None:
    """A reply for a message the assistant should not process, or ``None`` if fine."""
    if text is None or not text.strip():
        return EMPTY_REPLY
    if len(text) > max_chars:
        return (
            f"That message is {len(text):,} characters long; I can read up to {max_chars:,}. "
            "Could you send a shorter version?"
        )
    if not any(ch.isprintable() and not ch.isspace() and ch != "\ufffd" for ch in text):
        return "I couldn't read that message. Could you type it again?"
    return None


def verified_metadata(metadata: Any, *, secret: str, now: float | None = None) -> dict[str, Any]:
    """Allowed keys of ``metadata``; ``customer_id`` only when ``customer_sig`` is its
    unexpired signature under ``secret`` (:func:`protocol.identity.customer_sig_valid`;
    never when no secret is configured). ``now``: epoch seconds (default: the clock)."""
    if not isinstance(metadata, dict):
        return {}
    # an over-long value is dropped, not cut: a cut URL may name another page
    out = {k: metadata[k] for k in ALLOWED_METADATA
           if isinstance(metadata.get(k), str) and len(metadata[k]) <= MAX_METADATA_CHARS}
    customer_id = metadata.get("customer_id")
    if isinstance(customer_id, (str, int)) and not isinstance(customer_id, bool) and customer_sig_valid(
            str(customer_id), metadata.get("customer_sig"), secret, now=time.time() if now is None else now):
        out["customer_id"] = str(customer_id)
    return out
