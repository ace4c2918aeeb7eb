"""Fixtures of the staff console tests: ``fast_hashes`` (test-sized argon2id), ``env``
(a demo shop with staff and two open handoffs, on SQLite and PostgreSQL through
``db_url``) and ``live_server`` (the console served by uvicorn, for the event stream)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from apps.console import staff as accounts
from apps.console.staff import create_staff
from shop.db.engine import session_scope
from shop.db.schema import Customer
from shop.handoff.states import record_message, start_handoff
from shop.promo.offers import eligible_offers
from tests.apps.console_support import NOW, PASSWORD, Clock, Env, FakeAssist, FakeRelay, served
from tests.demo_shops import DemoShops


@pytest.fixture
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with test-sized parameters (the real ones cost ~60 ms and 64 MiB each),
    for every test that uses ``env``."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "password_hasher", lambda: fast)
    accounts.dummy_hash.cache_clear()


@pytest.fixture
def env(db_url: str, tmp_path: Path, fast_hashes: None, demo_shop: DemoShops) -> Env:
    """A demo shop with staff (``agent`` and ``payer``: agents of support and payments,
    ``lead``: supervisor, ``admin``) and two open handoffs (``support`` with a customer
    eligible for offers, ``payments`` anonymous)."""
    (tmp_path / "console.js").write_text("/* console */")
    demo_shop(seed=11, scale=0.02, as_of=NOW, url=db_url)
    with session_scope(db_url) as s:
        users = {}
        for key, role, teams in (("agent", "agent", ["support"]), ("payer", "agent", ["payments"]),
                                 ("lead", "supervisor", []), ("admin", "admin", [])):
            users[key] = create_staff(s, email=f"{key}@ridgeline.example", name=key.title(), password=PASSWORD,
                                      role=role, teams=teams, now=NOW).id
        customer_id = next(cid for cid in s.scalars(select(Customer.id).where(Customer.marketing_opt_in.is_(True))
                                                    .order_by(Customer.id))
                           if eligible_offers(s, customer_id=cid, now=NOW))
        ids = {}
        for key, team, cid in (("support", "support", customer_id), ("payments", "payments", None)):
            h = start_handoff(s, sender_id=f"web-{key}", channel="socketio", reason="request", team=team,
                              now=NOW - timedelta(minutes=3), customer_id=cid, sentiment=-0.5)
            record_message(s, handoff_id=h.id, author="bot", text="How can I help?",
                           now=NOW - timedelta(minutes=4), delivered=True)
            record_message(s, handoff_id=h.id, author="shopper", text=f"I need a human ({key})",
                           now=NOW - timedelta(minutes=3), delivered=True)
            ids[key] = h.id
    return Env(db_url, Clock(NOW), FakeAssist(), FakeRelay(), tmp_path, users, ids, customer_id)


@pytest.fixture
def live_server(env: Env) -> Iterator[str]:
    with served(env.app(sse_heartbeat_s=0.5)) as url:
        yield url
