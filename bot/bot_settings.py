"""Settings of the Rasa server process, read from the environment once.

The Rasa environment pins pydantic 1, so this uses ``pydantic.BaseSettings``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseSettings, Field, root_validator


class BotSettings(BaseSettings):
    """Attributes:
    identity_secret: shared secret the shop's pages sign customer ids with
        (HMAC-SHA256, hex). Unset: customer ids from pages are always ignored.
    max_message_chars: longest message passed on to the assistant; longer ones are
        answered with a request to shorten them. Default 2,000.
    widget_origins: comma-separated page origins allowed to open the widget's socket.io
        connection (``https://shop.example,https://www.shop.example``). Unset: only the
        origin of ``public_url``; ``*`` allows any page (logged as a warning).
    public_url: the shop's public address; product links on messaging apps are made
        absolute against it. Default ``http://127.0.0.1:8000``.

    Messaging apps (``bot.messaging``); a channel whose required values are unset is
    disabled (one log line at startup; its webhook answers 503):

    telegram_token, telegram_secret_token: the bot token from BotFather and the secret
        Telegram sends in ``X-Telegram-Bot-Api-Secret-Token`` (both required).
    telegram_webhook_url: public URL of ``/webhooks/telegram/webhook``; when set, the
        webhook (with the secret) is registered with Telegram at startup.
    telegram_api_url: Bot API base. Default ``https://api.telegram.org``.
    slack_token, slack_signing_secret: bot token (``xoxb-…``) and signing secret (required).
    slack_api_url: Web API base. Default ``https://slack.com/api/``.
    twilio_account_sid, twilio_auth_token, twilio_number, twilio_webhook_url: account,
        auth token, sending number (``whatsapp:+14155238886``) and the public URL of
        ``/webhooks/twilio/webhook`` that Twilio signs (all required).
    twilio_api_url: REST API base. Default ``https://api.twilio.com``.

    Agent handoff (``bot.handoff_gate``, ``bot.agent_relay``):

    action_server_url: the action server's webhook (``ACTION_SERVER_URL``, the same
        value ``endpoints.yml`` reads, ending in ``/webhook``); the gate asks
        ``<its base>/handoff/inbound``. Default ``http://127.0.0.1:5055/webhook``.
    relay_secret: shared secret (``SHOP_RELAY_SECRET``) that signs gate requests to the
        action server and staff messages posted to the relay (timestamped, single-use
        HMAC, ``protocol.handoff``). Unset: the relay answers 503 and the gate does not
        ask the action server (every message goes to the bot; no handoff takes over).
    handoff_gate_timeout_s: seconds the gate waits for the action server. Default 3.

    Security (docs/security.md):

    rest_token: ``SHOP_REST_TOKEN``: REST is a server-to-server channel; callers send
        ``Authorization: Bearer <token>``. Unset: the REST channel answers 403.
    session_secret: ``SHOP_SESSION_SECRET`` signs the web widget's session tokens
        (``protocol.identity``). Unset: a random one per process (sessions then end
        when the server restarts).
    session_ttl_s: seconds a widget session token is valid; each reconnect extends it.
        Default 86,400 (a day).
    redis_url: ``SHOP_REDIS_URL``: rate limits and replay memories shared by every
        process. Unset: each process counts alone.
    max_body_bytes: largest request body any route of the Rasa server reads; larger
        ones get 413 before they are parsed. Default 262,144 (256 KiB).
    rate_per_sender_per_min, rate_per_client_per_min: messages a conversation and a
        client address may send per minute on REST and socket.io. Defaults 30 and 120.

    Deployment (docs/production.md):

    deployment: ``SHOP_DEPLOYMENT``: ``embedded`` (default; one Rasa process, SQLite
        tracker store, in-memory lock store, ``bot/endpoints.yml``) or ``production``
        (several Rasa processes: ``bot/endpoints.production.yml``, PostgreSQL tracker
        store, Redis lock store, RabbitMQ event broker). Production needs
        ``SHOP_REDIS_URL`` (the widget's socket.io messages, rate limits and replay
        memories shared by every process) and ``SHOP_SESSION_SECRET`` (a widget session
        issued by one process must be valid on the others); the server refuses to
        start without them.
    socketio_presence_heartbeat_s: with ``SHOP_REDIS_URL``, how often each process
        marks itself alive for the relay's "is the shopper's page connected?"
        (:mod:`bot.socketio_presence`); a killed process's pages stop counting after
        three missed beats. Default 10.
    """

    identity_secret: str = Field(default="", env="SHOP_IDENTITY_SECRET")
    max_message_chars: int = Field(default=2000, env="SHOP_MAX_MESSAGE_CHARS")
    widget_origins: str = Field(default="", env="SHOP_WIDGET_ORIGINS")
    public_url: str = Field(default="http://127.0.0.1:8000", env="SHOP_PUBLIC_URL")

    telegram_token: str = Field(default="", env="SHOP_TELEGRAM_TOKEN")
    telegram_secret_token: str = Field(default="", env="SHOP_TELEGRAM_SECRET_TOKEN")
    telegram_webhook_url: str = Field(default="", env="SHOP_TELEGRAM_WEBHOOK_URL")
    telegram_api_url: str = Field(default="https://api.telegram.org", env="SHOP_TELEGRAM_API_URL")

    slack_token: str = Field(default="", env="SHOP_SLACK_TOKEN")
    slack_signing_secret: str = Field(default="", env="SHOP_SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", env="SHOP_SLACK_API_URL")

    twilio_account_sid: str = Field(default="", env="SHOP_TWILIO_ACCOUNT_SID")
    twilio_auth_token: str = Field(default="", env="SHOP_TWILIO_AUTH_TOKEN")
    twilio_number: str = Field(default="", env="SHOP_TWILIO_NUMBER")
    twilio_webhook_url: str = Field(default="", env="SHOP_TWILIO_WEBHOOK_URL")
    twilio_api_url: str = Field(default="https://api.twilio.com", env="SHOP_TWILIO_API_URL")

    action_server_url: str = Field(default="http://127.0.0.1:5055/webhook", env="ACTION_SERVER_URL")
    relay_secret: str = Field(default="", env="SHOP_RELAY_SECRET")
    handoff_gate_timeout_s: float = Field(default=3.0, gt=0, env="SHOP_HANDOFF_GATE_TIMEOUT_S")

    rest_token: str = Field(default="", env="SHOP_REST_TOKEN")
    session_secret: str = Field(default="", env="SHOP_SESSION_SECRET")
    session_ttl_s: int = Field(default=86400, ge=60, env="SHOP_SESSION_TTL_S")
    redis_url: str = Field(default="", env="SHOP_REDIS_URL")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, env="SHOP_MAX_BODY_BYTES")
    rate_per_sender_per_min: int = Field(default=30, ge=1, env="SHOP_RATE_PER_SENDER_PER_MIN")
    rate_per_client_per_min: int = Field(default=120, ge=1, env="SHOP_RATE_PER_CLIENT_PER_MIN")

    deployment: Literal["embedded", "production"] = Field(default="embedded", env="SHOP_DEPLOYMENT")
    socketio_presence_heartbeat_s: float = Field(default=10.0, gt=0, le=300,
                                                 env="SHOP_SOCKETIO_PRESENCE_HEARTBEAT_S")

    @root_validator(skip_on_failure=True)
    def _production_needs_shared_state(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values.get("deployment") == "production":
            missing = [name for name, key in (("SHOP_REDIS_URL", "redis_url"),
                                              ("SHOP_SESSION_SECRET", "session_secret")) if not values.get(key)]
            if missing:
                raise ValueError(f"SHOP_DEPLOYMENT=production needs {' and '.join(missing)}: every Rasa process "
                                 "must share the widget's sessions and socket.io messages (docs/production.md)")
        return values

    @property
    def handoff_inbound_url(self) -> str:
        """``POST`` target of the gate: the action server's base + ``/handoff/inbound``
        (``…/webhook`` stripped from :attr:`action_server_url`)."""
        base = self.action_server_url.rstrip("/")
        if base.endswith("/webhook"):
            base = base[: -len("/webhook")]
        return f"{base}/handoff/inbound"


@lru_cache(maxsize=1)
def get_bot_settings() -> BotSettings:
    return BotSettings()
