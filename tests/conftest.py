"""Shared fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``.

Every app fixture runs on SQLite *and* on a throwaway PostgreSQL server.  Under
``CI=true`` a missing PostgreSQL (or Chromium, see tests/browser) fails instead of
skipping.

The suite runs in parallel with pytest-xdist (``make test`` uses ``-n 2``): each worker
is its own pytest session, so it starts its own PostgreSQL server (on a free port, in its
own temporary folder) and migrates its own templates.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import pg

REPO = Path(__file__).resolve().parent.parent
QUESTIONNAIRES = REPO / "questionnaires"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(what: str, how: str) -> None:
    """Skip locally, fail under CI, when a test's external dependency is missing."""
    message = f"{what} is not available ({how})"
    if IN_CI:
        pytest.fail(f"CI=true: {message}")
    pytest.skip(message)


# --------------------------------------------------------------------------- the run


def pytest_sessionstart(session: pytest.Session) -> None:
    """Empty the browser tests' page-weight log once per run: in the process that starts
    the run (with pytest-xdist, the controller, before any worker appends to it)."""
    if not hasattr(session.config, "workerinput"):
        (REPO / "test-artifacts" / "browser" / "page-weights.jsonl").unlink(missing_ok=True)


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server():
    try:
        server = pg.start_postgres()
    except (FileNotFoundError, RuntimeError) as error:
        need("PostgreSQL", str(error))
    yield server
    pg.remove(server)


_database_numbers = itertools.count(1)


def _migrate(url: str) -> None:
    from survey import create_app, schema

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "migrate", "TESTING": True})
    schema.upgrade(app)
    app.extensions["manyi_db"].engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server):
    """A database migrated once; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    admin = create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE manyi_template"))
    _migrate(postgres_server.url("manyi_template"))
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, migrated, empty database of each kind."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "manyi.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    admin = request.getfixturevalue("postgres_template")
    server = request.getfixturevalue("postgres_server")
    name = f"manyi_test_{os.getpid()}_{next(_database_numbers)}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE manyi_template"))
    yield server.url(name)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database with no schema at all, of each kind, for init and migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    admin = request.getfixturevalue("postgres_template")
    server = request.getfixturevalue("postgres_server")
    name = f"manyi_empty_{os.getpid()}_{next(_database_numbers)}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server.url(name)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def make_app(database_url: str, tmp_path: Path, monkeypatch, **config):
    from survey import create_app

    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(instance))
    settings = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "QUESTIONNAIRES_DIR": str(QUESTIONNAIRES),
        "PUBLIC_BASE_URL": "http://localhost",
    }
    settings.update(config)
    return create_app(settings)


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The app on a fresh database with the questionnaires loaded (no waves, no users)."""
    from survey.db import get_session
    from survey.services.questionnaires import load_into_database

    application = make_app(database_url, tmp_path, monkeypatch)
    with application.app_context():
        session = get_session()
        load_into_database(session, QUESTIONNAIRES)
        session.commit()
    yield application
    application.extensions["manyi_db"].engine.dispose()


#: Each worker's published demo wave, one per database kind: {kind: snapshot}.
_DEMO_SNAPSHOTS: dict[str, str] = {}


def _sqlite_copy(source: str, target: str) -> None:
    """Copy a SQLite database with SQLite's online backup (safe whatever the journal mode)."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@pytest.fixture
def demo_app(app, database_url, request, tmp_path_factory):
    """The app with the demo wave 2025 published, as ``manyi demo --no-serve --responses 1500
    --seed 5`` makes it.

    The demo is made (and published) once per worker and database kind, then copied into
    each test's own database: the tests that read it pay for one demo, not one each.
    """
    from survey.cli import main

    engine = app.extensions["manyi_db"].engine
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    own = database_url.removeprefix("sqlite:///") if kind == "sqlite" else database_url.rsplit("/", 1)[1]
    snapshot = _DEMO_SNAPSHOTS.get(kind)
    if snapshot is None:
        result = app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "1500", "--seed", "5"])
        assert result.exit_code == 0, result.output
        engine.dispose()
        if kind == "sqlite":
            snapshot = str(tmp_path_factory.mktemp("demo-snapshot") / "demo.sqlite3")
            _sqlite_copy(own, snapshot)
        else:
            snapshot = f"manyi_demo_{os.getpid()}"
            with request.getfixturevalue("postgres_template").connect() as connection:
                connection.execute(text(f"CREATE DATABASE {snapshot} TEMPLATE {own}"))
        _DEMO_SNAPSHOTS[kind] = snapshot
        return app
    engine.dispose()
    if kind == "sqlite":
        _sqlite_copy(snapshot, own)
    else:
        with request.getfixturevalue("postgres_template").connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {own} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {own} TEMPLATE {snapshot}"))
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A database session inside an app context."""
    from survey.db import get_session

    with app.app_context():
        yield get_session()


# --------------------------------------------------------------------------- evidence in the log


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say how many tests ran on each database and in the browser, so that a CI log shows
    that the PostgreSQL and Chromium tests really ran (passed), not skipped."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") not in ("call", "setup") or (
                outcome == "passed" and report.when != "call"
            ):
                continue
            if "[postgresql" in nodeid or "-postgresql" in nodeid:
                group = "postgresql"
            elif "tests/browser/" in nodeid:
                group = "browser (Chromium)"
            elif "[sqlite" in nodeid or "-sqlite" in nodeid:
                group = "sqlite"
            else:
                continue
            counts.setdefault(group, {}).setdefault(outcome, 0)
            counts[group][outcome] += 1
    if counts:
        terminalreporter.section("backends")
        for group in sorted(counts):
            figures = ", ".join(f"{number} {outcome}" for outcome, number in sorted(counts[group].items()))
            terminalreporter.write_line(f"{group}: {figures}")
