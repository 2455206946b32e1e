"""The plan's indicators (issue 16): recording values on the admin screen and from a CSV file
(``manyi indicators import FILE``), listing them, the plan pinned with each wave, and the
lead units' bulletins (通报) on the office screens."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select

from scoring.accountability import IndicatorRecord
from scoring.plan import load_plan, plan_from_definition
from survey.cli import main
from survey.db import get_session
from survey.models import IndicatorValue, PlanVersion, Publication, PublicationFile, WavePlan
from survey.services.indicators import IndicatorError, import_values, record_value, report_records
from survey.services.plans import store_plan, wave_plan
from survey.services.questionnaires import load_into_database, wave_questionnaires
from survey.services.waves import create_wave, get_wave
from tests.conftest import QUESTIONNAIRES
from tests.survey.admin_support import audit_events, csrf_token, english, make_wave, post, signed_in

FIRST = "t01.public_kindergartens_built"
SECOND = "t01.kindergarten_places_added"
GOOD_CSV = (
    "code,year,value,source,note\n"
    f"{FIRST},2025,3,区教育局2025年统计年报（示意）,\n"
    f"{SECOND},2025,540,区教育局2025年统计年报（示意）,秋季学期\n"
).encode()


def stored_count(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(IndicatorValue)) or 0


# --------------------------------------------------------------------------- the service


def test_record_value_stores_checks_and_audits(app, session):
    entry = record_value(session, code=FIRST, year="2025", value="3", source="区教育局", actor="tester")
    session.commit()
    assert (entry.code, entry.year, entry.value) == (FIRST, 2025, 3.0)
    record_value(session, code=FIRST, year=2025, value="4", source="区教育局（更正）", actor="tester")
    session.commit()
    rows = session.scalars(select(IndicatorValue)).all()
    assert [(row.code, row.year, row.value) for row in rows] == [(FIRST, 2025, 4.0)]
    events = audit_events(app, "indicator.record")
    assert len(events) == 2 and events[-1].detail["previous"] == 3.0 and events[-1].detail["value"] == 4.0
    assert report_records(session) == (
        IndicatorRecord(code=FIRST, year=2025, value=4.0, source="区教育局（更正）", note=""),
    )


def test_record_value_refuses_unknown_codes_bad_years_numbers_and_sources(app, session):
    try:
        record_value(session, code="t01.nonsense", year="20x5", value="92%", source=" ", actor="tester")
    except IndicatorError as error:
        fields = dict(error.fields)
    else:
        raise AssertionError("an invalid value was accepted")
    assert set(fields) == {"code", "year", "value", "source"}
    assert "not an indicator code" in fields["code"] and FIRST in fields["code"]
    assert "e.g. 2025" in fields["year"] and "92.5" in fields["value"]
    goal = None
    try:
        record_value(session, code="plan.overall_satisfaction", year=2025, value=85, source="x", actor="tester")
    except IndicatorError as error:
        goal = str(error)
    assert goal is not None and "measured by this survey itself" in goal
    session.rollback()
    assert stored_count(app) == 0


# --------------------------------------------------------------------------- the command line


def test_cli_import_stores_every_row_and_list_shows_them(app, runner, tmp_path):
    path = tmp_path / "indicators.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_CSV)  # Excel's "CSV UTF-8" has a byte-order mark
    result = runner.invoke(main, ["indicators", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 value(s) — 2 new, 0 replaced" in result.output
    assert stored_count(app) == 2
    [event] = audit_events(app, "indicator.import")
    assert event.detail["added"] == 2 and event.username.startswith("cli:")

    again = runner.invoke(main, ["indicators", "import", str(path)])
    assert again.exit_code == 0 and "0 new, 0 replaced, 2 already recorded" in again.output

    listing = runner.invoke(main, ["indicators", "list"])
    assert listing.exit_code == 0, listing.output
    assert "76 task indicators" in listing.output
    line = next(line for line in listing.output.splitlines() if SECOND in line)
    assert "2025: 540" in line and "≥630" in line
    only_2024 = runner.invoke(main, ["indicators", "list", "--year", "2024"])
    assert "2025: 540" not in only_2024.output


def test_cli_refuses_a_bad_file_naming_row_and_column_and_stores_nothing(app, runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,year,value,source\n"
        f"{FIRST},2025,3,区教育局\n"
        "t01.no_such_indicator,2025,1,区教育局\n"
        f"{SECOND},2025,五百四十,区教育局\n"
        f"{SECOND},2025,540,\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["indicators", "import", str(path)])
    assert result.exit_code == 2
    assert "nothing was stored" in result.output
    assert "row 3, column code" in result.output and "t01.no_such_indicator" in result.output
    assert "row 4, column value" in result.output and "not a number" in result.output
    assert "row 5, column source" in result.output
    assert stored_count(app) == 0
    [rejected] = audit_events(app, "indicator.import.rejected")
    assert rejected.detail["problems"] == 3
    assert audit_events(app, "indicator.import") == []


def test_cli_refuses_a_wrong_header_and_a_duplicate_row(app, runner, tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("code,jahr,value,source\n", encoding="utf-8")
    result = runner.invoke(main, ["indicators", "import", str(header)])
    assert result.exit_code == 2 and "row 1 (header): missing column(s) year" in result.output
    assert "unknown column(s) jahr" in result.output
    twice = tmp_path / "twice.csv"
    twice.write_text(f"code,year,value,source\n{FIRST},2025,3,a\n{FIRST},2025,4,b\n", encoding="utf-8")
    result = runner.invoke(main, ["indicators", "import", str(twice)])
    assert result.exit_code == 2 and "row 3:" in result.output and "given twice (first in row 2)" in result.output
    not_utf8 = tmp_path / "gbk.csv"
    not_utf8.write_bytes(f"code,year,value,source\n{FIRST},2025,3,区教育局\n".encode("gbk"))
    result = runner.invoke(main, ["indicators", "import", str(not_utf8)])
    assert result.exit_code == 2 and "not UTF-8" in result.output
    assert stored_count(app) == 0


def test_import_service_stores_all_or_nothing(app, session):
    result = import_values(session, GOOD_CSV, actor="tester", name="good.csv")
    session.commit()
    assert len(result.added) == 2 and result.rows == 2
    changed = GOOD_CSV.replace(b",540,", b",630,")
    result = import_values(session, changed, actor="tester", name="changed.csv")
    session.commit()
    assert [(entry.code, old) for entry, old in result.replaced] == [(SECOND, 540.0)]
    assert result.unchanged == 1


# --------------------------------------------------------------------------- the admin screen


def test_indicators_screen_lists_every_indicator_for_every_office_role(app):
    for role in ("admin", "statistician", "publisher"):
        page = english(signed_in(app, role)).get("/admin/indicators")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert html.count("<code>t") == 76
        assert ('id="record"' in html) == (role != "statistician")


def test_publisher_records_a_value_on_the_screen(app):
    client = english(signed_in(app, "publisher"))
    response = post(
        client,
        "/admin/indicators/record",
        {"code": SECOND, "year": "2025", "value": "612", "source": "区教育局", "note": ""},
        page="/admin/indicators",
    )
    assert response.status_code == 303
    page = client.get("/admin/indicators").get_data(as_text=True)
    assert "Recorded t01.kindergarten_places_added for 2025: 612." in page
    assert stored_count(app) == 1
    [event] = audit_events(app, "indicator.record")
    assert event.username == "publisher-user" and event.target == f"indicator {SECOND} 2025"


def test_screen_refuses_bad_values_with_a_message_and_stores_nothing(app):
    client = english(signed_in(app, "admin"))
    response = post(
        client,
        "/admin/indicators/record",
        {"code": SECOND, "year": "2025", "value": "six hundred", "source": "区教育局"},
        page="/admin/indicators",
    )
    assert response.status_code == 400
    assert "is not a number" in response.get_data(as_text=True)
    unknown = post(
        client,
        "/admin/indicators/record",
        {"code": "t99.nothing", "year": "2025", "value": "1", "source": "x"},
        page="/admin/indicators",
    )
    assert unknown.status_code == 400
    assert stored_count(app) == 0


def test_screen_imports_a_file_or_lists_its_problems(app):
    import io

    client = english(signed_in(app, "admin"))
    token = csrf_token(client, "/admin/indicators")
    bad = client.post(
        "/admin/indicators/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"code,year,value,source\nt01.x,2025,1,a\n"), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "row 2, column code" in bad.get_data(as_text=True)
    assert stored_count(app) == 0
    good = client.post(
        "/admin/indicators/import",
        data={"csrf_token": token, "file": (io.BytesIO(GOOD_CSV), "good.csv")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 303
    assert stored_count(app) == 2


def test_statistician_may_not_record(app):
    client = signed_in(app, "statistician")
    response = post(
        client,
        "/admin/indicators/record",
        {"code": SECOND, "year": "2025", "value": "1", "source": "x"},
        page="/admin/indicators",
    )
    assert response.status_code == 403
    assert stored_count(app) == 0


# --------------------------------------------------------------------------- the plan pinned with the wave


def test_a_wave_pins_the_plan_and_keeps_it_when_the_plan_changes(app, session):
    wave = create_wave(session, "2025")
    session.commit()
    pinned = wave_plan(session, wave)
    assert pinned is not None and pinned.version == load_plan(QUESTIONNAIRES / "plan.yaml").version
    assert wave_questionnaires(wave).plan.version == pinned.version

    definition = json.loads(json.dumps(pinned.definition))
    definition["tasks"][0]["title"]["zh"] += "（修订）"
    edited = plan_from_definition(definition)
    stored = store_plan(session, edited)
    session.commit()
    assert stored.new and stored.pinned_waves == ()
    assert wave_plan(session, get_wave(session, "2025")).version == pinned.version
    later = create_wave(session, "2026")
    session.commit()
    assert wave_plan(session, later).version == edited.version
    assert session.scalar(select(func.count()).select_from(PlanVersion)) == 2


def test_loading_a_plan_pins_it_to_waves_that_have_none(app, session):
    wave = create_wave(session, "2025")
    session.flush()
    session.delete(session.get(WavePlan, wave.id))
    session.commit()
    assert wave_plan(session, wave) is None
    stored = store_plan(session, load_plan(QUESTIONNAIRES / "plan.yaml"))
    session.commit()
    assert not stored.new and stored.pinned_waves == ("2025",)
    assert wave_plan(session, wave) is not None


# --------------------------------------------------------------------------- the bulletins screen


def _publish_with_bulletins(app) -> None:
    """A publication holding lead-unit results and their bulletins (as the report makes them)."""
    results = {
        "lead_units": {
            "health_bureau": {
                "name": {"zh": "区卫健局", "en": "Health bureau"},
                "tasks": [20, 21],
                "index": 78.6,
                "ci_low": 77.4,
                "ci_high": 79.8,
                "unstable": False,
                "suppressed": False,
                "verdict": "below",
                "rank": {"median_rank": 21, "rank_interval": [19, 23], "n_ranked": 23},
            }
        }
    }
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        publication = Publication(
            wave_id=wave.id,
            revision=1,
            published_by="publisher-user",
            results_json=json.dumps(results),
            config={},
            input_hashes={},
        )
        for name, data in (
            ("bulletins/health_bureau.pdf", b"%PDF-1.7 health"),
            ("bulletins/summary.pdf", b"%PDF-1.7 summary"),
        ):
            publication.files.append(
                PublicationFile(
                    name=name, content_type="application/pdf", sha256=hashlib.sha256(data).hexdigest(), data=data
                )
            )
        session.add(publication)
        session.commit()


def test_bulletins_screen_lists_units_and_downloads_their_pdf(app):
    make_wave(app, "2025")
    client = english(signed_in(app, "publisher"))
    before = client.get("/admin/waves/2025/bulletins")
    assert before.status_code == 200 and "Not published yet" in before.get_data(as_text=True)
    assert client.get("/admin/waves/2025/bulletins/health_bureau.pdf").status_code == 404

    _publish_with_bulletins(app)
    page = client.get("/admin/waves/2025/bulletins").get_data(as_text=True)
    assert "区卫健局" in page and "19–23 / 23" in page and "78.6" in page
    download = client.get("/admin/waves/2025/bulletins/health_bureau.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.data == b"%PDF-1.7 health"
    assert "tongbao-health_bureau.pdf" in download.headers["Content-Disposition"]
    assert client.get("/admin/waves/2025/bulletins/summary.pdf").data == b"%PDF-1.7 summary"
    assert client.get("/admin/waves/2025/bulletins/nobody.pdf").status_code == 404
    assert 'id="bulletins-link"' in client.get("/admin/waves/2025/publication").get_data(as_text=True)


def test_bulletins_are_not_for_the_administrator(app):
    make_wave(app, "2025")
    client = signed_in(app, "admin")
    assert client.get("/admin/waves/2025/bulletins").status_code == 403


def test_loading_the_questionnaires_stores_the_plan_once(app, session):
    report = load_into_database(session, QUESTIONNAIRES)
    assert report.plan == f"plan@{load_plan(QUESTIONNAIRES / 'plan.yaml').version}" and not report.plan_new
    assert session.scalar(select(func.count()).select_from(PlanVersion)) == 1
