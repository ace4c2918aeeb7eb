"""CSAT: ``action_record_csat`` stores a one-tap rating (intent ``rate``, only ever sent
by the rating buttons: ``/rate{"score": 4}`` after the goodbye, ``/rate{"score": 4,
"handoff_id": 12}`` after a handoff; :mod:`shop.services.csat`)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import ServiceUnavailable, call_service
from shop.services.csat import DISSATISFIED_UP_TO, CsatError, record_rating
from shop.services.interactions import utc_now


def chat_started(tracker: Tracker) -> str:
    """The current chat session's start (its last ``session_started`` event, epoch
    seconds), so an end-of-chat rating counts once per session; ``"0"`` when unknown."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            stamp = event.get("timestamp")
            if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
                return str(int(stamp))
            break
    return "0"


def _entity(tracker: Tracker, name: str) -> Any:
    """The entity's value; ``None`` when absent; every value when there are several (refused)."""
    values = [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


class ActionRecordCsat(Action):
    """Store the rating for this conversation (the tracker's own sender id: a payload
    cannot name another conversation; a ``handoff_id`` must be this conversation's) and
    thank the shopper; a second rating of the same chat or handoff is refused politely,
    a score outside 1-5 too."""

    def name(self) -> str:
        return "action_record_csat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        try:
            outcome = await call_service(
                record_rating, conversation=tracker.sender_id or "",
                channel=tracker.get_latest_input_channel() or "rest", score=_entity(tracker, "score"),
                handoff_id=_entity(tracker, "handoff_id"), chat_ref=chat_started(tracker), now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        except CsatError:
            dispatcher.utter_message(response="utter_csat_invalid")
            return []
        if outcome.duplicate:
            dispatcher.utter_message(response="utter_csat_already_rated")
        elif outcome.score <= DISSATISFIED_UP_TO:
            dispatcher.utter_message(response="utter_csat_thanks_low", score=outcome.score)
        else:
            dispatcher.utter_message(response="utter_csat_thanks", score=outcome.score)
        return []
