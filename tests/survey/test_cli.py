"""`manyi init` and `manyi demo` on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import inspect, select, text

from survey import schema
from survey.cli import main
from survey.db import get_session
from survey.models import Response, User, Wave
from tests.conftest import make_app


@pytest.fixture
def empty_app(empty_database_url, tmp_path, monkeypatch):
    application = make_app(empty_database_url, tmp_path, monkeypatch)
    yield application
    application.extensions["manyi_db"].engine.dispose()


def snapshot(app) -> dict[str, str]:
    """A digest of every table's rows: equal snapshots mean nothing changed."""
    engine = app.extensions["manyi_db"].engine
    digests = {}
    with engine.connect() as connection:
        for table in sorted(inspect(engine).get_table_names()):
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            digests[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return digests


def test_init_from_empty_database_is_idempotent(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert f"schema upgraded: empty → {schema.head_revision(empty_app)}" in first.output
    assert "13 new version(s)" in first.output
    assert "password:" in first.output
    before = snapshot(empty_app)
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert "schema up to date" in second.output and "password" not in second.output
    assert snapshot(empty_app) == before
    with empty_app.app_context():
        admin = get_session().scalar(select(User))
        assert admin.username == "admin" and admin.role == "admin"
        assert admin.password_hash.startswith("scrypt:")


def test_printed_admin_password_works(empty_app):
    from survey.services.accounts import verify_password

    result = empty_app.test_cli_runner().invoke(main, ["init"])
    password = result.output.split("password:")[1].split()[0]
    with empty_app.app_context():
        assert verify_password(get_session().scalar(select(User)), password)


def test_init_with_invalid_questionnaires_loads_nothing(empty_app, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "common.yaml").write_text("id: common\n", encoding="utf-8")
    result = empty_app.test_cli_runner().invoke(main, ["init", "--questionnaires", str(broken)])
    assert result.exit_code == 2
    assert "nothing was loaded" in result.output and "common.yaml" in result.output


def test_demo_then_init_changes_nothing(empty_app, rendering_stand_in):
    runner = empty_app.test_cli_runner()
    result = runner.invoke(main, ["demo", "--no-serve", "--responses", "2000", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "2000 synthetic responses" in result.output and "illustrative" in result.output
    assert "/s/" in result.output and "/admin" in result.output and "/results/2025" in result.output
    with empty_app.app_context():
        session = get_session()
        wave = session.scalar(select(Wave).where(Wave.code == "2025"))
        assert wave.state == "open"
        assert len({point.town_code for point in wave.points}) >= 3
        assert session.query(Response).filter_by(wave_id=wave.id, state="submitted").count() == 2000
    before = snapshot(empty_app)
    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0, again.output
    assert snapshot(empty_app) == before
    # A second demo changes nothing either: no responses added, the admin password kept.
    second = runner.invoke(main, ["demo", "--no-serve"])
    assert second.exit_code == 0 and "password unchanged" in second.output
    assert snapshot(empty_app) == before


def test_questionnaires_load_requires_schema(empty_app):
    result = empty_app.test_cli_runner().invoke(main, ["questionnaires", "load"])
    assert result.exit_code == 2
    assert "manyi init" in result.output
