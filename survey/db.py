"""Database engine and sessions (SQLAlchemy 2.0, no Flask-SQLAlchemy).

One engine per app, a session per app context (closed at teardown).  SQLite gets WAL,
foreign keys and a busy timeout so that several gunicorn workers can share the file.

Answers and comments are personal data, so the engine never puts bound parameters in
its error messages or logs (``hide_parameters=True``), and a SQLite database file is
created readable by the service's user only (mode 0600; SQLite gives its ``-wal`` and
``-shm`` files the same mode).  :func:`write_check` tells ``/healthz`` whether the
database takes writes.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

#: Mode of a SQLite database file (and so of its -wal and -shm files).
DATABASE_FILE_MODE = 0o600

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model (named constraints, so migrations can alter them)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (``None`` for an in-memory database or a URI filename)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _create_private_file(path: str) -> None:
    """Create ``path`` empty with mode 0600, or tighten an existing file to 0600.

    SQLite itself creates a new database with the process's umask (usually 0644: readable
    by every local user).
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_FILE_MODE))
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077 and os.stat(path).st_uid == os.geteuid():
            os.chmod(path, DATABASE_FILE_MODE)
    for suffix in ("-wal", "-shm"):
        companion = path + suffix
        if os.path.exists(companion) and os.stat(companion).st_uid == os.geteuid():
            os.chmod(companion, DATABASE_FILE_MODE)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings Manyi relies on."""
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 10}, "hide_parameters": True}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        path = _sqlite_file(url)
        if path is not None and os.path.isdir(os.path.dirname(os.path.abspath(path))):
            _create_private_file(path)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        if url not in ("sqlite://", "sqlite:///:memory:") and "mode=ro" not in url:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["manyi_db"] = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.teardown_appcontext(_close_session)


@dataclass(frozen=True)
class WriteCheck:
    """Whether the database took a (rolled back) write: ``state`` is ``ok``,
    ``read-only`` or ``unavailable``."""

    state: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


#: A write that changes nothing: it still needs the database's write lock / a read-write
#: transaction, so a read-only file, mount, replica or ``default_transaction_read_only``
#: refuses it.  ``alembic_version`` exists in every migrated database.
_WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0")
_READ_ONLY_SQLSTATE = "25006"  # PostgreSQL's read_only_sql_transaction


def write_check(engine: Engine) -> WriteCheck:
    """Try a write that changes nothing, roll it back, and say how it went (never raises)."""
    try:
        with engine.connect() as connection:
            try:
                connection.execute(_WRITE_PROBE)
            finally:
                connection.rollback()
    except DBAPIError as error:
        original = error.orig
        message = str(original).lower().replace("-", "")  # SQLite: "readonly", PostgreSQL: "read-only"
        read_only = getattr(original, "sqlstate", None) == _READ_ONLY_SQLSTATE or "readonly" in message
        return WriteCheck("read-only" if read_only else "unavailable")
    return WriteCheck("ok")


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["manyi_db"]


def get_session() -> Session:
    """The session of the current app context (created on first use)."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
