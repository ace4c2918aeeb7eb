"""Catalog import speed and memory on a raw marketplace-like export.

    python -m bench.catalog_import [--rows 100000] [--seed 7] [--batch-size 500] [--no-brands]
                                   [--postgres URL] [--keep DIR]

Writes a CSV shaped like a marketplace listing export (name, main_category,
sub_category, image, link, ratings, no_of_ratings, discount_price, actual_price; rupee
prices with Indian grouping such as "₹1,29,999"; no stock and no brand column) of
invented words into a temporary folder: 2% of the rows repeat an earlier title (a
listing in two sub-categories), 0.5% have no price and 0.3% a price range. Then imports
it with the built-in ``marketplace`` mapping (brands from titles: a counting pass, then
the import) into a fresh, migrated SQLite database (or ``--postgres``, a database that
is emptied of products first) and prints rows/s by the wall clock and by this
process's CPU time (the fair figure on a shared machine; the load average is printed
too), and memory:
the process's peak RSS (``ru_maxrss``) before and after the import (the difference is
what the import added on top of Python, SQLAlchemy and the migrations) and the CSV's
size for comparison.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.importing.catalog_import import import_csv_file

CATEGORIES = {
    "tv audio cameras": ["Headphones", "Televisions", "Speakers", "Cameras", "Home Theater"],
    "appliances": ["Kettles", "Air Purifiers", "Heaters", "Fans", "Blenders", "Coffee Machines"],
    "home kitchen pets": ["Cookware", "Bedsheets", "Curtains", "Lighting", "Kitchen Storage", "Pet Beds"],
    "men's clothing": ["Shirts", "T-shirts", "Jeans", "Sweatshirts", "Ethnic Wear"],
    "women's clothing": ["Kurtas", "Sarees", "Dresses", "Tops", "Leggings"],
    "sports fitness outdoors": ["Running Shoes", "Yoga", "Strength Training", "Cycling", "Camping"],
    "bags luggage": ["Backpacks", "Suitcases", "Travel Duffles", "Wallets", "Handbags"],
    "toys baby products": ["Books", "Puzzles", "Soft Toys", "Baby Care", "Building Blocks"],
    "stationery": ["Pens", "Notebooks", "Desk Accessories", "Art Supplies"],
    "accessories": ["Smart Watches", "Chargers", "Belts", "Sunglasses", "Earbuds"],
}
SYLLABLES = ["zor", "vik", "ma", "ple", "her", "on", "qui", "llo", "tes", "sa", "ro", "lum", "bra", "or", "van",
             "ta", "pel", "wick", "saf", "frine", "cor", "vel", "nim", "ka", "du", "ri", "mo", "xen", "ly", "fa"]
NOUNS = ["Earbuds", "Headphones", "Kettle", "Pan", "Shirt", "Kurta", "Shoes", "Mat", "Backpack", "Trolley",
         "Lamp", "Fan", "Heater", "Notebook", "Pens", "Puzzle", "Watch", "Charger", "Curtains", "Bedsheet"]
ADJECTIVES = ["Classic", "Slim", "Compact", "Ultra", "Soft", "Quick", "Silent", "Foldable", "Smart", "Premium",
              "Cotton", "Steel", "Wireless", "Portable", "Deluxe", "Everyday", "Travel", "Heavy", "Light", "Eco"]
HEADER = ["name", "main_category", "sub_category", "image", "link", "ratings", "no_of_ratings", "discount_price",
          "actual_price"]


def rupees(amount: int) -> str:
    """``129999`` -> ``"₹1,29,999"`` (Indian grouping)."""
    digits = str(amount)
    if len(digits) <= 3:
        return f"₹{digits}"
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return "₹" + ",".join([head, *groups, tail])


def write_export(path: Path, rows: int, *, seed: int) -> None:
    """The raw export: ``rows`` listings of invented products (see the module docstring)."""
    rng = random.Random(seed)
    brands = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize() for _ in range(1500)]
    titles: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            main = rng.choice(list(CATEGORIES))
            sub = rng.choice(CATEGORIES[main])
            if titles and rng.random() < 0.02:
                title = rng.choice(titles)  # the same listing again, elsewhere in the file
            else:
                words = [rng.choice(brands), *rng.sample(ADJECTIVES, rng.randint(1, 3)), rng.choice(NOUNS),
                         f"{rng.randint(1, 999)}{rng.choice(['', ' ml', ' cm', ' W', ' L'])}".strip()]
                title = " ".join(words) + f" {i:06d}"
                if len(titles) < 5000:
                    titles.append(title)
            actual = rng.choice([199, 299, 499, 999, 1499, 2999, 4999, 9999, 19999, 49999, 129999])
            actual += rng.randint(0, actual // 2)
            discount = str(rupees(int(actual * rng.uniform(0.4, 0.95)))) if rng.random() < 0.9 else ""
            actual_text = rupees(actual)
            roll = rng.random()
            if roll < 0.005:
                discount, actual_text = "", ""
            elif roll < 0.008:
                discount = f"{rupees(actual // 2)}–{rupees(actual)}"
            rating = f"{rng.uniform(2.5, 5):.1f}" if rng.random() < 0.9 else ""
            count = f"{rng.randint(1, 90000):,}" if rating else ""
            slug = f"p{i:06d}"
            out.writerow([title, main, sub, f"https://img.example.com/{slug}.jpg",
                          f"https://market.example.com/{slug}", rating, count, discount, actual_text])


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="listings in the generated file (default 100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=500, help="products per commit (default 500)")
    parser.add_argument("--no-brands", action="store_true", help="skip brands from titles (one pass only)")
    parser.add_argument("--postgres", metavar="URL", help="import into this PostgreSQL database instead of SQLite")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the CSV and database here and keep them")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"marketplace-{args.rows}.csv"
        started = time.perf_counter()
        write_export(csv_path, args.rows, seed=args.seed)
        written = time.perf_counter() - started
        url = args.postgres or f"sqlite:///{folder / f'import-{args.rows}.db'}"
        if not args.postgres:
            (folder / f"import-{args.rows}.db").unlink(missing_ok=True)
        upgrade(url)
        before = peak_rss_mb()
        cpu = time.process_time()
        started = time.perf_counter()
        with session_scope(url) as session:
            report = import_csv_file(session, path=csv_path, mapping="marketplace", now=datetime(2026, 12, 1),
                                     brand_from_title=not args.no_brands, batch_size=args.batch_size)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        after = peak_rss_mb()
        get_engine(url).dispose()
        size_mb = csv_path.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:.1f} MB, written in {written:.1f} s ({csv_path.name})")
        print(f"database: {'PostgreSQL' if args.postgres else 'SQLite (fresh file)'}, batches of {args.batch_size}")
        print(f"import: {elapsed:.1f} s wall, {report.rows_read / elapsed:,.0f} rows/s; {cpu:.1f} s CPU, "
              f"{report.rows_read / max(cpu, 1e-9):,.0f} rows per CPU second (load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"result: {report.products_created:,} products created, {report.rejected_count:,} rows rejected, "
              f"{report.brands_created:,} brands ({report.brands_from_titles:,} products' brand from the title: "
              f"{'off' if args.no_brands else 'on'})")
        print(f"peak RSS: {before:.0f} MB before the import, {after:.0f} MB after "
              f"(+{after - before:.0f} MB for a {size_mb:.0f} MB file)")
        for line in report.summary_lines()[:4]:
            print(f"  {line}")
        if args.keep:
            print(f"kept in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
