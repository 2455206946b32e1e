"""Shared fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``.

Every app fixture runs on SQLite *and* on a throwaway PostgreSQL server.  Under
``CI=true`` a missing PostgreSQL (or Chromium, see tests/browser) fails instead of
skipping.

The suite runs in parallel with pytest-xdist (``make test`` uses ``-n 2``): each worker
is its own pytest session, so it starts its own PostgreSQL server (on a free port, in its
own temporary folder) and migrates its own templates.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session", autouse=True)
def chart_cache(tmp_path_factory, worker_id):
    """Each distinct chart is drawn once per test run, whichever worker needs it first
    (tests/render_cache.py): the suite publishes the same demo wave many times."""
    from tests import render_cache

    render_cache.install(shared_folder(tmp_path_factory, worker_id) / "chart-cache")


@pytest.fixture
def uncached_charts(monkeypatch):
    """Draw every chart for real in this test (tests about drawing or about files written)."""
    from scoring.report import render
    from tests import render_cache

    monkeypatch.setattr(render, "render_charts", render_cache.uninstalled())


@pytest.fixture
def pdf_stand_in(monkeypatch):
    """For tests of what publishing *does* (queue, audit, revisions, what is stored, the office's
    screens): WeasyPrint's report and bulletin PDFs are replaced by a one-page stand-in PDF
    under the real file names (tests/render_cache.py).  The PDFs themselves are tested where
    they are the subject: tests/scoring/test_report.py (the library call) and the browser
    tests' ``demo_server`` (report and bulletins, published from the database;
    test_report_pdf.py and test_bulletin.py read them)."""
    from tests import render_cache

    render_cache.install_pdf_stand_in(monkeypatch)


@pytest.fixture
def bulletin_stand_in(monkeypatch):
    """Only the lead units' bulletins are the stand-in (tests of the report's own PDF); the
    bulletins are rendered for real in the browser tests (test_bulletin.py checks one)."""
    from tests import render_cache

    render_cache.install_bulletin_stand_in(monkeypatch)


@pytest.fixture
def rendering_stand_in(pdf_stand_in, monkeypatch):
    """``pdf_stand_in`` and stand-in charts too (tests/render_cache.py): for tests of what a
    publication or a score *computes and stores* (results, settings, revisions, decisions),
    not how it is drawn.  The charts are tested where they are the subject:
    tests/scoring/test_charts.py, test_report.py's ``report`` fixture, test_score.py's
    every-file test and the browser tests' ``demo_server``."""
    from tests import render_cache

    render_cache.install_chart_stand_in(monkeypatch)


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
    """Migrate a template database and load the questionnaires into it, once per session:
    every test's database is a copy, so no test pays for parsing the YAML again."""
    from survey import create_app, schema
    from survey.db import get_session
    from survey.services.questionnaires import load_into_database

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "migrate", "TESTING": True})
    schema.upgrade(app)
    with app.app_context():
        session = get_session()
        load_into_database(session, QUESTIONNAIRES)
        session.commit()
    app.extensions["manyi_db"].engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server):
    """A database migrated (with the questionnaires) once; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    admin = create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE manyi_template"))
    _migrate(postgres_server.url("manyi_template"))
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases(postgres_server, postgres_template):
    """This worker's PostgreSQL test databases, each a copy of the template, recycled
    between tests (tests/pg_pool.py)."""
    from tests.pg_pool import DatabasePool

    databases = DatabasePool(postgres_server, postgres_template)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    _migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated database of each kind with the questionnaires loaded (no waves, no users):
    a copy of the SQLite template, or a PostgreSQL database in the template's state."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "manyi.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.take()
    yield databases.server.url(name)
    databases.give_back(name)


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
        # scrypt still, with N = 2**10 instead of 2**15: the suite makes and signs in
        # about a thousand accounts (test_security checks the default).
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
    }
    settings.update(config)
    return create_app(settings)


def app_on_template_copy(template: Path, folder: Path, **config):
    """An app on ``folder/manyi.sqlite3``, a copy of the SQLite template, for a server that
    outlives one test (``MANYI_INSTANCE_PATH`` is set only while the app is made)."""
    database = folder / "manyi.sqlite3"
    shutil.copy(template, database)
    with pytest.MonkeyPatch.context() as monkeypatch:
        return make_app(f"sqlite:///{database}", folder, monkeypatch, **config)


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    """The app on a fresh database with the questionnaires loaded (no waves, no users)."""
    application = make_app(database_url, tmp_path, monkeypatch)
    yield application
    application.extensions["manyi_db"].engine.dispose()


#: This worker's snapshots, by name and database kind: {(name, kind): (SQLite file or PostgreSQL database, value)}.
_SNAPSHOTS: dict[tuple[str, str], tuple[str, Any]] = {}


def sqlite_copy(source: str, target: str) -> None:
    """Copy a SQLite database with SQLite's online backup (safe whatever the journal mode)."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock on ``path`` across processes (the two pytest-xdist workers)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_folder(tmp_path_factory, worker_id: str) -> Path:
    """A folder of this test run that every pytest-xdist worker sees."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def _pg_tool(server, tool: str, *args: str) -> None:
    command = [str(server.bin_dir / tool), "-h", "127.0.0.1", "-p", str(server.port), "-U", server.user, *args]
    subprocess.run(command, check=True, capture_output=True, text=True)


def snapshot(app, request, name: str, build: Callable[[Any], Any]) -> Any:
    """Bring the test's database to the state ``build(app)`` makes, building it once per test
    run and database kind; return what ``build`` returned (through JSON).

    The first worker that needs the state builds it on its own test database and saves it
    (SQLite: a copy of the file; PostgreSQL: ``pg_dump``), under a lock in the run's shared
    folder; every other test restores a copy (SQLite: the file; PostgreSQL: ``CREATE
    DATABASE … TEMPLATE`` from this worker's copy, restored once with ``pg_restore``).  The
    state must be deterministic (seeded) and live in the database only: the instance folder
    is not part of it.
    """
    database_url = request.getfixturevalue("database_url")
    engine = app.extensions["manyi_db"].engine
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    own = database_url.removeprefix("sqlite:///") if kind == "sqlite" else database_url.rsplit("/", 1)[1]
    known = _SNAPSHOTS.get((name, kind))
    if known is None:
        shared = shared_folder(request.getfixturevalue("tmp_path_factory"), request.getfixturevalue("worker_id"))
        folder = shared / "snapshots"
        made_here = False
        with locked(folder / f"{name}-{kind}.lock"):
            saved = folder / (f"{name}.sqlite3" if kind == "sqlite" else f"{name}-{kind}.pgdump")
            value_file = folder / f"{name}-{kind}.json"
            if not saved.exists():
                value = build(app)
                engine.dispose()
                made_here = True
                scratch = saved.with_name(f"{saved.name}.{os.getpid()}")
                if kind == "sqlite":
                    sqlite_copy(own, str(scratch))
                else:
                    _pg_tool(request.getfixturevalue("postgres_server"), "pg_dump", "-Fc", "-f", str(scratch), own)
                value_file.write_text(json.dumps(value), encoding="utf-8")
                os.replace(scratch, saved)
        value = json.loads(value_file.read_text(encoding="utf-8"))
        if kind == "sqlite":
            database = str(saved)
        else:
            database = f"manyi_{name.replace('-', '_')}_{os.getpid()}"
            admin = request.getfixturevalue("postgres_template")
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {database} TEMPLATE {own if made_here else 'template0'}"))
            if not made_here:
                server = request.getfixturevalue("postgres_server")
                _pg_tool(server, "pg_restore", "--no-owner", "--exit-on-error", "-d", database, str(saved))
        _SNAPSHOTS[(name, kind)] = (database, value)
        if made_here:
            return value
    else:
        database, value = known
    engine.dispose()
    if kind == "sqlite":
        sqlite_copy(database, own)
    else:
        with request.getfixturevalue("postgres_template").connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {own} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {own} TEMPLATE {database}"))
    return value


@pytest.fixture
def demo_app(app, request):
    """The app with the demo wave 2025 published, as ``manyi demo --no-serve --responses 1500
    --seed 5`` makes it: made once per test run and database kind (:func:`snapshot`).

    Its charts and PDFs are the stand-ins of ``rendering_stand_in`` (no test reading this
    demo reads a chart or a PDF; the demo with its real ones is the browser tests'
    ``demo_server``).
    """

    def publish_demo(app) -> None:
        from survey.cli import main
        from tests import render_cache

        with pytest.MonkeyPatch.context() as monkeypatch:
            render_cache.install_pdf_stand_in(monkeypatch)
            render_cache.install_chart_stand_in(monkeypatch)
            result = app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "1500", "--seed", "5"])
        assert result.exit_code == 0, result.output

    snapshot(app, request, "demo", publish_demo)
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
