"""Text lengths: every text a person or a client sends has a documented maximum, checked before anything is written.

The maxima of free text (``Text`` columns, which the databases would store at any length) are named here once and
put on their columns as ``info={"max_length": ...}``; the API's schemas, the console's forms and the templates'
``maxlength`` take the same numbers from here or from the column (``limit_of``). A ``String(n)`` column's limit is
its length. PostgreSQL refuses a value longer than its VARCHAR; SQLite stores it whole. Checking here makes both
refuse it the same way, with the field and the limit named, whichever path the value came by (API, CSV import,
console, code).

=========================  ======  ====================================================================
kind of text               chars   where
=========================  ======  ====================================================================
reason, opinion, note      2000    case_events.reason, detections.review_reason, re-check notes
statement (陈述申辩)        10000   cases.statement_text
message to a party         2000    notifications.body
a machine's error text     500     notifications.last_error (cut to length by the writer, never refused)
attachment's file name     100     the names of a party's statement attachments
a training recipe          20000   training_jobs.recipe (a YAML file, refused above this when submitted)
a training job's failure   2000    training_jobs.error (cut to length by the worker, never refused)
=========================  ======  ====================================================================
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, String, Table, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from cases.errors import InvalidInput

# Free text holds no NUL character (PostgreSQL refuses it in text; SQLite would store it): the JSON pattern that
# says so in the API's document, and the check below for every other path
NO_NUL_PATTERN = r"^[^\u0000]*$"

# What a person reads: letters, digits, punctuation and symbols (Unicode categories L, N, P, S). Spaces, controls,
# format characters (zero-width space, direction marks, BOM) and combining marks on their own show nothing.
VISIBLE_CATEGORIES = frozenset("LNPS")


def has_visible_character(text: str) -> bool:
    return any(unicodedata.category(character)[0] in VISIBLE_CATEGORIES for character in text)


REASON_MAX_CHARS = 2000  # a reason, an opinion, a reply, a re-check note: a paragraph or a few
STATEMENT_MAX_CHARS = 10000  # the party's statement or defence: a few pages
MESSAGE_MAX_CHARS = 2000  # a notice's text message to the party
ERROR_TEXT_MAX_CHARS = 500  # a gateway's or a library's error text, kept for the operator
ATTACHMENT_NAME_MAX_CHARS = 100  # a statement attachment's file name as the party's computer named it
RECIPE_MAX_CHARS = 20000  # a training recipe: a page or two of YAML
JOB_ERROR_MAX_CHARS = 2000  # why a training job failed: the exception's last words


def limit_of(column: Column[Any]) -> int | None:
    """The most characters the column holds: a ``String(n)``'s length, a ``Text``'s documented maximum."""
    documented = column.info.get("max_length")
    if isinstance(documented, int):
        return documented
    return column.type.length if isinstance(column.type, String) else None


def check_lengths(table: Table, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or name not in table.c:
            continue
        if "\x00" in value:  # PostgreSQL refuses NUL in text; SQLite would store it
            raise InvalidInput(variant="nul", field=f"{table.name}.{name}")
        limit = limit_of(table.c[name])
        if limit is not None and len(value) > limit:
            raise InvalidInput(variant="too_long", field=f"{table.name}.{name}", limit=limit, length=len(value))


def _check_pending_objects(session: Session, _context: Any, _instances: Any) -> None:
    for instance in (*session.new, *session.dirty):
        table = inspect(instance).mapper.local_table
        if isinstance(table, Table):
            check_lengths(table, {column.key: getattr(instance, column.key, None) for column in table.columns})


def enforce_lengths(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _check_pending_objects)
