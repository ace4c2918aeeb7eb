"""Events in: Rasa tracker events stored once each, and the conversations they touch
recomputed.

:func:`record_events` takes broker-shaped events (the tracker event dict plus
``sender_id``) and returns how many were new. :func:`ingest_events` does the same and
says what happened to the rest: duplicates (already stored: a redelivery, or the same
event read twice), ignored (well-formed events analytics does not use) and skipped (bad
events: not an object, no sender, an unknown type, a bad timestamp; each reason
counted, never raised). Both run in the caller's transaction: the caller commits, and
only then acknowledges the events to their source, so a crash before the commit means
a redelivery, which the idempotency key then counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.analytics.event_shape import BadEvent, ReadEvent, read_event
from shop.analytics.rollup import rebuild_senders
from shop.db.analytics_tables import AnalyticsEvent

#: keys looked up per query (well under any database's parameter limit)
KEY_CHUNK = 500


@dataclass
class IngestResult:
    """What one call did: ``stored`` new events, ``duplicates``, ``ignored`` (types
    analytics does not use), ``skipped`` bad events with ``reasons`` (reason -> count),
    and the ``conversations`` of the touched senders after the rebuild."""

    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    conversations: int = 0

    def add(self, other: IngestResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.ignored += other.ignored
        self.skipped += other.skipped
        self.reasons.update(other.reasons)
        self.conversations += other.conversations


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def read_all(events: Iterable[object], result: IngestResult) -> list[ReadEvent]:
    """The readable events of ``events`` (first of each key), counting the others in ``result``."""
    read: dict[str, ReadEvent] = {}
    for raw in events:
        try:
            event = read_event(raw)
        except BadEvent as exc:
            result.skipped += 1
            result.reasons[str(exc)] += 1
            continue
        if event is None:
            result.ignored += 1
        elif event.key in read:
            result.duplicates += 1
        else:
            read[event.key] = event
    return list(read.values())


def store_read(session: Session, *, events: list[ReadEvent], result: IngestResult,
               now: datetime | None = None) -> None:
    """Store ``events`` not stored yet and rebuild the conversations of their senders."""
    known: set[str] = set()
    keys = [e.key for e in events]
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start:start + KEY_CHUNK]
        known.update(session.scalars(select(AnalyticsEvent.event_key).where(AnalyticsEvent.event_key.in_(chunk))))
    fresh = [e for e in events if e.key not in known]
    result.duplicates += len(events) - len(fresh)
    received = now or _utc_now()
    session.add_all([AnalyticsEvent(event_key=e.key, sender_id=e.sender_id, type=e.type, at=e.at, intent=e.intent,
                                    action=e.action, channel=e.channel, message_id=e.message_id, text=e.text,
                                    detail=e.detail, received_at=received) for e in fresh])
    # another consumer storing some of them meanwhile makes this flush raise
    # IntegrityError: the caller rolls back and the batch comes again, as duplicates
    session.flush()
    result.stored += len(fresh)
    if fresh:
        earliest: dict[str, datetime] = {}
        for e in fresh:
            earliest[e.sender_id] = min(e.at, earliest.get(e.sender_id, e.at))
        result.conversations += rebuild_senders(session, sender_ids=earliest, since=earliest)


def ingest_events(session: Session, *, events: Iterable[object], now: datetime | None = None) -> IngestResult:
    """Store the new ones of ``events`` (broker-shaped dicts) and rebuild the touched
    conversations; never raises for a bad event (see the module doc). The caller commits."""
    result = IngestResult()
    store_read(session, events=read_all(events, result), result=result, now=now)
    return result


def record_events(session: Session, *, events: Iterable[dict[str, object]]) -> int:
    """How many of ``events`` were newly stored (duplicates ignored, bad ones skipped
    and counted in :func:`ingest_events`'s result). The caller commits."""
    return ingest_events(session, events=events).stored
