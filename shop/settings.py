"""Settings for the action-server process, read from the environment once.

Every environment variable the action server and the shop CLIs use is read here and
nowhere else; other modules take explicit arguments. Variables are prefixed ``SHOP_``
except ``DATABASE_URL``, which follows the common convention.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.llm.shop_voice import check_shop_description, check_shop_name, check_shop_tone

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Process settings.

    Attributes:
        database_url: SQLAlchemy URL of the shop database. Default: SQLite file
            ``var/shop.db`` in the repository. PostgreSQL example:
            ``postgresql+psycopg://user@127.0.0.1:5432/shop``.
        db_workers: threads in the pool that runs blocking DB work for actions.
        action_timeout_s: seconds an action waits for a service call before it
            answers with a polite fallback.
        max_order_lookup_failures: wrong order-number/email pairs allowed in one
            conversation before the assistant stops trying and offers a human.
        search_page_size: product cards per search reply.
        search_backend: product search backend name for ``get_search_backend``:
            ``"hybrid"`` (default: dense + keyword; falls back to ``"sql"`` with a
            logged reason while no index is built), ``"dense"``, ``"keyword"`` or ``"sql"``.
        search_index_dir: folder of the semantic search index (``SHOP_SEARCH_INDEX_DIR``,
            default ``var/index``), written by ``python -m apps.cli index build``.
        embedding_dtype: precision of the embedding model, ``"bf16"`` (default, ~3x
            faster on CPU) or ``"fp32"``.
        search_index_kind: ``"auto"`` (exact below ``search_exact_below`` products,
            IVFFlat above), ``"flat"``, ``"ivf"`` or ``"hnsw"``.
        search_exact_below: catalog size from which ``"auto"`` leaves exact search.
        search_index_sync_s: seconds between checks for catalog changes to index.
        faiss_force_cpu: never use a GPU for FAISS, even when one is visible.
        faiss_threads: OpenMP threads FAISS uses for queries (1 is fastest for
            single queries).
        recommend_model_dir: root of the preference model versions (``CURRENT``
            names the served one; see ``models.recsys.artifact``).
        recommend_check_s: seconds between the action server's looks for a newly
            promoted model version (hot swap).
        recommend_count: products in one recommendation reply.
        llm_model: the chat model as ``provider/model`` (``SHOP_LLM_MODEL``): default
            ``llamacpp/qwen2.5-coder-0.5b-instruct-q4_k_m`` (local GGUF, assembled from
            PyPI into ``llm_cache_dir`` and served by the supervised llama.cpp server at
            ``llm_server_url``; product answers in about 2 s on 2 cores);
            ``llamacpp/qwen2.5-coder-1.5b-instruct-q4_k_m`` words better (staff
            suggestions especially) at about twice the time; ``llamacpp/smollm2-135m-instruct-q4_1``
            for tests;
            ``openai/<model>`` with ``llm_base_url`` for any other OpenAI-compatible
            server (vLLM, Ollama, llama.cpp on a GPU machine); ``off`` for template
            answers only.
        llm_base_url, llm_api_key: the OpenAI-compatible endpoint (``.../v1``) and its key.
        llm_cache_dir: folder of assembled GGUF files (default ``var/llm``).
        llm_server_url: where the local llama.cpp server listens (``python -m apps.cli llm
            serve`` starts it there; default ``http://127.0.0.1:5077``, loopback only).
        llm_server_bin: the ``llama-server`` executable ``make llm-server`` builds.
        llm_server_slots: requests the local server decodes together.
        llm_threads: CPU threads of the local server; 0 (default) uses every core.
        llm_timeout_s: seconds a shopper waits for LLM words before the template answers.
        llm_max_tokens: most tokens per LLM answer.
        llm_max_pending: LLM calls allowed in flight before new ones get the template.
        promo_policy: how offers are chosen: ``"uplift"`` (default: eligibility, the
            uplift model, Thompson-sampling exploration), ``"random"`` (any eligible
            offer) or ``"paused"`` (no personal offers; sale items only).
        promo_control_pct: percent of customers held out as the control group (no offer),
            fixed per customer, so uplift stays measurable.
        promo_exploration: scale of the Thompson-sampling noise on predicted uplift
            (0: always the best prediction; 1: the model's own uncertainty).
        promo_code_days: days an issued code stays valid (never past the offer's end).
        promo_salt: mixed into the control-group hash (change it to draw a new group).
        promo_model_dir: root of the uplift model versions (``CURRENT`` names the served
            one; ``python -m apps.cli promo retrain`` trains and promotes them; see
            ``models.recsys.uplift_artifact``).
        promo_model_check_s: seconds between the action server's looks for a newly
            promoted uplift version.
        identity_secret: the shop's secret for signing customer ids the web widget passes
            to the assistant (HMAC-SHA256; the Rasa server checks it with the same secret).
            Empty: pages never identify customers.
        widget_server_url: the Rasa server as the shopper's browser reaches it (the
            widget's socket.io endpoint), default ``http://127.0.0.1:5005``.
        widget_bundle: the built widget (``make widget`` -> ``web/dist/shop-assistant.js``)
            the storefront serves at ``/widget/shop-assistant.js``.
        demo_customer_id: the customer the demo storefront's "sign in" button signs in as.
        session_secret: ``SHOP_SESSION_SECRET``, the same secret the Rasa server signs widget
            session tokens with: the storefront's checkout accepts a cart only with its
            conversation's token (empty: checkout is off, 503).
        recommend_api_token: ``SHOP_RECOMMEND_API_TOKEN``: the shop's server calls the
            storefront's ``GET /recommend`` with ``Authorization: Bearer <token>`` (empty:
            the API is off, 403; docs/recommendations.md#http-api).
        shop_name: ``SHOP_NAME``, the shop's name, as the storefront, the widget, the console, the bot's
            replies (the ``shop_name`` slot, set at session start) and the LLM prompts say it.
        shop_description: ``SHOP_DESCRIPTION``, one line about the shop (at most 300
            characters; default none), given to the LLM prompts as background
            ("Kitchenware and baking tools for home cooks").
        shop_tone: ``SHOP_TONE``, the tone of the LLM's words, a few plain words (default
            "friendly and concise"). Name, description and tone are refused at start-up when
            they hold control characters, markup or quoting characters, prompt markers or
            instructions to the model (``models.llm.shop_voice`` says which).
        handoff_config: the handoff configuration (triggers, topics and teams, business
            hours, wait estimate; ``shop/handoff/handoff.yml``).
        relay_secret: ``SHOP_RELAY_SECRET``, shared with the Rasa server: it signs
            (timestamped, single-use HMAC, ``protocol.handoff``) the gate's
            ``POST /handoff/inbound`` and ``/handoff/pending`` and the console's
            ``POST /webhooks/agent/send``. Unset: those answer 503 to everyone.
        rasa_url: the Rasa server's base URL, where the console finds the relay.
        console_session_idle_s: seconds without a request that end a staff console session
            (default 1800, 30 min).
        console_session_max_s: seconds after login that end a console session regardless
            (default 28800, 8 h).
        console_cookie_secure: mark the console's cookies Secure even on plain http (they
            always are on https requests); set it behind a TLS-terminating proxy.
        console_demo_login_file: where ``python -m apps.cli console`` writes the demo staff
            logins it creates on first run (mode 600; default ``var/console-demo-login.txt``).
        console_bundle: the built console front end (``web/dist/console.js``, built with the
            widget by ``npm run build``), served at ``/assets/console.js``.

    Security (docs/security.md):

        action_token: ``SHOP_ACTION_TOKEN``, shared with the Rasa server
            (``bot/endpoints.yml`` sends it as ``X-Shop-Action-Token``): every request to
            the action server's ``/webhook`` and ``/actions`` must carry it (401
            otherwise). Unset: those endpoints answer 401 to everyone.
        action_host: the address the action server listens on (default ``127.0.0.1``;
            ``0.0.0.0`` only behind a private network).
        redis_url: ``SHOP_REDIS_URL`` (``redis://127.0.0.1:6379/0``): rate limits and
            replay memories shared by every process. Unset: each process counts alone.
        order_verify_ttl_s: seconds an order verified by number and email stays verified
            in a conversation (default 900).
        order_lookup_failures_per_email: failed order lookups allowed per e-mail address
            per hour, across conversations (default 5).
        console_login_failures_per_ip: failed console logins allowed per client address
            per 15 minutes, across e-mails (default 20).
        console_login_concurrency: password checks (argon2id, 64 MiB each) run at once;
            more wait (default 2).
        tracker_db_url: SQLAlchemy URL of Rasa's tracker store, for privacy export and
            delete and the retention purge (default the SQLite ``var/tracker.db``).
        tracker_retention_days: conversations idle longer than this are deleted from the
            tracker store by ``python -m apps.cli privacy purge`` (default 30; 0 keeps them).

    Observability (issue 18; docs/operations.md#metrics-logs-and-tracing):

        log_format: ``SHOP_LOG_FORMAT``, ``"text"`` (default, what ``make run`` writes) or
            ``"json"``: the action server, the storefront and the console write one JSON
            object per line (time, level, logger, message, the conversation id when known;
            e-mails and phone numbers masked either way; ``shop.logging_setup``).
        prometheus_multiproc_dir: ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's own
            variable, no prefix): set, every process of a server writes its metric samples
            to files in this folder and ``/metrics`` of any of them reports them all (one
            folder per server instance; the action server empties it when it starts).
            Unset (default): each process reports its own.
        metrics_token: ``SHOP_METRICS_TOKEN``: when set, ``GET /metrics`` on the action
            server, the storefront and the console needs ``Authorization: Bearer <token>``
            (Prometheus: ``authorization: {credentials_file: ...}``). Unset: ``/metrics``
            is open (it holds counts and timings, no customer data).

    Understanding shoppers (issue 16):

        public_url: ``SHOP_PUBLIC_URL``, the shop's public address (the same as the Rasa
            server's). A widget's ``page_url`` counts as a product page only on this
            host, under ``/products/<handle>``. Default ``http://127.0.0.1:8000``.
        intent_judge: ask the LLM for a second opinion when the NLU model is unsure,
            before "Did you mean …?" (``SHOP_INTENT_JUDGE``, default off: the default 0.5B
            model chose worse than the NLU model's own top guess, see docs/benchmarks.md;
            it stays silent when ``llm_model`` is ``off``).
        intent_judge_timeout_s: seconds the second opinion may take before the usual
            question back is asked (default 1.5).
        intent_judge_candidates: the model's top intents offered to the LLM (default 4).

    Commerce platform (issue 17; ``shop.commerce``, docs/onboarding.md):

        commerce_backend: ``SHOP_COMMERCE_BACKEND``, where catalog, customers and orders
            live: ``"builtin"`` (default: the shop's own database, nothing to sync or
            write back), ``"shopify"`` (Admin GraphQL API) or ``"woocommerce"`` (REST API
            v3). With a platform, ``python -m apps.cli commerce sync`` mirrors it into the
            shop database, ``python -m apps.cli commerce webhooks`` keeps the mirror
            current, and cancellations, address changes and returns made in chat are
            written to the platform first (nothing changes locally when it can't be reached).
        shopify_domain: ``SHOP_SHOPIFY_DOMAIN``, the shop's ``<name>.myshopify.com`` domain.
        shopify_token: ``SHOP_SHOPIFY_TOKEN``, the custom app's Admin API access token
            (``shpat_...``); or, for an app made in Shopify's Dev Dashboard,
        shopify_client_id: ``SHOP_SHOPIFY_CLIENT_ID``, its client id: the connector then gets
            its token with the client credentials grant (one of the two is needed).
        shopify_api_version: ``SHOP_SHOPIFY_API_VERSION``, the Admin API version in the URL
            (default ``2025-01``).
        shopify_webhook_secret: ``SHOP_SHOPIFY_WEBHOOK_SECRET``, the app's client secret
            Shopify signs webhooks with (``X-Shopify-Hmac-Sha256``).
        woocommerce_url: ``SHOP_WOOCOMMERCE_URL``, the WordPress site's address
            (``https://shop.example.com``; the API is under ``/wp-json/wc/v3``).
        woocommerce_key, woocommerce_secret: ``SHOP_WOOCOMMERCE_KEY`` / ``SHOP_WOOCOMMERCE_SECRET``,
            the REST API consumer key and secret (read/write).
        woocommerce_webhook_secret: ``SHOP_WOOCOMMERCE_WEBHOOK_SECRET``, the secret set on
            the shop's webhooks (``X-WC-Webhook-Signature``).
        woocommerce_currency: ``SHOP_WOOCOMMERCE_CURRENCY``, the store's currency (ISO 4217,
            default ``USD``; WooCommerce's products don't carry one).
        woocommerce_allow_refunds: ``SHOP_WOOCOMMERCE_ALLOW_REFUNDS``: a return asked for in
            chat records a refund on the order (WooCommerce has no returns); off (default):
            the shopper is offered a person instead.
        woocommerce_completed_means_delivered: ``SHOP_WOOCOMMERCE_COMPLETED_MEANS_DELIVERED``:
            the store marks orders *completed* only once delivered; off (default):
            *completed* reads as shipped.
        woocommerce_query_auth: ``SHOP_WOOCOMMERCE_QUERY_AUTH``: send the key and secret as
            query parameters (still over HTTPS) for hosts that drop the ``Authorization``
            header; off (default): HTTP Basic.
        commerce_webhook_port: port of the webhook receiver
            (``python -m apps.cli commerce webhooks``; default 8002, loopback only: put a
            TLS proxy in front of it for the platform to reach it).

    Ticket replies by e-mail (issue 19; ``shop.handoff.mailer``, docs/agent-assist.md#tickets):

        smtp_host: ``SHOP_SMTP_HOST``, the mail server the console sends ticket replies
            through; empty (default): replies are kept, marked failed, "e-mail is not set up".
        smtp_port: ``SHOP_SMTP_PORT`` (default 587, submission).
        smtp_user, smtp_password: ``SHOP_SMTP_USER`` / ``SHOP_SMTP_PASSWORD``, SMTP AUTH
            (empty user: no login). The password is only sent over STARTTLS, or to a
            server on this machine.
        smtp_from: ``SHOP_SMTP_FROM``, the sender address of replies (``support@shop.example``).
        smtp_reply_to: ``SHOP_SMTP_REPLY_TO``, where shoppers' answers go (default: ``smtp_from``).
        smtp_starttls: ``SHOP_SMTP_STARTTLS``, upgrade to TLS before anything else (default
            on; a server that does not offer it is refused, never used in plain text).
        smtp_timeout_s: ``SHOP_SMTP_TIMEOUT_S``, seconds one SMTP step may take (default 10).

    Analytics (issue 19; ``shop.analytics``, docs/operations.md#analytics):

        analytics_amqp_url: ``SHOP_ANALYTICS_AMQP_URL``, the RabbitMQ that Rasa's event
            broker publishes to (``python -m apps.cli analytics consume``; default
            ``amqp://guest:guest@127.0.0.1:5672/%2F``).
        analytics_queue: ``SHOP_ANALYTICS_QUEUE``, the broker's durable queue (the Rasa
            side's ``RASA_BROKER_QUEUE``; default ``shop_events``).
        analytics_exchange: ``SHOP_ANALYTICS_EXCHANGE``: when set (the Rasa side's
            ``RASA_BROKER_EXCHANGE``), the consumer also declares that durable fanout
            exchange and binds the queue to it, so events published before the first
            Rasa start are kept; empty (default): the Rasa server binds it.
    """

    model_config = SettingsConfigDict(env_prefix="SHOP_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=f"sqlite:///{REPO_ROOT / 'var' / 'shop.db'}",
        validation_alias="DATABASE_URL",
    )
    db_workers: int = Field(default=8, ge=1, le=64)
    action_timeout_s: float = Field(default=10.0, gt=0)
    max_order_lookup_failures: int = Field(default=3, ge=1)
    search_page_size: int = Field(default=5, ge=1, le=20)
    search_backend: Literal["sql", "hybrid", "dense", "keyword"] = "hybrid"
    search_index_dir: Path = REPO_ROOT / "var" / "index"
    embedding_dtype: Literal["bf16", "fp32"] = "bf16"
    search_index_kind: Literal["auto", "flat", "ivf", "hnsw"] = "auto"
    search_exact_below: int = Field(default=100_000, ge=0)
    search_index_sync_s: float = Field(default=30.0, ge=0)
    faiss_force_cpu: bool = False
    faiss_threads: int = Field(default=1, ge=1, le=64)
    recommend_model_dir: Path = REPO_ROOT / "var" / "models" / "preference"
    recommend_check_s: float = Field(default=10.0, ge=0)
    recommend_count: int = Field(default=5, ge=1, le=20)
    llm_model: str = "llamacpp/qwen2.5-coder-0.5b-instruct-q4_k_m"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_cache_dir: Path = REPO_ROOT / "var" / "llm"
    llm_server_url: str = "http://127.0.0.1:5077"
    llm_server_bin: Path = REPO_ROOT / "var" / "llama.cpp" / "bin" / "llama-server"
    llm_server_slots: int = Field(default=2, ge=1, le=64)
    llm_threads: int = Field(default=0, ge=0, le=64)
    llm_timeout_s: float = Field(default=10.0, gt=0)
    llm_max_tokens: int = Field(default=160, ge=16, le=2048)
    llm_max_pending: int = Field(default=4, ge=1, le=64)
    promo_policy: Literal["uplift", "random", "paused"] = "uplift"
    promo_control_pct: int = Field(default=10, ge=0, le=100)
    promo_exploration: float = Field(default=1.0, ge=0, le=10)
    promo_code_days: int = Field(default=7, ge=1, le=365)
    promo_salt: str = "ridgeline-promo-1"
    promo_model_dir: Path = REPO_ROOT / "var" / "models" / "uplift"
    promo_model_check_s: float = Field(default=10.0, ge=0)
    identity_secret: str = ""
    widget_server_url: str = "http://127.0.0.1:5005"
    widget_bundle: Path = REPO_ROOT / "web" / "dist" / "shop-assistant.js"
    demo_customer_id: int = Field(default=1, ge=1)
    session_secret: SecretStr = SecretStr("")
    recommend_api_token: SecretStr = SecretStr("")
    shop_name: str = Field(default="Ridgeline Outfitters", min_length=1, max_length=100,
                           validation_alias=AliasChoices("SHOP_NAME", "SHOP_SHOP_NAME"))
    shop_description: str = Field(default="", max_length=300, validation_alias="SHOP_DESCRIPTION")
    shop_tone: str = Field(default="friendly and concise", max_length=60, validation_alias="SHOP_TONE")
    handoff_config: Path = REPO_ROOT / "shop" / "handoff" / "handoff.yml"
    relay_secret: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    console_session_idle_s: int = Field(default=1800, ge=60)
    console_session_max_s: int = Field(default=28800, ge=300)
    console_cookie_secure: bool = False
    console_demo_login_file: Path = REPO_ROOT / "var" / "console-demo-login.txt"
    console_bundle: Path = REPO_ROOT / "web" / "dist" / "console.js"
    action_token: str = ""
    action_host: str = "127.0.0.1"
    redis_url: str = ""
    order_verify_ttl_s: int = Field(default=900, ge=30)
    order_lookup_failures_per_email: int = Field(default=5, ge=1)
    console_login_failures_per_ip: int = Field(default=20, ge=1)
    console_login_concurrency: int = Field(default=2, ge=1, le=16)
    tracker_db_url: str = f"sqlite:///{REPO_ROOT / 'var' / 'tracker.db'}"
    tracker_retention_days: int = Field(default=30, ge=0)
    log_format: Literal["text", "json"] = "text"
    prometheus_multiproc_dir: str = Field(default="", validation_alias="PROMETHEUS_MULTIPROC_DIR")
    metrics_token: SecretStr = SecretStr("")
    public_url: str = "http://127.0.0.1:8000"
    intent_judge: bool = False
    intent_judge_timeout_s: float = Field(default=1.5, gt=0, le=30)
    intent_judge_candidates: int = Field(default=4, ge=2, le=10)
    commerce_backend: Literal["builtin", "shopify", "woocommerce"] = "builtin"
    shopify_domain: str = ""
    shopify_token: SecretStr = SecretStr("")
    shopify_api_version: str = Field(default="2025-01", pattern=r"^\d{4}-\d{2}$|^unstable$")
    shopify_webhook_secret: SecretStr = SecretStr("")
    shopify_client_id: str = ""
    woocommerce_url: str = ""
    woocommerce_key: SecretStr = SecretStr("")
    woocommerce_secret: SecretStr = SecretStr("")
    woocommerce_webhook_secret: SecretStr = SecretStr("")
    woocommerce_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    woocommerce_allow_refunds: bool = False
    woocommerce_completed_means_delivered: bool = False
    woocommerce_query_auth: bool = False
    commerce_webhook_port: int = Field(default=8002, ge=1, le=65535)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_reply_to: str = ""
    smtp_starttls: bool = True
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    analytics_amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/%2F")
    analytics_queue: str = Field(default="shop_events", min_length=1, max_length=255)
    analytics_exchange: str = Field(default="", max_length=255)

    @model_validator(mode="after")
    def _commerce_backend_complete(self) -> Settings:
        """The chosen commerce backend has every setting it needs (named by variable)."""
        needed = {
            "shopify": {"SHOP_SHOPIFY_DOMAIN": self.shopify_domain,
                        "SHOP_SHOPIFY_TOKEN (or SHOP_SHOPIFY_CLIENT_ID)":
                            self.shopify_token.get_secret_value() or self.shopify_client_id,
                        "SHOP_SHOPIFY_WEBHOOK_SECRET": self.shopify_webhook_secret.get_secret_value()},
            "woocommerce": {"SHOP_WOOCOMMERCE_URL": self.woocommerce_url,
                            "SHOP_WOOCOMMERCE_KEY": self.woocommerce_key.get_secret_value(),
                            "SHOP_WOOCOMMERCE_SECRET": self.woocommerce_secret.get_secret_value(),
                            "SHOP_WOOCOMMERCE_WEBHOOK_SECRET": self.woocommerce_webhook_secret.get_secret_value()},
        }.get(self.commerce_backend, {})
        missing = [name for name, value in needed.items() if not value.strip()]
        if missing:
            raise ValueError(f"SHOP_COMMERCE_BACKEND={self.commerce_backend} needs {', '.join(missing)} "
                             f"(unset or empty); set {'it' if len(missing) == 1 else 'them'}, or use "
                             "SHOP_COMMERCE_BACKEND=builtin (the shop's own database)")
        return self


    @field_validator("shop_name", "shop_description", "shop_tone")
    @classmethod
    def _fit_for_prompts(cls, value: str, info: ValidationInfo) -> str:
        """The shop's name, description and tone go into prompts and replies: plain text
        on one line, no prompt markers or instructions (see ``models.llm.shop_voice``)."""
        check = {"shop_name": check_shop_name, "shop_description": check_shop_description,
                 "shop_tone": check_shop_tone}[str(info.field_name)]
        text = check(value)
        if info.field_name == "shop_name" and not text:
            raise ValueError("shop_name must not be empty")
        return text

@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first call."""
    return Settings()
