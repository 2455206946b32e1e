"""Import of telephone (CATI) and paper responses from a CSV in the responses contract.

The file is checked as a whole (encoding, header, columns) and then row by row against
the questionnaire versions the wave serves: every value must be one the questionnaire
allows.  The import is all-or-nothing: when any row is wrong nothing is stored, and the
report lists every rejected row with the column, the value and how to fix it.  Rows are
numbered as in a spreadsheet (the header is row 1).

A comment is held to the resident form's text rule (no control characters, which also
refuses ANSI escapes and NUL; :data:`survey.services.masking.CONTROL_CHARACTERS`); a row may not claim
the ``qr`` channel (QR responses come only from the resident survey, with its screening);
``submitted_at`` may not lie more than a day ahead.  A cell that a Manyi export escaped
against formula injection (``'=…``, see :func:`survey.services.exports.formula_safe`) is
read back as its original text.

Accepted rows are stored through :func:`survey.services.responses.insert_frame` as
``submitted`` responses of the given channel.  An export of a wave
(:mod:`survey.services.exports`, format ``csv``) imports back unchanged.

**Staged import** (``staged=True``, the ``import`` job of :mod:`survey.services.jobs`):
60,000 rows written in one transaction would hold SQLite's single write lock for
seconds, and residents submitting meanwhile would wait or fail with "database is
locked".  A staged import writes its rows as ``staged`` responses in batches of
:data:`STAGE_BATCH`, each batch its own short committed transaction (every query that
counts or scores responses selects by state, so staged rows are invisible), then makes
them ``submitted`` with one ``UPDATE`` committed together with the audit record.  If
anything fails before that, the staged rows are deleted (:func:`discard_staged`); a job
interrupted by a dying worker is discarded when it runs again.  All or nothing still
holds for what residents and the office see.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from scoring.questionnaire import DEFAULT_SCALE, DOMAIN_IDS
from scoring.vocabulary import TIME_ZONE
from survey.adapter import FIXED_COLUMNS
from survey.models import CHANNELS, AnswerSet, CollectionPoint, Response, User, Wave
from survey.services import audit
from survey.services.exports import formula_unescaped
from survey.services.masking import CONTROL_CHARACTERS, mask_personal_details
from survey.services.questionnaires import wave_questionnaires
from survey.services.responses import insert_frame

#: Channels an import may declare (QR responses come from the resident flow).
IMPORT_CHANNELS: tuple[str, ...] = tuple(channel for channel in CHANNELS if channel != "qr")
DECLARED_COLUMNS: tuple[str, ...] = ("state", "flags", "comment", "services_used")
#: Cell values meaning 不适用/不清楚 (stored as "not applicable", scored as missing).
NOT_APPLICABLE_WORDS = frozenset({"na", "n/a", "不适用", "不清楚", "不适用/不清楚"})
#: How many problems a report lists before summarising the rest.
MAX_LISTED_PROBLEMS = 500

_RESPONSE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,32}$")
_FLAG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_DURATION_S = 7 * 24 * 3600
#: How far past the clock a ``submitted_at`` may lie (time zones, a scanner's clock): a
#: date further ahead is a typing error, and it would postpone the response's deletion.
SUBMITTED_AT_TOLERANCE = dt.timedelta(days=1)
#: The state of responses a staged import has written but not yet made visible.
STAGED = "staged"
#: Rows per short write transaction of a staged import (on SQLite a resident's write waits
#: for at most one batch: a few hundred milliseconds on a busy 2-core machine).
STAGE_BATCH = 500
#: Rows checked between two progress reports.
PROGRESS_EVERY = 5000

#: ``progress(done, total, message)``: how a job reports its steps (:mod:`survey.services.jobs`).
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class RowProblem:
    """One rejected value: spreadsheet row, column, what is wrong and how to fix it."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    """The outcome of an import: what was read, what was stored, what was wrong."""

    wave: str
    channel: str
    filename: str
    sha256: str
    rows_read: int = 0
    stored: int = 0
    file_problems: list[str] = field(default_factory=list)
    row_problems: list[RowProblem] = field(default_factory=list)
    rejected_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.file_problems and not self.row_problems

    def lines(self, limit: int = MAX_LISTED_PROBLEMS) -> list[str]:
        """The problems as lines of text, the file's first, at most ``limit`` rows."""
        out = [str(problem) for problem in self.file_problems]
        out += [str(problem) for problem in self.row_problems[:limit]]
        hidden = len(self.row_problems) - limit
        if hidden > 0:
            out.append(f"… and {hidden} more problem(s) not listed")
        return out

    def summary(self) -> str:
        if self.ok:
            return f"{self.stored} response(s) imported into wave {self.wave} (channel {self.channel})"
        if self.file_problems:
            return f"the file was not imported ({len(self.file_problems)} problem(s) with the file as a whole); nothing was stored"
        return (
            f"the file was not imported: {self.rejected_rows} of {self.rows_read} row(s) rejected "
            f"({len(self.row_problems)} problem(s)); nothing was stored — fix the rows and import the whole file again"
        )


class _Rules:
    """What a wave's questionnaires allow, looked up once per import."""

    def __init__(self, session: Session, wave: Wave):
        questionnaires = wave_questionnaires(wave)
        common = questionnaires.common
        self.wave = wave
        self.choices = {
            code: {choice.value for choice in common.item(code).choices} for code in ("sex", "age_group", "town")
        }
        self.required = {code for code in ("sex", "age_group", "town") if common.item(code).required}
        comment = next((item for item in common.items if item.code == "comment"), None)
        self.comment_length = (comment.max_length if comment is not None else None) or 500
        self.scale_length: dict[str, int] = {}
        for link in wave.questionnaires:
            for code in link.version.likert_codes:
                item = questionnaires.item(code)
                self.scale_length[code] = questionnaires.scales[item.scale or DEFAULT_SCALE].length
        self.points = set(session.scalars(select(CollectionPoint.code).where(CollectionPoint.wave_id == wave.id)).all())


def _decode(data: bytes, report: ImportReport) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        report.file_problems.append(
            f"the file is not UTF-8 text (byte {error.start}); in Excel use 'Save as → CSV UTF-8 (comma delimited)'"
        )
        return None


def _check_header(header: Sequence[str], rules: _Rules, *, new_ids: bool, report: ImportReport) -> list[str]:
    columns = [name.strip() for name in header]
    counts = Counter(columns)
    duplicated = sorted(name for name, number in counts.items() if number > 1)
    if duplicated:
        report.file_problems.append(f"the header repeats column(s) {', '.join(duplicated)}; keep one of each")
    allowed = set(FIXED_COLUMNS) | set(DECLARED_COLUMNS) | set(rules.scale_length)
    unknown = [name for name in columns if name not in allowed]
    if unknown:
        report.file_problems.append(
            f"unknown column(s) {', '.join(repr(name) for name in unknown)}: use the contract's columns "
            f"({', '.join(FIXED_COLUMNS)}), the declared {', '.join(DECLARED_COLUMNS)}, and the item codes of "
            f"wave {rules.wave.code}'s questionnaires (see the codebook export)"
        )
    required = [name for name in ("sex", "age_group", "town") if name in rules.required]
    if not new_ids:
        required.insert(0, "response_id")
    missing = [name for name in required if name not in columns]
    if missing:
        report.file_problems.append(f"missing column(s) {', '.join(missing)}; every row needs them")
    if not any(name in rules.scale_length for name in columns):
        report.file_problems.append(
            "the file has no item columns (e.g. education.overall); there are no answers to import"
        )
    return columns


def _answer(cell: str, length: int) -> float | str | None:
    """``None`` for empty, ``"na"`` for 不适用/不清楚, else the scale point (raises ValueError)."""
    if cell == "":
        return None
    if cell.lower() in NOT_APPLICABLE_WORDS:
        return "na"
    try:
        number = float(cell)
    except ValueError:
        raise ValueError(
            f"{cell!r} is not an answer; use 1–{length}, or leave it empty (不适用/不清楚: empty or 'na')"
        ) from None
    if not math.isfinite(number) or number != int(number) or not 1 <= number <= length:
        raise ValueError(f"{cell!r} is outside the scale; use a whole number 1–{length}, or leave it empty")
    return float(number)


def _timestamp(cell: str) -> pd.Timestamp:
    """The moment ``cell`` names, in UTC (raises ValueError or OverflowError)."""
    stamp = pd.Timestamp(cell)
    if pd.isna(stamp):
        raise ValueError(cell)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TIME_ZONE)  # a paper form's date is local time
    return stamp.tz_convert("UTC")


def _check_row(
    number: int,
    record: dict[str, str],
    rules: _Rules,
    channel: str,
    seen_ids: dict[str, int],
    *,
    new_ids: bool,
    now: dt.datetime,
) -> tuple[dict[str, object], dict[str, bool], list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(column: str, message: str) -> None:
        problems.append(RowProblem(number, column, message))

    row: dict[str, object] = {}
    response_id = record.get("response_id", "").strip()
    if not new_ids or response_id:
        if not response_id and not new_ids:
            problem("response_id", "is empty; give every response a unique id (e.g. P2025-0001)")
        elif not _RESPONSE_ID.match(response_id):
            problem("response_id", f"{response_id!r} is not allowed: use 1–32 letters, digits, '_', '.', ':' or '-'")
        elif response_id in seen_ids:
            problem(
                "response_id", f"{response_id!r} repeats row {seen_ids[response_id]}; every response needs its own id"
            )
        else:
            seen_ids[response_id] = number
    row["response_id"] = response_id

    wave_cell = record.get("wave", "").strip()
    if wave_cell and wave_cell != rules.wave.code:
        problem(
            "wave", f"is {wave_cell!r} but the import goes into wave {rules.wave.code}; fix the cell or leave it empty"
        )

    channel_cell = record.get("channel", "").strip()
    if channel_cell and channel_cell not in CHANNELS:
        problem(
            "channel",
            f"{channel_cell!r} is not a channel; use {' or '.join(IMPORT_CHANNELS)} or leave it empty for {channel}",
        )
    elif channel_cell and channel_cell not in IMPORT_CHANNELS:
        problem(
            "channel",
            f"is {channel_cell!r}, but {channel_cell} responses come only from the resident survey; an import holds "
            f"{' or '.join(IMPORT_CHANNELS)} responses — write {' or '.join(IMPORT_CHANNELS)}, or empty the cell "
            f"for {channel}",
        )
    row["channel"] = channel_cell or channel

    point = record.get("point", "").strip()
    if point and point not in rules.points:
        problem(
            "point",
            f"wave {rules.wave.code} has no collection point {point!r}; leave it empty for phone and paper responses or add the point first",
        )
    row["point"] = point

    for code in ("town", "sex", "age_group"):
        value = record.get(code, "").strip()
        if not value:
            if code in rules.required:
                problem(code, f"is empty; it is required (one of {', '.join(sorted(rules.choices[code]))})")
        elif value not in rules.choices[code]:
            problem(code, f"{value!r} is not allowed; use one of {', '.join(sorted(rules.choices[code]))}")
        row[code] = value

    duration = record.get("duration_s", "").strip()
    row["duration_s"] = np.nan
    if duration:
        try:
            seconds = float(duration)
            if not math.isfinite(seconds) or not 0 <= seconds <= _MAX_DURATION_S:
                raise ValueError(duration)
            row["duration_s"] = seconds
        except ValueError:
            problem("duration_s", f"{duration!r} is not a duration; use seconds (e.g. 240) or leave it empty")

    submitted = record.get("submitted_at", "").strip()
    row["submitted_at"] = None
    if submitted:
        try:
            stamp = _timestamp(submitted)
        except (ValueError, OverflowError):
            problem(
                "submitted_at", f"{submitted!r} is not a date and time; use ISO 8601, e.g. 2025-06-01T09:30:00+08:00"
            )
        else:
            if stamp > pd.Timestamp(now) + SUBMITTED_AT_TOLERANCE:
                problem(
                    "submitted_at",
                    f"{submitted!r} lies in the future; give the date the response was collected "
                    "(e.g. 2025-06-01T09:30:00+08:00) or leave it empty",
                )
            else:
                row["submitted_at"] = stamp.isoformat()

    state = record.get("state", "").strip()
    if state and state != "submitted":
        problem("state", f"is {state!r}; only submitted (complete) responses can be imported — remove the row")

    flags = [flag for flag in record.get("flags", "").strip().split(";") if flag]
    bad_flags = [flag for flag in flags if not _FLAG.match(flag)]
    if bad_flags:
        problem(
            "flags", f"{', '.join(repr(flag) for flag in bad_flags)} are not flags; use lower-case words joined by ';'"
        )
    row["flags"] = ";".join(flags)

    services = [service for service in record.get("services_used", "").strip().split(";") if service]
    bad_services = [service for service in services if service not in DOMAIN_IDS]
    if bad_services:
        problem(
            "services_used",
            f"unknown domain(s) {', '.join(repr(s) for s in bad_services)}; use domain ids joined by ';' (e.g. education;healthcare)",
        )
    row["services_used"] = ";".join(services)

    comment = record.get("comment", "")
    if CONTROL_CHARACTERS.search(comment):
        problem(
            "comment",
            "holds control characters (e.g. NUL or a terminal escape), which no one types; "
            "remove them from the cell and import the file again",
        )
    if len(comment) > rules.comment_length:
        problem("comment", f"has {len(comment)} characters; the questionnaire allows at most {rules.comment_length}")
    row["comment"] = mask_personal_details(comment.strip())  # phone and ID numbers never stored

    not_applicable: dict[str, bool] = {}
    answered = 0
    for code, length in rules.scale_length.items():
        if code not in record:
            continue
        try:
            value = _answer(record[code].strip(), length)
        except ValueError as error:
            problem(code, str(error))
            continue
        if value == "na":
            not_applicable[code] = True
            value = None
        elif value is not None:
            answered += 1
        row[code] = np.nan if value is None else value
    if answered == 0 and not any(p.column in rules.scale_length for p in problems):
        problem("", "has no answers (every item is empty); remove the row")
    return row, not_applicable, problems


def _already_stored(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """Response ids of ``ids`` already in the database → the wave they belong to."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        for uid, code in session.execute(
            select(Response.uid, Wave.code).join(Wave, Response.wave_id == Wave.id).where(Response.uid.in_(chunk))
        ):
            found[uid] = code
    return found


def import_responses(
    session: Session,
    wave: Wave,
    data: bytes,
    *,
    channel: str,
    actor: User | str,
    filename: str = "",
    new_ids: bool = False,
    staged: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate ``data`` (a CSV file's bytes) and store it in ``wave``, all or nothing.

    Parameters
    ----------
    channel
        ``phone`` or ``paper``: the channel of rows whose ``channel`` cell is empty (an
        export of the wave keeps its own channels).
    actor
        Who imports (a user, or the command line's name), for the audit log.
    new_ids
        Give every response a new id instead of keeping ``response_id`` (needed to load
        the same file into a second wave; the file's ids must then only be unique).
    staged
        Write the rows in short committed batches as ``staged`` and make them
        ``submitted`` in one statement at the end (see the module's notes); the session's
        earlier work is committed with the first batch.  For the import job.
    progress
        Called with (step, steps, message in Chinese) as the import goes.

    Returns
    -------
    ImportReport
        ``report.ok`` tells whether anything was stored.  The audit log records the
        import or its rejection; the caller commits.
    """
    report = ImportReport(wave=wave.code, channel=channel, filename=filename, sha256=hashlib.sha256(data).hexdigest())
    if channel not in IMPORT_CHANNELS:
        report.file_problems.append(f"unknown channel {channel!r}; use {' or '.join(IMPORT_CHANNELS)}")
        return _finish(session, report, actor)
    rules = _Rules(session, wave)
    text = _decode(data, report)
    if text is None:
        return _finish(session, report, actor)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        report.file_problems.append("the file is empty; it needs a header row and one row per response")
        return _finish(session, report, actor)
    except csv.Error as error:
        report.file_problems.append(f"the header row is not valid CSV ({error})")
        return _finish(session, report, actor)
    columns = _check_header(header, rules, new_ids=new_ids, report=report)
    if report.file_problems:
        return _finish(session, report, actor)

    rows: list[dict[str, object]] = []
    not_applicable_rows: list[dict[str, bool]] = []
    seen_ids: dict[str, int] = {}
    rejected: set[int] = set()
    number = 1
    now = dt.datetime.now(dt.UTC)
    report_step = progress or (lambda _done, _total, _message: None)
    report_step(1, 3, "正在检查文件")
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank line (e.g. at the end of a spreadsheet export)
            report.rows_read += 1
            if report.rows_read % PROGRESS_EVERY == 0:
                report_step(1, 3, f"正在检查文件：已检查 {report.rows_read} 行")
            if len(cells) != len(columns):
                report.row_problems.append(
                    RowProblem(
                        number,
                        "",
                        f"has {len(cells)} cells but the header has {len(columns)}; check for a stray comma or a missing cell",
                    )
                )
                rejected.add(number)
                continue
            record = dict(zip(columns, (formula_unescaped(cell) for cell in cells), strict=True))
            row, marks, problems = _check_row(number, record, rules, channel, seen_ids, new_ids=new_ids, now=now)
            if problems:
                report.row_problems.extend(problems)
                rejected.add(number)
            rows.append(row | {"_row": number})
            not_applicable_rows.append(marks)
    except csv.Error as error:
        report.file_problems.append(f"row {number + 1} is not valid CSV ({error}); check its quotes")
        return _finish(session, report, actor)
    if report.rows_read == 0:
        report.file_problems.append("the file has a header but no responses")
        return _finish(session, report, actor)

    if not new_ids:
        stored = _already_stored(session, list(seen_ids))
        for response_id, wave_code in stored.items():
            row_number = seen_ids[response_id]
            report.row_problems.append(
                RowProblem(
                    row_number,
                    "response_id",
                    f"{response_id!r} is already stored (wave {wave_code}); was this file imported before? "
                    "Remove the row, or import with new ids",
                )
            )
            rejected.add(row_number)
    report.row_problems.sort(key=lambda problem: problem.row)
    report.rejected_rows = len(rejected)
    if report.row_problems:
        return _finish(session, report, actor)

    if staged:
        report.stored = _store_staged(
            session, wave, rows, not_applicable_rows, rules, new_ids=new_ids, progress=report_step
        )
    else:
        report.stored = _store(session, wave, rows, not_applicable_rows, rules, new_ids=new_ids)
    return _finish(session, report, actor)


def discard_staged(session: Session, wave: Wave) -> int:
    """Delete the ``staged`` responses of ``wave`` (an import that failed or was
    interrupted) with their answers; commits and returns how many."""
    ids = list(session.scalars(select(Response.id).where(Response.wave_id == wave.id, Response.state == STAGED)))
    for start in range(0, len(ids), STAGE_BATCH):
        chunk = ids[start : start + STAGE_BATCH]
        session.execute(delete(AnswerSet).where(AnswerSet.response_id.in_(chunk)))
        session.execute(delete(Response).where(Response.id.in_(chunk)))
        session.commit()
    return len(ids)


def _store_staged(
    session: Session,
    wave: Wave,
    rows: list[dict[str, object]],
    marks: list[dict[str, bool]],
    rules: _Rules,
    *,
    new_ids: bool,
    progress: Progress,
) -> int:
    """Store the rows as ``staged`` in short committed batches, then make them
    ``submitted`` in one statement (the caller commits it with the audit record)."""
    stored = 0
    try:
        for start in range(0, len(rows), STAGE_BATCH):
            stored += _store(
                session,
                wave,
                rows[start : start + STAGE_BATCH],
                marks[start : start + STAGE_BATCH],
                rules,
                new_ids=new_ids,
                state=STAGED,
            )
            session.commit()
            progress(2, 3, f"正在写入：已写入 {stored} / {len(rows)} 行")
        progress(3, 3, "正在完成导入")
        session.execute(
            update(Response)
            .where(Response.wave_id == wave.id, Response.state == STAGED)
            .values(state="submitted")
            .execution_options(synchronize_session=False)
        )
    except BaseException:
        session.rollback()
        discard_staged(session, wave)
        raise
    return stored


def _store(
    session: Session,
    wave: Wave,
    rows: list[dict[str, object]],
    marks: list[dict[str, bool]],
    rules: _Rules,
    *,
    new_ids: bool,
    state: str = "submitted",
) -> int:
    frame = pd.DataFrame(rows)
    codes = [code for code in rules.scale_length if code in frame.columns]
    for code in codes:
        frame[code] = pd.to_numeric(frame[code], errors="raise").astype("float64")
    not_applicable = {code: np.array([mark.get(code, False) for mark in marks], dtype=bool) for code in codes}
    # Each row keeps its own channel, in the file's order.
    return insert_frame(
        session,
        wave,
        frame.drop(columns=["_row"]),
        channel=None,
        keep_response_ids=not new_ids,
        not_applicable=not_applicable,
        state=state,
    )


def _finish(session: Session, report: ImportReport, actor: User | str) -> ImportReport:
    detail = {
        "channel": report.channel,
        "file": report.filename,
        "sha256": report.sha256,
        "rows": report.rows_read,
        "stored": report.stored,
    }
    if not report.ok:
        detail["problems"] = len(report.file_problems) + len(report.row_problems)
        detail["first_problems"] = report.lines(limit=5)[:6]
    actor_fields = {"user": actor} if isinstance(actor, User) else {"username": actor}
    audit.record(
        session,
        "import" if report.ok else "import.rejected",
        target=f"wave {report.wave}",
        detail=detail,
        **actor_fields,
    )
    return report
