"""The OpenAPI document tells the truth: every status a route can answer, in the media type it answers with.

FastAPI documents a route's success and its request validation (as ``application/json``, in a shape the service
never sends). The service answers every error as RFC 9457 ``application/problem+json`` with a stable ``code``
(api/errors.py), so this module rewrites the document once, when it is first asked for, from what each route is
made of, so that a new route is documented without per-route work:

- a dependency marked with :func:`answers` (the bearer token: 401; a permission check: 403; a gateway's
  signature: 401) adds what it can refuse;
- the wired services (the database behind them) add 503 ``database_unavailable`` with ``Retry-After``;
- a path parameter adds 404 (the record it names does not exist);
- a request body adds 413 (BodySizeLimit), and a form body 400 (it cannot be parsed);
- a body or any parameter adds 422 (``invalid_request``, and the domain's ``invalid_input`` or law);
- a body carrying ``version`` adds 409 (the record changed since it was read, or its stage refuses the step),
  and a route that creates (201) adds 409 ``already_exists``.
Codes a route raises itself (a 409 or 429 of its own) are declared on the route with ``responses=``; they are
kept, given the problem media type, and the statuses above are added beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.errors import PROBLEM_JSON, ApiError

Call = TypeVar("Call", bound=Callable[..., Any])
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ANSWERS_ATTRIBUTE = "__offsite_answers__"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details, with the service's stable `code` (api/errors.py, cases/errors.py); "
    "some problems carry more members (`errors` for a malformed request, `report` for a refused import).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:offsite:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what was wrong, in words"},
        "instance": {"type": "string", "description": "the path of the request"},
        "code": {"type": "string", "description": "stable: clients and the message catalogue key on it"},
        "errors": {
            "type": "array",
            "description": "invalid_request: each field the request got wrong",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
WWW_AUTHENTICATE = {"description": "Bearer: sign in at /api/v1/auth/token", "schema": {"type": "string"}}


@dataclass(frozen=True)
class Answer:
    """A problem status a route can answer, the codes it answers with, and the headers it always carries."""

    status: int
    codes: tuple[str, ...]
    headers: tuple[tuple[str, dict[str, Any]], ...] = ()


def answers(*errors: type[ApiError]) -> Callable[[Call], Call]:
    """Mark a dependency with the API errors it can raise; every route that depends on it documents them."""

    def mark(dependency: Call) -> Call:
        setattr(dependency, ANSWERS_ATTRIBUTE, errors)
        return dependency

    return mark


def install_openapi(app: FastAPI, database_dependency: Callable[..., Any]) -> None:
    """Replace the app's document with the one that tells every status; built once, on the first request."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            built = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document_problems(built, app.routes, database_dependency)
            app.openapi_schema = built
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def document_problems(document: dict[str, Any], routes: list[Any], database_dependency: Callable[..., Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    # FastAPI keeps an included router's routes behind it; a route context shows each with its full path
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        answers_of_route = route_answers(route, database_dependency)
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                document_operation(operation, route, answers_of_route)
    # FastAPI's own shape for a malformed request, which the service never sends (it answers a Problem)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def route_answers(route: RouteContext, database_dependency: Callable[..., Any]) -> list[Answer]:
    found: list[Answer] = []
    calls = list(dependency_calls(route.dependant))
    for call in calls:
        for error in getattr(call, ANSWERS_ATTRIBUTE, ()):
            headers = (("WWW-Authenticate", WWW_AUTHENTICATE),) if error.code == "not_authenticated" else ()
            found.append(Answer(error.status, (error.code,), headers))
    if database_dependency in calls:
        found.append(Answer(503, ("database_unavailable",), (("Retry-After", RETRY_AFTER),)))
    dependant = route.dependant
    has_parameters = bool(dependant.path_params or dependant.query_params or dependant.header_params)
    has_body = route.body_field is not None
    if dependant.path_params or names_records(body_properties(route)):
        found.append(Answer(404, ("not_found",)))
    if has_body:
        # a body that cannot be parsed (not JSON, a broken form) is refused before validation
        found.append(Answer(400, ("malformed_request",)))
        found.append(Answer(413, ("payload_too_large",)))
    if has_body or has_parameters:
        found.append(Answer(422, ("invalid_request", "invalid_input")))
    if has_body and "version" in body_properties(route):
        found.append(Answer(409, ("version_conflict", "illegal_transition")))
    if route.status_code == 201:
        found.append(Answer(409, ("already_exists",)))
    return found


def names_records(properties: set[str]) -> bool:
    """A body that names other records by id (``gateway_id``, ``detection_ids``) is answered 404 when one is not
    there."""
    return any(name.endswith(("_id", "_ids")) for name in properties)


def dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from dependency_calls(dependency)


def body_properties(route: RouteContext) -> set[str]:
    annotation = getattr(getattr(route.body_field, "field_info", None), "annotation", None)
    fields = getattr(annotation, "model_fields", None)
    return set(fields) if isinstance(fields, dict) else set()


def document_operation(operation: dict[str, Any], route: RouteContext, found: list[Answer]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(status) for status in route.responses if str(status).isdigit()}
    merged: dict[int, list[Answer]] = {}
    for answer in found:
        merged.setdefault(answer.status, []).append(answer)
    for status, group in sorted(merged.items()):
        codes = ", ".join(f"`{code}`" for answer in group for code in answer.codes)
        entry = responses.setdefault(str(status), {})
        if status not in declared or not entry.get("description"):
            entry["description"] = f"problem: {codes}"
        for answer in group:
            for name, header in answer.headers:
                entry.setdefault("headers", {})[name] = header
    for status_text, entry in responses.items():
        status = int(status_text) if status_text.isdigit() else 0
        if status < 400:
            continue
        explicit = route.responses.get(status, {})
        if status in declared and ("model" in explicit or "content" in explicit):
            continue  # the route documents a body of its own
        entry["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    operation["responses"] = dict(sorted(responses.items()))
