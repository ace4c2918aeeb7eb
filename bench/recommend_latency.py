"""Recommendation latency, as the action server computes it: the service call that
``action_recommend_products`` runs in its worker thread (shopper history from the DB,
allowed products under the constraints, FAISS candidates from the item tower, the
ranker, reasons, cards), on the shop database with the served preference model.

    .venv/actions/bin/python -m bench.recommend_latency [--requests 200]

Needs ``make db index recommender`` (the demo shop and a promoted model). Prints
p50/p95 in ms for: signed-in customers, customers with a budget and category,
anonymous sessions with a few clicks, strangers (bestsellers), "similar to this",
and the model load (the hot-swap cost, paid off the request path).
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from sqlalchemy import select

from bench.stats import percentile
from models.recsys.artifact import current_version, load_artifact
from models.recsys.serving import ModelHolder
from shop.db.engine import session_scope
from shop.db.schema import Customer, Interaction, Product
from shop.services.recommendations import recommend_products
from shop.services.search.query import SearchQuery
from shop.settings import get_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind (default 200)")
    args = parser.parse_args()
    settings = get_settings()
    root = settings.recommend_model_dir
    version = current_version(root)
    if version is None:
        print(f"no promoted model under {root}: run `make recommender` first", file=sys.stderr)
        return 1
    started = time.perf_counter()
    load_artifact(root / version)[0].vector_index()
    load_ms = (time.perf_counter() - started) * 1000
    holder = ModelHolder(root, check_s=1e9)
    holder.get().model.vector_index()
    rng = random.Random(3)
    url = settings.database_url
    with session_scope(url) as s:
        customers = list(s.scalars(select(Customer.id)))
        products = list(s.scalars(select(Product.id).where(Product.is_active.is_(True))))
        sessions = list(s.scalars(select(Interaction.session_id).where(Interaction.customer_id.is_(None))
                                  .group_by(Interaction.session_id).limit(2000)))
    kinds = {
        "signed-in customer": lambda s: recommend_products(s, query=SearchQuery(),
                                                           customer_id=rng.choice(customers), holder=holder),
        "customer, jackets under $150": lambda s: recommend_products(
            s, query=SearchQuery(category="jackets", price_max_cents=15_000), customer_id=rng.choice(customers),
            holder=holder),
        "anonymous session": lambda s: recommend_products(s, query=SearchQuery(), session_id=rng.choice(sessions),
                                                          holder=holder),
        "stranger (bestsellers)": lambda s: recommend_products(s, query=SearchQuery(), session_id="nobody",
                                                               holder=holder),
        "similar to a product": lambda s: recommend_products(s, query=SearchQuery(), similar_to=rng.choice(products),
                                                             holder=holder),
    }
    print(f"model {version}; {len(customers):,} customers, {len(products):,} products; "
          f"{args.requests} requests each\n")
    print("| request | p50 ms | p95 ms | mode |\n|---|---|---|---|")
    for name, call in kinds.items():
        times, modes = [], set()
        for _ in range(args.requests):
            with session_scope(url) as s:
                t = time.perf_counter()
                result = call(s)
                times.append((time.perf_counter() - t) * 1000)
                modes.add(result.how)
        print(f"| {name} | {percentile(times, 0.5):.1f} | {percentile(times, 0.95):.1f} | {', '.join(sorted(modes))} |")
    print(f"\nloading a model version (verify SHA-256, unpickle, build its FAISS index): {load_ms:.0f} ms "
          "(done by the hot swap, off the request path)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
