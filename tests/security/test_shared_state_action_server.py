"""The action server's conversation state shared by several processes, and its
replicas kept in step by version, on the real Redis (127.0.0.1:6379, db 15, under a
prefix of each test's own; skipped, saying why, when Redis does not answer) and real
SQLite shops.

- sentiment running scores (:mod:`shop.handoff.sentiment`): two OS processes score the
  same conversation; the "sustained negative" rule sees both messages;
- the LLM answer cache (:mod:`models.llm.answer_cache`): a second runner with its own
  memory answers from Redis without calling its model; another model, or the same
  question with another customer's facts, is never answered from the cache;
- the search index: two action-server processes load the same index directory and
  the same shop database; after a catalog change, and after the index is rebuilt under
  them, both answer the same (the rebuild is picked up at the next sync);
- the preference model: two holders (two processes' memories) on one model root both
  serve a newly promoted version within ``check_s``; a ``CURRENT`` naming a path
  outside the root is refused by both;
- hostile: the same sender id on another channel, values copied under other keys,
  garbage scores; Redis down: each store answers from the process's memory, no raise.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from langchain_core.messages import HumanMessage, SystemMessage
from sqlalchemy import update

from models.llm.answer_cache import MemoryAnswerCache, RedisAnswerCache
from models.llm.chat import FakeChat
from models.llm.runner import LLMRunner
from models.recsys.artifact import CURRENT, current_version, promote, save_artifact
from models.recsys.cold_start import ItemSignals
from models.recsys.serving import ModelHolder
from shop.db.engine import get_engine, session_scope
from shop.db.schema import Product
from shop.handoff.sentiment import (
    RecentScores,
    RedisRecentScores,
    conversation_key,
    get_recent_scores,
    sustained_negative,
)
from shop.shared_counters import get_llm_cache
from tests.demo_shops import DemoShops
from tests.models.recsys.test_cold_start import fitted
from tests.paths import ROOT
from tests.retrieval.conftest import AS_OF
from tests.retrieval.test_backend import _add_product
from tests.security.conftest import REDIS_ERRORS, REDIS_URL

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there


def client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_timeout=1)


def python(script: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


# --------------------------------------------------------------------------- sentiment

SCORE = r'''
import json, sys
import redis
from shop.handoff.sentiment import RedisRecentScores, conversation_key, score
from tests.security.conftest import REDIS_ERRORS, REDIS_URL
scores = RedisRecentScores(redis.Redis.from_url(REDIS_URL), prefix=sys.argv[1], errors=REDIS_ERRORS)
print(json.dumps(scores.add(conversation_key(sys.argv[2], sys.argv[3]), score(sys.argv[4]))))
'''


def test_two_processes_score_one_conversation_and_the_rule_sees_both(redis_db, redis_prefix) -> None:
    first = json.loads(python(SCORE, redis_prefix, "twilio", "whatsapp:+15551230000",
                              "This is terrible, the worst service ever."))
    second = json.loads(python(SCORE, redis_prefix, "twilio", "whatsapp:+15551230000",
                               "Awful. I hate this, it is useless."))
    assert len(first) == 1 and len(second) == 2 and second[0] == first[0]
    assert sustained_negative(second, window=3, min_negative=2, threshold=-0.4)
    # the same sender id on another channel is another conversation
    other = json.loads(python(SCORE, redis_prefix, "telegram", "whatsapp:+15551230000", "Terrible."))
    assert len(other) == 1
    keys = [k.decode() for k in redis_db.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 2 and not any("555" in k or "whatsapp" in k for k in keys)
    assert all(0 < redis_db.ttl(k) <= 24 * 3600 for k in keys)


def test_scores_are_trimmed_reset_and_garbage_counts_as_neutral(redis_db, redis_prefix) -> None:
    scores = RedisRecentScores(client(), prefix=redis_prefix, errors=REDIS_ERRORS, keep=3)
    key = conversation_key("rest", "s1")
    for value in (-0.9, -0.8, -0.7, -0.6):
        latest = scores.add(key, value)
    assert latest == [-0.8, -0.7, -0.6]
    scores.reset(key)
    assert scores.add(key, 0.5) == [0.5]
    # hostile: a value that is not a score, pushed straight into the list
    stored = next(k for k in redis_db.scan_iter(match=f"{redis_prefix}*"))
    redis_db.rpush(stored, b"nan", b"-99", b"drop table")
    assert scores.add(key, -0.5) == [0.0, 0.0, -0.5]


def test_sentiment_with_redis_down_counts_in_the_process() -> None:
    scores = get_recent_scores(DEAD_REDIS)
    assert isinstance(scores, RedisRecentScores)
    started = time.monotonic()
    for value in (-0.9, -0.8):
        latest = scores.add(conversation_key("rest", "down"), value)
    assert latest == [-0.9, -0.8] and time.monotonic() - started < 2  # one timeout, then the pause
    assert isinstance(get_recent_scores(""), RecentScores)


# --------------------------------------------------------------------------- LLM answer cache


class NamedFake(FakeChat):
    model: str = "fake-a"


def order_prompt(customer: str, order: str) -> list:
    return [SystemMessage(content="Answer from the facts only."),
            HumanMessage(content=f"Facts: customer {customer}, order {order} shipped to 12 Elm St.\n"
                                 "Question: where is my order?")]


def shared_runner(prefix: str, name: str = "fake-a") -> tuple[LLMRunner, NamedFake]:
    model = NamedFake(model=name, responder=lambda messages: f"Answer to: {messages[-1].content[:60]}")
    cache = RedisAnswerCache(client(), prefix=prefix, errors=REDIS_ERRORS, ttl_s=60)
    return LLMRunner(model, cache=cache, niceness=0), model


async def test_a_second_process_gets_the_answer_from_redis_without_calling_its_model(redis_db, redis_prefix) -> None:
    first, first_model = shared_runner(redis_prefix)
    second, second_model = shared_runner(redis_prefix)  # its own memory, its own model: another process
    asked = order_prompt("Alex", "#1001")
    answer = await first.generate(asked)
    again = await second.generate(asked)
    assert not answer.cached and again.cached and again.text == answer.text
    assert first_model.calls == 1 and second_model.calls == 0
    key = next(k.decode() for k in redis_db.scan_iter(match=f"{redis_prefix}*"))
    assert "Alex" not in key and 0 < redis_db.ttl(key) <= 60
    # another model: not the same request
    other, other_model = shared_runner(redis_prefix, name="fake-b")
    assert not (await other.generate(asked)).cached and other_model.calls == 1
    for runner in (first, second, other):
        runner.close()


async def test_another_customers_facts_never_get_a_cached_answer(redis_db, redis_prefix) -> None:
    first, _ = shared_runner(redis_prefix)
    second, second_model = shared_runner(redis_prefix)
    alex = await first.generate(order_prompt("Alex", "#1001"))
    sam = await second.generate(order_prompt("Sam", "#2002"))
    assert not sam.cached and second_model.calls == 1
    assert "#2002" in sam.text and "#1001" not in sam.text and "#1001" in alex.text
    # hostile: Alex's stored answer copied under the key of Sam's request is not served
    alex_key, sam_key = first.key(order_prompt("Alex", "#1001"), None), first.key(order_prompt("Sam", "#2002"), None)
    redis_db.set(redis_prefix + sam_key, redis_db.get(redis_prefix + alex_key))
    third, third_model = shared_runner(redis_prefix)
    again = await third.generate(order_prompt("Sam", "#2002"))
    assert not again.cached and third_model.calls == 1 and "#1001" not in again.text
    for runner in (first, second, third):
        runner.close()


async def test_llm_cache_with_redis_down_answers_from_the_process() -> None:
    cache = get_llm_cache(DEAD_REDIS, 60)
    model = NamedFake(responder=lambda messages: "hello")
    runner = LLMRunner(model, cache=cache, niceness=0)
    assert not (await runner.generate(order_prompt("A", "1"))).cached
    assert (await runner.generate(order_prompt("A", "1"))).cached and model.calls == 1
    runner.close()
    assert get_llm_cache("", 60) is None  # without Redis each runner keeps its own
    assert isinstance(LLMRunner(model, niceness=0).cache, MemoryAnswerCache)


# --------------------------------------------------------------------------- search index replicas

SEARCH_WORKER = r'''
import hashlib, json, re, sys
import numpy as np
from retrieval.catalog_index import CatalogIndex
from shop.db.engine import session_scope
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch

class HashEmbedder:
    """Words hashed into 384 buckets: fast, deterministic, enough to find titles."""
    model_id, dim = "test/hashed-words", 384
    def embed(self, texts, *, batch_size=64, progress=False):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out
    def embed_query(self, text):
        return self.embed([text])[0]

url, index_dir, role = sys.argv[1], sys.argv[2], sys.argv[3]
if role == "build":
    with session_scope(url) as s:
        index = CatalogIndex.build(s, directory=index_dir, embedder=HashEmbedder())
        print(json.dumps({"build": index.manifest["build_id"]}))
    sys.exit(0)
search = HybridProductSearch(mode="hybrid", index_dir=index_dir, embedder=HashEmbedder(), sync_interval_s=0,
                             fallback_to_sql=False)
for line in sys.stdin:
    with session_scope(url) as s:
        result = search.search(s, SearchQuery(text=json.loads(line), limit=10))
        index = search.open_index(s)
        print(json.dumps({"ids": [c.id for c in result.cards], "build": index.manifest.get("build_id"),
                          "reloads": index.reloads, "catalog": index.catalog_version}), flush=True)
'''


class Replica:
    """One action-server process searching ``index_dir`` over the shop at ``url``."""

    def __init__(self, url: str, index_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", SEARCH_WORKER, url, str(index_dir), "serve"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    def ask(self, text: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(text) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the replica died"
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def replicas(demo_shop: DemoShops, tmp_path: Path) -> Iterator[tuple[str, Path, list[Replica]]]:
    url = demo_shop(seed=3, scale=0.02, url=f"sqlite:///{tmp_path / 'shop.db'}")
    index_dir = tmp_path / "index"
    python(SEARCH_WORKER, url, str(index_dir), "build")
    running = [Replica(url, index_dir), Replica(url, index_dir)]
    yield url, index_dir, running
    for replica in running:
        replica.close()
    get_engine(url).dispose()


def test_two_replicas_answer_the_same_after_a_catalog_change_and_a_rebuild(replicas) -> None:
    url, index_dir, (one, two) = replicas
    query = "zorblax expedition jacket"
    before = [one.ask(query), two.ask(query)]
    assert before[0]["ids"] == before[1]["ids"] and before[0]["build"] == before[1]["build"]

    with session_scope(url) as s:  # the catalog changes in the shared database
        pid = _add_product(s, "Kestrel Zorblax Expedition Jacket")
    after = [one.ask(query), two.ask(query)]
    assert after[0]["ids"][0] == pid and after[0]["ids"] == after[1]["ids"]
    assert after[0]["catalog"] == after[1]["catalog"] != before[0]["catalog"]

    with session_scope(url) as s:  # deactivated: gone from both
        s.execute(update(Product).where(Product.id == pid).values(is_active=False,
                                                                   updated_at=AS_OF + timedelta(days=3)))
    gone = [one.ask(query), two.ask(query)]
    assert pid not in gone[0]["ids"] and gone[0]["ids"] == gone[1]["ids"]

    # `python -m apps.cli index build` under the running replicas: both move to the new build
    rebuilt = json.loads(python(SEARCH_WORKER, url, str(index_dir), "build"))["build"]
    assert rebuilt != before[0]["build"]
    moved = [one.ask(query), two.ask(query)]
    assert [m["build"] for m in moved] == [rebuilt, rebuilt] and [m["reloads"] for m in moved] == [1, 1]
    assert moved[0]["ids"] == moved[1]["ids"] == gone[0]["ids"]


# --------------------------------------------------------------------------- preference model replicas


def wait_for(holders: list[ModelHolder], version: str, *, within_s: float) -> list[str | None]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        served = [h.get() for h in holders]
        if all(s is not None and s.version == version for s in served):
            break
        time.sleep(0.05)
    return [s.version if s is not None else None for s in (h.get() for h in holders)]


def test_two_replicas_serve_a_promoted_model_version_within_check_s(tmp_path: Path) -> None:
    root = tmp_path / "models"
    v1 = save_artifact(fitted(ItemSignals({1_000: 3}, {})), root, metrics={}, data={}, encoder="test/vec",
                       version="v1").name
    promote(root, v1)
    holders = [ModelHolder(root, check_s=0.2), ModelHolder(root, check_s=0.2)]  # two processes' memories
    assert [h.get().version for h in holders] == ["v1", "v1"]  # type: ignore[union-attr]
    v2 = save_artifact(fitted(ItemSignals({1_001: 9}, {})), root, metrics={}, data={}, encoder="test/vec",
                       version="v2").name
    promote(root, v2)
    assert wait_for(holders, "v2", within_s=10) == ["v2", "v2"]
    # hostile: CURRENT naming a folder outside the root is refused, both keep serving v2
    outside = tmp_path / "elsewhere"
    save_artifact(fitted(), outside, metrics={}, data={}, encoder="test/vec", version="v9")
    (root / CURRENT).write_text("../elsewhere/v9\n")
    assert current_version(root) is None
    time.sleep(0.3)
    assert [h.get().version for h in holders] == ["v2", "v2"]  # type: ignore[union-attr]

