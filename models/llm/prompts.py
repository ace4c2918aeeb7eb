"""Every prompt the assistant sends to an LLM, as data (``prompts.yml`` next to this file).

Each prompt is a system text plus a user template; facts always come in a block
the model is told to use alone, and shopper text is quoted as data inside
``<question>`` tags, never as instructions. The system texts are templates for the
shop they speak for (:class:`~models.llm.shop_voice.ShopVoice`: name, description,
tone, checked when made): :func:`messages` fills a prompt in for a voice and the
caller's fields. Without a voice a prompt speaks for "an online shop".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from models.llm.shop_voice import ShopVoice

PROMPTS_PATH = Path(__file__).with_name("prompts.yml")
UNKNOWN_MARK = "NOT_IN_FACTS"
# pieces of the prompts' own structure: an answer holding one is leaking the prompt
SCAFFOLDING = ("FACTS:", "ANSWER:", "DRAFT:", "<question>", "</question>", "<|im_start|>", "<|im_end|>", "<|",
               "OPTION 1:")
#: the fields a system text is filled with when sent (:meth:`ShopVoice.fields`)
VOICE_FIELD = re.compile(r"\{(shop|about|tone)\}")
GENERIC_VOICE = ShopVoice()


@dataclass(frozen=True)
class Prompt:
    """A system text (with ``{shop}``, ``{about}``, ``{tone}`` for the shop's voice)
    and a user template with ``{named}`` fields."""

    name: str
    system: str
    user: str

    def system_for(self, voice: ShopVoice = GENERIC_VOICE) -> str:
        """The system text speaking for ``voice``. Its values are inserted as they are
        (never parsed as a template again)."""
        values = voice.fields()
        return VOICE_FIELD.sub(lambda m: values[m.group(1)], self.system)


def _load(path: Path) -> tuple[dict[str, Prompt], str]:
    """The prompts of ``path`` by name, with the rules and the unknown mark filled in,
    and the retry text."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    constants = {"{rules}": str(data["rules"]), "{agent_rules}": str(data["agent_rules"]),
                 "{unknown}": UNKNOWN_MARK}
    out = {}
    for name, spec in data["prompts"].items():
        system = str(spec["system"])
        for key, value in constants.items():
            system = system.replace(key, value)
        out[name] = Prompt(name=name, system=system, user=str(spec["user"]))
    return out, str(data["retry"])


ALL, RETRY = _load(PROMPTS_PATH)
PRODUCT_QUESTION = ALL["product_question"]
PRODUCT_REWORD = ALL["product_reword"]
PROMO_COPY = ALL["promo_copy"]
# agent assist (the staff console): summaries and suggested replies
AGENT_SUMMARY = ALL["agent_summary"]
AGENT_SUGGEST = ALL["agent_suggest"]
# the second opinion in the two-stage fallback: one intent from a numbered list
INTENT_CHOICE = ALL["intent_choice"]


def messages(prompt: Prompt, *, voice: ShopVoice = GENERIC_VOICE, **fields: str) -> list[BaseMessage]:
    """``[SystemMessage, HumanMessage]`` for ``prompt`` speaking for ``voice``, with
    ``fields`` filled into its user template."""
    return [SystemMessage(content=prompt.system_for(voice)), HumanMessage(content=prompt.user.format(**fields))]


def retry_messages(first: list[BaseMessage], answer: str, problems: list[str], *, unknown: bool) -> list[BaseMessage]:
    """The conversation continued with the rejected answer and what was wrong with it."""
    hint = f", or reply exactly {UNKNOWN_MARK} if they do not answer it" if unknown else ""
    text = RETRY.format(problems="; ".join(problems[:5]), unknown_hint=hint)
    return [*first, AIMessage(content=answer), HumanMessage(content=text)]
