"""Slot names and small helpers shared by the actions (one place for the names)."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Tracker

from shop.settings import get_settings

ORDER_NUMBER = "order_number"
ORDER_EMAIL = "order_email"
ORDER_VERIFIED = "order_verified"      # "number|email|<expires epoch s>" of the pair last verified
ORDER_STATUS = "order_status"
LOOKUP_FAILURES = "lookup_failures"
CONFIRM_CANCEL = "confirm_cancel"
NEW_ADDRESS = "new_address"
RETURN_ITEM = "return_item"
RETURN_REASON = "return_reason"
RETURN_REFUSAL = "return_refusal"
LAST_SEARCH = "last_search"
LAST_RESULTS = "last_results"
FOCUS_PRODUCT = "focus_product"

SEARCH_ENTITIES = ("category", "brand", "colour", "size", "gender", "use_case")


def verification(number: str, email: str, *, now: float, ttl_s: int) -> str:
    """The ``ORDER_VERIFIED`` value for a pair verified at ``now``: ``"number|email|<expiry>"``,
    the expiry ``ttl_s`` seconds on (whole epoch seconds)."""
    return f"{number}|{email}|{int(now) + ttl_s}"


def verified_pair(tracker: Tracker, *, now: float | None = None, ttl_s: int | None = None) -> tuple[str, str] | None:
    """``(order_number, email)`` when the pair in the slots has been verified and the
    verification has not expired: its expiry is after ``now`` (default: the clock) and
    at most ``ttl_s`` (default ``Settings.order_verify_ttl_s``) seconds ahead. Else
    ``None`` (the shopper is asked for the email again)."""
    number, email = tracker.get_slot(ORDER_NUMBER), tracker.get_slot(ORDER_EMAIL)
    if not (number and email):
        return None
    pair, _, expiry = str(tracker.get_slot(ORDER_VERIFIED) or "").rpartition("|")
    if pair != f"{number}|{email}" or not expiry.isdigit():
        return None
    now = time.time() if now is None else now
    ttl_s = get_settings().order_verify_ttl_s if ttl_s is None else ttl_s
    if not now < int(expiry) <= now + ttl_s:
        return None
    return str(number), str(email)


def verification_expired(tracker: Tracker, *, now: float | None = None, ttl_s: int | None = None) -> bool:
    """Whether ``ORDER_VERIFIED`` holds a verification (of any pair) that no longer counts:
    its expiry has passed, is too far ahead, or is missing (an older format)."""
    value = str(tracker.get_slot(ORDER_VERIFIED) or "")
    if not value:
        return False
    expiry = value.rpartition("|")[2]
    now = time.time() if now is None else now
    ttl_s = get_settings().order_verify_ttl_s if ttl_s is None else ttl_s
    return not (expiry.isdigit() and now < int(expiry) <= now + ttl_s)


def latest_entities(tracker: Tracker) -> dict[str, Any]:
    """The first value of each entity in the latest user message."""
    out: dict[str, Any] = {}
    for entity in tracker.latest_message.get("entities", []) or []:
        out.setdefault(entity.get("entity"), entity.get("value"))
    return out


def entity_values(tracker: Tracker, name: str) -> tuple[str, ...]:
    """Every value of entity ``name`` in the latest user message, in order, without repeats."""
    values = [str(e.get("value")) for e in tracker.latest_message.get("entities", []) or []
              if e.get("entity") == name and e.get("value") is not None]
    return tuple(dict.fromkeys(values))


def latest_text(tracker: Tracker) -> str:
    """The latest user message text ('' when there is none)."""
    return str(tracker.latest_message.get("text") or "")


def product_id_entity(tracker: Tracker) -> int | None:
    """The ``product_id`` a card button sent (``/product_details{"product_id": 12}``)."""
    value = latest_entities(tracker).get("product_id")
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def from_button(tracker: Tracker) -> bool:
    """True when the latest message is a button payload (``/intent{...}``), not typed."""
    return latest_text(tracker).startswith("/")


def latest_metadata(tracker: Tracker) -> dict[str, Any]:
    """The metadata the channel kept (``bot.inbound.verified_metadata``) on the latest
    user message, ``{}`` when there is none. Rasa keeps it on the user event, not in
    ``latest_message``."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            metadata = event.get("metadata")
            return metadata if isinstance(metadata, dict) else {}
    return {}


def customer_id(tracker: Tracker) -> int | None:
    """The signed-in customer of the latest user message: the ``customer_id`` the channel
    verified (signed metadata; see ``bot.inbound``) on that message, else ``None`` (an
    anonymous shopper). Earlier messages never count: the channels check the signature
    on every message, and the widget sends it with every message."""
    value = latest_metadata(tracker).get("customer_id")
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def page_url(tracker: Tracker) -> object:
    """The ``page_url`` the widget sent with the latest message (as sent: any type, or
    ``None``); :func:`shop.services.page_context.page_product` decides whether it counts."""
    return latest_metadata(tracker).get("page_url")
