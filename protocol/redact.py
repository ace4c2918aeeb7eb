"""Personal data kept out of logs: e-mail addresses and phone numbers masked.

:func:`redact` masks them in a text (``jane.doe@example.com`` -> ``j***@example.com``,
``whatsapp:+14155550123`` -> ``whatsapp:+1415***0123``); :class:`RedactingFilter` is a
:class:`logging.Filter` that does it to each record (its message with the arguments
filled in, and its traceback); :func:`install` puts one on loggers or on handlers.

A filter on a logger sees only the records logged through that logger; a filter on a
handler sees every record the handler writes (``install(*logging.getLogger().handlers)``
covers a whole process). Numbers count as phone numbers only with a ``+`` or a
``whatsapp:``/``tel:``/``sms:`` prefix, so order numbers, prices and times are kept.
"""

from __future__ import annotations

import logging
import re

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_PHONE = re.compile(r"(?:(?<=whatsapp:)|(?<=tel:)|(?<=sms:)|(?<![\w+]))(\+?)(\d(?:[ .-]?\d){6,14})(?!\d)")
_PREFIXED = re.compile(r"(?i)(?:whatsapp|tel|sms):")


def _mask_phone(match: re.Match[str]) -> str:
    plus, number = match.group(1), match.group(2)
    start = match.start()
    prefixed = bool(_PREFIXED.search(match.string[max(0, start - 9):start]))
    if not plus and not prefixed:
        return match.group(0)  # a plain number (an order, a price, a time): not a phone
    digits = re.sub(r"\D", "", number)
    return f"{plus}{digits[:4]}***{digits[-4:]}" if len(digits) > 8 else f"{plus}***{digits[-2:]}"


def redact(text: str) -> str:
    """``text`` with e-mail addresses (first character and domain kept) and phone
    numbers (``+`` or a ``whatsapp:``/``tel:``/``sms:`` prefix; first four and last four
    digits kept) masked."""
    masked = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(_mask_phone, masked)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments filled in) and traceback through
    :func:`redact`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: leave it to the handler
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(*targets: logging.Logger | logging.Handler) -> None:
    """Add one :class:`RedactingFilter` to each of ``targets`` (loggers or handlers)
    that has none yet."""
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
