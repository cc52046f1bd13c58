"""The web console (server-rendered, Chinese labels, no assets from elsewhere) and the public pages: a document's
evidence verification and the party's page. Served by the same app as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import (
    cameras,
    cases,
    documents,
    evidence,
    missed,
    models,
    party,
    registry,
    review,
    signin,
    statistics,
    users,
    wall,
)
from api.console.web import (
    TEMPLATES,
    LoginRequired,
    PageForbidden,
    install_flash,
    login_redirect,
    page,
    page_language,
    told,
)
from api.errors import (
    DATABASE_RETRY_AFTER_S,
    LANGUAGE_COOKIE,
    database_error_problem,
    database_unavailable,
    domain_status,
    field_problem,
    http_problem,
    problem,
    reader_language,
    retry_after,
    validation_problem,
)
from cases import messages
from cases.errors import OffsiteError
from cases.messages import page_text, wording

PAGES = ("/console", "/party", "/verify")
# Each router with the prefix its pages are served under.
ROUTERS = (
    *(
        (module.router, "/console")
        for module in (
            signin,
            review,
            cases,
            documents,
            evidence,
            registry,
            statistics,
            users,
            models,
            missed,
            cameras,
            wall,
        )
    ),
    (evidence.public, ""),
    (party.router, ""),
)


def install_console(app: FastAPI) -> None:
    settings = app.state.services.settings
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

    # The page handlers are plain functions: page() looks up the signed-in user in the database, which must not
    # happen on the event loop (Starlette runs a plain handler in a worker thread).
    @app.exception_handler(PageForbidden)
    def _forbidden(request: Request, exc: PageForbidden) -> Response:
        return page(request, "message.html", status_code=403, heading=wording("无权操作"), detail=told(request, exc))

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> Response:
        """Pages answer an unavailable database with a page that needs no database; the API with its problem."""
        if request.url.path.startswith(PAGES) and database_unavailable(exc):
            return database_unavailable_page(request)
        return database_error_problem(request, exc)

    @app.get("/console/language/{language}", include_in_schema=False)
    def choose_language(language: str, back: str = "/console/") -> RedirectResponse:
        """The language the pages are told in (zh_CN or en), kept in a cookie for a year; back to the page the
        reader chose it on (one of this service's pages, never another site), else to the console."""
        chosen = RedirectResponse(back if _own_page(back) else "/console/", status_code=303)
        if language in messages.LANGUAGES:
            chosen.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True)
        return chosen

    # An address no page answers, or a form whose fields fail the route's checks: under the pages' prefixes a
    # page in the reader's language (never the API's JSON); elsewhere the API's problem.
    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if not request.url.path.startswith(PAGES):
            return http_problem(request, exc)
        if exc.status_code == 404:
            return page(request, "not_found.html", status_code=404, what=request.url.path[:80],
                        detail=page_text("没有这个页面，请从菜单进入", page_language(request)))  # fmt: skip
        return page(request, "message.html", status_code=exc.status_code, heading=wording("无法完成"),
                    detail=page_text("请求未能完成，请返回上一页重试", page_language(request)))  # fmt: skip

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        if not request.url.path.startswith(PAGES):
            return validation_problem(request, exc)
        language = page_language(request)
        findings = [(_field_label(error["loc"], language), field_problem(error, language)) for error in exc.errors()]
        finding = page_text("“{field}”：{problem}", language)
        return page(request, "message.html", status_code=422, heading=wording("填写的内容不符合要求"),
                    detail=messages.LIST_SEPARATOR[language].join(
                        finding.format(field=field, problem=problem) for field, problem in findings[:5]))  # fmt: skip

    @app.exception_handler(OffsiteError)
    def _domain(request: Request, exc: OffsiteError) -> Response:
        """Pages answer a domain error with a page; the API keeps its problem responses."""
        status = domain_status(exc)
        headers = retry_after(exc)
        if request.url.path.startswith(PAGES):
            shown = page(request, "message.html", status_code=status, heading=wording("无法完成"),
                         detail=told(request, exc))  # fmt: skip
            shown.headers.update(headers or {})
            return shown
        language = reader_language(request)
        return problem(status, exc.code, exc.told(language), request.url.path, headers=headers, language=language)


def _own_page(path: str) -> bool:
    """A path of one of this service's pages (``/console…``, ``/party…``, ``/verify…``): a path that begins with
    one of them cannot name another site, as ``//host`` or ``/\\host`` would."""
    return path.startswith(PAGES)


def database_unavailable_page(request: Request) -> Response:
    """503 with Retry-After, rendered without the signed-in user (finding them needs the database)."""
    language = page_language(request)
    detail = page_text("数据库暂时无法访问，请约 {seconds} 秒后刷新页面重试。如持续出现，请联系系统管理员。", language)
    context: dict[str, Any] = {"user": None, "menu": [], "heading": wording("系统暂时不可用"), "language": language,
                               "detail": detail.format(seconds=DATABASE_RETRY_AFTER_S)}  # fmt: skip
    return TEMPLATES.TemplateResponse(
        request, "message.html", context, status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    )


# The names the console's and the party page's form fields are shown by, where a field fails the route's checks.
FIELD_LABELS = {
    "username": wording("用户名"),
    "password": wording("密码"),
    "next": wording("跳转地址"),
    "case_number": wording("案件编号"),
    "code": wording("查询码"),
    "text": wording("陈述申辩内容"),
    "csrf": wording("表单校验码"),
}


def _field_label(location: tuple[int | str, ...] | list[int | str], language: str) -> str:
    """A field as a person knows it: its label in the page's language, else its name (the last part of pydantic's
    location)."""
    name = str(location[-1]) if location else ""
    return page_text(FIELD_LABELS[name], language) if name in FIELD_LABELS else name
