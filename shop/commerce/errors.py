"""What can go wrong talking to a commerce platform, in words the chat can act on."""

from __future__ import annotations


class PlatformError(Exception):
    """Base class of commerce-platform failures."""


class PlatformUnavailable(PlatformError):
    """The platform did not answer usefully (network error, timeout, 5xx, 429 after the
    retries): nothing was changed there, as far as we know; the shopper is told to try
    again later or offered a person."""


class PlatformRefused(PlatformError):
    """The platform answered and refused the change (already fulfilled, not found,
    validation error). ``reason`` uses the shop's words where one fits
    (``already_shipped``, ``already_cancelled``, ``not_found``, ``not_supported``,
    ``invalid``), and ``detail`` is the platform's message for logs and staff."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class PlatformConfigError(PlatformError):
    """The connector's settings are missing or malformed (no shop URL, no token...)."""


class WebhookRejected(PlatformError):
    """A webhook delivery that must not be applied: bad or missing signature, unknown
    topic, malformed body. ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
