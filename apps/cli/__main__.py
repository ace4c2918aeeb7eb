"""``python -m apps.cli <group> <command> [options]``: the one command line of the
assistant's apps.

Groups: ``db``, ``promo``, ``web``, ``console`` (:mod:`apps.cli.shop_commands`), ``index``
(:mod:`apps.cli.index_commands`), ``recommender`` (:mod:`apps.cli.recommender_commands`), ``llm``
(:mod:`apps.cli.llm_commands`) and ``privacy`` (:mod:`apps.cli.privacy_commands`). The demo shop and catalog
imports are tools: ``python -m tools``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from apps.cli import index_commands, llm_commands, privacy_commands, recommender_commands, shop_commands

GROUPS: dict[str, Callable[[list[str]], int]] = {
    "index": index_commands.main,
    "recommender": recommender_commands.main,
    "llm": llm_commands.main,
    "privacy": privacy_commands.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in GROUPS:
        return GROUPS[args[0]](args[1:])
    return shop_commands.main(args)


if __name__ == "__main__":
    sys.exit(main())
