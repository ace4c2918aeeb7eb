"""``python -m apps.cli <group> <command> [options]``: the one command line of the
assistant's apps.

Groups: ``db``, ``promo``, ``web``, ``console`` (:mod:`apps.cli.commands`), ``index``
(:mod:`apps.cli.index`), ``recommender`` (:mod:`apps.cli.recommender`) and ``llm``
(:mod:`apps.cli.llm`). The demo shop and catalog imports are tools: ``python -m tools``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from apps.cli import commands, index, llm, recommender

GROUPS: dict[str, Callable[[list[str]], int]] = {
    "index": index.main,
    "recommender": recommender.main,
    "llm": llm.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in GROUPS:
        return GROUPS[args[0]](args[1:])
    return commands.main(args)


if __name__ == "__main__":
    sys.exit(main())
