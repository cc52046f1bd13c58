"""Every column that holds text has a documented maximum: a ``String(n)``'s length, or ``info["max_length"]`` on a
``Text`` column (cases/persistence/limits.py), so that nothing a client sends is stored at any length."""

from __future__ import annotations

from sqlalchemy import String, Text

from cases.persistence import tables
from cases.persistence.limits import STATEMENT_MAX_CHARS, limit_of


def test_every_text_column_has_a_documented_maximum() -> None:
    unbounded = [
        f"{table.name}.{column.name}"
        for table in tables.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text) and limit_of(column) is None
    ]
    assert unbounded == []


def test_a_free_text_column_s_maximum_is_its_documented_one() -> None:
    assert limit_of(tables.cases.c.statement_text) == STATEMENT_MAX_CHARS
    assert limit_of(tables.cases.c.party_name) == tables.cases.c.party_name.type.length
