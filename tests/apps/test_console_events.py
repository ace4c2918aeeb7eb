"""The staff console's live event stream (``GET /api/events``) from a real server
(the ``live_server`` fixture, ``tests/apps/conftest.py``): new messages for the teams
the staff member sees, queue updates and heartbeats."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

from shop.db.engine import session_scope
from shop.db.schema import StaffSession
from shop.handoff.states import record_message
from tests.apps.console_support import LOGIN_CSRF, NOW, PASSWORD, Env, read_events

# --- the live event stream (a real server) ----------------------------------------------------------


def test_the_event_stream_pushes_new_messages_for_visible_teams_only(env: Env, live_server: str) -> None:
    with httpx.Client(base_url=live_server, timeout=10) as http:
        token = LOGIN_CSRF.search(http.get("/login").text).group(1)
        assert http.post("/login", data={"email": "agent@ridgeline.example", "password": PASSWORD,
                                         "csrf_token": token}).status_code == 303
        with http.stream("GET", "/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first = read_events(lines, until="queue", timeout_s=5)
            assert [i["id"] for i in first[-1][1]["items"]] == [env.handoffs["support"]]
            with session_scope(env.url) as s:
                record_message(s, handoff_id=env.handoffs["payments"], author="shopper", text="hidden",
                               now=NOW, delivered=True)
                record_message(s, handoff_id=env.handoffs["support"], author="shopper",
                               text="are you there?", now=NOW, delivered=True)
            events = read_events(lines, until="message", timeout_s=5)
            message = events[-1][1]
            assert (message["text"], message["handoff_id"]) == ("are you there?", env.handoffs["support"])
            more = read_events(lines, until="queue", timeout_s=5)  # the preview changed
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
