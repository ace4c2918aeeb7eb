"""The recommendation service, the cart and the interaction log on a real database
(SQLite and PostgreSQL) holding a small demo shop, with a real trained and promoted
preference model: known and anonymous shoppers, constraints, exclusions, gifts,
"similar", reasons, and the closed loop from chat events back into training."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.recsys.interaction_log import from_database
from models.recsys.serving import ModelHolder
from models.recsys.training import train_and_save
from shop.db.engine import session_scope
from shop.db.schema import Interaction, Order, OrderItem, Product, ProductVariant
from shop.services.cart import add_to_cart, view_cart
from shop.services.interactions import known_customer, record_interaction
from shop.services.recommendations import (
    is_gift,
    last_bought,
    recently_bought,
    recommend_products,
    wants_like_last_purchase,
)
from shop.services.search.query import SearchQuery
from tests.demo_shops import DemoShops
from tools.demo.generate import PERSONA_CUSTOMER_ID

NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, demo_shop: DemoShops) -> tuple[str, ModelHolder]:
    """A small demo shop as of now and a model trained on it, promoted and served."""
    demo_shop(seed=5, scale=0.1, as_of=NOW, url=db_url)
    with session_scope(db_url) as s:
        log = from_database(s)
        items = list(s.scalars(select(Product.id)))
    result = train_and_save(log, items, tmp_path / "models", model_options={"epochs": 2, "dim": 32})
    assert result.promoted, result.refusal
    return db_url, ModelHolder(tmp_path / "models", check_s=0)


def _in_stock(s, product_id: int, size: str | None = None) -> bool:
    stmt = select(func.count()).select_from(ProductVariant).where(ProductVariant.product_id == product_id,
                                                                  ProductVariant.stock > 0)
    if size:
        stmt = stmt.where(func.lower(ProductVariant.size) == size.lower())
    return bool(s.scalar(stmt))


def test_known_customer_gets_personal_picks_in_stock_with_reasons(shop) -> None:
    url, holder = shop
    with session_scope(url) as s:
        result = recommend_products(s, query=SearchQuery(), customer_id=PERSONA_CUSTOMER_ID, holder=holder, k=5)
        assert result.how == "personal" and result.model_version == holder.get().version
        assert len(result.items) == 5
        bought = recently_bought(s, customer_id=PERSONA_CUSTOMER_ID)
        titles = set(s.scalars(select(Product.title)))
        for r in result.items:
            assert _in_stock(s, r.card.id)
            assert r.card.id not in bought
            assert r.reason.startswith("because you ")
            assert any(r.reason.endswith(f"the {t}") for t in titles), r.reason  # a real product of theirs


def test_slot_constraints_are_honoured(shop) -> None:
    url, holder = shop
    query = SearchQuery(category="jackets", size="M", price_max_cents=20_000)
    with session_scope(url) as s:
        result = recommend_products(s, query=query, customer_id=PERSONA_CUSTOMER_ID, holder=holder, k=5)
        assert result.items and not result.relaxed
        for r in result.items:
            product = s.get(Product, r.card.id)
            assert product.category.slug == "jackets" and product.price_cents <= 20_000
            assert _in_stock(s, r.card.id, size="M")
        impossible = recommend_products(s, query=SearchQuery(category="jackets", price_max_cents=1), holder=holder)
        assert impossible.relaxed == ("price",) and impossible.items  # says what it dropped


def test_recent_purchases_are_left_out_but_consumables_may_return(shop) -> None:
    url, holder = shop
    with session_scope(url) as s:
        recent = s.execute(select(OrderItem.product_id, Product.category_id).join(Order).join(Product)
                           .where(Order.customer_id == PERSONA_CUSTOMER_ID,
                                  Order.placed_at >= NOW - timedelta(days=180))).all()
        assert recent
        result = recommend_products(s, query=SearchQuery(), customer_id=PERSONA_CUSTOMER_ID, holder=holder, k=20)
        shown = {r.card.id for r in result.items}
        socks = {p for p, c in recent if s.get(Product, p).category.slug == "socks"}
        assert not ({p for p, _ in recent} - socks) & shown


def test_anonymous_shopper_session_behaviour_and_strangers(shop) -> None:
    url, holder = shop
    with session_scope(url) as s:
        stranger = recommend_products(s, query=SearchQuery(category="tents"), session_id="web-new", holder=holder)
        assert stranger.how == "bestsellers" and stranger.items
        assert all("bought" in r.reason or "rated" in r.reason for r in stranger.items)
        boots = list(s.scalars(select(Product.id).join(Product.category).where(
            Product.category.has(slug="hiking-boots")).limit(3)))
        for pid in boots:
            record_interaction(s, product_id=pid, kind="click", session_id="web-anon-1")
    with session_scope(url) as s:
        result = recommend_products(s, query=SearchQuery(), session_id="web-anon-1", holder=holder, k=5)
        assert result.how == "personal"
        assert any("looked at the" in r.reason for r in result.items)


def test_gift_similar_and_no_model(shop, tmp_path) -> None:
    url, holder = shop
    assert is_gift("a gift for my dad who hikes") and not is_gift("a jacket for me")
    assert wants_like_last_purchase("something like my last jacket")
    with session_scope(url) as s:
        gift = recommend_products(s, query=SearchQuery(gender="men"), customer_id=PERSONA_CUSTOMER_ID,
                                  holder=holder, gift=True)
        assert gift.how == "bestsellers" and gift.items
        anchor = last_bought(s, customer_id=PERSONA_CUSTOMER_ID)
        assert anchor is not None
        similar = recommend_products(s, query=SearchQuery(), customer_id=PERSONA_CUSTOMER_ID, holder=holder,
                                     similar_to=anchor)
        assert similar.how == "similar" and similar.anchor.id == anchor
        assert anchor not in {r.card.id for r in similar.items}
        assert all(similar.anchor.title in r.reason for r in similar.items)
        unserved = ModelHolder(tmp_path / "no-models", check_s=0)
        fallback = recommend_products(s, query=SearchQuery(), customer_id=PERSONA_CUSTOMER_ID, holder=unserved)
        assert fallback.how == "bestsellers" and fallback.model_version is None and fallback.items


def test_cart_and_interactions_close_the_loop(shop) -> None:
    url, _ = shop
    with session_scope(url) as s:
        sized = s.execute(select(ProductVariant.product_id).where(ProductVariant.stock > 0,
                                                                  ProductVariant.size.is_not(None))
                          .group_by(ProductVariant.product_id)
                          .having(func.count(func.distinct(ProductVariant.size)) > 1).limit(1)).scalar_one()
        before = len(from_database(s))
        choose = add_to_cart(s, session_id="chat-9", product_id=sized, customer_id=PERSONA_CUSTOMER_ID)
        assert choose.status == "choose_size" and len(choose.options) > 1
        size = choose.options[0]
        added = add_to_cart(s, session_id="chat-9", product_id=sized, size=size, customer_id=PERSONA_CUSTOMER_ID)
        if added.status == "choose_size":  # that size comes in several colours: pick one
            added = add_to_cart(s, session_id="chat-9", product_id=sized, size=size, colour=added.options[0],
                                customer_id=PERSONA_CUSTOMER_ID)
        assert added.status == "added" and added.cart.count >= 1
        wrong = add_to_cart(s, session_id="chat-9", product_id=sized, size="XXXXL")
        assert wrong.status == "out_of_stock" and wrong.options
        assert add_to_cart(s, session_id="chat-9", product_id=10**9).status == "gone"
        assert view_cart(s, session_id="chat-9").lines[0].product_id == sized
        assert view_cart(s, session_id="nobody").count == 0
        assert record_interaction(s, product_id=10**9, kind="view", session_id="chat-9") is None
        with pytest.raises(ValueError, match="unknown interaction kind 'like'"):
            record_interaction(s, product_id=sized, kind="like", session_id="chat-9")
        assert known_customer(s, customer_id="1; DROP TABLE customers") is None
        assert known_customer(s, customer_id=10**9) is None
    with session_scope(url) as s:  # the chat's add-to-cart is training data now
        assert len(from_database(s)) == before + 1
        row = s.scalars(select(Interaction).order_by(Interaction.id.desc()).limit(1)).one()
        assert (row.kind, row.source, row.customer_id, row.session_id) == ("add_to_cart", "chat",
                                                                              PERSONA_CUSTOMER_ID, "chat-9")
