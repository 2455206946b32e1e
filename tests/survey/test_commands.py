"""The ``manyi`` group itself: version, help, the instance and schema checks every
command shares, and the demo's manners (issue 14 "CLI", issue 12 item 8)."""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from survey import DEFAULT_PUBLIC_BASE_URL
from survey.cli import MANYI_COMMANDS, main
from survey.db import get_session
from survey.models import AuditEvent, CollectionPoint, Publication, User, Wave
from survey.services.accounts import verify_password
from tests.conftest import make_app
from tests.survey.admin_support import make_wave
from tests.survey.test_cli import snapshot


@pytest.fixture
def empty_app(empty_database_url, tmp_path, monkeypatch):
    application = make_app(empty_database_url, tmp_path, monkeypatch)
    yield application
    application.extensions["manyi_db"].engine.dispose()


# --------------------------------------------------------------------------- the group


def test_version_is_manyis_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"manyi {metadata.version('manyi')}"


def test_help_lists_manyis_commands_first_each_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MANYI_INSTANCE_PATH", raising=False)
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = re.findall(r"^  ([a-z][a-z-]*)\s{2,}(\S.*)$", result.output, flags=re.MULTILINE)
    names = [name for name, _help in listed]
    manyi_names = [command.name for command in MANYI_COMMANDS]
    assert names[: len(manyi_names)] == manyi_names
    assert names[len(manyi_names) :] == ["run", "shell", "routes"]
    for name, one_line in listed:
        assert not one_line.endswith("..."), f"the help of {name} is cut: {one_line!r}"
    assert not (tmp_path / "instance").exists()  # listing commands loads no app


def test_wave_list_takes_the_wave_code_the_readme_shows(app, runner):
    make_wave(app, "2024")
    make_wave(app, "2025")
    result = runner.invoke(main, ["wave", "list", "2025"])
    assert result.exit_code == 0, result.output
    assert "wave 2025: state open" in result.output and "wave 2024" not in result.output
    unknown = runner.invoke(main, ["wave", "list", "1999"])
    assert unknown.exit_code == 2 and "no wave '1999'" in unknown.output


# --------------------------------------------------------------------------- where there is no instance


@pytest.mark.parametrize(
    "args",
    [
        ["score", "2025", "--out", "out"],
        ["wave", "list"],
        ["users", "list"],
        ["export", "2025", "--out", "x.csv"],
        ["publish", "2025"],
        ["questionnaires", "load"],
        ["routes"],
    ],
)
def test_commands_outside_an_instance_say_so_and_create_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MANYI_INSTANCE_PATH", raising=False)
    monkeypatch.delenv("MANYI_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "no instance here" in result.output and "manyi init" in result.output
    assert "MANYI_INSTANCE_PATH" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        ["score", "2025", "--out", "out"],
        ["publish", "2025"],
        ["export", "2025", "--out", "x.csv"],
        ["qr", "2025", "--out", "posters"],
        ["points", "list", "2025"],
        ["wave", "list"],
        ["users", "list"],
        ["users", "add", "alice", "--role", "admin"],
        ["purge-expired", "--dry-run"],
        ["questionnaires", "load"],
    ],
)
def test_every_command_on_an_uninitialised_database_asks_for_init(empty_app, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = empty_app.test_cli_runner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "run 'manyi init'" in result.output and "Traceback" not in result.output


def test_init_without_a_questionnaire_folder_says_how_to_configure_one(empty_app, monkeypatch):
    monkeypatch.delenv("MANYI_QUESTIONNAIRES_DIR", raising=False)
    empty_app.config["QUESTIONNAIRES_DIR"] = None  # a non-editable install: no source checkout beside it
    result = empty_app.test_cli_runner().invoke(main, ["init"])
    assert result.exit_code == 2, result.output
    assert "MANYI_QUESTIONNAIRES_DIR" in result.output and "Traceback" not in result.output


def test_public_base_url_from_the_environment_reaches_the_links(tmp_path, monkeypatch):
    """README: MANYI_PUBLIC_BASE_URL is where survey links and QR codes point."""
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("MANYI_DATABASE_URL", raising=False)
    monkeypatch.setenv("MANYI_PUBLIC_BASE_URL", "https://survey.example.gov.cn")
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    assert runner.invoke(main, ["wave", "create", "2025"]).exit_code == 0
    added = runner.invoke(
        main, ["points", "add", "2025", "--code", "hosp-01", "--town", "xicheng", "--place", "区人民医院门诊大厅"]
    )
    assert added.exit_code == 0, added.output
    assert "https://survey.example.gov.cn/s/" in added.output


# --------------------------------------------------------------------------- the demo


def _password(output: str) -> str:
    return output.split("password: ")[1].split(")")[0]


def test_demo_without_responses_creates_points_and_prints_the_port_it_serves_on(empty_app):
    empty_app.config["PUBLIC_BASE_URL"] = DEFAULT_PUBLIC_BASE_URL  # not configured: links follow --port
    result = empty_app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "not published" in result.output
    assert "http://127.0.0.1:8123/s/" in result.output and "http://127.0.0.1:8123/admin" in result.output
    with empty_app.app_context():
        wave = get_session().scalar(select(Wave).where(Wave.code == "2025"))
        assert wave.is_demo and wave.state == "open"
        assert len(wave.points) >= 10 and get_session().scalar(select(Publication)) is None


def test_demo_with_too_few_responses_for_raking_publishes_unweighted(empty_app, rendering_stand_in):
    result = empty_app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "20"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "published without weighting" in result.output and "raking" in result.output
    with empty_app.app_context():
        publication = get_session().scalar(select(Publication))
        assert publication is not None and publication.config["margins"] is None


def test_rerunning_the_demo_keeps_the_admin_password_unless_asked(empty_app):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(main, ["demo", "--no-serve", "--responses", "0"])
    assert first.exit_code == 0, first.output
    password = _password(first.output.split("Admin:")[1])
    again = runner.invoke(main, ["demo", "--no-serve", "--responses", "0"])
    assert again.exit_code == 0 and "password unchanged" in again.output
    with empty_app.app_context():
        admin = get_session().scalar(select(User).where(User.username == "admin"))
        assert verify_password(admin, password)
    reset = runner.invoke(main, ["demo", "--no-serve", "--responses", "0", "--reset-admin-password"])
    new_password = _password(reset.output.split("Admin:")[1])
    assert reset.exit_code == 0 and new_password != password
    with empty_app.app_context():
        session = get_session()
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert verify_password(admin, new_password) and not verify_password(admin, password)
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "account.reset_password"))
        assert event.username == "demo" and event.target == "account admin"


def test_demo_refuses_an_instance_with_a_real_wave_and_changes_nothing(app):
    make_wave(app, "2025", state="draft")
    with app.app_context():
        user = get_session().scalar(select(User))
        assert user is None
    before = snapshot(app)
    result = app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "0"])
    assert result.exit_code == 2, result.output
    assert "real survey waves (2025)" in result.output and "MANYI_INSTANCE_PATH" in result.output
    assert snapshot(app) == before
    with app.app_context():
        assert get_session().scalar(select(Wave)).state == "draft"
        assert get_session().query(CollectionPoint).count() == 2


def test_every_password_reset_is_audited(app, runner):
    from tests.survey.admin_support import english, make_user, post, signed_in

    target = make_user(app, "dora", "publisher")
    assert runner.invoke(main, ["users", "reset-password", "dora"]).exit_code == 0
    client = english(signed_in(app, "admin"))
    assert post(client, f"/admin/accounts/{target}/reset-password", page="/admin/accounts").status_code == 200
    with app.app_context():
        events = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "account.reset_password"))
        assert [(event.username.split(":")[0], event.target) for event in events] == [
            ("cli", "account dora"),
            ("admin-user", "account dora"),
        ]
