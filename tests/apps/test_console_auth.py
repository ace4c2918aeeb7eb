"""The staff console (``apps.console``) on a real database (SQLite and PostgreSQL):
login, sessions and their timeouts, CSRF, roles and teams, the audit log and creating
staff. Fixtures: ``tests/apps/conftest.py``; fakes and helpers:
``tests/apps/console_support.py``."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from apps.console.auth import SESSION_COOKIE
from apps.console.staff import ensure_demo_staff
from shop.db.engine import session_scope
from shop.db.schema import AuditEntry, Handoff, StaffSession, StaffUser
from tests.apps.console_support import (
    LOGIN_CSRF,
    NOW,
    PASSWORD,
    Env,
    audit_actions,
    logged_in,
    logged_in_with,
    login,
)

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
