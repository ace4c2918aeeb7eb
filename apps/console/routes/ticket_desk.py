"""Tickets (messages left while nobody was online) answered from the console:
``GET /tickets`` (list), ``GET /tickets/{id}`` (one, with its replies; audited),
``GET /tickets/{id}/assignees``, ``POST /tickets/{id}/assign``, ``POST /tickets/{id}/reply`` (an e-mail over SMTP,
:mod:`shop.handoff.mailer`), ``POST /tickets/{id}/replies/{reply_id}/retry`` and
``POST /tickets/{id}/close``.

Who: agents see their teams' tickets (others answer 404, like conversations) and may
take an unassigned one (assign to themselves), answer and close those that are
unassigned or theirs (409 otherwise); supervisors and admins see, assign to anyone who
can see the team, answer and close every ticket. A reply is stored before it is sent;
when the mail server fails the answer is 502 with the reason, the reply stays
``failed`` (sent again with ``/retry``) and the ticket stays open.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from apps.console.auth import Staff, audit
from apps.console.bodies import clean_text
from apps.console.guards import staff_guard
from apps.console.staff_queries import staff_names
from apps.console.views import iso
from apps.console.wiring import Console
from shop.db.schema import StaffUser, Ticket, TicketReply
from shop.handoff.mailer import MAX_SUBJECT, MailError, build_reply, send_message
from shop.handoff.tickets import (
    MAX_REPLY,
    TicketStateError,
    assign_ticket,
    claim_retry,
    close_ticket,
    draft_reply,
    finish_reply,
    list_tickets,
    ticket_replies,
    ticket_team,
)

PREVIEW_CHARS = 140
Prepared = tuple[EmailMessage | None, str | None]  # the e-mail to send, or why there is none


class TicketAssignIn(BaseModel):
    """``staff_user_id``: who answers the ticket; ``null``: nobody."""

    staff_user_id: int | None = Field(default=None, ge=1)


class TicketReplyIn(BaseModel):
    """The e-mail: ``subject`` (one line; the ticket number is added) and ``body``."""

    subject: str = Field(default="", max_length=MAX_SUBJECT)
    body: str = Field(min_length=1, max_length=MAX_REPLY)


def visible_ticket(session: Session, staff: Staff, ticket_id: int) -> tuple[Ticket, str | None]:
    """The ticket and its team when ``staff`` may see it, else 404 (a ticket without a
    handoff has no team: supervisors and admins only)."""
    ticket = session.get(Ticket, ticket_id)
    team = ticket_team(session, ticket) if ticket is not None else None
    if ticket is None or not (staff.all_teams or (team is not None and staff.sees(team))):
        raise HTTPException(404, "No such ticket.")
    return ticket, team


def require_ticket_writer(ticket: Ticket, staff: Staff) -> None:
    """409 when the ticket is another agent's (supervisors and admins may step in)."""
    if ticket.assigned_to not in (None, staff.user_id) and not staff.all_teams:
        raise HTTPException(409, "This ticket is with another agent.")


def ticket_dict(ticket: Ticket, team: str | None, *, names: dict[int, str], preview: bool = False) -> dict[str, Any]:
    """``{"id", "number", "status", "team", "channel", "email", "message", "created_at",
    "handoff_id", "assigned_to", "assigned_name", "closed_at", "closed_by"}``;
    ``message`` cut at 140 characters when ``preview``."""
    text = ticket.message
    if preview and len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS - 1] + "…"
    return {"id": ticket.id, "number": f"#{ticket.id}", "status": ticket.status, "team": team,
            "channel": ticket.channel, "email": ticket.email, "message": text, "created_at": iso(ticket.created_at),
            "handoff_id": ticket.handoff_id, "assigned_to": ticket.assigned_to,
            "assigned_name": names.get(ticket.assigned_to) if ticket.assigned_to else None,
            "closed_at": iso(ticket.closed_at), "closed_by": ticket.closed_by}


def reply_dict(reply: TicketReply, *, names: dict[int, str]) -> dict[str, Any]:
    """``{"id", "status", "to", "subject", "body", "error", "attempts", "created_at",
    "sent_at", "staff_name"}``."""
    return {"id": reply.id, "status": reply.status, "to": reply.to_email, "subject": reply.subject,
            "body": reply.body, "error": reply.error, "attempts": reply.attempts, "created_at": iso(reply.created_at),
            "sent_at": iso(reply.sent_at),
            "staff_name": names.get(reply.staff_user_id) if reply.staff_user_id else None}


def ticket_view(session: Session, ticket: Ticket, team: str | None) -> dict[str, Any]:
    """:func:`ticket_dict` with its replies (``"replies"``), names looked up."""
    replies = ticket_replies(session, ticket_id=ticket.id)
    ids = {i for i in (ticket.assigned_to, *(r.staff_user_id for r in replies)) if i is not None}
    names = staff_names(session, ids=ids)
    return {**ticket_dict(ticket, team, names=names), "replies": [reply_dict(r, names=names) for r in replies]}


def _assignee(session: Session, staff: Staff, ticket: Ticket, team: str | None, target: int | None) -> int | None:
    """Check who the ticket may go to: agents take it (themselves) or give it up;
    supervisors and admins give it to any active staff member who sees its team."""
    if not staff.all_teams:
        require_ticket_writer(ticket, staff)
        if target not in (None, staff.user_id):
            raise HTTPException(403, "Agents can only take a ticket themselves; ask a supervisor to assign it.")
        return target
    if target is None:
        return None
    user = session.get(StaffUser, target)
    if user is None or not user.is_active:
        raise HTTPException(422, "No such active staff member.")
    if user.role == "agent" and (team is None or team not in (user.teams or [])):
        raise HTTPException(422, "That agent does not work this ticket's team.")
    return target


def ticket_desk_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

    @router.get("/tickets")
    def get_tickets(staff: Staff = Depends(staff_dep),
                    status: Literal["open", "closed", "all"] = Query(default="open"),
                    limit: int = Query(default=100, ge=1, le=200),
                    before_id: int | None = Query(default=None, ge=1)) -> dict[str, Any]:
        """Newest first: ``{"items": [ticket (message previewed) + "replies", "last_reply"]}``."""
        with console.db() as session:
            rows = list_tickets(session, teams=staff.visible_teams, status=None if status == "all" else status,
                                limit=limit, before_id=before_id)
            names = staff_names(session, ids={t.assigned_to for t, _ in rows if t.assigned_to is not None})
            items = []
            for ticket, team in rows:
                replies = ticket_replies(session, ticket_id=ticket.id)
                items.append({**ticket_dict(ticket, team, names=names, preview=True), "replies": len(replies),
                              "last_reply": replies[-1].status if replies else None})
            return {"items": items}

    @router.get("/tickets/{ticket_id}")
    def get_ticket(ticket_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``{"ticket": ticket + "replies"}``. Audited ``view_ticket``."""
        with console.db() as session:
            ticket, team = visible_ticket(session, staff, ticket_id)
            audit(session, action="view_ticket", now=console.clock(), user_id=staff.user_id,
                  handoff_id=ticket.handoff_id, ticket_id=ticket.id)
            return {"ticket": ticket_view(session, ticket, team)}

    @router.get("/tickets/{ticket_id}/assignees")
    def assignees(ticket_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Who the ticket may be given to: ``{"items": [{"id", "name", "role"}]}`` (for an
        agent, only themselves)."""
        with console.db() as session:
            _, team = visible_ticket(session, staff, ticket_id)
            if not staff.all_teams:
                return {"items": [{"id": staff.user_id, "name": staff.name, "role": staff.role}]}
            users = session.scalars(select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.name))
            return {"items": [{"id": u.id, "name": u.name, "role": u.role} for u in users
                              if u.role != "agent" or (team is not None and team in (u.teams or []))]}

    @router.post("/tickets/{ticket_id}/assign")
    def assign(ticket_id: int, body: TicketAssignIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """Assign the open ticket (409 when closed): ``{"ticket"}``."""
        with console.db() as session:
            ticket, team = visible_ticket(session, staff, ticket_id)
            target = _assignee(session, staff, ticket, team, body.staff_user_id)
            try:
                assign_ticket(session, ticket=ticket, staff_user_id=target)
            except TicketStateError as exc:
                raise HTTPException(409, str(exc)) from exc
            audit(session, action="assign_ticket", now=console.clock(), user_id=staff.user_id,
                  handoff_id=ticket.handoff_id, ticket_id=ticket.id, assigned_to=target)
            return {"ticket": ticket_view(session, ticket, team)}

    @router.post("/tickets/{ticket_id}/close")
    def close(ticket_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any]:
        """``open`` -> ``closed`` (409 when already closed or another agent's): ``{"ticket"}``."""
        with console.db() as session:
            ticket, team = visible_ticket(session, staff, ticket_id)
            require_ticket_writer(ticket, staff)
            now = console.clock()
            try:
                close_ticket(session, ticket=ticket, staff_user_id=staff.user_id, now=now)
            except TicketStateError as exc:
                raise HTTPException(409, str(exc)) from exc
            audit(session, action="close_ticket", now=now, user_id=staff.user_id, handoff_id=ticket.handoff_id,
                  ticket_id=ticket.id)
            return {"ticket": ticket_view(session, ticket, team)}

    @router.post("/tickets/{ticket_id}/reply", response_model=None)
    def reply(ticket_id: int, body: TicketReplyIn, staff: Staff = Depends(staff_dep)) -> dict[str, Any] | JSONResponse:
        """Store the reply, then send it: ``{"ticket", "reply", "sent": true}``; 502
        ``{"detail", "ticket", "reply", "sent": false}`` when the mail server failed (the
        reply is kept, ``failed``); 409 for a closed ticket or another agent's. An
        unassigned ticket an agent answers becomes theirs."""
        text = clean_text(body.body)
        if not text:
            raise HTTPException(422, "The reply is empty.")
        with console.db() as session:
            ticket, _ = visible_ticket(session, staff, ticket_id)
            require_ticket_writer(ticket, staff)
            now = console.clock()
            try:
                row = draft_reply(session, ticket=ticket, staff_user_id=staff.user_id, subject=body.subject,
                                  body=text, now=now)
            except TicketStateError as exc:
                raise HTTPException(409, str(exc)) from exc
            if ticket.assigned_to is None and not staff.all_teams:
                ticket.assigned_to = staff.user_id
            reply_id, prepared = row.id, _prepare(console, staff, session, ticket, row)
        return _send(console, staff, ticket_id, reply_id, prepared, action="reply_ticket")

    @router.post("/tickets/{ticket_id}/replies/{reply_id}/retry", response_model=None)
    def retry(ticket_id: int, reply_id: int, staff: Staff = Depends(staff_dep)) -> dict[str, Any] | JSONResponse:
        """Send a ``failed`` reply again (409 when it is not failed: sent, or being sent)."""
        with console.db() as session:
            ticket, _ = visible_ticket(session, staff, ticket_id)
            require_ticket_writer(ticket, staff)
            row = session.get(TicketReply, reply_id)
            if row is None or row.ticket_id != ticket.id:
                raise HTTPException(404, "No such reply.")
            if ticket.status != "open":
                raise HTTPException(409, f"cannot answer a ticket that is {ticket.status}")
            if not claim_retry(session, reply_id=reply_id):
                raise HTTPException(409, "This reply is not waiting to be sent again.")
            prepared = _prepare(console, staff, session, ticket, row)
        return _send(console, staff, ticket_id, reply_id, prepared, action="retry_ticket_reply")

    return router


def _prepare(console: Console, staff: Staff, session: Session, ticket: Ticket,
             row: TicketReply) -> Prepared:
    """The e-mail for ``row`` (signed by its author and the shop), or why it can't be made."""
    author = staff_names(session, ids={row.staff_user_id} if row.staff_user_id else set())
    signature = f"{author.get(row.staff_user_id or 0, staff.name)}\n{console.config.shop_name}"
    try:
        return build_reply(config=console.config.smtp, ticket_id=ticket.id, to=row.to_email, subject=row.subject,
                           body=row.body, original=ticket.message, original_at=ticket.created_at,
                           signature=signature, now=console.clock()), None
    except MailError as exc:
        return None, str(exc)


def _send(console: Console, staff: Staff, ticket_id: int, reply_id: int, prepared: Prepared, *,
          action: str) -> dict[str, Any] | JSONResponse:
    """Send the ``prepared`` e-mail outside any transaction, then record the outcome on
    reply ``reply_id`` and audit ``action``."""
    message, error = prepared
    if message is not None:
        try:
            send_message(console.config.smtp, message)
        except MailError as exc:
            error = str(exc)
    with console.db() as session:
        now: datetime = console.clock()
        finish_reply(session, reply_id=reply_id, now=now, error=error,
                     message_id=str(message["Message-ID"]) if message is not None else None)
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise HTTPException(404, "No such ticket.")
        audit(session, action=action, now=now, user_id=staff.user_id, handoff_id=ticket.handoff_id,
              ticket_id=ticket_id, reply_id=reply_id, sent=error is None, **({"error": error} if error else {}))
        view = ticket_view(session, ticket, ticket_team(session, ticket))
    reply_view = next(r for r in view["replies"] if r["id"] == reply_id)
    if error is not None:
        return JSONResponse({"detail": f"The e-mail was not sent: {error}. Your reply is saved; send it again "
                                       "from the ticket once the mail server is back.",
                             "ticket": view, "reply": reply_view, "sent": False}, status_code=502)
    return {"ticket": view, "reply": reply_view, "sent": True}
