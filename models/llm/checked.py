"""Generate, check, retry once: the one loop behind every LLM text a shopper sees.

:func:`generate_checked` asks the model, runs ``check`` on the answer (a list of
problems, empty when it may be sent), and on problems asks once more with them
spelled out (:func:`models.llm.prompts.retry_messages`). Model trouble (timeout,
busy, error) ends it quietly: the caller then answers from its template.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.messages import BaseMessage

from models.llm import prompts
from models.llm.prompts import UNKNOWN_MARK, Prompt
from models.llm.runner import LLMRunner, LLMUnavailable
from models.llm.verify import echoes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checked:
    """The outcome: ``text`` that passed (``None`` when none did), on which ``attempt``
    (0: first try, 1: the retry); ``unknown`` when the model said the facts are silent;
    ``problems`` found on the way."""

    text: str | None
    attempt: int = 0
    unknown: bool = False
    problems: tuple[str, ...] = ()


def leaks_prompt(text: str, prompt: Prompt) -> bool:
    """Whether ``text`` repeats ``prompt``'s instructions or the prompts' structure."""
    low = text.lower()
    return echoes(text, prompt.system) or any(mark.lower() in low for mark in prompts.SCAFFOLDING)


async def generate_checked(runner: LLMRunner, prompt: Prompt, first: list[BaseMessage],
                           check: Callable[[str], list[str]], *, unknown_ok: bool,
                           max_tokens: int | None = None) -> Checked:
    """Ask ``runner`` with ``first`` (built from ``prompt``), check, retry once.

    ``unknown_ok``: the prompt lets the model answer :data:`UNKNOWN_MARK` (or nothing)
    when the facts are silent, which ends the loop with ``unknown=True``.
    """
    problems: list[str] = []
    messages = first
    for attempt in range(2):
        try:
            generation = await runner.generate(messages, max_tokens=max_tokens)
        except LLMUnavailable as exc:
            problems.append(f"model unavailable: {exc}")
            break
        text = generation.text.strip()
        if unknown_ok and (UNKNOWN_MARK.lower() in text.lower() or not text):
            return Checked(None, attempt, unknown=True, problems=tuple(problems))
        found = check(text)
        if leaks_prompt(text, prompt):
            found.append("it repeats the instructions")
        if not found:
            return Checked(text, attempt, problems=tuple(problems))
        problems += found
        messages = prompts.retry_messages(first, text, found, unknown=unknown_ok)
    logger.info("LLM text rejected (%s); using the template", "; ".join(problems[:3]))
    return Checked(None, problems=tuple(problems))
