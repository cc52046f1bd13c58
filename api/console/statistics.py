"""The statistics page and its CSV/XLSX export: the figures an annual 行政执法 report states, by month and
district."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.web import page, page_language, permitted, yuan
from api.roles import Permission
from api.services import services_of
from cases.errors import InvalidInput
from cases.services.statistics import STAGE_NAMES, StatisticsRow, to_csv, to_xlsx

router = APIRouter()


def _report(request: Request) -> tuple[list[StatisticsRow], int | None, str | None]:
    service = services_of(request).statistics
    year_text = request.query_params.get("year") or ""
    try:
        year = int(year_text) if year_text else None
    except ValueError as exc:
        raise InvalidInput(variant="not_a_year", year=repr(year_text[:20])) from exc
    district = request.query_params.get("district") or None
    return service.report(year, district), year, district


@router.get("/statistics", response_class=HTMLResponse)
def statistics(request: Request) -> Response:
    permitted(request, Permission.READ_CASES)
    rows, year, district = _report(request)
    service = services_of(request).statistics
    return page(request, "statistics.html", rows=rows, year=year or "", district=district or "",
                districts=service.districts(), stage_names=STAGE_NAMES,
                violation_names=service.violation_names(page_language(request)),
                yuan=yuan, query=request.url.query)  # fmt: skip


def _export(request: Request) -> tuple[list[StatisticsRow], dict[str, str]]:
    permitted(request, Permission.READ_CASES)
    rows, _year, _district = _report(request)
    return rows, services_of(request).statistics.violation_names()


@router.get("/statistics.csv", response_model=None)
def statistics_csv(request: Request) -> Response:
    rows, names = _export(request)
    body = to_csv(rows, names, STAGE_NAMES).encode("utf-8-sig")  # the byte-order mark lets Excel read UTF-8
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="offsite-statistics.csv"'})  # fmt: skip


@router.get("/statistics.xlsx", response_model=None)
def statistics_xlsx(request: Request) -> Response:
    rows, names = _export(request)
    return Response(
        to_xlsx(rows, names, STAGE_NAMES),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="offsite-statistics.xlsx"'},
    )
