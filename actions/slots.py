"""Slot names and small helpers shared by the actions (one place for the names)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

ORDER_NUMBER = "order_number"
ORDER_EMAIL = "order_email"
ORDER_VERIFIED = "order_verified"      # "number|email" of the pair last verified
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


def verified_pair(tracker: Tracker) -> tuple[str, str] | None:
    """``(order_number, email)`` when the pair in the slots has been verified."""
    number, email = tracker.get_slot(ORDER_NUMBER), tracker.get_slot(ORDER_EMAIL)
    if number and email and tracker.get_slot(ORDER_VERIFIED) == f"{number}|{email}":
        return str(number), str(email)
    return None


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


def customer_id(tracker: Tracker) -> int | None:
    """The signed-in customer of this conversation: the ``customer_id`` the channel
    verified (signed metadata; see ``bot.inbound``) on the latest user message that
    carried one, else ``None`` (an anonymous shopper)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        value = (event.get("metadata") or {}).get("customer_id")
        if value is not None:
            try:
                return int(str(value))
            except ValueError:
                return None
    return None
