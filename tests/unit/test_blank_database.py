"""Which database the first command makes ready by itself: in development, a SQLite file that does not exist yet or
holds nothing (the embedded default on a fresh checkout, or a file an earlier connection left empty). A database
that holds anything, a production one, or a server's is never changed unasked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from offsite.roles import blank_sqlite_file
from offsite.settings import Settings


def settings(url: str, environment: str = "development") -> Settings:
    return Settings(database_url=url, environment=environment)  # type: ignore[arg-type]


def test_a_sqlite_file_that_does_not_exist_yet_is_blank(tmp_path: Path) -> None:
    path = tmp_path / "var" / "offsite.db"
    assert blank_sqlite_file(settings(f"sqlite:///{path}")) == path


def test_a_sqlite_file_that_holds_no_table_is_blank(tmp_path: Path) -> None:
    path = tmp_path / "offsite.db"
    sqlite3.connect(path).close()  # what a connection leaves: a file, no table
    assert path.exists()
    assert blank_sqlite_file(settings(f"sqlite:///{path}")) == path


def test_a_sqlite_file_that_holds_anything_is_not_blank(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text)")
    assert blank_sqlite_file(settings(f"sqlite:///{path}")) is None


def test_a_file_that_is_no_database_is_not_blank(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are someone's notes, not a database " * 100)
    assert blank_sqlite_file(settings(f"sqlite:///{path}")) is None


def test_nothing_is_blank_in_production_or_on_a_server(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    production = settings(f"sqlite:///{missing}").model_copy(update={"environment": "production"})
    assert blank_sqlite_file(production) is None
    assert blank_sqlite_file(settings("postgresql+psycopg://offsite@127.0.0.1/offsite")) is None
    assert blank_sqlite_file(settings("sqlite://")) is None  # in memory
