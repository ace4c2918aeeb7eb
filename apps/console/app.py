"""The staff console app (FastAPI): ``create_console_app(config)``.

Pages: ``GET /login`` (form; double-submit CSRF cookie + hidden field), ``POST /login``
(303 to ``/`` with the session cookie; 401 with a generic message on a bad email or
password, 429 while the email or the client address is rate limited, 503 while every
password check is busy, 403 for a bad CSRF field), ``POST
/logout`` (``X-CSRF-Token``), ``GET /`` (the console: 303 to ``/login`` without a
session), ``GET /tickets`` (the tickets desk, ``/assets/tickets.js``),
``/assets/console.js`` (the built front end) and ``/assets/console.css``,
``GET /dashboard`` and ``GET /conversations/review`` (analytics, supervisors and admins:
``apps.console.routes.dashboard``, ``apps.console.routes.review``),
``GET /health``, ``GET /metrics`` (Prometheus: request timings, the handoff queue, live
staff sessions; :mod:`apps.http_metrics`). The JSON API and the event stream: ``apps.console.api``,
``apps.console.sse``. Every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.console import staff as accounts
from apps.console.analytics_access import ANALYTICS_ROLES
from apps.console.api import api_router
from apps.console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginGuard,
    Staff,
    audit,
    end_session,
    login_blocked,
    new_token,
    open_session,
    resolve_session,
    same_token,
)
from apps.console.guards import staff_guard
from apps.console.routes.dashboard import dashboard_router
from apps.console.routes.review import review_router
from apps.console.sse import sse_router
from apps.console.wiring import Assist, Console, ConsoleConfig, utcnow
from apps.http_metrics import HandoffQueueCollector, StaffSessionsCollector, install_metrics
from apps.log_context import RequestLogContext, console_handoff

HERE = Path(__file__).resolve().parent
LOGIN_FAILED = "That email and password don't match an active account."
LOGIN_LIMITED = "Too many failed attempts for this account. Wait a few minutes and try again."
LOGIN_ADDRESS_LIMITED = "Too many failed attempts from your network. Wait a few minutes and try again."
LOGIN_BUSY = "Too many logins at once. Please try again in a moment."
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` on ``/api`` and
    the pages) to every response; plain ASGI, so the event stream is not buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = not scope["path"].startswith("/assets/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control" or not no_store]
                headers += SECURITY_HEADERS
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_console_app(config: ConsoleConfig, *, clock: Callable[[], datetime] = utcnow,
                       assist: Assist | None = None, deliver: Callable[..., Any] | None = None) -> FastAPI:
    """The console for ``config``. ``clock`` -> naive UTC now (tests move it); ``assist``
    and ``deliver`` replace ``shop.assist`` and the relay (tests). Nothing is opened
    until a request arrives."""
    console = Console(config=config, clock=clock, assist=assist or Assist(),
                      **({"deliver": deliver} if deliver is not None else {}))
    app = FastAPI(title=f"{config.shop_name} staff console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    install_metrics(app, config.metrics, collectors=[
        HandoffQueueCollector(console.db, clock=clock),
        StaffSessionsCollector(console.db, clock=clock, idle_s=config.session.idle_s)])
    app.add_middleware(RequestLogContext, reader=console_handoff)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> Response:
        """422 ``{"detail": [{"loc", "msg", "type"}]}`` without echoing the input (which
        may be huge, or not even encodable: a lone surrogate)."""
        errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return Response(json.dumps({"detail": errors}), status_code=422, media_type="application/json")
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["analytics_roles"] = ANALYTICS_ROLES
    guard = LoginGuard(config.login_limit)

    def secure(request: Request) -> bool:
        return config.cookie_secure or request.url.scheme == "https"

    def current(request: Request) -> Staff | None:
        with console.db() as session:
            return resolve_session(session, token=request.cookies.get(SESSION_COOKIE), now=clock(),
                                   policy=config.session)

    def login_page(request: Request, *, error: str | None = None, email: str = "", status: int = 200) -> Response:
        token = new_token()
        page = templates.TemplateResponse(request, "login.html", {"shop_name": config.shop_name, "error": error,
                                                                   "email": email, "csrf_token": token},
                                          status_code=status)
        page.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path="/login", max_age=3600)
        return page

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        if current(request) is not None:
            return RedirectResponse("/", status_code=303)
        return login_page(request)

    @app.post("/login")
    def login(request: Request, email: str = Form(default=""), password: str = Form(default=""),
              csrf_token: str = Form(default="")) -> Response:
        """Form fields ``email``, ``password``, ``csrf_token`` (any length: too long
        simply fails like a wrong password)."""
        if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
            return login_page(request, error="Your login form expired; please try again.", status=403)
        email = accounts.normalize_email(email[:1000])
        address = request.client.host if request.client else "unknown"
        if guard.address_blocked(address) is not None:  # before any database work or password check
            return login_page(request, error=LOGIN_ADDRESS_LIMITED, email=email, status=429)
        with guard.password_check() as turn:
            if not turn:
                return login_page(request, error=LOGIN_BUSY, email=email, status=503)
            if guard.address_blocked(address) is not None:  # others from there failed while this one waited
                return login_page(request, error=LOGIN_ADDRESS_LIMITED, email=email, status=429)
            now = clock()
            with console.db() as session:
                if login_blocked(session, email=email, now=now, limit=config.login_limit):
                    audit(session, action="login_failed", now=now, email=email, reason="rate_limited")
                    blocked = True
                else:
                    blocked = False
                    user = accounts.find_staff(session, email=email) if email else None
                    candidate = user.password_hash if user is not None else accounts.dummy_hash()
                    ok = (accounts.verify_password(candidate, password[:accounts.MAX_PASSWORD])
                          and len(password) <= accounts.MAX_PASSWORD)
                    if user is None or not user.is_active or not ok:
                        guard.failed(address)
                        audit(session, action="login_failed", now=now, user_id=user.id if user else None,
                              email=email, reason="unknown_email" if user is None else (
                                  "inactive" if not user.is_active else "bad_password"))
                    else:
                        if accounts.needs_rehash(user.password_hash):
                            user.password_hash = accounts.hash_password(password)
                        token = open_session(session, user=user, now=now, policy=config.session)
                        audit(session, action="login", now=now, user_id=user.id, email=email)
                        out = RedirectResponse("/", status_code=303)
                        out.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                                       secure=secure(request), path="/", max_age=config.session.max_s)
                        out.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
                        return out
        if blocked:
            return login_page(request, error=LOGIN_LIMITED, email=email, status=429)
        return login_page(request, error=LOGIN_FAILED, email=email, status=401)

    writer = staff_guard(console)

    @app.post("/logout")
    def logout(request: Request, staff: Staff = Depends(writer)) -> Response:
        """Ends the session (``X-CSRF-Token`` required): ``{"ok": true}``."""
        with console.db() as session:
            now = clock()
            end_session(session, session_id=staff.session_id, now=now)
            audit(session, action="logout", now=now, user_id=staff.user_id)
        out = JSONResponse({"ok": True})
        out.delete_cookie(SESSION_COOKIE, path="/")
        return out

    @app.get("/", response_class=HTMLResponse)
    def shell(request: Request) -> Response:
        staff = current(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        return templates.TemplateResponse(request, "console.html", {
            "shop_name": config.shop_name, "staff": staff, "csrf_token": staff.csrf_token,
            "teams": "all teams" if staff.all_teams else ", ".join(staff.teams)})

    @app.get("/tickets", response_class=HTMLResponse)
    def tickets_page(request: Request) -> Response:
        """The tickets desk (``/assets/tickets.js`` over ``/api/tickets``)."""
        staff = current(request)
        if staff is None:
            return RedirectResponse("/login", status_code=303)
        return templates.TemplateResponse(request, "tickets.html", {
            "shop_name": config.shop_name, "staff": staff, "csrf_token": staff.csrf_token,
            "teams": "all teams" if staff.all_teams else ", ".join(staff.teams)})

    @app.get("/assets/console.js")
    def bundle() -> Response:
        if not config.bundle.is_file():
            return Response("document.body.dataset.consoleMissing = 'true';"
                            "console.error('the console front end is not built: run make widget (npm run build)');",
                            media_type="text/javascript", status_code=503)
        return FileResponse(config.bundle, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    app.mount("/assets", StaticFiles(directory=HERE / "static"), name="assets")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(dashboard_router(console, templates))
    app.include_router(review_router(console, templates))
    app.include_router(api_router(console))
    app.include_router(sse_router(console))
    return app
