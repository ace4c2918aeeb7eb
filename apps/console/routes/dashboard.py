"""The analytics dashboard (supervisors and admins): ``GET /dashboard`` (the page:
headline figures, charts over time drawn as inline SVG, the recommendation funnel, the
promo arms, top intents, unanswered questions) and ``GET /dashboard.csv`` (the same
figures as CSV, :func:`shop.analytics.export.dashboard_csv`), both filtered by
``start``, ``end`` (``YYYY-MM-DD``, inclusive UTC days; default the last 7 days) and
``channel`` (empty: every channel). Without a session: 303 to ``/login``; agents: 403;
bad filters: 400 saying what is allowed (:mod:`apps.console.analytics_filters`)."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates

from apps.console.analytics_access import AnalyticsPages
from apps.console.analytics_filters import (
    FilterError,
    csv_name,
    csv_response,
    filter_query,
    parse_filters,
)
from apps.console.auth import audit
from apps.console.dashboard_view import dashboard_view
from apps.console.wiring import Console
from shop.analytics.dashboard_metrics import dashboard
from shop.analytics.export import dashboard_csv
from shop.analytics.figures import Filters

QUICK_RANGES = (7, 30, 90)


def quick_ranges(today: date, channel: str | None) -> list[tuple[str, str]]:
    """(label, query string) of the last 7, 30 and 90 days up to ``today``."""
    return [(f"Last {n} days", filter_query(Filters(start=today - timedelta(days=n - 1), end=today, channel=channel)))
            for n in QUICK_RANGES]


def dashboard_router(console: Console, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()
    pages = AnalyticsPages(console, templates)

    @router.get("/dashboard", response_class=HTMLResponse)
    def dashboard_page(request: Request, start: str | None = None, end: str | None = None,
                       channel: str | None = None) -> Response:
        staff = pages.staff(request)
        if isinstance(staff, Response):
            return staff
        today = console.clock().date()
        form = {"start": start or "", "end": end or "", "channel": channel or ""}
        try:
            filters = parse_filters(start=start, end=end, channel=channel, today=today)
        except FilterError as exc:
            return pages.page(request, "dashboard.html", staff, section="dashboard", status=400, error=str(exc),
                              form=form, quick=quick_ranges(today, None))
        with console.db() as session:
            figures = dashboard(session, filters=filters)
        form = {"start": filters.start.isoformat(), "end": filters.end.isoformat(), "channel": filters.channel or ""}
        return pages.page(request, "dashboard.html", staff, section="dashboard", form=form, filters=filters, d=figures,
                          view=dashboard_view(figures), csv_query=filter_query(filters),
                          review_query=filter_query(filters), quick=quick_ranges(today, filters.channel))

    @router.get("/dashboard.csv")
    def dashboard_export(request: Request, start: str | None = None, end: str | None = None,
                         channel: str | None = None) -> Response:
        staff = pages.staff(request)
        if isinstance(staff, Response):
            return staff
        try:
            filters = parse_filters(start=start, end=end, channel=channel, today=console.clock().date())
        except FilterError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        with console.db() as session:
            body = dashboard_csv(dashboard(session, filters=filters))
            audit(session, action="export_dashboard", now=console.clock(), user_id=staff.user_id,
                  start=filters.start.isoformat(), end=filters.end.isoformat(), channel=filters.channel)
        return csv_response(body, filename=csv_name("dashboard", filters))

    return router
