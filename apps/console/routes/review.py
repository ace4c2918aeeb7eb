"""Review of the conversations the bot handled alone (supervisors and admins):
``GET /conversations/review`` (the list, newest first, 50 a page: ``start``, ``end``,
``channel`` as on the dashboard, ``q`` text the shopper or the bot wrote, ``page``),
``GET /conversations/review.csv`` (the whole filtered list, at most
:data:`EXPORT_MAX` rows, :func:`shop.analytics.export.conversations_csv`) and
``GET /conversations/review/transcript?id=...`` (one conversation's transcript;
audited ``view_transcript``; 404 when there is none). Without a session: 303 to
``/login``; agents: 403; bad filters: 400 saying what is allowed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates

from apps.console.analytics_access import AnalyticsPages
from apps.console.analytics_filters import (
    FilterError,
    ReviewQuery,
    csv_name,
    csv_response,
    filter_query,
    parse_review,
)
from apps.console.auth import audit
from apps.console.dashboard_view import short
from apps.console.wiring import Console
from shop.analytics.conversation_review import MAX_CONVERSATION_ID, bot_only_conversations, transcript
from shop.analytics.export import conversations_csv
from shop.analytics.figures import ConversationSummary

PAGE_SIZE = 50
EXPORT_MAX = 10_000
EXPORT_BATCH = 500


def _form(start: str | None, end: str | None, channel: str | None, q: str | None) -> dict[str, str]:
    return {"start": start or "", "end": end or "", "channel": channel or "", "q": q or ""}


def _query(review: ReviewQuery, *, page: int | None = None) -> str:
    return filter_query(review.filters, q=review.q, page=page if page and page > 1 else None)


def review_router(console: Console, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    pages = AnalyticsPages(console, templates)

    @router.get("/conversations/review", response_class=HTMLResponse)
    def review_page(request: Request, start: str | None = None, end: str | None = None, channel: str | None = None,
                    q: str | None = None, page: str | None = None) -> Response:
        staff = pages.staff(request)
        if isinstance(staff, Response):
            return staff
        try:
            review = parse_review(start=start, end=end, channel=channel, q=q, page=page,
                                  today=console.clock().date())
        except FilterError as exc:
            return pages.page(request, "review.html", staff, section="review", status=400, error=str(exc),
                              form=_form(start, end, channel, q))
        with console.db() as session:
            rows = bot_only_conversations(session, filters=review.filters, query=review.q or None,
                                          limit=PAGE_SIZE + 1, offset=(review.page - 1) * PAGE_SIZE)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        first = (review.page - 1) * PAGE_SIZE + 1
        items = [_row(r, transcript_query=_transcript_query(review, r.conversation_id)) for r in rows]
        return pages.page(
            request, "review.html", staff, section="review", review=review, items=items,
            form=_form(review.filters.start.isoformat(), review.filters.end.isoformat(), review.filters.channel,
                       review.q),
            shown=f"{first}–{first + len(rows) - 1}" if rows else "",
            previous=_query(review, page=review.page - 1) if review.page > 1 else None,
            next=_query(review, page=review.page + 1) if more else None,
            csv_query=filter_query(review.filters, q=review.q), dashboard_query=filter_query(review.filters))

    @router.get("/conversations/review.csv")
    def review_export(request: Request, start: str | None = None, end: str | None = None,
                      channel: str | None = None, q: str | None = None) -> Response:
        staff = pages.staff(request)
        if isinstance(staff, Response):
            return staff
        try:
            review = parse_review(start=start, end=end, channel=channel, q=q, page=None,
                                  today=console.clock().date())
        except FilterError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        rows: list[ConversationSummary] = []
        with console.db() as session:
            while len(rows) < EXPORT_MAX:
                batch = bot_only_conversations(session, filters=review.filters, query=review.q or None,
                                               limit=min(EXPORT_BATCH, EXPORT_MAX - len(rows)), offset=len(rows))
                rows += batch
                if len(batch) < EXPORT_BATCH:
                    break
            audit(session, action="export_conversations", now=console.clock(), user_id=staff.user_id,
                  start=review.filters.start.isoformat(), end=review.filters.end.isoformat(),
                  channel=review.filters.channel, q=review.q or None, rows=len(rows))
        return csv_response(conversations_csv(rows), filename=csv_name("conversations", review.filters))

    @router.get("/conversations/review/transcript", response_class=HTMLResponse)
    def transcript_page(request: Request, conversation: str = Query(default="", alias="id"),
                        start: str | None = None, end: str | None = None, channel: str | None = None,
                        q: str | None = None, page: str | None = None) -> Response:
        staff = pages.staff(request)
        if isinstance(staff, Response):
            return staff
        try:
            back = "/conversations/review?" + _query(
                parse_review(start=start, end=end, channel=channel, q=q, page=page, today=console.clock().date()),
                page=int(page) if page and page.isdigit() else None)
        except FilterError:
            back = "/conversations/review"
        conversation_id = conversation.strip()
        if not conversation_id or len(conversation_id) > MAX_CONVERSATION_ID:
            return pages.page(request, "analytics_message.html", staff, section="review", status=400,
                              title="No conversation", message="id must name a conversation (1 to "
                              f"{MAX_CONVERSATION_ID} characters): open one from the review list.")
        with console.db() as session:
            turns = transcript(session, conversation_id=conversation_id)
            if turns:
                audit(session, action="view_transcript", now=console.clock(), user_id=staff.user_id,
                      conversation_id=conversation_id)
        if not turns:
            return pages.page(request, "analytics_message.html", staff, section="review", status=404,
                              title="No such conversation", message="There is no conversation with that id.")
        return pages.page(request, "transcript.html", staff, section="review", conversation_id=conversation_id,
                          turns=turns, back=back)

    return router


def _transcript_query(review: ReviewQuery, conversation_id: str) -> str:
    return filter_query(review.filters, id=conversation_id, q=review.q,
                        page=review.page if review.page > 1 else None)


def _row(row: ConversationSummary, *, transcript_query: str) -> dict[str, Any]:
    return {"id": row.conversation_id, "channel": row.channel,
            "started_at": row.started_at.strftime("%Y-%m-%d %H:%M"), "turns": row.turns,
            "contained": row.contained, "first_message": short(row.first_message), "link": transcript_query}
