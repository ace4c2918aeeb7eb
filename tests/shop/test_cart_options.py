"""Adding to the chat's cart when the shopper must choose: the options say whether they
are sizes or colours, so a size that looks like neither ("1-person", "W10") is asked for
as a size and, chosen, is added (the e2e analytics test found a tent its own buttons
could not add: "1-person" was sent back as a colour)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shop.db.engine import session_scope
from shop.db.schema import Category, Product, ProductVariant
from shop.services.cart import add_to_cart

CREATED = datetime(2026, 10, 1)


def _product(session: Session, handle: str, variants: list[tuple[str | None, str | None]]) -> int:
    category = Category(slug=f"cat-{handle}", name=f"Category {handle}")
    session.add(category)
    session.flush()
    product = Product(sku=f"SKU-{handle}", handle=handle, title=f"Test {handle}", category_id=category.id,
                      price_cents=10_000, created_at=CREATED, updated_at=CREATED)
    session.add(product)
    session.flush()
    session.add_all([ProductVariant(product_id=product.id, sku=f"SKU-{handle}-{n}", size=size, colour=colour, stock=5)
                     for n, (size, colour) in enumerate(variants)])
    session.flush()
    return product.id


def test_sizes_that_look_like_neither_are_asked_and_added_as_sizes(db_url: str) -> None:
    with session_scope(db_url) as s:
        tent = _product(s, "tent", [("1-person", "navy"), ("1-person", "green"), ("2-person", "navy")])
        asked = add_to_cart(s, session_id="chat-tent-0001", product_id=tent)
        assert (asked.status, asked.option_field, asked.options) == ("choose_size", "size", ("1-person", "2-person"))
        # the size chosen: two colours of it left to choose from
        colour = add_to_cart(s, session_id="chat-tent-0001", product_id=tent, size="1-person")
        assert (colour.status, colour.option_field, colour.options) == ("choose_size", "colour", ("green", "navy"))
        added = add_to_cart(s, session_id="chat-tent-0001", product_id=tent, size="1-person", colour="green")
        assert added.status == "added" and added.cart is not None
        assert [(line.size, line.colour) for line in added.cart.lines] == [("1-person", "green")]


def test_an_option_out_of_stock_lists_the_others_with_their_field(db_url: str) -> None:
    with session_scope(db_url) as s:
        mug = _product(s, "mug", [(None, "red"), (None, "blue")])
        asked = add_to_cart(s, session_id="chat-mug-00001", product_id=mug)
        assert (asked.status, asked.option_field, asked.options) == ("choose_size", "colour", ("blue", "red"))
        gone = add_to_cart(s, session_id="chat-mug-00001", product_id=mug, colour="purple")
        assert (gone.status, gone.option_field, gone.options) == ("out_of_stock", "colour", ("blue", "red"))
        shoe = _product(s, "shoe", [("W10", "grey"), ("W11", "grey")])
        wrong = add_to_cart(s, session_id="chat-shoe-0001", product_id=shoe, size="W12")
        assert (wrong.status, wrong.option_field, wrong.options) == ("out_of_stock", "size", ("W10", "W11"))
