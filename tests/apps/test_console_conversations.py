"""The staff console (``apps.console``) on a real database (SQLite and PostgreSQL):
the handoff state machine through the API, sending text/cards/offers through a fake
relay, agent assist, suggestion events and the accept rate, hostile input, restarts
and the pages. ``shop.assist`` and the relay are replaced by fakes here (the LLM
never runs); one test uses the real ``shop.assist`` with a fake chat model.
Fixtures: ``tests/apps/conftest.py``; fakes and helpers: ``tests/apps/console_support.py``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from apps.console.app import create_console_app
from apps.console.auth import SESSION_COOKIE
from apps.console.staff import create_staff
from apps.console.wiring import Assist
from models.llm.chat import FakeChat
from models.llm.runner import LLMRunner
from shop.db.engine import session_scope
from shop.db.schema import Handoff, HandoffMessage, Offer, OfferCode, SuggestionEvent
from shop.handoff.delivery import undelivered
from tests.apps.console_support import NOW, PASSWORD, Env, audit_actions, logged_in

# --- the conversation: state machine, sending, relay ---------------------------------------------


def test_accept_send_hand_back_close_through_the_api(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    assert agent.post(f"/api/handoffs/{hid}/messages", json={"text": "too early"}, headers=csrf).status_code == 409
    accepted = agent.post(f"/api/handoffs/{hid}/accept", headers=csrf).json()["handoff"]
    assert accepted["status"] == "active" and accepted["assigned_to"] == env.users["agent"]
    assert accepted["assigned_name"] == "Agent"

    sent = agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Hello! Let me look."}, headers=csrf).json()
    assert sent["delivered"] is True and sent["message"]["author"] == "agent" and "warning" not in sent
    call = env.relay.calls[-1]
    assert call == {"rasa_url": "http://rasa.invalid", "secret": "s", "sender_id": "web-support",
                    "channel": "socketio", "message": {"text": "Hello! Let me look.", "agent_name": "Agent"}}

    lead, lead_csrf = logged_in(env, "lead")
    assert lead.post(f"/api/handoffs/{hid}/accept", headers=lead_csrf).status_code == 409  # already taken

    back = agent.post(f"/api/handoffs/{hid}/handback", headers=csrf).json()
    assert back["handoff"]["status"] == "returned" and back["delivered"] is True
    assert env.relay.calls[-1]["message"]["text"] == "You're back with the virtual assistant — ask me anything."
    closed = agent.post(f"/api/handoffs/{hid}/close", headers=csrf)
    assert closed.status_code == 409 and closed.json()["detail"] == "cannot close a conversation that is returned"
    assert agent.post(f"/api/handoffs/{hid}/accept", headers=csrf).status_code == 409
    assert agent.get("/api/queue").json()["items"] == []
    with session_scope(env.url) as s:
        h = s.get(Handoff, hid)
        assert (h.status, h.ended_by) == ("returned", env.users["agent"])
        texts = [(m.author, m.delivered_at is not None) for m in
                 s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == hid).order_by(HandoffMessage.id))]
        assert texts[-2:] == [("agent", True), ("system", True)]

    payer, payer_csrf = logged_in(env, "payer")
    other = env.handoffs["payments"]
    assert payer.post(f"/api/handoffs/{other}/close", headers=payer_csrf).json()["handoff"]["status"] == "closed"
    assert payer.post(f"/api/handoffs/{other}/handback", headers=payer_csrf).status_code == 409


def test_another_agents_conversation_is_not_theirs_to_write(env: Env) -> None:
    with session_scope(env.url) as s:
        twin = create_staff(s, email="twin@ridgeline.example", name="Twin", password=PASSWORD, role="agent",
                            teams=["support"], now=NOW).id
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    other, other_csrf = logged_in(env, "twin")
    assert other.post(f"/api/handoffs/{hid}/messages", json={"text": "mine?"}, headers=other_csrf).status_code == 409
    assert other.post(f"/api/handoffs/{hid}/close", headers=other_csrf).status_code == 409
    lead, lead_csrf = logged_in(env, "lead")  # supervisors may step in
    assert lead.post(f"/api/handoffs/{hid}/messages", json={"text": "Supervisor here."},
                     headers=lead_csrf).status_code == 200
    assert twin


def test_a_relay_failure_keeps_the_message_undelivered(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    env.relay.fail = True
    sent = agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Are you there?"}, headers=csrf)
    assert sent.status_code == 200
    body = sent.json()
    assert body["delivered"] is False and body["message"]["delivered"] is False and "not delivered" in body["warning"]
    with session_scope(env.url) as s:
        waiting = undelivered(s, handoff_id=hid)
        assert [m.text for m in waiting] == ["Are you there?"]
    env.relay.fail, env.relay.result = False, False  # a REST shopper: no push, picked up with the next reply
    later = agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Second try"}, headers=csrf).json()
    assert later["delivered"] is False and "next message" in later["warning"]
    env.relay.result = True
    agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Third"}, headers=csrf)
    with session_scope(env.url) as s:
        assert [m.text for m in undelivered(s, handoff_id=hid)] == ["Are you there?", "Second try"]


def test_sending_a_product_card_and_an_offer(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    panel = agent.get(f"/api/handoffs/{hid}").json()["panel"]
    product = panel["products"][0]
    assert agent.post(f"/api/handoffs/{hid}/card", json={"product_id": product["id"]}, headers=csrf).status_code == 409
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    card = agent.post(f"/api/handoffs/{hid}/card", json={"product_id": product["id"]}, headers=csrf).json()
    assert card["message"]["text"] == f"{product['title']} — {product['price']}"
    payload = card["message"]["payload"]
    assert payload["type"] == "product_cards" and payload["start"] == 1 and payload["cards"][0]["id"] == product["id"]
    assert env.relay.calls[-1]["message"]["custom"] == payload
    assert agent.post(f"/api/handoffs/{hid}/card", json={"product_id": 10**8}, headers=csrf).status_code == 404

    offer_id = panel["offers"][0]["offer_id"]
    sent = agent.post(f"/api/handoffs/{hid}/offer", json={"offer_id": offer_id}, headers=csrf).json()
    promo = sent["message"]["payload"]
    assert promo["type"] == "promo_code" and promo["code"].startswith("RDG-")
    assert promo["code"] in sent["message"]["text"]
    assert {"discount", "applies_to", "expires"} <= promo.keys()
    with session_scope(env.url) as s:
        code = s.scalar(select(OfferCode).where(OfferCode.code == promo["code"]))
        assert (code.customer_id, code.offer_id) == (env.customer_id, offer_id)
        not_eligible = s.scalar(select(Offer.id).where(Offer.id.not_in([o["offer_id"] for o in panel["offers"]])))
    if not_eligible is not None:
        assert agent.post(f"/api/handoffs/{hid}/offer", json={"offer_id": not_eligible},
                          headers=csrf).status_code == 409
    actions = [a[0] for a in audit_actions(env.url)]
    assert "send_card" in actions and "send_offer" in actions

    lead, lead_csrf = logged_in(env, "lead")  # an anonymous shopper gets no codes
    other = env.handoffs["payments"]
    lead.post(f"/api/handoffs/{other}/accept", headers=lead_csrf)
    answer = lead.post(f"/api/handoffs/{other}/offer", json={"offer_id": offer_id}, headers=lead_csrf)
    assert answer.status_code == 409 and "not signed in" in answer.json()["detail"]


# --- assist, suggestions ----------------------------------------------------------------------


def test_assist_comes_separately_and_a_slow_llm_does_not_hold_the_view(env: Env) -> None:
    agent, _ = logged_in(env, "agent")
    hid = env.handoffs["support"]
    assist = agent.get(f"/api/handoffs/{hid}/assist").json()
    assert assist["summary"] == {"text": "2 messages", "source": "llm"}
    assert [s["key"] for s in assist["suggestions"]] == ["s0", "s1", "s2"] and assist["error"] is None

    env.assist.delay_s = 5.0
    slow = env.client(assist_timeout_s=0.3)
    slow.cookies.set(SESSION_COOKIE, agent.cookies[SESSION_COOKIE])
    started = time.perf_counter()
    assert slow.get(f"/api/handoffs/{hid}").status_code == 200
    answer = slow.get(f"/api/handoffs/{hid}/assist").json()
    assert time.perf_counter() - started < 3
    assert answer["summary"] == {"text": "2 messages", "source": "template"} and "too long" in answer["error"]
    assert {s["source"] for s in answer["suggestions"]} == {"template"}


def test_suggestion_events_and_the_accept_rate(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    for key in ("a", "b", "c", "d"):
        shown = {"handoff_id": hid, "event": "shown", "text": f"reply {key}"}
        assert agent.post(f"/api/suggestions/{key}/events", json=shown, headers=csrf).status_code == 201
    agent.post("/api/suggestions/d/events", json={"handoff_id": hid, "event": "ignored", "text": "reply d"},
               headers=csrf)
    agent.post(f"/api/handoffs/{hid}/messages", json={"text": "reply a", "suggestion_key": "a",
                                                       "suggestion_event": "used", "suggestion_text": "reply a"},
               headers=csrf)
    agent.post(f"/api/handoffs/{hid}/messages", json={"text": "reply b, changed", "suggestion_key": "b",
                                                       "suggestion_event": "edited", "suggestion_text": "reply b"},
               headers=csrf)
    assert agent.post("/api/suggestions/bad key!/events", json={"handoff_id": hid, "event": "shown"},
                      headers=csrf).status_code in (404, 422)
    assert agent.post("/api/suggestions/x/events", json={"handoff_id": hid, "event": "used"},
                      headers=csrf).status_code == 422
    assert agent.post("/api/suggestions/x/events", json={"handoff_id": env.handoffs["payments"], "event": "shown"},
                      headers=csrf).status_code == 404
    lead, _ = logged_in(env, "lead")
    assert lead.get("/api/metrics/suggestions").json() == {"shown": 4, "used": 1, "edited": 1, "ignored": 1,
                                                           "accept_rate": 0.5}
    with session_scope(env.url) as s:
        edited = s.scalar(select(SuggestionEvent).where(SuggestionEvent.event == "edited"))
        assert (edited.shown_text, edited.sent_text, edited.staff_user_id) == ("reply b", "reply b, changed",
                                                                               env.users["agent"])


def test_the_real_assist_with_a_fake_chat_model(env: Env) -> None:
    runner = LLMRunner(FakeChat(responder=lambda messages: "The shopper wants a person."), workers=1, timeout_s=5,
                       max_pending=2)
    app = create_console_app(env.config(), clock=env.clock, assist=Assist(runner=lambda: runner), deliver=env.relay)
    client, _ = logged_in(env, "agent", TestClient(app))
    hid = env.handoffs["support"]
    view = client.get(f"/api/handoffs/{hid}").json()
    assert view["panel"] is not None, view["panel_error"]
    assist = client.get(f"/api/handoffs/{hid}/assist").json()
    assert assist["summary"]["source"] in ("llm", "template") and assist["summary"]["text"]
    assert all(s["key"] and s["text"] for s in assist["suggestions"])


# --- hostile input, restarts -----------------------------------------------------------------------


def test_hostile_messages_are_stored_as_text(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)

    def send(**kw: Any) -> httpx.Response:
        return agent.post(f"/api/handoffs/{hid}/messages", **{"headers": csrf, **kw})

    assert send(json={"text": "x" * 2001}).status_code == 422
    assert send(json={"text": ""}).status_code == 422
    assert send(json={"text": " \x00\x01 "}).status_code == 422  # nothing left once cleaned
    assert send(content=b"\xff\xfe\x00binary", headers={**csrf, "Content-Type": "application/json"}).status_code == 400
    assert send(json=["not", "an", "object"]).status_code == 422
    surrogate = send(content=json.dumps({"text": "lone \ud800 surrogate"}).encode(),  # escaped in JSON
                     headers={**csrf, "Content-Type": "application/json"})
    assert surrogate.status_code == 422 and "surrogate" not in surrogate.text  # refused, input not echoed
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> \x00nul\x1b & \"quotes\" \u202eevil"
    answer = send(json={"text": hostile})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    stored = answer.json()["message"]["text"]
    assert stored == "<script>alert(1)</script><img src=x onerror=alert(2)> nul & \"quotes\" \u202eevil"
    transcript = agent.get(f"/api/handoffs/{hid}").json()["transcript"]
    assert transcript[-1]["text"] == stored
    assert send(json={"text": "y" * 2000}).status_code == 200
    assert agent.get("/api/handoffs/not-a-number").status_code == 422
    assert agent.get("/api/audit?limit=100000").status_code in (403, 422)


def test_a_new_app_on_the_same_database_keeps_sessions_and_the_queue(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    restarted = env.client()  # a new process
    restarted.cookies.set(SESSION_COOKIE, agent.cookies[SESSION_COOKIE])
    items = restarted.get("/api/queue").json()["items"]
    assert [(i["id"], i["status"]) for i in items] == [(hid, "active")]
    assert restarted.post(f"/api/handoffs/{hid}/messages", json={"text": "still here"}, headers=csrf).status_code == 200


def test_pages_and_assets(env: Env) -> None:
    client = env.client()
    page = client.get("/login")
    for testid in ("cn-login-email", "cn-login-password", "cn-login-submit"):
        assert f'data-testid="{testid}"' in page.text
    assert 'for="email"' in page.text and 'for="password"' in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/assets/console.css").status_code == 200
    assert client.get("/assets/console.js").text == "/* console */"
    missing = env.client(bundle=env.tmp / "nope.js").get("/assets/console.js")
    assert missing.status_code == 503
    client, _ = logged_in(env, "agent")
    shell = client.get("/").text
    for testid in ("cn-transcript", "cn-summary", "cn-panel", "cn-composer", "cn-send", "cn-accept", "cn-handback",
                   "cn-close"):
        assert f'data-testid="{testid}"' in shell
    assert client.get("/login", follow_redirects=False).status_code == 303  # already logged in
