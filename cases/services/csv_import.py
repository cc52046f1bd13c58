"""Bulk import of registries from CSV (a district holds ~17,000 shops and thousands of shop-to-zone links).

Rows are keyed by their natural key (一店一码, permit number, device id; a zone by its camera's device id and its
code): a new key is inserted, a known one updated. An update may carry only some of the columns: the row is
merged over the stored record and the merged record is validated, so that a partial update cannot leave a record
the registry would refuse (e-delivery consent without its consent document, say). Every row is validated before
anything is written. By default the import is all-or-nothing: one bad row and nothing is written, and the report
names every bad row by line. With ``allow_partial`` the good rows are written and the bad ones reported.

An update is written only if the record is still as it was read: merchants, sites and cameras carry the version
read (``WHERE key = :key AND version = :version_read``), and a record changed meanwhile aborts the whole import
with ConcurrentModification, nothing written. Zones have no version column: the zones an import may update are
locked when read (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite's transactions hold the write lock from BEGIN).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from cases.errors import ConcurrentModification, InvalidInput, OffsiteError
from cases.model.registry import Camera, CameraStatus, Merchant, Site, Zone, ZoneSubject
from cases.persistence import tables
from cases.persistence.limits import check_lengths
from cases.services.base import Service

MAX_ROWS = 200_000
CHUNK = 5000  # keys per SELECT ... IN (...) when loading the stored records


# A cell's parser: the column's name (for the message) and the cell's text to the value, or InvalidInput naming the
# column and what the cell should hold.
Parser = Callable[[str, str], Any]


def _text(_column: str, value: str) -> str:
    return value.strip()


def _optional(_column: str, value: str) -> str | None:
    return value.strip() or None


def _bool(column: str, value: str) -> bool:
    normalised = value.strip().lower()
    if normalised in ("1", "true", "yes", "y", "是"):
        return True
    if normalised in ("", "0", "false", "no", "n", "否"):
        return False
    raise InvalidInput(variant="csv_yes_no", column=column, value=repr(value))


def _date(column: str, value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise InvalidInput(variant="csv_date", column=column, value=repr(value.strip())) from None


def _float(column: str, value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InvalidInput(variant="csv_number", column=column, value=repr(value.strip())) from None


def _choice(enum: type[StrEnum], default: str = "") -> Parser:
    """A parser of one of ``enum``'s values (``default`` for an empty cell)."""

    def parse(column: str, value: str) -> Any:
        try:
            return enum(value.strip() or default)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            raise InvalidInput(
                variant="csv_choice", column=column, value=repr(value.strip()), choices=choices
            ) from None

    return parse


def _polygon(column: str, value: str) -> list[list[float]] | None:
    """A JSON list of [x, y] points, e.g. ``[[0.1, 0.2], [0.6, 0.2], [0.6, 0.9]]``; empty for none."""
    if not value.strip():
        return None
    try:
        points = json.loads(value)
    except ValueError as exc:
        raise InvalidInput(variant="csv_polygon_json", column=column, detail=str(exc)) from None
    if not isinstance(points, list) or not all(
        isinstance(point, list) and all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
        for point in points
    ):
        raise InvalidInput(variant="csv_polygon_points", column=column)
    return [[float(c) for c in point] for point in points]


@dataclass(frozen=True)
class CsvSpec:
    record: type[Any]
    table: Table
    key: str
    columns: dict[str, Parser]  # column → parser; the first is the key
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
            "district": _optional,
            "street": _optional,
            "longitude": _float,
            "latitude": _float,
            "legal_review_date": _date,
            "legal_review_ref": _optional,
            "technical_review_date": _date,
            "technical_review_ref": _optional,
            "next_maintenance_due": _date,
            "published": _bool,
            "status": _choice(CameraStatus, CameraStatus.ACTIVE),
        },
        ("device_id", "name", "address"),
    ),
}

# Zones: keyed by (camera_device_id, code); the camera, merchant and site are named by their natural keys.
ZONE_COLUMNS: dict[str, Parser] = {
    "camera_device_id": _text,
    "code": _text,
    "name": _text,
    "subject": _choice(ZoneSubject),
    "merchant_code": _optional,  # 一店一码 of the merchant a merchant zone watches
    "permit_number": _optional,  # 施工许可证号 of the site a site zone watches
    "polygon": _polygon,
}
ZONE_REQUIRED = ("camera_device_id", "code", "name", "subject")
KINDS = (*SPECS, "zones")


@dataclass(frozen=True)
class RejectedRow:
    """A row not imported: its line, its key (when it has one) and why, told in the reader's language."""

    line: int
    key: str | None
    problem: OffsiteError

    @property
    def error(self) -> str:
        """Why, in English (the CLI's)."""
        return self.problem.message


@dataclass
class ImportReport:
    kind: str
    inserted: int = 0
    updated: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    written: bool = False


@dataclass(frozen=True)
class _Row:
    line: int
    key: str | None
    values: dict[str, Any]  # parsed, one entry per column of the file's header


def _problem(exc: Exception) -> OffsiteError:
    """Why a row was refused: the domain's refusal, or a value its record could not be made of."""
    if isinstance(exc, OffsiteError):
        return exc
    return InvalidInput(variant="csv_value", detail=str(exc))


@dataclass(frozen=True)
class _Line:
    number: int
    raw: dict[str | Any, Any]  # csv.DictReader's row: surplus cells under the key None

    def cell(self, name: str) -> str:
        value = self.raw.get(name)
        return value.strip() if isinstance(value, str) else ""

    def check_fits(self, header: list[str]) -> None:
        """Refuses a row with more cells than the header has columns."""
        extra = self.raw.get(None)
        if extra:
            raise InvalidInput(variant="csv_surplus", cells=len(header) + len(extra), columns=len(header))


def _read(content: bytes, columns: Collection[str], required: Iterable[str]) -> tuple[list[str], list[_Line]]:
    """The header and the data rows with their line numbers; a bad encoding or header refuses the file."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(variant="csv_not_utf8", byte=exc.start) from exc
    reader = csv.DictReader(io.StringIO(text), strict=True)  # an unclosed quote is refused, not read to the end
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise InvalidInput(variant="csv_quotes", line=1) from exc
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in columns]
    if missing or unknown:
        raise InvalidInput(
            variant="csv_header",
            missing=", ".join(missing) or "-",
            unknown=", ".join(unknown) or "-",
            expected=", ".join(columns),
        )
    lines: list[_Line] = []
    try:
        for number, raw in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise InvalidInput(variant="csv_rows", max_rows=MAX_ROWS)
            lines.append(_Line(number, raw))
    except csv.Error as exc:  # the row after the last one read: numbered as the rows are
        raise InvalidInput(variant="csv_quotes", line=len(lines) + 2) from exc
    return header, lines


def _parse(line: _Line, header: list[str], columns: Mapping[str, Parser]) -> dict[str, Any]:
    line.check_fits(header)
    return {name: columns[name](name, line.raw.get(name) or "") for name in header}


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _load(session: Session, table: Table, column: Column[Any], keys: Collection[Any], lock: bool = False) -> list[Any]:
    """The stored rows whose ``column`` is one of ``keys``, read in chunks."""
    ordered = list(keys)
    found: list[Any] = []
    for start in range(0, len(ordered), CHUNK):
        query = select(table).where(column.in_(ordered[start : start + CHUNK]))
        if lock:
            query = query.with_for_update(key_share=True)  # FOR NO KEY UPDATE: detections may still reference them
        found.extend(session.execute(query).mappings())
    return found


class CsvImportService(Service):
    def import_csv(self, kind: str, content: bytes, allow_partial: bool = False) -> ImportReport:
        if kind == "zones":
            return self._import_zones(content, allow_partial)
        spec = SPECS.get(kind)
        if spec is None:
            raise InvalidInput(variant="csv_kind", kind=repr(kind), kinds=", ".join(KINDS))
        return self._import_records(kind, spec, content, allow_partial)

    # ---- merchants, sites, cameras --------------------------------------------------------------------------
    def _import_records(self, kind: str, spec: CsvSpec, content: bytes, allow_partial: bool) -> ImportReport:
        report = ImportReport(kind)
        header, lines = _read(content, spec.columns, spec.required)
        rows: list[_Row] = []
        first_line: dict[str, int] = {}
        for line in lines:
            key = line.cell(spec.key) or None
            if key is not None and key in first_line:
                twice = InvalidInput(variant="csv_twice", column=spec.key, key=repr(key), first=first_line[key])
                report.rejected.append(RejectedRow(line.number, key, twice))
                continue
            if key is not None:
                first_line[key] = line.number
            try:
                rows.append(_Row(line.number, key, _parse(line, header, spec.columns)))
            except (OffsiteError, ValueError, TypeError) as exc:
                report.rejected.append(RejectedRow(line.number, key, _problem(exc)))

        table = spec.table
        key_column = table.c[spec.key]
        record_fields = [f.name for f in fields(spec.record)]
        with self.transaction() as session:
            stored = {row[spec.key]: row for row in _load(session, table, key_column, [r.key for r in rows if r.key])}
            new: list[dict[str, Any]] = []
            changed: list[tuple[_Row, int]] = []
            for row in rows:
                current = stored.get(row.key)
                # a known key: the file's columns over the stored record, so that the whole record is checked
                merged = {**({} if current is None else {name: current[name] for name in record_fields}), **row.values}
                try:
                    record = spec.record(**merged)
                    record.validate()
                    check_lengths(table, merged)
                except (OffsiteError, ValueError, TypeError) as exc:
                    report.rejected.append(RejectedRow(row.line, row.key, _problem(exc)))
                    continue
                if current is None:
                    new.append(
                        {**{name: getattr(record, name) for name in record_fields if name != "id"}, "version": 1}
                    )
                else:
                    changed.append((row, current["version"]))
            report.rejected.sort(key=lambda r: r.line)
            if report.rejected and not allow_partial:
                return report
            if new:
                session.execute(insert(table), new)  # one executemany for the whole file
            if changed:
                # one executemany; each row only if still at the version it was validated against
                statement = update(table).where(
                    key_column == bindparam("key_read"), table.c.version == bindparam("version_read")
                )
                params = [
                    {**row.values, "key_read": row.key, "version_read": version, "version": version + 1}
                    for row, version in changed
                ]
                savepoint = session.begin_nested()
                if _rowcount(session.execute(statement, params)) == len(changed):
                    savepoint.commit()
                else:  # someone else changed a record meanwhile: find it, one update at a time, to name it
                    savepoint.rollback()
                    for (row, _), one in zip(changed, params, strict=True):
                        if _rowcount(session.execute(statement, one)) != 1:
                            raise ConcurrentModification(
                                variant="import_row", key=spec.key, value=repr(row.key), line=row.line
                            )
                    raise ConcurrentModification(variant="import")
        report.inserted, report.updated, report.written = len(new), len(changed), True
        return report

    # ---- zones ----------------------------------------------------------------------------------------------
    def _import_zones(self, content: bytes, allow_partial: bool) -> ImportReport:
        report = ImportReport("zones")
        header, lines = _read(content, ZONE_COLUMNS, ZONE_REQUIRED)
        rows: list[_Row] = []
        first_line: dict[tuple[str, str], int] = {}
        for line in lines:
            device_id, code = line.cell("camera_device_id"), line.cell("code")
            key = f"{device_id}/{code}" if device_id or code else None
            if device_id and code and (device_id, code) in first_line:
                first = first_line[device_id, code]
                twice = InvalidInput(variant="csv_zone_twice", zone=repr(code), camera=repr(device_id), first=first)
                report.rejected.append(RejectedRow(line.number, key, twice))
                continue
            if device_id and code:
                first_line[device_id, code] = line.number
            try:
                rows.append(_Row(line.number, key, _parse(line, header, ZONE_COLUMNS)))
            except (OffsiteError, ValueError, TypeError) as exc:
                report.rejected.append(RejectedRow(line.number, key, _problem(exc)))

        def wanted(column: str) -> set[str]:
            return {r.values[column] for r in rows if r.values.get(column)}

        zone_fields = [f.name for f in fields(Zone)]
        with self.transaction() as session:
            cameras = {
                r["device_id"]: r["id"]
                for r in _load(session, tables.cameras, tables.cameras.c.device_id, wanted("camera_device_id"))
            }
            merchants = {
                r["code"]: r["id"]
                for r in _load(session, tables.merchants, tables.merchants.c.code, wanted("merchant_code"))
            }
            sites = {
                r["permit_number"]: r["id"]
                for r in _load(session, tables.sites, tables.sites.c.permit_number, wanted("permit_number"))
            }
            stored = {
                (r["camera_id"], r["code"]): r
                for r in _load(session, tables.zones, tables.zones.c.camera_id, set(cameras.values()), lock=True)
            }
            new: list[dict[str, Any]] = []
            changed: list[tuple[int, dict[str, Any]]] = []
            for row in rows:
                values = row.values
                try:
                    changes = {
                        "camera_id": _known(cameras, values["camera_device_id"], "camera", "camera_device_id"),
                        "code": values["code"],
                        "name": values["name"],
                        "subject": values["subject"],
                    }
                    if "merchant_code" in values:
                        changes["merchant_id"] = _known(merchants, values["merchant_code"], "merchant", "merchant_code")
                    if "permit_number" in values:
                        changes["site_id"] = _known(sites, values["permit_number"], "site", "permit_number")
                    if "polygon" in values:
                        changes["polygon"] = values["polygon"]
                    current = stored.get((changes["camera_id"], changes["code"]))
                    merged = {**({} if current is None else {n: current[n] for n in zone_fields}), **changes}
                    zone = Zone(**merged)
                    zone.validate()
                    check_lengths(tables.zones, merged)
                except (OffsiteError, ValueError, TypeError) as exc:
                    report.rejected.append(RejectedRow(row.line, row.key, _problem(exc)))
                    continue
                if current is None:
                    new.append({name: getattr(zone, name) for name in zone_fields if name != "id"})
                else:
                    changed.append((current["id"], changes))
            report.rejected.sort(key=lambda r: r.line)
            if report.rejected and not allow_partial:
                return report
            if new:
                session.execute(insert(tables.zones), new)
            if changed:  # the zones read are locked until the commit: one executemany, by id
                statement = update(tables.zones).where(tables.zones.c.id == bindparam("zone_id"))
                session.execute(statement, [{**changes, "zone_id": zone_id} for zone_id, changes in changed])
        report.inserted, report.updated, report.written = len(new), len(changed), True
        return report


def _known(ids: Mapping[str, int], key: str | None, what: str, column: str) -> int | None:
    """The id of the record a natural key names; None for an empty cell."""
    if key is None:
        return None
    if key not in ids:
        raise InvalidInput(variant="csv_unregistered", what=what, key=repr(key), column=column)
    return ids[key]
