"""`make run`'s data steps on a shop that imported its own catalog and has no customers,
orders or interactions, as the real commands in their own processes: schema upgrade,
catalog import, the demo step (which must keep the imported catalog), the search
index, and the recommender, which makes a cold-start version and says so; then the
recommendation service answers from it with reasons that say what they rest on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.recsys.serving import ModelHolder
from shop.db.engine import get_engine, session_scope
from shop.db.schema import Customer, Interaction, Order, Product
from shop.services.recommendations import recommend_products
from shop.services.search.query import SearchQuery

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _catalog_import(env: dict[str, str]) -> list[str]:
    """``apps.cli catalog import`` where it exists, else ``tools catalog import``."""
    probe = _run(["-m", "apps.cli", "catalog", "import", "--help"], env, timeout=120)
    return ["-m", "apps.cli", "catalog", "import"] if probe.returncode == 0 else ["-m", "tools", "catalog", "import"]


@pytest.mark.slow
def test_make_run_data_steps_on_an_imported_catalog_with_no_history(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    env = {**os.environ, "DATABASE_URL": url, "SHOP_SEARCH_INDEX_DIR": str(tmp_path / "index"),
           "SHOP_RECOMMEND_MODEL_DIR": str(tmp_path / "models"), "PYTHONPATH": str(ROOT),
           "TOKENIZERS_PARALLELISM": "false"}
    step = _run(["-m", "apps.cli", "db", "upgrade"], env)
    assert step.returncode == 0, step.stderr
    step = _run([*_catalog_import(env), str(FIXTURES / "custom_products.csv"),
                 "--mapping", str(FIXTURES / "custom_mapping.yml")], env)
    assert step.returncode in (0, 1), step.stderr  # 1: the fixture has rows rejected on purpose
    with session_scope(url) as s:
        imported = s.scalar(select(func.count()).select_from(Product))
    assert imported and imported >= 2
    # `make db` runs the demo step: it must leave an imported catalog alone
    step = _run(["-m", "tools", "demo", "generate", "--no-progress"], env)
    assert step.returncode == 0, step.stderr
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Product)) == imported
        for table in (Customer, Order, Interaction):
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.__tablename__
    step = _run(["-m", "apps.cli", "index", "build"], env)
    assert step.returncode == 0, step.stderr
    step = _run(["-m", "apps.cli", "recommender", "train", "--if-missing"], env)
    assert step.returncode == 0, step.stdout + step.stderr
    assert "COLD START" in step.stdout and "0 customers with 3 or more purchase baskets" in step.stdout
    assert f"{imported} read from the search index" in step.stdout  # content from the index's vectors
    assert "kind: cold-start" in step.stdout and "promoted:" in step.stdout
    again = _run(["-m", "apps.cli", "recommender", "train", "--if-missing"], env)
    assert again.returncode == 0 and "is in place" in again.stdout

    holder = ModelHolder(tmp_path / "models", check_s=0)
    with session_scope(url) as s:
        result = recommend_products(s, query=SearchQuery(), session_id="web-first-shopper", holder=holder, k=5)
        jackets = recommend_products(s, query=SearchQuery(category="jackets"), holder=holder, k=5)
    assert result.model_kind == "cold-start" and result.items
    assert all(r.reason.endswith("not rated or ordered yet") for r in result.items), result.items
    assert [r.reason for r in jackets.items] == ["in Jackets, not rated or ordered yet"]
    get_engine(url).dispose()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_db_generates_the_demo_only_unless_demo_is_0() -> None:
    def dry(*extra: str) -> str:
        return subprocess.run(["make", "-n", "db", *extra], cwd=ROOT, capture_output=True, text=True, check=True,
                              timeout=60).stdout

    assert "tools demo generate" in dry()
    assert "tools demo generate" not in dry("DEMO=0") and "apps.cli db upgrade" in dry("DEMO=0")
