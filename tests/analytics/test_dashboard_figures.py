"""THE dashboard test: the conversations of :mod:`tests.analytics.scenario` (contained ones,
an unresolved fallback, handoffs with known waits, CSAT ratings, a search with no
result, recommendations clicked and bought, an order with a code of the treatment arm
and one of the control group) through the real ingestion, checkout, code redemption and
CSAT services, then every figure of the dashboard against values worked out by hand
(the working is in the comments), on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.figures import Dashboard, Day, Filters, Funnel, PromoArm, Rate
from shop.analytics.ingest import ingest_events, record_events
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from tests.analytics.scenario import Shop, build_shop, conversation_events, shop_side

NOV2, NOV3 = date(2026, 11, 2), date(2026, 11, 3)


def _scenario(url: str) -> tuple[Shop, list[dict[str, object]]]:
    with session_scope(url) as session:
        shop = build_shop(session)
        shop_side(session, shop)
    events = conversation_events(shop)
    with session_scope(url) as session:
        result = ingest_events(session, events=events)
    assert result.skipped == 0 and result.duplicates == 0
    return shop, events


def expected_all_channels() -> Dashboard:
    filters = Filters(start=NOV2, end=NOV3)
    return Dashboard(
        filters=filters,
        # A B C D (Nov 2), E F G (Nov 3); H said nothing; I is on Nov 4
        conversations=7,
        # A, B (fallback resolved by the clarified search), E; not C (unresolved), D F G (handoffs)
        containment=Rate(3, 7),
        # B, C, G fell back; E's misspelt search was read again at once, so it did not
        fallback_rate=Rate(3, 7),
        handoff_rate=Rate(3, 7),  # D, F, G
        # accepted waits 120 s (D) and 600 s (F); G was never accepted.
        # p50 = 120 + 0.5 * 480 = 360; p95 = 120 + 0.95 * 480 = 576
        handoff_wait_p50_s=360.0,
        handoff_wait_p95_s=576.0,
        csat_average=14 / 4,  # A 5, C 2, D 4, E 3
        csat_satisfied=Rate(2, 4),  # 5 and 4
        top_intents=[("rate", 4), ("request_human", 3), ("search_products", 3), ("promo_inquiry", 2),
                     ("recommend_products", 2), ("ask_product_question", 1), ("compare_products", 1),
                     ("goodbye", 1), ("greet", 1), ("out_of_scope", 1)],
        # C's first message and G's ("Where is  my PARCEL??") are one text once folded;
        # C's "/out_of_scope" is a button, not a question
        unanswered=[("where is my parcel??", 2), ("asdfgh qwerty", 1), ("my parcel never came", 1)],
        search_zero_results=Rate(1, 3),  # A found 3, B none, E 4
        recommendations=Funnel(
            impressions=3,  # A: jacket, socks; E: socks
            clicks=2,  # A's two jacket clicks credit one impression; E's socks click another
            add_to_cart=1,  # A's jacket
            orders=1,  # A's jacket order; D's socks were never recommended to D or Blake
            revenue=Decimal("100.00"),  # the jacket line before the code
            ctr=Rate(2, 3), conversion=Rate(1, 3)),
        promo=[
            # A: the offer shown with a code, redeemed at A's checkout: 100.00 - 10% = 90.00
            PromoArm(arm="treatment", conversations=1, shown=1, redeemed=1, orders=1, revenue=Decimal("90.00")),
            # D: Blake is in the control group (nothing shown); bought socks for 20.00
            PromoArm(arm="control", conversations=1, shown=1, redeemed=0, orders=1, revenue=Decimal("20.00")),
        ],
        llm_answer_rate=Rate(2, 3),  # A's answer and promo message by the LLM, E's comparison by the template
        days=[Day(day=NOV2, conversations=4, contained=2, fallbacks=2, handoffs=1, csat_average=11 / 3),
              Day(day=NOV3, conversations=3, contained=1, fallbacks=1, handoffs=2, csat_average=3.0)],
        handoffs_accepted=2,
        csat_ratings=4,
    )


def expected_telegram() -> Dashboard:
    return Dashboard(
        filters=Filters(start=NOV2, end=NOV3, channel="telegram"),
        conversations=2,  # C, F
        containment=Rate(0, 2), fallback_rate=Rate(1, 2), handoff_rate=Rate(1, 2),
        handoff_wait_p50_s=600.0, handoff_wait_p95_s=600.0,
        csat_average=2.0, csat_satisfied=Rate(0, 1),
        top_intents=[("out_of_scope", 1), ("rate", 1), ("request_human", 1)],
        unanswered=[("my parcel never came", 1), ("where is my parcel??", 1)],
        search_zero_results=Rate(0, 0),
        recommendations=Funnel(impressions=0, clicks=0, add_to_cart=0, orders=0, revenue=Decimal("0.00"),
                               ctr=Rate(0, 0), conversion=Rate(0, 0)),
        promo=[PromoArm(arm="treatment", conversations=0, shown=0, redeemed=0, orders=0, revenue=Decimal("0.00")),
               PromoArm(arm="control", conversations=0, shown=0, redeemed=0, orders=0, revenue=Decimal("0.00"))],
        llm_answer_rate=Rate(0, 0),
        days=[Day(day=NOV2, conversations=1, contained=0, fallbacks=1, handoffs=0, csat_average=2.0),
              Day(day=NOV3, conversations=1, contained=0, fallbacks=0, handoffs=1, csat_average=None)],
        handoffs_accepted=1, csat_ratings=1,
    )


@pytest.mark.slow
def test_every_dashboard_figure_matches_the_hand_computed_values(db_url: str) -> None:
    _scenario(db_url)
    with session_scope(db_url) as session:
        assert dashboard(session, filters=Filters(start=NOV2, end=NOV3)) == expected_all_channels()
        assert dashboard(session, filters=Filters(start=NOV2, end=NOV3, channel="telegram")) == expected_telegram()
        one_day = dashboard(session, filters=Filters(start=NOV3, end=NOV3, channel="socketio"))
    # E and G: E contained, G handed off after a fallback
    assert (one_day.conversations, one_day.containment, one_day.fallback_rate) == (2, Rate(1, 2), Rate(1, 2))
    assert one_day.recommendations.impressions == 1 and one_day.recommendations.clicks == 1
    assert [d.day for d in one_day.days] == [NOV3]


def test_rates_say_none_when_nothing_was_counted() -> None:
    assert Rate(0, 0).value is None and Rate(1, 4).value == 0.25


@pytest.mark.slow
def test_the_same_events_again_in_any_order_and_batches_change_nothing(db_url: str) -> None:
    _shop, events = _scenario(db_url)
    shuffled = list(events)
    random.Random(19).shuffle(shuffled)
    with session_scope(db_url) as session:
        assert record_events(session, events=shuffled[:40]) == 0
    with session_scope(db_url) as session:
        again = ingest_events(session, events=shuffled)
        assert again.stored == 0 and again.duplicates == len([e for e in events if _kept(e)])
    with session_scope(db_url) as session:
        assert dashboard(session, filters=Filters(start=NOV2, end=NOV3)) == expected_all_channels()


def _kept(event: dict[str, object]) -> bool:
    quiet = {"action_listen", "action_session_start"}
    return event["event"] in ("user", "bot", "session_started") or (
        event["event"] == "action" and event.get("name") not in quiet)


@pytest.mark.slow
def test_events_arriving_out_of_order_in_small_batches_give_the_same_figures(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    with session_scope(url) as session:
        shop = build_shop(session)
        shop_side(session, shop)
    events = conversation_events(shop)
    random.Random(7).shuffle(events)
    for start in range(0, len(events), 17):
        with session_scope(url) as session:
            record_events(session, events=events[start:start + 17])
    with session_scope(url) as session:
        assert dashboard(session, filters=Filters(start=NOV2, end=NOV3)) == expected_all_channels()
