"""Client of the Rasa server's agent relay (``bot/agent_relay.py``), for the console:
a staff member's message goes out on the shopper's own channel.

``POST {rasa_url}/webhooks/agent/send`` with ``{sender_id, channel, message: {text?,
custom?, agent_name?}}``, signed under ``SHOP_RELAY_SECRET`` with a timestamp and a
fresh nonce (``X-Shop-Relay-Signature``/``-Timestamp``/``-Nonce``,
:func:`protocol.handoff.signed_headers`): the relay refuses a replayed or stale request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from protocol.handoff import signed_headers

RELAY_PATH = "/webhooks/agent/send"


class RelayError(RuntimeError):
    """The relay could not be reached or refused the message; the message says why
    (``status``: the HTTP status, ``None`` when it was not reached)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _request(*, rasa_url: str, secret: str, sender_id: str, channel: str,
             message: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    if not secret:
        raise RelayError("SHOP_RELAY_SECRET is not set: the relay is disabled")
    body = json.dumps({"sender_id": sender_id, "channel": channel, "message": message},
                      ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signed_headers(body, secret)}
    return rasa_url.rstrip("/") + RELAY_PATH, body, headers


def _read(resp: httpx.Response) -> bool:
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code != 200:
        reason = data.get("error") if isinstance(data, dict) else None
        raise RelayError(f"relay answered {resp.status_code}: {reason or resp.text[:200]}", status=resp.status_code)
    return bool(isinstance(data, dict) and data.get("delivered"))


async def deliver(*, rasa_url: str, secret: str, sender_id: str, channel: str, message: dict[str, Any],
                  timeout_s: float = 5.0) -> bool:
    """Send a staff ``message`` (``{"text"?, "custom"?, "agent_name"?}``) to the
    conversation ``sender_id`` on ``channel`` through the relay at ``rasa_url``.

    Returns ``True`` when it went out on the channel, ``False`` when it could not be
    pushed now (REST has no push; a socket.io page that is not connected; the
    messaging platform did not accept it): leave it undelivered in
    ``handoff_messages`` and the shopper gets it with their next message or when
    their page reconnects (``/handoff/pending``).

    Raises:
        RelayError: no secret, the relay unreachable, or an error status (401/403
            signature, 404 unknown channel, 413 too big, 503 disabled, …).
    """
    url, body, headers = _request(rasa_url=rasa_url, secret=secret, sender_id=sender_id, channel=channel,
                                  message=message)
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            resp = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise RelayError(f"relay at {url} unreachable: {exc.__class__.__name__}") from exc
    return _read(resp)


def deliver_sync(*, rasa_url: str, secret: str, sender_id: str, channel: str, message: dict[str, Any],
                 timeout_s: float = 5.0) -> bool:
    """:func:`deliver` for synchronous callers (same arguments, result and errors)."""
    url, body, headers = _request(rasa_url=rasa_url, secret=secret, sender_id=sender_id, channel=channel,
                                  message=message)
    try:
        resp = httpx.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise RelayError(f"relay at {url} unreachable: {exc.__class__.__name__}") from exc
    return _read(resp)
