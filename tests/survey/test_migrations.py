"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey import schema
from survey.db import Base
from tests.conftest import make_app


def test_migrations_match_the_models(empty_database_url, tmp_path, monkeypatch):
    app = make_app(empty_database_url, tmp_path, monkeypatch)
    try:
        schema.upgrade(app)
        with app.extensions["manyi_db"].engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], "a model changed without a migration: run alembic revision --autogenerate"
    finally:
        app.extensions["manyi_db"].engine.dispose()


def test_every_revision_upgrades_and_downgrades(empty_database_url, tmp_path, monkeypatch):
    from alembic import command

    app = make_app(empty_database_url, tmp_path, monkeypatch)
    try:
        schema.upgrade(app)
        config = schema.alembic_config(app)
        with app.extensions["manyi_db"].engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        assert schema.current_revision(app) == "0001"
        schema.upgrade(app)
        assert schema.current_revision(app) == schema.head_revision(app)
    finally:
        app.extensions["manyi_db"].engine.dispose()
