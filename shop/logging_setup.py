"""Process logging: plain text or one JSON object per line, with the conversation a
record belongs to, and e-mails and phone numbers masked either way.

``SHOP_LOG_FORMAT`` (``Settings.log_format``) chooses ``"text"`` (default) or
``"json"``. A JSON line holds ``time`` (ISO 8601, UTC, milliseconds), ``level``,
``logger``, ``message``, ``process``, and, when the record was logged while a
conversation was being handled, ``conversation_id`` (the Rasa ``sender_id``, masked
like the message: a WhatsApp sender is a phone number) and ``handoff_id``; a traceback
comes as ``exception``.

Which conversation is being handled is a :class:`LogContext` in a context variable:
the action server opens one per request (the tracker's ``sender_id``), the storefront
and the console per request (:mod:`apps.log_context`), and code that learns the
conversation later binds it with :func:`bind_conversation`. The context is one mutable
object per request, so a conversation bound in a worker thread (which runs in a copy
of the request's context) shows in the request's later records too.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from protocol.redact import install as install_redaction
from protocol.redact import redact

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: longest conversation id written (a REST sender id is whatever the caller sent)
MAX_ID_CHARS = 128


@dataclass
class LogContext:
    """What the records of one request are about (``None``: not known)."""

    conversation_id: str | None = None
    handoff_id: int | None = None


_CONTEXT: ContextVar[LogContext | None] = ContextVar("shop_log_context", default=None)


def current_context() -> LogContext | None:
    """The log context of the running request, if one was opened."""
    return _CONTEXT.get()


def open_context(*, conversation_id: str | None = None, handoff_id: int | None = None) -> Token[LogContext | None]:
    """Start a fresh :class:`LogContext` (for a request); give the token back to
    :func:`close_context` when the request ends."""
    return _CONTEXT.set(LogContext(conversation_id=conversation_id, handoff_id=handoff_id))


def close_context(token: Token[LogContext | None]) -> None:
    """End the context :func:`open_context` started. A token from another context (a
    framework that ran the end of the request elsewhere) just clears this one."""
    try:
        _CONTEXT.reset(token)
    except ValueError:
        _CONTEXT.set(None)


@contextmanager
def log_context(*, conversation_id: str | None = None, handoff_id: int | None = None) -> Iterator[LogContext]:
    """``with log_context(conversation_id=sender_id): ...``: records inside carry it."""
    token = open_context(conversation_id=conversation_id, handoff_id=handoff_id)
    try:
        yield _CONTEXT.get() or LogContext()
    finally:
        close_context(token)


def bind_conversation(conversation_id: str | None, *, handoff_id: int | None = None) -> None:
    """Record that the running request is about ``conversation_id`` (and ``handoff_id``);
    opens a context when none is open."""
    context = _CONTEXT.get()
    if context is None:
        _CONTEXT.set(LogContext(conversation_id=conversation_id, handoff_id=handoff_id))
        return
    if conversation_id is not None:
        context.conversation_id = conversation_id
    if handoff_id is not None:
        context.handoff_id = handoff_id


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in the message are escaped),
    ASCII only. The message, the traceback and the conversation id are masked with
    :func:`protocol.redact.redact` here as well, so the output stays clean even on a
    handler without the redacting filter."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "process": record.process,
        }
        context = _CONTEXT.get()
        if context is not None:
            if context.conversation_id:
                entry["conversation_id"] = redact(context.conversation_id[:MAX_ID_CHARS])
            if context.handoff_id is not None:
                entry["handoff_id"] = context.handoff_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=True, default=str)


def check_format(log_format: str) -> LogFormat:
    """``log_format`` when it is ``"text"`` or ``"json"``, else :class:`ValueError`."""
    for known in LOG_FORMATS:
        if log_format == known:
            return known
    raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def use_format(log_format: str, *handlers: logging.Handler) -> None:
    """Give ``handlers`` the JSON formatter when ``log_format`` is ``"json"`` (``"text"``
    leaves their formatters as they are) and the redacting filter in both cases."""
    if check_format(log_format) == "json":
        for handler in handlers:
            handler.setFormatter(JsonFormatter())
    install_redaction(*handlers)


class _ShopHandler(logging.StreamHandler):
    """The stderr handler :func:`configure_logging` installs (found again on a second call)."""


def configure_logging(*, log_format: str, level: int | str = logging.INFO) -> logging.Handler:
    """The process's root logging for the storefront, the console and the CLIs: one
    stderr handler in ``log_format`` with the redacting filter, at ``level``. Calling it
    again replaces that handler (and leaves other handlers alone). Returns the handler."""
    fmt = check_format(log_format)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ShopHandler)]:
        root.removeHandler(old)
    handler = _ShopHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    install_redaction(handler)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
