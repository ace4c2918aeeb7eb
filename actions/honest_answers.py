"""Honest answers: a message in another language gets "I can only chat in English for
now" in that language, and a request this shop can't handle in the chat (accounts,
passwords, invoices, newsletters, reviews, loyalty, jobs) gets what can't be done here
and what can. Both offer a person (button ``/request_human``); neither changes a slot,
searches or touches an order, so an active form simply goes on afterwards."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from shop.services.language_replies import reply_for
from shop.services.unsupported_topics import unsupported_reply

LANGUAGE_ENTITY = "language"


def _detected_language(tracker: Tracker) -> str | None:
    """The ``language`` entity the NLU's language check set on the latest message."""
    for entity in tracker.latest_message.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == LANGUAGE_ENTITY:
            value: Any = entity.get("value")
            return value if isinstance(value, str) else None
    return None


def _locale(tracker: Tracker) -> str | None:
    value = (tracker.latest_message.get("metadata") or {}).get("locale")
    return value if isinstance(value, str) else None


class ActionOtherLanguage(Action):
    """Say, in the shopper's language when there is a reviewed translation (else in
    English), that the assistant speaks English for now and a person can help."""

    def name(self) -> str:
        return "action_other_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reply = reply_for(_detected_language(tracker), _locale(tracker))
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons())
        return []


class ActionUnsupportedRequest(Action):
    """Say plainly what can't be done in the chat (by topic when the words show it),
    what the assistant can do, and offer a person."""

    def name(self) -> str:
        return "action_unsupported_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reply = unsupported_reply(S.latest_text(tracker))
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons())
        return []
