"""Recognising questions about the shop's policies, from word lists in
``policy_questions.yml`` (data): a policy topic's words ("price match", "warranty",
"gift wrap", "student discount" … or shipping, returns, payment) together with a
question or policy cue ("do you", "can I", "?", "policy" …), and no product-question
veto ("repair kit", "gift for my dad"). Used to keep "do you price match?" away from
the product search and to check the FAQ's pick against the words asked
(:func:`shop.services.policies.faq_answer`). Pure functions: nothing is looked up."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

QUESTIONS_PATH = Path(__file__).with_name("policy_questions.yml")
HUMAN_PAYLOAD = "/request_human"
MAX_CHARS = 2000


@dataclass(frozen=True)
class PolicyTopic:
    """A topic, the ``policies.topic`` it is answered from, and its word patterns."""

    topic: str
    policy_topic: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class PolicyQuestions:
    """The data of ``policy_questions.yml``."""

    topics: tuple[PolicyTopic, ...]
    cues: tuple[re.Pattern[str], ...]
    vetoes: tuple[re.Pattern[str], ...]
    faq_sure_confidence: float
    button: str

    def unknown_buttons(self) -> list[dict[str, str]]:
        return [{"title": self.button, "payload": HUMAN_PAYLOAD}]


def _pattern(phrase: str) -> re.Pattern[str]:
    phrase = phrase.lower()
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    if phrase.strip() and not phrase.strip()[0].isalnum():
        return re.compile(re.escape(phrase.strip()))
    return re.compile(r"(?<![a-z0-9])" + body + (r"(?![a-z0-9])" if phrase.endswith(" ") else ""))


@lru_cache(maxsize=4)
def load_questions(path: str | None = None) -> PolicyQuestions:
    """The word lists in ``path`` (default: the file next to this module)."""
    raw: dict[str, Any] = yaml.safe_load((Path(path) if path else QUESTIONS_PATH).read_text(encoding="utf-8"))
    topics = tuple(
        PolicyTopic(str(t["topic"]), str(t.get("policy_topic") or t["topic"]),
                    tuple(_pattern(str(w)) for w in t["words"]))
        for t in raw["topics"]
    )
    return PolicyQuestions(
        topics=topics,
        cues=tuple(_pattern(str(c)) for c in raw["cues"]),
        vetoes=tuple(_pattern(str(v)) for v in raw.get("vetoes", [])),
        faq_sure_confidence=float(raw.get("faq_sure_confidence", 0.8)),
        button=str(raw["button"]),
    )


def _normalise(text: str) -> str:
    return " ".join(str(text)[:MAX_CHARS].lower().replace("\u2019", "'").split())


def policy_topics(text: str | None, *, questions: PolicyQuestions | None = None) -> list[str]:
    """The ``policies.topic`` values whose words ``text`` uses, most specific first
    (``[]`` for none, or when a product-question veto matches)."""
    if not text or not isinstance(text, str):
        return []
    data = questions or load_questions()
    lowered = _normalise(text)
    if any(v.search(lowered) for v in data.vetoes):
        return []
    found: list[str] = []
    for topic in data.topics:
        if topic.policy_topic not in found and any(p.search(lowered) for p in topic.patterns):
            found.append(topic.policy_topic)
    return found


def asks_about_policy(text: str, *, questions: PolicyQuestions | None = None) -> bool:
    """Whether ``text`` asks how the shop works (price match, warranty, gift cards or
    wrapping, stores and opening hours, loyalty, student/military discounts, bulk
    orders, rentals, repairs … or shipping, returns, payment), rather than about a
    product ("is this jacket waterproof" is not)."""
    data = questions or load_questions()
    if not policy_topics(text, questions=data):
        return False
    lowered = _normalise(text)
    return any(c.search(lowered) for c in data.cues)


def unknown_policy_buttons(*, questions: PolicyQuestions | None = None) -> list[dict[str, str]]:
    """The button that goes with "I don't know that one — a person from our team can
    tell you." (``utter_faq_unknown``): one, to a person."""
    return (questions or load_questions()).unknown_buttons()
