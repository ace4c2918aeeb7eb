"""A second opinion on a message the NLU model is unsure about (the two-stage fallback
fired), before the shopper is asked "Did you mean …?".

The model's top candidate intents (its ranking without ``nlu_fallback``, only intents
described in ``intent_descriptions.yml``) are offered to the LLM as numbered plain-English
options; it picks one or none (:mod:`models.llm.intent_choice`). The result is always one
of those candidates or ``None``, within the time budget; an intent listed under
``not_chosen`` (an action that changes something at once, or an answer to a question the
LLM does not see) is never the result. Every decision is logged with its candidates and
time. Whether to ask at all (the setting, a form waiting for an answer) is the caller's
call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from models.llm.intent_choice import MAX_OPTIONS, choose
from models.llm.runner import LLMRunner

DESCRIPTIONS_FILE = Path(__file__).with_name("intent_descriptions.yml")
FALLBACK_INTENT = "nlu_fallback"
logger = logging.getLogger(__name__)
MAX_OWN_RUNNERS = 8
_own_runners: dict[int, tuple[LLMRunner, LLMRunner]] = {}  # id(shared) -> (shared, the judge's own)
_own_lock = threading.Lock()


@dataclass(frozen=True)
class IntentDescriptions:
    """``lines``: intent -> one plain-English line; ``not_chosen``: intents never applied."""

    lines: Mapping[str, str]
    not_chosen: frozenset[str]


@dataclass(frozen=True)
class Judgement:
    """The second opinion: ``intent`` to read the message as, or ``None``.

    ``outcome``: ``"chosen"``, ``"none"``, ``"not_chosen"`` (it picked an intent the
    judge never applies), ``"unreadable"``, ``"unavailable"`` (LLM off, slow, failing) or
    ``"skipped"`` (nothing to ask: no text, a button payload, no candidates).
    ``candidates``: what was offered, best first. ``ms``: time taken."""

    intent: str | None
    candidates: tuple[str, ...]
    outcome: str
    ms: float = 0.0
    picked: str | None = None  # what the LLM picked, applied or not


@lru_cache(maxsize=4)
def load_descriptions(path: Path = DESCRIPTIONS_FILE) -> IntentDescriptions:
    """The intent descriptions in ``path`` (see ``intent_descriptions.yml``).

    Raises:
        ValueError: when the file is not a ``descriptions`` mapping of names to
            non-empty lines (with an optional ``not_chosen`` list).
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    lines = data.get("descriptions") if isinstance(data, dict) else None
    if not isinstance(lines, dict) or not lines or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in lines.items()):
        raise ValueError(f"{path}: 'descriptions' must map intent names to one-line descriptions")
    never = data.get("not_chosen") or []
    if not isinstance(never, list) or not all(isinstance(n, str) for n in never):
        raise ValueError(f"{path}: 'not_chosen' must be a list of intent names")
    return IntentDescriptions({k: v.strip() for k, v in lines.items()}, frozenset(never))


def candidate_intents(ranking: Iterable[Any], *, limit: int, described: Mapping[str, str]) -> list[str]:
    """The first ``limit`` (at most :data:`~models.llm.intent_choice.MAX_OPTIONS`) intent
    names in the NLU ``ranking`` (``[{"name", "confidence"}, ...]``, best first) that
    have a description, without ``nlu_fallback`` and without repeats; malformed entries
    are skipped."""
    out: list[str] = []
    for entry in ranking if isinstance(ranking, (list, tuple)) else ():
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name != FALLBACK_INTENT and name in described and name not in out:
            out.append(name)
        if len(out) >= min(limit, MAX_OPTIONS):
            break
    return out


def judge_runner(shared: LLMRunner) -> LLMRunner:
    """The judge's own runner on ``shared``'s chat model, made once per shared runner:
    one call at a time (a question that came while the last one still runs in the
    background after its budget is refused at once, not queued), and its own breaker, so
    a second opinion that runs out of its short budget never turns the product answers'
    LLM off."""
    with _own_lock:
        pair = _own_runners.get(id(shared))
        if pair is None or pair[0] is not shared:
            if len(_own_runners) >= MAX_OWN_RUNNERS:  # runners replaced (tests, a settings change)
                for _, old in _own_runners.values():
                    old.close()
                _own_runners.clear()
            pair = (shared, LLMRunner(shared.model, workers=1, max_pending=1, timeout_s=shared.timeout_s,
                                      cache_size=256, niceness=0))
            _own_runners[id(shared)] = pair
        return pair[1]


async def judge_intent(*, text: str, ranking: Iterable[Any], runner: LLMRunner | None, limit: int,
                       timeout_s: float, descriptions: IntentDescriptions | None = None) -> Judgement:
    """Which of the NLU model's top ``limit`` candidates ``text`` means, by the LLM behind
    ``runner`` within ``timeout_s`` seconds, or ``None`` (see :class:`Judgement`).
    ``runner`` (the action server's, see :func:`judge_runner`) ``None`` means the LLM is off."""
    described = descriptions or load_descriptions()
    candidates = tuple(candidate_intents(ranking, limit=limit, described=described.lines))
    text = text if isinstance(text, str) else ""
    if not text.strip() or text.lstrip().startswith("/") or not candidates:
        return Judgement(None, candidates, "skipped")
    own = judge_runner(runner) if runner is not None else None
    choice = await choose(own, [described.lines[name] for name in candidates], text, timeout_s=timeout_s)
    picked = candidates[choice.index] if choice.index is not None else None
    outcome, intent = choice.outcome, picked
    if picked is not None and picked in described.not_chosen:
        outcome, intent = "not_chosen", None
    judgement = Judgement(intent, candidates, outcome, round(choice.seconds * 1000.0, 1), picked)
    logger.info("intent judge: %s among %s (%s, LLM said %r) in %.0f ms", intent, list(candidates), outcome,
                choice.raw[:40], judgement.ms)
    return judgement
