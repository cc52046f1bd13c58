"""The Alembic migrations build exactly the schema the code declares, and can be rolled back and replayed."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from cases.persistence import migrate
from cases.persistence.database import create_database_engine
from cases.persistence.tables import metadata


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


def test_migrations_roll_back_to_nothing_and_forward_again(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
