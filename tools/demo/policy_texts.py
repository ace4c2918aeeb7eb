"""The demo shop's policies, as rows for the ``policies`` table.

Each entry is one answerable topic. ``key`` matches the FAQ response key the NLU
predicts (``faq/shipping_cost`` -> ``shipping_cost``). ``body`` may contain
``{placeholders}`` filled from ``params`` (money in cents is rendered by the policy
service). Services that enforce a rule read the same ``params``: the returns service
takes its window from ``returns_window.params.window_days``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Policy

DEMO_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "key": "shipping_cost",
        "topic": "shipping",
        "title": "Shipping costs",
        "body": (
            "Standard shipping costs {standard_fee} and is free on orders over "
            "{free_threshold}. Express shipping costs {express_fee}."
        ),
        "params": {"standard_fee_cents": 595, "free_threshold_cents": 7500,
                   "express_fee_cents": 1995, "currency": "USD"},
    },
    {
        "key": "shipping_time",
        "topic": "shipping",
        "title": "Delivery times",
        "body": (
            "Orders placed before 2 pm ship the same business day. Standard delivery "
            "takes {standard_days_min}-{standard_days_max} business days, express "
            "{express_days} business days."
        ),
        "params": {"standard_days_min": 3, "standard_days_max": 5, "express_days": 1},
    },
    {
        "key": "shipping_international",
        "topic": "shipping",
        "title": "International shipping",
        "body": (
            "We ship to {countries}. International delivery takes {days_min}-{days_max} "
            "business days; duties and taxes are paid on delivery."
        ),
        "params": {"countries": "the US, Canada, the UK and the EU", "days_min": 7, "days_max": 14},
    },
    {
        "key": "returns_window",
        "topic": "returns",
        "title": "Return window",
        "body": (
            "You can return unworn items within {window_days} days of delivery for a "
            "full refund. Socks and underwear can't be returned once opened."
        ),
        "params": {"window_days": 30, "final_sale_categories": ["socks"]},
    },
    {
        "key": "returns_how",
        "topic": "returns",
        "title": "How to return",
        "body": (
            "Start a return here in the chat or from your account: give your order number "
            "and email, pick the item and a reason, and we'll email a prepaid label. "
            "Return shipping is free."
        ),
        "params": {},
    },
    {
        "key": "returns_refund_time",
        "topic": "returns",
        "title": "Refund times",
        "body": (
            "Refunds go back to your original payment method within {refund_days} business "
            "days of your return reaching our warehouse."
        ),
        "params": {"refund_days": 5},
    },
    {
        "key": "returns_exchange",
        "topic": "returns",
        "title": "Exchanges",
        "body": (
            "Need another size or colour? Return the item for a refund and place a new "
            "order; that's the fastest way to get the right one while it's in stock."
        ),
        "params": {},
    },
    {
        "key": "payment_methods",
        "topic": "payment",
        "title": "Payment methods",
        "body": "We accept {methods}.",
        "params": {"methods": "Visa, Mastercard, American Express, PayPal, Apple Pay and Google Pay"},
    },
    {
        "key": "payment_security",
        "topic": "payment",
        "title": "Payment security",
        "body": (
            "Payments are processed by our PCI DSS compliant payment provider; we never "
            "see or store your full card number."
        ),
        "params": {},
    },
    {
        "key": "payment_installments",
        "topic": "payment",
        "title": "Paying in instalments",
        "body": (
            "Orders over {min_order} can be paid in {installments} interest-free "
            "instalments with PayPal Pay Later."
        ),
        "params": {"min_order_cents": 3000, "installments": 4, "currency": "USD"},
    },
    {
        "key": "contact_support",
        "topic": "support",
        "title": "Contacting our team",
        "body": (
            "Our customer service team answers email at {email} within one business day "
            "({hours})."
        ),
        "params": {"email": "help@ridgeline-outfitters.example", "hours": "Monday to Friday, 9 am to 5 pm ET"},
    },
    {
        "key": "promotions",
        "topic": "promotions",
        "title": "Discounts and promotions",
        "body": (
            "We don't have a general discount code right now. Items on sale show their "
            "reduced price and the original price in search results."
        ),
        "params": {},
    },
)


def seed_policies(session: Session, *, now: datetime) -> int:
    """Insert the demo policies that are not there yet; returns how many were added."""
    existing = set(session.scalars(select(Policy.key)))
    added = 0
    for row in DEMO_POLICIES:
        if row["key"] in existing:
            continue
        session.add(Policy(**row, updated_at=now))
        added += 1
    session.flush()
    return added
