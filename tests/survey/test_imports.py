"""Imports of phone and paper responses: validated row by row, all or nothing, a report
of every rejected row; and the export → import round trip that scores the same."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, select

from scoring.pipeline import EstimateOptions, run_estimate
from survey.adapter import wave_responses_frame
from survey.cli import main
from survey.db import get_session
from survey.models import NOT_APPLICABLE, AnswerSet, QuestionnaireVersion, Response
from survey.services.exports import wave_questionnaires
from survey.services.imports import import_responses
from survey.services.waves import get_wave
from tests.conftest import QUESTIONNAIRES
from tests.survey.admin_support import audit_events, english, make_wave, post, response_count, signed_in, synthetic_wave
from tests.survey.jobs_support import job_id_of, run_jobs

HEADER = "response_id,town,sex,age_group,duration_s,submitted_at,healthcare.overall,healthcare.appointment,overall,comment,services_used"
GOOD_ROWS = [
    "P-0001,xicheng,female,60+,310,2025-06-01T09:30:00+08:00,4,5,4,挂号方便多了,healthcare",
    "P-0002,jinan,male,30-44,,2025-06-02,不适用,3,5,,healthcare",
    "P-0003,jinan,male,45-59,200,,2,na,3,,",
]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def _import(app, data: bytes, *, channel: str = "phone", new_ids: bool = False, code: str = "2025"):
    with app.test_request_context():
        session = get_session()
        report = import_responses(
            session, get_wave(session, code), data, channel=channel, actor="test", filename="f.csv", new_ids=new_ids
        )
        session.commit()
        return report


def test_a_valid_file_is_stored(app):
    make_wave(app)
    report = _import(app, _csv(*GOOD_ROWS))
    assert report.ok and report.stored == 3 and report.rows_read == 3
    with app.app_context():
        session = get_session()
        stored = {row.uid: row for row in session.scalars(select(Response))}
        first = stored["P-0001"]
        assert (first.channel, first.state, first.town_code, first.sex, first.age_group) == (
            "phone",
            "submitted",
            "xicheng",
            "female",
            "60+",
        )
        assert first.comment == "挂号方便多了" and first.duration_s == 310 and first.point_id is None
        assert first.submitted_at.replace(tzinfo=None).isoformat() == "2025-06-01T01:30:00"
        # A date without a time is midnight Beijing time.
        assert stored["P-0002"].submitted_at.replace(tzinfo=None).isoformat() == "2025-06-01T16:00:00"
        healthcare = session.scalar(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "healthcare")
        )
        position = healthcare.likert_codes.index("healthcare.overall")
        blob = session.scalar(
            select(AnswerSet.answers).where(
                AnswerSet.response_id == stored["P-0002"].id, AnswerSet.version_id == healthcare.id
            )
        )
        assert blob[position] == NOT_APPLICABLE  # 不适用 kept apart from "not asked"
        frame = wave_responses_frame(session, get_wave(session, "2025"))
    assert frame.set_index("response_id").loc["P-0003", "healthcare.overall"] == 2
    [event] = audit_events(app, "import")
    assert event.detail["stored"] == 3 and event.detail["channel"] == "phone" and len(event.detail["sha256"]) == 64


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("P-9,xicheng,female,60+,,,6,,4,,", "healthcare.overall", "outside the scale"),
        ("P-9,xicheng,female,60+,,,good,,4,,", "healthcare.overall", "is not an answer"),
        ("P-9,xicheng,F,60+,,,4,,4,,", "sex", "'F' is not allowed"),
        ("P-9,atlantis,female,60+,,,4,,4,,", "town", "'atlantis' is not allowed"),
        ("P-9,xicheng,female,,,,4,,4,,", "age_group", "is empty"),
        ("P-9,xicheng,female,60+,-3,,4,,4,,", "duration_s", "is not a duration"),
        ("P-9,xicheng,female,60+,,yesterday,4,,4,,", "submitted_at", "is not a date and time"),
        ("P-9,xicheng,female,60+,,,4,,4,,education;parks", "services_used", "unknown domain"),
        ("P-9,xicheng,female,60+,,,4,,4," + "长" * 501 + ",", "comment", "at most 500"),
        ("P-0001,xicheng,female,60+,,,4,,4,,", "response_id", "repeats row 2"),
        ("P 9,xicheng,female,60+,,,4,,4,,", "response_id", "is not allowed"),
        (",xicheng,female,60+,,,4,,4,,", "response_id", "is empty"),
        ("P-9,xicheng,female,60+,,,,,,,", "", "has no answers"),
        ("P-9,xicheng,female,60+,,,4,,4", "", "has 9 cells but the header has 11"),
    ],
)
def test_one_bad_row_rejects_the_whole_file(app, row, column, message):
    make_wave(app)
    report = _import(app, _csv(GOOD_ROWS[0], row, GOOD_ROWS[2]))
    assert not report.ok and report.stored == 0
    [problem] = report.row_problems
    assert (problem.row, problem.column) == (3, column)
    assert message in problem.message
    assert "nothing was stored" in report.summary()
    assert response_count(app) == 0
    [event] = audit_events(app, "import.rejected")
    assert event.detail["problems"] == 1 and event.detail["stored"] == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (_csv(header=HEADER), "a header but no responses"),
        (
            _csv(GOOD_ROWS[0], header=HEADER + ",favourite_colour").replace(b"healthcare\n", b"healthcare,blue\n"),
            "unknown column(s) 'favourite_colour'",
        ),
        (_csv("P-1,female,60+,4", header="response_id,sex,age_group,overall"), "missing column(s) town"),
        (_csv("P-1,xicheng,female,60+", header="response_id,town,sex,age_group"), "no item columns"),
        (_csv(header="response_id,town,town,sex,age_group,overall"), "repeats column(s) town"),
        ("response_id,town\nP-1,西城".encode("gbk"), "not UTF-8"),
    ],
)
def test_file_level_problems(app, data, message):
    make_wave(app)
    report = _import(app, data)
    assert not report.ok
    assert any(message in problem for problem in report.file_problems), report.file_problems
    assert response_count(app) == 0


def test_wave_channel_state_and_point_cells_are_checked(app):
    make_wave(app)
    header = HEADER + ",wave,channel,state,point"
    rows = [
        GOOD_ROWS[0] + ",2024,,,",
        GOOD_ROWS[1] + ",,fax,,",
        GOOD_ROWS[2] + ",,,partial,",
        "P-0004,xicheng,female,60+,,,4,,4,,,2025,paper,submitted,nope-01",
        "P-0005,xicheng,female,60+,,,4,,4,,,2025,paper,submitted,hosp-01",
    ]
    report = _import(app, _csv(*rows, header=header))
    problems = {(problem.row, problem.column) for problem in report.row_problems}
    assert problems == {(2, "wave"), (3, "channel"), (4, "state"), (5, "point")}
    assert report.rejected_rows == 4 and report.rows_read == 5


def test_reimporting_the_same_file_is_refused(app):
    make_wave(app)
    assert _import(app, _csv(*GOOD_ROWS)).ok
    again = _import(app, _csv(*GOOD_ROWS))
    assert not again.ok and again.rejected_rows == 3
    assert "already stored (wave 2025)" in again.row_problems[0].message
    assert response_count(app) == 3
    with_new_ids = _import(app, _csv(*GOOD_ROWS), new_ids=True)
    assert with_new_ids.ok and response_count(app) == 6


def test_unknown_channel_is_refused(app):
    make_wave(app)
    report = _import(app, _csv(*GOOD_ROWS), channel="qr")
    assert not report.ok and "use phone or paper" in report.file_problems[0]


def test_import_screen(app):
    """The upload is queued as an import job; the worker imports it and the job page shows
    the report; the uploaded file is deleted either way (issue 12)."""
    make_wave(app)
    client = english(signed_in(app, "statistician"))
    assert client.get("/admin/imports").status_code == 200
    bad = post(
        client,
        "/admin/imports",
        {
            "wave": "2025",
            "channel": "paper",
            "file": (io.BytesIO(_csv(GOOD_ROWS[0], "P-9,xicheng,F,60+,,,4,,4,,")), "paper.csv"),
        },
        page="/admin/imports",
        content_type="multipart/form-data",
    )
    bad_job = job_id_of(bad)
    uploads = Path(app.instance_path) / "uploads"
    [saved] = uploads.iterdir()
    assert saved.suffix == ".csv" and saved.stat().st_mode & 0o777 == 0o600
    assert run_jobs(app) == 1
    assert list(uploads.iterdir()) == []
    text = client.get(f"/admin/jobs/{bad_job}").get_data(as_text=True)
    assert "Nothing was imported" in text and "row 3, column sex" in text
    assert response_count(app) == 0
    # A file larger than the resident pages' 64 KB limit is accepted here.
    many = [f"P-{number:05d},xicheng,female,60+,120,,4,5,4,{'意见' * 20},healthcare" for number in range(700)]
    data = _csv(*many)
    assert len(data) > 64 * 1024
    good = post(
        client,
        "/admin/imports",
        {"wave": "2025", "channel": "paper", "file": (io.BytesIO(data), "paper.csv")},
        page="/admin/imports",
        content_type="multipart/form-data",
    )
    good_job = job_id_of(good)
    assert response_count(app) == 0  # nothing imported in the request
    assert run_jobs(app) == 1
    assert "700 responses imported" in client.get(f"/admin/jobs/{good_job}").get_data(as_text=True)
    assert response_count(app) == 700 and list(uploads.iterdir()) == []
    not_csv = post(
        client,
        "/admin/imports",
        {"wave": "2025", "channel": "paper", "file": (io.BytesIO(b"PK\x03\x04"), "paper.xlsx")},
        page="/admin/imports",
        content_type="multipart/form-data",
    )
    assert not_csv.status_code == 400 and "is not a CSV file" in not_csv.get_data(as_text=True)
    assert list(uploads.iterdir()) == []


def test_large_upload_without_a_session_is_refused_unread(app, client):
    make_wave(app)
    data = _csv(*[f"P-{number:05d},xicheng,female,60+,120,,4,5,4,{'意见' * 20},healthcare" for number in range(700)])
    response = client.post(
        "/admin/imports", data={"file": (io.BytesIO(data), "f.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413


def test_import_command(app, tmp_path):
    make_wave(app)
    good = tmp_path / "phone.csv"
    good.write_bytes(_csv(*GOOD_ROWS))
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["import", "2025", str(good), "--channel", "phone"])
    assert result.exit_code == 0, result.output
    assert "3 response(s) imported into wave 2025" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv("P-7,xicheng,female,60+,,,9,,4,,"))
    result = runner.invoke(main, ["import", "2025", str(bad), "--channel", "phone"])
    assert result.exit_code == 2
    assert "row 2, column healthcare.overall" in result.output and "nothing was stored" in result.output
    result = runner.invoke(main, ["import", "2025", str(good), "--channel", "email"])
    assert result.exit_code == 2 and "Invalid value for '--channel'" in result.output
    assert response_count(app) == 3


def _score(app, code: str = "2025") -> dict:
    with app.app_context():
        session = get_session()
        wave = get_wave(session, code)
        frame = wave_responses_frame(session, wave, design_columns=True)
        run = run_estimate(
            EstimateOptions(
                responses=frame,
                questionnaires=wave_questionnaires(wave),
                margins=Path(QUESTIONNAIRES) / "margins" / "jingzhou-2025-illustrative.csv",
                strata="point_town",
                cluster="point",
                lonely_psu="adjust",
            )
        )
    results = dict(run.results)
    results.pop("inputs")
    # The round trip changes the channel (an import is phone or paper, never qr), so the
    # sensitivity rows by channel carry other labels; every estimate must be identical.
    results.pop("sensitivity")
    return results


def test_export_then_import_reproduces_the_scoring_results(app, tmp_path):
    """Acceptance: an export → import round trip of a wave scores exactly the same."""
    synthetic_wave(app, responses=600, seed=11)
    before = _score(app)
    runner = app.test_cli_runner()
    exported = tmp_path / "wave-2025.csv"
    result = runner.invoke(main, ["export", "2025", "--format", "csv", "--out", str(exported)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = get_session()
        session.execute(delete(Response).where(Response.wave_id == get_wave(session, "2025").id))
        session.commit()
    assert response_count(app) == 0
    # An import holds phone or paper responses: the export's qr cells are refused, so the
    # statistician empties those cells (the import's channel then applies); phone and paper
    # rows keep theirs.
    exported_again = pd.read_csv(exported, dtype=str, keep_default_na=False)
    result = runner.invoke(main, ["import", "2025", str(exported), "--channel", "paper"])
    assert result.exit_code != 0 and response_count(app) == 0
    exported_again.loc[exported_again["channel"] == "qr", "channel"] = ""
    exported_again.to_csv(exported, index=False)
    result = runner.invoke(main, ["import", "2025", str(exported), "--channel", "paper"])
    assert result.exit_code == 0, result.output
    assert response_count(app) == 600
    after = _score(app)
    assert after == before
    with app.app_context():
        session = get_session()
        frame = wave_responses_frame(session, get_wave(session, "2025"))
    assert sorted(frame["response_id"]) == sorted(exported_again["response_id"])
    assert set(frame["channel"]) <= {"paper", "phone"}
