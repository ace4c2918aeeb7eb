"""Order actions (actions/orders.py) on tracker JSON against the demo shop: the identity
check in every order form's validation, and what each submit action says and changes
in the database. The persona (customer 1) owns the orders in ``DemoStats.persona_orders``."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from actions import slots as S
from actions.orders import (
    ActionAskConfirmCancel,
    ActionAskReturnItem,
    ActionCancelOrder,
    ActionChangeAddress,
    ActionShowOrderStatus,
    ActionSubmitReturn,
    ValidateAddressChangeForm,
    ValidateCancelOrderForm,
    ValidateOrderLookupForm,
    ValidateReturnForm,
)
from shop.db.schema import Order, OrderItem, Return
from shop.services.money import format_money
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, run_action

COVERED = (ValidateOrderLookupForm, ValidateCancelOrderForm, ValidateAddressChangeForm, ValidateReturnForm,
           ActionAskReturnItem, ActionShowOrderStatus, ActionCancelOrder, ActionChangeAddress, ActionSubmitReturn,
           ActionAskConfirmCancel)


def verified(number: str, email: str, **more: Any) -> dict[str, Any]:
    """Slots of a conversation whose form verified ``number`` and ``email`` a minute ago."""
    return {S.ORDER_NUMBER: number, S.ORDER_EMAIL: email,
            S.ORDER_VERIFIED: S.verification(number, email, now=time.time() - 60, ttl_s=900), **more}


def verified_value(slots: dict[str, Any], number: str, email: str) -> None:
    """``ORDER_VERIFIED`` in ``slots`` verifies ``number``/``email`` for the configured 900 s."""
    pair, _, expiry = slots[S.ORDER_VERIFIED].rpartition("|")
    assert pair == f"{number}|{email}" and abs(int(expiry) - (time.time() + 900)) < 30


def order_row(shop: DemoShop, number: str) -> dict[str, Any]:
    with shop.session() as s:
        order = s.scalar(select(Order).where(Order.number == number))
        return {"status": order.status, "total": format_money(order.total_cents, order.currency),
                "tracking": order.tracking_number, "carrier": order.carrier, "line1": order.ship_line1,
                "items": [(i.id, i.title, i.quantity, format_money(i.unit_price_cents, order.currency))
                          for i in order.items]}


# --- form validation: the identity check ------------------------------------------------

async def test_lookup_form_verifies_the_persona_and_finishes(shop: DemoShop, domain: dict) -> None:
    number = shop.order("shipped")
    tracker = build_tracker("order_form", text=shop.email.upper(), intent="inform", requested_slot="order_email",
                            slots={S.ORDER_NUMBER: number}, candidates={S.ORDER_EMAIL: f"  {shop.email.upper()} "})
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert out.messages == []
    verified_value(out.slots, number, shop.email)
    assert out.slots == {S.ORDER_EMAIL: shop.email, S.ORDER_VERIFIED: out.slots[S.ORDER_VERIFIED],
                         S.ORDER_STATUS: order_row(shop, number)["status"]}
    # the required slots are the domain's: Rasa's form asks for the next one itself
    assert "requested_slot" not in out.slots


async def test_lookup_form_parses_a_number_from_words(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    tracker = build_tracker("order_form", text=f"it's order #{number} I think", intent="inform",
                            candidates={S.ORDER_NUMBER: f"it's order #{number} I think"})
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert out.slots == {S.ORDER_NUMBER: number}
    assert out.messages == []


async def test_lookup_form_rejects_garbage_number_and_email(shop: DemoShop, domain: dict) -> None:
    tracker = build_tracker("order_form", text="1' OR '1'='1", intent="inform",
                            candidates={S.ORDER_NUMBER: "1' OR '1'='1", S.ORDER_EMAIL: "' OR 1=1 --"})
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert out.responses == ["utter_invalid_order_number", "utter_invalid_email"]
    assert out.slots == {S.ORDER_NUMBER: None, S.ORDER_EMAIL: None}
    assert "6 digits" in out.texts[0]


async def test_lookup_form_gives_nothing_away_for_another_customers_order(shop: DemoShop, domain: dict) -> None:
    other_number, other_email = shop.other_customers_order()
    assert other_email != shop.email
    for number in (other_number, "999999"):  # someone else's order, and no order at all: the same answer
        tracker = build_tracker("order_form", text=shop.email, intent="inform", requested_slot=S.ORDER_EMAIL,
                                slots={S.ORDER_NUMBER: number, S.LOOKUP_FAILURES: 1.0},
                                candidates={S.ORDER_EMAIL: shop.email})
        out = await run_action(ValidateOrderLookupForm(), tracker, domain)
        assert out.responses == ["utter_order_not_found"]
        assert out.slots == {S.ORDER_EMAIL: None, S.ORDER_NUMBER: None, S.ORDER_VERIFIED: None,
                             S.ORDER_STATUS: None, S.LOOKUP_FAILURES: 2.0}
        assert other_number not in out.text and "status" not in out.text


async def test_lookup_form_stops_after_too_many_wrong_pairs(shop: DemoShop, domain: dict) -> None:
    number = shop.order("shipped")
    tracker = build_tracker("order_form", text="nobody@example.com", intent="inform", requested_slot=S.ORDER_EMAIL,
                            slots={S.ORDER_NUMBER: number, S.LOOKUP_FAILURES: 2.0},
                            candidates={S.ORDER_EMAIL: "nobody@example.com"})
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert out.messages == []  # the submit action says why (utter_lookup_locked)
    assert out.slots[S.LOOKUP_FAILURES] == 3.0 and out.slots[S.ORDER_VERIFIED] is None
    assert out.slots["requested_slot"] is None  # no slot left to ask: the form ends


async def test_cancel_form_asks_to_confirm_only_a_cancellable_order(shop: DemoShop, domain: dict) -> None:
    processing, shipped = shop.order("processing"), shop.order("shipped")
    tracker = build_tracker("order_form", active_loop="cancel_order_form", requested_slot=S.ORDER_EMAIL,
                            text=shop.email, intent="inform", slots={S.ORDER_NUMBER: processing},
                            candidates={S.ORDER_EMAIL: shop.email})
    out = await run_action(ValidateCancelOrderForm(), tracker, domain)
    assert out.slots[S.ORDER_STATUS] == "processing" and "requested_slot" not in out.slots  # confirm next

    tracker = build_tracker("order_form", active_loop="cancel_order_form", requested_slot=S.ORDER_EMAIL,
                            text=shop.email, intent="inform", slots={S.ORDER_NUMBER: shipped},
                            candidates={S.ORDER_EMAIL: shop.email})
    out = await run_action(ValidateCancelOrderForm(), tracker, domain)
    assert out.slots[S.ORDER_STATUS] == order_row(shop, shipped)["status"] == "shipped"
    assert out.slots["requested_slot"] is None  # nothing to confirm: the submit action explains


async def test_address_form_validates_the_new_address(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    base = {"active_loop": "address_change_form", "requested_slot": S.NEW_ADDRESS, "intent": "inform",
            "slots": verified(number, shop.email, **{S.ORDER_STATUS: "processing"})}
    good = "742 Evergreen Terrace, Springfield 62704"
    out = await run_action(ValidateAddressChangeForm(),
                           build_tracker("order_form", text=good, candidates={S.NEW_ADDRESS: good}, **base), domain)
    assert out.slots == {S.NEW_ADDRESS: "742 Evergreen Terrace, Springfield 62704, US"}

    for bad in ("<script>alert(1)</script> 12 Main St, Town 12345", "somewhere", ""):
        out = await run_action(ValidateAddressChangeForm(),
                               build_tracker("order_form", text=bad, candidates={S.NEW_ADDRESS: bad}, **base), domain)
        assert out.slots == {S.NEW_ADDRESS: None}
        assert "full address on one line" in out.texts[0]


async def test_return_form_refuses_an_order_outside_the_window(shop: DemoShop, domain: dict) -> None:
    number = shop.order("expired")
    tracker = build_tracker("order_form", active_loop="return_form", requested_slot=S.ORDER_EMAIL, text=shop.email,
                            intent="inform", slots={S.ORDER_NUMBER: number}, candidates={S.ORDER_EMAIL: shop.email})
    out = await run_action(ValidateReturnForm(), tracker, domain)
    refusal = out.slots[S.RETURN_REFUSAL]
    assert f"Order #{number}" in refusal and "30-day return window" in refusal
    assert out.slots["requested_slot"] is None


async def test_return_form_picks_an_item_and_a_reason(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    items = order_row(shop, number)["items"]
    base = {"active_loop": "return_form", "intent": "inform", "slots": verified(number, shop.email)}
    tracker = build_tracker("order_form", requested_slot=S.ORDER_EMAIL, text=shop.email,
                            slots={S.ORDER_NUMBER: number}, candidates={S.ORDER_EMAIL: shop.email},
                            active_loop="return_form", intent="inform")
    out = await run_action(ValidateReturnForm(), tracker, domain)
    assert out.slots[S.RETURN_REFUSAL] is None and "requested_slot" not in out.slots  # the item next

    out = await run_action(ValidateReturnForm(), build_tracker(
        "order_form", requested_slot=S.RETURN_ITEM, text="the second one",
        candidates={S.RETURN_ITEM: "the second one"}, **base), domain)
    assert out.slots == {S.RETURN_ITEM: str(items[1][0])}

    out = await run_action(ValidateReturnForm(), build_tracker(
        "order_form", requested_slot=S.RETURN_REASON, text="they felt a bit tight",
        slots={**base["slots"], S.RETURN_ITEM: str(items[1][0])},
        candidates={S.RETURN_REASON: "they felt a bit tight"}, active_loop="return_form", intent="inform"), domain)
    assert out.slots == {S.RETURN_REASON: "too small"}


async def test_return_form_rejects_items_not_in_the_order(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    with shop.session() as s:
        # (a small number reads as a position: "2" is the second item; take a big id)
        foreign = s.scalar(select(func.max(OrderItem.id)).join(Order).where(Order.number != number))
    base = {"active_loop": "return_form", "requested_slot": S.RETURN_ITEM, "intent": "inform",
            "slots": verified(number, shop.email)}
    for said in ("zzqx", str(foreign), "the ninth one", ""):
        out = await run_action(ValidateReturnForm(),
                               build_tracker("order_form", text=said, candidates={S.RETURN_ITEM: said}, **base), domain)
        assert out.slots == {S.RETURN_ITEM: None}, said
        assert out.responses == ["utter_return_item_unclear"]


# --- asking -----------------------------------------------------------------------------

async def test_ask_return_item_offers_one_button_per_returnable_item(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    out = await run_action(ActionAskReturnItem(), build_tracker("order_form", active_loop="return_form",
                                                                 slots=verified(number, shop.email)), domain)
    assert out.responses == ["utter_ask_return_item"]
    items = order_row(shop, number)["items"]
    assert [b["payload"] for b in out.messages[0]["buttons"]] == [
        f'/inform{{"return_item":"{item_id}"}}' for item_id, *_ in items]
    assert items[0][1] in out.messages[0]["buttons"][0]["title"]

    # a pair that was never verified (slots set by hand) gets the question without buttons
    forged = verified(number, shop.email, **{S.ORDER_VERIFIED: S.verification(number, "evil@example.com",
                                                                             now=time.time(), ttl_s=900)})
    out = await run_action(ActionAskReturnItem(), build_tracker(slots=forged), domain)
    assert out.messages[0]["buttons"] == []


async def test_ask_confirm_cancel_names_size_and_total(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    row = order_row(shop, number)
    out = await run_action(ActionAskConfirmCancel(), build_tracker(slots=verified(number, shop.email)), domain)
    count = sum(q for _, _, q, _ in row["items"])
    items = "1 item" if count == 1 else f"{count} items"
    assert out.texts == [f"Do you want me to cancel order #{number} ({items}, {row['total']})?"]
    out = await run_action(ActionAskConfirmCancel(), build_tracker(), domain)
    assert out.texts == ["Do you want me to cancel this order?"]


# --- submit actions ---------------------------------------------------------------------

async def test_show_status_of_a_shipped_order(shop: DemoShop, domain: dict) -> None:
    number = shop.order("shipped")
    row = order_row(shop, number)
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=verified(number, shop.email)), domain)
    assert out.responses == [None, "utter_anything_else_order"]
    assert out.texts[0].startswith(f"Order #{number} shipped on ")
    assert f"with {row['carrier']}, tracking number {row['tracking']}" in out.texts[0]
    assert out.texts[0].endswith(f"Total: {row['total']}.")
    for _, title, quantity, price in row["items"]:
        assert f"- {quantity} × {title}" in out.texts[0] and price in out.texts[0]
    assert out.slots == {S.ORDER_STATUS: "shipped"}


async def test_show_status_checks_the_database_not_the_slots(shop: DemoShop, domain: dict) -> None:
    other_number, _ = shop.other_customers_order()
    # slots claiming the persona verified someone else's order: the lookup fails
    out = await run_action(ActionShowOrderStatus(),
                           build_tracker(slots=verified(other_number, shop.email)), domain)
    assert out.responses == ["utter_order_not_found"]
    assert out.slots == {S.ORDER_VERIFIED: None}
    # a verification of another pair: nothing is looked up or said
    forged = verified(shop.order("shipped"), shop.email,
                      **{S.ORDER_VERIFIED: S.verification(other_number, shop.email, now=time.time(), ttl_s=900)})
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=forged), domain)
    assert out.messages == [] and S.ORDER_STATUS not in out.slots
    # after too many failures: locked
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots={S.LOOKUP_FAILURES: 3.0}), domain)
    assert out.responses == ["utter_lookup_locked"]
    assert out.slots == {S.CONFIRM_CANCEL: None, S.NEW_ADDRESS: None, S.RETURN_ITEM: None, S.RETURN_REASON: None,
                         S.RETURN_REFUSAL: None}


async def test_cancel_a_processing_order(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    total = order_row(shop, number)["total"]
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert out.texts == [f"Done: order #{number} is cancelled. The refund of {total} goes back to your "
                         "original payment method."]
    assert out.slots[S.ORDER_STATUS] == "cancelled" and out.slots[S.CONFIRM_CANCEL] is None
    assert order_row(shop, number)["status"] == "cancelled"


async def test_cancel_kept_when_the_shopper_says_no(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: False})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert out.texts == [f"Okay, order #{number} stays as it is."]
    assert order_row(shop, number)["status"] == "processing"


async def test_cancel_refused_for_a_shipped_order_even_with_forged_status(shop: DemoShop, domain: dict) -> None:
    number = shop.order("shipped")
    for status in ("shipped", "processing"):  # the slot may lie; the database decides
        slots = verified(number, shop.email, **{S.ORDER_STATUS: status, S.CONFIRM_CANCEL: True})
        out = await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
        assert out.responses == ["utter_cannot_cancel"]
        assert f"I can't cancel order #{number}: it has already shipped." in out.texts[0]
        assert S.ORDER_STATUS not in out.slots
    assert order_row(shop, number)["status"] == "shipped"


async def test_change_address_of_a_processing_order(shop: DemoShop, domain: dict) -> None:
    number = shop.order("processing")
    slots = verified(number, shop.email, **{S.ORDER_STATUS: "processing",
                                             S.NEW_ADDRESS: "742 Evergreen Terrace, Springfield 62704, US"})
    out = await run_action(ActionChangeAddress(), build_tracker(slots=slots), domain)
    assert out.responses == ["utter_address_changed"]
    assert f"#{number}" in out.texts[0] and "742 Evergreen Terrace" in out.texts[0]
    assert order_row(shop, number)["line1"] == "742 Evergreen Terrace"
    assert out.slots[S.NEW_ADDRESS] is None


async def test_change_address_refused_for_shipped_or_garbage(shop: DemoShop, domain: dict) -> None:
    shipped = shop.order("shipped")
    before = order_row(shop, shipped)["line1"]
    slots = verified(shipped, shop.email, **{S.ORDER_STATUS: "shipped", S.NEW_ADDRESS: "1 New Road, Leeds LS1 4AP"})
    out = await run_action(ActionChangeAddress(), build_tracker(slots=slots), domain)
    assert out.responses == ["utter_cannot_change_address"] and "it has already shipped" in out.texts[0]
    processing = shop.order("processing")
    slots = verified(processing, shop.email, **{S.ORDER_STATUS: "processing", S.NEW_ADDRESS: "'; DROP TABLE orders"})
    out = await run_action(ActionChangeAddress(), build_tracker(slots=slots), domain)
    assert out.responses == [None] and "address" in out.texts[0]
    assert order_row(shop, shipped)["line1"] == before
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == shop.stats.counts["orders"]


async def test_submit_return_opens_an_rma(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    item_id, _, quantity, price = order_row(shop, number)["items"][0]
    slots = verified(number, shop.email, **{S.RETURN_ITEM: str(item_id), S.RETURN_REASON: "too small"})
    out = await run_action(ActionSubmitReturn(), build_tracker(slots=slots), domain)
    assert out.responses == ["utter_return_created"]
    with shop.session() as s:
        ret = s.scalar(select(Return).where(Return.order_item_id == item_id))
        assert (ret.reason, ret.status, ret.customer_id) == ("too small", "requested", shop.customer_id)
        refund = format_money(ret.refund_cents)
        assert out.texts == [f"Your return is open: {ret.rma_number}. We'll email a prepaid label, and {refund} "
                             "will be refunded once the item reaches us."]
    assert ret.refund_cents == quantity * int(round(float(price.strip("$").replace(",", "")) * 100))


async def test_submit_return_refusals(shop: DemoShop, domain: dict) -> None:
    number = shop.order("returnable")
    with shop.session() as s:
        foreign = s.scalar(select(OrderItem.id).join(Order).where(Order.number != number).limit(1))
        returns_before = s.scalar(select(func.count()).select_from(Return))
    refusal = "Order #1 was delivered long ago."
    out = await run_action(ActionSubmitReturn(), build_tracker(slots=verified(
        number, shop.email, **{S.RETURN_REFUSAL: refusal})), domain)
    assert out.texts == [refusal, "You can ask me about our return policy any time."]
    for item in ("abc", None, "-1"):
        out = await run_action(ActionSubmitReturn(), build_tracker(slots=verified(
            number, shop.email, **{S.RETURN_ITEM: item, S.RETURN_REASON: "too big"})), domain)
        assert out.responses == ["utter_return_incomplete"]
    out = await run_action(ActionSubmitReturn(), build_tracker(slots=verified(
        number, shop.email, **{S.RETURN_ITEM: str(foreign), S.RETURN_REASON: "too big"})), domain)
    assert out.texts[0] == "That item isn't part of this order."
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(Return)) == returns_before
