"""The A/B simulation of offer policies on freshly generated demo shops (temporary
SQLite files): random offers against the uplift policy (Thompson sampling, and
greedy), scored with the demo's hidden true uplift; plus the A/B report of each
shop's logged history.

    .venv/actions/bin/python -m bench.promo_simulation [--seeds 7 8 9] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import datetime

from shop.db.engine import get_engine, session_scope
from shop.db.migrate import upgrade
from shop.promo.report import ab_report, format_report
from tools.demo.generate import generate_demo_shop
from tools.demo.offer_simulation import simulate

NOW = datetime(2026, 11, 20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/sim.db"
            upgrade(url)
            with session_scope(url) as s:
                stats = generate_demo_shop(s, seed=seed, as_of=NOW, scale=args.scale, progress=False)
            with session_scope(url) as s:
                if seed == args.seeds[0]:
                    print(f"Logged history of the demo shop (seed {seed}, random offers):\n")
                    print(format_report(ab_report(s)))
                rows += [(seed, r) for r in simulate(s, truth=stats.truth, now=NOW)]
            get_engine(url).dispose()
    print("\n| seed | policy | customers | offers given | extra conversions | discount spent | "
          "extra conversions per $1,000 | per offer |\n|---|---|---|---|---|---|---|---|")
    for seed, r in rows:
        print(f"| {seed} | {r.policy} | {r.customers} | {r.offers} | {r.incremental:.1f} | "
              f"${r.spend_cents / 100:,.0f} | {r.per_1000:.1f} | {r.per_offer:.3f} |")
    by_seed: dict[int, dict[str, float]] = {}
    for seed, r in rows:
        by_seed.setdefault(seed, {})[r.policy] = r.per_1000
    ratios = [v["uplift (exploration 1)"] / v["random"] for v in by_seed.values() if v.get("random")]
    print("\nuplift (Thompson) / random, extra conversions per $1,000: "
          + ", ".join(f"{x:.2f}x" for x in ratios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
