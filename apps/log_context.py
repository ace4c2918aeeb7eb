"""A log context per HTTP request for the storefront and the console (plain ASGI).

:class:`RequestLogContext` opens a fresh :class:`shop.logging_setup.LogContext` around
each request, so JSON log lines carry the conversation the request is about (see
:mod:`shop.logging_setup`). What a request is about is read from the request itself,
cheaply, by a ``reader`` given to the middleware: :func:`cart_session` (the
storefront's ``GET /api/cart?session=<conversation id>``) and :func:`console_handoff`
(the console's ``/api/handoffs/<id>/...``; the console binds the handoff's
``sender_id`` once it has loaded it). Nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from shop.logging_setup import LogContext, close_context, open_context

#: a widget session id, as the storefront's cart API accepts it
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
HANDOFF_PATH = re.compile(r"^/api/handoffs/(\d{1,18})(?:/|$)")

Reader = Callable[[Scope], LogContext]


def cart_session(scope: Scope) -> LogContext:
    """The storefront: ``GET /api/cart?session=<id>`` is about conversation ``<id>``."""
    if scope.get("path") != "/api/cart":
        return LogContext()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=10)
    session = (query.get("session") or [""])[0]
    return LogContext(conversation_id=session if SESSION_RE.match(session) else None)


def console_handoff(scope: Scope) -> LogContext:
    """The console: ``/api/handoffs/<id>...`` is about handoff ``<id>``."""
    match = HANDOFF_PATH.match(scope.get("path", ""))
    return LogContext(handoff_id=int(match.group(1)) if match else None)


class RequestLogContext:
    """ASGI middleware: every HTTP request runs in its own log context, started with
    what ``reader`` finds in the request."""

    def __init__(self, app: ASGIApp, *, reader: Reader) -> None:
        self.app = app
        self.reader = reader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = self.reader(scope)
        token = open_context(conversation_id=found.conversation_id, handoff_id=found.handoff_id)
        try:
            await self.app(scope, receive, send)
        finally:
            close_context(token)
