"""The handoff modules (``shop.handoff``: states, queue, tickets, gate, history,
delivery) on real databases (SQLite and PostgreSQL): the state machine and its
refusals, the queue, wait estimates with 0, 1 and 2 agents online, tickets, topic
and sentiment triggers, copying the conversation, REST delivery of staff messages,
and handoffs surviving a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from shop.db.engine import session_scope
from shop.db.schema import Customer, Handoff, HandoffMessage, StaffSession, StaffUser, Ticket
from shop.handoff import delivery, gate, queue, states, tickets
from shop.handoff.handoff_config import parse_config
from shop.handoff.history import copy_history
from shop.handoff.sentiment import score

NOW = datetime(2026, 11, 25, 12, 0, 0)  # a Wednesday, noon UTC
ALWAYS_OPEN = {"business_hours": {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "open": "00:00", "close": "23:59", "text": "every day"}}
CONFIG = parse_config({
    "triggers": {"topics": [{"team": "payments", "phrases": ["chargeback", "charged twice"]},
                            {"team": "privacy", "phrases": ["gdpr"]}]},
    "average_handle_minutes": 6, **ALWAYS_OPEN,
})


def _epoch(at: datetime) -> float:
    """Epoch seconds of a naive UTC time (as Rasa's tracker events carry them)."""
    return at.replace(tzinfo=timezone.utc).timestamp()


def _staff(session: Session, *, name: str, role: str = "agent", teams: tuple[str, ...] = ("support",),
           seen_ago_s: int = 10, ended: bool = False, expired: bool = False) -> StaffUser:
    user = StaffUser(email=f"{name.lower()}@shop.test", name=name, password_hash="x", role=role,
                     teams=list(teams), is_active=True, created_at=NOW - timedelta(days=30))
    session.add(user)
    session.flush()
    session.add(StaffSession(token_hash=f"{name:0<64}"[:64], user_id=user.id, csrf_token="c",
                             created_at=NOW - timedelta(hours=1),
                             expires_at=NOW - timedelta(minutes=1) if expired else NOW + timedelta(hours=8),
                             last_seen_at=NOW - timedelta(seconds=seen_ago_s),
                             ended_at=NOW if ended else None))
    session.flush()
    return user


def _start(session: Session, sender: str, *, team: str = "support", minutes_ago: int = 0) -> Handoff:
    return states.start_handoff(session, sender_id=sender, channel="rest", reason="request", team=team,
                                now=NOW - timedelta(minutes=minutes_ago))


# --- state machine ---


def test_state_machine_transitions_and_refusals(db_url: str) -> None:
    with session_scope(db_url) as s:
        ana, bo = _staff(s, name="Ana"), _staff(s, name="Bo")
        h = _start(s, "c1")
        assert h.status == "queued"
        assert _start(s, "c1").id == h.id  # one open handoff per conversation
        states.accept(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW)
        assert (h.status, h.assigned_to, h.accepted_at) == ("active", ana.id, NOW)
        assert states.accept(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW).status == "active"  # idempotent
        with pytest.raises(states.HandoffStateError, match="active"):
            states.accept(s, handoff_id=h.id, staff_user_id=bo.id, now=NOW)
        states.hand_back(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW)
        assert (h.status, h.ended_by) == ("returned", ana.id)
        assert states.open_handoff_for(s, sender_id="c1") is None
        for action in (states.close, states.hand_back):
            with pytest.raises(states.HandoffStateError, match="returned"):
                action(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW)
        with pytest.raises(states.HandoffStateError, match="returned"):
            states.accept(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW)

        again = _start(s, "c1")  # a new handoff after the last one ended
        assert again.id != h.id
        states.close(s, handoff_id=again.id, staff_user_id=None, now=NOW)
        assert again.status == "closed"
        with pytest.raises(states.HandoffStateError, match="no conversation"):
            states.accept(s, handoff_id=999_999, staff_user_id=ana.id, now=NOW)

        waiting = _start(s, "c2")
        waiting.status = "awaiting_ticket"
        with pytest.raises(states.HandoffStateError, match="awaiting ticket"):
            states.hand_back(s, handoff_id=waiting.id, staff_user_id=ana.id, now=NOW)
        states.accept(s, handoff_id=waiting.id, staff_user_id=bo.id, now=NOW)  # an agent may still take it
        assert waiting.status == "active"


def test_unknown_customer_is_dropped_and_long_sender_ids_still_match(db_url: str) -> None:
    sender = "x" * 180
    with session_scope(db_url) as s:
        h = states.start_handoff(s, sender_id=sender, channel="rest", reason="request", team="support", now=NOW,
                                 customer_id=424242)
        assert h.customer_id is None
        assert states.open_handoff_for(s, sender_id=sender).id == h.id


# --- queue and wait estimate ---


def test_queue_is_oldest_first_and_filters_by_team(db_url: str) -> None:
    with session_scope(db_url) as s:
        newest = _start(s, "q-new", minutes_ago=1)
        oldest = _start(s, "q-old", minutes_ago=30)
        payments = _start(s, "q-pay", team="payments", minutes_ago=10)
        ended = _start(s, "q-ended", minutes_ago=60)
        states.close(s, handoff_id=ended.id, staff_user_id=None, now=NOW)
        assert [h.id for h in queue.queue(s)] == [oldest.id, payments.id, newest.id]
        assert [h.id for h in queue.queue(s, teams=["support"])] == [oldest.id, newest.id]


def test_wait_estimate_with_zero_one_and_two_agents(db_url: str) -> None:
    with session_scope(db_url) as s:
        first, second = _start(s, "w1", minutes_ago=5), _start(s, "w2", minutes_ago=1)
        _staff(s, name="Away", seen_ago_s=3600)                     # not seen for an hour
        _staff(s, name="Gone", ended=True)                          # logged out
        _staff(s, name="Late", expired=True)                        # session expired
        _staff(s, name="Payer", teams=("payments",))                # another team
        nobody = queue.wait_estimate(s, handoff=second, config=CONFIG, now=NOW)
        assert (nobody.position, nobody.agents_online, nobody.minutes, nobody.staffed) == (2, 0, 0, False)
        assert "Nobody from our team is online" in queue.queued_notice(nobody)
        assert "every day" in queue.queued_notice(nobody)

        _staff(s, name="Ana")
        one = queue.wait_estimate(s, handoff=second, config=CONFIG, now=NOW)
        assert (one.position, one.agents_online, one.minutes, one.staffed) == (2, 1, 12, True)
        assert "number 2 in the queue" in queue.queued_notice(one) and "about 12 minutes" in queue.queued_notice(one)

        _staff(s, name="Sup", role="supervisor", teams=())          # supervisors work every team
        two = queue.wait_estimate(s, handoff=second, config=CONFIG, now=NOW)
        assert (two.agents_online, two.minutes) == (2, 6)
        head = queue.wait_estimate(s, handoff=first, config=CONFIG, now=NOW)
        assert (head.position, head.minutes) == (1, 3)
        assert "You're next" in queue.queued_notice(head) and "about 3 minutes" in queue.queued_notice(head)


def test_outside_business_hours_nobody_counts(db_url: str) -> None:
    config = parse_config({"business_hours": {"timezone": "UTC", "days": ["mon"], "open": "09:00",
                                              "close": "17:00", "text": "Mondays"}})
    with session_scope(db_url) as s:
        _staff(s, name="Ana")
        estimate = queue.wait_estimate(s, handoff=_start(s, "h1"), config=config, now=NOW)
        assert estimate.agents_online == 1 and not estimate.open_now and not estimate.staffed
        assert "available Mondays" in queue.queued_notice(estimate)


# --- tickets ---


def test_ticket_flow_with_bad_then_good_email(db_url: str) -> None:
    history = [{"author": "shopper", "text": "hi", "at": _epoch(NOW - timedelta(minutes=3))},
               {"author": "bot", "text": "Hello!", "at": (NOW - timedelta(minutes=3)).isoformat()},
               {"author": "shopper", "text": "I want to talk to a human", "at": None}]
    with session_scope(db_url) as s:
        started = gate.request_handoff(s, sender_id="t1", channel="rest", reason="request", team="support",
                                       config=CONFIG, now=NOW, history=history)
        assert started.status == "awaiting_ticket" and "Leave your message" in started.notice
        route = dict(sender_id="t1", channel="rest", now=NOW + timedelta(minutes=1), config=CONFIG, recent_scores=[])
        first = gate.route_inbound(s, text="My boots fell apart after a week", **route)
        assert first.route == "agent" and first.handoff_id == started.handoff_id
        assert "email address" in first.replies[0]
        bad = gate.route_inbound(s, text="it's ana at example dot com", **route)
        assert "email address" in bad.replies[0]
        with pytest.raises(states.HandoffStateError, match="email"):
            tickets.leave_ticket(s, handoff=s.get(Handoff, started.handoff_id), email="ana@nowhere", message="x",
                                 now=NOW)
        good = gate.route_inbound(s, text="ana.rivera@example.com", **route)
        assert "ticket #" in good.replies[0] and "ana.rivera@example.com" in good.replies[0]
        ticket = s.scalar(select(Ticket).where(Ticket.handoff_id == started.handoff_id))
        assert ticket.email == "ana.rivera@example.com"
        assert ticket.message == "My boots fell apart after a week\nit's ana at example dot com"
        assert s.get(Handoff, started.handoff_id).status == "closed"
        after = gate.route_inbound(s, text="thanks", **route)
        assert after.route == "bot"


def test_ticket_asks_for_the_message_when_the_email_comes_first(db_url: str) -> None:
    with session_scope(db_url) as s:
        started = gate.request_handoff(s, sender_id="t2", channel="rest", reason="request", team="support",
                                       config=CONFIG, now=NOW)
        route = dict(sender_id="t2", channel="rest", now=NOW, config=CONFIG, recent_scores=[])
        first = gate.route_inbound(s, text="bo@example.com", **route)
        assert "What would you like to tell our team?" in first.replies[0]
        assert s.scalar(select(Ticket.id)) is None
        filed = gate.route_inbound(s, text="The zip on my jacket broke.", **route)
        assert "ticket #" in filed.replies[0] and "bo@example.com" in filed.replies[0]
        ticket = s.scalar(select(Ticket).where(Ticket.handoff_id == started.handoff_id))
        assert (ticket.email, ticket.message) == ("bo@example.com", "The zip on my jacket broke.")
        authors = list(s.scalars(select(HandoffMessage.author).where(HandoffMessage.handoff_id == started.handoff_id)
                                 .order_by(HandoffMessage.id)))
        assert authors == ["system", "shopper", "system", "shopper", "system"]  # the asks are in the transcript


# --- triggers ---


def test_topic_opens_a_handoff_for_its_team_with_the_history_first(db_url: str) -> None:
    history = [{"author": "shopper", "text": "hello", "at": _epoch(NOW - timedelta(minutes=2))},
               {"author": "bot", "text": "Hi! How can I help?", "at": _epoch(NOW - timedelta(minutes=2))}]
    with session_scope(db_url) as s:
        _staff(s, name="Pay", teams=("payments",))
        decision = gate.route_inbound(s, sender_id="p1", channel="socketio", text="I want to file a Chargeback",
                                      now=NOW, config=CONFIG, recent_scores=[0.0], history=history)
        assert (decision.route, decision.started) == ("agent", True)
        assert "You're next" in decision.replies[0]
        handoff = s.get(Handoff, decision.handoff_id)
        assert (handoff.reason, handoff.team, handoff.detail, handoff.channel, handoff.status) == \
            ("topic", "payments", "chargeback", "socketio", "queued")
        transcript = list(s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff.id)
                                    .order_by(HandoffMessage.id)))
        assert [(m.author, m.text) for m in transcript] == [
            ("shopper", "hello"), ("bot", "Hi! How can I help?"),
            ("shopper", "I want to file a Chargeback"), ("system", decision.replies[0])]
        assert all(m.delivered_at is not None for m in transcript)
        assert transcript[0].at < NOW

        privacy = gate.route_inbound(s, sender_id="p2", channel="rest", text="what about GDPR?", now=NOW,
                                     config=CONFIG, recent_scores=[0.0])
        assert s.get(Handoff, privacy.handoff_id).team == "privacy"
        assert gate.route_inbound(s, sender_id="p3", channel="rest", text="waterproof boots", now=NOW,
                                  config=CONFIG, recent_scores=[0.0]).route == "bot"
        # while the handoff is open, everything goes to the transcript, not the bot
        follow = gate.route_inbound(s, sender_id="p1", channel="socketio", text="hello?", now=NOW,
                                    config=CONFIG, recent_scores=[0.0])
        assert (follow.route, follow.replies, follow.started) == ("agent", [], False)
        assert s.scalar(select(func.count()).select_from(HandoffMessage)
                        .where(HandoffMessage.handoff_id == handoff.id)) == 5


@pytest.mark.parametrize(("scores", "route"), [
    ([-0.6], "bot"), ([-0.6, -0.7], "agent"), ([-0.6, 0.3], "bot"), ([0.5, -0.5, -0.9], "agent"),
    ([-0.9, -0.8, 0.1], "bot"),
])
def test_sustained_negative_sentiment(db_url: str, scores: list[float], route: str) -> None:
    with session_scope(db_url) as s:
        decision = gate.route_inbound(s, sender_id="s1", channel="rest", text="whatever", now=NOW, config=CONFIG,
                                      recent_scores=scores)
        assert decision.route == route
        if route == "agent":
            handoff = s.get(Handoff, decision.handoff_id)
            assert (handoff.reason, handoff.team, handoff.sentiment) == ("sentiment", "support", scores[-1])


def test_three_angry_messages_trigger_and_triggers_can_be_switched_off(db_url: str) -> None:
    angry = ["This is terrible, my order is late again!", "Your service is useless and awful.",
             "I hate this, worst shop ever!!"]
    scores = [score(t) for t in angry]
    assert all(v <= CONFIG.threshold for v in scores), scores
    off = parse_config({"triggers": {"sentiment": {"enabled": False}}, **ALWAYS_OPEN})
    with session_scope(db_url) as s:
        routes = [gate.route_inbound(s, sender_id="a1", channel="rest", text=t, now=NOW, config=CONFIG,
                                     recent_scores=scores[:i + 1]).route for i, t in enumerate(angry)]
        assert "agent" in routes and routes[0] == "bot"
        assert all(gate.route_inbound(s, sender_id="a2", channel="rest", text=t, now=NOW, config=off,
                                      recent_scores=scores[:i + 1]).route == "bot" for i, t in enumerate(angry))
        assert gate.route_inbound(s, sender_id="a3", channel="rest", text="chargeback", now=NOW, config=off,
                                  recent_scores=[0.0]).route == "bot"  # no topics configured


# --- history, REST delivery ---


def test_copy_history_reads_times_authors_and_limits(db_url: str) -> None:
    history = [{"author": "user", "text": f"m{i}", "at": _epoch(NOW - timedelta(minutes=30 - i))}
               for i in range(25)]
    history += [{"author": "system", "text": "not copied"}, {"author": "bot", "text": "   "},
                {"author": "bot", "text": "future", "at": (NOW + timedelta(hours=1)).isoformat() + "Z"},
                {"author": "bot", "text": "garbled", "at": "yesterday"}, "not a dict"]  # type: ignore[list-item]
    with session_scope(db_url) as s:
        h = _start(s, "h1")
        added = copy_history(s, handoff_id=h.id, history=history, now=NOW)
        rows = list(s.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == h.id)
                              .order_by(HandoffMessage.id)))
        assert added == len(rows)
        assert [r.text for r in rows][-2:] == ["future", "garbled"]
        assert {r.author for r in rows} == {"shopper", "bot"}
        assert all(r.at < NOW for r in rows)
        assert added == 17  # the last 20 entries, less the system, blank and non-dict ones
        assert (rows[0].text, rows[0].at) == ("m10", NOW - timedelta(minutes=20))


def test_request_handoff_keeps_an_open_one(db_url: str) -> None:
    history = [{"author": "shopper", "text": "I want a person", "at": _epoch(NOW) - 5}]
    with session_scope(db_url) as s:
        s.add(Customer(id=7, email="c7@example.com", first_name="C", last_name="S", created_at=NOW))
        _staff(s, name="Ana")
        first = gate.request_handoff(s, sender_id="r1", channel="telegram", reason="fallback", team="support",
                                     config=CONFIG, now=NOW, history=history, customer_id=7)
        assert first.status == "queued" and "You're next" in first.notice
        handoff = s.get(Handoff, first.handoff_id)
        assert (handoff.reason, handoff.channel, handoff.customer_id) == ("fallback", "telegram", 7)
        again = gate.request_handoff(s, sender_id="r1", channel="telegram", reason="request", team="support",
                                     config=CONFIG, now=NOW, history=history)
        assert again.handoff_id == first.handoff_id
        copied = s.scalar(select(func.count()).select_from(HandoffMessage).where(
            HandoffMessage.handoff_id == first.handoff_id, HandoffMessage.author == "shopper"))
        assert copied == 1


def test_take_undelivered_returns_staff_messages_once(db_url: str) -> None:
    with session_scope(db_url) as s:
        ana = _staff(s, name="Ana")
        h = _start(s, "u1")
        states.record_message(s, handoff_id=h.id, author="shopper", text="hello?", now=NOW, delivered=True)
        states.record_message(s, handoff_id=h.id, author="agent", text="Hi, I'm Ana.", now=NOW, staff_user_id=ana.id)
        states.record_message(s, handoff_id=h.id, author="agent", text="", now=NOW, staff_user_id=ana.id,
                              payload={"type": "product_cards", "cards": []})
        states.record_message(s, handoff_id=h.id, author="system", text="seen", now=NOW, delivered=True)
        states.close(s, handoff_id=h.id, staff_user_id=ana.id, now=NOW)
        states.record_message(s, handoff_id=h.id, author="agent", text="Bye!", now=NOW, staff_user_id=ana.id)
        pending = delivery.take_undelivered(s, sender_id="u1", channel="rest", now=NOW)
        assert [(p.text, p.agent_name, p.payload is not None) for p in pending] == [
            ("Hi, I'm Ana.", "Ana", False), ("", "Ana", True), ("Bye!", "Ana", False)]
        assert delivery.take_undelivered(s, sender_id="u1", channel="rest", now=NOW) == []
        assert delivery.undelivered(s, handoff_id=h.id) == []
        assert delivery.take_undelivered(s, sender_id="nobody", channel="rest", now=NOW) == []


# --- restart ---


def test_open_handoff_survives_a_restart(db_url: str) -> None:
    with session_scope(db_url) as s:
        started = gate.request_handoff(s, sender_id="restart-1", channel="rest", reason="request", team="support",
                                       config=CONFIG, now=NOW)
    fresh = create_engine(db_url)  # a new process: a new engine, nothing cached
    try:
        with Session(fresh) as s, s.begin():
            found = states.open_handoff_for(s, sender_id="restart-1")
            assert found is not None and found.id == started.handoff_id and found.status == started.status
            decision = gate.route_inbound(s, sender_id="restart-1", channel="rest", text="still there?",
                                          now=NOW + timedelta(minutes=5), config=CONFIG, recent_scores=[])
            assert (decision.route, decision.handoff_id) == ("agent", started.handoff_id)
    finally:
        fresh.dispose()
