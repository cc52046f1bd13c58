"""``create_app(services)``: the FastAPI application. No module-level engine: each app is given its services by the
composition root (``offsite.bootstrap.web_app``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console import install_console
from api.deps import get_services
from api.docs import install_docs
from api.errors import install_error_handlers, problem, reader_language, told
from api.metrics import install_metrics
from api.openapi import install_openapi
from api.routers import auth, cases, catalogue, command_centre, detections, evidence, gateway_frames, models, registry
from api.schemas import ReadinessOut
from api.services import ApiServices
from cases.law.law import missing_years_warning

API_PREFIX = "/api/v1"


class BodySizeLimit:
    """Refuse request bodies over the limit with 413, whether announced by Content-Length or streamed.

    A streamed body is counted as it arrives; once over the limit the middleware answers 413 itself and tells
    the application the client left, dropping whatever the application then tries to send.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        announced = dict(scope["headers"]).get(b"content-length")
        if announced is not None and announced.isdigit() and int(announced) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                refused = True
                if not started:
                    await self._refuse(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        english = f"the request body is larger than {self.max_bytes} bytes"
        detail = told(Request(scope), "payload_too_large.body", {"max_bytes": self.max_bytes}, english)
        language = reader_language(Request(scope))
        response = problem(413, "payload_too_large", detail, scope.get("path", ""), language=language)
        await response(scope, receive, send)


def create_app(services: ApiServices) -> FastAPI:
    settings = services.settings
    app = FastAPI(
        title="offsite — 城管非现场执法",
        version="0.1.0",
        description="Detections, their review, and lawful cases for city-management non-site enforcement.",
        docs_url=None,  # install_docs serves /docs with local assets; no ReDoc (its logo comes from a CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    install_error_handlers(app)
    routers = (auth.router, registry.router, catalogue.router, detections.router, cases.router, models.router,
               command_centre.router)  # fmt: skip
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(gateway_frames.router, prefix=API_PREFIX)
    app.include_router(evidence.router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up. Answered on the event loop itself, touching nothing: it stays fast while the database
        stalls and every worker thread is waiting on it."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=ReadinessOut,
        response_model_exclude_none=True,
        responses={503: {"model": ReadinessOut, "description": "the database is unreachable or not migrated"}},
    )
    def readyz() -> Any:
        """The database is reachable and its schema is current."""
        reason = services.readiness()
        if reason is not None:
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        # a missing holiday year leaves the service able to work (its deadlines say they are provisional): said, not 503
        missing = services.law.calendar_years_missing(services.clock.today())
        if missing:
            return ReadinessOut(status="ready", calendar_missing_years=missing, calendar=missing_years_warning(missing))
        return ReadinessOut(status="ready")

    install_docs(app, openapi_url="/openapi.json")
    install_console(app)
    install_openapi(app, database_dependency=get_services)
    install_metrics(app, services)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    return app
