"""The Alembic migrations build exactly the schema the code declares, and can be rolled back and replayed."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from cases.persistence import migrate
from cases.persistence.database import create_database_engine
from cases.persistence.tables import metadata
from offsite.bootstrap import Components


# SQLite's reflection cannot read an index on an expression (usernames folded to lower case), so Alembic leaves it
# out of the comparison there, saying so; test_a_username_twin_is_refused_by_the_database_itself checks it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_the_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
        assert differences == []
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
    finally:
        engine.dispose()


def test_migrations_roll_back_to_nothing_and_forward_again(components: Components) -> None:
    """On an emptied database: a migration whose rollback would lose records refuses while any are held (a camera's
    configuration versions, say, that a test before this one left), and that is not what this test is about."""
    engine = components.engine
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_a_username_twin_is_refused_by_the_database_itself(database_url: str) -> None:
    """Migration 0016's index on the folded username: ``Zhang`` beside ``zhang`` cannot be stored, whatever the
    service checks first."""
    row = "INSERT INTO users (username, display_name, role, password_hash, active, created_at) VALUES "
    values = "('{}', '张', 'officer', 'scrypt$x', {}, '2026-12-01 00:00:00+00')"
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as connection:
            true = "true" if connection.dialect.name == "postgresql" else "1"
            transaction = connection.begin()
            connection.exec_driver_sql(row + values.format("zhang", true))
            with pytest.raises(IntegrityError):
                connection.exec_driver_sql(row + values.format("Zhang", true))
            transaction.rollback()
    finally:
        engine.dispose()
