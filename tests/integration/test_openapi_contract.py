"""The OpenAPI document tells the truth: schemathesis (pinned in constraints.txt) generates requests for every
operation from /openapi.json and runs them in-process against the app, as an admin and as an officer, with every
check it has. A new route is covered without a line here: the operations come from the document.

Bounded and repeatable: Hypothesis derandomised (a fixed seed), ``MAX_EXAMPLES`` generated cases per operation on
top of the explicit examples and schemathesis's coverage phase (boundaries and negative values, deterministic).
SQLite only: the contract is the API's, not the database's, and both databases double the time (the PostgreSQL
half of the integration suite covers the same services).
"""

from __future__ import annotations

from typing import Any, get_args

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, CheckContext, load_all_checks
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

from api import schemas
from cases import messages
from cases.model.staff import NOT_STAFF, Role
from cases.services.csv_import import KINDS
from offsite.bootstrap import Components, build, web_app
from offsite.settings import Settings as AppSettings
from tests.integration.conftest import Staff

MAX_EXAMPLES = 10
# Refusals of schema-valid requests by rules the document states in words but JSON Schema generation cannot honour,
# by operation; any other 422 on a schema-valid request is a gap in the document and fails the run:
# - an opaque page cursor the service did not issue; a current password that is not the account's; a CSV file's
#   own header and rows;
# - check characters (ID card, 统一社会信用代码): the pattern is declared, the checksum is arithmetic;
# - rules across fields: e-delivery consent needs its document's reference, a zone links to the record its
#   subject names, a re-check names its detection or an inspection note, a review needs its date and reference.
# A law's refusal (a fine outside the band, a step before its deadline) needs a case in that stage, which generated
# ids do not reach.
CHECK_CHARACTERS_AND_FIELD_PAIRS = {"invalid_input"}
REFUSED_BEYOND_THE_SCHEMA = {
    "GET /api/v1/detections": {"cursor_invalid"},
    "POST /api/v1/auth/password": {"invalid_input"},
    "POST /api/v1/imports/{kind}": {"invalid_input"},
    "POST /api/v1/merchants": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "PATCH /api/v1/merchants/{merchant_id}": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "POST /api/v1/sites": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "PATCH /api/v1/sites/{site_id}": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "POST /api/v1/cameras": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "PATCH /api/v1/cameras/{camera_id}": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "POST /api/v1/cameras/{camera_id}/zones": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "POST /api/v1/cases/{case_id}/party": CHECK_CHARACTERS_AND_FIELD_PAIRS,
    "POST /api/v1/cases/{case_id}/recheck": CHECK_CHARACTERS_AND_FIELD_PAIRS,
}

# Rules of a field the document states in its description, which no JSON Schema keyword can: a text a person reads
# has a visible character (Unicode letters, digits, punctuation, symbols: a pattern would list hundreds of ranges);
# a time lies from 1970 up to 2200 (JSON Schema has no bounds for date-time). A refusal naming only these is excused.
RULES_IN_WORDS = {
    messages.entry(f"invalid_request.{kind}", language)
    for kind in ("no_visible_text", "moment_out_of_range")
    for language in messages.LANGUAGES
}

load_all_checks()
positive_data_acceptance = CHECKS.get_one("positive_data_acceptance")


def positive_data_is_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """schemathesis's positive_data_acceptance, except for refusals no schema can declare (see above)."""
    refused = REFUSED_BEYOND_THE_SCHEMA.get(f"{case.method.upper()} {case.path}", set())
    if response.status_code == 422 and (problem_code(response) in refused or refused_by_rules_in_words(response)):
        return None
    return positive_data_acceptance(ctx, response, case)


def refused_by_rules_in_words(response: Response) -> bool:
    """Every finding of the schema refusal is one of RULES_IN_WORDS."""
    try:
        body = response.json()
    except ValueError:
        return False
    findings = body.get("errors") if isinstance(body, dict) and body.get("code") == "invalid_request" else None
    return bool(findings) and all(finding.get("message") in RULES_IN_WORDS for finding in findings)


def problem_code(response: Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


# Every check schemathesis registers (its `--checks all`), positive_data_acceptance through the exception above.
CHECKS_RUN = [
    check for check in CHECKS.get_all() if not isinstance(check, type) and check is not positive_data_acceptance
] + [positive_data_is_accepted]

# The document does not depend on the database: it is read from an app on an in-memory one, at collection, so that
# each operation is a test of its own. Requests go to an app on the test database (the `app` fixture).
DOCUMENT = web_app(build(AppSettings(environment="development", database_url="sqlite://"))).openapi()
contract = schemathesis.openapi.from_dict(DOCUMENT)
bounded = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only (see the module's docstring): overrides the suite's two-database fixture for this module."""
    from cases.persistence import migrate
    from cases.persistence.database import create_database_engine

    url = f"sqlite:///{tmp_path_factory.getbasetemp() / 'openapi-contract.db'}"
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def app(settings: AppSettings, components: Components) -> FastAPI:
    return web_app(components)


def call(case: Case, app: FastAPI, headers: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers=headers, checks=CHECKS_RUN)


@contract.parametrize()
@bounded
def test_every_operation_answers_as_documented_to_an_admin(case: Case, app: FastAPI, staff: Staff) -> None:
    call(case, app, staff.headers(Role.ADMIN))


@contract.parametrize()
@bounded
def test_every_operation_answers_as_documented_to_an_officer(case: Case, app: FastAPI, staff: Staff) -> None:
    call(case, app, staff.headers(Role.OFFICER))


def test_the_document_offers_only_the_roles_an_account_may_hold() -> None:
    assert set(get_args(schemas.StaffRole)) == set(Role) - NOT_STAFF


def test_the_document_offers_exactly_the_csv_imports_the_service_has() -> None:
    parameters: list[dict[str, Any]] = DOCUMENT["paths"]["/api/v1/imports/{kind}"]["post"]["parameters"]
    kind = next(p for p in parameters if p["name"] == "kind")
    assert set(kind["schema"]["enum"]) == set(KINDS)


def test_every_record_id_in_a_path_is_bounded_as_a_record_id() -> None:
    """An id beyond what a record may have is refused by the document's own bounds, naming the parameter, instead of
    reaching the database (2^63 and beyond: a generic "number out of range"; 0 or -1: a 404 for a record that
    cannot exist)."""
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    bounds = (parameter["schema"].get("minimum"), parameter["schema"].get("maximum"))
                    assert bounds == (1, schemas.MAX_RECORD_ID), (method, path, parameter["name"])


def test_every_error_is_documented_as_a_problem() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/users", "GET, POST"),
        ("PUT", "/api/v1/cameras/1", "GET, PATCH"),
        ("TRACE", "/readyz", "GET"),
    ],
)
def test_a_method_the_path_does_not_take_is_answered_405_with_every_method_it_takes(
    app: FastAPI, staff: Staff, method: str, path: str, allowed: str
) -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        response = client.request(method, path, headers=staff.headers(Role.ADMIN))
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"].startswith("application/problem+json")
