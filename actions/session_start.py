"""``action_session_start``: Rasa's session start, plus the shop's name.

Every new conversation, and one idle past the domain's session expiration, starts here:
``session_started``, the ``shop_name`` slot set to ``SHOP_NAME`` (the responses of
``bot/domain.yml`` say "{shop_name}"; the Rasa server can't read the shop's settings),
then ``action_listen``. Slots carry over only when the domain says so
(``carry_over_slots_to_new_session``, false here), as in Rasa's own session start.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from shop.settings import get_settings

SHOP_NAME_SLOT = "shop_name"


def _carried_slots(tracker: Tracker, domain: DomainDict) -> list[EventType]:
    """The slot events of the ending session, when the domain carries slots over."""
    config: Any = domain.get("session_config") or {}
    if not config.get("carry_over_slots_to_new_session"):
        return []
    return [SlotSet(e["name"], e.get("value")) for e in tracker.events
            if e.get("event") == "slot" and e.get("name") != SHOP_NAME_SLOT]


class ActionSessionStart(Action):
    """Start a session with the shop's name in the ``shop_name`` slot."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return [SessionStarted(), *_carried_slots(tracker, domain),
                SlotSet(SHOP_NAME_SLOT, get_settings().shop_name), ActionExecuted("action_listen")]
