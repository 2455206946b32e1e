"""A wave's analysis settings stored with the wave: the service, ``manyi wave settings`` and
the admin screen (issue 10).  Every change is audited with the differences; bad input
changes nothing; the margins and benchmarks are stored as content."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scoring.settings import AnalysisSettings
from survey.cli import main
from survey.db import get_session
from survey.models import AuditEvent, WaveSettings
from survey.services.settings import (
    SettingsChanges,
    SettingsInputError,
    benchmarks_input,
    change_wave_settings,
    margins_input,
    wave_settings,
)
from survey.services.waves import get_wave
from tests.conftest import QUESTIONNAIRES
from tests.survey.admin_support import audit_events, english, make_wave, post, signed_in

MARGINS = Path(QUESTIONNAIRES) / "margins" / "jingzhou-2025-illustrative.csv"
BENCHMARKS = tuple(sorted((Path(QUESTIONNAIRES) / "benchmarks").glob("*.csv")))


def stored(app, code: str = "2025"):
    with app.app_context():
        session = get_session()
        return wave_settings(session, get_wave(session, code))


def rows_and_events(app) -> tuple[int, int]:
    with app.app_context():
        session = get_session()
        return (
            session.scalar(select(func.count()).select_from(WaveSettings)),
            session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "wave.settings")),
        )


# --------------------------------------------------------------------------- the service


def test_without_stored_settings_the_defaults_apply(app):
    make_wave(app)
    settings = stored(app)
    assert settings.stored is False and settings.settings == AnalysisSettings()
    assert settings.settings.strata == "point_town" and settings.settings.cluster == "point"
    assert settings.settings.lonely_psu == "adjust" and settings.settings.screening.enabled
    assert settings.settings.margins is None


def test_a_change_is_stored_as_content_and_audited_with_its_differences(app, tmp_path):
    make_wave(app)
    margins_file = tmp_path / "town-margins.csv"
    margins_file.write_bytes(MARGINS.read_bytes())
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        result, differences = change_wave_settings(
            session,
            wave,
            SettingsChanges(
                target=85,
                mapping="monitoring",
                margins=margins_input(margins_file.name, margins_file.read_bytes()),
                benchmarks=benchmarks_input([(path.name, path.read_bytes()) for path in BENCHMARKS]),
                illustrative=True,
            ),
            actor="statistician-x",
        )
        session.commit()
    assert set(differences) == {"mapping", "margins", "benchmarks", "illustrative"}
    assert differences["mapping"] == ("linear", "monitoring")
    assert differences["margins"][0] is None and differences["margins"][1] == result.settings.margins_sha256
    # A file changing on disk later changes nothing: the content was stored.
    margins_file.write_text("variable,level,population\ntown,xicheng,1\n", encoding="utf-8")
    again = stored(app)
    assert again.stored and again.settings == result.settings and again.changed_by == "statistician-x"
    assert again.margins_source.name == "town-margins.csv" and len(again.settings.margins) == 18
    assert [source.name for source in again.benchmarks_sources] == [path.name for path in BENCHMARKS]
    assert again.input_names()["margins/town-margins.csv"] == again.margins_source.sha256
    with app.app_context():
        row = get_session().get(WaveSettings, get_wave(get_session(), "2025").id)
        assert AnalysisSettings.from_dict(row.settings) == result.settings and row.digest == result.digest
    [event] = audit_events(app, "wave.settings")
    assert event.username == "statistician-x" and event.target == "wave 2025"
    assert event.detail["changed"]["mapping"] == {"before": "linear", "after": "monitoring"}
    assert event.detail["first"] is True and event.detail["digest"] == result.digest
    assert event.detail["sources"]["margins"]["name"] == "town-margins.csv"


@pytest.mark.parametrize(
    "changes, setting, message",
    [
        (SettingsChanges(target=0.85, target_metric="satisfied_rate"), "target", "percentage"),
        (SettingsChanges(mapping="logarithmic"), "mapping", "mapping must be one of linear, monitoring"),
        (SettingsChanges(min_psus=1), "min_psus", "min_psus"),
        (SettingsChanges(replicates=600), "replicates", "bootstrap only"),
        (SettingsChanges(assumed_se=0), "assumed_se", "positive"),
    ],
)
def test_bad_settings_name_the_setting_and_change_nothing(app, changes, setting, message):
    make_wave(app)
    with app.app_context():
        session = get_session()
        with pytest.raises(SettingsInputError, match=message) as caught:
            change_wave_settings(session, get_wave(session, "2025"), changes, actor="x")
        session.rollback()
    assert caught.value.setting == setting
    assert rows_and_events(app) == (0, 0)


def test_bad_files_say_what_and_where():
    with pytest.raises(SettingsInputError, match="header variable,level,population") as caught:
        margins_input("m.csv", b"town,level,count\nxicheng,a,1\n")
    assert caught.value.setting == "margins"
    with pytest.raises(SettingsInputError, match="not UTF-8"):
        margins_input("m.csv", "variable,level,population\ntown,西城,1\n".encode("gbk"))
    with pytest.raises(SettingsInputError, match="line 2, column score"):
        benchmarks_input([("b.csv", b"year,level,unit,score,rank,se,source\n2025,province,X,abc,,,illustrative\n")])
    duplicate = MARGINS.read_bytes() + b"town,xicheng,5\n"
    with pytest.raises(SettingsInputError, match="xicheng"):
        margins_input("m.csv", duplicate)
    twice = BENCHMARKS[0].read_bytes()
    with pytest.raises(SettingsInputError, match="also in"):
        benchmarks_input([("a.csv", twice), ("b.csv", twice)])


def test_changing_nothing_writes_nothing(app):
    make_wave(app)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        change_wave_settings(session, wave, SettingsChanges(target=85), actor="x")  # first time: stored
        _, differences = change_wave_settings(session, wave, SettingsChanges(target=85), actor="x")
        session.commit()
    assert differences == {}
    assert rows_and_events(app) == (1, 1)


# --------------------------------------------------------------------------- the command


def test_command_sets_and_shows_the_settings(app):
    make_wave(app)
    runner = app.test_cli_runner()
    shown = runner.invoke(main, ["wave", "settings", "2025", "--show"])
    assert shown.exit_code == 0, shown.output
    assert "no analysis settings stored; the defaults apply" in shown.output
    assert "point_town" in shown.output and "adjust" in shown.output
    result = runner.invoke(
        main,
        [
            "wave",
            "settings",
            "2025",
            "--margins",
            str(MARGINS),
            *[arg for path in BENCHMARKS for arg in ("--benchmarks", str(path))],
            "--target",
            "85",
            "--target-metric",
            "index",
            "--mapping",
            "linear",
            "--illustrative",
            "--min-n",
            "40",
            "--straight-line-fast-fraction",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "settings changed" in result.output and "min_n: 30 → 40" in result.output
    assert "margins: none → sha256" in result.output
    settings = stored(app)
    assert settings.settings.min_n == 40 and settings.settings.illustrative is True
    assert settings.settings.screening.straight_line_fast_fraction is None
    assert settings.margins_source.name == MARGINS.name and settings.changed_by.startswith("cli:")
    shown = runner.invoke(main, ["wave", "settings", "2025"])
    assert shown.exit_code == 0 and "stored by cli:" in shown.output
    assert MARGINS.name in shown.output and "straight-lining alone" in shown.output
    assert settings.digest in shown.output
    [event] = audit_events(app, "wave.settings")
    assert event.username.startswith("cli:") and event.detail["changed"]["min_n"] == {"before": 30, "after": 40}


@pytest.mark.parametrize(
    "arguments, option",
    [
        (["--target", "0.85", "--target-metric", "satisfied_rate"], "--target"),
        (["--margins", "/no/such/file.csv"], "--margins"),
        (["--min-psus", "1"], "--min-psus"),
        (["--straight-line-fast-fraction", "fast"], "--straight-line-fast-fraction"),
        (["--domain-weights", "/no/such/weights.csv"], "--domain-weights"),
    ],
)
def test_command_refuses_bad_input_naming_the_option(app, arguments, option):
    make_wave(app)
    result = app.test_cli_runner().invoke(main, ["wave", "settings", "2025", *arguments])
    assert result.exit_code == 2, result.output
    assert f"error: {option}:" in result.output and "nothing was changed" in result.output
    assert rows_and_events(app) == (0, 0)


def test_command_bad_benchmarks_change_nothing(app, tmp_path):
    make_wave(app)
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["wave", "settings", "2025", "--target", "80"]).exit_code == 0
    before = stored(app)
    bad = tmp_path / "bad.csv"
    bad.write_text("year,level,unit,score,rank,se\n2025,province,X,80,,\n", encoding="utf-8")
    result = runner.invoke(main, ["wave", "settings", "2025", "--benchmarks", str(bad), "--target", "90"])
    assert result.exit_code == 2 and "--benchmarks:" in result.output and "source" in result.output
    assert stored(app).settings == before.settings and rows_and_events(app) == (1, 1)
    unknown = runner.invoke(main, ["wave", "settings", "1999", "--show"])
    assert unknown.exit_code == 2 and "no wave '1999'" in unknown.output


# --------------------------------------------------------------------------- the screen


def test_screen_shows_the_defaults_and_saves_with_an_audit_record(app):
    make_wave(app)
    client = english(signed_in(app, "statistician"))
    page = client.get("/admin/waves/2025/settings")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "No settings are stored for this wave yet" in text
    assert 'enctype="multipart/form-data"' in text and 'name="csrf_token"' in text
    assert "Default 30" in text and "Default 5" in text and "Default 1.0" in text  # the defaults' reasons
    assert "as the national monitoring reads its scale" in text  # the mapping, in words
    assert MARGINS.name in text and BENCHMARKS[0].name in text
    form = {
        "target": "85",
        "target_metric": "satisfied_rate",
        "mapping": "monitoring",
        "strata": "point_town",
        "variance": "linearization",
        "lonely_psu": "adjust",
        "screening": "y",
        "straight_line": "0.5",
        "min_n": "30",
        "min_psus": "5",
        "assumed_se": "1.0",
        "illustrative": "y",
        "margins": MARGINS.name,
        "benchmarks_action": "files",
        "benchmarks": [path.name for path in BENCHMARKS],
    }
    saved = post(client, "/admin/waves/2025/settings", form, page="/admin/waves/2025/settings")
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    settings = stored(app)
    assert settings.settings.target_metric == "satisfied_rate" and settings.settings.mapping == "monitoring"
    assert settings.settings.illustrative and settings.margins_source.name == MARGINS.name
    assert settings.changed_by == "statistician-user"
    [event] = audit_events(app, "wave.settings")
    assert event.username == "statistician-user" and event.detail["via"] == "screen"
    assert event.detail["changed"]["target_metric"] == {"before": "index", "after": "satisfied_rate"}
    again = client.get("/admin/waves/2025/settings").get_data(as_text=True)
    assert f"keep the stored margins ({MARGINS.name})" in again and "Saved by statistician-user" in again


def test_screen_refuses_a_bad_upload_with_its_message_and_changes_nothing(app):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    form = {
        "target": "85",
        "target_metric": "index",
        "mapping": "linear",
        "strata": "point_town",
        "variance": "linearization",
        "lonely_psu": "adjust",
        "straight_line": "0.5",
        "min_n": "30",
        "min_psus": "5",
        "assumed_se": "1",
        "margins": "none",
        "benchmarks_action": "none",
        "margins_file": (io.BytesIO(b"variable,level,population\ntown,xicheng,lots\n"), "my-margins.csv"),
    }
    bad = post(
        client,
        "/admin/waves/2025/settings",
        form,
        page="/admin/waves/2025/settings",
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "my-margins.csv: margins CSV, line 2: the population &#39;lots&#39; is not a number" in text
    assert rows_and_events(app) == (0, 0)
    form["margins_file"] = (io.BytesIO(MARGINS.read_bytes()), "uploaded.csv")
    form["min_psus"] = "1"  # below the form's floor: the form says so
    assert (
        post(
            client,
            "/admin/waves/2025/settings",
            form,
            page="/admin/waves/2025/settings",
            content_type="multipart/form-data",
        ).status_code
        == 400
    )
    form["margins_file"] = (io.BytesIO(MARGINS.read_bytes()), "uploaded.csv")
    form["min_psus"] = "5"
    good = post(
        client,
        "/admin/waves/2025/settings",
        form,
        page="/admin/waves/2025/settings",
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    assert stored(app).margins_source.name == "uploaded.csv"
    no_token = client.post("/admin/waves/2025/settings", data={"target": "90"})
    assert no_token.status_code == 400 and stored(app).settings.target == 85


def test_publishers_cannot_change_the_settings(app):
    make_wave(app)
    client = signed_in(app, "publisher")
    assert client.get("/admin/waves/2025/settings").status_code == 403
    assert post(client, "/admin/waves/2025/settings", {"target": "50"}).status_code == 403
    assert rows_and_events(app) == (0, 0)


def test_results_record_that_the_settings_came_from_the_wave(app):
    """The settings stored are what the pipeline records (a JSON round trip, exactly)."""
    make_wave(app)
    with app.app_context():
        session = get_session()
        result, _ = change_wave_settings(
            session,
            get_wave(session, "2025"),
            SettingsChanges(margins=margins_input(MARGINS.name, MARGINS.read_bytes()), min_n=25),
            actor="x",
        )
        session.commit()
    text = json.dumps(result.settings.to_dict(), ensure_ascii=False)
    assert AnalysisSettings.from_dict(json.loads(text)) == stored(app).settings
