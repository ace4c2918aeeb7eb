"""What the console app is built from: :class:`ConsoleConfig` (plain values, from the
settings), :class:`Assist` (the agent-assist functions, replaceable in tests) and
:class:`Console` (both plus the clock and the relay, shared by the routes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from apps.console.auth import LoginLimit, SessionPolicy
from apps.http_metrics import MetricsConfig
from shop.assist.panel import customer_panel
from shop.assist.suggested_replies import suggest_replies, summarize
from shop.db.engine import session_scope
from shop.handoff.mailer import SmtpConfig
from shop.handoff.relay import deliver
from shop.services.llm import get_llm_runner
from shop.services.llm_voice import get_shop_voice
from shop.services.recommendations import get_model_holder
from shop.settings import get_settings


def utcnow() -> datetime:
    """Now as naive UTC (how the shop database stores times)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class ConsoleConfig:
    """Attributes:
        database_url: the shop database.
        rasa_url: the Rasa server, where the relay (``/webhooks/agent/send``) lives.
        relay_secret: HMAC secret of the relay (``SHOP_RELAY_SECRET``).
        bundle: the built front end (``web/dist/console.js``), served at ``/assets/console.js``.
        session: idle/absolute session limits (default 30 min / 8 h).
        login_limit: failed logins per email per window (default 5 per 5 min), failures per
            client address before any password is checked (default 20 per 15 min; shared
            through Redis when set) and password checks at once (default 2).
        cookie_secure: always mark cookies Secure (they are anyway on https requests).
        assist_timeout_s: seconds the summary and suggestions may take before the view
            gives up on them (default 20).
        promo_code_days: days an offer code an agent sends stays valid.
        sse_poll_s: seconds between the event stream's database polls (default 1).
        sse_heartbeat_s: seconds of silence before the stream sends a comment (15).
        deliver_timeout_s: seconds one relay call may take (default 15).
        shop_name: the shop's name, as the pages show it.
        metrics: ``/metrics`` settings (multiprocess folder, bearer token; ``apps.http_metrics``).
        smtp: the mail server ticket replies go out through (``SHOP_SMTP_*``,
            ``shop.handoff.mailer``); unset: replies are kept, marked failed.
    """

    database_url: str
    rasa_url: str = "http://127.0.0.1:5005"
    relay_secret: str = ""
    bundle: Path = Path("web/dist/console.js")
    session: SessionPolicy = field(default_factory=SessionPolicy)
    login_limit: LoginLimit = field(default_factory=LoginLimit)
    cookie_secure: bool = False
    assist_timeout_s: float = 20.0
    promo_code_days: int = 7
    sse_poll_s: float = 1.0
    sse_heartbeat_s: float = 15.0
    deliver_timeout_s: float = 15.0
    shop_name: str = "Ridgeline Outfitters"
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


def _customer_panel(session: Session, *, handoff: Any, now: datetime) -> Any:
    """The panel with recommendations from the served preference model (the same
    hot-swapped holder the recommend action uses; bestsellers while none is trained)."""

    settings = get_settings()
    holder = get_model_holder(str(settings.recommend_model_dir), settings.recommend_check_s)
    return customer_panel(session, handoff=handoff, now=now, holder=holder)


async def _summarize(*, transcript: list[dict], panel: Any, runner: Any) -> Any:

    return await summarize(transcript=transcript, panel=panel, runner=runner, voice=get_shop_voice())


async def _suggest_replies(*, transcript: list[dict], panel: Any, runner: Any, count: int = 3) -> list[Any]:

    return await suggest_replies(transcript=transcript, panel=panel, runner=runner, count=count,
                                 voice=get_shop_voice())


def _llm_runner() -> Any:

    return get_llm_runner()


async def _deliver(**kwargs: Any) -> bool:

    return await deliver(**kwargs)


@dataclass(frozen=True)
class Assist:
    """The agent-assist functions (``shop.assist``), imported on first use:

    - ``panel(session, *, handoff, now)`` -> an object with ``.as_dict()``, ``.offers``
      (``[{"offer_id", ...}]``) and ``.products``;
    - ``summarize(*, transcript, panel, runner)`` -> ``.text``, ``.source``;
    - ``suggest_replies(*, transcript, panel, runner, count)`` -> ``[.key, .text, .source]``;
    - ``runner()`` -> the LLM runner or ``None`` (templates only).
    """

    panel: Callable[..., Any] = _customer_panel
    summarize: Callable[..., Awaitable[Any]] = _summarize
    suggest_replies: Callable[..., Awaitable[list[Any]]] = _suggest_replies
    runner: Callable[[], Any] = _llm_runner


@dataclass(frozen=True)
class Console:
    """Everything a route needs: ``config``; ``clock()`` -> naive UTC now; ``assist``;
    ``deliver(rasa_url=, secret=, sender_id=, channel=, message=)`` (sync or async,
    default ``shop.handoff.relay.deliver``): ``True`` when it went out, ``False`` when
    the channel cannot take it now; raises ``RelayError`` when the relay failed."""

    config: ConsoleConfig
    clock: Callable[[], datetime] = utcnow
    assist: Assist = field(default_factory=Assist)
    deliver: Callable[..., Any] = _deliver

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A session that commits on success (``shop.db.engine.session_scope``)."""
        with session_scope(self.config.database_url) as session:
            yield session
