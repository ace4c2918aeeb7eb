"""Shared fixtures.

``db_url`` runs a test once on SQLite (a fresh file) and once on PostgreSQL. The
PostgreSQL run uses a throw-away database on the server at
``SHOP_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``)
and skips, saying why, when that server does not answer.

``demo_shop`` is the one factory of demo shops (:mod:`tests.demo_shops`):
``demo_shop(seed=3, scale=0.02, as_of=NOW)`` -> the URL of a fresh copy.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.engines import pg_missing as engines_pg_missing
from shop.db.engine import get_engine
from shop.db.migrate import upgrade
from tests.demo_shops import DemoShops

PG_ADMIN_URL = os.environ.get(
    "SHOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pg_missing() -> str | None:
    """Why the PostgreSQL server at ``PG_ADMIN_URL`` cannot be used, or ``None``."""
    return engines_pg_missing(PG_ADMIN_URL)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL of a reachable PostgreSQL server, or skip with the reason."""
    reason = pg_missing()
    if reason:
        pytest.skip(reason)
    yield PG_ADMIN_URL


def _create_pg_database(admin_url: str) -> str:
    name = f"shop_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(admin_url: str, url: str) -> None:
    get_engine(url).dispose()
    name = make_url(url).database
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of an empty, fully migrated shop database (SQLite file or PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        upgrade(url)
        yield url
        get_engine(url).dispose()
        return
    admin_url = request.getfixturevalue("pg_server_url")
    url = _create_pg_database(admin_url)
    try:
        upgrade(url)
        yield url
    finally:
        _drop_pg_database(admin_url, url)


# --- the real local LLM in its own process ---------------------------------------------

LOCAL_TEST_LLM = "smollm2-135m-instruct-q4_1"


@pytest.fixture(scope="session")
def local_llm_url() -> Iterator[str]:
    """A real llama-server (the one ``make llm-server`` builds) serving SmolLM2-135M on a
    free loopback port for this test session; its base URL (``http://127.0.0.1:P``).
    Skips, saying why, when the server has not been built."""
    from models.llm.server import ServerConfig, free_port, serving
    from models.llm.weights import ensure_gguf
    from shop.settings import get_settings

    settings = get_settings()
    if not settings.llm_server_bin.exists():
        pytest.skip(f"{settings.llm_server_bin} is missing: run 'make llm-server'")
    path = ensure_gguf(LOCAL_TEST_LLM, settings.llm_cache_dir, progress=False)
    config = ServerConfig(binary=settings.llm_server_bin, model_path=path, alias=LOCAL_TEST_LLM, port=free_port(),
                          threads=2, context=2048, slots=1, niceness=0)
    with serving(config, timeout_s=120) as url:
        yield url


@pytest.fixture(scope="session")
def demo_shop(tmp_path_factory: pytest.TempPathFactory) -> DemoShops:
    """The demo-shop factory shared by every test (each shop generated once a session)."""
    return DemoShops(tmp_path_factory.mktemp("demo-shops"))
