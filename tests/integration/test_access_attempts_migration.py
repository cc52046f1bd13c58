"""Migration 0005 moves the party page's attempts into the shared ledger and back, so that a party page lock-out in
force when the database is upgraded (or rolled back) stays in force."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from cases.persistence import migrate
from cases.persistence.database import create_database_engine

AT = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def test_the_party_pages_attempts_move_into_the_ledger_and_back(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        migrate.downgrade(engine, "0004")
        with engine.begin() as connection:
            for n, succeeded in enumerate([False, False, True]):
                connection.execute(
                    text("INSERT INTO party_access_attempts (at, case_number, client, succeeded) "
                         "VALUES (:at, :number, :client, :succeeded)"),
                    {"at": AT + dt.timedelta(minutes=n), "number": "沪城管非现〔2026〕000001号", "client": "192.0.2.1",
                     "succeeded": succeeded},
                )  # fmt: skip
        migrate.upgrade(engine)
        with engine.connect() as connection:
            moved = connection.execute(
                text("SELECT door, subject, client, outcome FROM access_attempts ORDER BY id")
            ).all()
        assert [tuple(row) for row in moved] == [("party", "沪城管非现〔2026〕000001号", "192.0.2.1", outcome)
                                                  for outcome in ("failed", "failed", "succeeded")]  # fmt: skip

        with engine.begin() as connection:  # a staff attempt has no place in the party page's old table
            connection.execute(text("INSERT INTO access_attempts (at, door, subject, client, outcome) "
                                    "VALUES (:at, 'staff', 'li', '192.0.2.1', 'failed')"), {"at": AT})  # fmt: skip
        migrate.downgrade(engine, "0004")
        with engine.connect() as connection:
            back = connection.execute(
                text("SELECT case_number, client, succeeded FROM party_access_attempts ORDER BY id")
            ).all()
        assert [bool(row.succeeded) for row in back] == [False, False, True]
        assert {row.case_number for row in back} == {"沪城管非现〔2026〕000001号"}
    finally:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM access_attempts"))
        engine.dispose()
