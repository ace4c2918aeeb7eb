"""Hostile order-access cases (issue 15, H3) on tracker JSON against the demo shop: a
customer id that only an earlier message carried, verifications that expired, were
forged or belong to another order, order-number guessing spread over many
conversations (in-process, through real Redis, and with Redis unreachable), and the
return form when the database fails. The fixtures ``shop`` and ``domain`` are the action
tests' own (``tests/actions/conftest.py``), imported here."""
# ruff: noqa: F811

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import redis
from rasa_sdk import Tracker
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from actions import orders
from actions import slots as S
from actions.conversation import ActionPromoInquiry
from actions.orders import ActionCancelOrder, ActionShowOrderStatus, ValidateOrderLookupForm, ValidateReturnForm
from protocol.ratelimit import RateLimiter, RedisCounters
from shop.db.schema import OfferCode, Order
from shop.services.order_lookup_limits import lookup_key, lookups_blocked, record_failed_lookup
from shop.shared_counters import get_limiter, redis_client
from tests.actions.conftest import DemoShop, action_shop_template, domain, shop  # noqa: F401 (fixtures)
from tests.actions.trackers import build_tracker, run_action, tracker_state
from tests.security.conftest import REDIS_ERRORS, REDIS_URL


def verified_at(number: str, email: str, *, expires_at: float, **more: Any) -> dict[str, Any]:
    return {S.ORDER_NUMBER: number, S.ORDER_EMAIL: email, S.ORDER_VERIFIED: f"{number}|{email}|{int(expires_at)}",
            **more}


def order_status(demo: DemoShop, number: str) -> str:
    with demo.session() as s:
        return str(s.scalar(select(Order.status).where(Order.number == number)))


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every order lookup the form makes (the real one runs, and is recorded)."""
    calls: list[dict[str, Any]] = []
    real = orders.check_order_access

    def counted(session: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(session, **kwargs)

    monkeypatch.setattr(orders, "check_order_access", counted)
    return calls


async def submit_pair(number: str, email: str, domain: dict, *, sender: str) -> Any:
    """A fresh conversation (``sender``) whose shopper gives ``email`` for ``number``."""
    tracker = build_tracker("order_form", sender_id=sender, text=email, intent="inform",
                            requested_slot=S.ORDER_EMAIL, slots={S.ORDER_NUMBER: number},
                            candidates={S.ORDER_EMAIL: email})
    return await run_action(ValidateOrderLookupForm(), tracker, domain)


# --- finding 1: only the latest message's signed customer id counts ----------------------

async def test_an_unsigned_message_does_not_inherit_an_earlier_signed_customer(shop: DemoShop,
                                                                               domain: dict) -> None:
    shop.use(promo_policy="uplift", promo_control_pct=0, promo_exploration=0)
    state = tracker_state(text="any discounts for me?", intent="promo_inquiry", sender_id="hijack-1",
                          history=[("user", "hi"), ("bot", "Hello!")])
    first_user = next(e for e in state["events"] if e["event"] == "user")
    first_user["metadata"] = {"customer_id": str(shop.customer_id)}  # signed earlier, not now
    tracker = Tracker.from_dict(state)
    assert S.customer_id(tracker) is None
    out = await run_action(ActionPromoInquiry(), tracker, domain)
    assert not any(c.get("type") == "promo_code" for c in out.customs)
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(OfferCode)
                        .where(OfferCode.customer_id == shop.customer_id)) == 0
    # the same message signed: the customer gets the code (the control case)
    out = await run_action(ActionPromoInquiry(), build_tracker(
        text="any discounts for me?", intent="promo_inquiry", customer_id=shop.customer_id), domain)
    with shop.session() as s:
        assert s.scalar(select(func.count()).select_from(OfferCode)
                        .where(OfferCode.customer_id == shop.customer_id)) == 1


def test_a_forged_latest_customer_id_is_nobody(shop: DemoShop) -> None:
    state = tracker_state(text="hi", intent="greet", customer_id="2 OR 1=1",
                          history=[("user", "hello")])
    next(e for e in state["events"] if e["event"] == "user")["metadata"] = {"customer_id": "7"}
    assert S.customer_id(Tracker.from_dict(state)) is None


# --- finding 2: verifications expire and name one pair -------------------------------------

async def test_an_expired_verification_shows_nothing_and_cancels_nothing(shop: DemoShop,
                                                                         domain: dict) -> None:
    processing = shop.order("processing")
    expired = verified_at(processing, shop.email, expires_at=time.time() - 1,
                          **{S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True})
    out = await run_action(ActionCancelOrder(), build_tracker(slots=expired), domain)
    assert order_status(shop, processing) == "processing"
    assert out.slots[S.ORDER_EMAIL] is None and out.slots[S.ORDER_VERIFIED] is None
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=expired), domain)
    assert processing not in out.text and S.ORDER_STATUS not in {k for k, v in out.slots.items() if v}


async def test_after_the_ttl_the_form_asks_for_the_email_again(shop: DemoShop, domain: dict,
                                                               lookups: list) -> None:
    number = shop.order("shipped")
    stale = verified_at(number, shop.email, expires_at=time.time() - 5)
    tracker = build_tracker("order_form", text="where is it?", intent="order_status", slots=stale,
                            requested_slot=S.ORDER_NUMBER)
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert out.slots[S.ORDER_EMAIL] is None and out.slots[S.ORDER_VERIFIED] is None  # Rasa's form asks next
    assert lookups == []
    # given again in this turn: checked against the database and verified anew
    tracker = build_tracker("order_form", text=shop.email, intent="inform", slots={**stale, S.ORDER_EMAIL: None},
                            requested_slot=S.ORDER_EMAIL, candidates={S.ORDER_EMAIL: shop.email})
    out = await run_action(ValidateOrderLookupForm(), tracker, domain)
    assert len(lookups) == 1 and S.verified_pair(build_tracker(slots={**stale, **out.slots})) == (number, shop.email)


async def test_the_ttl_setting_bounds_a_new_verification(shop: DemoShop, domain: dict) -> None:
    shop.use(order_verify_ttl_s=60)
    number = shop.order("shipped")
    out = await submit_pair(number, shop.email, domain, sender="ttl-1")
    expiry = int(out.slots[S.ORDER_VERIFIED].rpartition("|")[2])
    assert time.time() + 50 < expiry <= time.time() + 61
    slots = {S.ORDER_NUMBER: number, S.ORDER_EMAIL: shop.email, S.ORDER_VERIFIED: out.slots[S.ORDER_VERIFIED]}
    assert S.verified_pair(build_tracker(slots=slots)) == (number, shop.email)
    assert S.verified_pair(build_tracker(slots=slots), now=time.time() + 61) is None


@pytest.mark.parametrize("value", ["{number}|{email}", "{number}|{email}|99999999999", "{number}|{email}|-5",
                                   "{number}|{email}|abc", "{other}|{email}|{soon}"])
async def test_forged_old_or_foreign_verifications_do_not_count(shop: DemoShop, domain: dict,
                                                                value: str) -> None:
    processing, other = shop.order("processing"), shop.order("shipped")
    slot = value.format(number=processing, email=shop.email, other=other, soon=int(time.time()) + 300)
    slots = {S.ORDER_NUMBER: processing, S.ORDER_EMAIL: shop.email, S.ORDER_VERIFIED: slot,
             S.ORDER_STATUS: "processing", S.CONFIRM_CANCEL: True}
    assert S.verified_pair(build_tracker(slots=slots)) is None
    await run_action(ActionCancelOrder(), build_tracker(slots=slots), domain)
    assert order_status(shop, processing) == "processing"


# --- finding 3: guessing across conversations ----------------------------------------------

async def test_guessing_from_five_conversations_against_one_email_is_stopped(shop: DemoShop,
                                                                             domain: dict,
                                                                             lookups: list) -> None:
    shop.use(redis_url="")
    for i in range(5):  # each guess from a new sender id: the per-conversation count never trips
        out = await submit_pair(f"99990{i}", shop.email, domain, sender=f"guess-{i}")
        assert out.slots[S.LOOKUP_FAILURES] == 1.0 and out.responses == ["utter_order_not_found"]
    assert len(lookups) == 5
    right = await submit_pair(shop.order("shipped"), shop.email, domain, sender="guess-right")
    wrong = await submit_pair("999995", shop.email, domain, sender="guess-wrong")
    assert len(lookups) == 5  # not looked up any more
    assert right.events == wrong.events and right.messages == wrong.messages == []
    assert right.slots[S.ORDER_VERIFIED] is None and right.slots[S.LOOKUP_FAILURES] == 3.0
    assert right.slots["requested_slot"] is None  # the form ends ...
    locked = {k: v for k, v in right.slots.items() if k != "requested_slot"}
    out = await run_action(ActionShowOrderStatus(), build_tracker(slots=locked), domain)
    assert out.responses == ["utter_lookup_locked"]  # ... and the shopper is offered a person
    # another shopper's pair is not affected
    other_number, other_email = shop.other_customers_order()
    assert (await submit_pair(other_number, other_email, domain, sender="bystander")).slots[S.ORDER_VERIFIED]


async def test_guessing_emails_for_one_order_number_is_stopped(shop: DemoShop, domain: dict,
                                                               lookups: list) -> None:
    shop.use(redis_url="", order_lookup_failures_per_email=3)
    number = shop.order("processing")
    for i in range(3):
        await submit_pair(number, f"guess{i}@example.com", domain, sender=f"num-{i}")
    out = await submit_pair(number, shop.email, domain, sender="num-owner")
    assert len(lookups) == 3 and out.slots[S.ORDER_VERIFIED] is None and out.slots[S.LOOKUP_FAILURES] == 3.0



def test_redis_counts_hold_across_two_limiter_instances(redis_db: redis.Redis) -> None:
    prefix = f"test-h3-{uuid.uuid4().hex}:"
    try:
        first, second = (RateLimiter(RedisCounters(redis.Redis.from_url(REDIS_URL), prefix=prefix,
                                                   errors=REDIS_ERRORS)) for _ in range(2))
        for i in range(5):
            assert not lookups_blocked(second, order_number=f"10000{i}", email="a@example.com", max_failures=5)
            record_failed_lookup(first, order_number=f"10000{i}", email="A@Example.com ", max_failures=5)
        assert lookups_blocked(second, order_number="123456", email="a@example.com", max_failures=5)
        assert not lookups_blocked(second, order_number="123456", email="b@example.com", max_failures=5)
        keys = [k.decode() for k in redis_db.scan_iter(match=f"{prefix}*")]
        assert keys and not any("example.com" in k for k in keys)  # digests, no addresses
        assert any(lookup_key("a@example.com") in k for k in keys)
    finally:
        for key in redis_db.scan_iter(match=f"{prefix}*"):
            redis_db.delete(key)


async def test_guesses_counted_in_redis_stop_another_action_server(shop: DemoShop, domain: dict,
                                                                   redis_db: redis.Redis, lookups: list) -> None:
    email = f"victim-{uuid.uuid4().hex[:12]}@example.com"
    numbers = [f"9998{i:02d}" for i in range(6)]
    shop.use(redis_url=REDIS_URL)
    try:
        for i in range(5):
            await submit_pair(numbers[i], email, domain, sender=f"r-{i}")
        get_limiter.cache_clear()  # a second process: its own limiter and Redis client
        redis_client.cache_clear()
        await submit_pair(numbers[5], email, domain, sender="r-5")
        assert len(lookups) == 5
    finally:
        for value in [email, *numbers]:
            for key in redis_db.scan_iter(match=f"shop:rl:order-lookup-*:{lookup_key(value)}:*"):
                redis_db.delete(key)


async def test_guessing_is_still_stopped_when_redis_is_unreachable(shop: DemoShop, domain: dict,
                                                                   lookups: list) -> None:
    shop.use(redis_url="redis://127.0.0.1:1/0")
    for i in range(5):
        await submit_pair(f"99991{i}", shop.email, domain, sender=f"down-{i}")
    out = await submit_pair(shop.order("shipped"), shop.email, domain, sender="down-right")
    assert len(lookups) == 5 and out.slots[S.ORDER_VERIFIED] is None


# --- finding 4: the return form when the database fails -----------------------------------

def _failing(session: Any, **kwargs: Any) -> Any:
    raise OperationalError("SELECT 1", {}, Exception("database is down"))


async def test_return_form_answers_politely_when_return_options_fail(shop: DemoShop, domain: dict,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "return_options", _failing)
    number = shop.order("returnable")
    tracker = build_tracker("order_form", active_loop="return_form", requested_slot=S.ORDER_EMAIL, text=shop.email,
                            intent="inform", slots={S.ORDER_NUMBER: number}, candidates={S.ORDER_EMAIL: shop.email})
    out = await run_action(ValidateReturnForm(), tracker, domain)
    assert out.responses == ["utter_service_unavailable"] and out.slots[S.RETURN_REFUSAL] is None

    slots = {S.ORDER_NUMBER: number, S.ORDER_EMAIL: shop.email,
             S.ORDER_VERIFIED: S.verification(number, shop.email, now=time.time(), ttl_s=900)}
    tracker = build_tracker("order_form", active_loop="return_form", requested_slot=S.RETURN_ITEM, text="the first",
                            intent="inform", slots=slots, candidates={S.RETURN_ITEM: "the first"})
    out = await run_action(ValidateReturnForm(), tracker, domain)
    assert out.responses == ["utter_service_unavailable"] and out.slots == {S.RETURN_ITEM: None}
