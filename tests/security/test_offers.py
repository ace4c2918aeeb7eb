"""Hostile offer-code cases (issue 15, H3) on real databases (SQLite and PostgreSQL, each
a fresh database of its own): simultaneous issues of a "one per customer" offer give
one code, the database itself refuses a second code in the same place, and a limit of
two still holds under a race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shop.db.engine import session_scope
from shop.db.schema import Customer, Offer, OfferCode
from shop.promo import offers as offer_module
from shop.promo.offers import issue_code

NOW = datetime(2026, 12, 1, 12, 0, 0)
THREADS = 8


def _offer_and_customer(url: str, *, limit: int = 1) -> tuple[int, int]:
    with session_scope(url) as s:
        customer = Customer(email="race@example.com", first_name="Race", last_name="Condition",
                            marketing_opt_in=True, created_at=NOW)
        offer = Offer(key="race10", name="10% off", kind="percent_off", value=10, budget_cents=1_000_000,
                      spent_cents=0, per_customer_limit=limit, starts_at=NOW - timedelta(days=1),
                      ends_at=NOW + timedelta(days=30), category_slugs=[], product_ids=[])
        s.add_all([customer, offer])
        s.flush()
        return offer.id, customer.id


def _codes(url: str, offer_id: int, customer_id: int) -> list[tuple[str, int]]:
    with session_scope(url) as s:
        return list(s.execute(select(OfferCode.code, OfferCode.slot).where(
            OfferCode.offer_id == offer_id, OfferCode.customer_id == customer_id).order_by(OfferCode.slot)).all())


def _race(url: str, monkeypatch: pytest.MonkeyPatch, offer_id: int, customer_id: int) -> list[str | None]:
    """``THREADS`` simultaneous issues, each in its own session; every one has counted the
    customer's codes before any inserts (the window the old code lost in)."""
    barrier = threading.Barrier(THREADS, timeout=30)
    real = offer_module.codes_held

    def counted_then_wait(session: Any, **kwargs: Any) -> int:
        held = real(session, **kwargs)
        barrier.wait()
        return held

    monkeypatch.setattr(offer_module, "codes_held", counted_then_wait)

    def issue(_: int) -> str | None:
        with session_scope(url) as s:
            code = issue_code(s, offer=s.get(Offer, offer_id), customer_id=customer_id, now=NOW)
            return code.code if code is not None else None

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(issue, range(THREADS)))


def test_simultaneous_issues_of_a_one_per_customer_offer_give_one_code(db_url: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    offer_id, customer_id = _offer_and_customer(db_url)
    issued = _race(db_url, monkeypatch, offer_id, customer_id)
    rows = _codes(db_url, offer_id, customer_id)
    assert len(rows) == 1 and rows[0][1] == 1
    assert set(issued) == {rows[0][0]}  # every caller was given the one code that exists
    monkeypatch.undo()
    with session_scope(db_url) as s:  # asked again later: refused
        assert issue_code(s, offer=s.get(Offer, offer_id), customer_id=customer_id, now=NOW) is None


def test_a_limit_of_two_holds_under_a_race(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    offer_id, customer_id = _offer_and_customer(db_url, limit=2)
    with session_scope(db_url) as s:
        first = issue_code(s, offer=s.get(Offer, offer_id), customer_id=customer_id, now=NOW)
        assert first is not None and first.slot == 1
    issued = _race(db_url, monkeypatch, offer_id, customer_id)
    rows = _codes(db_url, offer_id, customer_id)
    assert [slot for _, slot in rows] == [1, 2]
    assert set(issued) == {rows[1][0]}


def test_the_database_refuses_a_second_code_in_the_same_place(db_url: str) -> None:
    offer_id, customer_id = _offer_and_customer(db_url)
    with session_scope(db_url) as s:
        s.add(OfferCode(code="RDG-AAAA-AAAA", offer_id=offer_id, customer_id=customer_id, slot=1, issued_at=NOW,
                        expires_at=NOW + timedelta(days=7)))
    with pytest.raises(IntegrityError), session_scope(db_url) as s:
        s.add(OfferCode(code="RDG-BBBB-BBBB", offer_id=offer_id, customer_id=customer_id, slot=1, issued_at=NOW,
                        expires_at=NOW + timedelta(days=7)))
    with pytest.raises(IntegrityError), session_scope(db_url) as s:  # slot left out: the default place 1
        s.add(OfferCode(code="RDG-CCCC-CCCC", offer_id=offer_id, customer_id=customer_id, issued_at=NOW,
                        expires_at=NOW + timedelta(days=7)))
    with session_scope(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OfferCode)) == 1
