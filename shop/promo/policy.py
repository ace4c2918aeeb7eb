"""Which offer, if any, one customer gets: eligibility rules first, then the uplift
model's prediction, then Thompson-sampling exploration; a fixed control group gets
nothing, so uplift stays measurable. Every decision is logged as an
:class:`~shop.db.schema.OfferEvent` (control included) for the A/B report and the
next model.

The model decided with is the promoted version under ``PolicyConfig.model_dir``
(:func:`served_uplift`; trained and gated by :mod:`shop.promo.uplift_retrain`), reloaded
when ``CURRENT`` names another one. Before the first promotion the policy explores
(any eligible offer), as it does for an offer the model has not seen enough of.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.recsys.artifact import ArtifactError, current_version
from models.recsys.uplift import CONTROL, UpliftModel
from models.recsys.uplift_artifact import load_uplift
from shop.db.schema import Offer, OfferCode, OfferEvent
from shop.promo.features import customer_features, feature_names, offer_categories, order_value_cents
from shop.promo.offers import eligible_offers, issue_code
from shop.promo.uplift_data import categories_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyConfig:
    """The tunable part of the policy (from ``Settings.promo_*``; see there)."""

    name: str = "uplift"          # "uplift" | "random" | "paused"
    control_pct: int = 10
    exploration: float = 1.0
    code_days: int = 7
    salt: str = "ridgeline-promo-1"
    margin_pct: float = 40.0      # what a sale earns the shop, percent of the order
    redeem_share: float = 0.8     # converted customers who use their code
    shipping_cents: int = 695     # what free shipping costs the shop
    model_dir: Path | None = None  # promoted uplift versions (``CURRENT``); None: no model, explore
    model_check_s: float = 10.0   # seconds between looks at ``CURRENT``


@dataclass(frozen=True)
class Decision:
    """``arm``: an offer key, ``"control"`` or ``"none"``; ``offer``/``code`` when one
    was issued; ``reason`` in words for logs and staff."""

    arm: str
    reason: str
    offer: Offer | None = None
    code: OfferCode | None = None


def in_control_group(customer_id: int, *, pct: int, salt: str) -> bool:
    """Whether the customer is in the fixed control group (stable hash of id and salt)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < pct


def train_uplift(session: Session) -> UpliftModel | None:
    """An :class:`UpliftModel` fitted in memory on every logged decision with a known
    outcome, or ``None`` while there are too few (fewer than 30 control events). For
    simulations and benchmarks; the served model is a promoted version
    (:func:`served_uplift`, trained by :mod:`shop.promo.uplift_retrain`)."""
    events = session.execute(select(OfferEvent.customer_id, OfferEvent.shown_at, OfferEvent.arm, OfferEvent.converted)
                             .where(OfferEvent.converted.is_not(None))).all()
    if not events:
        return None
    categories = offer_categories(session)
    X = customer_features(session, rows=[(e[0], e[1]) for e in events], categories=categories)
    try:
        return UpliftModel().fit(X, [e[2] for e in events], np.array([int(bool(e[3])) for e in events]),
                                 feature_names=feature_names(categories))
    except ValueError as exc:
        logger.info("no uplift model yet: %s", exc)
        return None


@dataclass(frozen=True)
class ServedUplift:
    """A promoted uplift version: the model, the offer categories its features use, its name."""

    model: UpliftModel
    categories: list[str]
    version: str


class UpliftHolder:
    """The uplift version ``CURRENT`` names under ``root``, reloaded when it changes.

    At most every ``check_s`` seconds :meth:`get` reads ``CURRENT`` (like the preference
    model's :class:`models.recsys.serving.ModelHolder`); a new version is verified
    (SHA-256 of its files), loaded (a few arrays: milliseconds) and swapped in with one
    reference assignment. A version that fails to load, or whose features are not this
    code's, is logged once and skipped; the served one stays. Thread-safe."""

    def __init__(self, root: Path, *, check_s: float = 10.0) -> None:
        self.root = Path(root)
        self.check_s = check_s
        self._served: ServedUplift | None = None
        self._checked_at = -float("inf")
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    def get(self) -> ServedUplift | None:
        """The version to decide with (``None`` before the first promotion)."""
        if time.monotonic() - self._checked_at < self.check_s:
            return self._served
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self.check_s:
                return self._served
            self._checked_at = now
            version = current_version(self.root)
            served = self._served
            if version is None or version in self._refused or (served is not None and served.version == version):
                return served
            try:
                model, _ = load_uplift(self.root / version)
                categories = categories_of(model.feature_names)
            except (ArtifactError, ValueError) as exc:
                self._refused.add(version)
                logger.error("uplift model %s not swapped in: %s", version, exc)
                return served
            self._served = ServedUplift(model, categories, version)
            logger.info("uplift model %s now served (was %s)", version, served.version if served else "none")
            return self._served


_holders: dict[Path, UpliftHolder] = {}
_holders_lock = threading.Lock()


def served_uplift(root: Path, *, check_s: float = 10.0) -> ServedUplift | None:
    """The promoted uplift version under ``root`` (one :class:`UpliftHolder` per root and process)."""
    key = Path(root).resolve()
    with _holders_lock:
        holder = _holders.get(key)
        if holder is None:
            holder = _holders[key] = UpliftHolder(key, check_s=check_s)
    return holder.get()


def expected_cost_cents(offer: Offer, *, order_cents: float, convert_p: float, config: PolicyConfig) -> float:
    """What giving ``offer`` is expected to cost: conversion x redemption x discount."""
    if offer.kind in ("percent_off", "bundle"):
        discount = order_cents * offer.value / 100
    elif offer.kind == "amount_off":
        discount = min(float(offer.value), order_cents)
    else:
        discount = float(config.shipping_cents)
    return convert_p * config.redeem_share * discount


def choose(offers: list[Offer], *, config: PolicyConfig, model: UpliftModel | None, features: np.ndarray | None,
           rng: random.Random) -> tuple[Offer | None, str]:
    """Pick among eligible ``offers`` (no logging, no codes): ``(offer or None, reason)``.

    ``"uplift"``: for each offer, draw an uplift from the model's posterior (Thompson
    sampling, noise scaled by ``exploration``); offers whose extra sales would not earn
    back their expected discount (margin of the customer's usual order) are dropped,
    and the one with the most extra conversions per expected discount cent wins. When
    none pays for itself the customer gets no offer: the budget goes where it changes
    behaviour. ``"random"``: any eligible offer."""
    if not offers:
        return None, "no eligible offer"
    if config.name == "random" or model is None or features is None:
        return rng.choice(offers), "random" if config.name == "random" else "explore (no model yet)"
    row = features.reshape(1, -1)
    post = model.posterior(row)
    p = model.conversion(row)
    order = order_value_cents(features)
    value_of_sale = order * config.margin_pct / 100
    best: tuple[float, Offer] | None = None
    for offer in offers:
        if offer.key not in post:  # an offer the model has not seen enough of: explore it
            return offer, "explore (new offer)"
        mean, se = post[offer.key]
        uplift = float(mean[0] + config.exploration * se[0] * rng.gauss(0.0, 1.0))
        cost = max(1.0, expected_cost_cents(offer, order_cents=order, convert_p=float(p[offer.key][0]), config=config))
        if uplift * value_of_sale <= cost:  # would not pay for itself
            continue
        efficiency = uplift / cost
        if best is None or efficiency > best[0]:
            best = (efficiency, offer)
    if best is None:
        return None, "no offer is predicted to pay for itself"
    return best[1], "uplift"


def decide(session: Session, *, customer_id: int, now: datetime, config: PolicyConfig,
           model: UpliftModel | None, categories: list[str], rng: random.Random | None = None) -> Decision:
    """Decide, issue a code when an offer is chosen, and log the decision."""
    rng = rng or random.Random()  # noqa: S311  - picks offers (exploration), not secrets
    if config.name == "paused":
        return Decision("none", "offers are paused")
    offers = eligible_offers(session, customer_id=customer_id, now=now)
    if not offers:
        return Decision("none", "no eligible offer")
    if in_control_group(customer_id, pct=config.control_pct, salt=config.salt):
        session.add(OfferEvent(customer_id=customer_id, offer_id=None, arm=CONTROL, policy=config.name, shown_at=now))
        return Decision(CONTROL, "control group")
    features = None
    if model is not None:
        features = customer_features(session, rows=[(customer_id, now)], categories=categories)[0]
    offer, reason = choose(offers, config=config, model=model, features=features, rng=rng)
    if offer is None:
        return Decision("none", reason)
    code = issue_code(session, offer=offer, customer_id=customer_id, now=now, valid_days=config.code_days)
    if code is None:
        return Decision("none", "the customer holds this offer's limit")
    session.add(OfferEvent(customer_id=customer_id, offer_id=offer.id, arm=offer.key, policy=config.name,
                           shown_at=now, code_id=code.id))
    session.flush()
    return Decision(offer.key, reason, offer, code)
