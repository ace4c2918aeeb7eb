"""Where analytics events come from: the RabbitMQ queue Rasa's event broker fills
(production), or the SQL tracker store itself (``make run``, no broker).

:func:`consume_queue` reads the durable queue the pika broker of
``bot/endpoints.production.yml`` binds (``RASA_BROKER_QUEUE``) in batches, stores each
batch in one transaction and acknowledges the batch only after the commit: a consumer
that dies before acknowledging gets the batch again (RabbitMQ redelivers what was not
acknowledged), and the idempotency key counts every event once. A message that is not
JSON, or too big, is acknowledged and counted as skipped (never redelivered forever);
a database error sends the batch back to the queue (``nack``, requeued) and waits.

:func:`ingest_tracker` reads the new rows of the tracker store's ``events`` table after
the cursor kept in the shop database (``analytics_cursors``), a batch per transaction,
re-reading a few rows before it (events committed late by another writer; they are
duplicates otherwise); run it as often as wanted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pika
import pika.exceptions
from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from shop.analytics.ingest import IngestResult, read_all, store_read
from shop.db.analytics_tables import AnalyticsCursor
from shop.db.engine import session_scope

logger = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes: Rasa's events are far smaller
OVERLAP_ROWS = 200
RETRY_S = 2.0


@dataclass
class Progress:
    """What a consumer did so far: ``messages`` received, batches committed, and the
    :class:`IngestResult` totals."""

    messages: int = 0
    batches: int = 0
    result: IngestResult | None = None

    def add(self, result: IngestResult) -> None:
        if self.result is None:
            self.result = IngestResult()
        self.result.add(result)
        self.batches += 1


def _decode(body: bytes, result: IngestResult) -> object | None:
    """A message body as JSON; ``None`` (counted as skipped) when it is not."""
    if len(body) > MAX_BODY:
        reason = f"message over {MAX_BODY} bytes"
    else:
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            reason = "message is not JSON"
    result.skipped += 1
    result.reasons[reason] += 1
    return None


def store_bodies(database_url: str, bodies: list[bytes]) -> IngestResult:
    """Decode and store one batch of message bodies in one transaction (committed on return)."""
    result = IngestResult()
    decoded = [event for body in bodies if (event := _decode(body, result)) is not None]
    events = read_all(decoded, result)
    with session_scope(database_url) as session:
        store_read(session, events=events, result=result)
    return result


def consume_queue(*, amqp_url: str, queue: str, database_url: str, once: bool = False, batch_size: int = 200,
                  idle_s: float = 1.0, exchange: str | None = None, stop: threading.Event | None = None,
                  after_commit: Callable[[IngestResult], None] | None = None,
                  progress: Progress | None = None) -> Progress:
    """Consume ``queue`` at ``amqp_url`` into the database at ``database_url`` (see the
    module doc) until ``stop`` is set, or, with ``once``, until the queue has been empty
    for ``idle_s`` seconds. ``exchange``: also declare Rasa's durable fanout exchange and
    bind the queue to it (for a consumer started before the Rasa server).
    ``after_commit``: called after each batch's commit, before its acknowledgement.

    Raises:
        pika.exceptions.AMQPError: RabbitMQ refused the connection or went away.
    """
    progress = progress or Progress()
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue=queue, durable=True)
        if exchange:
            channel.exchange_declare(exchange=exchange, exchange_type="fanout", durable=True)
            channel.queue_bind(queue=queue, exchange=exchange)
        channel.basic_qos(prefetch_count=batch_size)
        pending: list[tuple[int, bytes]] = []

        def flush() -> None:
            last = pending[-1][0]
            try:
                result = store_bodies(database_url, [body for _, body in pending])
            except SQLAlchemyError as exc:
                logger.error("analytics batch of %d events not stored, back to the queue: %s", len(pending),
                             str(exc).splitlines()[0])
                channel.basic_nack(delivery_tag=last, multiple=True, requeue=True)
                pending.clear()
                time.sleep(RETRY_S)
                return
            if after_commit is not None:
                after_commit(result)
            channel.basic_ack(delivery_tag=last, multiple=True)
            progress.add(result)
            pending.clear()

        for method, _properties, body in channel.consume(queue, inactivity_timeout=idle_s):
            if method is not None:
                progress.messages += 1
                pending.append((method.delivery_tag, body))
            stopping = stop is not None and stop.is_set()
            if pending and (method is None or len(pending) >= batch_size or stopping):
                flush()
            if stopping or (method is None and once):
                break
        channel.cancel()
    finally:
        if connection.is_open:
            connection.close()
    return progress


def tracker_source(tracker_url: str) -> str:
    """The cursor's name for a tracker store: SHA-256 of its URL without the password."""
    shown = make_url(tracker_url).render_as_string(hide_password=True)
    return hashlib.sha256(shown.encode()).hexdigest()


def _cursor(database_url: str, source: str) -> int:
    with session_scope(database_url) as session:
        row = session.scalars(select(AnalyticsCursor).where(AnalyticsCursor.source == source)).first()
        return row.last_id if row is not None else 0


def _advance(session: Any, source: str, last_id: int) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    row = session.scalars(select(AnalyticsCursor).where(AnalyticsCursor.source == source)).first()
    if row is None:
        session.add(AnalyticsCursor(source=source, last_id=last_id, updated_at=now))
    elif last_id > row.last_id:
        row.last_id, row.updated_at = last_id, now
    session.flush()


def _tracker_rows(tracker: Engine, *, after: int, limit: int) -> list[tuple[int, str, str | None]]:
    events = Table("events", MetaData(), autoload_with=tracker)
    with tracker.connect() as conn:
        rows = conn.execute(select(events.c.id, events.c.sender_id, events.c.data)
                            .where(events.c.id > after).order_by(events.c.id).limit(limit))
        return [(int(i), str(sender), data) for i, sender, data in rows]


def ingest_tracker(*, tracker_url: str, database_url: str, batch_size: int = 1000,
                   tracker: Engine | None = None) -> Progress:
    """Store the tracker store's events added since the last run (see the module doc);
    a store without an ``events`` table (Rasa never ran) has nothing to read."""
    progress = Progress(result=IngestResult())
    own = tracker is None
    engine = tracker if tracker is not None else create_engine(tracker_url, hide_parameters=True)
    try:
        if not inspect(engine).has_table("events"):
            return progress
        source = tracker_source(tracker_url)
        cursor = _cursor(database_url, source)
        after = max(cursor - OVERLAP_ROWS, 0)
        while True:
            rows = _tracker_rows(engine, after=after, limit=batch_size)
            if not rows:
                break
            result = IngestResult()
            decoded: list[object] = []
            for _, sender, data in rows:
                event = _decode((data or "").encode("utf-8", "surrogatepass"), result)
                if isinstance(event, dict):
                    event = {**event, "sender_id": sender}
                if event is not None:
                    decoded.append(event)
            events = read_all(decoded, result)
            with session_scope(database_url) as session:
                store_read(session, events=events, result=result)
                _advance(session, source, rows[-1][0])
            progress.messages += len(rows)
            progress.add(result)
            after = rows[-1][0]
            if len(rows) < batch_size:
                break
    finally:
        if own:
            engine.dispose()
    return progress
