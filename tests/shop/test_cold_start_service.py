"""A brand-new shop's recommendations on a real database (SQLite and PostgreSQL): a
catalog with ratings and no customers, orders or interactions gets a cold-start
version, and the service answers with reasons that say what they rest on ("popular in
Jackets: rated 4.8★ by 120 shoppers"), never "picked for you"; constraints, gifts,
"similar", a shopper who looked around, and products added after the model was made."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from models.recsys.cold_start import catalog_signals
from models.recsys.interaction_log import from_database
from models.recsys.preference import demo_item_facts
from models.recsys.serving import ModelHolder
from models.recsys.training import TrainingData, history_shortfall, train_cold_start
from shop.db.engine import session_scope
from shop.db.schema import Category, Product, ProductVariant
from shop.services.interactions import record_interaction
from shop.services.recommendations import recommend_products
from shop.services.search.query import SearchQuery

NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
# (title, category, rating avg, rating count, stock)
CATALOG = [
    ("Alpine Shell Jacket", "Jackets", 4.8, 120, 5),
    ("Drizzle Rain Jacket", "Jackets", 4.2, 3, 5),
    ("Summit Down Jacket", "Jackets", None, 0, 5),
    ("Sold-out Parka", "Jackets", 5.0, 900, 0),
    ("Ridge 2 Tent", "Tents", 4.5, 40, 2),
    ("Basecamp 4 Tent", "Tents", None, 0, 2),
    ("Trail Socks", "Socks", 3.1, 8, 50),
]


def add_product(s, title: str, category: str, avg: float | None, count: int, stock: int | None) -> int:
    cat = s.scalar(select(Category).where(Category.name == category))
    if cat is None:
        cat = Category(slug=category.lower(), name=category)
        s.add(cat)
        s.flush()
    handle = title.lower().replace(" ", "-")
    product = Product(sku=handle.upper(), handle=handle, title=title, category_id=cat.id, price_cents=9900,
                      rating_avg=avg, rating_count=count, created_at=NOW, updated_at=NOW)
    s.add(product)
    s.flush()
    s.add(ProductVariant(product_id=product.id, sku=f"{handle.upper()}-M", size="M", stock=stock))
    s.flush()
    return product.id


def vectors_for(s) -> dict[int, np.ndarray]:
    """Text vectors standing in for the search index's: products of one category close."""
    rng = np.random.default_rng(3)
    centres: dict[int, np.ndarray] = {}
    out = {}
    for pid, cat in s.execute(select(Product.id, Product.category_id)).all():
        centre = centres.setdefault(cat, rng.normal(size=16))
        v = centre + 0.2 * rng.normal(size=16)
        out[int(pid)] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


@pytest.fixture
def new_shop(db_url: str, tmp_path: Path) -> tuple[str, ModelHolder, dict[str, int]]:
    """An imported catalog (no customers, orders or interactions) and the version that
    ``recommender train`` makes for it, served."""
    with session_scope(db_url) as s:
        ids = {row[0]: add_product(s, *row) for row in CATALOG}
    with session_scope(db_url) as s:
        log = from_database(s)
        items = list(s.scalars(select(Product.id).where(Product.is_active.is_(True))))
        data = TrainingData(log, items, vectors_for(s), demo_item_facts(s), catalog_signals(s), "test/vec")
    why = history_shortfall(log)
    assert why is not None and why.startswith("0 customers")
    result = train_cold_start(data, tmp_path / "models", why=why)
    assert result.promoted and result.kind == "cold-start"
    return db_url, ModelHolder(tmp_path / "models", check_s=0), ids


def test_a_stranger_gets_popular_products_with_the_evidence_never_picked_for_you(new_shop) -> None:
    url, holder, ids = new_shop
    with session_scope(url) as s:
        result = recommend_products(s, query=SearchQuery(), session_id="web-new", holder=holder, k=4)
    assert result.model_kind == "cold-start" and result.how == "bestsellers"
    assert result.model_version == holder.get().version
    reasons = {r.card.title: r.reason for r in result.items}
    assert list(reasons)[0] == "Alpine Shell Jacket"
    assert reasons["Alpine Shell Jacket"] == "popular in Jackets: rated 4.8★ by 120 shoppers"
    assert "Sold-out Parka" not in reasons  # out of stock, however popular
    assert not any("picked for you" in r or "because you" in r for r in reasons.values())


def test_constraints_hold_and_products_without_evidence_say_so(new_shop) -> None:
    url, holder, ids = new_shop
    with session_scope(url) as s:
        tents = recommend_products(s, query=SearchQuery(category="tents"), holder=holder, k=5)
    assert [r.card.title for r in tents.items] == ["Ridge 2 Tent", "Basecamp 4 Tent"]
    assert tents.items[0].reason == "popular in Tents: rated 4.5★ by 40 shoppers"
    assert tents.items[1].reason == "in Tents, not rated or ordered yet"


def test_gift_similar_and_a_shopper_who_looked_around(new_shop) -> None:
    url, holder, ids = new_shop
    with session_scope(url) as s:
        gift = recommend_products(s, query=SearchQuery(), session_id="web-g", holder=holder, gift=True, k=2)
        assert gift.how == "bestsellers" and gift.items[0].reason.startswith("popular in Jackets")
        similar = recommend_products(s, query=SearchQuery(), holder=holder, similar_to=ids["Alpine Shell Jacket"],
                                     k=2)
        assert similar.how == "similar" and {r.card.title for r in similar.items} == {
            "Drizzle Rain Jacket", "Summit Down Jacket"}
        assert similar.items[0].reason == "similar to the Alpine Shell Jacket"
        record_interaction(s, product_id=ids["Ridge 2 Tent"], kind="click", session_id="web-a", at=NOW)
    with session_scope(url) as s:
        looked = recommend_products(s, query=SearchQuery(), session_id="web-a", holder=holder, k=1)
    assert looked.how == "personal" and looked.items[0].card.title == "Basecamp 4 Tent"
    assert looked.items[0].reason == "because you looked at the Ridge 2 Tent"


def test_products_added_after_the_model_are_still_offered_and_unknown_anchors_fall_back(new_shop) -> None:
    url, holder, ids = new_shop
    with session_scope(url) as s:
        new_id = add_product(s, "Canyon Tent", "Tents", None, 0, 1)
    with session_scope(url) as s:
        tents = recommend_products(s, query=SearchQuery(category="tents"), holder=holder, k=5)
        assert [r.card.title for r in tents.items][-1] == "Canyon Tent"
        same_kind = recommend_products(s, query=SearchQuery(), holder=holder, similar_to=new_id, k=3)
    assert same_kind.how == "similar" and {r.card.title for r in same_kind.items} == {"Ridge 2 Tent",
                                                                                      "Basecamp 4 Tent"}
    assert all(r.reason.startswith("same kind as the Canyon Tent") for r in same_kind.items)


def test_another_shoppers_session_and_a_forged_customer_id_are_not_history(new_shop) -> None:
    url, holder, ids = new_shop
    with session_scope(url) as s:
        record_interaction(s, product_id=ids["Ridge 2 Tent"], kind="click", session_id="web-someone-else", at=NOW)
    with session_scope(url) as s:
        mine = recommend_products(s, query=SearchQuery(), session_id="web-me", holder=holder, k=3)
        forged = recommend_products(s, query=SearchQuery(), customer_id=987_654, holder=holder, k=3)
    assert mine.how == "bestsellers" and forged.how == "bestsellers"
    assert not any("because you" in r.reason for r in [*mine.items, *forged.items])
