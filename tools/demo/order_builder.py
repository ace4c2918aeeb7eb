"""Order stage of the demo-shop generator: who orders what and when over the history
window (with a mild growth trend and a holiday peak), each order's status timeline,
carrier and tracking number, shipping fee and totals.

Orders draw from stream 3 and their rows (carriers, tracking numbers) from stream 5;
the persona's orders come from :mod:`tools.demo.persona_orders`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tools.demo import vocab
from tools.demo.context import DemoProduct, DemoVariant, GenContext, OrderSpec
from tools.demo.demand import sample_product, variant_for
from tools.demo.params import (
    BASE_ORDERS,
    EXPRESS_SHIPPING_CENTS,
    FREE_SHIPPING_THRESHOLD_CENTS,
    HISTORY_DAYS,
    MIN_ORDERS,
    PERSONA_CUSTOMER_ID,
    STANDARD_SHIPPING_CENTS,
)
from tools.demo.people_words import CARRIERS
from tools.demo.persona_orders import persona_order_specs
from tools.demo.sampling import cumulative, pick, progress, random_chars, scaled, seconds


def build_orders(ctx: GenContext) -> None:
    """Draw the orders (plus the persona's), number them by placement time and fill
    ``ctx.orders``, ``ctx.order_items``, ``ctx.persona_orders`` and the order rows."""
    rng = ctx.rng(3)
    n = scaled(BASE_ORDERS, ctx.scale, MIN_ORDERS)
    specs: list[OrderSpec] = []
    for _ in progress(range(n), desc="orders", total=n, enabled=ctx.progress):
        cust = pick(rng, ctx.customers, ctx.customer_cum)
        start = max(cust.created_at, ctx.window_start) + timedelta(hours=1)
        span = (ctx.as_of - timedelta(minutes=10) - start).total_seconds()
        while True:  # mild growth trend and a holiday peak, by rejection
            placed = start + seconds(span * rng.random())
            frac = (placed - ctx.window_start).total_seconds() / (HISTORY_DAYS * 86400)
            factor = (0.7 + 0.3 * max(0.0, frac)) * (1.4 if placed.month in (11, 12) else 1.0)
            if rng.random() < factor / 1.4:
                break
        n_items = pick(rng, (1, 2, 3, 4), cumulative((55, 28, 12, 5)))
        lines: list[tuple[DemoProduct, DemoVariant, int]] = []
        seen: list[int] = []
        for _i in range(n_items):
            product = sample_product(ctx, rng, cust, before=placed)
            if product.id in seen:
                continue
            seen.append(product.id)
            variant = variant_for(ctx, rng, product, cust)
            slug = ctx.cats[product.cat].slug
            qty = rng.choice((1, 1, 2, 3)) if slug == "socks" else (2 if rng.random() < 0.05 else 1)
            lines.append((product, variant, qty))
        method = "express" if rng.random() < 0.12 else "standard"
        events = _timeline(rng, placed, as_of=ctx.as_of, method=method, country=cust.country,
                           cancel=rng.random() < 0.03)
        specs.append(OrderSpec(placed, cust, lines, method, events))
    specs.extend(persona_order_specs(ctx))  # stream 4 is reserved for the persona; she draws nothing
    # number orders in order of placement (ties by generation order: the sort is stable)
    specs.sort(key=lambda s: s.placed_at)
    ctx.orders = specs
    _order_rows(ctx, ctx.rng(5))


def _order_rows(ctx: GenContext, rng: random.Random) -> None:
    """Ids, numbers, totals, shipping and status events of ``ctx.orders``, in order."""
    order_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    ctx.persona_orders = {}
    ctx.order_items = []
    item_id = event_id = 0
    for oid, spec in enumerate(ctx.orders, start=1):
        number = str(100000 + oid)
        if spec.persona_key:
            ctx.persona_orders[spec.persona_key] = number
        cust = spec.customer
        subtotal = 0
        for product, variant, qty in spec.lines:
            item_id += 1
            subtotal += variant.price_cents * qty
            item_rows.append({
                "id": item_id, "order_id": oid, "product_id": product.id, "variant_id": variant.id,
                "title": product.title, "size": variant.size, "colour": variant.colour,
                "quantity": qty, "unit_price_cents": variant.price_cents,
            })
            ctx.order_items.append((item_id, spec, product, variant, qty, oid))
        if spec.method == "express":
            shipping = EXPRESS_SHIPPING_CENTS
        else:
            shipping = 0 if subtotal >= FREE_SHIPPING_THRESHOLD_CENTS else STANDARD_SHIPPING_CENTS
        status = spec.events[-1][0]
        shipped_at = next((at for s, at, _n in spec.events if s == "shipped"), None)
        delivered_at = next((at for s, at, _n in spec.events if s == "delivered"), None)
        carrier = tracking = None
        if shipped_at is not None:
            persona = cust.id == PERSONA_CUSTOMER_ID
            carrier = "UPS" if persona else _carrier(rng, cust.country)
            tracking = _tracking(rng, carrier)
        for status_name, at, note in spec.events:
            event_id += 1
            if status_name == "shipped":
                note = f"shipped with {carrier}, tracking {tracking}"
            elif status_name == "delivered":
                note = "delivered"
            event_rows.append({"id": event_id, "order_id": oid, "status": status_name, "at": at, "note": note})
        order_rows.append({
            "id": oid, "number": number, "customer_id": cust.id, "status": status,
            "currency": vocab.CURRENCY, "subtotal_cents": subtotal, "shipping_cents": shipping,
            "total_cents": subtotal + shipping, "placed_at": spec.placed_at,
            "shipped_at": shipped_at, "delivered_at": delivered_at,
            "shipping_method": spec.method, "carrier": carrier, "tracking_number": tracking,
            "ship_name": f"{cust.first} {cust.last}", "ship_line1": cust.line1, "ship_line2": cust.line2,
            "ship_city": cust.city, "ship_postcode": cust.postcode, "ship_country": cust.country,
        })
    ctx.rows["orders"] = order_rows
    ctx.rows["order_items"] = item_rows
    ctx.rows["order_status_events"] = event_rows


def _carrier(rng: random.Random, country: str) -> str:
    """A carrier that ships to ``country``."""
    return rng.choice(CARRIERS.get(country, ("DHL",)))


def _tracking(rng: random.Random, carrier: str) -> str:
    """A tracking number in ``carrier``'s format."""
    def digits(k: int) -> str:
        return random_chars(rng, "0123456789", k)

    def alnum(k: int) -> str:
        return random_chars(rng, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k)

    if carrier == "UPS":
        return f"1Z{alnum(6)}03{digits(8)}"
    if carrier == "USPS":
        return f"9400{digits(18)}"
    if carrier == "FedEx":
        return digits(12)
    if carrier == "Canada Post":
        return digits(16)
    if carrier == "Royal Mail":
        return f"{rng.choice('ABCDFHJKLMNPRTUVWY')}{rng.choice('ABCDFHJKLMNPRTUVWY')}{digits(9)}GB"
    if carrier == "An Post":
        return f"CE{digits(9)}IE"
    if carrier == "DPD":
        return digits(14)
    return digits(10)


def _timeline(rng: random.Random, placed: datetime, *, as_of: datetime, method: str, country: str,
              cancel: bool) -> list[tuple[str, datetime, str | None]]:
    """Status events from placement to delivery (or cancellation), those up to ``as_of``."""
    events: list[tuple[str, datetime, str | None]] = [("pending", placed, "order placed")]
    processing = placed + seconds(rng.uniform(120, 2700))
    events.append(("processing", processing, "payment confirmed"))
    if cancel:
        at = processing + seconds(rng.uniform(1200, 18 * 3600))
        events.append(("cancelled", at, rng.choice(("cancelled by customer", "cancelled by customer",
                                                     "cancelled: item no longer needed",
                                                     "cancelled: payment issue"))))
    else:
        shipped = processing + seconds(rng.uniform(2, 16) * 3600 if method == "express"
                                        else rng.uniform(4, 40) * 3600)
        events.append(("shipped", shipped, None))
        if method == "express":
            transit = rng.uniform(1, 2.5)
        elif country == "US":
            transit = rng.uniform(2, 6)
        else:
            transit = rng.uniform(5, 12)
        events.append(("delivered", shipped + seconds(transit * 86400), None))
    return [e for e in events if e[1] <= as_of]
