"""The FTS5 keyword index and reciprocal rank fusion."""

from __future__ import annotations

import pytest

from retrieval.keyword import KeywordDoc, KeywordIndex, query_tokens
from shop.services.search.hybrid import reciprocal_rank_fusion

DOCS = [
    KeywordDoc(1, "Kestrel Cascade Rain Jacket", "K-JAC-00001", "A waterproof hooded rain jacket for hiking."),
    KeywordDoc(2, "Fjell Summit Down Jacket", "F-JAC-00002", "An insulated jacket for winter."),
    KeywordDoc(3, "Kestrel Talus Hiking Boot", "K-HIK-00003", "Waterproof leather boots with ankle support."),
    KeywordDoc(4, "Lumen Drift Tee", "L-TSH-00004", "A cotton tee for everyday wear."),
]


@pytest.fixture
def index() -> KeywordIndex:
    kw = KeywordIndex(":memory:")
    kw.upsert(DOCS)
    return kw


def test_tokens_drop_function_words_and_syntax() -> None:
    assert query_tokens('Show me a "rain" jacket* AND (boots) OR NOT-x for the 2 of us') == [
        "rain", "jacket", "boots", "not", "x", "2", "us"]
    assert query_tokens("") == [] and query_tokens("!!! ???") == []


def test_bm25_ranks_title_words_and_skus_first(index) -> None:
    assert [pid for pid, _ in index.search("rain jacket", 10)][:2] == [1, 2]
    assert index.search("K-HIK-00003", 3)[0][0] == 3
    assert [pid for pid, _ in index.title_matches("kestrel jacket", 10)] == [1]
    assert {pid for pid, _ in index.title_matches("kestrel gear", 10)} == {1, 3}
    assert index.known_tokens("kestrel gear jacket") == ["kestrel", "jacket"]
    assert {pid for pid, _ in index.all_words("waterproof kestrel", 10)} == {1, 3}
    assert [pid for pid, _ in index.search("waterproof", 10, allowed=[3, 4])] == [3]
    assert index.search("waterproof", 10, allowed=[]) == []


@pytest.mark.parametrize("text", ['"', "AND", "OR NOT (", "*", "NEAR(a b)", "jacket\"; DROP TABLE docs; --",
                                  "🧥🥾", "x" * 3000, "title: jacket", "{title}: x"])
def test_hostile_queries_never_reach_fts_syntax(index, text) -> None:
    index.search(text, 5)
    index.all_words(text, 5)
    index.title_matches(text, 5)
    assert len(index) == 4


def test_updates_and_deletes_are_immediate(index) -> None:
    index.upsert([KeywordDoc(4, "Lumen Drift Parka", "L-JAC-00004", "A warm parka.")])
    assert index.search("tee", 5) == []
    assert index.search("parka", 5)[0][0] == 4
    index.remove([1, 99])
    assert 1 not in [pid for pid, _ in index.search("rain jacket", 5)]
    assert len(index) == 3


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1], []], k=60)
    assert [pid for pid, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    weighted = reciprocal_rank_fusion([[1, 2], [2, 1]], weights=[1.0, 0.5])
    assert [pid for pid, _ in weighted] == [1, 2]
    assert reciprocal_rank_fusion([]) == []
    assert [p for p, _ in reciprocal_rank_fusion([[5, 5, 6]])] == [5, 6]  # duplicates count once
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([[1]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k must be positive"):
        reciprocal_rank_fusion([[1]], k=0)
