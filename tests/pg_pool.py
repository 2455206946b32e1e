"""Test databases on the throwaway PostgreSQL server, recycled instead of dropped.

Every PostgreSQL test gets a database in the state of the migrated template (schema and
questionnaires).  ``CREATE DATABASE … TEMPLATE`` costs about 0.15 s of the server's CPU on
the test machine — it copies the thousand pages of the system catalogues — and the suite
asks for over four hundred databases.  So a used database is brought back to the template's
state instead: the test's connections are ended, every table is emptied and the template's
rows put back in one transaction, every sequence set where the template's stands (about
0.03 s).  A database whose schema a test changed (columns, indexes, sequences, the
migration version) or that carries settings of its own is dropped instead, and the next
test gets a fresh copy.  Tests see no difference: ``test_a_recycled_database_is_the_template_again``
(tests/test_pg_pool.py) checks what the reset rests on.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, text
from sqlalchemy.pool import NullPool

#: What a test may not change for its database to be recycled: every column of every table,
#: index and sequence, with its type and nullability, and the migration version.
SCHEMA_SIGNATURE = text(
    """
    SELECT md5(string_agg(c.relkind::text || ' ' || c.relname || '.' || a.attname || ' '
                          || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text,
                          ',' ORDER BY c.relname, a.attnum))
           || coalesce((SELECT string_agg(version_num, ',') FROM alembic_version), '')
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    """
)


@dataclass
class TemplateState:
    """The template database's rows, sequences and schema signature, read once."""

    tables: list[Table]
    rows: dict[str, list[dict[str, Any]]]
    sequences: list[tuple[str, int | None]]
    signature: str

    @classmethod
    def read(cls, engine: Engine) -> TemplateState:
        metadata = MetaData()
        metadata.reflect(engine)
        tables = [table for table in metadata.sorted_tables if table.name != "alembic_version"]
        with engine.connect() as connection:
            rows = {table.name: [dict(row._mapping) for row in connection.execute(table.select())] for table in tables}
            sequences = [
                (f'public."{name}"', value)
                for name, value in connection.execute(
                    text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
                )
            ]
            signature = connection.execute(SCHEMA_SIGNATURE).scalar_one()
        return cls(tables, rows, sequences, signature)

    def restore(self, engine: Engine) -> bool:
        """Empty every table and put the template's rows and sequences back; False (and
        nothing changed) when the schema is no longer the template's."""
        with engine.begin() as connection:
            if connection.execute(SCHEMA_SIGNATURE).scalar_one() != self.signature:
                return False
            for table in reversed(self.tables):  # a test's few thousand rows: DELETE beats TRUNCATE's new files
                connection.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    connection.execute(table.insert(), self.rows[table.name])
            for sequence, value in self.sequences:
                connection.execute(
                    text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                    {"sequence": sequence, "value": 1 if value is None else value, "called": value is not None},
                )
        return True


@dataclass
class DatabasePool:
    """This worker's test databases: ``take`` one in the template's state, ``give_back`` when done."""

    server: Any  # tests.pg.PostgresServer
    admin: Engine  # AUTOCOMMIT, on the server's "postgres" database
    template: str = "manyi_template"
    free: list[str] = field(default_factory=list)
    engines: dict[str, Engine] = field(default_factory=dict)
    numbers: itertools.count = field(default_factory=lambda: itertools.count(1))
    state: TemplateState = field(init=False)

    def __post_init__(self) -> None:
        template = create_engine(self.server.url(self.template), poolclass=NullPool)
        self.state = TemplateState.read(template)
        template.dispose()

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        name = f"manyi_test_{os.getpid()}_{next(self.numbers)}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.template}"))
        return name

    def give_back(self, name: str) -> None:
        if self._reset(name):
            self.free.append(name)
            return
        engine = self.engines.pop(name, None)
        if engine is not None:
            engine.dispose()
        with self.admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def _reset(self, name: str) -> bool:
        with self.admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            settings = connection.execute(
                text(
                    "SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                    "WHERE d.datname = :name"
                ),
                {"name": name},
            ).scalar_one()
        if settings:
            return False
        try:
            return self.state.restore(self._engine(name))
        except Exception:  # a database a test left in any other state (or dropped) is dropped
            return False

    def _engine(self, name: str) -> Engine:
        if name not in self.engines:
            self.engines[name] = create_engine(self.server.url(name), poolclass=NullPool)
        return self.engines[name]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
