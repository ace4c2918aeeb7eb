"""The handoff gate (Rasa server): every inbound shopper message, on every shop channel,
first asks the action server whether it goes to the bot or to people.

Each shop channel class wraps the ``on_new_message`` Rasa gives its ``blueprint()``
with :func:`gated` (after the channel's own message checks, which stay first). For
each message the gate posts to ``<action server>/handoff/inbound``
(:attr:`bot.bot_settings.BotSettings.handoff_inbound_url`)::

    {"sender_id": "…", "channel": "rest" | "socketio" | "telegram" | "slack" | "twilio",
     "text": "…", "customer_id": "42" | null,   # only a signed (verified) customer id
     "history": [{"author": "shopper" | "bot", "text": "…", "at": 1764030000.5}, …]}

``history``: the conversation's last :data:`HISTORY_LIMIT` user/bot texts of its latest
session from the tracker store (oldest first, ``at`` in epoch seconds; form answers
included, undone messages not: :func:`spoken_events`), so the console can show what
came before a handoff. On an SQL tracker store they are read by one small query
(:func:`sql_history`), not by rebuilding the tracker. The answer::

    {"route": "bot" | "agent", "replies": [{"text": "…", "custom"?: {…}, "agent_name"?: "…"}],
     "handoff_id": 7 | null}

``replies`` (staff messages still undelivered on this channel, a queue notice) go out
on the message's own output channel first; then ``route`` ``bot`` runs the dialogue
as usual and ``agent`` does not (the message went to the console).
:func:`take_pending` asks ``/handoff/pending`` for the undelivered staff messages
alone (the socket.io channel calls it when a shopper's page reconnects).

When the action server can't be asked (unreachable, timeout after
``SHOP_HANDOFF_GATE_TIMEOUT_S``, an error status, a malformed answer):

- a conversation last seen routed to people (:data:`IN_HANDOFF`) does *not* go to
  the bot: the message is kept in :data:`SPOOL`, the shopper is told the team will see
  it (:data:`SPOOLED_NOTICE`), and a background task posts it again until the action
  server takes it (then it joins the handoff's transcript as usual); later messages
  of that conversation queue behind it, so the order is kept;
- any other conversation goes to the bot (fail open), with one warning in the log.

Both live where :mod:`bot.shared_state` keeps conversation state: with
``SHOP_REDIS_URL``, in Redis, shared by every Rasa process (a conversation handed to
people on process A is known on process B; a message spooled by A is posted by
whichever process retries first, also after A was killed; each conversation's spool
is drained by one process at a time, under a claim); without it, in this process
(bounded). The spool's keys are :func:`bot.degrade.conversation_key` hashes; an item
whose channel and sender are not its queue's is dropped, never posted.

Requests are signed with ``SHOP_RELAY_SECRET`` (``X-Shop-Relay-Signature``,
``-Timestamp``, ``-Nonce``: :func:`protocol.handoff.signed_headers`; a fresh nonce for
every attempt). Without it the gate does not ask at all (the action server refuses
unsigned requests) and every message goes to the bot.

:data:`CHANNELS` also records each shop channel instance by name, so the relay
(:mod:`bot.agent_relay`) can find a conversation's output channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)

from bot.bot_settings import get_bot_settings
from bot.degrade import SharedSource, conversation_key
from bot.shared_state import Queues, get_queues, get_strings
from protocol import redact
from protocol.handoff import TO_BOT, Decision, parse_decision, route_message, signed_headers

logger = logging.getLogger(__name__)

HISTORY_LIMIT = 20
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
#: how long a conversation stays known to be with people after the gate last saw it so (a day)
IN_HANDOFF_TTL_S = 24 * 3600
#: how long one process may drain a conversation's spool before another may take over
FLUSH_CLAIM_S = 60.0
#: how often a process looks for spooled messages that no live process is retrying
ORPHAN_CHECK_S = RETRY_MAX_S
#: what the shopper is told when their message waits in the spool for the action server
SPOOLED_NOTICE = ("We have your message and the team will see it as soon as possible; "
                  "there is no need to send it again.")
#: answers after which posting the same body again cannot succeed (it is dropped)
HOPELESS_STATUSES = frozenset({400, 413})

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

#: shop channel instances by ``name()`` ("rest", "socketio", "telegram", …), filled in
#: by :func:`gated` from each channel's ``blueprint()``
CHANNELS: dict[str, InputChannel] = {}


def _agent() -> Any:
    """The Rasa agent of the running server (``app.ctx.agent``), or ``None``."""
    from sanic import Sanic
    from sanic.exceptions import SanicException

    try:
        apps = [Sanic.get_app()]
    except SanicException:
        apps = list(Sanic._app_registry.values())  # more than one app: the one with an agent
    for app in apps:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            return agent
    return None


def spoken_events(events: list[Any]) -> list[Any]:
    """The latest session's events as the shopper saw them: what a restart, a session
    start, a rewind (``UserUtteranceReverted``) or an undo (``ActionReverted``) removed is
    left out, as in Rasa's ``applied_events``, but not the texts a shopper typed into a
    form (``applied_events`` drops those for the policies' sake; staff should see them)."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
        UserUttered,
    )

    def undo_till(kind: type, done: list[Any]) -> None:  # Rasa's _undo_till_previous
        while done:
            if isinstance(done.pop(), kind):
                return

    out: list[Any] = []
    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            out = []
        elif isinstance(event, ActionReverted):
            undo_till(ActionExecuted, out)
        elif isinstance(event, UserUtteranceReverted):
            undo_till(UserUttered, out)
            undo_till(ActionExecuted, out)
        else:
            out.append(event)
    return out


def history_from_events(events: list[Any], *, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The last ``limit`` user/bot texts of tracker ``events`` (Rasa event objects),
    oldest first: ``[{"author": "shopper" | "bot", "text", "at"}]``."""
    from rasa.shared.core.events import BotUttered, UserUttered

    out = []
    for event in events:
        if isinstance(event, (UserUttered, BotUttered)) and event.text and event.text.strip():
            out.append({"author": "shopper" if isinstance(event, UserUttered) else "bot",
                        "text": event.text[:4000], "at": float(event.timestamp or 0)})
    return out[-limit:]


async def conversation_history(sender_id: str) -> list[dict[str, Any]]:
    """The conversation's recent texts from the tracker store (empty when there is
    none or it cannot be read; a failure is logged, never raised)."""
    agent = _agent()
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return []
    try:
        quick = sql_history(store, sender_id)
        if quick is not None:
            return quick
        tracker = await store.retrieve(sender_id)
    except Exception as exc:
        logger.warning("handoff gate: could not read the history of %s: %s", sender_id, exc)
        return []
    return history_from_events(spoken_events(list(tracker.events))) if tracker is not None else []


#: events after which the applied history differs from the stored one (only the whole
#: tracker says what they undid)
UNDOING_EVENTS = ("rewind", "undo", "restart")


def sql_history(store: Any, sender_id: str, *, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]] | None:
    """The same as ``history_from_events(spoken_events(tracker.events))`` of the latest
    session, read from Rasa's SQL tracker store in one small query (the latest user and
    bot rows, newest first, at most ``2 * limit``) instead of rebuilding the whole
    tracker, which the gate would otherwise do for every message. ``None`` when
    ``store`` is not SQL (under Rasa's wrappers), an event that undoes others is among
    the rows read, or so many of them have no text that older texts may be missing:
    then the caller rebuilds the tracker. An undoing event older than the
    rows read only undoes events older still, so it changes nothing here."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted
    from sqlalchemy import func, or_

    inner = store
    for _ in range(4):  # Rasa wraps it: FailSafeTrackerStore(AwaitableTrackerStore(SQLTrackerStore))
        if isinstance(inner, SQLTrackerStore):
            break
        inner = getattr(inner, "_tracker_store", None)
    if not isinstance(inner, SQLTrackerStore):
        return None
    event = inner.SQLEvent
    with inner.session_scope() as session:
        start = (session.query(func.max(event.timestamp).label("at"))
                 .filter(event.sender_id == sender_id, event.type_name == SessionStarted.type_name).subquery())
        rows = (session.query(event.type_name, event.data)
                .filter(event.sender_id == sender_id, event.type_name.in_(("user", "bot", *UNDOING_EVENTS)),
                        or_(event.timestamp >= start.c.at, start.c.at.is_(None)))
                .order_by(event.id.desc()).limit(2 * limit).all())
    if any(kind in UNDOING_EVENTS for kind, _ in rows):
        return None
    out = []
    for _, data in reversed(rows):
        raw = json.loads(data)
        text = raw.get("text")
        if isinstance(text, str) and text.strip():
            out.append({"author": "shopper" if raw.get("event") == "user" else "bot", "text": text[:4000],
                        "at": float(raw.get("timestamp") or 0)})
    if len(out) < limit and len(rows) == 2 * limit:
        return None  # many rows without text (cards only): older texts may be missing, rebuild instead
    return out[-limit:]


Key = tuple[str, str]  # (channel name, sender id)


class HandoffMemory:
    """Conversations last seen routed to people: in the shared store of ``shared``
    (for ``ttl_s`` seconds, default a day), or in this process, at most
    ``max_conversations`` (the least recently seen are forgotten first)."""

    def __init__(self, *, max_conversations: int = 10_000, shared: SharedSource | None = None,
                 ttl_s: float = IN_HANDOFF_TTL_S) -> None:
        self.max_conversations = max_conversations
        self.shared, self.ttl_s = shared, ttl_s
        self._keys: OrderedDict[Key, None] = OrderedDict()

    def note(self, key: Key, *, with_people: bool) -> None:
        """Record where the action server last routed the conversation ``key``."""
        store = self.shared() if self.shared is not None else None
        if store is not None:
            owner = conversation_key(*key)
            if with_people:
                store.set("handoff:" + owner, owner, ttl_s=self.ttl_s)
            else:
                store.delete("handoff:" + owner)
            return
        self._keys.pop(key, None)
        if with_people:
            self._keys[key] = None
            while len(self._keys) > self.max_conversations:
                self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            return False
        store = self.shared() if self.shared is not None else None
        if store is not None:
            owner = conversation_key(key[0], key[1])
            return store.get("handoff:" + owner) == owner
        return key in self._keys

    def clear(self) -> None:
        """Forget this process's own records (shared ones expire)."""
        self._keys.clear()


@dataclass
class Spooled:
    """A shopper message of a handed-off conversation waiting for the action server;
    ``raw``: its stored form (set once spooled)."""

    key: Key
    payload: dict[str, Any]
    attempts: int = 0
    raw: str = ""


class Spool:
    """Messages waiting for the action server: a queue per conversation in ``queues``
    (:func:`bot.shared_state.get_queues`, looked up on first use), oldest first, at
    most :data:`bot.shared_state.QUEUE_MAX_ITEMS` per conversation (when full, the
    oldest is dropped and logged as an error)."""

    def __init__(self, queues: Callable[[], Queues] = get_queues) -> None:
        self.queues = queues

    def add(self, item: Spooled) -> None:
        channel, sender = item.key
        item.raw = self.queues().push(conversation_key(channel, sender),
                                      {"channel": channel, "sender": sender, "payload": item.payload})

    def holds(self, key: Key) -> bool:
        return self.queues().size(conversation_key(*key)) > 0

    def of(self, key: Key) -> list[Spooled]:
        """The conversation's messages, oldest first. One stored under this
        conversation's key but naming another conversation is removed and logged."""
        queue_key = conversation_key(*key)
        out = []
        for raw, item in self.queues().items(queue_key):
            if (item.get("channel"), item.get("sender")) != key or not isinstance(item.get("payload"), dict):
                logger.error("handoff gate: a spooled item under %s names another conversation; dropped",
                             queue_key[:12])
                self.queues().remove(queue_key, raw)
                continue
            out.append(Spooled(key, item["payload"], raw=raw))
        return out

    def conversations(self) -> list[Key]:
        """The conversations with waiting messages (read from each queue's oldest item)."""
        found = []
        for queue_key in self.queues().nonempty():
            items = self.queues().items(queue_key)
            if items and isinstance(items[0][1].get("channel"), str) and isinstance(items[0][1].get("sender"), str):
                found.append((items[0][1]["channel"], items[0][1]["sender"]))
        return found

    def remove(self, item: Spooled) -> None:
        self.queues().remove(conversation_key(*item.key), item.raw)

    def __len__(self) -> int:
        return self.queues().total()


#: conversations the gate last saw routed to people (shared when Redis is configured)
IN_HANDOFF = HandoffMemory(shared=get_strings)
#: messages of such conversations waiting for the action server (shared when Redis is configured)
SPOOL = Spool()
#: this process's name in the spool's claims
PROCESS_ID = uuid.uuid4().hex
_retry_task: asyncio.Task[None] | None = None
_flushing: set[Key] = set()  # conversations whose spooled messages this process is posting now
_orphans_checked_at = -float("inf")


def pending_url(inbound_url: str) -> str:
    """``…/handoff/pending`` next to the gate's ``…/handoff/inbound``."""
    return inbound_url.rsplit("/", 1)[0] + "/pending"


async def post_signed(url: str, payload: dict[str, Any]) -> tuple[int | None, Any]:
    """POST ``payload`` signed with ``SHOP_RELAY_SECRET``: ``(status, JSON)``, or
    ``(None, reason)`` when it could not be sent or read (never raises)."""
    settings = get_bot_settings()
    if not settings.relay_secret:
        return None, "SHOP_RELAY_SECRET is not set"
    body = json.dumps(payload, ensure_ascii=False).encode()
    timeout = aiohttp.ClientTimeout(total=settings.handoff_gate_timeout_s)
    for attempt in (1, 2):
        headers = {"Content-Type": "application/json", **signed_headers(body, settings.relay_secret)}
        try:
            async with _http().post(url, data=body, headers=headers, timeout=timeout) as resp:
                if resp.status != 200:
                    return resp.status, None
                return 200, await resp.json(content_type=None)
        except aiohttp.ServerDisconnectedError as exc:
            if attempt == 2:  # once more: a kept-alive connection the other side had just closed
                return None, f"unreachable ({exc.__class__.__name__})"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return None, f"unreachable ({exc.__class__.__name__})"
    return None, "unreachable"


#: seconds an idle connection to the action server is kept (under Sanic's 5 s keep-alive)
KEEPALIVE_S = 4.0
_session: tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession] | None = None


def _http() -> aiohttp.ClientSession:
    """This process's HTTP client for the gate (made on first use in the running event
    loop): its connections to the action server are kept and reused, instead of a
    new session and connection for every message."""
    global _session
    loop = asyncio.get_running_loop()
    if _session is None or _session[0] is not loop or _session[1].closed:
        connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=KEEPALIVE_S)
        _session = (loop, aiohttp.ClientSession(connector=connector))
    return _session[1]


async def inbound_payload(message: UserMessage, *, channel: str) -> dict[str, Any]:
    """The ``/handoff/inbound`` body for ``message``."""
    metadata = message.metadata if isinstance(message.metadata, dict) else {}
    return {"sender_id": str(message.sender_id), "channel": channel, "text": message.text or "",
            "customer_id": metadata.get("customer_id"),
            "history": await conversation_history(str(message.sender_id))}


async def ask_once(payload: dict[str, Any]) -> Decision | str:
    """Where the message of ``payload`` goes, or why the action server can't say."""
    status, data = await post_signed(get_bot_settings().handoff_inbound_url, payload)
    if status is None:
        return str(data)
    decision = parse_decision(data) if status == 200 else None
    if decision is None:
        return f"answered {status}" if status != 200 else "answered malformed JSON"
    return decision


async def ask(message: UserMessage, *, channel: str) -> Decision:
    """Ask the action server where ``message`` goes. When it can't say, a conversation
    known to be with people is spooled (:func:`spool`), any other goes to the bot
    (one warning logged either way)."""
    key = (channel, str(message.sender_id))
    _look_for_orphans()
    if SPOOL.holds(key):
        await flush(key)  # earlier messages first
    payload = await inbound_payload(message, channel=channel)
    if SPOOL.holds(key):
        return spool(key, payload, why="earlier messages are still waiting")
    decision = await ask_once(payload)
    if isinstance(decision, str):
        if key in IN_HANDOFF:
            return spool(key, payload, why=decision)
        logger.warning("handoff gate: %s %s; message from %s goes to the bot",
                       get_bot_settings().handoff_inbound_url, decision, key[1])
        return TO_BOT
    IN_HANDOFF.note(key, with_people=decision.route == "agent")
    return decision


def spool(key: Key, payload: dict[str, Any], *, why: str) -> Decision:
    """Keep the message for the background retry; the shopper is told the team will see it."""
    SPOOL.add(Spooled(key, {**payload, "take_pending": False}))  # staff messages wait for a live reply
    logger.warning("handoff gate: %s; a message of %s (with people) is spooled, %d waiting",
                   why, key[1], len(SPOOL))
    _ensure_retrying()
    return Decision("agent", [{"text": SPOOLED_NOTICE}], None)


async def flush(key: Key) -> int:
    """Post the spooled messages of ``key`` in order until one is not taken; how many
    were (0 at once when another task is posting them: each is posted once at a time)."""
    if key in _flushing:
        return 0
    queues, claim = SPOOL.queues(), conversation_key(*key)
    if not queues.claim(claim, owner=PROCESS_ID, ttl_s=FLUSH_CLAIM_S):
        return 0  # another process is posting them
    _flushing.add(key)
    try:
        return await _flush(key)
    finally:
        _flushing.discard(key)
        queues.release(claim, owner=PROCESS_ID)


async def _flush(key: Key) -> int:
    url = get_bot_settings().handoff_inbound_url
    taken = 0
    for item in SPOOL.of(key):
        if not SPOOL.queues().claim(conversation_key(*key), owner=PROCESS_ID, ttl_s=FLUSH_CLAIM_S):
            break  # our claim ran out and another process took over
        item.attempts += 1
        status, data = await post_signed(url, item.payload)
        decision = parse_decision(data) if status == 200 else None
        if decision is not None:
            SPOOL.remove(item)
            IN_HANDOFF.note(key, with_people=decision.route == "agent")
            taken += 1
            continue
        if status in HOPELESS_STATUSES:
            SPOOL.remove(item)
            logger.error("handoff gate: %s refused a spooled message of %s (%s); dropped", url, key[1], status)
            continue
        break
    return taken


async def retry_spool(*, first_s: float = RETRY_FIRST_S, max_s: float = RETRY_MAX_S) -> None:
    """Post the spooled messages again until none is left (waits ``first_s``, doubling
    up to ``max_s`` while nothing is taken)."""
    delay = first_s
    while len(SPOOL):
        await asyncio.sleep(delay)
        taken = 0
        for key in SPOOL.conversations():
            taken += await flush(key)
        delay = first_s if taken else min(delay * 2, max_s)


def _ensure_retrying() -> None:
    global _retry_task
    if _retry_task is None or _retry_task.done():
        _retry_task = asyncio.get_running_loop().create_task(retry_spool())


def _look_for_orphans() -> None:
    """At most every :data:`ORPHAN_CHECK_S`: when messages wait in the (shared) spool and
    this process is not retrying, start retrying (the process that spooled them may be gone)."""
    global _orphans_checked_at
    now = time.monotonic()
    if now - _orphans_checked_at < ORPHAN_CHECK_S or (_retry_task is not None and not _retry_task.done()):
        return
    _orphans_checked_at = now
    if len(SPOOL):
        _ensure_retrying()


async def take_pending(sender_id: str, *, channel: str) -> list[dict[str, Any]]:
    """The conversation's staff messages still undelivered on ``channel`` (marked
    delivered by the action server): ``[{"text"?, "custom"?, "agent_name"?}]``; ``[]``
    when there are none or the action server can't be asked (never raises)."""
    url = pending_url(get_bot_settings().handoff_inbound_url)
    status, data = await post_signed(url, {"sender_id": str(sender_id), "channel": channel})
    replies = data.get("replies") if status == 200 and isinstance(data, dict) else None
    if not isinstance(replies, list):
        logger.warning("handoff gate: no pending messages from %s (%s)", url, data if status is None else status)
        return []
    out: list[dict[str, Any]] = []
    for raw in replies:  # each checked alone: one odd reply must not lose the others (already marked delivered)
        checked = parse_decision({"route": "bot", "replies": [raw]})
        out.extend(checked.replies if checked is not None else [])
    return out


async def send_replies(output: OutputChannel | None, recipient_id: str, replies: list[dict[str, Any]]) -> None:
    """Send ``replies`` on ``output``. The REST collector gets each as one message
    (text, custom payload and ``agent_name`` together); other channels get
    ``send_response``."""
    if output is None:
        return
    for reply in replies:
        if isinstance(output, CollectingOutputChannel):
            output.messages.append({"recipient_id": recipient_id, **reply})
        else:
            await output.send_response(recipient_id, dict(reply))


def validate_action_results_once() -> None:
    """Make Rasa check each action server answer with one validator built at start.

    Rasa's ``RemoteAction`` validates every answer with ``jsonschema.validate``, which
    first checks Rasa's own schema (constant, and large: every event type) against the
    JSON Schema metaschema, every time: measured under load, that was 39% of a shop
    Rasa process's CPU (a bare Rasa bot calls no actions). Here the schema is checked
    once and every answer is still validated against it, with Rasa's error message."""
    from jsonschema.exceptions import ValidationError, best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction, "_validator_built_once", False):
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def validate(_action: RemoteAction, result: dict[str, Any]) -> bool:
        error: ValidationError | None = best_match(validator.iter_errors(result))  # as jsonschema.validate
        if error is not None:
            error.message += (". Failed to validate Action server response from API, make sure your response from "
                              f"the Action endpoint is valid. For more information about the format visit "
                              f"{DOCS_BASE_URL}/custom-actions")
            raise error
        return True

    RemoteAction._validate_action_result = validate  # type: ignore[method-assign]
    RemoteAction._validator_built_once = True  # type: ignore[attr-defined]


def gated(channel: InputChannel, on_new_message: OnNewMessage) -> OnNewMessage:
    """``on_new_message`` behind the gate, for ``channel`` (which is also recorded in
    :data:`CHANNELS` for the relay). Call it in the channel's ``blueprint()``.

    Every shop channel passes here once at startup, after Rasa has set up logging, so
    this is also where the process's log handlers get the redaction filter (e-mails and
    phone numbers masked in every record) and Rasa's check of the action server's
    answers gets its validator built once (:func:`validate_action_results_once`)."""
    name = channel.name()
    CHANNELS[name] = channel
    redact.install(*logging.getLogger().handlers)
    validate_action_results_once()

    async def handle(message: UserMessage) -> None:
        sender = str(message.sender_id)

        async def send(replies: list[dict[str, Any]]) -> None:
            await send_replies(message.output_channel, sender, replies)

        await route_message(ask=lambda: ask(message, channel=name), send=send,
                            dialogue=lambda: on_new_message(message))

    return handle
