"""Engines and sessions. Only the composition root calls ``create_database_engine``; everything else is handed
a session factory.

A PostgreSQL server that is stopped, restarted or stalled must not hold a request for long: connecting, each
statement and waiting for a pooled connection are bounded (``DatabaseTimeouts``), and whatever exceeds a bound
raises SQLAlchemy's ``OperationalError`` or ``TimeoutError``, which the API answers with 503 (api/errors.py).
SQLite keeps its busy timeout: a locked file is waited for, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from cases.persistence.limits import enforce_lengths
from cases.persistence.orm import start_mappers

RV = TypeVar("RV")
# How much longer than statement_timeout a silent server is waited for: past statement_timeout a running server
# has answered, if only with the cancelled statement, so further silence means it is stalled (or the network is).
REPLY_GRACE_S = 2.0


@dataclass(frozen=True)
class DatabaseTimeouts:
    """The bounds on waiting for PostgreSQL (settings ``OFFSITE_DATABASE_*_TIMEOUT_S``)."""

    connect_s: int = 5  # establishing a connection (libpq's connect_timeout: whole seconds, at least 2)
    statement_s: float = 10.0  # the server cancels a longer statement (statement_timeout)
    pool_s: float = 5.0  # waiting for a free pooled connection (SQLAlchemy's pool_timeout)

    @property
    def reply_s(self) -> float:
        """The longest silence taken from a server before it is given up as stalled."""
        return self.statement_s + REPLY_GRACE_S


class StallBoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on a server which stops answering.

    statement_timeout is enforced by the server, so a stalled (frozen, swapped-out, half-dead) server enforces
    nothing, and libpq has no read timeout; the kernel still acknowledges what is sent, so TCP keepalives do not
    notice either. Each wait for the server is therefore bounded here. A connection whose reply never came is
    closed, since its protocol state is unknown; SQLAlchemy then discards it as disconnected.
    """

    reply_timeout_s: float | None = None

    def answers_within(self, seconds: float) -> bool:
        """Whether the server answers an empty statement within ``seconds``; a connection that does not is
        closed (or was already lost)."""
        bound, self.reply_timeout_s = self.reply_timeout_s, seconds
        try:
            self.execute(";")
            if self.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
                self.rollback()  # leave it idle, as the pool handed it over: AUTOCOMMIT can still be set on it
        except psycopg.Error:
            return False
        finally:
            self.reply_timeout_s = bound
        return True

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        bound = self.reply_timeout_s if timeout is None else timeout
        try:
            return super().wait(gen, interval, bound)
        except psycopg.errors._WaitTimeout:  # psycopg's own, left to the caller to convert (psycopg/errors.py)
            self.close()
            raise psycopg.OperationalError(
                f"the database sent no reply within {bound:g} s: it is stalled or unreachable"
            ) from None


def create_database_engine(url: str, timeouts: DatabaseTimeouts | None = None, **kwargs: Any) -> Engine:
    start_mappers()
    timeouts = timeouts or DatabaseTimeouts()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs = {"pool_timeout": timeouts.pool_s, **kwargs}  # a file's connections are pooled; :memory:'s not
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    bounded = parsed.get_driver_name() == "psycopg"
    engine = create_engine(
        url,
        pool_pre_ping=not bounded,  # the bounded connection is checked by _check_answers instead
        pool_timeout=timeouts.pool_s,
        connect_args=_postgresql_connect_args(parsed, timeouts),
        **kwargs,
    )
    if bounded:
        event.listen(engine, "do_connect", partial(_connect_stall_bounded, timeouts.reply_s))
        event.listen(engine.pool, "checkout", partial(_check_answers, timeouts.connect_s))
    return engine


def _postgresql_connect_args(url: URL, timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """connect_timeout, and statement_timeout as a connection option (after any options the URL gives)."""
    statement_timeout = f"-c statement_timeout={round(timeouts.statement_s * 1000)}"
    given = url.query.get("options")
    options = " ".join([*([given] if isinstance(given, str) else list(given or ())), statement_timeout])
    return {"connect_timeout": timeouts.connect_s, "options": options}


def _connect_stall_bounded(
    reply_timeout_s: float, _dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> StallBoundedConnection:
    connection = StallBoundedConnection.connect(*cargs, **cparams)
    connection.reply_timeout_s = reply_timeout_s
    return connection


def _check_answers(bound_s: float, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Before a pooled connection is used, the server must answer within the connect timeout (what SQLAlchemy's
    pre-ping does, but bounded: its check would wait out the whole reply bound on a stalled server). Raising
    DisconnectionError makes the pool discard the connection and try one new one, itself bounded by
    connect_timeout."""
    if not dbapi_connection.answers_within(bound_s):
        raise DisconnectionError(f"the database did not answer within {bound_s:g} s")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" listener start transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # Take the write lock at the start of a transaction, so that two writers queue instead of one failing
    # half-way with "database is locked"; the version column still refuses a stale write.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def take_turns(session: Session, *keys: str) -> None:
    """Make concurrent transactions on the same keys take turns until the first commits (PostgreSQL: transaction
    advisory locks, taken in the order given, so two callers that name keys in the same order cannot deadlock).
    SQLite needs nothing: every transaction there begins IMMEDIATE and so holds the database's write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    enforce_lengths(factory)
    return factory
