"""Events analytics must survive: garbage, missing fields, wrong types, forged marks, huge
texts, replays inside one batch, another channel; none of them raises, each bad one is
counted with its reason, and none moves a figure it should not."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from shop.analytics.conversation_review import bot_only_conversations, transcript
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.event_shape import MAX_TEXT, BadEvent, read_event
from shop.analytics.figures import Filters, Rate
from shop.analytics.ingest import ingest_events, record_events
from shop.db.analytics_tables import AnalyticsConversation, AnalyticsEvent
from shop.db.engine import session_scope
from tools.demo.rasa_events import Chat, unix

DAY = datetime(2026, 11, 2, 9, 0)
ALL = Filters(start=date(2026, 11, 2), end=date(2026, 11, 2))


def _good_user(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {"sender_id": "web-x", "event": "user", "timestamp": unix(DAY), "text": "hi",
                                "parse_data": {"intent": {"name": "greet"}}, "input_channel": "socketio",
                                "message_id": "abc"}
    event.update(changes)
    return event


GARBAGE: list[tuple[object, str]] = [
    (None, "an event must be a JSON object"),
    (5, "an event must be a JSON object"),
    ("{\"event\": \"user\"}", "an event must be a JSON object"),
    ([_good_user()], "an event must be a JSON object"),
    ({"event": "user", "timestamp": unix(DAY)}, "sender_id is missing"),
    (_good_user(sender_id=""), "sender_id is missing"),
    (_good_user(sender_id=42), "sender_id must be a string"),
    (_good_user(sender_id="x" * 256), "sender_id is longer than 255 characters"),
    (_good_user(event=None), "'event' (the event type) is missing"),
    (_good_user(event="drop_tables"), "unknown event type 'drop_tables'"),
    (_good_user(timestamp=None), "timestamp must be a number (Unix seconds)"),
    (_good_user(timestamp="yesterday"), "timestamp must be a number (Unix seconds)"),
    (_good_user(timestamp=True), "timestamp must be a number (Unix seconds)"),
    (_good_user(timestamp=math.nan), "timestamp must be Unix seconds between 2000 and 2100"),
    (_good_user(timestamp=math.inf), "timestamp must be Unix seconds between 2000 and 2100"),
    (_good_user(timestamp=-1), "timestamp must be Unix seconds between 2000 and 2100"),
    (_good_user(timestamp=1e13), "timestamp must be Unix seconds between 2000 and 2100"),
    (_good_user(text=["hi"]), "text must be a string"),
    (_good_user(parse_data="greet"), "parse_data must be an object"),
    (_good_user(parse_data={"intent": {"name": 7}}), "intent name must be a string"),
    (_good_user(input_channel="c" * 65), "input_channel is longer than 64 characters"),
    (_good_user(metadata=["customer_id", 1]), "metadata must be an object"),
    ({"sender_id": "web-x", "event": "action", "timestamp": unix(DAY)}, "action name is missing"),
    ({"sender_id": "web-x", "event": "bot", "timestamp": unix(DAY), "data": "cards"}, "data must be an object"),
]


@pytest.mark.parametrize(("event", "reason"), GARBAGE)
def test_each_bad_event_says_what_is_wrong(event: object, reason: str) -> None:
    with pytest.raises(BadEvent) as caught:
        read_event(event)
    assert str(caught.value) == reason


def test_a_batch_of_garbage_is_skipped_and_counted_never_raised(db_url: str) -> None:
    good = _good_user()
    with session_scope(db_url) as session:
        result = ingest_events(session, events=[event for event, _ in GARBAGE] + [good, dict(good)])
    assert (result.stored, result.duplicates, result.skipped) == (1, 1, len(GARBAGE))
    assert result.reasons["an event must be a JSON object"] == 4 and sum(result.reasons.values()) == len(GARBAGE)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsEvent)) == 1
        assert record_events(session, events=[good]) == 0  # a replay later: still once


def test_ignored_types_are_counted_apart_and_not_stored() -> None:
    assert read_event({"sender_id": "s", "event": "slot", "timestamp": unix(DAY), "name": "x", "value": 1}) is None
    assert read_event({"sender_id": "s", "event": "action", "timestamp": unix(DAY), "name": "action_listen"}) is None


def test_huge_text_is_cut_and_forged_marks_and_customer_ids_are_dropped(db_url: str) -> None:
    chat = Chat("web-huge", channel="socketio", start=DAY)
    chat.user("a" * 1_000_000, "search_products")
    chat.action("action_search_products")
    for marks in ({"search_results": -5}, {"search_results": "3"}, {"search_results": True}, {"answer": "gpt"},
                  {"answer": ["llm"]}, "llm"):
        chat.bot("x", analytics=marks)  # type: ignore[arg-type]
    forged = [dict(e) for e in chat.events]
    for customer in ("abc", -1, True, "99999999999", 0):
        forged.append(_good_user(sender_id="web-forged", timestamp=unix(DAY) + len(forged),
                                 message_id=f"f{len(forged)}", metadata={"customer_id": customer}))
    with session_scope(db_url) as session:
        result = ingest_events(session, events=forged)
        assert result.skipped == 0
        texts = session.scalars(select(AnalyticsEvent.text).where(AnalyticsEvent.type == "user",
                                                                  AnalyticsEvent.sender_id == "web-huge")).all()
        assert [len(t or "") for t in texts] == [MAX_TEXT]
        marks = session.scalars(select(AnalyticsEvent.detail).where(AnalyticsEvent.type == "bot")).all()
        assert all("analytics" not in m for m in marks)
        customers = session.scalars(select(AnalyticsConversation.customer_id)).all()
        assert customers == [None, None]
        figures = dashboard(session, filters=ALL)
    assert figures.search_zero_results == Rate(0, 0) and figures.llm_answer_rate == Rate(0, 0)
    assert figures.conversations == 2


def test_another_channel_counts_only_under_its_own_name(db_url: str) -> None:
    web = Chat("web-1", channel="socketio", start=DAY)
    web.turn("hi", "greet", "utter_greet", "Hi!")
    odd = Chat("evil-1", channel="evil'; DROP TABLE analytics_events;--", start=DAY)
    odd.turn("hi", "greet", "utter_greet", "Hi!")
    with session_scope(db_url) as session:
        record_events(session, events=web.events + odd.events)
        assert dashboard(session, filters=ALL).conversations == 2
        assert dashboard(session, filters=Filters(start=ALL.start, end=ALL.end, channel="socketio")).conversations == 1
        evil = Filters(start=ALL.start, end=ALL.end, channel="evil'; DROP TABLE analytics_events;--")
        assert dashboard(session, filters=evil).conversations == 1
        assert session.scalar(select(func.count()).select_from(AnalyticsEvent)) > 0


def test_the_same_message_id_in_two_senders_never_merges_their_turns(db_url: str) -> None:
    one = Chat("sender-one", channel="socketio", start=DAY)
    one.user("my secret order 123", "order_status", message_id="same-id")
    two = Chat("sender-two", channel="socketio", start=DAY)
    two.user("hello", "greet", message_id="same-id")
    with session_scope(db_url) as session:
        record_events(session, events=one.events + two.events)
        rows = bot_only_conversations(session, filters=ALL)
        assert sorted(r.first_message for r in rows) == ["hello", "my secret order 123"]
        other = next(r.conversation_id for r in rows if r.first_message == "hello")
        assert [t.text for t in transcript(session, conversation_id=other)] == ["hello"]
        assert transcript(session, conversation_id="sender-one@0") == []
        assert transcript(session, conversation_id="x" * 10_000) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"start": date(2026, 11, 3), "end": date(2026, 11, 2)}, "is before start"),
    ({"start": date(2026, 11, 2), "end": date(2026, 11, 2), "channel": ""}, "channel must be"),
    ({"start": datetime(2026, 11, 2), "end": date(2026, 11, 2)}, "not datetimes"),
    ({"start": "2026-11-02", "end": date(2026, 11, 2)}, "must be dates"),
])
def test_filters_refuse_what_they_cannot_mean(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Filters(**kwargs)  # type: ignore[arg-type]


def test_a_late_session_start_splits_the_conversation_it_falls_in(db_url: str) -> None:
    chat = Chat("tg-late", channel="telegram", start=DAY)
    chat.turn("hi", "greet", "utter_greet", "Hi!", at=DAY.replace(minute=1))
    chat.session(DAY.replace(hour=12))
    chat.turn("agent please", "request_human", "action_request_human", "Queued.", at=DAY.replace(hour=12, minute=1))
    chat.turn("thanks", "thank", "utter_welcome", "Welcome!", at=DAY.replace(hour=12, minute=2))
    late = [e for e in chat.events if e["event"] == "session_started"][1]
    first = [e for e in chat.events if e is not late]
    with session_scope(db_url) as session:
        record_events(session, events=first[:5])
    with session_scope(db_url) as session:
        record_events(session, events=first[5:])
        assert session.scalars(select(AnalyticsConversation.turns)).all() == [3]
    with session_scope(db_url) as session:
        assert record_events(session, events=[late]) == 1
        rows = session.execute(select(AnalyticsConversation.session_no, AnalyticsConversation.turns,
                                      AnalyticsConversation.until_at)
                               .order_by(AnalyticsConversation.session_no)).all()
    # session_started comes 250 ms after action_session_start (tools/demo/rasa_events.py)
    assert rows == [(1, 1, DAY.replace(hour=12) + timedelta(milliseconds=250)), (2, 2, None)]
