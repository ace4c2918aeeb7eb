"""What the assistant says to a request this shop can't handle in the chat (accounts,
passwords, sign-up, invoices, newsletters, reviews, loyalty, jobs): what it can't do
here, what it can do, and that a person can help. Pure functions over the data in
``unsupported_topics.yml``; nothing is looked up, changed or searched."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TOPICS_PATH = Path(__file__).with_name("unsupported_topics.yml")
HUMAN_PAYLOAD = "/request_human"
#: only the start of a huge message is read
MAX_CHARS = 2000


@dataclass(frozen=True)
class Topic:
    """One kind of request the chat can't handle, and how to say so."""

    topic: str
    patterns: tuple[re.Pattern[str], ...]
    cant: str


@dataclass(frozen=True)
class UnsupportedTopics:
    """The data of ``unsupported_topics.yml``."""

    topics: tuple[Topic, ...]
    general_cant: str
    can_do: str
    offer_person: str
    button: str


@dataclass(frozen=True)
class UnsupportedReply:
    """The reply: ``text`` to say, ``topic`` recognised (``None`` when the words don't
    say), and one button to a person."""

    topic: str | None
    text: str
    button_title: str
    button_payload: str = HUMAN_PAYLOAD

    def buttons(self) -> list[dict[str, str]]:
        return [{"title": self.button_title, "payload": self.button_payload}]


def _pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(re.escape(part) for part in word.lower().split()))


@lru_cache(maxsize=4)
def load_topics(path: str | None = None) -> UnsupportedTopics:
    """The topics and phrases in ``path`` (default: the file next to this module)."""
    raw: dict[str, Any] = yaml.safe_load((Path(path) if path else TOPICS_PATH).read_text(encoding="utf-8"))
    topics = tuple(
        Topic(str(t["topic"]), tuple(_pattern(str(w)) for w in t["words"]), str(t["cant"]))
        for t in raw["topics"]
    )
    return UnsupportedTopics(topics, str(raw["general_cant"]), str(raw["can_do"]), str(raw["offer_person"]),
                             str(raw["button"]))


def _normalise(text: str) -> str:
    return " ".join(str(text)[:MAX_CHARS].lower().replace("\u2019", "'").split())


def topic_of(text: str | None, *, topics: UnsupportedTopics | None = None) -> str | None:
    """The first topic (in the data's order) whose words the message uses, or ``None``."""
    if not text:
        return None
    data = topics or load_topics()
    lowered = _normalise(text)
    for topic in data.topics:
        if any(p.search(lowered) for p in topic.patterns):
            return topic.topic
    return None


def unsupported_reply(text: str | None, *, topics: UnsupportedTopics | None = None) -> UnsupportedReply:
    """What to say to ``text``: the topic's "can't do here" (or the general one), what
    the assistant can do, and the offer of a person."""
    data = topics or load_topics()
    topic = topic_of(text, topics=data)
    cant = next((t.cant for t in data.topics if t.topic == topic), data.general_cant)
    return UnsupportedReply(topic, f"{cant} {data.can_do} {data.offer_person}", data.button)
