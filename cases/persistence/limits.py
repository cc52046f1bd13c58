"""Text lengths, checked against the columns before anything is written.

PostgreSQL refuses a value longer than its VARCHAR; SQLite stores it whole. Checking here makes both refuse it
the same way, with the field and the limit named, whichever path the value came by (API, CSV import, code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, Table, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from cases.errors import InvalidInput


def check_lengths(table: Table, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or name not in table.c:
            continue
        if "\x00" in value:  # PostgreSQL refuses NUL in text; SQLite would store it
            raise InvalidInput(variant="nul", field=f"{table.name}.{name}")
        column_type = table.c[name].type
        limit = column_type.length if isinstance(column_type, String) else None
        if limit is not None and len(value) > limit:
            raise InvalidInput(variant="too_long", field=f"{table.name}.{name}", limit=limit, length=len(value))


def _check_pending_objects(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty):
        table = inspect(instance).mapper.local_table
        if isinstance(table, Table):
            check_lengths(table, {column.key: getattr(instance, column.key, None) for column in table.columns})


def enforce_lengths(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _check_pending_objects)
