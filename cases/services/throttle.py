"""Attempts at a door that a secret opens, kept in the database so that every API process sees the same counts,
and the lock-outs they set off.

Two doors share this ledger: the party page (a case number and the verification code of the notices,
``cases/services/party.py``) and staff sign-in (a username and its password, ``cases/services/accounts.py``).
Each attempt is a row: when, at which door, for which subject (case number, username), from which client
address, and its outcome. An attempt is written as ``failed`` before its secret is checked, in a transaction
serialised per subject and per client, so that concurrent guesses cannot slip past a lock-out together; it is
settled as ``succeeded`` once the secret proves right. Rows are never deleted: they are the record of who tried
what, from where.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.orm import Session

from cases.persistence import tables
from cases.persistence.database import take_turns

A = tables.access_attempts.c
SUBJECT_LENGTH = 64  # the column's width: longer subjects and client addresses are cut, never refused
CLIENT_LENGTH = 64


class Door(StrEnum):
    PARTY = "party"  # the party page: a case number and its verification code
    STAFF = "staff"  # staff sign-in: a username and its password


class Outcome(StrEnum):
    FAILED = "failed"  # the secret was wrong, or is still being checked
    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # turned away by a lock-out before the secret was checked
    CLEARED = "cleared"  # an admin lifted the subject's lock-out: its earlier failures no longer count


@dataclass(frozen=True)
class Limit:
    """``failures`` failed attempts within ``within`` of one another lock the door for ``lockout`` from the last."""

    failures: int
    within: dt.timedelta
    lockout: dt.timedelta

    @property
    def horizon(self) -> dt.timedelta:
        """How far back a failure can still matter: older ones can neither start nor prolong a lock-out."""
        return self.within + self.lockout


def locked_until(failures: Sequence[dt.datetime], limit: Limit) -> dt.datetime | None:
    """When the latest lock-out that these failures (oldest first) set off ends, or None if they set none off.

    Attempts refused during a lock-out are not failures, so hammering a locked door does not keep it locked: the
    lock-out ends ``lockout`` after the failure that started it."""
    ends = [
        failures[last] + limit.lockout
        for last in range(limit.failures - 1, len(failures))
        if failures[last] - failures[last - limit.failures + 1] <= limit.within
    ]
    return max(ends, default=None)


def seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    """Whole seconds to wait (rounded up, at least one): what ``Retry-After`` says."""
    return max(1, math.ceil((moment - now).total_seconds()))


class AttemptLedger:
    """The attempts at one door, read and written inside the caller's transaction."""

    def __init__(self, session: Session, door: Door) -> None:
        self.session = session
        self.door = door

    def serialise_on(self, *keys: str) -> None:
        """Make concurrent transactions on the same keys of this door take turns (``take_turns``)."""
        take_turns(self.session, *(f"{self.door}:{key}" for key in keys))

    def record(self, at: dt.datetime, subject: str, client: str, outcome: Outcome) -> int:
        values = {"at": at, "door": self.door.value, "subject": subject[:SUBJECT_LENGTH],
                  "client": client[:CLIENT_LENGTH], "outcome": outcome.value}  # fmt: skip
        return int(self.session.execute(insert(tables.access_attempts).values(values).returning(A.id)).scalar_one())

    def settle(self, attempt: int, outcome: Outcome) -> None:
        self.session.execute(update(tables.access_attempts).where(A.id == attempt).values(outcome=outcome.value))

    def count(self, *conditions: ColumnElement[bool]) -> int:
        """Attempts at this door that meet every condition (columns of ``tables.access_attempts``)."""
        query = select(func.count()).select_from(tables.access_attempts).where(A.door == self.door.value, *conditions)
        return int(self.session.scalar(query) or 0)

    def failures_of(self, subject: str, since: dt.datetime) -> list[dt.datetime]:
        """The subject's failures since ``since``, oldest first, counted from its last success or clearing: a
        success or an admin's unlock wipes the slate."""
        rows = self._rows(A.subject == subject[:SUBJECT_LENGTH], A.at > since)
        failures: list[dt.datetime] = []
        for at, outcome in rows:
            if outcome in (Outcome.SUCCEEDED, Outcome.CLEARED):
                failures.clear()
            elif outcome == Outcome.FAILED:
                failures.append(at)
        return failures

    def failures_from(self, client: str, since: dt.datetime) -> list[dt.datetime]:
        """The client's failures since ``since``, oldest first, whatever the subject. A success does not wipe
        these: a guesser holding an account of their own must not reset their address's count by signing in."""
        return [at for at, outcome in self._rows(A.client == client[:CLIENT_LENGTH], A.at > since)
                if outcome == Outcome.FAILED]  # fmt: skip

    def subjects_since(self, since: dt.datetime) -> list[str]:
        """Every subject that failed at this door since ``since``."""
        query = (
            select(A.subject)
            .where(A.door == self.door.value, A.at > since, A.outcome == Outcome.FAILED.value)
            .distinct()
            .order_by(A.subject)
        )
        return list(self.session.scalars(query))

    def _rows(self, *conditions: Any) -> list[tuple[dt.datetime, str]]:
        query = select(A.at, A.outcome).where(A.door == self.door.value, *conditions).order_by(A.id)
        return [(at, outcome) for at, outcome in self.session.execute(query)]
