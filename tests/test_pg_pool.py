"""The recycled PostgreSQL test databases (tests/pg_pool.py): a database given back is, for
the next test, the template again — or it is dropped."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def _contents(url: str) -> dict:
    """Every table's rows (sorted), every sequence's position and the next id a table hands out."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
            ).scalars()
            contents = {
                table: sorted(map(repr, connection.execute(text(f'SELECT * FROM "{table}"')))) for table in tables
            }
            contents["sequences"] = connection.execute(
                text("SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")
            ).all()
            contents["next wave id"] = connection.execute(text("SELECT nextval('waves_id_seq')")).scalar_one()
        return contents
    finally:
        engine.dispose()


def test_a_recycled_database_is_the_template_again(postgres_databases):
    databases = postgres_databases
    name = databases.take()
    url = databases.server.url(name)
    template = _contents(url)
    assert template["towns"] and template["questionnaire_versions"]

    used = create_engine(url)  # left open, as a test's engine may be
    with used.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO waves (code, title_zh, title_en, state, created_at, is_demo) "
                "VALUES ('2031', '甲', 'A', 'open', now(), false), ('2032', '乙', 'B', 'draft', now(), false)"
            )
        )
        connection.execute(text("DELETE FROM plan_versions"))
        connection.execute(text("UPDATE towns SET name_zh = '改过'"))
    idle = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))  # and a connection in a transaction
    idle.execute("SELECT count(*) FROM waves")

    databases.give_back(name)
    with pytest.raises(psycopg.OperationalError):  # ended, so that it holds no lock on a table
        idle.execute("SELECT 1")
    idle.close()
    assert databases.take() == name  # recycled, not a new copy
    assert _contents(url) == template
    used.dispose()
    databases.give_back(name)


def test_a_database_whose_schema_or_settings_changed_is_dropped(postgres_databases):
    databases = postgres_databases
    for change in (
        "ALTER TABLE waves ADD COLUMN extra integer",
        "CREATE INDEX extra_index ON towns (name_en)",
        "ALTER DATABASE {name} SET default_transaction_read_only = on",
    ):
        name = databases.take()
        engine = create_engine(databases.server.url(name), poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text(change.format(name=name)))
        engine.dispose()
        databases.give_back(name)
        assert name not in databases.free, change
        with databases.admin.connect() as connection:
            assert not connection.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar_one(), change
