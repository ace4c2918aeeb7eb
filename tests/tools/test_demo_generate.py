"""The deterministic demo-shop generator and the ``python -m tools demo generate`` CLI."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.db.schema import (
    Brand,
    Category,
    Customer,
    Interaction,
    Order,
    OrderItem,
    OrderStatusEvent,
    Policy,
    Product,
    ProductVariant,
    Return,
    Review,
)
from shop.services.orders import cancel_order, lookup_order, verify_order
from shop.services.returns import item_eligibility
from tests.paths import ROOT
from tools.demo import vocab
from tools.demo.generate import (
    PERSONA_EMAIL,
    DemoStats,
    ShopNotEmptyError,
    clear_shop,
    generate_demo_shop,
)

AS_OF = datetime(2026, 11, 20, 9, 30)
SMALL = 0.02
REPO = ROOT
PIPELINE = ("pending", "processing", "shipped", "delivered")
ALL_TABLES = (Category, Brand, Product, ProductVariant, Customer, Order, OrderItem, OrderStatusEvent,
              Return, Review, Interaction, Policy)


@pytest.fixture
def small_shop(db_url: str) -> tuple[str, DemoStats]:
    with session_scope(db_url) as session:
        stats = generate_demo_shop(session, seed=7, as_of=AS_OF, scale=SMALL, progress=False)
    return db_url, stats


def _digest(url: str) -> dict[str, str]:
    out = {}
    with session_scope(url) as session:
        for model in ALL_TABLES:
            h = hashlib.sha256()
            for row in session.execute(select(model.__table__).order_by(model.__table__.c.id)):
                h.update(repr(tuple(row)).encode())
            out[model.__tablename__] = h.hexdigest()
    return out


def _sqlite_shop(tmp_path: Path, name: str, *, seed: int, scale: float = SMALL) -> tuple[str, DemoStats]:
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    with session_scope(url) as session:
        stats = generate_demo_shop(session, seed=seed, as_of=AS_OF, scale=scale, progress=False)
    return url, stats


def test_small_shop_has_every_table_and_category(small_shop: tuple[str, DemoStats]) -> None:
    url, stats = small_shop
    with session_scope(url) as s:
        for model in ALL_TABLES:
            assert s.scalar(select(func.count()).select_from(model)) > 0, model.__tablename__
            assert stats.counts.get(model.__tablename__, 1) == s.scalar(select(func.count()).select_from(model))
        per_cat = dict(s.execute(select(Category.slug, func.count(Product.id))
                                 .join(Product, Product.category_id == Category.id).group_by(Category.slug)).all())
        assert set(per_cat) == {c.slug for c in vocab.CATEGORIES}
        assert min(per_cat.values()) >= 3
        emails = list(s.scalars(select(Customer.email)))
        assert len(emails) == len(set(emails)) and all(e == e.lower() for e in emails)
        assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.com", e) for e in emails if e != PERSONA_EMAIL)
        # titles lead with the brand, descriptions have 2-4 sentences, attributes are complete
        for p in s.scalars(select(Product).limit(60)):
            assert p.title.startswith(p.brand.name)
            assert 2 <= len(re.findall(r"[.!?](?:\s|$)", p.description)) <= 4
            assert p.attributes["style"] in vocab.STYLES
            assert set(p.attributes["use_cases"]) <= set(vocab.USE_CASES)
            assert {"material", "features", "season", "weight_g"} <= set(p.attributes)
            assert p.image_url == f"/static/products/{p.handle}.svg"
            assert p.compare_at_cents is None or p.compare_at_cents > p.price_cents
            assert p.price_cents % 100 in (95, 99, 0)
            cat = vocab.CATEGORY_BY_SLUG[p.category.slug]
            assert {v.size for v in p.variants} <= set(cat.sizes)
            assert 1 <= len({v.colour for v in p.variants}) <= 4
        assert s.scalar(select(func.count()).where(ProductVariant.stock == 0)) > 0


def test_small_shop_relations_are_consistent(small_shop: tuple[str, DemoStats]) -> None:
    url, _stats = small_shop
    with session_scope(url) as s:
        products = {p.id: p for p in s.scalars(select(Product))}
        variants = {v.id: v for v in s.scalars(select(ProductVariant))}
        orders = list(s.scalars(select(Order).order_by(Order.id)))
        events = defaultdict(list)
        for e in s.scalars(select(OrderStatusEvent).order_by(OrderStatusEvent.id)):
            events[e.order_id].append(e)
        items = defaultdict(list)
        for it in s.scalars(select(OrderItem).order_by(OrderItem.id)):
            items[it.order_id].append(it)
        purchases = set(s.execute(select(Interaction.customer_id, Interaction.product_id, Interaction.at)
                                  .where(Interaction.kind == "purchase")).all())

        assert [o.number for o in orders] == [str(100001 + i) for i in range(len(orders))]
        assert [o.placed_at for o in orders] == sorted(o.placed_at for o in orders)
        for o in orders:
            assert o.placed_at <= AS_OF
            lines = items[o.id]
            assert lines
            for it in lines:
                p, v = products[it.product_id], variants[it.variant_id]
                assert v.product_id == p.id
                assert (it.title, it.size, it.colour) == (p.title, v.size, v.colour)
                assert it.unit_price_cents == (v.price_cents or p.price_cents)
                assert (o.customer_id, p.id, o.placed_at) in purchases
            assert o.subtotal_cents == sum(i.unit_price_cents * i.quantity for i in lines)
            assert o.total_cents == o.subtotal_cents + o.shipping_cents
            history = [e.status for e in events[o.id]]
            times = [e.at for e in events[o.id]]
            assert times == sorted(times) and times[0] == o.placed_at and times[-1] <= AS_OF
            assert history[-1] == o.status
            if o.status == "cancelled":
                assert history[:-1] == list(PIPELINE[:len(history) - 1])
            else:
                assert history == list(PIPELINE[:len(history)])
            shipped = o.status in ("shipped", "delivered")
            assert (o.shipped_at is not None) == shipped == (o.tracking_number is not None) == (o.carrier is not None)
            assert (o.delivered_at is not None) == (o.status == "delivered")
            if o.delivered_at:
                assert o.placed_at < o.shipped_at < o.delivered_at <= AS_OF
            if AS_OF - o.placed_at > timedelta(days=15):
                assert o.status in ("delivered", "cancelled"), o.number
        statuses = Counter(o.status for o in orders)
        assert statuses["delivered"] > 0.8 * len(orders)
        assert statuses["cancelled"] <= 0.1 * len(orders)
        assert statuses["processing"] >= 1 and statuses["shipped"] >= 1

        # reviews agree with the product's rating summary
        by_product = defaultdict(list)
        for pid, rating in s.execute(select(Review.product_id, Review.rating)):
            by_product[pid].append(rating)
        for p in products.values():
            ratings = by_product.get(p.id, [])
            assert p.rating_count == len(ratings)
            if ratings:
                assert p.rating_avg == pytest.approx(sum(ratings) / len(ratings))
            else:
                assert p.rating_avg is None
        assert max(len(r) for r in by_product.values()) <= 8

        # returns point at delivered items, within the window, with RMA numbers
        order_by_id = {o.id: o for o in orders}
        for r in s.scalars(select(Return)):
            o = order_by_id[r.order_id]
            assert re.fullmatch(r"RMA-\d{6}", r.rma_number) and r.rma_number == f"RMA-{r.id:06d}"
            assert o.status == "delivered" and o.delivered_at <= r.requested_at <= AS_OF
            assert any(i.id == r.order_item_id for i in items[o.id])
            assert r.customer_id == o.customer_id

        kinds = set(s.scalars(select(Interaction.kind).distinct()))
        assert kinds == {"view", "click", "add_to_cart", "purchase"}
        assert s.scalar(select(func.max(Interaction.at))) <= AS_OF


def test_sequences_continue_after_explicit_ids(small_shop: tuple[str, DemoStats]) -> None:
    url, _stats = small_shop
    with session_scope(url) as s:
        brand = Brand(slug="new-brand", name="New Brand")
        s.add(brand)
        s.flush()
        assert brand.id == len(vocab.BRANDS) + 1


def test_persona_orders_have_the_promised_states(small_shop: tuple[str, DemoStats]) -> None:
    url, stats = small_shop
    assert set(stats.persona_orders) == {"returnable", "expired", "processing", "shipped"}
    with session_scope(url) as s:
        alex = s.get(Customer, 1)
        assert (alex.first_name, alex.last_name, alex.email) == ("Alex", "Rivera", PERSONA_EMAIL)

        returnable = verify_order(s, order_number=stats.persona_orders["returnable"], email=PERSONA_EMAIL)
        assert returnable.status == "delivered"
        assert (AS_OF - returnable.delivered_at).days == 5
        elig = item_eligibility(s, order=returnable, now=AS_OF)
        assert elig and all(e.ok for e in elig)

        expired = verify_order(s, order_number=stats.persona_orders["expired"], email=PERSONA_EMAIL)
        assert expired.status == "delivered" and (AS_OF - expired.delivered_at).days == 60
        assert {e.reason for e in item_eligibility(s, order=expired, now=AS_OF)} == {"outside_window"}

        shipped = lookup_order(s, order_number=stats.persona_orders["shipped"], email=PERSONA_EMAIL)
        assert shipped.status == "shipped" and shipped.tracking_number and shipped.carrier

        processing = verify_order(s, order_number=stats.persona_orders["processing"], email=PERSONA_EMAIL)
        assert processing.status == "processing"
        assert timedelta(hours=23) <= AS_OF - processing.placed_at <= timedelta(hours=25)
    with session_scope(url) as s:
        result = cancel_order(s, order_number=stats.persona_orders["processing"], email=PERSONA_EMAIL, now=AS_OF)
        assert result.ok


def test_generating_twice_is_refused_until_cleared(small_shop: tuple[str, DemoStats]) -> None:
    url, stats = small_shop
    with session_scope(url) as s, pytest.raises(ShopNotEmptyError):
        generate_demo_shop(s, seed=7, as_of=AS_OF, scale=SMALL, progress=False)
    with session_scope(url) as s:
        clear_shop(s)
    with session_scope(url) as s:
        again = generate_demo_shop(s, seed=7, as_of=AS_OF, scale=SMALL, progress=False)
    assert again.persona_orders == stats.persona_orders
    assert again.counts["policies_added"] == 0  # the policies were kept
    assert {k: v for k, v in again.counts.items() if k != "policies_added"} == {
        k: v for k, v in stats.counts.items() if k != "policies_added"}


def test_same_seed_same_rows_different_seed_different_rows(tmp_path: Path) -> None:
    url_a, stats_a = _sqlite_shop(tmp_path, "a.db", seed=7)
    url_b, stats_b = _sqlite_shop(tmp_path, "b.db", seed=7)
    url_c, _stats_c = _sqlite_shop(tmp_path, "c.db", seed=8)
    try:
        digest_a, digest_b, digest_c = _digest(url_a), _digest(url_b), _digest(url_c)
        assert digest_a == digest_b
        assert stats_a.truth_json() == stats_b.truth_json()
        changed = [t for t in digest_a if digest_a[t] != digest_c[t]]
        assert {"products", "orders", "interactions", "reviews"} <= set(changed)
    finally:
        for url in (url_a, url_b, url_c):
            get_engine(url).dispose()


def test_hidden_preferences_shape_behaviour(tmp_path: Path) -> None:
    url, stats = _sqlite_shop(tmp_path, "prefs.db", seed=11, scale=0.05)
    try:
        with session_scope(url) as s:
            rows = s.execute(
                select(Order.customer_id, Category.slug, Brand.slug, OrderItem.quantity)
                .join(OrderItem, OrderItem.order_id == Order.id)
                .join(Product, Product.id == OrderItem.product_id)
                .join(Category, Category.id == Product.category_id)
                .join(Brand, Brand.id == Product.brand_id)
            ).all()
    finally:
        get_engine(url).dispose()
    overall = Counter(cat for _c, cat, _b, _q in rows)
    total = sum(overall.values())
    by_customer = defaultdict(list)
    for cid, cat, brand, _q in rows:
        by_customer[cid].append((cat, brand))
    observed, expected = [], []
    tier_by_level = defaultdict(list)
    tiers = {b.slug: b.tier for b in vocab.BRANDS}
    for cid, bought in by_customer.items():
        profile = stats.truth[cid]
        top = max(profile.favourite_categories, key=profile.favourite_categories.get)
        observed.append(sum(cat == top for cat, _b in bought) / len(bought))
        expected.append(overall[top] / total)
        tier_by_level[profile.price_level].extend(tiers[b] for _c, b in bought)
    mean_observed = sum(observed) / len(observed)
    mean_expected = sum(expected) / len(expected)
    assert mean_observed > 3 * mean_expected, (mean_observed, mean_expected)
    avg = {level: sum(t) / len(t) for level, t in tier_by_level.items()}
    assert avg["premium"] > avg["mid"] > avg["budget"]
    # the truth is JSON-ready and complete
    truth = json.loads(json.dumps(stats.truth_json()))
    assert set(truth) == {str(c) for c in stats.truth}
    assert abs(sum(truth["2"]["favourite_categories"].values()) - 1) < 1e-3


def test_cli_generate_is_idempotent_and_writes_truth(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    truth = tmp_path / "truth.json"
    cmd = [sys.executable, "-m", "tools", "demo", "generate", "--url", url, "--scale", str(SMALL),
           "--as-of", "2026-11-20", "--truth-out", str(truth), "--no-progress"]
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "alex.rivera@example.com" in first.stdout and "returnable" in first.stdout
    profiles = json.loads(truth.read_text())
    assert profiles["1"]["favourite_categories"] and profiles["1"]["style"] in vocab.STYLES

    second = subprocess.run(cmd[:-3] + ["--no-progress"], cwd=REPO, capture_output=True, text=True,
                            check=False, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "already has" in second.stdout and "no demo generated" in second.stdout

    third = subprocess.run(cmd + ["--replace"], cwd=REPO, capture_output=True, text=True, check=False, timeout=120)
    assert third.returncode == 0, third.stderr
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == len(profiles)
    get_engine(url).dispose()

    upgrade_run = subprocess.run([sys.executable, "-m", "apps.cli", "db", "upgrade", "--url", url],
                                 cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert upgrade_run.returncode == 0, upgrade_run.stderr


@pytest.mark.slow
def test_full_scale_meets_the_minimums(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    upgrade(url)
    started = time.perf_counter()
    with session_scope(url) as s:
        stats = generate_demo_shop(s, seed=7, as_of=AS_OF, scale=1.0, progress=False)
    elapsed = time.perf_counter() - started
    try:
        counts = stats.counts
        assert counts["products"] >= 5_000
        assert counts["customers"] >= 2_000
        assert counts["orders"] >= 10_000
        assert counts["interactions"] >= 100_000
        assert counts["categories"] == len(vocab.CATEGORIES)
        with session_scope(url) as s:
            orders = dict(s.execute(select(Order.status, func.count()).group_by(Order.status)).all())
            delivered_items = s.scalar(select(func.count()).select_from(OrderItem)
                                       .join(Order, Order.id == OrderItem.order_id).where(Order.status == "delivered"))
            first_placed = s.scalar(select(func.min(Order.placed_at)))
        assert 0.015 < orders["cancelled"] / counts["orders"] < 0.05
        assert 0.05 <= counts["returns"] / delivered_items <= 0.08
        assert AS_OF - first_placed > timedelta(days=700)
        assert elapsed < 60, f"full-scale generation took {elapsed:.1f} s"
    finally:
        get_engine(url).dispose()
