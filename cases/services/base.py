"""What every service shares: a transaction that turns database conflicts into the domain's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from cases.clock import Clock
from cases.errors import AlreadyExists, ConcurrentModification, InvalidInput, NotFound
from cases.law import Law
from cases.messages import Term
from cases.model.staff import Role

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """The authenticated person a service acts for."""

    username: str
    role: Role


class Service:
    def __init__(self, session_factory: sessionmaker[Session], law: Law, clock: Clock) -> None:
        self.session_factory = session_factory
        self.law = law
        self.clock = clock

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error; stale versions become 409s."""
        session = self.session_factory()
        try:
            with session.begin():
                yield session
        except StaleDataError as exc:
            raise ConcurrentModification(variant="meanwhile") from exc
        except OverflowError as exc:  # SQLite's driver cannot bind integers beyond 64 bits
            raise InvalidInput(variant="number_out_of_range") from exc
        except DataError as exc:
            raise InvalidInput(variant="does_not_fit", detail=_constraint(exc)) from exc
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise AlreadyExists(variant="unique", detail=_constraint(exc)) from exc
            raise InvalidInput(variant="integrity", detail=_constraint(exc)) from exc
        finally:
            session.close()


def get_or_404(session: Session, cls: type[T], ident: int, what: str) -> T:
    found = session.get(cls, ident)
    if found is None:
        raise NotFound(variant="record", what=Term(f"term.{what}"), ident=ident)
    return found


def check_version(what: str, ident: object, actual: int, expected: int | None) -> None:
    """The caller's copy must be current: a write based on an old read is refused, never merged. ``what`` is the
    record's kind (``case``, ``detection``…: a ``term.*`` of the catalogue), ``ident`` which one."""
    if expected is not None and expected != actual:
        raise ConcurrentModification(
            variant="record", what=Term(f"term.{what}"), ident=ident, actual=actual, expected=expected
        )


def _is_unique_violation(exc: IntegrityError) -> bool:
    """PostgreSQL says SQLSTATE 23505; SQLite says so in words."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _constraint(exc: IntegrityError | DataError) -> str:
    message = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return message[:200]
