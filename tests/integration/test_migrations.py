"""The Alembic migrations build exactly the schema the code declares, and can be rolled back and replayed."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from cases.persistence import migrate, tables
from cases.persistence.database import create_database_engine
from cases.persistence.tables import metadata
from offsite.bootstrap import Components
from tests.integration.world import World


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


def test_an_upgrade_that_finds_two_detections_on_one_package_names_them_and_changes_nothing(world: World) -> None:
    """A database from before migration 0017 holding two detections on one package: the unique index cannot be
    made. The upgrade names the detections and the package, stays at 0016 with every row as it was, and goes
    through once they are settled."""
    c = world.components
    first, _ = c.detections.intake(world.event(), c.registry)
    engine = c.engine
    columns = ", ".join(column.name for column in tables.detections.columns if column.name != "id")
    copy = columns.replace("event_id", "'evt-a-copy'", 1)
    try:
        migrate.downgrade(engine, "0016")
        with engine.begin() as connection:
            connection.execute(text(f"INSERT INTO detections ({columns}) SELECT {copy} FROM detections"))
            rows = connection.execute(text("SELECT id FROM detections ORDER BY id")).scalars().all()
        with pytest.raises(migrate.MigrationRefused) as refused:
            migrate.upgrade(engine)
        assert f"detections {rows[0]}, {rows[1]} stand on package {first.evidence_package_id}" in str(refused.value)
        assert migrate.current_revision(engine) == "0016"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM detections")).scalar_one() == 2
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM detections WHERE event_id = 'evt-a-copy'"))
        migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
