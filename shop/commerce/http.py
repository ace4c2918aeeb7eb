"""One HTTP client for every connector: timeouts, and retries on 429 (honouring
``Retry-After``) and on 502/503/504 and network errors, with a cap on the total wait.

Connectors call :meth:`PlatformHttp.request` and get the :class:`httpx.Response` for any
status below 500 other than 429; they decide what a 4xx means. Credentials go in
``headers`` or ``auth`` and are never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from shop.commerce.errors import PlatformUnavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def retry_after_s(value: str | None, *, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (``"2"``, ``"1.5"``,
    as Shopify sends) or an HTTP date; ``default`` when absent or unreadable."""
    if not value:
        return default
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class PlatformHttp:
    """A retrying JSON client for one platform.

    Args:
        base_url: the API root, e.g. ``https://shop.myshopify.com/admin/api/2025-01``.
        headers: sent with every request (tokens).
        auth: httpx auth (WooCommerce's consumer key and secret over HTTPS).
        timeout_s: per-request timeout.
        max_attempts: tries per request, the first included.
        max_wait_s: the longest single wait between tries (a longer ``Retry-After``
            gives up: the caller is told the platform is unavailable).
        sleep: injectable for tests.
        transport: injectable httpx transport for tests.
    """

    def __init__(self, *, base_url: str, headers: Mapping[str, str] | None = None,
                 auth: httpx.Auth | tuple[str, str] | None = None, timeout_s: float = 10.0,
                 max_attempts: int = 4, max_wait_s: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.max_wait_s = max_wait_s
        self._sleep = sleep
        self.retries = 0  # how many retries this client made (for tests and logs)
        self._client = httpx.Client(base_url=self.base_url, headers=dict(headers or {}), auth=auth,
                                    timeout=timeout_s, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, idempotent: bool | None = None) -> httpx.Response:
        """Send one request, retrying as described above. ``url`` is relative to the base
        URL or absolute (pagination links). Raises :class:`PlatformUnavailable`.

        ``idempotent`` (default: every method but POST; GraphQL reads pass ``True``): a
        request that isn't is retried only when it surely did not reach the platform (429,
        a refused or timed-out connection); a 5xx answer or a read timeout is returned or
        raised without a retry, so a refund is never sent twice."""
        safe = method.upper() != "POST" if idempotent is None else idempotent
        backoff = 0.5
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.request(method, url, params=params, json=json)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last = f"{type(exc).__name__}"
                wait = backoff
            except httpx.HTTPError as exc:
                if not safe:
                    raise PlatformUnavailable(f"{method} {url}: {type(exc).__name__}; not retried, "
                                              "it may have reached the platform") from exc
                last = f"{type(exc).__name__}"
                wait = backoff
            else:
                if response.status_code not in RETRY_STATUSES and response.status_code < 500:
                    return response
                if not safe and response.status_code != 429:
                    return response
                last = f"HTTP {response.status_code}"
                wait = retry_after_s(response.headers.get("Retry-After"), default=backoff)
            if attempt == self.max_attempts:
                break
            if wait > self.max_wait_s:
                raise PlatformUnavailable(f"{method} {url}: {last}, asked to wait {wait:.0f} s")
            log.info("commerce %s %s: %s, retry %d in %.1f s", method, url.split("?")[0], last, attempt, wait)
            self.retries += 1
            self._sleep(wait)
            backoff = min(backoff * 2, self.max_wait_s)
        raise PlatformUnavailable(f"{method} {url}: {last} after {self.max_attempts} tries")
