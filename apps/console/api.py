"""The console's JSON API (all under ``/api``; see ``docs/agent-assist.md``).

Errors are ``{"detail": str}`` with: 401 without a live session (every route), 403
for a missing or wrong ``X-CSRF-Token`` on POST or a role that may not use the route
(audit, metrics, staff), 404 for a conversation that does not exist *or* is outside
an agent's teams (the two are not told apart), 409 for what the conversation's state
does not allow (the message says why), 422 for malformed input.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from apps.console.auth import CSRF_HEADER, SESSION_COOKIE, Staff, audit, resolve_session, same_token
from apps.console.staff import StaffError, create_staff
from apps.console.wiring import Console
from shop.db.schema import (
    AuditEntry,
    Customer,
    Handoff,
    HandoffMessage,
    Offer,
    StaffUser,
    SuggestionEvent,
)
from shop.handoff import service as handoffs
from shop.handoff.relay import RelayError
from shop.handoff.service import HandoffStateError
from shop.promo.copy import expiry_words
from shop.promo.offers import issue_code, terms_of
from shop.services.catalog import get_cards

logger = logging.getLogger(__name__)

MAX_MESSAGE = 2000
PREVIEW_CHARS = 140
TEMPLATE_TIMEOUT_S = 3.0
HANDBACK_TEXT = "You're back with the virtual assistant — ask me anything."
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as stored: NFC, without control characters (tab and newlines stay) or
    lone surrogates, which PostgreSQL cannot store; surrounding whitespace trimmed."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", _CONTROL.sub("", text))).strip()


def iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") + "Z" if at is not None else None


# --- request guards ------------------------------------------------------------------------


def staff_guard(console: Console, *, touch: bool = True) -> Callable[[Request], Staff]:
    """A dependency: the request's :class:`Staff`, else 401; for POST/PUT/PATCH/DELETE
    also the CSRF header, else 403."""

    def guard(request: Request) -> Staff:
        token = request.cookies.get(SESSION_COOKIE)
        with console.db() as session:
            staff = resolve_session(session, token=token, now=console.clock(), policy=console.config.session,
                                    touch=touch)
        if staff is None:
            raise HTTPException(401, "Log in to use the console.")
        if request.method in {"POST", "PUT", "PATCH", "DELETE"} and not same_token(
                request.headers.get(CSRF_HEADER), staff.csrf_token):
            raise HTTPException(403, "Missing or wrong CSRF token; reload the console.")
        return staff

    return guard


def require_role(staff: Staff, *roles: str) -> None:
    if staff.role not in roles:
        raise HTTPException(403, f"Only {' or '.join(roles)}s may do this.")


def visible_handoff(session: Session, staff: Staff, handoff_id: int) -> Handoff:
    """The handoff when it exists and ``staff`` may see its team, else 404."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or not staff.sees(handoff.team):
        raise HTTPException(404, "No such conversation.")
    return handoff


def require_writer(handoff: Handoff, staff: Staff) -> None:
    """409 unless the conversation is active and (for agents) theirs."""
    if handoff.status != "active":
        raise HTTPException(409, f"This conversation is {handoff.status.replace('_', ' ')}; "
                                 "accept it before writing to the shopper.")
    if handoff.assigned_to != staff.user_id and not staff.all_teams:
        raise HTTPException(409, "This conversation is with another agent.")


# --- views ---------------------------------------------------------------------------------


def _customer_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.first_name, Customer.last_name).where(Customer.id.in_(ids)))
    return {cid: f"{first} {last}".strip() for cid, first, last in rows}


def _staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))).all())


def handoff_dict(handoff: Handoff, *, now: datetime, customer_name: str | None,
                 assignee: str | None = None) -> dict[str, Any]:
    """``{"id", "channel", "team", "reason", "detail", "status", "created_at", "wait_s",
    "sentiment", "customer_id", "customer_name", "assigned_to", "assigned_name",
    "accepted_at", "ended_at"}``; ``wait_s``: seconds since it was opened."""
    return {"id": handoff.id, "channel": handoff.channel, "team": handoff.team, "reason": handoff.reason,
            "detail": handoff.detail, "status": handoff.status, "created_at": iso(handoff.created_at),
            "wait_s": max(0, int((now - handoff.created_at).total_seconds())),
            "sentiment": round(handoff.sentiment, 3) if handoff.sentiment is not None else None,
            "customer_id": handoff.customer_id, "customer_name": customer_name,
            "assigned_to": handoff.assigned_to, "assigned_name": assignee,
            "accepted_at": iso(handoff.accepted_at), "ended_at": iso(handoff.ended_at)}


def queue_items(session: Session, staff: Staff, *, now: datetime) -> list[dict[str, Any]]:
    """The open handoffs ``staff`` may see, oldest first: :func:`handoff_dict` plus
    ``preview`` (the last shopper message, 140 characters) and ``last_shopper_id``."""
    rows = handoffs.queue(session, teams=staff.visible_teams)
    if not rows:
        return []
    ids = [h.id for h in rows]
    last_ids = dict(session.execute(
        select(HandoffMessage.handoff_id, func.max(HandoffMessage.id))
        .where(HandoffMessage.handoff_id.in_(ids), HandoffMessage.author == "shopper")
        .group_by(HandoffMessage.handoff_id)).all())
    texts = dict(session.execute(select(HandoffMessage.id, HandoffMessage.text)
                                 .where(HandoffMessage.id.in_(list(last_ids.values())))).all()) if last_ids else {}
    names = _customer_names(session, {h.customer_id for h in rows if h.customer_id is not None})
    staff_names = _staff_names(session, {h.assigned_to for h in rows if h.assigned_to is not None})
    items = []
    for h in rows:
        item = handoff_dict(h, now=now, customer_name=names.get(h.customer_id),
                            assignee=staff_names.get(h.assigned_to))
        text = texts.get(last_ids.get(h.id), "")
        item["preview"] = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1] + "…"
        item["last_shopper_id"] = last_ids.get(h.id)
        items.append(item)
    return items


def message_dict(message: HandoffMessage, *, staff_names: dict[int, str]) -> dict[str, Any]:
    """``{"id", "handoff_id", "at", "author", "text", "payload", "delivered", "agent_name"}``."""
    return {"id": message.id, "handoff_id": message.handoff_id, "at": iso(message.at), "author": message.author,
            "text": message.text, "payload": message.payload, "delivered": message.delivered_at is not None,
            "agent_name": staff_names.get(message.staff_user_id) if message.staff_user_id else None}


def transcript(session: Session, handoff_id: int) -> list[dict[str, Any]]:
    """The handoff's messages, oldest first (:func:`message_dict`)."""
    rows = list(session.scalars(select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)
                                .order_by(HandoffMessage.at, HandoffMessage.id)))
    names = _staff_names(session, {m.staff_user_id for m in rows if m.staff_user_id is not None})
    return [message_dict(m, staff_names=names) for m in rows]


def assist_transcript(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript as ``shop.assist`` reads it: ``[{"author", "text", "at"}]``."""
    return [{"author": m["author"], "text": m["text"], "at": m["at"]} for m in items]


def load_panel(console: Console, session: Session, handoff: Handoff, now: datetime) -> Any | None:
    """The customer panel, or ``None`` when it fails (logged): the conversation stays
    usable without it. Runs in a savepoint so a failed query leaves the session usable."""
    try:
        with session.begin_nested():
            return console.assist.panel(session, handoff=handoff, now=now)
    except Exception:
        logger.exception("customer panel failed for handoff %s", handoff.id)
        return None


def panel_dict(panel: Any | None) -> dict[str, Any] | None:
    return panel.as_dict() if panel is not None else None


# --- request bodies ------------------------------------------------------------------------


class MessageIn(BaseModel):
    """A text for the shopper; ``suggestion_key``/``suggestion_event`` when it came from a
    suggested reply (``used`` as is or ``edited``), ``suggestion_text`` what was shown."""

    text: str = Field(min_length=1, max_length=MAX_MESSAGE)
    suggestion_key: str | None = Field(default=None, pattern=KEY_PATTERN)
    suggestion_event: Literal["used", "edited"] | None = None
    suggestion_text: str | None = Field(default=None, max_length=4000)
    suggestion_source: str | None = Field(default=None, max_length=16)


class CardIn(BaseModel):
    product_id: int = Field(ge=1)


class OfferIn(BaseModel):
    offer_id: int = Field(ge=1)


class SuggestionEventIn(BaseModel):
    handoff_id: int = Field(ge=1)
    event: Literal["shown", "ignored"]
    text: str = Field(default="", max_length=4000)
    source: str = Field(default="llm", max_length=16)


class StaffIn(BaseModel):
    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=12, max_length=256)
    role: Literal["agent", "supervisor", "admin"] = "agent"
    teams: list[str] = Field(default_factory=list, max_length=20)


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A stored agent/system message waiting for the relay."""

    message_id: int
    sender_id: str
    channel: str
    text: str
    payload: dict[str, Any] | None


async def deliver(console: Console, outgoing: Outgoing, *, agent_name: str) -> str | None:
    """Relay ``outgoing`` to the shopper's channel; on success marks it delivered and
    returns ``None``, else the reason (the message stays with ``delivered_at`` unset)."""
    message: dict[str, Any] = {"text": outgoing.text, "agent_name": agent_name}
    if outgoing.payload is not None:
        message["custom"] = outgoing.payload
    kwargs = {"rasa_url": console.config.rasa_url, "secret": console.config.relay_secret,
              "sender_id": outgoing.sender_id, "channel": outgoing.channel, "message": message}
    try:
        if inspect.iscoroutinefunction(console.deliver):
            result = await asyncio.wait_for(console.deliver(**kwargs), console.config.deliver_timeout_s)
        else:
            result = await asyncio.wait_for(run_in_threadpool(console.deliver, **kwargs),
                                            console.config.deliver_timeout_s)
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, console.config.deliver_timeout_s)
    except TimeoutError:
        logger.warning("relay timed out for message %s", outgoing.message_id)
        return "the relay did not answer in time"
    except (RelayError, httpx.HTTPError, OSError) as exc:
        logger.warning("relay failed for message %s: %s", outgoing.message_id, exc)
        return "the relay failed" + (f": {str(exc)[:160]}" if str(exc) else "")
    if result is False:
        return "the shopper's channel cannot take it right now"

    def mark() -> None:
        with console.db() as session:
            row = session.get(HandoffMessage, outgoing.message_id)
            if row is not None and row.delivered_at is None:
                row.delivered_at = console.clock()

    await run_in_threadpool(mark)
    return None


def _sent_reply(message: dict[str, Any], error: str | None, **extra: Any) -> dict[str, Any]:
    message = {**message, "delivered": error is None}
    reply = {"message": message, "delivered": error is None, **extra}
    if error is not None:
        reply["warning"] = f"Saved, but not delivered yet ({error}). The shopper sees it with their next message."
    return reply


def _store(console: Console, staff: Staff, handoff_id: int, build: Callable[[Session, Handoff, datetime], tuple[
        str, dict[str, Any] | None, str, dict[str, Any]]]) -> tuple[Outgoing, dict[str, Any]]:
    """Check the conversation, let ``build`` make ``(text, payload, audit_action,
    audit_detail)``, store the message undelivered and audit it."""
    with console.db() as session:
        now = console.clock()
        handoff = visible_handoff(session, staff, handoff_id)
        require_writer(handoff, staff)
        text, payload, action, detail = build(session, handoff, now)
        row = handoffs.record_message(session, handoff_id=handoff.id, author="agent", text=text, now=now,
                                      staff_user_id=staff.user_id, payload=payload)
        audit(session, action=action, now=now, user_id=staff.user_id, handoff_id=handoff.id,
              message_id=row.id, **detail)
        out = Outgoing(row.id, handoff.sender_id, handoff.channel, row.text, payload)
        return out, message_dict(row, staff_names={staff.user_id: staff.name})


# --- the router ----------------------------------------------------------------------------


def api_router(console: Console) -> APIRouter:
    """Every ``/api`` route except the event stream (``apps.console.sse``)."""
    router = APIRouter(prefix="/api")
    staff_dep = staff_guard(console)

    @router.get("/me")
    def me(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        return staff.public()

    @router.get("/queue")
    def get_queue(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"now", "items": [queue item, ...]}`` (see :func:`queue_items`)."""
        with console.db() as session:
            now = console.clock()
            return {"now": iso(now), "items": queue_items(session, staff, now=now)}

    @router.get("/handoffs/{handoff_id}")
    def get_handoff(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"handoff", "transcript", "panel"}`` at once (no LLM work; the summary and
        suggested replies come from ``/assist``). Audited ``view_conversation``."""
        with console.db() as session:
            now = console.clock()
            handoff = visible_handoff(session, staff, handoff_id)
            names = _customer_names(session, {handoff.customer_id} if handoff.customer_id else set())
            assignee = _staff_names(session, {handoff.assigned_to} if handoff.assigned_to else set())
            view = handoff_dict(handoff, now=now, customer_name=names.get(handoff.customer_id),
                                assignee=assignee.get(handoff.assigned_to))
            items = transcript(session, handoff.id)
            panel = load_panel(console, session, handoff, now)
            audit(session, action="view_conversation", now=now, user_id=staff.user_id, handoff_id=handoff.id)
            return {"handoff": view, "transcript": items, "panel": panel_dict(panel),
                    "panel_error": None if panel is not None else "The customer panel is unavailable."}

    @router.get("/handoffs/{handoff_id}/assist")
    async def get_assist(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"summary": {"text", "source"} | None, "suggestions": [{"key", "text",
        "source"}], "error": str | None}``. The LLM work gets ``assist_timeout_s`` and
        never blocks the event loop; past it, the templates (``runner=None``) answer."""

        def load() -> tuple[list[dict[str, Any]], Any, Any]:
            with console.db() as session:
                now = console.clock()
                handoff = visible_handoff(session, staff, handoff_id)
                items = assist_transcript(transcript(session, handoff.id))
                return items, load_panel(console, session, handoff, now), console.assist.runner()

        items, panel, runner = await run_in_threadpool(load)
        if panel is None:
            return {"summary": None, "suggestions": [], "error": "The customer panel is unavailable."}

        async def both(model: Any) -> tuple[Any, list[Any]]:
            return await asyncio.gather(
                console.assist.summarize(transcript=items, panel=panel, runner=model),
                console.assist.suggest_replies(transcript=items, panel=panel, runner=model, count=3))

        error = None
        try:
            summary, suggestions = await asyncio.wait_for(both(runner), console.config.assist_timeout_s)
        except TimeoutError:  # the model is slow or busy: the templates (no model) answer at once
            error = "The assistant took too long; these come from templates."
            try:
                summary, suggestions = await asyncio.wait_for(both(None), TEMPLATE_TIMEOUT_S)
            except TimeoutError:
                return {"summary": None, "suggestions": [], "error": "The assistant took too long; try again."}
        return {"summary": {"text": summary.text, "source": summary.source},
                "suggestions": [{"key": s.key, "text": s.text, "source": s.source} for s in suggestions],
                "error": error}

    @router.post("/handoffs/{handoff_id}/accept")
    def accept(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``queued``/``awaiting_ticket`` -> ``active``, assigned to the caller: ``{"handoff"}``."""
        with console.db() as session:
            return {"handoff": _change(session, handoff_id, staff, "accept")}

    @router.post("/handoffs/{handoff_id}/close")
    def close(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """-> ``closed``: ``{"handoff"}``."""
        with console.db() as session:
            return {"handoff": _change(session, handoff_id, staff, "close")}

    @router.post("/handoffs/{handoff_id}/handback")
    async def handback(handoff_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """-> ``returned``; the shopper is told they are back with the bot (relayed):
        ``{"handoff", "delivered", "warning"?}``."""

        def change() -> tuple[dict[str, Any], Outgoing]:
            with console.db() as session:
                view = _change(session, handoff_id, staff, "hand_back")
                handoff = session.get(Handoff, handoff_id)
                row = handoffs.record_message(session, handoff_id=handoff_id, author="system", text=HANDBACK_TEXT,
                                              now=console.clock(), staff_user_id=staff.user_id)
                return view, Outgoing(row.id, handoff.sender_id, handoff.channel, row.text, None)

        view, outgoing = await run_in_threadpool(change)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return {"handoff": view, "delivered": error is None,
                **({"warning": f"The shopper was not told ({error})."} if error else {})}

    def _change(session: Session, handoff_id: int, staff: Staff, action: str) -> dict[str, Any]:
        """Run one state change through ``shop.handoff.service`` (409 with its message
        when the state does not allow it), audited; returns the handoff's view."""
        now = console.clock()
        handoff = visible_handoff(session, staff, handoff_id)
        if action != "accept" and handoff.status == "active" and handoff.assigned_to != staff.user_id \
                and not staff.all_teams:
            raise HTTPException(409, "This conversation is with another agent.")
        change = {"accept": handoffs.accept, "close": handoffs.close, "hand_back": handoffs.hand_back}[action]
        try:
            change(session, handoff_id=handoff.id, staff_user_id=staff.user_id, now=now)
        except HandoffStateError as exc:
            raise HTTPException(409, str(exc)) from exc
        audit(session, action=action, now=now, user_id=staff.user_id, handoff_id=handoff.id, status=handoff.status)
        names = _customer_names(session, {handoff.customer_id} if handoff.customer_id else set())
        assignee = _staff_names(session, {handoff.assigned_to} if handoff.assigned_to else set())
        return handoff_dict(handoff, now=now, customer_name=names.get(handoff.customer_id),
                            assignee=assignee.get(handoff.assigned_to))

    @router.post("/handoffs/{handoff_id}/messages")
    async def send_message(handoff_id: int, body: MessageIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Store the text (author ``agent``), relay it: ``{"message", "delivered",
        "warning"?}``. A suggestion's ``used``/``edited`` is recorded with it."""
        text = clean_text(body.text)
        if not text:
            raise HTTPException(422, "The message is empty.")

        def build(session: Session, handoff: Handoff, now: datetime) -> tuple[str, None, str, dict[str, Any]]:
            detail: dict[str, Any] = {"chars": len(text)}
            if body.suggestion_key and body.suggestion_event:
                session.add(SuggestionEvent(
                    handoff_id=handoff.id, staff_user_id=staff.user_id, suggestion_key=body.suggestion_key,
                    event=body.suggestion_event, source=(body.suggestion_source or "llm")[:16],
                    shown_text=clean_text(body.suggestion_text or ""), sent_text=text, at=now))
                detail.update(suggestion_key=body.suggestion_key, suggestion_event=body.suggestion_event)
            return text, None, "send_message", detail

        outgoing, message = await run_in_threadpool(_store, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return _sent_reply(message, error)

    @router.post("/handoffs/{handoff_id}/card")
    async def send_card(handoff_id: int, body: CardIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """A product card (``{"type": "product_cards", ...}``) with the line
        ``"<title> — <price>"``."""

        def build(session: Session, handoff: Handoff, now: datetime) -> tuple[str, dict[str, Any], str, dict]:
            cards = get_cards(session, product_ids=[body.product_id])
            if not cards:
                raise HTTPException(404, "No such product (or it is no longer sold).")
            card = cards[0]
            payload = {"type": "product_cards", "heading": "", "start": 1, "cards": [card.as_payload()]}
            return f"{card.title} — {card.price}", payload, "send_card", {"product_id": card.id}

        outgoing, message = await run_in_threadpool(_store, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return _sent_reply(message, error)

    @router.post("/handoffs/{handoff_id}/offer")
    async def send_offer(handoff_id: int, body: OfferIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Issue a code of an offer the panel lists as eligible and send it
        (``{"type": "promo_code", "code", "discount", "applies_to", "expires"}`` + text)."""

        def build(session: Session, handoff: Handoff, now: datetime) -> tuple[str, dict[str, Any], str, dict]:
            if handoff.customer_id is None:
                raise HTTPException(409, "The shopper is not signed in, so there is no customer to give a code to.")
            panel = load_panel(console, session, handoff, now)
            eligible = {int(o["offer_id"]) for o in (panel.offers if panel is not None else [])}
            offer = session.get(Offer, body.offer_id)
            if offer is None or body.offer_id not in eligible:
                raise HTTPException(409, "That offer is not among this customer's eligible offers.")
            code = issue_code(session, offer=offer, customer_id=handoff.customer_id, now=now,
                              valid_days=console.config.promo_code_days)
            if code is None:
                raise HTTPException(409, "The customer already holds as many codes of this offer as it allows.")
            terms = terms_of(session, offer)
            expires = expiry_words(code.expires_at)
            payload = {"type": "promo_code", "code": code.code, "discount": terms.discount,
                       "applies_to": terms.applies_to, "expires": expires}
            text = (f"Here's a code for you: {terms.discount} on {terms.applies_to} with {code.code}, "
                    f"valid until {expires}.")
            return text, payload, "send_offer", {"offer_id": offer.id, "code_id": code.id}

        outgoing, message = await run_in_threadpool(_store, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return _sent_reply(message, error)

    @router.post("/suggestions/{key}/events", status_code=201)
    def suggestion_event(key: str, body: SuggestionEventIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Record that a suggested reply was ``shown`` or ``ignored``."""
        if not re.fullmatch(KEY_PATTERN, key):
            raise HTTPException(422, "Bad suggestion key.")
        with console.db() as session:
            now = console.clock()
            handoff = visible_handoff(session, staff, body.handoff_id)
            row = SuggestionEvent(handoff_id=handoff.id, staff_user_id=staff.user_id, suggestion_key=key,
                                  event=body.event, source=body.source, shown_text=clean_text(body.text), at=now)
            session.add(row)
            audit(session, action=f"suggestion_{body.event}", now=now, user_id=staff.user_id,
                  handoff_id=handoff.id, suggestion_key=key)
            session.flush()
            return {"id": row.id}

    @router.get("/metrics/suggestions")
    def suggestion_metrics(staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"shown", "used", "edited", "ignored", "accept_rate"}``: accept rate =
        (used + edited) / shown, ``None`` before anything was shown. Supervisors, admins."""
        require_role(staff, "supervisor", "admin")
        with console.db() as session:
            counts = dict(session.execute(select(SuggestionEvent.event, func.count())
                                          .group_by(SuggestionEvent.event)).all())
        out = {event: int(counts.get(event, 0)) for event in ("shown", "used", "edited", "ignored")}
        out["accept_rate"] = round((out["used"] + out["edited"]) / out["shown"], 4) if out["shown"] else None
        return out

    @router.get("/audit")
    def audit_log(staff: Staff = Depends(staff_dep), limit: int = Query(default=100, ge=1, le=500),
                  before_id: int | None = Query(default=None, ge=1),
                  action: str | None = Query(default=None, max_length=40),
                  handoff_id: int | None = Query(default=None, ge=1)) -> dict[str, Any]:
        """Newest first: ``{"items": [{"id", "at", "user_id", "user_email", "action",
        "handoff_id", "detail"}]}``. Supervisors and admins."""
        require_role(staff, "supervisor", "admin")
        query = (select(AuditEntry, StaffUser.email).outerjoin(StaffUser, StaffUser.id == AuditEntry.user_id)
                 .order_by(AuditEntry.id.desc()).limit(limit))
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        if action:
            query = query.where(AuditEntry.action == action)
        if handoff_id is not None:
            query = query.where(AuditEntry.handoff_id == handoff_id)
        with console.db() as session:
            rows = session.execute(query).all()
            return {"items": [{"id": e.id, "at": iso(e.at), "user_id": e.user_id, "user_email": email,
                               "action": e.action, "handoff_id": e.handoff_id, "detail": e.detail}
                              for e, email in rows]}

    @router.post("/staff", status_code=201)
    def add_staff(body: StaffIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Admins create staff: ``{"id", "email", "name", "role", "teams"}``; 409 for an
        email in use, 422 for bad fields."""
        require_role(staff, "admin")
        with console.db() as session:
            now = console.clock()
            try:
                user = create_staff(session, email=body.email, name=body.name, password=body.password,
                                    role=body.role, teams=body.teams, now=now)
            except StaffError as exc:
                raise HTTPException(409 if "exists" in str(exc) else 422, str(exc)) from exc
            audit(session, action="create_staff", now=now, user_id=staff.user_id, staff_id=user.id,
                  email=user.email, role=user.role, teams=user.teams)
            return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "teams": user.teams}

    return router
