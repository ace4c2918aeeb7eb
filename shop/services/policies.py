"""Shop policies: read from the ``policies`` table and rendered for shoppers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Policy
from shop.services.money import format_money

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
