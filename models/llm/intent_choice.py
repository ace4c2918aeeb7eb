"""The LLM's second opinion on a message the NLU model is unsure about: one option out of
a short numbered list, or none.

The model sees the options as plain-English lines numbered from 1 (``0`` is "none of
these") and the shopper's message quoted as data (:data:`models.llm.prompts.INTENT_CHOICE`).
It may say only a number: :func:`parse_choice` accepts an answer that starts with one
number in the list and says no other number, and nothing else, so whatever the message
asks the model to say, the result is a member of the list or none. The call has its own
time budget: a slow, failing or absent model is "unavailable", never a wait.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage

from models.llm.prompts import INTENT_CHOICE, messages
from models.llm.runner import LLMRunner, LLMUnavailable

MAX_OPTIONS = 10              # numbers 1..10: one or two tokens each
MAX_MESSAGE_CHARS = 400       # the part of the shopper's message the model reads
ANSWER_TOKENS = 4             # "3", "3.", "Option 3": nothing longer is needed
MAX_ANSWER_TAIL = 40          # words after the number ("3. Track an order") that are tolerated
MARGIN_S = 0.05               # on top of the budget, for the event loop's own scheduling

# an answer: an optional "option"/"answer:" prefix, the number, and an optional short tail
_ANSWER = re.compile(r"^\s*(?:(?:option|answer|number)\s*[:#]?\s*)?(\d{1,3})(?!\d)\s*[.):]?(.*)$",
                     re.IGNORECASE | re.DOTALL)
_DIGIT = re.compile(r"\d")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Choice:
    """What the model chose: ``index`` into the options (0-based) or ``None``.

    ``outcome``: ``"chosen"``, ``"none"`` (it said none of them), ``"unreadable"`` (it said
    anything else: a name, an out-of-range number, two numbers, prose) or
    ``"unavailable"`` (timeout, error, breaker open, too busy). ``raw`` is what it said
    (cut to 200 characters); ``seconds`` how long the whole choice took."""

    index: int | None
    outcome: str
    raw: str = ""
    seconds: float = 0.0


def quote_message(text: str) -> str:
    """The shopper's text as data for the prompt: control characters and angle brackets
    (which could close the ``<message>`` tag) dropped, whitespace folded, and cut to
    :data:`MAX_MESSAGE_CHARS`."""
    text = _CONTROL.sub(" ", text or "").replace("<", " ").replace(">", " ")
    return _SPACE.sub(" ", text).strip()[:MAX_MESSAGE_CHARS]


def option_lines(descriptions: Sequence[str]) -> str:
    """``"1. …\\n2. …"``: one numbered line per option (newlines inside folded)."""
    return "\n".join(f"{i}. {_SPACE.sub(' ', d).strip()}" for i, d in enumerate(descriptions, start=1))


def choice_messages(descriptions: Sequence[str], text: str) -> list[BaseMessage]:
    """The prompt: the numbered ``descriptions`` and the quoted message."""
    if not 1 <= len(descriptions) <= MAX_OPTIONS:
        raise ValueError(f"between 1 and {MAX_OPTIONS} options, got {len(descriptions)}")
    return messages(INTENT_CHOICE, options=option_lines(descriptions), message=quote_message(text))


def parse_choice(answer: str, count: int) -> tuple[int | None, str]:
    """``(index, outcome)`` from the model's ``answer`` to ``count`` options: ``(i, "chosen")``
    for the number ``i + 1``, ``(None, "none")`` for 0, and ``(None, "unreadable")`` for
    anything else (no number first, a number outside the list, a second number, or more
    than a few words after it)."""
    match = _ANSWER.match(answer or "")
    if match is None:
        return None, "unreadable"
    number, tail = int(match.group(1)), match.group(2).strip()
    if len(tail) > MAX_ANSWER_TAIL or _DIGIT.search(tail):
        return None, "unreadable"
    if number == 0:
        return None, "none"
    if number > count:
        return None, "unreadable"
    return number - 1, "chosen"


async def choose(runner: LLMRunner | None, descriptions: Sequence[str], text: str, *,
                 timeout_s: float) -> Choice:
    """Ask the model through ``runner`` which of ``descriptions`` ``text`` means, within
    ``timeout_s`` seconds (plus :data:`MARGIN_S`). ``runner`` ``None`` (the LLM is off)
    is ``"unavailable"`` at once.

    Raises:
        ValueError: for an empty list or more than :data:`MAX_OPTIONS` options.
    """
    prompt = choice_messages(descriptions, text)
    started = time.perf_counter()
    if runner is None:
        return Choice(None, "unavailable")
    try:
        generation = await asyncio.wait_for(
            runner.generate(prompt, max_tokens=ANSWER_TOKENS, timeout_s=timeout_s), timeout_s + MARGIN_S)
    except (LLMUnavailable, asyncio.TimeoutError):
        return Choice(None, "unavailable", seconds=time.perf_counter() - started)
    index, outcome = parse_choice(generation.text, len(descriptions))
    return Choice(index, outcome, generation.text[:200], time.perf_counter() - started)
