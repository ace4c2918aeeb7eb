"""Who may open the console's analytics pages and how they answer otherwise: a request
without a live session goes to the login page (303), an agent gets 403 (a page, or
plain text for a CSV), a filter the pages do not take gets 400 saying what is allowed.
:class:`AnalyticsPages` holds what the dashboard and review routes share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from apps.console.analytics_filters import CHANNELS
from apps.console.auth import SESSION_COOKIE, Staff, resolve_session
from apps.console.wiring import Console

#: the roles that see the analytics pages (agents answer 403)
ANALYTICS_ROLES = ("supervisor", "admin")
DENIED = "Only supervisors and admins may see the analytics pages."


@dataclass(frozen=True)
class AnalyticsPages:
    console: Console
    templates: Jinja2Templates

    def staff(self, request: Request) -> Staff | Response:
        """The request's supervisor or admin; else the answer to send instead (303 to
        ``/login`` without a live session, 403 for any other role)."""
        with self.console.db() as session:
            staff = resolve_session(session, token=request.cookies.get(SESSION_COOKIE), now=self.console.clock(),
                                    policy=self.console.config.session)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        if staff.role not in ANALYTICS_ROLES:
            if request.url.path.endswith(".csv"):
                return PlainTextResponse(DENIED, status_code=403)
            return self.page(request, "analytics_message.html", staff, status=403, title="Not allowed",
                             message=DENIED)
        return staff

    def page(self, request: Request, template: str, staff: Staff, *, status: int = 200, **values: Any) -> Response:
        """``template`` with the header's values (shop name, staff, CSRF token, channels)."""
        context = {"shop_name": self.console.config.shop_name, "staff": staff, "csrf_token": staff.csrf_token,
                   "teams": "all teams" if staff.all_teams else ", ".join(staff.teams), "channels": CHANNELS,
                   "analytics": staff.role in ANALYTICS_ROLES, **values}
        return self.templates.TemplateResponse(request, template, context, status_code=status)
