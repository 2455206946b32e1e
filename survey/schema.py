"""Create or upgrade the database schema with Alembic (never ``create_all``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from survey.db import database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    return config


def head_revision(app: Flask) -> str | None:
    return ScriptDirectory.from_config(alembic_config(app)).get_current_head()


def current_revision(app: Flask) -> str | None:
    with database(app).engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(app: Flask) -> tuple[str | None, str | None]:
    """Upgrade to the newest revision; return (revision before, revision after)."""
    before = current_revision(app)
    config = alembic_config(app)
    with database(app).engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, current_revision(app)
