"""The staff console (``apps.console``) on a real database (SQLite and PostgreSQL):
login, sessions and their timeouts, CSRF, roles and teams, audit, the handoff state
machine through the API, sending text/cards/offers through a fake relay, suggestion
events and the accept rate, the live event stream (a real server), restarts and
hostile input. ``shop.assist`` and the relay are replaced by fakes here (the LLM
never runs); one test uses the real ``shop.assist`` with a fake chat model when it
is installed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from apps.console import staff as accounts
from apps.console.app import create_console_app
from apps.console.auth import SESSION_COOKIE, LoginLimit, SessionPolicy
from apps.console.staff import create_staff, ensure_demo_staff
from apps.console.wiring import Assist, ConsoleConfig
from shop.db.engine import session_scope
from shop.db.schema import (
    AuditEntry,
    Customer,
    Handoff,
    HandoffMessage,
    Offer,
    OfferCode,
    Product,
    StaffSession,
    StaffUser,
    SuggestionEvent,
)
from shop.handoff import service as handoffs
from shop.handoff.relay import RelayError
from shop.promo.offers import eligible_offers
from tools.demo.generate import generate_demo_shop

NOW = datetime(2026, 11, 20, 12, 0, 0)
PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with test-sized parameters (the real ones cost ~60 ms and 64 MiB each)."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "password_hasher", lambda: fast)
    accounts.dummy_hash.cache_clear()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakePanel:
    products: list[Any] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"profile": {"name": "Test Shopper"}, "products": [p.as_payload() for p in self.products],
                "offers": self.offers}


@dataclass(frozen=True)
class Summary:
    text: str
    source: str = "template"


@dataclass(frozen=True)
class Suggestion:
    key: str
    text: str
    source: str = "template"
    problems: tuple[str, ...] = ()


class FakeAssist:
    """``shop.assist`` stand-in: the panel lists two products and the customer's
    eligible offers; the summary/suggestions take ``delay_s``."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.calls = 0

    def panel(self, session, *, handoff, now):  # type: ignore[no-untyped-def]
        from shop.services.catalog import get_cards

        ids = list(session.scalars(select(Product.id).where(Product.is_active.is_(True)).order_by(Product.id).limit(2)))
        offers = ([{"offer_id": o.id, "discount": f"{o.value}"} for o in
                   eligible_offers(session, customer_id=handoff.customer_id, now=now)] if handoff.customer_id else [])
        return FakePanel(products=get_cards(session, product_ids=ids), offers=offers)

    async def summarize(self, *, transcript, panel, runner):  # type: ignore[no-untyped-def]
        self.calls += 1
        if runner is not None:  # "the model": slow when told; None: the templates
            await asyncio.sleep(self.delay_s)
            return Summary(f"{len(transcript)} messages", "llm")
        return Summary(f"{len(transcript)} messages")

    async def suggest_replies(self, *, transcript, panel, runner, count=3):  # type: ignore[no-untyped-def]
        if runner is not None:
            await asyncio.sleep(self.delay_s)
        return [Suggestion(f"s{i}", f"Suggested reply {i}", "llm" if runner else "template") for i in range(count)]

    def assist(self) -> Assist:
        return Assist(panel=self.panel, summarize=self.summarize, suggest_replies=self.suggest_replies,
                      runner=lambda: "model")


class FakeRelay:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = False
        self.result = True

    async def __call__(self, **kwargs: Any) -> bool:
        self.calls.append(kwargs)
        if self.fail:
            raise RelayError("relay at http://rasa.invalid unreachable: ConnectError")
        return self.result


@dataclass
class Env:
    url: str
    clock: Clock
    assist: FakeAssist
    relay: FakeRelay
    tmp: Path
    users: dict[str, int]
    handoffs: dict[str, int]
    customer_id: int

    def config(self, **overrides: Any) -> ConsoleConfig:
        values: dict[str, Any] = {"database_url": self.url, "rasa_url": "http://rasa.invalid", "relay_secret": "s",
                                  "bundle": self.tmp / "console.js", "assist_timeout_s": 2.0, "sse_poll_s": 0.1,
                                  "session": SessionPolicy(), "login_limit": LoginLimit()}
        return ConsoleConfig(**{**values, **overrides})

    def app(self, **overrides: Any):  # type: ignore[no-untyped-def]
        return create_console_app(self.config(**overrides), clock=self.clock, assist=self.assist.assist(),
                                  deliver=self.relay)

    def client(self, **overrides: Any) -> TestClient:
        return TestClient(self.app(**overrides))


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> Env:
    (tmp_path / "console.js").write_text("/* console */")
    with session_scope(db_url) as s:
        generate_demo_shop(s, seed=11, as_of=NOW, scale=0.02, progress=False)
        users = {}
        for key, role, teams in (("agent", "agent", ["support"]), ("payer", "agent", ["payments"]),
                                 ("lead", "supervisor", []), ("admin", "admin", [])):
            users[key] = create_staff(s, email=f"{key}@ridgeline.example", name=key.title(), password=PASSWORD,
                                      role=role, teams=teams, now=NOW).id
        customer_id = next(cid for cid in s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                                                    .order_by(Customer.id))
                           if eligible_offers(s, customer_id=cid, now=NOW))
        ids = {}
        for key, team, cid in (("support", "support", customer_id), ("payments", "payments", None)):
            h = handoffs.start_handoff(s, sender_id=f"web-{key}", channel="socketio", reason="request", team=team,
                                       now=NOW - timedelta(minutes=3), customer_id=cid, sentiment=-0.5)
            handoffs.record_message(s, handoff_id=h.id, author="bot", text="How can I help?",
                                    now=NOW - timedelta(minutes=4), delivered=True)
            handoffs.record_message(s, handoff_id=h.id, author="shopper", text=f"I need a human ({key})",
                                    now=NOW - timedelta(minutes=3), delivered=True)
            ids[key] = h.id
    return Env(db_url, Clock(NOW), FakeAssist(), FakeRelay(), tmp_path, users, ids, customer_id)


def login(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/login")
    token = LOGIN_CSRF.search(form.text).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       follow_redirects=False)


def logged_in(env: Env, who: str, client: TestClient | None = None) -> tuple[TestClient, dict[str, str]]:
    """A client with ``who``'s session and the CSRF header for its writes."""
    client = client or env.client()
    assert login(client, f"{who}@ridgeline.example").status_code == 303
    page = client.get("/")
    return client, {"X-CSRF-Token": CSRF_META.search(page.text).group(1)}


def audit_actions(url: str) -> list[tuple[str, int | None, int | None]]:
    with session_scope(url) as s:
        return list(s.execute(select(AuditEntry.action, AuditEntry.user_id, AuditEntry.handoff_id)
                              .order_by(AuditEntry.id)).all())


# --- login, sessions, CSRF -------------------------------------------------------------------


def test_login_opens_a_hashed_session_and_the_password_is_stored_as_argon2id(env: Env) -> None:
    client = env.client()
    answer = login(client, "Agent@Ridgeline.example ")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http and cookie_secure off
    token = client.cookies[SESSION_COOKIE]
    with session_scope(env.url) as s:
        user = s.get(StaffUser, env.users["agent"])
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
        row = s.scalar(select(StaffSession).where(StaffSession.user_id == user.id))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.token_hash != token
        assert row.expires_at == NOW + timedelta(hours=8)
    page = client.get("/")
    assert page.status_code == 200 and 'name="csrf-token"' in page.text and "Agent" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/api/me").json() == {"id": env.users["agent"], "email": "agent@ridgeline.example",
                                            "name": "Agent", "role": "agent", "teams": ["support"]}
    assert ("login", env.users["agent"], None) in audit_actions(env.url)


def test_secure_cookie_when_configured(env: Env) -> None:
    client = env.client(cookie_secure=True)
    form = client.get("/login")
    assert "Secure" in form.headers["set-cookie"]
    token = LOGIN_CSRF.search(form.text).group(1)
    # an https client would send it back; httpx does not over http, so set it by hand
    client.cookies.set("console_login_csrf", token, path="/login")
    answer = client.post("/login", data={"email": "agent@ridgeline.example", "password": PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert "Secure" in next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))


def test_failed_logins_are_generic_audited_and_never_store_the_password(env: Env) -> None:
    client = env.client()
    wrong = login(client, "agent@ridgeline.example", "not the password")
    unknown = login(client, "nobody@ridgeline.example", "whatever it is")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password don&#39;t match an active account."
    assert message in wrong.text and message in unknown.text
    assert SESSION_COOKIE not in client.cookies
    with session_scope(env.url) as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed").order_by(AuditEntry.id)).all()
        assert [(r.user_id, r.detail["email"], r.detail["reason"]) for r in rows] == [
            (env.users["agent"], "agent@ridgeline.example", "bad_password"),
            (None, "nobody@ridgeline.example", "unknown_email")]
        assert not any("not the password" in json.dumps(r.detail) for r in rows)


def test_login_is_rate_limited_per_email(env: Env) -> None:
    client = env.client()
    for _ in range(5):
        assert login(client, "agent@ridgeline.example", "wrong password!").status_code == 401
    blocked = login(client, "agent@ridgeline.example")  # even the right password
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
    assert login(client, "lead@ridgeline.example").status_code == 303  # other emails are not affected
    env.clock.advance(301)
    assert login(env.client(), "agent@ridgeline.example").status_code == 303


def test_login_form_needs_its_csrf_field(env: Env) -> None:
    client = env.client()
    client.get("/login")
    answer = client.post("/login", data={"email": "agent@ridgeline.example", "password": PASSWORD,
                                         "csrf_token": "forged"}, follow_redirects=False)
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies
    fresh = TestClient(env.app())  # no cookie at all
    answer = fresh.post("/login", data={"email": "agent@ridgeline.example", "password": PASSWORD, "csrf_token": "x"},
                        follow_redirects=False)
    assert answer.status_code == 403


def test_sessions_end_after_idle_time_and_after_eight_hours(env: Env) -> None:
    client, _ = logged_in(env, "agent")
    env.clock.advance(29 * 60)
    assert client.get("/api/queue").status_code == 200  # refreshes last_seen_at
    env.clock.advance(29 * 60)
    assert client.get("/api/queue").status_code == 200
    env.clock.advance(31 * 60)
    assert client.get("/api/queue").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"

    client, _ = logged_in(env, "agent", env.client())
    for _ in range(8 * 3 - 1):  # busy all day, a request every 20 minutes
        env.clock.advance(20 * 60)
        assert client.get("/api/queue").status_code == 200
    env.clock.advance(20 * 60)
    assert client.get("/api/queue").status_code == 401


def test_last_seen_is_written_at_most_every_30_seconds(env: Env) -> None:
    client, _ = logged_in(env, "agent")

    def seen() -> datetime:
        with session_scope(env.url) as s:
            return s.scalar(select(StaffSession.last_seen_at).where(StaffSession.user_id == env.users["agent"]))

    env.clock.advance(10)
    client.get("/api/queue")
    assert seen() == NOW
    env.clock.advance(25)
    client.get("/api/queue")
    assert seen() == NOW + timedelta(seconds=35)


def test_logout_needs_csrf_and_ends_the_session(env: Env) -> None:
    client, csrf = logged_in(env, "agent")
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.get("/api/queue").status_code == 200
    token = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", headers=csrf).json() == {"ok": True}
    other = env.client()
    other.cookies.set(SESSION_COOKIE, token)  # the old cookie is dead even if kept
    assert other.get("/api/queue").status_code == 401
    assert ("logout", env.users["agent"], None) in audit_actions(env.url)


def test_writes_without_the_right_csrf_header_are_refused(env: Env) -> None:
    client, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    assert client.post(f"/api/handoffs/{hid}/accept").status_code == 403
    truncated = {"X-CSRF-Token": csrf["X-CSRF-Token"][:-1]}
    assert client.post(f"/api/handoffs/{hid}/accept", headers=truncated).status_code == 403
    other, other_csrf = logged_in(env, "lead")
    assert client.post(f"/api/handoffs/{hid}/accept", headers=other_csrf).status_code == 403  # another session's
    with session_scope(env.url) as s:
        assert s.get(Handoff, hid).status == "queued"
    assert client.post(f"/api/handoffs/{hid}/accept", headers=csrf).status_code == 200


def test_every_api_route_needs_a_session(env: Env) -> None:
    shopper = env.client()
    hid = env.handoffs["support"]
    gets = ["/api/me", "/api/queue", f"/api/handoffs/{hid}", f"/api/handoffs/{hid}/assist", "/api/events",
            "/api/metrics/suggestions", "/api/audit"]
    posts = [(f"/api/handoffs/{hid}/{a}", {}) for a in ("accept", "handback", "close")] + [
        (f"/api/handoffs/{hid}/messages", {"text": "hi"}), (f"/api/handoffs/{hid}/card", {"product_id": 1}),
        (f"/api/handoffs/{hid}/offer", {"offer_id": 1}),
        ("/api/suggestions/k/events", {"handoff_id": hid, "event": "shown", "text": "x"}),
        ("/api/staff", {"email": "x@y.example", "name": "X", "password": "p" * 12}), ("/logout", {})]
    for path in gets:
        assert shopper.get(path).status_code == 401, path
    for path, body in posts:
        assert shopper.post(path, json=body, headers={"X-CSRF-Token": "x"}).status_code == 401, path
    shopper.cookies.set(SESSION_COOKIE, "forged-token")
    assert shopper.get("/api/queue").status_code == 401
    assert shopper.get("/", follow_redirects=False).status_code == 303
    assert audit_actions(env.url) == []


# --- roles, teams, audit -----------------------------------------------------------------------


def test_agents_see_their_teams_supervisors_all(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    queue = agent.get("/api/queue").json()["items"]
    assert [i["id"] for i in queue] == [env.handoffs["support"]]
    item = queue[0]
    assert item["team"] == "support" and item["reason"] == "request" and item["status"] == "queued"
    assert item["wait_s"] == 180 and item["sentiment"] == -0.5 and item["preview"] == "I need a human (support)"
    assert item["customer_name"] and item["channel"] == "socketio"

    other = env.handoffs["payments"]
    assert agent.get(f"/api/handoffs/{other}").status_code == 404
    assert agent.post(f"/api/handoffs/{other}/accept", headers=csrf).status_code == 404
    assert agent.post(f"/api/handoffs/{other}/messages", json={"text": "hi"}, headers=csrf).status_code == 404
    assert agent.get("/api/handoffs/999999").status_code == 404
    assert agent.get("/api/audit").status_code == 403
    assert agent.get("/api/metrics/suggestions").status_code == 403

    lead, _ = logged_in(env, "lead")
    assert {i["id"] for i in lead.get("/api/queue").json()["items"]} == set(env.handoffs.values())
    assert lead.get(f"/api/handoffs/{other}").status_code == 200


def test_viewing_and_sending_are_audited(env: Env) -> None:
    agent, csrf = logged_in(env, "agent")
    hid = env.handoffs["support"]
    view = agent.get(f"/api/handoffs/{hid}").json()
    assert [m["author"] for m in view["transcript"]] == ["bot", "shopper"]  # oldest first
    assert view["panel"]["profile"] == {"name": "Test Shopper"} and view["handoff"]["id"] == hid
    agent.post(f"/api/handoffs/{hid}/accept", headers=csrf)
    agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Hi, I'm Agent."}, headers=csrf)
    uid = env.users["agent"]
    assert [a for a in audit_actions(env.url) if a[0] != "login"] == [
        ("view_conversation", uid, hid), ("accept", uid, hid), ("send_message", uid, hid)]
    lead, _ = logged_in(env, "lead")
    items = lead.get("/api/audit", params={"handoff_id": hid}).json()["items"]
    assert [i["action"] for i in items] == ["send_message", "accept", "view_conversation"]
    assert items[0]["user_email"] == "agent@ridgeline.example" and items[0]["detail"]["chars"] == 14


def test_admins_create_staff_others_may_not(env: Env) -> None:
    body = {"email": "new@ridgeline.example", "name": "New Agent", "password": "a long enough pw", "role": "agent",
            "teams": ["privacy"]}
    lead, lead_csrf = logged_in(env, "lead")
    assert lead.post("/api/staff", json=body, headers=lead_csrf).status_code == 403
    admin, csrf = logged_in(env, "admin")
    created = admin.post("/api/staff", json=body, headers=csrf)
    assert created.status_code == 201 and created.json()["teams"] == ["privacy"]
    assert admin.post("/api/staff", json=body, headers=csrf).status_code == 409
    assert admin.post("/api/staff", json={**body, "email": "x@ridgeline.example", "password": "short"},
                      headers=csrf).status_code == 422
    new, _ = logged_in_with(env, "new@ridgeline.example", "a long enough pw")
    assert new.get("/api/queue").json()["items"] == []
    with session_scope(env.url) as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "create_staff"))
        assert entry.detail["email"] == "new@ridgeline.example" and "password" not in entry.detail


def test_demo_staff_are_created_once_with_a_private_login_file(env: Env, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "var" / "console-demo-login.txt"
    with session_scope(env.url) as s:
        assert ensure_demo_staff(s, path=path, now=NOW) == []  # staff exist already
        s.execute(AuditEntry.__table__.delete())
        s.execute(StaffSession.__table__.delete())
        s.execute(StaffUser.__table__.delete())
    with session_scope(env.url) as s:
        logins = ensure_demo_staff(s, path=path, now=NOW)
    assert [e for e, _ in logins] == ["agent@ridgeline.example", "lead@ridgeline.example"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert all(f"{e} {p}" in path.read_text() for e, p in logins)
    with session_scope(env.url) as s:
        assert ensure_demo_staff(s, path=path, now=NOW) == []
    client, _ = logged_in_with(env, *logins[0])
    assert client.get("/api/me").json()["teams"] == ["support"]


def logged_in_with(env: Env, email: str, password: str) -> tuple[TestClient, None]:
    client = env.client()
    assert login(client, email, password).status_code == 303
    return client, None


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
        waiting = handoffs.undelivered(s, handoff_id=hid)
        assert [m.text for m in waiting] == ["Are you there?"]
    env.relay.fail, env.relay.result = False, False  # a REST shopper: no push, picked up with the next reply
    later = agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Second try"}, headers=csrf).json()
    assert later["delivered"] is False and "next message" in later["warning"]
    env.relay.result = True
    agent.post(f"/api/handoffs/{hid}/messages", json={"text": "Third"}, headers=csrf)
    with session_scope(env.url) as s:
        assert [m.text for m in handoffs.undelivered(s, handoff_id=hid)] == ["Are you there?", "Second try"]


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
    pytest.importorskip("shop.assist.suggested_replies")
    pytest.importorskip("shop.assist.panel")
    from models.llm.chat import FakeChat
    from models.llm.runner import LLMRunner

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
    send = lambda **kw: agent.post(f"/api/handoffs/{hid}/messages", **{"headers": csrf, **kw})
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


# --- the live event stream (a real server) ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(env: Env) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(env.app(sse_heartbeat_s=0.5), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _read_events(lines: Iterator[str], *, until: str, timeout_s: float) -> list[tuple[str, dict | None]]:
    """(event, data) pairs and ("ping", None) for comments, until an event named ``until``."""
    out: list[tuple[str, dict | None]] = []
    event = None
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {until!r} event in {timeout_s} s: {out}")
        if line.startswith(": "):
            out.append(("ping", None))
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            out.append((event, json.loads(line[6:])))
            if event == until:
                return out
            event = None
    return out


def test_the_event_stream_pushes_new_messages_for_visible_teams_only(env: Env, live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        token = LOGIN_CSRF.search(http.get("/login").text).group(1)
        assert http.post("/login", data={"email": "agent@ridgeline.example", "password": PASSWORD,
                                         "csrf_token": token}).status_code == 303
        with http.stream("GET", "/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first = _read_events(lines, until="queue", timeout_s=5)
            assert [i["id"] for i in first[-1][1]["items"]] == [env.handoffs["support"]]
            with session_scope(env.url) as s:
                handoffs.record_message(s, handoff_id=env.handoffs["payments"], author="shopper", text="hidden",
                                        now=NOW, delivered=True)
                handoffs.record_message(s, handoff_id=env.handoffs["support"], author="shopper",
                                        text="are you there?", now=NOW, delivered=True)
            events = _read_events(lines, until="message", timeout_s=5)
            message = events[-1][1]
            assert (message["text"], message["handoff_id"]) == ("are you there?", env.handoffs["support"])
            more = _read_events(lines, until="queue", timeout_s=5)  # the preview changed
            assert more[-1][1]["items"][0]["preview"] == "are you there?"
            texts = [d["text"] for e, d in events + more if e == "message"]
            assert texts == ["are you there?"]  # the payments team's message never came
    # the stream stops with the client; the server shuts down cleanly in the fixture


def test_the_event_stream_sends_heartbeats(env: Env, live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        token = LOGIN_CSRF.search(http.get("/login").text).group(1)
        http.post("/login", data={"email": "lead@ridgeline.example", "password": PASSWORD, "csrf_token": token})
        with http.stream("GET", "/api/events") as stream:
            seen = []
            deadline = time.monotonic() + 5
            for line in stream.iter_lines():
                seen.append(line)
                if line.startswith(": ping") or time.monotonic() > deadline:
                    break
            assert any(line.startswith(": ping") for line in seen), seen
        with session_scope(env.url) as s:
            assert s.scalar(select(func.count()).select_from(StaffSession)) == 1
