"""Checkout: the chat's cart becomes an order, in one transaction.

:func:`checkout` takes a :class:`CheckoutRequest` whose ``session_id`` (the cart, which
is the chat's conversation id) and ``customer_id`` the caller has verified (the
storefront checks the widget's signed session token and the signed sign-in cookie), and:

1. locks the cart's row first (``UPDATE carts``), so two checkouts of one cart, or two
   requests with one idempotency key, run one after the other; on SQLite this also takes
   the write lock before anything is read;
2. returns the order already placed for the request's idempotency key (a double click
   or a retry places one order; the key from another conversation is refused);
3. prices the cart from the database (:mod:`shop.services.checkout_pricing`; nothing
   the browser sends is a price), checks the cart is this shopper's, and quotes the
   promo code through the :class:`CodeRedeemer` it is given (another customer's code,
   expired, used, or below the offer's minimum: a sentence saying so, no order);
4. inside a savepoint: takes the stock (``UPDATE ... SET stock = stock - q WHERE stock
   >= q``; ``NULL`` stock is not tracked and stays ``NULL``), creates the order, its
   lines and its first status event, redeems the code (atomic, once), credits the
   order to the conversation, to the recommendations and clicks that led to each line
   (:mod:`shop.services.recommendation_log`) and to the offer decisions, logs
   ``purchase`` interactions for the recommender, and empties the cart. Any refusal
   rolls the savepoint back: no stock taken, no order.

The caller commits. Guests give an e-mail: their order goes to the customer with that
e-mail (a new one when there is none, as a commerce platform's guest checkout does);
promo codes need a signed-in customer, because a code belongs to the customer it was
sent to.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shop.db.engine import rows_changed
from shop.db.schema import (
    Cart,
    CartItem,
    Customer,
    OfferCode,
    Order,
    OrderAttribution,
    OrderItem,
    OrderLineAttribution,
    OrderStatusEvent,
    ProductVariant,
)
from shop.services.cart import MAX_QUANTITY
from shop.services.checkout_pricing import (
    SHIPPING_METHODS,
    CodeQuote,
    CodeRedeemer,
    PricedLine,
    priced_line,
    shipping_fee,
)
from shop.services.interactions import record_interaction
from shop.services.money import format_money
from shop.services.recommendation_log import latest_impression, latest_touch

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")
CODE_RE = re.compile(r"^[A-Z0-9-]{4,32}$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
FIRST_STATUS = "pending"
SOURCE = "storefront"

CheckoutStatus = Literal["placed", "replayed", "preview", "empty", "not_your_cart", "needs_sign_in", "key_reused",
                         "out_of_stock", "gone", "code_refused", "price_changed", "mixed_currency"]


class CheckoutInputError(ValueError):
    """A request the checkout can't read; the message says what is allowed."""


@dataclass(frozen=True)
class Address:
    """Where the order ships. ``country``: ISO 3166 two letters."""

    name: str
    line1: str
    city: str
    postcode: str
    country: str
    line2: str | None = None


@dataclass(frozen=True)
class CheckoutRequest:
    """One checkout. ``session_id``: the cart's conversation, verified by the caller;
    ``customer_id``: the verified signed-in customer, or ``None`` for a guest, who then
    gives ``email``. ``quantities``: variant id -> new quantity (1 to
    :data:`shop.services.cart.MAX_QUANTITY`) for lines of the cart; ``expected_total_cents``:
    the total the shopper was shown (a different total today refuses, saying the new one)."""

    session_id: str
    idempotency_key: str
    address: Address
    customer_id: int | None = None
    email: str | None = None
    promo_code: str | None = None
    shipping_method: str = "standard"
    quantities: dict[int, int] = field(default_factory=dict)
    expected_total_cents: int | None = None


@dataclass(frozen=True)
class OrderSummary:
    """The placed order as the shopper sees it (money formatted)."""

    number: str
    status: str
    lines: list[dict[str, object]]
    subtotal: str
    shipping: str
    discount: str
    total: str
    total_cents: int
    code: str | None

    def as_dict(self) -> dict[str, object]:
        return {"number": self.number, "status": self.status, "lines": self.lines, "subtotal": self.subtotal,
                "shipping": self.shipping, "discount": self.discount, "total": self.total,
                "total_cents": self.total_cents, "code": self.code}


@dataclass(frozen=True)
class CheckoutResult:
    """``status`` ``placed`` / ``replayed`` carry ``order``; every other status is a
    refusal with nothing changed, ``message`` saying why (and ``total_cents`` the
    current total for ``price_changed``)."""

    status: CheckoutStatus
    message: str
    order: OrderSummary | None = None
    total_cents: int | None = None


class _Refused(Exception):
    def __init__(self, result: CheckoutResult) -> None:
        super().__init__(result.message)
        self.result = result


def _text(value: str | None, name: str, *, most: int, required: bool = True) -> str | None:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        if required:
            raise CheckoutInputError(f"'{name}' is required (1 to {most} characters)")
        return None
    if len(cleaned) > most or any(ord(c) < 32 for c in cleaned):
        raise CheckoutInputError(f"'{name}' must be 1 to {most} printable characters")
    return cleaned


def validate_request(request: CheckoutRequest) -> CheckoutRequest:
    """``request`` with its text tidied (spaces, upper-case country and code, lower-case
    e-mail).

    Raises:
        CheckoutInputError: saying which field is wrong and what it may hold.
    """
    if not SESSION_RE.match(request.session_id or ""):
        raise CheckoutInputError("'session' must be 8-64 letters, digits, '_' or '-'")
    if not KEY_RE.match(request.idempotency_key or ""):
        raise CheckoutInputError("'idempotency_key' must be 16-64 letters, digits, '_' or '-' (a UUID will do)")
    a = request.address
    country = (a.country or "").strip().upper()
    if not COUNTRY_RE.match(country):
        raise CheckoutInputError("'country' must be a two-letter ISO 3166 code, like US or GB")
    address = Address(name=str(_text(a.name, "name", most=200)), line1=str(_text(a.line1, "line1", most=200)),
                      city=str(_text(a.city, "city", most=100)), postcode=str(_text(a.postcode, "postcode", most=20)),
                      country=country, line2=_text(a.line2, "line2", most=200, required=False))
    email = None
    if request.customer_id is None:
        email = (request.email or "").strip().lower()
        if len(email) > 254 or not EMAIL_RE.match(email):
            raise CheckoutInputError("'email' must be an e-mail address (guests need one; or sign in)")
    elif request.customer_id < 1:
        raise CheckoutInputError("'customer_id' must be a customer's id")
    code = (request.promo_code or "").strip().upper() or None
    if code is not None and not CODE_RE.match(code):
        raise CheckoutInputError("'promo_code' must be 4-32 letters, digits or '-', like RDG-ABCD-2345")
    if request.shipping_method not in SHIPPING_METHODS:
        raise CheckoutInputError(f"'shipping_method' must be one of {', '.join(SHIPPING_METHODS)}")
    for variant_id, quantity in request.quantities.items():
        if not isinstance(variant_id, int) or isinstance(variant_id, bool) or variant_id < 1:
            raise CheckoutInputError("'quantities' keys must be variant ids of the cart's lines")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            raise CheckoutInputError(f"'quantities' values must be whole numbers from 1 to {MAX_QUANTITY}")
    if request.expected_total_cents is not None and request.expected_total_cents < 0:
        raise CheckoutInputError("'expected_total_cents' must be 0 or more")
    return replace(request, address=address, email=email, promo_code=code)


def _summary(session: Session, order: Order) -> OrderSummary:
    attribution = session.scalar(select(OrderAttribution).where(OrderAttribution.order_id == order.id))
    discount = attribution.discount_cents if attribution is not None else 0
    code = None
    if attribution is not None and attribution.offer_code_id is not None:
        code = session.scalar(select(OfferCode.code).where(OfferCode.id == attribution.offer_code_id))
    lines: list[dict[str, object]] = [
        {"product_id": i.product_id, "variant_id": i.variant_id, "title": i.title, "size": i.size,
         "colour": i.colour, "quantity": i.quantity, "unit_price": format_money(i.unit_price_cents, order.currency),
         "line_total": format_money(i.unit_price_cents * i.quantity, order.currency)} for i in order.items]
    return OrderSummary(order.number, order.status, lines, format_money(order.subtotal_cents, order.currency),
                        format_money(order.shipping_cents, order.currency), format_money(discount, order.currency),
                        format_money(order.total_cents, order.currency), order.total_cents, code)


def _replay(session: Session, request: CheckoutRequest) -> CheckoutResult | None:
    """The result for a key already used: its order (same conversation) or a refusal."""
    done = session.scalar(select(OrderAttribution).where(OrderAttribution.idempotency_key == request.idempotency_key))
    if done is None:
        return None
    if done.conversation_id != request.session_id:
        return CheckoutResult("key_reused", "That idempotency key was used for another checkout: send a new one.")
    order = session.scalar(select(Order).where(Order.id == done.order_id).options(selectinload(Order.items)))
    if order is None:
        raise RuntimeError(f"order attribution {done.id} names a missing order")
    return CheckoutResult("replayed", f"Order {order.number} is already placed.", _summary(session, order))


def _load_cart(session: Session, session_id: str) -> Cart | None:
    return session.scalar(select(Cart).where(Cart.session_id == session_id).options(
        selectinload(Cart.items).selectinload(CartItem.variant),
        selectinload(Cart.items).selectinload(CartItem.product)))


def _owner_refusal(session: Session, cart: Cart, customer_id: int | None) -> CheckoutResult | None:
    if customer_id is not None and session.get(Customer, customer_id) is None:
        return CheckoutResult("needs_sign_in", "That sign-in is no longer valid: sign in again.")
    if cart.customer_id is None or cart.customer_id == customer_id:
        return None
    if customer_id is None:
        return CheckoutResult("needs_sign_in", "This cart was filled while signed in: sign in to check it out.")
    return CheckoutResult("not_your_cart", "This cart belongs to another customer's sign-in.")


def _lines(cart: Cart, quantities: dict[int, int]) -> list[PricedLine]:
    held = {item.variant_id for item in cart.items}
    unknown = sorted(set(quantities) - held)
    if unknown:
        raise CheckoutInputError(f"variant {unknown[0]} is not in this cart; its lines are variants "
                                 f"{', '.join(str(v) for v in sorted(held))}")
    return [priced_line(item, quantities.get(item.variant_id, item.quantity)) for item in cart.items]


def _take_stock(session: Session, line: PricedLine) -> None:
    """Take ``line.quantity`` from the variant's stock, or refuse when there isn't that
    much; stock ``NULL`` is not tracked and stays ``NULL``."""
    taken = rows_changed(session.execute(
        update(ProductVariant).where(ProductVariant.id == line.variant_id, ProductVariant.stock >= line.quantity)
        .values(stock=ProductVariant.stock - line.quantity).execution_options(synchronize_session=False)))
    if taken == 1:
        return
    row = session.execute(select(ProductVariant.id, ProductVariant.stock)
                          .where(ProductVariant.id == line.variant_id)).first()
    if row is not None and row.stock is None:
        return
    left = int(row.stock) if row is not None and row.stock is not None else 0
    what = line.title + (f" ({', '.join(o for o in (line.size, line.colour) if o)})" if line.size or line.colour
                         else "")
    message = f"The {what} just sold out." if left <= 0 else f"Only {left} of the {what} left: you asked for " \
                                                             f"{line.quantity}."
    raise _Refused(CheckoutResult("out_of_stock", message))


def _customer_for(session: Session, request: CheckoutRequest, now: datetime) -> int:
    """The verified customer, or the guest e-mail's customer (made when there is none)."""
    if request.customer_id is not None:
        return request.customer_id
    email = str(request.email)
    found = session.scalar(select(Customer.id).where(func.lower(Customer.email) == email))
    if found is not None:
        return int(found)
    first, _, last = request.address.name.partition(" ")
    try:
        with session.begin_nested():
            customer = Customer(email=email, first_name=first[:100], last_name=(last or "-")[:100],
                                city=request.address.city[:100], country=request.address.country,
                                marketing_opt_in=False, created_at=now)
            session.add(customer)
            session.flush()
            return customer.id
    except IntegrityError:  # a simultaneous guest checkout with this e-mail made it first
        again = session.scalar(select(Customer.id).where(func.lower(Customer.email) == email))
        if again is None:
            raise
        return int(again)


def _order_number(session: Session, order: Order) -> str:
    """Six digits, like the shop's other order numbers (``100000 + id``; a random free one
    when that is taken by a platform's order)."""
    candidates = [str(100000 + order.id)] + [str(secrets.randbelow(900000) + 100000) for _ in range(20)]
    for number in candidates:
        if session.scalar(select(Order.id).where(Order.number == number)) is None:
            return number
    raise RuntimeError("no free order number in 21 tries")


@dataclass(frozen=True)
class _Priced:
    lines: list[PricedLine]
    subtotal: int
    shipping: int
    discount: int
    total: int
    currency: str
    quote: CodeQuote | None


def _place(session: Session, request: CheckoutRequest, priced: _Priced, codes: CodeRedeemer | None,
           cart: Cart, now: datetime) -> OrderSummary:
    for line in priced.lines:
        _take_stock(session, line)
    customer_id = _customer_for(session, request, now)
    a = request.address
    order = Order(number=f"PENDING-{uuid.uuid4().hex[:24]}", customer_id=customer_id, status=FIRST_STATUS,
                  currency=priced.currency, subtotal_cents=priced.subtotal, shipping_cents=priced.shipping,
                  total_cents=priced.total, placed_at=now, shipping_method=request.shipping_method,
                  ship_name=a.name, ship_line1=a.line1, ship_line2=a.line2, ship_city=a.city,
                  ship_postcode=a.postcode, ship_country=a.country)
    session.add(order)
    session.flush()
    order.number = _order_number(session, order)
    items = [OrderItem(order_id=order.id, product_id=line.product_id, variant_id=line.variant_id, title=line.title,
                       size=line.size, colour=line.colour, quantity=line.quantity, unit_price_cents=line.unit_cents)
             for line in priced.lines]
    session.add_all(items)
    session.add(OrderStatusEvent(order_id=order.id, status=FIRST_STATUS, at=now, note="placed at the checkout"))
    session.flush()
    quote = priced.quote
    if quote is not None and codes is not None:
        refusal = codes.redeem(session, quote=quote, customer_id=customer_id, order_ref=order.number,
                               discount_cents=priced.discount, now=now)
        if refusal is not None:
            raise _Refused(CheckoutResult("code_refused", refusal))
    event_id = codes.attribute(session, customer_id=customer_id, quote=quote, revenue_cents=priced.total,
                               now=now) if codes is not None else None
    session.add(OrderAttribution(
        order_id=order.id, idempotency_key=request.idempotency_key, conversation_id=request.session_id,
        customer_id=customer_id, source=SOURCE, offer_id=quote.offer_id if quote else None,
        offer_code_id=quote.code_id if quote else None, offer_event_id=event_id, discount_cents=priced.discount,
        placed_at=now))
    verified = request.customer_id
    for item, line in zip(items, priced.lines, strict=True):
        session.add(OrderLineAttribution(
            order_id=order.id, order_item_id=item.id, product_id=line.product_id, revenue_cents=line.total_cents,
            impression_id=latest_impression(session, product_id=line.product_id, session_id=request.session_id,
                                            customer_id=verified, before=now),
            interaction_id=latest_touch(session, product_id=line.product_id, session_id=request.session_id,
                                        before=now)))
        record_interaction(session, product_id=line.product_id, kind="purchase", session_id=request.session_id,
                           customer_id=customer_id, source="checkout", at=now)
    session.execute(delete(CartItem).where(CartItem.cart_id == cart.id).execution_options(synchronize_session=False))
    session.expire(cart)
    session.flush()
    return _summary(session, order)


def _price(session: Session, request: CheckoutRequest, cart: Cart, codes: CodeRedeemer | None,
           now: datetime) -> _Priced:
    lines = _lines(cart, request.quantities)
    item_of = {item.variant_id: item for item in cart.items}
    gone = [line.title for line in lines if not item_of[line.variant_id].product.is_active]
    if gone:
        raise _Refused(CheckoutResult("gone", f"The {gone[0]} is no longer sold: remove it from the cart first."))
    currencies = {line.currency for line in lines}
    if len(currencies) != 1:
        raise _Refused(CheckoutResult("mixed_currency", "The cart holds prices in more than one currency "
                                                        f"({', '.join(sorted(currencies))}); check out one at a time."))
    currency = currencies.pop()
    subtotal = sum(line.total_cents for line in lines)
    quote = None
    if request.promo_code is not None:
        if request.customer_id is None:
            raise _Refused(CheckoutResult("code_refused", "Sign in to use a promo code: a code belongs to the "
                                                          "customer it was sent to."))
        if codes is None:
            raise _Refused(CheckoutResult("code_refused", "Promo codes can't be used at this checkout."))
        quote = codes.quote(session, code=request.promo_code, customer_id=request.customer_id, lines=lines, now=now)
        if quote.refusal is not None:
            raise _Refused(CheckoutResult("code_refused", quote.refusal))
    goods_discount = min(quote.goods_discount_cents, subtotal) if quote else 0
    fee = shipping_fee(session, goods_cents=subtotal - goods_discount, method=request.shipping_method)
    discount = goods_discount
    if quote is not None and quote.free_shipping:
        if fee == 0:
            raise _Refused(CheckoutResult("code_refused", f"This order ships free already, so {quote.code} "
                                                          "would take nothing off: keep it for another order."))
        discount += fee
    total = subtotal + fee - discount
    if request.expected_total_cents is not None and request.expected_total_cents != total:
        raise _Refused(CheckoutResult(
            "price_changed", f"The total is now {format_money(total, currency)}, not "
                             f"{format_money(request.expected_total_cents, currency)}: check the order and place it "
                             "again.", total_cents=total))
    return _Priced(lines, subtotal, fee, discount, total, currency, quote)


def preview_checkout(session: Session, *, request: CheckoutRequest, now: datetime,
                     codes: CodeRedeemer | None = None) -> CheckoutResult:
    """What :func:`checkout` would charge for this request, without placing anything:
    status ``preview`` with the priced order (no number yet), or the refusal checkout
    would give. Reads only.

    Raises:
        CheckoutInputError: for a request that can't be read.
    """
    request = validate_request(request)
    cart = _load_cart(session, request.session_id)
    if cart is None or not cart.items:
        return CheckoutResult("empty", "The cart is empty: ask the assistant to add something first.")
    refusal = _owner_refusal(session, cart, request.customer_id)
    if refusal is not None:
        return refusal
    try:
        priced = _price(session, replace(request, expected_total_cents=None), cart, codes, now)
    except _Refused as refused:
        return refused.result
    money = priced.currency
    lines = [line.as_dict() for line in priced.lines]
    summary = OrderSummary("", "preview", lines, format_money(priced.subtotal, money),
                           format_money(priced.shipping, money), format_money(priced.discount, money),
                           format_money(priced.total, money), priced.total, priced.quote.code if priced.quote else None)
    return CheckoutResult("preview", f"The total is {summary.total}.", summary, priced.total)


def checkout(session: Session, *, request: CheckoutRequest, now: datetime,
             codes: CodeRedeemer | None = None) -> CheckoutResult:
    """Place the order for the request's cart (see the module docstring); call it first
    in its transaction. ``codes``: how promo codes are quoted and redeemed (``None``:
    a code is refused). The caller commits.

    Raises:
        CheckoutInputError: for a request that can't be read (the message says what is allowed).
    """
    request = validate_request(request)
    session.execute(update(Cart).where(Cart.session_id == request.session_id).values(updated_at=now)
                    .execution_options(synchronize_session=False))
    replayed = _replay(session, request)
    if replayed is not None:
        return replayed
    cart = _load_cart(session, request.session_id)
    if cart is None or not cart.items:
        return CheckoutResult("empty", "The cart is empty: ask the assistant to add something first.")
    refusal = _owner_refusal(session, cart, request.customer_id)
    if refusal is not None:
        return refusal
    try:
        priced = _price(session, request, cart, codes, now)
        with session.begin_nested():
            summary = _place(session, request, priced, codes, cart, now)
    except _Refused as refused:
        return refused.result
    except IntegrityError:  # the same key, from another conversation, committed meanwhile
        again = _replay(session, request)
        if again is None:
            raise
        return again
    return CheckoutResult("placed", f"Order {summary.number} is placed.", summary)
