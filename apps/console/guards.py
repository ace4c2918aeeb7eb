"""Request guards shared by the console's routes: who is asking (:func:`staff_guard`,
401 / 403 for CSRF), what their role allows (403) and which conversations they may
see (404) or write to (409)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from apps.console.auth import CSRF_HEADER, SESSION_COOKIE, Staff, resolve_session, same_token
from apps.console.wiring import Console
from shop.db.schema import Handoff
from shop.handoff.states import get_handoff
from shop.logging_setup import bind_conversation


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
    handoff = get_handoff(session, handoff_id=handoff_id)
    if handoff is None or not staff.sees(handoff.team):
        raise HTTPException(404, "No such conversation.")
    bind_conversation(handoff.sender_id, handoff_id=handoff.id)
    return handoff


def require_writer(handoff: Handoff, staff: Staff) -> None:
    """409 unless the conversation is active and (for agents) theirs."""
    if handoff.status != "active":
        raise HTTPException(409, f"This conversation is {handoff.status.replace('_', ' ')}; "
                                 "accept it before writing to the shopper.")
    if handoff.assigned_to != staff.user_id and not staff.all_teams:
        raise HTTPException(409, "This conversation is with another agent.")
