"""Spelling correction against a vocabulary (retrieval/spelling.py) and the keyword
index's vocabulary table that feeds it (retrieval/keyword.py)."""

from __future__ import annotations

import random
import string
import time

import pytest

from retrieval.keyword import KeywordDoc, KeywordIndex
from retrieval.spelling import SpellingCorrector, deletes, edit_distance, max_edits

VOCAB = {"waterproof": 40, "hiking": 90, "boots": 60, "boot": 5, "jacket": 70, "tent": 30, "bolts": 1,
         "sleeping": 20, "fleece": 25, "backpack": 15, "wide": 3, "trail": 50, "shoes": 40, "bag": 10}


@pytest.fixture(scope="module")
def corrector() -> SpellingCorrector:
    return SpellingCorrector(VOCAB, keep=["wife"])


def test_distance_counts_a_swap_as_one_edit() -> None:
    assert edit_distance("jakcet", "jacket", 2) == 1
    assert edit_distance("bots", "boots", 2) == 1
    assert edit_distance("abc", "xyz", 1) == 2  # capped at limit + 1
    assert edit_distance("same", "same", 0) == 0
    assert [max_edits(w) for w in ("bag", "boot", "sleepin", "waterprf")] == [0, 1, 1, 2]
    assert "ent" in deletes("tent", 1) and "tent" in deletes("tent", 1)


def test_typos_within_bounded_edits_are_corrected(corrector) -> None:
    fixed = corrector.correct("Waterprof hikng bots size 10")
    assert fixed.text == "waterproof hiking boots size 10"
    assert fixed.changes == [("waterprof", "waterproof"), ("hikng", "hiking"), ("bots", "boots")]
    assert corrector.correct_word("jakcet") == "jacket"  # swapped letters
    assert corrector.correct_word("sleping") == "sleeping"
    assert corrector.correct_word("bakcpak") == "bakcpak"  # 2 edits, 7 letters: too far
    assert corrector.correct_word("bakcpack") == "backpack"  # 8 letters may take 2


def test_known_short_numeric_and_kept_words_are_never_changed(corrector) -> None:
    for word in ("boot", "bolts", "bag", "tnt", "10", "2-person", "xl", "wife", "k-hik-00003"):
        assert corrector.correct(word).changed is False, word
    assert corrector.correct("qwertyuiop zzzz").changed is False  # nothing close: left alone
    assert corrector.correct("boots", skip=["boots"]).changed is False


def test_the_more_frequent_word_wins_a_tie() -> None:
    sc = SpellingCorrector({"bolts": 1, "boots": 100})
    assert sc.correct_word("bots") == "boots"
    assert SpellingCorrector({"bolts": 100, "boots": 1}).correct_word("bots") == "bolts"


@pytest.mark.parametrize("text", ["", "   ", "!!!???", "🧥🥾☃", "'; DROP TABLE docs; --", "x" * 10_000,
                                  " ".join(["zzqx"] * 50), "é" * 300])
def test_hostile_text_is_answered_fast(corrector, text) -> None:
    started = time.perf_counter()
    result = corrector.correct(text)
    assert isinstance(result.text, str)
    assert time.perf_counter() - started < 1.0


def test_large_vocabulary_corrects_quickly() -> None:
    rng = random.Random(3)
    words = {"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 11))): rng.randint(1, 50)
             for _ in range(20_000)}
    sc = SpellingCorrector(words)
    sample = [w for w in list(words)[:200] if len(w) >= 5]
    started = time.perf_counter()
    for w in sample:
        typo = w[:2] + w[3:]  # one letter dropped
        assert edit_distance(typo, sc.correct_word(typo), 1) <= 1
    assert (time.perf_counter() - started) / len(sample) < 0.01


def test_keyword_index_keeps_its_vocabulary_current(tmp_path) -> None:
    kw = KeywordIndex(tmp_path / "k.sqlite")
    kw.upsert([KeywordDoc(1, "Rain Jacket", "K-1", "A waterproof jacket."),
               KeywordDoc(2, "Hiking Boot", "K-2", "Waterproof boots, café tested.")])
    vocab = kw.vocabulary()
    assert vocab["waterproof"] == 2 and vocab["jacket"] == 1 and vocab["cafe"] == 1
    generation = kw.generation
    kw.upsert([KeywordDoc(1, "Down Parka", "K-1", "A warm parka.")])
    vocab = kw.vocabulary()
    assert "jacket" not in vocab and vocab["parka"] == 1 and vocab["waterproof"] == 1
    assert kw.generation > generation
    kw.remove([2])
    assert "boots" not in kw.vocabulary()
    kw.close()
    # an index file written before the vocabulary table existed is filled on open
    kw = KeywordIndex(tmp_path / "k.sqlite")
    kw._conn.execute("DELETE FROM vocab")
    kw.close()
    assert KeywordIndex(tmp_path / "k.sqlite").vocabulary() == {"down": 1, "parka": 1, "warm": 1}
