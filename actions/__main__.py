"""The action server: ``python -m actions [rasa-sdk options]``.

rasa-sdk's own server (same options as ``python -m rasa_sdk``; ``--actions`` defaults
to this package), started through :func:`actions.server.serve` so that each Sanic
worker process warms the search backend and the served recommendation model up as it
starts: the indexes, the embedding model and the preference model are loaded before
the first shopper asks rather than during their request. It listens on
``SHOP_ACTION_HOST`` (default ``127.0.0.1``) and answers only requests that carry
``SHOP_ACTION_TOKEN`` (:mod:`actions.server`).
"""

from __future__ import annotations

from pathlib import Path

from rasa_sdk.endpoint import create_argument_parser

from actions.server import serve

#: the endpoints file rasa-sdk reads its tracing settings from (the Rasa server's)
BOT_ENDPOINTS = Path(__file__).resolve().parent.parent / "bot" / "endpoints.yml"


def main(argv: list[str] | None = None) -> None:

    parser = create_argument_parser()
    parser.set_defaults(actions="actions", endpoints=str(BOT_ENDPOINTS))
    serve(parser.parse_args(argv))


if __name__ == "__main__":
    main()
