"""Creating, pausing, resuming and ending offers (the ``offers`` table the promo engine
draws from, :mod:`shop.promo`). Every change writes an audit row.

What :func:`create_offer` accepts (:class:`OfferSpec`):

- ``key``: 2-64 lower-case letters, digits, ``-`` or ``_``, not used by another offer;
  ``name``: 1-200 characters of plain text;
- ``kind`` and ``value``: ``percent_off`` and ``bundle``: 1-:data:`MAX_PERCENT` percent
  (a bundle also needs ``min_items`` of 2 or more); ``amount_off``: 1 cent to
  :data:`MAX_AMOUNT_CENTS`; ``free_shipping``: no value (0);
- ``budget_cents``: the most discount it may give in all, 1 cent to
  :data:`MAX_BUDGET_CENTS`;
- ``starts_at`` before ``ends_at``, ``ends_at`` in the future, at most
  :data:`MAX_DAYS` days apart;
- ``min_margin_pct`` 0-100: the discounted price must stay this many percent above
  the product's cost (the rule of :func:`shop.promo.offers.applies_to`); an offer whose
  every covered product with a known cost would break it is refused, since it could
  never be given;
- ``category_slugs`` / ``product_ids`` (both empty: everything) must exist;
  ``per_customer_limit`` 1-:data:`MAX_PER_CUSTOMER`.

States (:func:`offer_state`): ``scheduled`` (starts later), ``live``, ``paused``
(``active`` false), ``spent`` (budget used up), ``ended`` (``ends_at`` passed). Pause
sets ``active`` false, resume sets it back, end sets ``ends_at`` to now; an ended
offer can't be paused, resumed or ended again (create a new one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db.schema import Category, Offer, Product, StaffUser
from shop.services.admin_audit import AdminError, record_admin_change

OFFER_KINDS = ("percent_off", "amount_off", "free_shipping", "bundle")
MAX_PERCENT = 90
MAX_AMOUNT_CENTS = 100_000_00
MAX_BUDGET_CENTS = 10_000_000_00
MAX_DAYS = 366
MAX_PER_CUSTOMER = 10
MAX_NAME = 200
KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{1,63}")
MARKUP_RE = re.compile(r"<\s*[a-zA-Z/!?]|javascript\s*:|[\x00-\x08\x0b-\x1f\x7f]", re.IGNORECASE)


@dataclass(frozen=True)
class OfferSpec:
    """A new offer, as :func:`create_offer` takes it (money in cents)."""

    key: str
    name: str
    kind: str
    value: int
    budget_cents: int
    ends_at: datetime
    starts_at: datetime | None = None
    min_items: int = 1
    min_margin_pct: int = 0
    category_slugs: tuple[str, ...] = ()
    product_ids: tuple[int, ...] = ()
    per_customer_limit: int = 1


def offer_state(offer: Offer, *, now: datetime) -> str:
    """``ended``, ``paused``, ``spent``, ``scheduled`` or ``live``."""
    if offer.ends_at <= now:
        return "ended"
    if not offer.active:
        return "paused"
    if offer.spent_cents >= offer.budget_cents:
        return "spent"
    return "scheduled" if offer.starts_at > now else "live"


def list_offers(session: Session) -> list[Offer]:
    """Every offer, newest first."""
    return list(session.scalars(select(Offer).order_by(Offer.id.desc())))


def find_offer(session: Session, *, key: str) -> Offer:
    """The offer with ``key``.

    Raises:
        AdminError: no such offer.
    """
    offer = session.scalar(select(Offer).where(Offer.key == key)) if key else None
    if offer is None:
        raise AdminError(f"there is no offer {key!r} (`python -m apps.cli offer list` shows them)")
    return offer


def _keeps_margin(spec: OfferSpec, price: int, cost: int) -> bool:
    """:func:`shop.promo.offers.applies_to`'s margin rule for one product (no floor: always kept)."""
    if spec.min_margin_pct <= 0:
        return True
    quantity = max(1, spec.min_items)
    total = price * quantity
    if spec.kind in ("percent_off", "bundle"):
        discount = min(total, total * spec.value // 100)
    elif spec.kind == "amount_off":
        discount = min(total, spec.value)
    else:
        discount = 0
    return total - discount >= cost * quantity * (100 + spec.min_margin_pct) / 100


def spec_problems(session: Session, spec: OfferSpec, *, now: datetime) -> list[str]:
    """Every reason ``spec`` is refused (see the module doc); ``[]`` when it is fine."""
    problems = []
    if not KEY_RE.fullmatch(spec.key or ""):
        problems.append("the key must be 2-64 lower-case letters, digits, - or _ (e.g. spring-jackets-15)")
    elif session.scalar(select(Offer.id).where(Offer.key == spec.key)) is not None:
        problems.append(f"an offer with key {spec.key!r} exists already")
    if not spec.name.strip() or len(spec.name) > MAX_NAME or MARKUP_RE.search(spec.name):
        problems.append(f"the name must be 1-{MAX_NAME} characters of plain text (no HTML)")
    if spec.kind not in OFFER_KINDS:
        problems.append(f"the kind must be one of {', '.join(OFFER_KINDS)}")
    elif spec.kind in ("percent_off", "bundle") and not 1 <= spec.value <= MAX_PERCENT:
        problems.append(f"a {spec.kind} value is a percentage, 1-{MAX_PERCENT}")
    elif spec.kind == "amount_off" and not 1 <= spec.value <= MAX_AMOUNT_CENTS:
        problems.append(f"an amount_off value is 0.01-{MAX_AMOUNT_CENTS / 100:,.2f} in money")
    elif spec.kind == "free_shipping" and spec.value != 0:
        problems.append("free_shipping takes no value")
    if spec.kind == "bundle" and spec.min_items < 2:
        problems.append("a bundle needs --min-items of 2 or more")
    if spec.kind != "bundle" and spec.min_items != 1:
        problems.append("--min-items is for bundles only")
    if not 1 <= spec.budget_cents <= MAX_BUDGET_CENTS:
        problems.append(f"the budget must be 0.01-{MAX_BUDGET_CENTS / 100:,.2f} in money (it is "
                        f"{spec.budget_cents / 100:,.2f})")
    starts = spec.starts_at or now
    if spec.ends_at <= now:
        problems.append("the offer must end in the future")
    if starts >= spec.ends_at:
        problems.append("the offer must start before it ends")
    elif spec.ends_at - starts > timedelta(days=MAX_DAYS):
        problems.append(f"an offer may run at most {MAX_DAYS} days")
    if not 0 <= spec.min_margin_pct <= 100:
        problems.append("the margin must be 0-100 percent")
    if not 1 <= spec.per_customer_limit <= MAX_PER_CUSTOMER:
        problems.append(f"codes per customer must be 1-{MAX_PER_CUSTOMER}")
    slugs = sorted(set(spec.category_slugs))
    if slugs:
        known = set(session.scalars(select(Category.slug).where(Category.slug.in_(slugs))))
        if set(slugs) - known:
            problems.append(f"no such categories: {', '.join(sorted(set(slugs) - known))}")
    ids = sorted(set(spec.product_ids))
    if ids:
        found = set(session.scalars(select(Product.id).where(Product.id.in_(ids))))
        if set(ids) - found:
            problems.append(f"no such products: {', '.join(str(i) for i in sorted(set(ids) - found))}")
    if not problems and spec.min_margin_pct > 0 and spec.kind != "free_shipping":
        covered = select(Product.price_cents, Product.cost_cents).where(Product.cost_cents.is_not(None),
                                                                        Product.is_active.is_(True))
        if slugs or ids:
            in_category = Product.category_id.in_(select(Category.id).where(Category.slug.in_(slugs)))
            covered = covered.where(in_category | Product.id.in_(ids) if ids and slugs else
                                    (in_category if slugs else Product.id.in_(ids)))
        rows = session.execute(covered).all()
        if rows and not any(_keeps_margin(spec, int(p), int(c or 0)) for p, c in rows):
            problems.append(f"with a {spec.min_margin_pct}% margin floor no covered product could get this discount "
                            f"({len(rows)} with a known cost checked): lower the discount or the margin")
    return problems


def create_offer(session: Session, *, spec: OfferSpec, by: StaffUser, now: datetime) -> Offer:
    """Add the offer ``spec`` describes, active, and audit it (``offer_create``).

    Raises:
        AdminError: listing every problem (see the module doc).
    """
    problems = spec_problems(session, spec, now=now)
    if problems:
        raise AdminError("; ".join(problems))
    offer = Offer(key=spec.key, name=spec.name.strip(), kind=spec.kind, value=spec.value, min_items=spec.min_items,
                  category_slugs=sorted(set(spec.category_slugs)), product_ids=sorted(set(spec.product_ids)),
                  min_margin_pct=spec.min_margin_pct, budget_cents=spec.budget_cents, spent_cents=0,
                  per_customer_limit=spec.per_customer_limit, starts_at=spec.starts_at or now, ends_at=spec.ends_at,
                  active=True)
    session.add(offer)
    session.flush()
    record_admin_change(session, by=by, action="offer_create", now=now, key=offer.key, offer_id=offer.id,
                        kind=offer.kind, value=offer.value, budget_cents=offer.budget_cents,
                        starts_at=offer.starts_at.isoformat(), ends_at=offer.ends_at.isoformat())
    return offer


def _change(session: Session, *, key: str, by: StaffUser, now: datetime, action: str) -> Offer:
    offer = find_offer(session, key=key)
    state = offer_state(offer, now=now)
    if state == "ended":
        raise AdminError(f"offer {key!r} ended at {offer.ends_at:%Y-%m-%d %H:%M} UTC; an ended offer stays ended "
                         "(create a new one)")
    if action == "pause" and not offer.active:
        raise AdminError(f"offer {key!r} is paused already")
    if action == "resume" and offer.active:
        raise AdminError(f"offer {key!r} is not paused ({state})")
    before = state
    if action == "pause":
        offer.active = False
    elif action == "resume":
        offer.active = True
    else:
        offer.ends_at = now
    session.flush()
    record_admin_change(session, by=by, action=f"offer_{action}", now=now, key=offer.key, offer_id=offer.id,
                        before=before, after=offer_state(offer, now=now))
    return offer


def pause_offer(session: Session, *, key: str, by: StaffUser, now: datetime) -> Offer:
    """Stop giving the offer out (``active`` false) until it is resumed; codes already
    issued stay valid. Raises :class:`AdminError` (unknown, ended, paused already)."""
    return _change(session, key=key, by=by, now=now, action="pause")


def resume_offer(session: Session, *, key: str, by: StaffUser, now: datetime) -> Offer:
    """Give a paused offer out again. Raises :class:`AdminError` (unknown, ended, not paused)."""
    return _change(session, key=key, by=by, now=now, action="resume")


def end_offer(session: Session, *, key: str, by: StaffUser, now: datetime) -> Offer:
    """End the offer now (``ends_at`` = now). Raises :class:`AdminError` (unknown, ended already)."""
    return _change(session, key=key, by=by, now=now, action="end")
