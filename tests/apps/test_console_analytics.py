"""The console's analytics pages (``apps/console/routes/dashboard.py``, ``review.py``)
on a real database (SQLite and PostgreSQL) fed through the real analytics ingest
(``tests/apps/analytics_seed.py``): the dashboard's figures against hand-computed
values, filters (and the 400s for bad ones), the CSV exports (content type, rows,
formula injection defused), the bot-only review with search, paging and transcripts;
who may see them (supervisors and admins; agents 403; no or a forged session: the
login page); shoppers' markup shown as text. The filters and the chart geometry are
also tested on their own. Fixtures: ``tests/apps/conftest.py``."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from apps.console.analytics_filters import FilterError, parse_filters, parse_review
from apps.console.charts import conversations_chart, csat_chart, every_day, funnel_bars, nice_ceiling, rates_chart
from apps.console.dashboard_view import arm_row, duration, pct, uplift
from apps.console.routes import review as review_routes
from shop.analytics.figures import Day, PromoArm, Rate
from shop.db.engine import session_scope
from shop.db.schema import AuditEntry
from tests.apps.analytics_seed import FORMULA_TEXT, HOSTILE_FIGURES, SCRIPT_TEXT, seed_hostile
from tests.apps.console_support import NOW, Env, logged_in

TODAY = NOW.date()
PAGES = ("/dashboard", "/dashboard.csv", "/conversations/review", "/conversations/review.csv",
         "/conversations/review/transcript?id=web-contained")
ESCAPED_SCRIPT = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; can I pay with bitcoin?"


def _value(page: str, key: str) -> str:
    match = re.search(rf'data-testid="an-value-{key}">([^<]*)<', page)
    assert match, f"no {key} card"
    return match.group(1)


def _error(page: str) -> str:
    match = re.search(r'data-testid="an-error">([^<]*)<', page)
    assert match, "no error shown"
    return match.group(1)


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _audit(env: Env, action: str) -> list[dict]:
    with session_scope(env.url) as s:
        return list(s.scalars(select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --- filters, charts and formatting on their own -----------------------------------------

def test_filters_default_to_the_last_seven_days_and_say_what_is_allowed() -> None:
    f = parse_filters(start=None, end=None, channel=None, today=TODAY)
    assert (f.start, f.end, f.channel) == (TODAY - timedelta(days=6), TODAY, None)
    assert parse_filters(start="", end=" ", channel="", today=TODAY) == f  # an empty form
    f = parse_filters(start="2026-01-01", end="2026-12-31", channel="telegram", today=TODAY)
    assert (f.start, f.end, f.channel) == (date(2026, 1, 1), date(2026, 12, 31), "telegram")
    assert parse_filters(start="2024-01-01", end="2024-12-31", channel=None, today=TODAY).start  # 366 days
    bad = {("2026-13-01", None, None): "is not a calendar date",
           ("20261101", None, None): "must be a date written YYYY-MM-DD",
           ("' OR 1=1 --", None, None): "must be a date written YYYY-MM-DD",
           (None, "tomorrow", None): "end must be a date",
           ("2026-11-20", "2026-11-19", None): "is before the start date",
           (None, None, "fax"): "Unknown channel 'fax'; allowed: socketio, rest, telegram, slack, twilio",
           (None, None, "<b>x</b>"): "Unknown channel"}
    for (start, end, channel), message in bad.items():
        with pytest.raises(FilterError, match=re.escape(message)):
            parse_filters(start=start, end=end, channel=channel, today=TODAY)
    with pytest.raises(FilterError, match="covers 367 days"):
        parse_filters(start="2025-01-01", end="2026-01-02", channel=None, today=TODAY)
    with pytest.raises(FilterError, match="before the start"):  # a start after today, no end
        parse_filters(start="2027-01-01", end=None, channel=None, today=TODAY)


def test_review_filters_clean_the_search_and_check_the_page() -> None:
    r = parse_review(start=None, end=None, channel=None, q="  where\x00is\n my   order ", page="", today=TODAY)
    assert (r.q, r.page) == ("where is my order", 1)
    assert parse_review(start=None, end=None, channel=None, q=None, page="3", today=TODAY).page == 3
    for page in ("0", "-1", "1.5", "abc", "٣", "10001", "9" * 40):
        with pytest.raises(FilterError, match="page must be a whole number from 1 to 10000"):
            parse_review(start=None, end=None, channel=None, q=None, page=page, today=TODAY)
    with pytest.raises(FilterError, match="at most 200"):
        parse_review(start=None, end=None, channel=None, q="x" * 201, page=None, today=TODAY)


def _day(n: int, conversations: int, contained: int, csat: float | None = None) -> Day:
    return Day(day=date(2026, 11, 14) + timedelta(days=n), conversations=conversations, contained=contained,
               fallbacks=conversations - contained, handoffs=0, csat_average=csat)


def test_charts_fill_missing_days_and_break_lines_where_nothing_was_counted() -> None:
    days = every_day([_day(0, 10, 6, 4.5), _day(2, 4, 4), _day(9, 1, 1)], start=date(2026, 11, 14),
                     end=date(2026, 11, 18))
    assert [d.day.day for d in days] == [14, 15, 16, 17, 18]  # a day outside the range dropped
    assert [d.conversations for d in days] == [10, 0, 4, 0, 0]
    assert [nice_ceiling(v) for v in (0, 1, 3, 10, 11, 240)] == [1, 1, 5, 10, 20, 500]

    bars = conversations_chart(days)
    assert not bars.empty and [t.label for t in bars.y_ticks] == ["0", "5", "10"]
    tallest = [b for b in bars.bars if b.title.startswith("2026-11-14")]
    assert {b.kind for b in tallest} == {"contained", "other"}
    assert sum(b.height for b in tallest) == pytest.approx(bars.plot_bottom - 12, abs=0.2)  # 10 of 10: full height
    assert len(bars.x_ticks) == 5

    rates = rates_chart(days)
    assert len(rates.lines) == 6  # three series, each broken by the empty day between
    assert len(rates.dots) == 6 and any("containment 60%" in d.title for d in rates.dots)
    csat = csat_chart(days)
    assert len(csat.dots) == 1 and csat.dots[0].title == "2026-11-14: average rating 4.50 of 5"
    assert csat_chart(every_day([], start=date(2026, 11, 14), end=date(2026, 11, 14))).empty
    assert len(every_day([], start=date(2025, 1, 1), end=date(2025, 12, 31))) == 365

    funnel = funnel_bars([("Impressions", 1000), ("Clicks", 80), ("Add to cart", 0), ("Orders", 0)])
    assert [(b.width, b.step) for b in funnel] == [(100.0, ""), (8.0, "8.0% of impressions"),
                                                   (0.0, "0.0% of clicks"), (0.0, "")]
    assert funnel_bars([("Impressions", 100000), ("Clicks", 1)])[1].width == 0.5  # still visible
    assert pct(Rate(0, 0)) == "—" and pct(Rate(1, 3)) == "33.3 %"
    assert [duration(s) for s in (None, 4.4, 90, 3725)] == ["—", "4 s", "1 min 30 s", "1 h 02 min"]


# --- the pages ---------------------------------------------------------------------------

def test_only_supervisors_and_admins_see_the_analytics_pages(env: Env) -> None:
    agent, _ = logged_in(env, "agent")
    for path in PAGES:
        answer = agent.get(path, follow_redirects=False)
        assert answer.status_code == 403, path
        assert "Only supervisors and admins" in answer.text
    assert "/dashboard" not in agent.get("/").text and "/dashboard" not in agent.get("/tickets").text

    nobody, forged, replayed = env.client(), env.client(), env.client()
    forged.cookies.set("console_session", "forged-" + "x" * 40)
    ended, csrf = logged_in(env, "lead")  # a supervisor's session, replayed after logout
    replayed.cookies.set("console_session", ended.cookies["console_session"])
    assert ended.post("/logout", headers=csrf).status_code == 200
    for client in (nobody, forged, replayed):
        for path in PAGES:
            answer = client.get(path, follow_redirects=False)
            assert (answer.status_code, answer.headers["location"]) == (303, "/login"), path

    for who in ("lead", "admin"):
        client, _ = logged_in(env, who)
        assert 'href="/dashboard"' in client.get("/").text and 'href="/dashboard"' in client.get("/tickets").text
        for path in PAGES[:4]:
            assert client.get(path).status_code == 200, (who, path)
    assert "default-src 'self'" in client.get("/dashboard").headers["content-security-policy"]


def test_dashboard_shows_the_hand_computed_figures_as_text(env: Env) -> None:
    seed_hostile(env.url, now=NOW)
    lead, _ = logged_in(env, "lead")
    page = lead.get("/dashboard")
    assert page.status_code == 200
    assert {key: _value(page.text, key) for key in HOSTILE_FIGURES} == HOSTILE_FIGURES
    assert "Nov 14, 2026 – Nov 20, 2026" in page.text and "all channels" in page.text
    for chart in ("conversations", "rates", "csat"):
        assert f'data-testid="an-svg-{chart}"' in page.text
    assert page.text.count('<rect class="bar contained"') == 2  # two days had a contained conversation
    assert "search_products" in page.text and "request_human" in page.text  # top intents
    assert "<script>alert" not in page.text  # unanswered questions (kept case-folded), as text
    assert ESCAPED_SCRIPT.casefold() in page.text
    assert 'href="/dashboard.csv?start=2026-11-14&amp;end=2026-11-20"' in page.text

    telegram = lead.get("/dashboard?start=2026-11-14&end=2026-11-20&channel=telegram").text
    assert _value(telegram, "conversations") == "1" and _value(telegram, "containment") == "100.0 %"
    assert _value(telegram, "csat") == "—" and "WhatsApp / SMS (Twilio)" in telegram
    older = lead.get("/dashboard?start=2026-10-01&end=2026-10-31").text
    assert _value(older, "conversations") == "0" and _value(older, "containment") == "—"
    assert 'data-empty="true"' in older and "No data in this range" in older
    today = lead.get("/dashboard?start=2026-11-20&end=2026-11-20").text
    assert _value(today, "conversations") == "1" and _value(today, "handoff") == "100.0 %"


def test_bad_filters_answer_400_saying_what_is_allowed(env: Env) -> None:
    lead, _ = logged_in(env, "lead")
    cases = {"start=2026-11-20&end=2026-11-01": "is before the start date",
             "start=2024-01-01&end=2026-01-01": "at most 366 days are allowed",
             "channel=fax": "Unknown channel &#39;fax&#39;; allowed: socketio, rest",
             "start=yesterday": "start must be a date written YYYY-MM-DD",
             "start=2026-02-30": "is not a calendar date",
             "channel=%3Cscript%3Ealert(1)%3C/script%3E": "Unknown channel &#39;&lt;script&gt;alert(1)"}
    for query, message in cases.items():
        page = lead.get(f"/dashboard?{query}")
        assert page.status_code == 400 and message in _error(page.text), query
        assert "<script>alert(1)" not in page.text
        review = lead.get(f"/conversations/review?{query}")
        assert review.status_code == 400 and message in _error(review.text), query
        for export in ("/dashboard.csv", "/conversations/review.csv"):
            answer = lead.get(f"{export}?{query}")
            assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/plain")
            assert message.replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">") in answer.text
    page = lead.get("/dashboard?start=%3Cb%3E")
    assert page.status_code == 400 and 'value="&lt;b&gt;"' in page.text  # what was typed stays, as text
    assert lead.get("/conversations/review?page=0").status_code == 400
    assert "at most 200" in _error(lead.get("/conversations/review?q=" + "x" * 300).text)


def test_dashboard_csv_has_every_figure_and_is_audited(env: Env) -> None:
    seed_hostile(env.url, now=NOW)
    lead, _ = logged_in(env, "lead")
    answer = lead.get("/dashboard.csv?start=2026-11-14&end=2026-11-20")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="dashboard-2026-11-14-to-2026-11-20.csv"'
    rows = {(r[0], r[1]): r[2:] for r in _csv(answer.text)[1:]}
    assert rows[("summary", "conversations")] == ["4"]
    assert rows[("summary", "containment")] == ["0.5000", "2", "4"]
    assert rows[("summary", "csat_average")] == ["3.50"]
    assert rows[("unanswered", SCRIPT_TEXT.casefold())] == ["1"]
    assert rows[("day 2026-11-17", "conversations")] == ["1"]
    named = lead.get("/dashboard.csv?start=2026-11-14&end=2026-11-20&channel=telegram")
    assert named.headers["content-disposition"].endswith('2026-11-20-telegram.csv"')
    assert _audit(env, "export_dashboard") == [
        {"start": "2026-11-14", "end": "2026-11-20", "channel": None},
        {"start": "2026-11-14", "end": "2026-11-20", "channel": "telegram"}]


def test_review_lists_bot_only_conversations_with_search_paging_and_transcripts(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    senders = seed_hostile(env.url, now=NOW)
    lead, _ = logged_in(env, "lead")
    page = lead.get("/conversations/review")
    ids = re.findall(r'data-testid="an-conversation" data-id="([^"]+)"', page.text)
    assert [i.split("@")[0] for i in ids] == [senders["contained"], senders["fallback"], senders["formula"]]
    assert ESCAPED_SCRIPT in page.text and "<script>alert" not in page.text
    assert "not resolved" in page.text and "Telegram" in page.text

    found = lead.get("/conversations/review?q=BITCOIN").text  # case ignored
    assert re.findall(r'data-id="([^"@]+)@', found) == [senders["fallback"]]
    for nothing in ("%25", "_", "talk to a human"):  # wildcards are literal; handed-off ones are not listed
        assert 'data-testid="an-no-conversations"' in lead.get(f"/conversations/review?q={nothing}").text
    assert 'data-id="tg-formula@' in lead.get("/conversations/review?channel=telegram").text

    monkeypatch.setattr(review_routes, "PAGE_SIZE", 2)
    first = lead.get("/conversations/review").text
    assert len(re.findall(r'data-testid="an-conversation"', first)) == 2 and "Page 1 · 1–2" in first
    assert 'href="/conversations/review?start=2026-11-14&amp;end=2026-11-20&amp;page=2"' in first
    second = lead.get("/conversations/review?page=2").text
    assert re.findall(r'data-id="([^"@]+)@', second) == [senders["formula"]] and "an-next" not in second
    assert "an-prev" in second
    assert 'data-testid="an-no-conversations"' in lead.get("/conversations/review?page=40").text

    link = re.search(r'href="(/conversations/review/transcript\?[^"]+)"', second).group(1).replace("&amp;", "&")
    transcript = lead.get(link)
    assert transcript.status_code == 200
    turns = re.findall(r'data-author="(\w+)"', transcript.text)
    assert turns == ["shopper", "bot", "bot"]
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;click&#34;)" in transcript.text
    assert 'href="/conversations/review?start=2026-11-14&amp;end=2026-11-20&amp;page=2"' in transcript.text
    fallback_id = ids[1]
    shown = lead.get("/conversations/review/transcript", params={"id": fallback_id}).text
    assert ESCAPED_SCRIPT in shown and "<script>alert" not in shown
    assert [d["conversation_id"] for d in _audit(env, "view_transcript")] == [ids[2], fallback_id]

    assert lead.get("/conversations/review/transcript?id=nobody@1").status_code == 404
    assert lead.get("/conversations/review/transcript?id=").status_code == 400
    assert lead.get("/conversations/review/transcript", params={"id": "x" * 400}).status_code == 400
    back = lead.get("/conversations/review/transcript", params={"id": fallback_id, "start": "junk",
                                                                "page": "//evil.example"})
    assert back.status_code == 200 and 'href="/conversations/review"' in back.text  # no open redirect


def test_review_csv_defuses_formulas_and_is_audited(env: Env) -> None:
    seed_hostile(env.url, now=NOW)
    lead, _ = logged_in(env, "lead")
    answer = lead.get("/conversations/review.csv")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == \
        'attachment; filename="conversations-2026-11-14-to-2026-11-20.csv"'
    header, *rows = _csv(answer.text)
    assert header == ["conversation_id", "channel", "started_at", "turns", "contained", "first_message"]
    assert [r[5] for r in rows] == ["hi there", SCRIPT_TEXT, "'" + FORMULA_TEXT]  # never read as a formula
    assert [r[4] for r in rows] == ["yes", "no", "yes"]
    searched = _csv(lead.get("/conversations/review.csv?q=hyperlink&channel=telegram").text)
    assert len(searched) == 2 and searched[1][1] == "telegram"
    assert [(d["rows"], d["q"]) for d in _audit(env, "export_conversations")] == [(3, None), (1, "hyperlink")]


def test_dashboard_view_formats_money_and_promo_arms() -> None:
    treatment = PromoArm("treatment", 50, 40, 6, 5, Decimal("1300.5"))
    control = PromoArm("control", 20, 0, 0, 1, Decimal("50"))
    row = arm_row(treatment)
    assert (row.redemption, row.order_rate, row.revenue, row.revenue_per_conversation) == (
        "15.0 %", "10.0 %", "1,300.50", "26.01")
    assert arm_row(PromoArm("control", 0, 0, 0, 0, Decimal(0))).revenue_per_conversation == "—"
    assert uplift([treatment, control]).startswith("+5.0 percentage points")
    assert uplift([treatment]) == ""
