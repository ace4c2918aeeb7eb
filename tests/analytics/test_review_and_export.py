"""The bot-only review list (search, paging, limits), transcripts, and the CSV exports
(every figure present, formula injection defused)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from shop.analytics.conversation_review import ReviewError, bot_only_conversations, transcript
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.export import conversations_csv, dashboard_csv, dashboard_text, safe_cell
from shop.analytics.figures import ConversationSummary, Filters, Turn
from shop.analytics.ingest import record_events
from shop.db.engine import session_scope
from tests.analytics.scenario import DAY1, DAY2, at, build_shop, conversation_events, shop_side

WEEK = Filters(start=date(2026, 11, 2), end=date(2026, 11, 3))


@pytest.fixture
def scenario_url(db_url: str) -> str:
    with session_scope(db_url) as session:
        shop = build_shop(session)
        shop_side(session, shop)
    with session_scope(db_url) as session:
        record_events(session, events=conversation_events(shop))
    return db_url


def test_bot_only_conversations_newest_first_without_handoffs(scenario_url: str) -> None:
    with session_scope(scenario_url) as session:
        rows = bot_only_conversations(session, filters=WEEK)
    # D, F, G were handed off; H said nothing; I is after the filter
    assert [(r.first_message, r.channel, r.turns, r.contained) for r in rows] == [
        ("waterprof jakcet", "socketio", 4, True),  # E
        ("Where is my parcel??", "telegram", 4, False),  # C: the fallback was never resolved
        ("asdfgh qwerty", "socketio", 2, True),  # B
        ("hi", "socketio", 7, True),  # A
    ]
    # the session_started event comes 250 ms after action_session_start (tools/demo/rasa_events.py)
    assert rows[0].started_at == at(DAY2, "09:00:00") + timedelta(milliseconds=250)
    assert rows[0].conversation_id == "web-alice-1@1793696400250"


def test_the_search_reads_the_shoppers_words_only_and_pages(scenario_url: str) -> None:
    with session_scope(scenario_url) as session:
        parcel = bot_only_conversations(session, filters=WEEK, query="  PARCEL  never ")
        bot_words = bot_only_conversations(session, filters=WEEK, query="Did you mean")
        wildcard = bot_only_conversations(session, filters=WEEK, query="%")
        telegram = bot_only_conversations(session, filters=Filters(WEEK.start, WEEK.end, "telegram"))
        paged = [bot_only_conversations(session, filters=WEEK, limit=1, offset=n)[0].first_message for n in range(4)]
        past_end = bot_only_conversations(session, filters=WEEK, limit=10, offset=4)
    assert [r.first_message for r in parcel] == ["Where is my parcel??"]
    assert bot_words == [] and wildcard == [] and past_end == []
    assert [r.first_message for r in telegram] == ["Where is my parcel??"]
    assert paged == ["waterprof jakcet", "Where is my parcel??", "asdfgh qwerty", "hi"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"query": "x" * 201}, "at most 200"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
    ({"limit": True}, "limit"), ({"offset": -1}, "offset"), ({"offset": "3"}, "offset"),
])
def test_review_refuses_bad_paging(scenario_url: str, kwargs: dict[str, object], message: str) -> None:
    with session_scope(scenario_url) as session, pytest.raises(ReviewError, match=message):
        bot_only_conversations(session, filters=WEEK, **kwargs)  # type: ignore[arg-type]


def test_a_transcript_shows_a_message_read_again_once_with_its_final_intent(scenario_url: str) -> None:
    with session_scope(scenario_url) as session:
        bravo = next(r for r in bot_only_conversations(session, filters=WEEK) if r.first_message == "asdfgh qwerty")
        turns = transcript(session, conversation_id=bravo.conversation_id)
    assert [(t.author, t.text, t.intent) for t in turns] == [
        ("shopper", "asdfgh qwerty", "nlu_fallback"),
        ("bot", "Did you mean 'search for products'?", None),
        ("shopper", "/search_products", "search_products"),
        ("bot", "I found nothing like that.", None),
    ]
    assert turns[0].at == at(DAY1, "11:00:10")


def test_a_transcript_keeps_to_its_own_session(scenario_url: str) -> None:
    with session_scope(scenario_url) as session:
        rows = bot_only_conversations(session, filters=WEEK)
        alice = [r.conversation_id for r in rows if r.conversation_id.startswith("web-alice-1@")]
        first, second = (transcript(session, conversation_id=c) for c in sorted(alice))
    assert first[0].text == "hi" and all(t.at < DAY2 for t in first)
    assert first[-1].text == "Thanks for rating us!" and ("bot", "[promo_code]") in [(t.author, t.text) for t in first]
    assert second[0].text == "waterprof jakcet" and second[0].intent == "search_products"


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tcmd", "\rx"])
def test_cells_that_would_start_a_formula_get_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert safe_cell("plain") == "plain" and safe_cell(None) == "" and safe_cell(Decimal("1.50")) == "1.50"


def test_conversations_csv_defuses_what_shoppers_typed() -> None:
    rows = [ConversationSummary("web-1@1", "socketio", datetime(2026, 11, 2, 9, 0), 3, True,
                                "=cmd|' /C calc'!A0"),
            ConversationSummary("@evil", "-rest", datetime(2026, 11, 2, 9, 5), 1, False, "hi, \"you\"\nthere")]
    parsed = list(csv.reader(io.StringIO(conversations_csv(rows))))
    assert parsed == [["conversation_id", "channel", "started_at", "turns", "contained", "first_message"],
                      ["web-1@1", "socketio", "2026-11-02T09:00:00", "3", "yes", "'=cmd|' /C calc'!A0"],
                      ["'@evil", "'-rest", "2026-11-02T09:05:00", "1", "no", "hi, \"you\"\nthere"]]


def test_dashboard_csv_holds_every_figure(scenario_url: str) -> None:
    with session_scope(scenario_url) as session:
        figures = dashboard(session, filters=WEEK)
    rows = {(r[0], r[1]): r[2:] for r in csv.reader(io.StringIO(dashboard_csv(figures)))}
    assert rows[("summary", "conversations")] == ["7"]
    assert rows[("summary", "containment")] == ["0.4286", "3", "7"]
    assert rows[("summary", "handoff_wait_p95_s")] == ["576.00"]
    assert rows[("summary", "search_zero_results")] == ["0.3333", "1", "3"]
    assert rows[("recommendations", "revenue")] == ["100.00"]
    assert rows[("promo treatment", "revenue")] == ["90.00"] and rows[("promo control", "orders")] == ["1"]
    assert rows[("unanswered", "where is my parcel??")] == ["2"]
    assert rows[("top_intent", "rate")] == ["4"]
    assert rows[("day 2026-11-03", "handoffs")] == ["2"] and rows[("filters", "channel")] == ["all"]
    text = dashboard_text(figures)
    assert "containment           3/7 (42.9%)" in text and "p50 360 s, p95 576 s (2 accepted)" in text


def test_turn_is_the_contract_shape() -> None:
    turn = Turn(at=datetime(2026, 11, 2), author="bot", text="hi", intent=None)
    assert (turn.author, turn.intent) == ("bot", None)
