"""Webhook to searchable: how long after Shopify tells the shop about a product change
can a shopper find it.

    python -m bench.webhook_to_searchable [--updates 30] [--products 100] [--interval S] [--spread S]
                                          [--mode hybrid|dense|keyword]

One run, all on this machine:

- a fresh SQLite shop database with ``--products`` products mirrored from Shopify
  (``shop.commerce.mirror.upsert_product``), and the search index built over them (MiniLM,
  exact FAISS + FTS5, as ``python -m apps.cli index build`` does);
- the webhook receiver (``apps.webhooks.webhook_app``, the real Shopify connector checking the
  signature) served by uvicorn on a loopback port;
- ``--updates`` ``products/update`` deliveries, signed as Shopify signs them
  (base64 HMAC-SHA256 of the body under the app's secret, ``X-Shopify-*`` headers),
  each renaming a different product with a made-up word, POSTed at random moments over
  ``--spread`` seconds (default one interval: every phase of the sync timer equally likely);
- meanwhile the search backend the action server uses (``HybridProductSearch`` with
  ``sync_interval_s = --interval``, default ``SHOP_SEARCH_INDEX_SYNC_S``) is asked for each
  word not found yet, over and over, as a busy action server would be: every search
  checks the catalog signature once the interval has passed and syncs the index
  incrementally (``CatalogIndex.sync_if_changed``), exactly as in production.

The time measured per update is from just before its POST to the first search that
returns the renamed product. Printed: p50/p95/max of that, the POST round trip, the
interval used, and how long one search round took (the measurement's resolution).
With a busy action server the expected time is about half the interval plus the sync's
embedding time; p95 approaches the interval. An idle action server syncs on the next
search after the interval instead (no change to the bound).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import uvicorn

from apps.webhooks.webhook_app import WebhookConfig, create_webhook_app
from bench.stats import percentile
from models.llm.server import free_port
from retrieval.catalog_index import CatalogIndex
from retrieval.embeddings import get_embedder
from retrieval.index import IndexConfig
from shop.commerce.mirror import product_by_external_id, upsert_product
from shop.commerce.records import ProductRecord, VariantRecord
from shop.commerce.shopify import ShopifyConfig, ShopifyPlatform
from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.services.search.query import SearchQuery
from shop.services.search.semantic import HybridProductSearch, forget_open_indexes
from shop.settings import get_settings

DOMAIN = "bench-shop.myshopify.com"
SECRET = "shpss_bench_" + "3e" * 12
TOKEN = "shpat_bench_" + "9d" * 12
KINDS = ("Tent", "Rain Jacket", "Trail Shoe", "Sleeping Bag", "Backpack", "Headlamp", "Fleece", "Water Bottle")
ADJECTIVES = ("Light", "Alpine", "Ridge", "Summit", "Canyon", "Coastal", "Forest", "Glacier", "Meadow", "Storm")


def made_up_words(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct pronounceable words no catalog has (``"vokatel"``)."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(3)) + rng.choice("lnrs"))
    return sorted(words)


def product_gid(number: int) -> str:
    return f"gid://shopify/Product/{number}"


def seed_catalog(url: str, products: int, rng: random.Random) -> dict[int, str]:
    """``products`` Shopify products in the mirror; ``{shopify id: title}``."""
    titles = {}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with session_scope(url) as session:
        for i in range(products):
            number = 7_000_000 + i
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(ADJECTIVES)} {rng.choice(KINDS)} {i}"
            titles[number] = title
            record = ProductRecord(
                external_id=product_gid(number), handle=f"bench-{number}", title=title, price_cents=4900 + i,
                description=f"{title}: a sturdy piece of outdoor gear.", brand="Northway", category="Outdoor",
                variants=(VariantRecord(external_id=f"gid://shopify/ProductVariant/{number + 500_000}",
                                        sku=f"B-{number}", stock=5),))
            upsert_product(session, source="shopify", record=record, now=now)
    return titles


def rest_product(number: int, title: str) -> dict[str, object]:
    """A ``products/update`` body: the REST Admin API's Product resource
    (https://shopify.dev/docs/api/admin-rest/2025-01/resources/product)."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    variant = number + 500_000
    return {"id": number, "admin_graphql_api_id": product_gid(number), "title": title,
            "body_html": f"<p>{title}: a sturdy piece of outdoor gear.</p>", "vendor": "Northway",
            "product_type": "Outdoor", "handle": f"bench-{number}", "created_at": stamp, "updated_at": stamp,
            "published_at": stamp, "status": "active", "tags": "", "published_scope": "global",
            "options": [{"id": number * 10 + 1, "product_id": number, "name": "Title", "position": 1,
                         "values": ["Default Title"]}],
            "variants": [{"id": variant, "product_id": number, "title": "Default Title", "price": "49.00",
                          "sku": f"B-{number}", "position": 1, "option1": "Default Title", "option2": None,
                          "option3": None, "inventory_quantity": 5, "inventory_management": "shopify",
                          "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant}",
                          "created_at": stamp, "updated_at": stamp}],
            "images": [], "image": None}


def signed(payload: dict[str, object], delivery_id: str) -> tuple[bytes, dict[str, str]]:
    """Body and headers as Shopify sends them
    (https://shopify.dev/docs/apps/build/webhooks/delivery-structure)."""
    body = json.dumps(payload).encode()
    digest = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-Shopify-Topic": "products/update",
                  "X-Shopify-Hmac-Sha256": digest, "X-Shopify-Shop-Domain": DOMAIN, "X-Shopify-API-Version": "2025-01",
                  "X-Shopify-Webhook-Id": delivery_id, "X-Shopify-Triggered-At": datetime.now(timezone.utc).isoformat()}


@dataclass
class Update:
    number: int
    word: str
    at: float  # seconds after the start when it is POSTed
    sent: float | None = None
    posted_s: float | None = None
    found: float | None = None
    status: list[str] = field(default_factory=list)


def post_updates(base: str, updates: list[Update], titles: dict[int, str], start: float) -> None:
    """The platform's side: each delivery at its moment."""
    with httpx.Client(base_url=base, timeout=30) as http:
        for update in updates:
            time.sleep(max(0.0, start + update.at - time.perf_counter()))
            body, headers = signed(rest_product(update.number, f"{update.word} {titles[update.number]}"),
                                   f"bench-{update.number}-{update.word}")
            update.sent = time.perf_counter()
            response = http.post("/webhooks/commerce/shopify", content=body, headers=headers)
            update.posted_s = time.perf_counter() - update.sent
            update.status.append(f"{response.status_code} {response.text[:80]}")


def main() -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=30, help="product updates to time (default 30)")
    parser.add_argument("--products", type=int, default=100, help="catalog size (default 100)")
    parser.add_argument("--interval", type=float, default=settings.search_index_sync_s,
                        help="index sync interval, s (default SHOP_SEARCH_INDEX_SYNC_S: "
                             f"{settings.search_index_sync_s:g})")
    parser.add_argument("--spread", type=float, default=None, help="seconds the updates are spread over "
                        "(default one interval, at least 10: every phase of the sync timer equally likely)")
    parser.add_argument("--mode", choices=("hybrid", "dense", "keyword"), default="hybrid")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    if args.updates < 1 or args.products < args.updates or args.interval < 0:
        parser.error("need 1 <= --updates <= --products and --interval >= 0")
    spread = args.spread if args.spread is not None else max(10.0, args.interval)
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="webhook-bench-"))
    url = f"sqlite:///{workdir / 'shop.db'}"
    upgrade(url)
    titles = seed_catalog(url, args.products, rng)
    t0 = time.perf_counter()
    embedder = get_embedder(settings.embedding_dtype)
    with session_scope(url) as session:
        CatalogIndex.build(session, directory=workdir / "index", embedder=embedder,
                           config=IndexConfig(kind="flat")).close()
    print(f"catalog: {args.products} products mirrored from Shopify, index built in {time.perf_counter() - t0:.1f} s "
          f"(model load included)", flush=True)

    searcher = HybridProductSearch(mode=args.mode, index_dir=workdir / "index", embedder=embedder,
                                   sync_interval_s=args.interval, fallback_to_sql=False)
    platform = ShopifyPlatform(ShopifyConfig(domain=DOMAIN, token=TOKEN, webhook_secret=SECRET, currency="USD"))
    app = create_webhook_app(WebhookConfig(database_url=url, platform=platform))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    words = made_up_words(args.updates, rng)
    chosen = rng.sample(sorted(titles), args.updates)
    moments = sorted(rng.uniform(0, spread) for _ in range(args.updates))
    updates = [Update(number, word, at) for number, word, at in zip(chosen, words, moments, strict=True)]
    ids: dict[int, int] = {}
    with session_scope(url) as session:
        for update in updates:
            product = product_by_external_id(session, source="shopify", external_id=product_gid(update.number))
            if product is None:
                raise SystemExit(f"product {update.number} was not mirrored")
            ids[update.number] = product.id
        searcher.open_index(session)  # warm: the first sync happens now, not inside the timing
    print(f"posting {args.updates} signed products/update deliveries over {spread:.0f} s; "
          f"searching for each until found ({args.mode}, sync interval {args.interval:g} s)", flush=True)
    start = time.perf_counter()
    poster = threading.Thread(target=post_updates, args=(f"http://127.0.0.1:{port}", updates, titles, start))
    poster.start()
    rounds: list[float] = []
    deadline = start + spread + 3 * args.interval + 60
    while time.perf_counter() < deadline:
        pending = [u for u in updates if u.sent is not None and u.found is None]
        if not pending:
            if all(u.found is not None for u in updates):
                break
            time.sleep(0.02)
            continue
        began = time.perf_counter()
        with session_scope(url) as session:
            for update in pending:
                result = searcher.search(session, SearchQuery(text=update.word, limit=5))
                if ids[update.number] in [card.id for card in result.cards]:
                    update.found = time.perf_counter()
        rounds.append(time.perf_counter() - began)
    poster.join()
    server.should_exit = True
    forget_open_indexes()
    get_engine(url).dispose()

    bad = [u.status for u in updates if not u.status or not u.status[0].startswith("200")]
    latencies = [u.found - u.sent for u in updates if u.found is not None and u.sent is not None]
    posted = [u.posted_s for u in updates if u.posted_s is not None]
    print(f"\nwebhook -> searchable ({len(latencies)} of {args.updates} updates found; "
          f"sync interval {args.interval:g} s, search backend {args.mode}):")
    if latencies:
        print(f"  p50 {statistics.median(latencies):.2f} s   p95 {percentile(latencies, 0.95):.2f} s   "
              f"max {max(latencies):.2f} s")
    print(f"  webhook POST round trip (verify + apply + commit): p50 {statistics.median(posted) * 1000:.0f} ms, "
          f"p95 {percentile(posted, 0.95) * 1000:.0f} ms")
    if rounds:
        print(f"  one search round over the pending words (the resolution): p50 {statistics.median(rounds):.2f} s")
    if bad:
        print(f"  deliveries not applied: {bad[:3]}")
    if len(latencies) < args.updates:
        raise SystemExit("some updates never became searchable")


if __name__ == "__main__":
    main()
