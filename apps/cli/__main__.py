"""``python -m apps.cli <group> <command> [options]``: the one command line of the
assistant's apps.

Groups: ``db``, ``promo``, ``web``, ``console`` (:mod:`apps.cli.shop_commands`), ``index``
(:mod:`apps.cli.index_commands`), ``recommender`` (:mod:`apps.cli.recommender_commands`), ``llm``
(:mod:`apps.cli.llm_commands`), ``privacy`` (:mod:`apps.cli.privacy_commands`) and ``commerce``
(:mod:`apps.cli.commerce_commands`); ``analytics`` (:mod:`apps.cli.analytics_commands`);
``vocabulary`` (:mod:`apps.cli.vocabulary_commands`); ``catalog`` (catalog file imports,
:mod:`apps.cli.catalog_commands`); ``admin``, ``policy``, ``offer`` (staff accounts, policy and FAQ
texts, offers: :mod:`apps.cli.admin_commands`); ``retrain`` (both models, locked;
``promo retrain`` the uplift model alone: :mod:`apps.cli.promo_commands`). The demo shop is a tool: ``python -m tools``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from apps.cli import (
    admin_commands,
    analytics_commands,
    catalog_commands,
    commerce_commands,
    index_commands,
    llm_commands,
    privacy_commands,
    promo_commands,
    recommender_commands,
    shop_commands,
    vocabulary_commands,
)

GROUPS: dict[str, Callable[[list[str]], int]] = {
    "analytics": analytics_commands.main,
    "index": index_commands.main,
    "recommender": recommender_commands.main,
    "llm": llm_commands.main,
    "privacy": privacy_commands.main,
    "commerce": commerce_commands.main,
    "vocabulary": vocabulary_commands.main,
    "catalog": catalog_commands.main,
    "admin": admin_commands.admin_main,
    "policy": admin_commands.policy_main,
    "offer": admin_commands.offer_main,
    "retrain": promo_commands.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in GROUPS:
        return GROUPS[args[0]](args[1:])
    return shop_commands.main(args)


if __name__ == "__main__":
    sys.exit(main())
