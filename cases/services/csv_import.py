"""Bulk import of registries from CSV (a district holds ~17,000 shops).

Rows are keyed by their natural code (一店一码, permit number, device id): a new code is inserted, a known one
updated. Every row is validated first. By default the import is all-or-nothing: one bad row and nothing is
written, and the report names every bad row by line. With ``allow_partial`` the good rows are written and the
bad ones reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import Table, insert, select, update

from cases.errors import InvalidInput, OffsiteError
from cases.model.registry import Camera, CameraStatus, Merchant, Site
from cases.persistence import tables
from cases.persistence.limits import check_lengths
from cases.services.base import Service

MAX_ROWS = 200_000


def _text(value: str) -> str:
    return value.strip()


def _optional(value: str) -> str | None:
    return value.strip() or None


def _bool(value: str) -> bool:
    normalised = value.strip().lower()
    if normalised in ("1", "true", "yes", "y", "是"):
        return True
    if normalised in ("", "0", "false", "no", "n", "否"):
        return False
    raise ValueError(f"{value!r} is not yes/no")


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value.strip()) if value.strip() else None


def _float(value: str) -> float | None:
    return float(value) if value.strip() else None


@dataclass(frozen=True)
class CsvSpec:
    record: type[Any]
    table: Table
    key: str
    columns: dict[str, Callable[[str], Any]]  # column → parser; the first is the key
    required: tuple[str, ...]


SPECS: dict[str, CsvSpec] = {
    "merchants": CsvSpec(
        Merchant,
        tables.merchants,
        "code",
        {
            "code": _text,
            "name": _text,
            "address": _text,
            "uscc": _optional,
            "mobile": _optional,
            "e_delivery_consent": _bool,
            "consent_document_ref": _optional,
        },
        ("code", "name", "address"),
    ),
    "sites": CsvSpec(
        Site,
        tables.sites,
        "permit_number",
        {
            "permit_number": _text,
            "name": _text,
            "address": _text,
            "contractor": _text,
            "contractor_uscc": _optional,
            "responsible_person": _optional,
            "contact_phone": _optional,
        },
        ("permit_number", "name", "address", "contractor"),
    ),
    "cameras": CsvSpec(
        Camera,
        tables.cameras,
        "device_id",
        {
            "device_id": _text,
            "name": _text,
            "address": _text,
            "gbt28181_id": _optional,
            "longitude": _float,
            "latitude": _float,
            "legal_review_date": _date,
            "legal_review_ref": _optional,
            "technical_review_date": _date,
            "technical_review_ref": _optional,
            "next_maintenance_due": _date,
            "published": _bool,
            "status": lambda v: CameraStatus(v.strip() or "active"),
        },
        ("device_id", "name", "address"),
    ),
}


@dataclass(frozen=True)
class RejectedRow:
    line: int
    key: str | None
    error: str


@dataclass
class ImportReport:
    kind: str
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    written: bool = False


class CsvImportService(Service):
    def import_csv(self, kind: str, content: bytes, allow_partial: bool = False) -> ImportReport:
        spec = SPECS.get(kind)
        if spec is None:
            raise InvalidInput(f"no CSV import for {kind!r}; one of: {', '.join(SPECS)}")
        report = ImportReport(kind)
        rows = self._parse(spec, content, report)
        if report.rejected and not allow_partial:
            return report
        self._write(spec, rows, report)
        return report

    def _parse(self, spec: CsvSpec, content: bytes, report: ImportReport) -> dict[str, dict[str, Any]]:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the file is not UTF-8 text (byte {exc.start})") from exc
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        missing = [c for c in spec.required if c not in header]
        unknown = [c for c in header if c not in spec.columns]
        if missing or unknown:
            raise InvalidInput(
                f"CSV header: missing column(s) {missing or 'none'}, unknown column(s) {unknown or 'none'}; "
                f"expected {', '.join(spec.columns)}"
            )
        rows: dict[str, dict[str, Any]] = {}
        for number, raw in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise InvalidInput(f"more than {MAX_ROWS} rows; split the file")
            key = (raw.get(spec.key) or "").strip() or None
            try:
                values = {name: spec.columns[name](raw.get(name) or "") for name in header}
                record = spec.record(**values)
                record.validate()
                check_lengths(spec.table, values)
            except (OffsiteError, ValueError, TypeError) as exc:
                report.rejected.append(RejectedRow(number, key, getattr(exc, "message", str(exc))))
                continue
            if key in rows:
                report.rejected.append(RejectedRow(number, key, f"{spec.key} {key!r} appears twice in the file"))
                continue
            assert key is not None
            rows[key] = {f.name: getattr(record, f.name) for f in fields(record) if f.name in header}
        return rows

    def _write(self, spec: CsvSpec, rows: dict[str, dict[str, Any]], report: ImportReport) -> None:
        key_column = spec.table.c[spec.key]
        defaults = {f.name: f.default for f in fields(spec.record) if f.name not in ("id", "version")}
        with self.transaction() as session:
            existing: dict[str, int] = {}
            keys = list(rows)
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                for code, version in session.execute(
                    select(key_column, spec.table.c.version).where(key_column.in_(chunk))
                ):
                    existing[code] = version
            new = [{**defaults, **values, "version": 1} for key, values in rows.items() if key not in existing]
            new = [{k: v for k, v in row.items() if k in spec.table.c} for row in new]
            if new:
                session.execute(insert(spec.table), new)
            for key, values in rows.items():
                if key in existing:
                    session.execute(
                        update(spec.table).where(key_column == key).values(**values, version=existing[key] + 1)
                    )
        report.inserted = len(rows) - len(existing)
        report.updated = len(existing)
        report.written = True
