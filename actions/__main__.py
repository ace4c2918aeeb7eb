"""The action server: ``python -m actions [rasa-sdk options]``.

rasa-sdk's own server (same options as ``python -m rasa_sdk``; ``--actions`` defaults
to this package) that first starts warming the search backend in the service pool,
so the index and the embedding model are loaded before the first shopper searches
rather than during their request.
"""

from __future__ import annotations

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser

from actions.runtime import start_in_background
from shop.services.search import warm_up
from shop.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = create_argument_parser()
    parser.set_defaults(actions="actions")
    args = parser.parse_args(argv)
    start_in_background(warm_up, name=get_settings().search_backend)
    main_from_args(args)


if __name__ == "__main__":
    main()
