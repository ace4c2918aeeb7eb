"""Hostile tests of the action server's door (issue 15, finding 1): the real app
(``actions.server.create_app``) on a demo shop. Without ``X-Shop-Action-Token`` equal
to ``SHOP_ACTION_TOKEN`` nothing but ``/health`` (and the relay-signed ``/handoff/*``)
answers, a forged tracker opens no handoff and gets no promo code, the token unset
locks everything, and the server listens on loopback unless told otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from actions import server as action_server
from shop.db.engine import session_scope
from shop.db.schema import Handoff, HandoffMessage, OfferCode
from tests.demo_shops import DemoShops
from tests.security.action_app import TOKEN, configure, served, signed

HEADER = action_server.ACTION_TOKEN_HEADER


def action_call(action: str, *, sender: str, customer_id: int | None = 1) -> dict[str, Any]:
    """What Rasa posts to ``/webhook``, made up by an attacker: any sender, any customer."""
    slots = {"customer_id": str(customer_id)} if customer_id is not None else {}
    return {"next_action": action, "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": slots, "latest_message": {"text": "hi", "intent": {}},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": None, "latest_input_channel": "rest"}}


def handoffs_of(url: str, sender: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(Handoff).where(Handoff.sender_id == sender))


def codes(url: str) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(OfferCode))


@pytest.fixture
def shop_url(demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> str:
    url = demo_shop(seed=3, scale=0.02)
    configure(monkeypatch, db_url=url)
    return url


@pytest.mark.parametrize("headers", [
    {}, {HEADER: ""}, {HEADER: "wrong"}, {HEADER: TOKEN[:-1]}, {HEADER: TOKEN + "x"},
    {"Authorization": f"Bearer {TOKEN}"}, {HEADER.lower().replace("-", "_"): TOKEN},
])
async def test_a_forged_tracker_without_the_token_opens_nothing(
        shop_url: str, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]) -> None:
    before = codes(shop_url)
    async with served(monkeypatch) as client:
        for action in ("action_request_human", "action_promo_inquiry"):
            answer = await client.post("/webhook", json=action_call(action, sender="attacker"), headers=headers)
            assert answer.status_code == 401, action
            assert "events" not in answer.text and "promo_code" not in answer.text
        assert (await client.get("/actions", headers=headers)).status_code == 401
    assert handoffs_of(shop_url, "attacker") == 0
    assert codes(shop_url) == before


async def test_the_right_token_lets_rasa_in(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served(monkeypatch) as client:
        listed = await client.get("/actions", headers={HEADER: TOKEN})
        assert listed.status_code == 200 and {"name": "action_request_human"} in listed.json()
        ran = await client.post("/webhook", json=action_call("action_request_human", sender="rasa-1",
                                                             customer_id=None), headers={HEADER: TOKEN})
        assert ran.status_code == 200 and ran.json()["responses"]
    assert handoffs_of(shop_url, "rasa-1") == 1


async def test_no_token_configured_locks_every_route_but_health(
        demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> None:
    url = demo_shop(seed=3, scale=0.02)
    configure(monkeypatch, db_url=url, token="")
    async with served(monkeypatch) as client:
        for headers in ({}, {HEADER: ""}, {HEADER: TOKEN}):
            assert (await client.get("/actions", headers=headers)).status_code == 401
            call = action_call("action_request_human", sender="nobody-set-it")
            assert (await client.post("/webhook", json=call, headers=headers)).status_code == 401
        assert (await client.get("/health")).status_code == 200
    assert handoffs_of(url, "nobody-set-it") == 0


async def test_health_stays_open_and_only_for_get(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with served(monkeypatch) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/health/llm")).json() == {"llm": None}
        # the open paths are open for GET only; any other method needs the token first
        assert (await client.post("/health", json={})).status_code == 401
        assert (await client.get("/health/../actions")).status_code in (401, 404)
        assert (await client.get("/webhook/")).status_code == 401


async def test_handoff_inbound_needs_the_relay_signature_not_the_token(
        shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = {"sender_id": "gate-1", "channel": "rest", "text": "I want to file a chargeback", "history": []}
    async with served(monkeypatch) as client:
        unsigned = await client.post("/handoff/inbound", json=payload, headers={HEADER: TOKEN})
        assert unsigned.status_code == 401
        assert handoffs_of(shop_url, "gate-1") == 0
        body, headers = signed(payload)
        taken = await client.post("/handoff/inbound", content=body, headers=headers)
        assert taken.status_code == 200 and taken.json()["route"] == "agent"
        forged_token = await client.post("/handoff/inbound", content=body + b" ", headers={**headers, HEADER: TOKEN})
        assert forged_token.status_code == 403  # the action token does not stand in for the signature
    with session_scope(shop_url) as s:
        handoff = s.scalar(select(Handoff).where(Handoff.sender_id == "gate-1"))
        assert handoff is not None and handoff.team == "payments"
        assert s.scalar(select(func.count()).select_from(HandoffMessage)
                        .where(HandoffMessage.handoff_id == handoff.id, HandoffMessage.author == "shopper")) == 1


async def test_handoff_endpoints_refuse_everyone_without_a_relay_secret(
        demo_shop: DemoShops, monkeypatch: pytest.MonkeyPatch) -> None:
    url = demo_shop(seed=3, scale=0.02)
    configure(monkeypatch, db_url=url, relay_secret="")
    payload = {"sender_id": "loop-1", "channel": "rest", "text": "I want to file a chargeback", "history": []}
    async with served(monkeypatch) as client:  # the ASGI client comes from 127.0.0.1: loopback is no pass
        for path in ("/handoff/inbound", "/handoff/pending"):
            body, headers = signed(payload, secret="guessed")
            assert (await client.post(path, content=body, headers={**headers, HEADER: TOKEN})).status_code == 503
    assert handoffs_of(url, "loop-1") == 0


def test_it_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANIC_HOST", "0.0.0.0")  # noqa: S104  - rasa-sdk's variable is not the way any more
    monkeypatch.delenv("SHOP_ACTION_HOST", raising=False)
    action_server.get_settings.cache_clear()
    try:
        assert action_server.listen_host() == "127.0.0.1"
        monkeypatch.setenv("SHOP_ACTION_HOST", "10.1.2.3")
        action_server.get_settings.cache_clear()
        assert action_server.listen_host() == "10.1.2.3"
    finally:
        action_server.get_settings.cache_clear()
