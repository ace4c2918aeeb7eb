"""Order actions: identity-checked forms for status, cancel, address change and
returns, and the actions that run when each form is complete.

Identity: a form collects the order number and the email on the order; the pair is
checked against the database before anything about the order is said. A wrong pair
gets the same answer whether the order exists or not, and after
``Settings.max_order_lookup_failures`` wrong pairs the conversation stops trying.
Wrong pairs also count across conversations, per e-mail address and per order number
(``Settings.order_lookup_failures_per_email`` an hour, ``shop.services.order_lookup_limits``);
once either is used up the pair is not looked up at all and the shopper is offered a
person. A verification lasts ``Settings.order_verify_ttl_s`` seconds
(``ORDER_VERIFIED`` = ``"number|email|<expiry>"``); after that the email is asked again.

Orders that live on the shop's commerce platform (Shopify, WooCommerce) are changed
there first (``actions.runtime.call_write_back``); when it can't be reached the
shopper hears :data:`PLATFORM_UNAVAILABLE` and nothing was changed.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import slots as S
from actions.runtime import ServiceUnavailable, call_service, call_write_back
from shop.services import orders as order_service
from shop.services import returns as return_service
from shop.services.interactions import utc_now
from shop.services.money import format_money
from shop.services.order_access import check_order_access, return_options
from shop.services.order_lookup_limits import lookups_blocked, record_failed_lookup
from shop.services.text_parse import Address, parse_address, parse_email, parse_order_number
from shop.settings import get_settings
from shop.shared_counters import get_limiter

BLOCKED_WHY = {
    "shipped": "it has already shipped",
    "already_shipped": "it has already shipped",
    "delivered": "it has already been delivered",
    "cancelled": "it's already cancelled",
    "already_cancelled": "it's already cancelled",
    "refused": "the shop's order system doesn't allow that change now",
    "invalid": "the shop's order system didn't accept that address; please check it and send it again",
}


#: said when the order lives on the shop's commerce platform (Shopify, WooCommerce) and that
#: platform could not be reached (or is not configured): the change was not made anywhere
PLATFORM_UNAVAILABLE = return_service.PLATFORM_MESSAGES["platform_unavailable"]

EXPIRED = ("For your security I check orders again after a while. Please ask once more and give me "
           "the email address on the order.")


def _why_blocked(status: str | None) -> str:
    return BLOCKED_WHY.get(status or "", "it can't be changed any more")


def _locked(tracker: Tracker) -> bool:
    return (tracker.get_slot(S.LOOKUP_FAILURES) or 0) >= get_settings().max_order_lookup_failures


async def _blocked_elsewhere(number: str, email: str) -> bool:
    """Whether the pair's email or number used up its failed lookups across conversations
    (the limiter may wait on Redis: off the event loop)."""
    settings = get_settings()
    return await asyncio.to_thread(lookups_blocked, get_limiter(settings.redis_url), order_number=number,
                                   email=email, max_failures=settings.order_lookup_failures_per_email)


async def _count_failure_everywhere(number: str, email: str) -> None:
    settings = get_settings()
    await asyncio.to_thread(record_failed_lookup, get_limiter(settings.redis_url), order_number=number,
                            email=email, max_failures=settings.order_lookup_failures_per_email)


class OrderIdentityValidation(FormValidationAction):
    """Validation shared by every order form: parse the number and email, then
    verify the pair once both are known."""

    @abstractmethod
    def name(self) -> str:
        """``validate_<form name>`` of the concrete form."""

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        number = parse_order_number(str(value) if value is not None else None)
        if number is None:
            dispatcher.utter_message(response="utter_invalid_order_number")
            return {S.ORDER_NUMBER: None}
        return {S.ORDER_NUMBER: number}

    async def validate_order_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        email = parse_email(str(value) if value is not None else None)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
            return {S.ORDER_EMAIL: None}
        return {S.ORDER_EMAIL: email}

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        extra: list[EventType]
        if S.verification_expired(tracker) and not any(e.get("name") == S.ORDER_EMAIL for e in events):
            # a verification from earlier that has run out: the email must be given again
            extra = [SlotSet(S.ORDER_EMAIL, None), SlotSet(S.ORDER_VERIFIED, None), SlotSet(S.ORDER_STATUS, None)]
            tracker.add_slots(extra)
            return events + extra
        number, email = tracker.get_slot(S.ORDER_NUMBER), tracker.get_slot(S.ORDER_EMAIL)
        if not (number and email) or S.verified_pair(tracker) is not None:
            return events
        settings = get_settings()
        if await _blocked_elsewhere(str(number), str(email)):
            # not looked up: the same answer for a right and a wrong pair; the submit
            # action says so and offers a person (utter_lookup_locked)
            extra = [SlotSet(S.ORDER_NUMBER, None), SlotSet(S.ORDER_EMAIL, None), SlotSet(S.ORDER_VERIFIED, None),
                     SlotSet(S.ORDER_STATUS, None),
                     SlotSet(S.LOOKUP_FAILURES, float(settings.max_order_lookup_failures))]
            tracker.add_slots(extra)
            return events + extra
        try:
            access = await call_service(check_order_access, order_number=number, email=email)
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return events + [SlotSet(S.ORDER_NUMBER, None), SlotSet(S.ORDER_EMAIL, None)]
        if access is None:
            await _count_failure_everywhere(str(number), str(email))
            failures = int(tracker.get_slot(S.LOOKUP_FAILURES) or 0) + 1
            extra = [
                SlotSet(S.ORDER_NUMBER, None), SlotSet(S.ORDER_EMAIL, None),
                SlotSet(S.ORDER_VERIFIED, None), SlotSet(S.ORDER_STATUS, None),
                SlotSet(S.LOOKUP_FAILURES, float(failures)),
            ]
            if failures < settings.max_order_lookup_failures:
                dispatcher.utter_message(response="utter_order_not_found")
            tracker.add_slots(extra)
            return events + extra
        extra = [SlotSet(S.ORDER_VERIFIED, S.verification(str(number), str(email), now=time.time(),
                                                          ttl_s=settings.order_verify_ttl_s)),
                 SlotSet(S.ORDER_STATUS, access.status)]
        tracker.add_slots(extra)
        return events + extra + await self.after_verified(access, dispatcher, tracker)

    async def after_verified(
        self, access: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Hook for forms that check more once the order is verified."""
        return []

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if _locked(tracker):
            return []
        return domain_slots


class ValidateOrderLookupForm(OrderIdentityValidation):
    def name(self) -> str:
        return "validate_order_lookup_form"


class ValidateCancelOrderForm(OrderIdentityValidation):
    def name(self) -> str:
        return "validate_cancel_order_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if S.verified_pair(tracker) and tracker.get_slot(S.ORDER_STATUS) not in order_service.CANCELLABLE:
            return [s for s in slots if s != S.CONFIRM_CANCEL]
        return slots


class ValidateAddressChangeForm(OrderIdentityValidation):
    def name(self) -> str:
        return "validate_address_change_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if S.verified_pair(tracker) and tracker.get_slot(S.ORDER_STATUS) not in order_service.ADDRESS_CHANGEABLE:
            return [s for s in slots if s != S.NEW_ADDRESS]
        return slots

    async def validate_new_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        parsed = parse_address(str(value) if value is not None else None)
        if isinstance(parsed, str):
            dispatcher.utter_message(text=parsed)
            return {S.NEW_ADDRESS: None}
        return {S.NEW_ADDRESS: parsed.one_line()}


class ValidateReturnForm(OrderIdentityValidation):
    def name(self) -> str:
        return "validate_return_form"

    async def after_verified(self, access, dispatcher, tracker):  # type: ignore[no-untyped-def]
        number, email = S.verified_pair(tracker) or ("", "")
        try:
            items = await call_service(return_options, order_number=number, email=email, now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return [SlotSet(S.RETURN_REFUSAL, None)]
        if items and not any(i.ok for i in items):
            # Every item is blocked for the same order-level reason, or each for its own.
            reasons = list(dict.fromkeys(i.message for i in items))
            return [SlotSet(S.RETURN_REFUSAL, " ".join(reasons))]
        return [SlotSet(S.RETURN_REFUSAL, None)]

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot(S.RETURN_REFUSAL):
            return [s for s in slots if s in (S.ORDER_NUMBER, S.ORDER_EMAIL)]
        return slots

    async def validate_return_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        pair = S.verified_pair(tracker)
        if pair is None:
            return {S.RETURN_ITEM: None}
        try:
            items = await call_service(return_options, order_number=pair[0], email=pair[1], now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return {S.RETURN_ITEM: None}
        item = return_service.match_item(items or [], str(value) if value is not None else None)
        if item is None:
            dispatcher.utter_message(response="utter_return_item_unclear")
            return {S.RETURN_ITEM: None}
        if not item.ok:
            dispatcher.utter_message(text=item.message)
            return {S.RETURN_ITEM: None}
        return {S.RETURN_ITEM: str(item.item_id)}

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = return_service.normalise_reason(str(value) if value is not None else None)
        if reason is None:
            dispatcher.utter_message(response="utter_ask_return_reason")
            return {S.RETURN_REASON: None}
        return {S.RETURN_REASON: reason}


class ActionAskReturnItem(Action):
    """Ask which item to return, with one button per returnable item."""

    def name(self) -> str:
        return "action_ask_return_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        items = []
        if pair:
            try:
                items = await call_service(return_options, order_number=pair[0], email=pair[1], now=utc_now()) or []
            except ServiceUnavailable:
                items = []
        buttons = [
            {"title": i.label(), "payload": f'/inform{{"return_item":"{i.item_id}"}}'}
            for i in items if i.ok
        ]
        dispatcher.utter_message(response="utter_ask_return_item", buttons=buttons)
        return []


def _reset_order_goal_slots() -> list[EventType]:
    return [
        SlotSet(S.CONFIRM_CANCEL, None), SlotSet(S.NEW_ADDRESS, None),
        SlotSet(S.RETURN_ITEM, None), SlotSet(S.RETURN_REASON, None), SlotSet(S.RETURN_REFUSAL, None),
    ]


def _not_verified(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """What a submit action says when the form ended without a verified order (or its
    verification ran out while the form went on)."""
    if _locked(tracker):
        dispatcher.utter_message(response="utter_lookup_locked")
    elif S.verification_expired(tracker):
        dispatcher.utter_message(text=EXPIRED)
        return _reset_order_goal_slots() + [SlotSet(S.ORDER_EMAIL, None), SlotSet(S.ORDER_VERIFIED, None),
                                            SlotSet(S.ORDER_STATUS, None)]
    return _reset_order_goal_slots()


class ActionShowOrderStatus(Action):
    def name(self) -> str:
        return "action_show_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        if pair is None:
            return _not_verified(dispatcher, tracker)
        try:
            summary = await call_service(order_service.lookup_order, order_number=pair[0], email=pair[1])
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if summary is None:
            dispatcher.utter_message(response="utter_order_not_found")
            return [SlotSet(S.ORDER_VERIFIED, None)]
        lines = "\n".join(
            f"- {line.quantity} × {line.title}"
            + (f" ({', '.join(v for v in (line.size, line.colour) if v)})" if (line.size or line.colour) else "")
            + f" — {line.unit_price}"
            for line in summary.lines
        )
        text = f"{summary.status_sentence()}\n{lines}\nTotal: {summary.total}."
        if summary.returns:
            text += "\nReturns:\n" + "\n".join(f"- {ret.sentence()}" for ret in summary.returns)
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_anything_else_order")
        return [SlotSet(S.ORDER_STATUS, summary.status)]


class ActionCancelOrder(Action):
    def name(self) -> str:
        return "action_cancel_order"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        if pair is None:
            return _not_verified(dispatcher, tracker)
        status = tracker.get_slot(S.ORDER_STATUS)
        if status not in order_service.CANCELLABLE:
            dispatcher.utter_message(response="utter_cannot_cancel", order_number=pair[0], why=_why_blocked(status))
            return _reset_order_goal_slots()
        if tracker.get_slot(S.CONFIRM_CANCEL) is not True:
            dispatcher.utter_message(response="utter_cancel_kept", order_number=pair[0])
            return _reset_order_goal_slots()
        try:
            result = await call_write_back(order_service.cancel_order, order_number=pair[0], email=pair[1],
                                           now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return _reset_order_goal_slots()
        if result.reason == "platform_unavailable":
            dispatcher.utter_message(text=PLATFORM_UNAVAILABLE)
            return _reset_order_goal_slots()
        if result.ok:
            dispatcher.utter_message(response="utter_order_cancelled", order_number=pair[0], refund=result.detail)
            return _reset_order_goal_slots() + [SlotSet(S.ORDER_STATUS, "cancelled")]
        dispatcher.utter_message(response="utter_cannot_cancel", order_number=pair[0], why=_why_blocked(result.reason))
        return _reset_order_goal_slots()


class ActionChangeAddress(Action):
    def name(self) -> str:
        return "action_change_address"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        if pair is None:
            return _not_verified(dispatcher, tracker)
        raw = tracker.get_slot(S.NEW_ADDRESS)
        if tracker.get_slot(S.ORDER_STATUS) not in order_service.ADDRESS_CHANGEABLE or not raw:
            dispatcher.utter_message(response="utter_cannot_change_address", order_number=pair[0],
                                     why=_why_blocked(tracker.get_slot(S.ORDER_STATUS)))
            return _reset_order_goal_slots()
        address = parse_address(raw)
        if not isinstance(address, Address):  # validated already; defensive
            dispatcher.utter_message(text=address)
            return _reset_order_goal_slots()
        try:
            result = await call_write_back(order_service.change_shipping_address, order_number=pair[0],
                                           email=pair[1], address=address, now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return _reset_order_goal_slots()
        if result.reason == "platform_unavailable":
            dispatcher.utter_message(text=PLATFORM_UNAVAILABLE)
        elif result.ok:
            dispatcher.utter_message(response="utter_address_changed", order_number=pair[0], address=result.detail)
        else:
            dispatcher.utter_message(response="utter_cannot_change_address", order_number=pair[0],
                                     why=_why_blocked(result.reason))
        return _reset_order_goal_slots()


class ActionSubmitReturn(Action):
    def name(self) -> str:
        return "action_submit_return"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        if pair is None:
            return _not_verified(dispatcher, tracker)
        refusal = tracker.get_slot(S.RETURN_REFUSAL)
        if refusal:
            dispatcher.utter_message(text=str(refusal))
            dispatcher.utter_message(response="utter_return_policy_pointer")
            return _reset_order_goal_slots()
        item, reason = tracker.get_slot(S.RETURN_ITEM), tracker.get_slot(S.RETURN_REASON)
        if not item or not str(item).isdigit() or not reason:
            dispatcher.utter_message(response="utter_return_incomplete")
            return _reset_order_goal_slots()
        try:
            result = await call_write_back(return_service.request_return, order_number=pair[0], email=pair[1],
                                           order_item_id=int(item), reason=str(reason), now=utc_now())
        except ServiceUnavailable:
            dispatcher.utter_message(response="utter_service_unavailable")
            return _reset_order_goal_slots()
        if result.ok:
            dispatcher.utter_message(response="utter_return_created", rma_number=result.rma_number,
                                     refund=result.refund)
        elif result.reason in ("platform_unavailable", "not_supported", "refused"):
            dispatcher.utter_message(text=result.message or PLATFORM_UNAVAILABLE)
        else:
            dispatcher.utter_message(text=result.message)
            dispatcher.utter_message(response="utter_return_policy_pointer")
        return _reset_order_goal_slots()


def cancel_summary(number: str, item_count: int, total_cents: int, currency: str) -> str:
    """"order #100234 (2 items, $129.90)" for the cancel confirmation."""
    items = "1 item" if item_count == 1 else f"{item_count} items"
    return f"order #{number} ({items}, {format_money(total_cents, currency)})"


class ActionAskConfirmCancel(Action):
    """Ask for a yes/no before cancelling, naming the order, its size and total."""

    def name(self) -> str:
        return "action_ask_confirm_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        pair = S.verified_pair(tracker)
        what = f"order #{pair[0]}" if pair else "this order"
        if pair:
            try:
                access = await call_service(check_order_access, order_number=pair[0], email=pair[1])
            except ServiceUnavailable:
                access = None
            if access is not None:
                what = cancel_summary(access.number, access.item_count, access.total_cents, access.currency)
        dispatcher.utter_message(response="utter_ask_confirm_cancel", order=what)
        return []
