"""Hostile staff-console login cases (issue 15, H3) on the real console app and database
(SQLite and PostgreSQL through the console tests' ``env`` fixture, imported here):
password spraying across e-mails from one address is stopped before any password is
hashed, unknown e-mails cost what known ones do, password checks run a bounded number
at a time, the address counts hold across two app instances through real Redis, and
the demo logins' passwords never reach stdout or a log."""
# ruff: noqa: F811

from __future__ import annotations

import logging
import os
import random
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from argon2 import extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from apps.cli.shop_commands import seed_demo_staff
from apps.console import staff as accounts
from apps.console.auth import SESSION_COOKIE, LoginLimit
from shop.db.engine import session_scope
from shop.db.migrate import upgrade
from shop.db.schema import AuditEntry, StaffUser
from shop.settings import get_settings
from shop.shared_counters import get_limiter, redis_client
from tests.apps.conftest import env, fast_hashes  # noqa: F401 (fixtures)
from tests.apps.console_support import LOGIN_CSRF, Env, login
from tests.security.conftest import REDIS_URL


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The password hashes verified (each call of the real argon2id check, recorded)."""
    calls: list[str] = []
    real = accounts.verify_password

    def counted(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counted)
    return calls


def _client(env: Env, address: str, **overrides: Any) -> TestClient:
    return TestClient(env.app(**overrides), client=(address, 40000))


def _failures(url: str) -> int:
    with session_scope(url) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)
                            .where(AuditEntry.action == "login_failed")) or 0)


def test_spraying_many_emails_from_one_address_stops_before_hashing(env: Env, verifies: list[str]) -> None:
    attacker = _client(env, "203.0.113.7")
    statuses = [login(attacker, f"user{i}@ridgeline.example", "Winter2026!").status_code for i in range(25)]
    assert statuses == [401] * 20 + [429] * 5
    assert len(verifies) == 20  # the last five never reached argon2id
    assert _failures(env.url) == 20  # and wrote nothing
    assert login(attacker, "agent@ridgeline.example").status_code == 429  # even the right password, from there
    assert len(verifies) == 20 and SESSION_COOKIE not in attacker.cookies
    colleague = TestClient(attacker.app, client=("198.51.100.9", 40000))
    assert login(colleague, "agent@ridgeline.example").status_code == 303  # another address: unaffected
    assert SESSION_COOKIE in colleague.cookies


def test_the_address_limit_is_configurable_and_counts_only_failures(env: Env, verifies: list[str]) -> None:
    client = _client(env, "203.0.113.8", login_limit=LoginLimit(per_address=3))
    for _ in range(4):  # successes do not count
        assert login(TestClient(client.app, client=("203.0.113.8", 40000)), "lead@ridgeline.example").status_code == 303
    assert [login(client, f"x{i}@ridgeline.example", "nope nope nope").status_code for i in range(5)] == [
        401, 401, 401, 429, 429]
    assert len(verifies) == 7


def test_unknown_and_inactive_emails_cost_one_full_check_like_known_ones(env: Env, verifies: list[str]) -> None:
    with session_scope(env.url) as s:
        s.get(StaffUser, env.users["payer"]).is_active = False
        real_hash = s.get(StaffUser, env.users["agent"]).password_hash
    client = _client(env, "203.0.113.9")
    for email in ("nobody@ridgeline.example", "agent@ridgeline.example", "payer@ridgeline.example", ""):
        before = len(verifies)
        assert login(client, email, "a wrong password").status_code == 401
        assert len(verifies) == before + 1, email
    dummy = verifies[0]
    assert dummy != real_hash and extract_parameters(dummy) == extract_parameters(real_hash)


def test_password_checks_run_a_bounded_number_at_a_time(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    active, most, lock = [0], [0], threading.Lock()
    real = accounts.verify_password

    def slow(password_hash: str, password: str) -> bool:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.5)
        with lock:
            active[0] -= 1
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", slow)
    app = env.app(login_limit=LoginLimit(concurrency=1, wait_s=0.2))
    clients = [TestClient(app, client=(f"192.0.2.{i}", 40000)) for i in range(6)]
    tokens = [LOGIN_CSRF.search(c.get("/login").text).group(1) for c in clients]
    statuses: list[int] = []

    def post(client: TestClient, token: str) -> None:
        answer = client.post("/login", data={"email": "agent@ridgeline.example", "password": "wrong password",
                                             "csrf_token": token}, follow_redirects=False)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=post, args=pair) for pair in zip(clients, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most[0] == 1  # never two argon2id checks at once
    assert sorted(statuses)[0] == 401 and 503 in statuses and len(statuses) == 6  # the rest were turned away



def test_address_failures_counted_in_redis_hold_across_two_app_instances(env: Env, redis_db: redis.Redis,
                                                                        verifies: list[str]) -> None:
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    limit = LoginLimit(per_address=3, redis_url=REDIS_URL)
    try:
        first = _client(env, address, login_limit=limit)
        for i in range(3):
            assert login(first, f"spray{i}@ridgeline.example", "Winter2026!").status_code == 401
        get_limiter.cache_clear()  # a second console process: its own limiter and Redis client
        redis_client.cache_clear()
        second = _client(env, address, login_limit=limit)
        assert login(second, "agent@ridgeline.example").status_code == 429
        assert len(verifies) == 3
        assert redis_db.keys(f"shop:rl:console-login-address:{address}:*")
    finally:
        get_limiter.cache_clear()
        redis_client.cache_clear()
        for key in redis_db.scan_iter(match=f"shop:rl:console-login-address:{address}:*"):
            redis_db.delete(key)


def test_demo_logins_go_only_to_a_private_file(tmp_path: Path, fast_hashes: None, capsys: pytest.CaptureFixture[str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    path = tmp_path / "var" / "console-demo-login.txt"
    with caplog.at_level(logging.DEBUG):
        created = seed_demo_staff(url, path=path, handoff_config=get_settings().handoff_config)
    assert created == ["agent@ridgeline.example", "lead@ridgeline.example"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    passwords = [line.split()[1] for line in path.read_text().splitlines()]
    assert len(passwords) == 2 and all(len(p) >= 12 for p in passwords)
    printed = capsys.readouterr()
    said = printed.out + printed.err + caplog.text
    assert str(path) in printed.out
    assert not any(p in said for p in passwords)
    with session_scope(url) as s:
        stored = s.scalars(select(StaffUser.password_hash)).all()
        assert len(stored) == 2 and not any(p in h for p in passwords for h in stored)
    assert seed_demo_staff(url, path=path, handoff_config=get_settings().handoff_config) == []  # only once
