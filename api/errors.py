"""The API's own errors (authentication, authorisation, request size) and the one place that maps every error
to an RFC 9457 problem response with a stable ``code``.

    ApiError
    ├── NotAuthenticated      no, expired or revoked bearer token; wrong password      (401)
    ├── Forbidden             the role may not do this (see api/roles.py)                (403)
    ├── GatewayRejected       bad or missing gateway signature, clock skew, replay       (401)
    ├── PayloadTooLarge       the request body exceeds the configured limit, or a pushed frame
    │                         its byte or pixel limit                                    (413)
    ├── UnsupportedMediaType  the body is not of the content type the route takes        (415)
    ├── BadFrame              a pushed frame that is not a whole JPEG, or a bad capture time (422)
    ├── CameraInactive        the camera is suspended: it takes no frames                (409)
    ├── NoPipeline            no pipeline takes pushed frames of the camera now          (409)
    └── FrameQueueFull        the camera's frame queue is full; retry after Retry-After   (429)
The domain's tree (cases.errors.OffsiteError) maps by class: NotFound 404, Conflict 409, InvalidInput and
LawViolation 422. Malformed requests (schema validation) are 422 with code ``invalid_request``. A database that
cannot be reached or does not answer in time (SQLAlchemy's OperationalError, a lost connection, no free pooled
connection: see ``database_unavailable``) is 503 ``database_unavailable`` with ``Retry-After``; any other database
error is a 500 like every unexpected one. DocumentNotIssued and Unavailable are 503.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.schemas import PATTERN_IN_WORDS
from cases import messages
from cases.errors import (
    Conflict,
    DocumentNotIssued,
    InvalidInput,
    LawViolation,
    NotFound,
    OffsiteError,
    RetryLater,
    TooManyAttempts,
    Unavailable,
)

log = logging.getLogger("offsite.api")
PROBLEM_JSON = "application/problem+json"
# A stopped server is usually back within seconds (a restart, a fail-over); each retry itself fails fast.
DATABASE_RETRY_AFTER_S = 5


class ApiError(messages.ToldProblem):
    status = 400
    code = "bad_request"

    def __init__(self, *, headers: dict[str, str] | None = None, variant: str | None = None, **params: object) -> None:
        super().__init__(variant=variant, **params)
        self.headers = headers


class NotAuthenticated(ApiError):
    status = 401
    code = "not_authenticated"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class GatewayRejected(ApiError):
    status = 401
    code = "gateway_rejected"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class BadFrame(ApiError):
    status = 422
    code = "bad_frame"


class CameraInactive(ApiError):
    status = 409
    code = "camera_inactive"


class NoPipeline(ApiError):
    status = 409
    code = "no_pipeline"


class FrameQueueFull(ApiError):
    status = 429
    code = "frame_queue_full"


class PipelineUnreachable(ApiError):
    status = 503
    code = "frames_unreachable"


# Starlette's own refusals: a form or multipart body it cannot parse (400), no such route (404), a method the
# route does not take (405)
HTTP_ERROR_CODES = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed"}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``path`` takes (FastAPI keeps an included router's routes behind it)."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(path):
            methods |= set(route.methods or ())
    return sorted(methods)


LANGUAGE_COOKIE = "offsite_lang"  # the console's language choice (zh_CN or en)


def reader_language(request: Request) -> str:
    """The language a response is told in: the console's saved choice, else Accept-Language, else Chinese."""
    return messages.language_of(request.headers.get("accept-language"), request.cookies.get(LANGUAGE_COOKIE))


def told(request: Request, code: str, params: dict[str, object] | None = None, english: str = "") -> str:
    """A problem that no exception carries (a code and its parameters) in the reader's language."""
    return messages.told((code,), code, params or {}, english, reader_language(request))


def domain_status(exc: OffsiteError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, TooManyAttempts):
        return 429
    if isinstance(exc, Unavailable | DocumentNotIssued):  # a store or renderer failing, not the request
        return 503
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput | LawViolation):
        return 422
    return 400


def retry_after(exc: OffsiteError) -> dict[str, str] | None:
    """The Retry-After header of a domain error that asks the client to come back later (429, 503)."""
    if isinstance(exc, RetryLater):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or did not answer in time, as against a request it refused: the server
    stopped or restarting (connection refused or lost), stalled (connect, statement or reply timeout), or every
    pooled connection busy."""
    if isinstance(exc, sa.TimeoutError):  # no pooled connection came free within pool_timeout
        return True
    return isinstance(exc, sa.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa.OperationalError | sa.InterfaceError)
    )


def database_error_problem(request: Request, exc: sa.SQLAlchemyError) -> JSONResponse:
    """503 with Retry-After while the database is unavailable; any other database error is unexpected (500)."""
    if not database_unavailable(exc):
        return unexpected_problem(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.__class__.__name__)
    detail = told(request, "database_unavailable", {"retry_after_s": DATABASE_RETRY_AFTER_S})
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    return problem(503, "database_unavailable", detail, request.url.path, headers, reader_language(request))


def unexpected_problem(request: Request, exc: BaseException) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = told(request, "internal_error")
    return problem(500, "internal_error", detail, request.url.path, language=reader_language(request))


def field_problem(error: Any, language: str) -> str:
    """One schema-validation finding in the reader's language: the catalogue's ``invalid_request.<pydantic type>``
    with the finding's context (``max_length``, ``ge``…); else pydantic's English, or in Chinese the general
    entry. A pattern is told in words, a list of choices as plain values: never an expression or a Python repr."""
    context = {name: value for name, value in (error.get("ctx") or {}).items() if isinstance(value, int | float | str)}
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        kind = PATTERN_IN_WORDS.get(str(context.get("pattern")), kind)
    if "expected" in context:
        context["expected"] = plain_choices(str(context["expected"]), language)
    text = messages.entry(f"invalid_request.{kind}", language)
    if text is not None and messages.placeholders(text) <= context.keys():
        return text.format_map(context)
    if language == messages.ENGLISH:
        return str(error["msg"])
    return messages.entry("invalid_request", language) or str(error["msg"])


_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def plain_choices(expected: str, language: str) -> str:
    """pydantic's ``'a', 'b' or 'c'`` (or ``<Role.ADMIN: 'admin'>, …``) as the values alone: ``a、b、c``."""
    values = _QUOTED.findall(expected)
    return messages.SERIES_SEPARATOR[language].join(values) if values else expected


def problem(
    status: int,
    code: str,
    detail: str,
    instance: str,
    headers: dict[str, str] | None = None,
    language: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem; its ``title`` is the code's general message in ``language`` (the reader's)."""
    body = {
        "type": f"urn:offsite:problem:{code}",
        "title": title_of(code, language),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def title_of(code: str, language: str | None) -> str:
    """The catalogue's general message of the code; a caller that does not know the reader's language, or a code
    the catalogue lacks, gets the code in English words."""
    general = messages.entry(code, language) if language is not None else None
    return general or code.replace("_", " ").capitalize()


# What pydantic says of a JSON body that is not an object: sent as another content type, the body arrives as bytes
BODY_NOT_AN_OBJECT = {"model_attributes_type", "model_type", "dict_type"}


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def body_sent_as_other_than_json(request: Request, errors: list[Any]) -> bool:
    """A JSON body refused because it came declared as something else (text/plain, a form): 415, not the schema."""
    media_type = media_type_of(request)
    if not media_type or is_json(media_type):
        return False
    return any(tuple(error["loc"]) == ("body",) and error["type"] in BODY_NOT_AN_OBJECT for error in errors)


def field_findings(errors: list[Any]) -> list[Any]:
    """The findings at the fields they name. A field that may be left out but never emptied (``Name | NotNull``) is
    a union of its type and an undocumented null: pydantic reports each branch under a tag of its own
    (``name.function-after[…]``, ``name.none``). The tag is left out, and the null branch's "must be null" dropped."""
    unions = {tuple(error["loc"][:-1]) for error in errors if error["type"] == "none_required" and error["loc"]}
    findings = []
    for error in errors:
        loc = tuple(error["loc"])
        union = max(
            (prefix for prefix in unions if loc[: len(prefix)] == prefix and len(loc) > len(prefix)),
            key=len,
            default=None,
        )
        if union is None:
            findings.append(error)
        elif error["type"] != "none_required":
            findings.append({**error, "loc": union + loc[len(union) + 1 :]})
    return findings


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 ``invalid_request`` naming each field that fails the schema, in the reader's language; a JSON body sent
    under another content type is 415 ``unsupported_media_type``."""
    language = reader_language(request)
    if body_sent_as_other_than_json(request, list(exc.errors())):
        detail = told(request, "unsupported_media_type.json", {"media_type": media_type_of(request)})
        return problem(415, "unsupported_media_type", detail, request.url.path, language=language)
    broken = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
    if broken is not None:  # not JSON at all: no field is wrong (the loc holds a character's offset, not a name)
        offset = broken["loc"][-1] if isinstance(broken["loc"][-1], int) else 0
        detail = told(request, "malformed_request.json_syntax", {"position": offset + 1})
        return problem(400, "malformed_request", detail, request.url.path, language=language)
    errors = [
        {"field": ".".join(str(p) for p in error["loc"]), "message": field_problem(error, language)}
        for error in field_findings(list(exc.errors()))
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "invalid_request", summary, request.url.path, language=language, errors=errors)


def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's own refusals (no such route, method not allowed) as problems, in the reader's language."""
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    variant = "json" if code == "malformed_request" and is_json(media_type_of(request)) else "http"
    detail = told(request, f"{code}.{variant}", english=str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # RFC 9110: Allow lists every method of the resource, not the first route's
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
    return problem(exc.status_code, code, detail, request.url.path, headers or None, reader_language(request))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OffsiteError)
    async def _domain(request: Request, exc: OffsiteError) -> JSONResponse:
        language = reader_language(request)
        detail = exc.told(language)
        return problem(domain_status(exc), exc.code, detail, request.url.path, retry_after(exc), language)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        language = reader_language(request)
        return problem(exc.status, exc.code, exc.told(language), request.url.path, exc.headers, language)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(request, exc)

    @app.exception_handler(sa.SQLAlchemyError)
    async def _database(request: Request, exc: sa.SQLAlchemyError) -> JSONResponse:
        return database_error_problem(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return unexpected_problem(request, exc)
