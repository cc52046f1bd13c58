"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from cases.messages import Term


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the database keeps (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value} would be ambiguous in the database")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def enum_column(enum: type[StrEnum]) -> Enum:
    """A StrEnum stored as its value in a VARCHAR: portable and readable in SQL."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


JsonDocument: Any = JSON().with_variant(JSONB(), "postgresql")


class TermList(TypeDecorator[list[Term]]):
    """Catalogue entries with their parameters (what a page tells in its reader's language), kept as a JSON list of
    ``{"key": …, "params": {…}}``; ``read`` makes each stored element a ``Term`` again (and may read what an
    earlier version stored)."""

    impl = JSON
    cache_ok = True

    def __init__(self, read: Callable[[object], Term]) -> None:
        super().__init__()
        self.read = read

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())

    def process_bind_param(self, value: list[Term] | None, dialect: Dialect) -> list[dict[str, object]] | None:
        return None if value is None else [term.as_json() for term in value]

    def process_result_value(self, value: Any, dialect: Dialect) -> list[Term] | None:
        return None if value is None else [self.read(element) for element in value]
