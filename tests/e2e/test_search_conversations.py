"""Product search over REST against the real stack, searching through the hybrid
backend (MiniLM + FAISS + FTS5, constraints checked in the database): exact names and
SKUs, refinements ("in blue", "in size M", "cheaper"), "show me more", relaxed
constraints, live catalog changes, and queries that match nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from shop.db.engine import session_scope
from shop.db.schema import Category, Product, ProductVariant
from tests.stack import RunningStack, cards, new_sender, texts

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _product(url: str, **where: object) -> Product:
    with session_scope(url) as s:
        stmt = select(Product).where(Product.is_active.is_(True)).order_by(Product.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Product, name) == value)
        product = s.scalars(stmt.offset(7).limit(1)).first()
        s.expunge(product)
        return product


def test_actions_search_through_the_semantic_index(stack: RunningStack) -> None:
    found = cards(stack.send(new_sender(), "warm waterproof jacket for hiking"))
    assert found
    log = (stack.workdir / "actions.log").read_text(errors="replace")
    assert "semantic search unavailable" not in log, log[-2000:]


def test_exact_title_and_sku_win(stack: RunningStack, e2e_db_url: str) -> None:
    product = _product(e2e_db_url)
    reply = stack.send(new_sender(), f"show me the {product.title}")
    by_title = cards(reply)
    assert by_title and by_title[0]["id"] == product.id, (product.title, texts(reply))
    reply = stack.send(new_sender(), f"do you have {product.sku}")
    by_sku = cards(reply)
    assert by_sku and by_sku[0]["id"] == product.id, (product.sku, texts(reply))


def test_refine_by_colour_then_size_then_more(stack: RunningStack) -> None:
    sender = new_sender()
    first = cards(stack.send(sender, "show me rain jackets"))
    assert first
    blue = cards(stack.send(sender, "do you have it in blue?"))
    assert blue and all("blue" in [c.lower() for c in card["colours"]] for card in blue), blue
    sized = cards(stack.send(sender, "in size M"))
    assert sized and all("M" in card["in_stock_sizes"] for card in sized), sized
    reply = stack.send(sender, "show me more")
    more = cards(reply)
    # a next page of blue, size-M jackets, or a plain "that's all"
    assert more or "everything that matched" in texts(reply), texts(reply)
    assert not {c["id"] for c in more} & {c["id"] for c in sized}


def test_more_past_the_last_page_keeps_the_results_to_compare(stack: RunningStack) -> None:
    sender = new_sender()
    assert cards(stack.send(sender, "purple tents"))
    pages = 0
    while "everything that matched" not in texts(stack.send(sender, "show me more")):
        pages += 1
        assert pages < 40
    details = texts(stack.send(sender, "tell me about the first one"))
    assert details.strip() and "Which product" not in details, details


def test_refining_with_nothing_searched_asks_what_for(stack: RunningStack) -> None:
    reply = texts(stack.send(new_sender(), "cheaper"))
    assert "looking for first" in reply, reply


def test_constraint_that_cannot_be_met_is_relaxed_and_said(stack: RunningStack) -> None:
    reply = stack.send(new_sender(), "purple tent under 5 dollars")
    text = texts(reply).lower()
    found = cards(reply)
    assert found, text
    assert "price range" in text or "colour" in text, text


def test_new_product_is_found_at_once_and_gone_once_deactivated(stack: RunningStack, e2e_db_url: str) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with session_scope(e2e_db_url) as s:
        category_id = s.scalar(select(Category.id).where(Category.slug == "jackets"))
        product = Product(sku="ZX-JAC-99001", handle="zephyr-aurora-parka", title="Zephyr Aurora Parka",
                          description="A down parka for polar expeditions.", category_id=category_id,
                          gender="unisex", price_cents=31_900, currency="USD",
                          attributes={"use_cases": ["winter"]}, rating_count=0, is_active=True,
                          created_at=now, updated_at=now)
        product.variants = [ProductVariant(sku="ZX-JAC-99001-M-BLACK", size="M", colour="black", stock=4)]
        s.add(product)
        s.flush()
        pid = product.id
    found = cards(stack.send(new_sender(), "zephyr aurora parka"))
    assert found and found[0]["id"] == pid, [c["title"] for c in found]

    with session_scope(e2e_db_url) as s:  # sold out: hidden, with no index update at all
        s.execute(update(ProductVariant).where(ProductVariant.product_id == pid).values(stock=0))
    assert pid not in {c["id"] for c in cards(stack.send(new_sender(), "zephyr aurora parka"))}

    with session_scope(e2e_db_url) as s:  # restocked, then deactivated
        s.execute(update(ProductVariant).where(ProductVariant.product_id == pid).values(stock=2))
    assert pid in {c["id"] for c in cards(stack.send(new_sender(), "zephyr aurora parka"))}
    with session_scope(e2e_db_url) as s:
        s.execute(update(Product).where(Product.id == pid).values(is_active=False, updated_at=datetime.now()))
    assert pid not in {c["id"] for c in cards(stack.send(new_sender(), "zephyr aurora parka"))}


@pytest.mark.parametrize("message", ["show me qwxzvbnmpl", "find me a flux capacitor 9000",
                                     "search for ;DROP TABLE products;--"])
def test_queries_that_match_nothing_get_a_helpful_answer(stack: RunningStack, message: str) -> None:
    reply = stack.send(new_sender(), message)
    text = texts(reply)
    assert text.strip(), reply
    assert "Traceback" not in text and "error" not in text.lower()
    # the shop is unchanged and the next search still works
    assert cards(stack.send(new_sender(), "hiking boots"))
