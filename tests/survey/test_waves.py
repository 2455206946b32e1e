"""Waves and collection points: the service layer and ``manyi wave`` / ``manyi points``."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from survey.cli import main
from survey.commands.waves import parse_when
from survey.db import get_session
from survey.models import AuditEvent, CollectionPoint, Wave
from survey.services import waves

UTC = dt.UTC


def _count(app, model) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def _wave(app, code: str = "2025") -> Wave:
    with app.app_context():
        return get_session().scalar(select(Wave).where(Wave.code == code))


# --------------------------------------------------------------------------- service layer


def test_wave_status_follows_state_and_window(session):
    now = dt.datetime(2025, 6, 1, tzinfo=UTC)
    wave = waves.create_wave(session, "2025", opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=1))
    assert waves.wave_status(wave, now) == "draft" and not waves.wave_is_accepting(wave, now)
    waves.set_wave_state(session, wave, "open")
    assert waves.wave_status(wave, now) == "accepting" and waves.wave_is_accepting(wave, now)
    assert waves.wave_status(wave, now - dt.timedelta(days=2)) == "scheduled"
    assert waves.wave_status(wave, now + dt.timedelta(days=1)) == "ended"
    waves.close_wave(session, wave)
    assert waves.wave_status(wave, now) == "closed"


def test_opening_a_wave_whose_closing_time_has_passed_says_how_to_fix_it(session):
    past = dt.datetime.now(UTC) - dt.timedelta(days=1)
    wave = waves.create_wave(session, "2024", opens_at=past - dt.timedelta(days=30), closes_at=past)
    with pytest.raises(waves.WaveError, match="--closes"):
        waves.open_wave(session, wave)
    waves.set_wave_window(session, wave, closes_at=dt.datetime.now(UTC) + dt.timedelta(days=30))
    assert waves.open_wave(session, wave).state == "open"
    with pytest.raises(waves.WaveError, match="after the opening time"):
        waves.set_wave_window(session, wave, opens_at=dt.datetime.now(UTC) + dt.timedelta(days=60))


def test_points_have_distinct_unguessable_tokens_and_are_found_by_them(session):
    wave = waves.create_wave(session, "2025")
    first = waves.add_point(
        session, wave, code="hosp-01", town="xicheng", place="区人民医院门诊大厅", focus_domain="healthcare"
    )
    second = waves.add_point(session, wave, code="bus-01", town="jinan", place="纪南镇公交站")
    assert first.token != second.token and len(first.token) >= 22
    assert waves.find_point_by_token(session, first.token) is first
    tampered = first.token[:-1] + ("x" if first.token[-1] != "x" else "y")
    assert waves.find_point_by_token(session, tampered) is None
    assert waves.find_point_by_token(session, "../etc") is None
    assert [point.code for point in waves.list_points(session, wave)] == ["bus-01", "hosp-01"]
    assert waves.survey_url("https://m.example.cn/", first) == f"https://m.example.cn/s/{first.token}"


def test_list_waves_newest_first(session):
    waves.create_wave(session, "2024")
    waves.create_wave(session, "2025")
    assert [wave.code for wave in waves.list_waves(session)] == ["2025", "2024"]


# --------------------------------------------------------------------------- time parsing


def test_parse_when_reads_dates_and_times_in_beijing_time(app):
    with app.app_context():
        assert parse_when("2025-03-01", option="--opens") == dt.datetime(2025, 2, 28, 16, 0, tzinfo=UTC)
        assert parse_when("2025-12-31", option="--closes", end_of_day=True) == dt.datetime(
            2025, 12, 31, 16, 0, tzinfo=UTC
        )
        assert parse_when("2025-03-01 08:30", option="--opens") == dt.datetime(2025, 3, 1, 0, 30, tzinfo=UTC)
        assert parse_when("2025-03-01T08:30+00:00", option="--opens") == dt.datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
        assert parse_when(None, option="--opens") is None


# --------------------------------------------------------------------------- the commands


def test_wave_create_open_close_and_list(app, runner):
    created = runner.invoke(main, ["wave", "create", "2025", "--opens", "2025-01-01", "--closes", "2099-12-31"])
    assert created.exit_code == 0, created.output
    assert "created wave 2025 (draft)" in created.output and "healthcare" in created.output
    wave = _wave(app)
    assert wave.state == "draft" and wave.title_zh == "2025年度荆州区公共服务满意度调查"
    opened = runner.invoke(main, ["wave", "open", "2025"])
    assert (
        opened.exit_code == 0
        and "residents see: accepting" in opened.output
        and "closes 2099-12-31 24:00" in opened.output
    )
    assert "no collection points yet" in opened.output
    assert _wave(app).state == "open"
    listed = runner.invoke(main, ["wave", "list"])
    assert "wave 2025: state open" in listed.output and "0 point(s)" in listed.output
    closed = runner.invoke(main, ["wave", "close", "2025"])
    assert closed.exit_code == 0 and "residents see: closed" in closed.output
    assert _wave(app).state == "closed"
    with app.app_context():
        actions = get_session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["wave.create", "wave.state", "wave.state"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["wave", "create", "20 25"], "is not allowed"),
        (["wave", "create", "2025", "--opens", "next monday"], "is not a date or time"),
        (["wave", "create", "2025", "--opens", "2025-06-01", "--closes", "2025-05-01"], "closing time must be after"),
        (["wave", "open", "1999"], "no wave '1999'"),
        (["wave", "close", "1999"], "no wave '1999'"),
    ],
)
def test_bad_wave_commands_exit_2_and_store_nothing(app, runner, args, message):
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert _count(app, Wave) == 0 and _count(app, AuditEvent) == 0


def test_duplicate_wave_is_refused(app, runner):
    runner.invoke(main, ["wave", "create", "2025"])
    again = runner.invoke(main, ["wave", "create", "2025"])
    assert again.exit_code == 2 and "already exists" in again.output
    assert _count(app, Wave) == 1


def test_points_add_and_list_print_working_urls(app, runner, client):
    runner.invoke(main, ["wave", "create", "2025"])
    runner.invoke(main, ["wave", "open", "2025"])
    added = runner.invoke(
        main,
        [
            "points",
            "add",
            "2025",
            "--code",
            "hosp-01",
            "--town",
            "xicheng",
            "--place",
            "区人民医院门诊大厅",
            "--domain",
            "healthcare",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "added point hosp-01 to wave 2025: http://localhost/s/" in added.output
    runner.invoke(main, ["points", "add", "2025", "--code", "bus-01", "--town", "jinan", "--place", "纪南镇公交站"])
    listed = runner.invoke(main, ["points", "list", "2025"])
    rows = [line.split("\t") for line in listed.output.strip().splitlines()]
    assert rows[0] == ["code", "town", "place", "url"]
    assert [row[:3] for row in rows[1:]] == [
        ["bus-01", "jinan", "纪南镇公交站"],
        ["hosp-01", "xicheng", "区人民医院门诊大厅"],
    ]
    for row in rows[1:]:
        page = client.get(row[3].removeprefix("http://localhost"))
        assert page.status_code == 200 and row[2] in page.get_data(as_text=True)
    with app.app_context():
        point = get_session().scalar(select(CollectionPoint).where(CollectionPoint.code == "hosp-01"))
        assert point.focus_domain == "healthcare" and point.town_code == "xicheng"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--code", "Hosp 01", "--town", "xicheng", "--place", "x"], "point code 'Hosp 01' is not allowed"),
        (["--code", "hosp-01", "--town", "atlantis", "--place", "x"], "unknown town 'atlantis'; known towns: xicheng"),
        (["--code", "hosp-01", "--town", "xicheng", "--place", "   "], "place name must not be empty"),
        (["--code", "hosp-01", "--town", "xicheng", "--place", "x", "--domain", "casino"], "unknown domain 'casino'"),
    ],
)
def test_bad_points_exit_2_and_store_nothing(app, runner, extra, message):
    runner.invoke(main, ["wave", "create", "2025"])
    result = runner.invoke(main, ["points", "add", "2025", *extra])
    assert result.exit_code == 2 and message in result.output
    assert _count(app, CollectionPoint) == 0


def test_duplicate_point_and_unknown_wave(app, runner):
    runner.invoke(main, ["wave", "create", "2025"])
    args = ["points", "add", "2025", "--code", "hosp-01", "--town", "xicheng", "--place", "医院"]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 2 and "already has a point 'hosp-01'" in again.output
    unknown = runner.invoke(main, ["points", "list", "1999"])
    assert unknown.exit_code == 2 and "manyi wave create 1999" in unknown.output
    assert _count(app, CollectionPoint) == 1


def test_commands_ask_for_init_on_an_empty_database(empty_database_url, tmp_path, monkeypatch):
    from tests.conftest import make_app

    app = make_app(empty_database_url, tmp_path, monkeypatch)
    result = app.test_cli_runner().invoke(main, ["wave", "create", "2025"])
    assert result.exit_code == 2 and "run 'manyi init' first" in result.output


# --------------------------------------------------------------------------- one service for the CLI and the screens


def test_a_place_over_200_characters_is_refused_by_the_command_as_by_the_screen(app, runner):
    """The CLI once skipped the screen's length check: stored on SQLite, a crash on PostgreSQL."""
    runner.invoke(main, ["wave", "create", "2025"])
    long_place = "区人民医院门诊大厅" * 23  # 207 characters
    result = runner.invoke(
        main, ["points", "add", "2025", "--code", "hosp-01", "--town", "xicheng", "--place", long_place]
    )
    assert result.exit_code == 2, result.output
    assert "207 characters" in result.output and "at most 200" in result.output
    assert "Traceback" not in result.output
    assert _count(app, CollectionPoint) == 0


def test_audit_records_read_the_same_from_the_command_line_and_the_screens(app, runner):
    from tests.survey.admin_support import post, signed_in

    runner.invoke(main, ["wave", "create", "2025"])
    runner.invoke(main, ["points", "add", "2025", "--code", "cli-01", "--town", "xicheng", "--place", "区政务服务中心"])
    runner.invoke(main, ["wave", "open", "2025"])
    client = signed_in(app, "admin")
    post(
        client,
        "/admin/waves/2025/points/new",
        {"code": "web-01", "town": "xicheng", "place": "区政务服务中心"},
        page="/admin/waves/2025/points/new",
    )
    post(client, "/admin/waves/2025/state", {"state": "closed"}, page="/admin/waves/2025")
    with app.app_context():
        events = get_session().scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    by_action: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event)
    cli_point, web_point = by_action["point.create"]
    assert (cli_point.target, web_point.target) == ("wave 2025 point cli-01", "wave 2025 point web-01")
    assert set(cli_point.detail) == set(web_point.detail) == {"town", "place", "focus_domain"}
    cli_state, web_state = by_action["wave.state"]
    assert cli_state.target == web_state.target == "wave 2025"
    assert (cli_state.detail, web_state.detail) == ({"from": "draft", "to": "open"}, {"from": "open", "to": "closed"})
    assert cli_state.username.startswith("cli:") and web_state.username == "admin-user"
