"""Import checks as strict as the resident form (issue 12, low findings): no control
characters, ANSI escapes or NUL in a comment, no ``qr`` rows in a phone or paper import,
no ``submitted_at`` far in the future (it would postpone retention deletion); and a
comment escaped against formula injection by an export is read back as its text."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.models import Response
from tests.survey.admin_support import make_wave, response_count
from tests.survey.test_imports import GOOD_ROWS, HEADER, _csv, _import

FUTURE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
SOON = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _row(*, comment: str = "", submitted_at: str = "", response_id: str = "P-9") -> str:
    return f"{response_id},xicheng,female,60+,,{submitted_at},4,,4,{comment},"


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (_row(comment="ok\x00then"), "comment", "control characters"),
        (_row(comment="\x1b[31mred\x1b[0m"), "comment", "control characters"),
        (_row(comment="bell\x07"), "comment", "control characters"),
        (_row(submitted_at="2262-04-11T00:00:00+08:00"), "submitted_at", "lies in the future"),
        (_row(submitted_at=FUTURE), "submitted_at", "lies in the future"),
    ],
    ids=["nul", "ansi-escape", "bell", "year-2262", "in-three-days"],
)
def test_rows_the_resident_form_would_refuse_are_refused(app, row, column, message):
    make_wave(app)
    report = _import(app, _csv(GOOD_ROWS[0], row))
    assert not report.ok and report.stored == 0
    [problem] = report.row_problems
    assert (problem.row, problem.column) == (3, column)
    assert message in problem.message
    assert response_count(app) == 0


def test_a_qr_row_is_refused_in_a_paper_import(app):
    make_wave(app)
    header = HEADER + ",channel,point"
    rows = [GOOD_ROWS[0] + ",paper,hosp-01", GOOD_ROWS[1] + ",qr,hosp-01", GOOD_ROWS[2] + ",,"]
    report = _import(app, _csv(*rows, header=header), channel="paper")
    [problem] = report.row_problems
    assert (problem.row, problem.column) == (3, "channel")
    assert "only from the resident survey" in problem.message and "paper" in problem.message
    assert response_count(app) == 0


def test_tabs_line_breaks_and_a_clock_a_few_hours_ahead_are_accepted(app):
    make_wave(app)
    rows = [_row(comment='"两行\n意见\t好"', submitted_at=SOON)]
    report = _import(app, _csv(*rows))
    assert report.ok, report.lines()


def test_a_comment_escaped_by_an_export_is_stored_as_its_text(app):
    make_wave(app)
    rows = [
        _row(response_id="P-1", comment='"\'=HYPERLINK(""http://evil.example"",""x"")"'),
        _row(response_id="P-2", comment="'-2+3+cmd|' /C calc'!A0"),
        _row(response_id="P-3", comment="''=1"),
        _row(response_id="P-4", comment="'好'"),
    ]
    report = _import(app, _csv(*rows))
    assert report.ok, report.lines()
    with app.app_context():
        stored = dict(get_session().execute(select(Response.uid, Response.comment)).all())
    assert stored == {
        "P-1": '=HYPERLINK("http://evil.example","x")',
        "P-2": "-2+3+cmd|' /C calc'!A0",
        "P-3": "'=1",
        "P-4": "'好'",
    }
