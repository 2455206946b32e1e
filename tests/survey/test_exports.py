"""Exports: CSV in the responses contract, long CSV, XLSX, SPSS .sav with Chinese labels,
the codebook; comments only on request; every export audited.  For Excel on Chinese
Windows (issue 14): CSVs start with a UTF-8 byte-order mark, the workbook has a sheet in
words and real dates in Beijing time, file names carry the Beijing time, and phone and ID
numbers in comments are masked."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.adapter import FIXED_COLUMNS, wave_responses_frame
from survey.cli import main
from survey.db import get_session
from survey.localtime import to_local
from survey.models import Response
from survey.services.exports import LABELLED_SHEET, UTF8_BOM, ExportError, export_wave, spss_names
from survey.services.waves import get_wave
from tests.conftest import snapshot
from tests.survey.admin_support import audit_events, english, post, signed_in, synthetic_wave
from tests.survey.jobs_support import job_id_of, run_jobs

COMMENT = "门诊排队太久，希望增加挂号窗口"
#: A comment stored before masking existed (imported or typed in an older version).
PERSONAL = "请打电话13912345678联系我，身份证42100219800101123X"


@pytest.fixture
def wave_app(app, request):
    """A synthetic wave of 300 responses with a masked comment, refusals and a partial
    response: made once per test run and database kind (tests/conftest.py ``snapshot``)."""
    snapshot(app, request, "exports-wave", _make_wave)
    return app


def _make_wave(app) -> None:
    synthetic_wave(app, responses=300)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        first = session.scalars(select(Response).where(Response.wave_id == wave.id).order_by(Response.id)).first()
        first.comment = COMMENT
        first.sex, first.age_group = "refused", "refused"
        second = session.scalars(select(Response).where(Response.wave_id == wave.id).order_by(Response.id)).all()[1]
        second.comment = PERSONAL
        session.add(Response(uid="partial-1", wave_id=wave.id, state="partial", channel="qr"))
        session.commit()


def _export(app, fmt: str, **options):
    with app.app_context():
        session = get_session()
        return export_wave(session, get_wave(session, "2025"), fmt, **options)


def test_csv_is_the_responses_contract_and_matches_the_adapter(wave_app):
    exported = _export(wave_app, "csv")
    frame = pd.read_csv(io.BytesIO(exported.data), dtype={"response_id": str, "age_group": str})
    assert list(frame.columns[: len(FIXED_COLUMNS)]) == list(FIXED_COLUMNS)
    assert "comment" not in frame.columns
    assert exported.rows == len(frame) == 300
    as_text = pd.read_csv(io.BytesIO(exported.data), dtype=str, keep_default_na=False)
    answers = set(as_text[[c for c in as_text.columns if "." in c or c == "overall"]].to_numpy().ravel())
    assert answers <= {"", "1", "2", "3", "4", "5"}  # 1..5 or empty, never 4.0
    with wave_app.app_context():
        session = get_session()
        expected = wave_responses_frame(session, get_wave(session, "2025"))
    items = [column for column in expected.columns if "." in column or column == "overall"]
    np.testing.assert_array_equal(frame[items].to_numpy(dtype=float), expected[items].to_numpy(dtype=float))
    assert set(frame["state"]) == {"submitted"}


def test_partial_and_comments_only_on_request(wave_app):
    plain = _export(wave_app, "csv")
    assert COMMENT.encode() not in plain.data and b"partial-1" not in plain.data
    full = _export(wave_app, "csv", include_partial=True, include_comments=True)
    assert COMMENT.encode() in full.data and b"partial-1" in full.data
    assert full.rows == 301


def test_long_format_has_one_row_per_answer(wave_app):
    wide = pd.read_csv(io.BytesIO(_export(wave_app, "csv").data), dtype=str)
    long = pd.read_csv(io.BytesIO(_export(wave_app, "long").data), dtype={"response_id": str, "age_group": str})
    assert list(long.columns[-3:]) == ["questionnaire", "item", "value"]
    items = [column for column in wide.columns if "." in column or column == "overall"]
    assert len(long) == int(wide[items].notna().to_numpy().sum())
    assert long["value"].between(1, 5).all()
    row = long.iloc[0]
    assert wide.loc[wide["response_id"] == row["response_id"], row["item"]].iloc[0] == str(row["value"])
    assert set(long.loc[long["item"] == "overall", "questionnaire"]) == {"common"}


def test_every_csv_starts_with_a_utf8_byte_order_mark_for_excel(wave_app):
    for fmt in ("csv", "long", "codebook"):
        data = _export(wave_app, fmt).data
        assert data.startswith(UTF8_BOM) and not data[3:].startswith(UTF8_BOM), fmt
        data.decode("utf-8")
    header = _export(wave_app, "csv").data[3:].split(b"\r\n", 1)[0].decode()
    assert header.startswith("response_id,wave,channel")


def test_file_names_carry_the_beijing_time(wave_app, monkeypatch):
    import survey.services.exports as exports

    # 2025-06-30 17:30 UTC is already 1 July in Beijing.
    monkeypatch.setattr(exports, "utcnow", lambda: dt.datetime(2025, 6, 30, 17, 30, tzinfo=dt.UTC))
    assert _export(wave_app, "csv").filename == "manyi-2025-responses-2025-07-01-0130.csv"
    assert _export(wave_app, "codebook").filename == "manyi-2025-codebook-2025-07-01-0130.csv"


def test_xlsx_has_responses_codebook_and_about(wave_app):
    exported = _export(wave_app, "xlsx")
    workbook = load_workbook(io.BytesIO(exported.data), read_only=True)
    assert workbook.sheetnames == ["说明 About", LABELLED_SHEET, "responses", "codebook"]
    rows = list(workbook["responses"].iter_rows(values_only=True))
    assert rows[0][: len(FIXED_COLUMNS)] == FIXED_COLUMNS and len(rows) == 301
    book = list(workbook["codebook"].iter_rows(values_only=True))
    by_variable = {row[0]: row for row in book[1:]}
    assert by_variable["healthcare.overall"][2].startswith("总体来看")
    assert "1=非常不满意" in by_variable["healthcare.overall"][5]


def test_sav_has_chinese_variable_and_value_labels(wave_app, tmp_path):
    exported = _export(wave_app, "sav")
    path = tmp_path / "wave.sav"
    path.write_bytes(exported.data)
    data, meta = pyreadstat.read_sav(str(path))
    assert len(data) == 300
    assert "healthcare_overall" in data.columns and "healthcare.overall" not in data.columns
    labels = meta.column_names_to_labels
    assert labels["sex"] == "性别" and labels["healthcare_overall"].startswith("总体来看")
    assert meta.variable_value_labels["healthcare_overall"][5.0] == "非常满意"
    assert meta.variable_value_labels["sex"] == {1.0: "男", 2.0: "女", 3.0: "不愿回答"}
    assert meta.variable_measure["age_group"] == "ordinal"
    wide = pd.read_csv(io.BytesIO(_export(wave_app, "csv").data), dtype={"response_id": str})
    assert list(data["response_id"]) == list(wide["response_id"])
    np.testing.assert_array_equal(
        data["healthcare_overall"].to_numpy(), wide["healthcare.overall"].to_numpy(dtype=float)
    )
    sexes = data["sex"].map(meta.variable_value_labels["sex"])
    assert list(sexes) == list(wide["sex"].map({"male": "男", "female": "女", "refused": "不愿回答"}))


def test_xlsx_shows_answers_in_words_and_times_as_beijing_dates(wave_app):
    workbook = load_workbook(io.BytesIO(_export(wave_app, "xlsx", include_comments=True).data))
    coded = list(workbook["responses"].iter_rows(values_only=True))
    labelled = list(workbook[LABELLED_SHEET].iter_rows(values_only=True))
    assert len(labelled) == len(coded) == 301
    header = labelled[0]
    assert header[:9] == (
        "答卷编号",
        "调查轮次",
        "收集渠道",
        "采集点编码",
        "居住镇（街道、管理区）",
        "性别",
        "年龄段",
        "答题用时（秒）",
        "提交时间（北京时间）",
    )
    codes = {name: position for position, name in enumerate(coded[0])}
    with wave_app.app_context():
        session = get_session()
        stored = {
            response.uid: response
            for response in session.scalars(select(Response).where(Response.state == "submitted"))
        }
    for row, words in zip(coded[1:], labelled[1:]):
        response = stored[row[codes["response_id"]]]
        expected = to_local(response.submitted_at).replace(tzinfo=None, microsecond=0)
        # A real Excel date (a number formatted as a date), in Beijing time, in both sheets.
        assert isinstance(row[codes["submitted_at"]], dt.datetime)
        assert row[codes["submitted_at"]].replace(microsecond=0) == expected
        assert words[8].replace(microsecond=0) == expected
        assert words[5] == {"male": "男", "female": "女", "refused": "不愿回答"}[row[codes["sex"]]]
    first = labelled[1]
    assert first[5] == "不愿回答" and first[6] == "不愿回答" and first[2] == "扫码"
    overall = header.index(next(name for name in header if name.startswith("总体来看，您对荆州区")))
    assert {row[overall] for row in labelled[1:]} <= {"非常不满意", "不满意", "一般", "满意", "非常满意", None}
    services = header.index("过去12个月使用过的服务（;分隔的领域编码）")
    assert all("_" not in (row[services] or "") for row in labelled[1:])  # domain names, never ids
    date_cell = workbook["responses"].cell(row=2, column=codes["submitted_at"] + 1)
    assert date_cell.is_date and date_cell.number_format == "yyyy-mm-dd hh:mm:ss"
    about = dict(workbook["说明 About"].iter_rows(values_only=True))
    assert isinstance(about["导出时间（北京时间）/ Exported at (Beijing time)"], dt.datetime)


def test_phone_and_id_numbers_in_comments_are_masked_in_every_export(wave_app):
    for fmt in ("csv", "xlsx", "sav"):
        data = _export(wave_app, fmt, include_comments=True).data
        if fmt == "xlsx":
            workbook = load_workbook(io.BytesIO(data), read_only=True)
            text = " ".join(str(cell) for row in workbook[LABELLED_SHEET].iter_rows(values_only=True) for cell in row)
        else:
            text = data.decode("utf-8", errors="replace")
        assert "13912345678" not in text and "42100219800101123X" not in text, fmt
        assert "请打电话[电话号码已隐去]联系我，身份证[身份证号已隐去]" in text, fmt
        assert COMMENT in text, fmt


def test_codebook_describes_every_column(wave_app):
    codebook = pd.read_csv(io.BytesIO(_export(wave_app, "codebook").data), dtype=str)
    wide = pd.read_csv(io.BytesIO(_export(wave_app, "csv").data), dtype=str, nrows=1)
    assert list(codebook["variable"]) == list(wide.columns)
    town = codebook.set_index("variable").loc["town"]
    assert town["type"] == "category" and "xicheng=西城街道" in town["values"]
    assert codebook["spss_name"].is_unique


def test_spss_names_are_valid_and_unique():
    names = spss_names(["education.fees", "education_fees", "1st", "overall"])
    assert names == {
        "education.fees": "education_fees",
        "education_fees": "education_fees_2",
        "1st": "v_1st",
        "overall": "overall",
    }


def test_unknown_format_is_refused(wave_app):
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        _export(wave_app, "pdf")


def test_export_screen_downloads_and_audits(wave_app):
    """A whole-wave export is a job: the worker writes the file (0600), the job page offers
    it, the download is audited (issue 12)."""
    client = english(signed_in(wave_app, "statistician"))
    assert client.get("/admin/exports").status_code == 200
    queued = post(
        client, "/admin/exports", {"wave": "2025", "format": "csv", "include_comments": "y"}, page="/admin/exports"
    )
    job_id = job_id_of(queued)
    assert audit_events(wave_app, "export") == []  # nothing exported in the request
    assert run_jobs(wave_app) == 1
    [event] = audit_events(wave_app, "export")
    assert event.username == "statistician-user" and event.target == "wave 2025"
    assert event.detail == {"format": "csv", "rows": 300, "partial": False, "comments": True}
    [stored] = (Path(wave_app.instance_path) / "exports").iterdir()
    assert stored.stat().st_mode & 0o777 == 0o600
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert f"/admin/jobs/{job_id}/download" in page
    response = client.get(f"/admin/jobs/{job_id}/download")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"] and COMMENT in response.get_data(as_text=True)
    [download] = audit_events(wave_app, "export.download")
    assert download.username == "statistician-user" and download.detail["job"] == job_id
    bad = post(client, "/admin/exports", {"wave": "1999", "format": "csv"}, page="/admin/exports")
    assert bad.status_code == 400 and "Not a valid choice" in bad.get_data(as_text=True)


def test_export_command(wave_app, tmp_path):
    runner = wave_app.test_cli_runner()
    out = tmp_path / "wave.sav"
    result = runner.invoke(main, ["export", "2025", "--format", "sav", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "300 response(s)" in result.output and out.read_bytes()[:4] == b"$FL2"
    [event] = audit_events(wave_app, "export")
    assert event.username.startswith("cli:") and event.detail["format"] == "sav"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["export", "1999", "--out", "x.csv"], "no wave '1999'"),
        (["export", "2025", "--format", "pdf", "--out", "x.pdf"], "Invalid value for '--format'"),
        (["export", "2025", "--out", "/no/such/folder/x.csv"], "does not exist"),
    ],
)
def test_export_command_errors(wave_app, arguments, message):
    result = wave_app.test_cli_runner().invoke(main, arguments)
    assert result.exit_code == 2
    assert message in result.output
    assert audit_events(wave_app, "export") == []
