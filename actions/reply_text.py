"""How product cards go out: one message per list, its ``text`` a numbered list that
reads on any channel, its ``custom`` payload the cards the web widget draws.

Payload::

    {"type": "product_cards", "heading": "Here are 1–5 of 12:", "start": 1,
     "cards": [ProductCard.as_payload(), ...]}

``heading`` may be empty (an intro was already said); ``start`` is the number of the
first card in the list (6 on the second page). Messaging channels (``bot.degrade``)
rebuild the list from the cards with links; the widget shows ``heading`` and a carousel.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher


def cards_payload(cards: list[dict[str, Any]], *, heading: str = "", start: int = 1) -> dict[str, Any]:
    """The ``product_cards`` custom payload for ``cards`` (``as_payload()`` dicts)."""
    return {"type": "product_cards", "heading": heading, "start": start, "cards": cards}


def utter_cards(dispatcher: CollectingDispatcher, cards: list[dict[str, Any]], *, lines: list[str],
                heading: str = "", start: int = 1) -> None:
    """One message: ``heading`` and ``lines`` as text, the cards as the custom payload."""
    text = "\n".join([heading, *lines] if heading else lines)
    dispatcher.utter_message(text=text or None, json_message=cards_payload(cards, heading=heading, start=start))
