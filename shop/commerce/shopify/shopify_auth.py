"""The ``X-Shopify-Access-Token`` on every Admin API request: a fixed token, or one got
(and got again before it runs out, or when Shopify answers 401) with the client
credentials grant.

Client credentials (https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/client-credentials-grant):
``POST https://<shop>.myshopify.com/admin/oauth/access_token`` with ``grant_type=
client_credentials``, ``client_id`` and ``client_secret`` answers ``{"access_token",
"scope", "expires_in"}`` (about 24 hours). Sent as JSON, as Shopify's own
``@shopify/shopify-api`` library does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Protocol

import httpx

from shop.commerce.errors import PlatformConfigError, PlatformUnavailable
from shop.commerce.http import PlatformHttp

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Shopify-Access-Token"  # noqa: S105 (a header name)
TOKEN_PATH = "/admin/oauth/access_token"  # noqa: S105 (a path)
REFRESH_MARGIN_S = 300.0
DEFAULT_LIFETIME_S = 86_399.0


class TokenSource(Protocol):
    def current(self) -> str: ...

    def refreshed(self, rejected: str) -> str | None:
        """A new token after ``rejected`` got a 401, or ``None`` when there is no other."""
        ...


class FixedToken:
    """An admin-created custom app's Admin API access token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def current(self) -> str:
        return self._token

    def refreshed(self, rejected: str) -> str | None:
        return None


class ClientCredentialsToken:
    """A token from the client credentials grant, asked for when first needed, again
    ``REFRESH_MARGIN_S`` before it expires, and once more after a 401."""

    def __init__(self, http: PlatformHttp, *, client_id: str, client_secret: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0
        self.fetches = 0

    def current(self) -> str:
        with self._lock:
            if not self._token or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
                self._fetch()
            return self._token

    def refreshed(self, rejected: str) -> str | None:
        with self._lock:
            if self._token == rejected:  # not already replaced by another thread
                self._fetch()
            return self._token

    def _fetch(self) -> None:
        response = self._http.request("POST", TOKEN_PATH, idempotent=True, json={  # asking again is harmless
            "client_id": self._client_id, "client_secret": self._client_secret, "grant_type": "client_credentials"})
        if response.status_code in (400, 401, 403, 404):
            raise PlatformConfigError(
                f"Shopify refused the client credentials (HTTP {response.status_code}): check the client id and "
                "secret, and that the app is installed on this shop")
        if response.status_code != 200:
            raise PlatformUnavailable(f"Shopify token endpoint answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise PlatformUnavailable("Shopify token endpoint answered something other than JSON") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PlatformUnavailable("Shopify token endpoint answered without an access token")
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_S
        self._token = token
        self._expires_at = self._clock() + float(lifetime)
        self.fetches += 1
        log.info("shopify: new access token from the client credentials grant (valid %.0f s)", lifetime)


class AccessTokenAuth(httpx.Auth):
    """httpx auth that sets the token header and, on a 401, retries once with a new token."""

    def __init__(self, tokens: TokenSource) -> None:
        self._tokens = tokens

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._tokens.current()
        request.headers[TOKEN_HEADER] = token
        response = yield request
        if response.status_code == 401:
            fresh = self._tokens.refreshed(token)
            if fresh and fresh != token:
                request.headers[TOKEN_HEADER] = fresh
                yield request
