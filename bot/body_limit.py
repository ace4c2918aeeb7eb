"""The largest request body the Rasa server reads (``SHOP_MAX_BODY_BYTES``).

Sanic's own limit (``REQUEST_MAX_SIZE``, 100 MB by default) is checked while the body
streams in, before any handler parses it: a larger body gets 413. Rasa builds the app,
so a channel's blueprint sets it when the server starts."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Sanic


def limit_request_bodies(blueprint: Blueprint, *, max_bytes: int) -> None:
    """Make the app ``blueprint`` is registered on refuse bodies over ``max_bytes``
    (413) on every route, from its start."""

    async def set_limit(app: Sanic, _: Any) -> None:
        app.config.REQUEST_MAX_SIZE = max_bytes

    blueprint.listener("before_server_start")(set_limit)
