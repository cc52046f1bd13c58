"""The web console (server-rendered, Chinese labels, no assets from elsewhere) and the public pages: a document's
evidence verification and the party's page. Served by the same app as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.console import cases, documents, evidence, party, registry, review, signin, statistics, users
from api.console.web import LoginRequired, PageForbidden, install_flash, login_redirect, page
from api.errors import domain_status, problem
from cases.errors import OffsiteError, TooManyAttempts

PAGES = ("/console", "/party", "/verify")
# Each router with the prefix its pages are served under.
ROUTERS = (
    *(
        (module.router, "/console")
        for module in (signin, review, cases, documents, evidence, registry, statistics, users)
    ),
    (evidence.public, ""),
    (party.router, ""),
)


def install_console(app: FastAPI) -> None:
    settings = app.state.components.settings
    install_flash(app, settings.session_secret.get_secret_value(), https_only=settings.secure_cookies)
    for router, prefix in ROUTERS:
        app.include_router(router, prefix=prefix, include_in_schema=False)
    app.mount("/console/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return page(request, "message.html", status_code=403, heading="无权操作", detail=exc.message)

    @app.exception_handler(OffsiteError)
    async def _domain(request: Request, exc: OffsiteError) -> Response:
        """Pages answer a domain error with a page; the API keeps its problem responses."""
        status = domain_status(exc)
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyAttempts) else None
        if request.url.path.startswith(PAGES):
            shown = page(request, "message.html", status_code=status, heading="无法完成", detail=exc.message)
            shown.headers.update(headers or {})
            return shown
        return problem(status, exc.code, exc.message, request.url.path, headers=headers)
