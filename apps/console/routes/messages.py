"""What staff send to the shopper of an active conversation, stored then relayed:
``POST /handoffs/{id}/messages`` (text), ``/card`` (a product card) and ``/offer``
(an offer code). Each answers ``{"message", "delivered", "warning"?}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from apps.console.auth import Staff
from apps.console.bodies import CardIn, MessageIn, OfferIn, clean_text
from apps.console.guards import staff_guard
from apps.console.sending import deliver, sent_reply, store_message
from apps.console.staff_queries import add_suggestion_event
from apps.console.views import load_panel
from apps.console.wiring import Console
from shop.db.schema import Handoff, Offer
from shop.promo.copy import expiry_words
from shop.promo.offers import issue_code, terms_of
from shop.services.catalog import get_cards


def messages_router(console: Console) -> APIRouter:
    router = APIRouter()
    staff_dep = staff_guard(console)

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
                add_suggestion_event(session, handoff_id=handoff.id, staff_user_id=staff.user_id,
                                     suggestion_key=body.suggestion_key, event=body.suggestion_event,
                                     source=(body.suggestion_source or "llm")[:16],
                                     shown_text=clean_text(body.suggestion_text or ""), sent_text=text, at=now)
                detail.update(suggestion_key=body.suggestion_key, suggestion_event=body.suggestion_event)
            return text, None, "send_message", detail

        outgoing, message = await run_in_threadpool(store_message, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return sent_reply(message, error)

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

        outgoing, message = await run_in_threadpool(store_message, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return sent_reply(message, error)

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

        outgoing, message = await run_in_threadpool(store_message, console, staff, handoff_id, build)
        error = await deliver(console, outgoing, agent_name=staff.name)
        return sent_reply(message, error)

    return router
