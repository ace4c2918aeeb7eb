"""The uplift model's training set, built from the shop's own tables.

One row per logged offer decision (``offer_events``) whose attribution window
(:data:`shop.promo.report.ATTRIBUTION_DAYS`, 14 days) has closed, so its outcome is
final; decisions still inside their window are left out and counted.

- **Arm**: the offer shown (treatment) or ``control`` (the fixed control group, shown
  nothing).
- **Converted / revenue**: the outcome recorded on the decision, which the storefront
  checkout writes when the customer orders and ``promo report --attribute`` fills in
  from orders once the window closes; a decision with nothing recorded yet gets the
  same rule here (read-only): the customer's own orders, not cancelled, placed within
  the window. Another customer's order never counts, whatever an attribution row says.
- **Redeemed**: for a decision that issued a code, whether *that* code
  (``offer_codes``) was redeemed within the window by its own customer: when the orders
  naming it (its ``order_ref``, ``order_attributions`` rows) are known, one must be that
  customer's (a code claimed only by another customer's order does not count; one
  redeemed for an order the shop does not hold, e.g. on a commerce platform, does). A
  code counts once, however many orders or decisions name it.
  Decisions without a code (imported history) keep their recorded flag.
- **Contaminated control**: a control decision whose customer redeemed some code within
  its window (a code from before the control group was drawn, or one staff issued) was
  not "shown nothing": it is left out and counted.

:meth:`UpliftData.shortfall` says when there is too little to learn from: fewer than
:data:`MIN_OUTCOMES` redeemed codes among the treated decisions, or fewer than that many
conversions in control (control has no codes to redeem; its conversions are what the
offers are measured against). With k outcomes an arm's rate is known to about
±2/sqrt(k) of itself (95%): at 20, ±45%, the loosest that still tells a 2-point uplift
from none on the demo's rates; below that the current policy stays.

:meth:`UpliftData.split` holds out a fixed 20% of customers (a stable hash of the id,
salted differently from the control group): every version is trained without them and
every version is measured on them, so a new version and the served one are compared
on the same decisions, unseen by both.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.recsys.uplift import CONTROL
from shop.db.attribution_tables import OrderAttribution
from shop.db.schema import OfferCode, OfferEvent, Order
from shop.promo.features import BASE_FEATURES, customer_features
from shop.promo.report import ATTRIBUTION_DAYS

#: outcomes each arm needs: redeemed codes among treated decisions, conversions in control
MIN_OUTCOMES = 20
HOLDOUT_SALT = "ridgeline-uplift-holdout-1"
HOLDOUT_PCT = 20
SHARE_PREFIX = "share_"


@dataclass(frozen=True)
class DecisionRow:
    """One decision of the training set (money in cents)."""

    event_id: int
    customer_id: int
    shown_at: datetime
    arm: str
    converted: bool
    redeemed: bool
    revenue_cents: int

    def as_record(self) -> list[Any]:
        return [self.event_id, self.customer_id, self.shown_at.isoformat(), self.arm, self.converted,
                self.redeemed, self.revenue_cents]


def in_holdout(customer_id: int, *, pct: int = HOLDOUT_PCT, salt: str = HOLDOUT_SALT) -> bool:
    """Whether the customer's decisions are held out of training (stable hash)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < pct


@dataclass(frozen=True)
class ArmStats:
    decisions: int
    conversions: int
    redemptions: int
    revenue_cents: int


@dataclass(frozen=True)
class UpliftData:
    """The training decisions (:class:`DecisionRow`, by id) and what was left out."""

    rows: list[DecisionRow]
    now: datetime
    open_windows: int
    contaminated_control: int

    def arm_stats(self) -> dict[str, ArmStats]:
        stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for r in self.rows:
            s = stats[r.arm]
            s[0] += 1
            s[1] += int(r.converted)
            s[2] += int(r.redeemed)
            s[3] += r.revenue_cents
        return {arm: ArmStats(*values) for arm, values in sorted(stats.items())}

    def outcomes(self) -> tuple[int, int]:
        """``(redeemed codes among treated decisions, conversions in control)``."""
        redeemed = sum(int(r.redeemed) for r in self.rows if r.arm != CONTROL)
        control = sum(int(r.converted) for r in self.rows if r.arm == CONTROL)
        return redeemed, control

    def shortfall(self, *, min_outcomes: int = MIN_OUTCOMES) -> str | None:
        """Why this is too little to train on (see the module doc), or ``None``."""
        redeemed, control = self.outcomes()
        if redeemed >= min_outcomes and control >= min_outcomes:
            return None
        return (f"too little data: {redeemed} redeemed code{'s' if redeemed != 1 else ''} among offers shown and "
                f"{control} conversion{'s' if control != 1 else ''} in the control group in decisions whose "
                f"{ATTRIBUTION_DAYS}-day window has closed; the uplift model needs {min_outcomes} of each")

    def digest(self) -> str:
        """SHA-256 of the decisions and their outcomes, in id order."""
        body = json.dumps([r.as_record() for r in self.rows], separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()

    def split(self, *, pct: int = HOLDOUT_PCT, salt: str = HOLDOUT_SALT) -> tuple[list[DecisionRow], list[DecisionRow]]:
        """``(training rows, held-out rows)``: whole customers held out (module doc)."""
        train: list[DecisionRow] = []
        held: list[DecisionRow] = []
        for r in self.rows:
            (held if in_holdout(r.customer_id, pct=pct, salt=salt) else train).append(r)
        return train, held

    def describe(self) -> dict[str, Any]:
        """The manifest's ``data``."""
        return {
            "decisions": len(self.rows),
            "first_shown": _iso(min((r.shown_at for r in self.rows), default=None)),
            "last_shown": _iso(max((r.shown_at for r in self.rows), default=None)),
            "built_at": _iso(self.now),
            "attribution_days": ATTRIBUTION_DAYS,
            "arms": {arm: vars(s) for arm, s in self.arm_stats().items()},
            "left_out": {"window_open": self.open_windows, "contaminated_control": self.contaminated_control},
            "digest": self.digest(),
            "holdout": {"salt": HOLDOUT_SALT, "pct": HOLDOUT_PCT},
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at is not None else None


def _window(at: datetime, days: int) -> tuple[datetime, datetime]:
    return at, at + timedelta(days=days)


def build_training_set(session: Session, *, now: datetime, days: int = ATTRIBUTION_DAYS) -> UpliftData:
    """The decisions whose window closed by ``now`` with their outcomes (module doc)."""
    cutoff = now - timedelta(days=days)
    events = session.execute(
        select(OfferEvent.id, OfferEvent.customer_id, OfferEvent.shown_at, OfferEvent.arm, OfferEvent.code_id,
               OfferEvent.converted, OfferEvent.redeemed, OfferEvent.revenue_cents)
        .where(OfferEvent.shown_at <= now).order_by(OfferEvent.id)).all()
    closed = [e for e in events if e.shown_at <= cutoff]
    if not closed:
        return UpliftData([], now, len(events), 0)
    customers = sorted({e.customer_id for e in closed})
    first = min(e.shown_at for e in closed)
    last = max(e.shown_at for e in closed) + timedelta(days=days)

    orders: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for cid, placed, total in session.execute(
            select(Order.customer_id, Order.placed_at, Order.total_cents).where(
                Order.customer_id.in_(customers), Order.status != "cancelled",
                Order.placed_at >= first, Order.placed_at < last)):
        orders[cid].append((placed, int(total)))

    codes = {c.id: c for c in session.scalars(select(OfferCode).where(OfferCode.customer_id.in_(customers)))}
    # who each redeemed code's orders belong to: its order_ref and any attribution row naming it
    owners: dict[int, set[int]] = defaultdict(set)
    refs = {c.order_ref: c.id for c in codes.values() if c.order_ref}
    if refs:
        for number, cid in session.execute(select(Order.number, Order.customer_id).where(Order.number.in_(refs))):
            owners[refs[number]].add(cid)
    if codes:
        for code_id, cid in session.execute(
                select(OrderAttribution.offer_code_id, Order.customer_id)
                .join(Order, Order.id == OrderAttribution.order_id)
                .where(OrderAttribution.offer_code_id.in_(codes))):
            if code_id is not None:
                owners[code_id].add(cid)

    def own_redemption(code: OfferCode, customer_id: int, start: datetime, end: datetime) -> bool:
        return (code.customer_id == customer_id and code.redeemed_at is not None
                and start <= code.redeemed_at < end and customer_id in owners.get(code.id, {customer_id}))

    redeemed_by: dict[int, list[OfferCode]] = defaultdict(list)
    for code in codes.values():
        if code.redeemed_at is not None:
            redeemed_by[code.customer_id].append(code)

    rows: list[DecisionRow] = []
    counted_codes: set[int] = set()
    contaminated = 0
    for e in sorted(closed, key=lambda e: (e.shown_at, e.id)):  # a shared code goes to the earliest decision
        start, end = _window(e.shown_at, days)
        if e.arm == CONTROL and any(own_redemption(c, e.customer_id, start, end)
                                    for c in redeemed_by.get(e.customer_id, [])):
            contaminated += 1
            continue
        if e.converted is not None:
            converted, revenue = bool(e.converted), int(e.revenue_cents or 0)
        else:
            mine = [total for placed, total in orders.get(e.customer_id, []) if start <= placed < end]
            converted, revenue = bool(mine), sum(mine)
        if e.code_id is not None:
            issued = codes.get(e.code_id)
            redeemed = bool(issued is not None and e.code_id not in counted_codes
                            and own_redemption(issued, e.customer_id, start, end))
            if redeemed:
                counted_codes.add(e.code_id)
        else:
            redeemed = bool(e.redeemed) and e.arm != CONTROL
        rows.append(DecisionRow(e.id, e.customer_id, e.shown_at, e.arm, converted, redeemed, revenue))
    rows.sort(key=lambda r: r.event_id)
    return UpliftData(rows, now, len(events) - len(closed), contaminated)


def features_of(session: Session, rows: Sequence[DecisionRow], *, categories: Sequence[str]) -> np.ndarray:
    """Each decision's customer features as they were when it was made."""
    return customer_features(session, rows=[(r.customer_id, r.shown_at) for r in rows], categories=categories)


def categories_of(feature_names: Sequence[str]) -> list[str]:
    """The offer categories a model's features were computed with (``share_<slug>``
    after the base features).

    Raises:
        ValueError: the names are not this code's feature layout (a model from another
            version of the features): retrain it."""
    names = list(feature_names)
    base = list(BASE_FEATURES)
    if names[:len(base)] != base or not all(n.startswith(SHARE_PREFIX) for n in names[len(base):]):
        raise ValueError(f"the model's features ({', '.join(names) or 'none'}) are not {', '.join(base)} and "
                         f"{SHARE_PREFIX}<category>: it was trained on other features; retrain it")
    return [n[len(SHARE_PREFIX):] for n in names[len(base):]]
