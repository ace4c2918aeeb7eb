"""The marks the action server puts on replies for analytics (actions/analytics_marks.py):
a first page of search says how many products it found (0 when none), a later page says
nothing, a generated answer says who worded it; marks never reach the shopper's text."""

from __future__ import annotations

from actions import slots as S
from actions.analytics_marks import answer_marks, search_marks
from actions.search import ActionCompareProducts, ActionMoreResults, ActionSearchProducts
from shop.services.search.query import SearchQuery, SearchResult
from tests.actions.conftest import DemoShop
from tests.actions.trackers import build_tracker, run_action


async def test_a_first_page_is_marked_with_what_it_found(shop: DemoShop, domain: dict) -> None:
    out = await run_action(ActionSearchProducts(), build_tracker(text="rain jacket", intent="search_products"), domain)
    total = int(out.texts[0].split(" of ")[1].split(":")[0])
    assert [m.get("analytics") for m in out.messages] == [None, {"search_results": total}]
    assert all("search_results" not in text for text in out.texts)
    none = await run_action(ActionSearchProducts(), build_tracker(text="qqqxxzz vvwwy", intent="search_products",
                                                                  entities={"category": "no-such"}), domain)
    assert none.responses == ["utter_no_results"] and none.messages[0]["analytics"] == {"search_results": 0}
    more = await run_action(ActionMoreResults(), build_tracker(
        text="more", intent="more_results", slots={S.LAST_SEARCH: out.slots[S.LAST_SEARCH],
                                                   S.LAST_RESULTS: out.slots[S.LAST_RESULTS]}), domain)
    assert all(m.get("analytics") is None for m in more.messages)


async def test_a_template_answer_is_marked_as_the_template(shop: DemoShop, domain: dict) -> None:
    shown = (await run_action(ActionSearchProducts(), build_tracker(text="rain jacket", intent="search_products"),
                              domain)).slots[S.LAST_RESULTS]
    out = await run_action(ActionCompareProducts(), build_tracker(
        text="compare the first two", intent="compare_products", slots={S.LAST_RESULTS: shown}), domain)
    assert out.messages[0]["analytics"] == {"answer": "template"}  # the tests run with the LLM off


def test_mark_values() -> None:
    first = SearchResult(cards=[], total=0, query=SearchQuery(text="x"))
    later = SearchResult(cards=[], total=9, query=SearchQuery(text="x", offset=5))
    assert search_marks(first) == {"search_results": 0} and search_marks(later) is None
    assert [answer_marks(s) for s in ("llm", "llm_retry", "template", "unknown")] == [
        {"answer": "llm"}, {"answer": "llm"}, {"answer": "template"}, None]
