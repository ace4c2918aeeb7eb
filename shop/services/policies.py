"""Shop policies: read from the ``policies`` table and rendered for shoppers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Policy
from shop.services.money import format_money
from shop.services.policy_questions import load_questions, policy_topics

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class PolicyView:
    """A policy ready to show: ``text`` has every placeholder filled."""

    key: str
    topic: str
    title: str
    text: str
    params: dict[str, Any]


def render_policy_text(body: str, params: dict[str, Any]) -> str:
    """Fill ``{name}`` from ``params[name]``, or from ``params[name + "_cents"]``
    rendered as money in ``params["currency"]`` (default USD). Unknown placeholders
    are left as they are rather than guessed."""
    currency = str(params.get("currency", "USD"))

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in params:
            return str(params[name])
        if f"{name}_cents" in params:
            return format_money(int(params[f"{name}_cents"]), currency)
        return match.group(0)

    return _PLACEHOLDER_RE.sub(fill, body)


def get_policy(session: Session, *, key: str) -> PolicyView | None:
    """The policy with ``key`` (e.g. ``"shipping_cost"``), or ``None``."""
    row = session.scalar(select(Policy).where(Policy.key == key))
    if row is None:
        return None
    params = dict(row.params or {})
    return PolicyView(row.key, row.topic, row.title, render_policy_text(row.body, params), params)


DEFAULT_RETURN_WINDOW_DAYS = 30


def return_rules(session: Session) -> tuple[int, frozenset[str]]:
    """``(window_days, final_sale_category_slugs)`` from the ``returns_window`` policy.

    Falls back to 30 days and no final-sale categories when the shop has not set it.
    """
    policy = get_policy(session, key="returns_window")
    if policy is None:
        return DEFAULT_RETURN_WINDOW_DAYS, frozenset()
    days = int(policy.params.get("window_days", DEFAULT_RETURN_WINDOW_DAYS))
    final_sale = frozenset(policy.params.get("final_sale_categories", []))
    return days, final_sale


def shop_policy_topics(session: Session) -> frozenset[str]:
    """The topics the shop has at least one policy for (``"shipping"``, ``"returns"`` …)."""
    return frozenset(session.scalars(select(Policy.topic).distinct()))


def faq_answer(session: Session, *, key: str | None, confidence: float | None, text: str) -> PolicyView | None:
    """The policy to answer an FAQ question with, or ``None`` for "I don't know that
    one" (never a guessed policy):

    - the response selector picked no key, or a key with no policy (``other_policy``);
    - the question's words name a topic the picked policy isn't about, and either the
      shop has no policy on that topic at all ("do you price match?") or the pick was
      unsure (below ``faq_sure_confidence`` in ``policy_questions.yml``).

    A question whose words name no topic, or the picked policy's own topic, keeps the
    policy."""
    if not key:
        return None
    policy = get_policy(session, key=key)
    if policy is None:
        return None
    questions = load_questions()
    asked = policy_topics(text, questions=questions)
    if not asked or policy.topic in asked:
        return policy
    known = shop_policy_topics(session)
    if not any(topic in known for topic in asked):
        return None
    if confidence is None or confidence < questions.faq_sure_confidence:
        return None
    return policy
