"""CSAT rating buttons for the messaging channels (plain Python, no Rasa).

The staff console relays a rating request after a handoff as a ``custom`` payload
``{"type": "csat_request", "scale": 5, "handoff_id": 12}`` with text and no buttons
(the relay carries no buttons); the web widget draws it as stars. For Telegram, Slack
and WhatsApp, :func:`with_rating_buttons` adds the five buttons
``/rate{"score": N, "handoff_id": H}`` (titles Poor … Great, score order), which
:mod:`bot.degrade` turns into an inline keyboard, a button block or the numbered lines
``1. Poor`` … ``5. Great``. A relayed message is not part of a shopper's turn, so its
numbers are remembered here at once (a reply of ``4`` then means score 4); within a
turn, the turn's own remembering, which runs last, wins. The goodbye's rating buttons
come from the domain (``utter_goodbye``) and are left as they are.
"""

from __future__ import annotations

from typing import Any

from bot.degrade import ReplyNumbers

#: the CSAT scale's button titles, score 1..5 (the same as ``shop.services.csat.LABELS``)
RATING_LABELS = ("Poor", "Fair", "Okay", "Good", "Great")


def is_rating_request(message: dict[str, Any]) -> bool:
    custom = message.get("custom")
    return isinstance(custom, dict) and custom.get("type") == "csat_request"


def with_rating_buttons(message: dict[str, Any], numbers: ReplyNumbers | None = None,
                        key: tuple[str, str] | None = None) -> dict[str, Any]:
    """``message`` with the five rating buttons when it is a rating request without
    buttons, else unchanged; with ``numbers`` and ``key`` (``(channel, sender)``) the
    numbers 1-5 are remembered for that conversation. Only a positive integer
    ``handoff_id`` goes into the payloads (anything else is left out, never spliced in)."""
    if not is_rating_request(message) or message.get("buttons"):
        return message
    handoff_id = message["custom"].get("handoff_id")
    ref = f', "handoff_id": {handoff_id}' if type(handoff_id) is int and handoff_id > 0 else ""
    buttons = [{"title": label, "payload": f'/rate{{"score": {n}{ref}}}'}
               for n, label in enumerate(RATING_LABELS, start=1)]
    if numbers is not None and key is not None:
        numbers.remember(key, {n: b["payload"] for n, b in enumerate(buttons, start=1)})
    return {**message, "buttons": buttons}
