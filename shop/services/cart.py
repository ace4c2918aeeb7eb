"""The shopper's cart: one per conversation, stored in the database.

``add_to_cart`` checks the product is on sale and the chosen size/colour is in stock
(it never promises stock the shop doesn't have), adds it, and logs an ``add_to_cart``
interaction for the recommender. Quantities are capped at what is in stock; a variant
whose stock is unknown (NULL: "available, quantity unknown") is in stock and not capped
(each add is still at most ``MAX_QUANTITY``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shop.db.schema import Cart, CartItem, Product, ProductVariant
from shop.services.catalog import load_products, size_sort_key
from shop.services.interactions import known_customer, record_interaction, utc_now
from shop.services.money import format_money

MAX_QUANTITY = 10


@dataclass(frozen=True)
class CartLine:
    product_id: int
    title: str
    size: str | None
    colour: str | None
    quantity: int
    line_total: str


@dataclass(frozen=True)
class CartView:
    """The cart as the shopper sees it; ``total`` formatted, ``count`` items."""

    lines: list[CartLine]
    count: int
    total: str

    def as_payload(self) -> dict[str, object]:
        return {"type": "cart", "lines": [line.__dict__ for line in self.lines], "count": self.count,
                "total": self.total}


@dataclass(frozen=True)
class AddResult:
    """``status``: ``added``, ``choose_size`` (``options`` lists the sizes/colours in
    stock), ``out_of_stock``, ``limit`` (already as many as in stock) or ``gone``.
    ``option_field``: what ``options`` are, ``size`` or ``colour`` (a size such as
    "1-person" or "W10" looks like neither)."""

    status: str
    title: str | None = None
    options: tuple[str, ...] = ()
    cart: CartView | None = None
    option_field: str = "size"


def _cart(session: Session, *, session_id: str, customer_id: int | None, create: bool) -> Cart | None:
    cart = session.scalar(select(Cart).where(Cart.session_id == session_id)
                          .options(selectinload(Cart.items).selectinload(CartItem.variant),
                                   selectinload(Cart.items).selectinload(CartItem.product)))
    if cart is None and create:
        now = utc_now()
        cart = Cart(session_id=session_id[:64], customer_id=customer_id, created_at=now, updated_at=now)
        session.add(cart)
        session.flush()
    elif cart is not None and customer_id is not None and cart.customer_id is None:
        cart.customer_id = customer_id
    return cart


def view_cart(session: Session, *, session_id: str) -> CartView:
    """The cart of this conversation (empty when there is none)."""
    cart = _cart(session, session_id=session_id, customer_id=None, create=False)
    if cart is None:
        return CartView([], 0, format_money(0))
    lines, total, currency = [], 0, "USD"
    for item in cart.items:
        price = item.variant.price_cents if item.variant.price_cents is not None else item.product.price_cents
        currency = item.product.currency
        total += price * item.quantity
        lines.append(CartLine(item.product_id, item.product.title, item.variant.size, item.variant.colour,
                              item.quantity, format_money(price * item.quantity, currency)))
    return CartView(lines, sum(line.quantity for line in lines), format_money(total, currency))


def _pick_variant(variants: list[ProductVariant], size: str | None, colour: str | None) -> list[ProductVariant]:
    out = [v for v in variants if v.in_stock]
    if size:
        out = [v for v in out if (v.size or "").lower() == size.lower()]
    if colour:
        out = [v for v in out if (v.colour or "").lower() == colour.lower()]
    return out


def add_to_cart(session: Session, *, session_id: str, product_id: int, size: str | None = None,
                colour: str | None = None, customer_id: int | str | None = None, quantity: int = 1) -> AddResult:
    """Add ``quantity`` of the product's in-stock variant matching ``size``/``colour``
    (see :class:`AddResult` for the outcomes). ``session_id``: the conversation id."""
    if not session_id:
        raise ValueError("session_id must not be empty")
    quantity = max(1, min(int(quantity), MAX_QUANTITY))
    products: list[Product] = load_products(session, product_ids=[int(product_id)])
    if not products:
        return AddResult("gone")
    product = products[0]
    in_stock = _pick_variant(list(product.variants), None, None)
    if not in_stock:
        return AddResult("out_of_stock", product.title)
    matches = _pick_variant(list(product.variants), size, colour)
    if not matches:
        if size or colour:
            field, options = _options(in_stock)
            return AddResult("out_of_stock", product.title, options, option_field=field)
        matches = in_stock
    if len({(v.size, v.colour) for v in matches}) > 1:
        field, options = _options(matches)
        return AddResult("choose_size", product.title, options, option_field=field)
    variant = matches[0]
    cid = known_customer(session, customer_id=customer_id)
    cart = _cart(session, session_id=session_id, customer_id=cid, create=True)
    if cart is None:
        raise RuntimeError(f"no cart for session {session_id!r} after creating one")
    line = next((i for i in cart.items if i.variant_id == variant.id), None)
    if line is None:
        line = CartItem(product_id=product.id, variant_id=variant.id, quantity=0, added_at=utc_now())
        cart.items.append(line)
    if variant.stock is None:  # quantity unknown: nothing to cap by
        line.quantity += quantity
    elif line.quantity >= variant.stock:
        return AddResult("limit", product.title, cart=view_cart(session, session_id=session_id))
    else:
        line.quantity = min(line.quantity + quantity, variant.stock)
    cart.updated_at = utc_now()
    session.flush()
    record_interaction(session, product_id=product.id, kind="add_to_cart", session_id=session_id, customer_id=cid)
    return AddResult("added", product.title, cart=view_cart(session, session_id=session_id))


def _options(variants: list[ProductVariant]) -> tuple[str, tuple[str, ...]]:
    """What the shopper chooses among: ``("size", sizes)`` when the variants come in
    several sizes, else ``("colour", colours)``."""
    sizes = [v.size for v in variants if v.size]
    if len(set(sizes)) > 1:
        return "size", tuple(sorted(set(sizes), key=size_sort_key))
    return "colour", tuple(sorted({v.colour for v in variants if v.colour}))
