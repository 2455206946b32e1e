"""The plan's objective indicators: the yearly values the office records, checked and audited.

The plan states 76 numeric targets in its tasks (学前教育毛入园率 ≥ 92%, 救助办结时限 ≤ 22个工作日 …,
:mod:`scoring.plan`).  The office records each indicator's value per year — one at a time on
the admin screen (:func:`record_value`) or from a CSV file (:func:`import_values`, ``manyi
indicators import FILE``) — and the report reads them against the targets beside the
satisfaction of the same task (:func:`report_records` → :func:`scoring.report.build_report`).

The CSV contract (docs/contracts.md, "Plan indicator values"): UTF-8 (a byte-order mark is
allowed), a header row with the columns ``code, year, value, source`` and optionally
``note``, in any order, one row per indicator and year:

* ``code`` — an indicator code of the plan's tasks (``t01.preschool_gross_enrolment``);
* ``year`` — the calendar year the value stands for (2000–2100);
* ``value`` — a number in the indicator's unit (``92.5`` for 92.5%; no unit, no ``%``);
* ``source`` — where the figure comes from (required: no figure without a citation);
* ``note`` — optional text.

Every check runs on the whole file before anything is stored: a file with any problem is
refused with every problem named by row and column, and nothing is stored.  A value for a
code and year already recorded replaces it (the audit record keeps the old value).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import IndicatorValue, User
from survey.services import audit
from survey.services.audit import Actor
from survey.services.plans import newest_plan

if TYPE_CHECKING:  # pragma: no cover - typing only
    from scoring.accountability import IndicatorRecord
    from scoring.plan import Indicator, Plan

#: The columns of the CSV contract; ``note`` may be left out.
COLUMNS: tuple[str, ...] = ("code", "year", "value", "source", "note")
REQUIRED_COLUMNS: tuple[str, ...] = ("code", "year", "value", "source")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_SOURCE_LENGTH = 300
MAX_NOTE_LENGTH = 2000
#: Largest file accepted (a plan has 76 indicators: a few years of them are a few KB).
MAX_FILE_BYTES = 1_000_000
#: Problems listed in one message (the count of the rest is given).
MAX_PROBLEMS_SHOWN = 20


class IndicatorError(ValueError):
    """Indicator values that cannot be stored; the message names every problem and how to fix it.

    Attributes
    ----------
    problems : list of str
        One line per problem (row and column for a file).
    fields : list of (str, str)
        For one value (:func:`record_value`): the field each problem is about and the message.
    """

    def __init__(
        self,
        problems: Sequence[str],
        *,
        what: str = "the indicator values",
        fields: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.problems = list(problems)
        self.fields = list(fields)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        more = len(self.problems) - len(shown)
        lines = [f"{what}: {len(self.problems)} problem(s), nothing was stored:", *shown]
        if more:
            lines.append(f"… and {more} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class IndicatorEntry:
    """One checked value, ready to store."""

    code: str
    year: int
    value: float
    source: str
    note: str = ""


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: new values, replaced values (with the old ones), how many were
    already recorded as they are, and the file's sha256."""

    added: tuple[IndicatorEntry, ...]
    replaced: tuple[tuple[IndicatorEntry, float], ...]
    sha256: str
    rows: int = 0
    unchanged: int = 0


def _plan_or_fail(session: Session) -> Plan:
    plan = newest_plan(session)
    if plan is None:
        raise IndicatorError(
            [
                "no district plan is loaded; run 'manyi init' (or 'manyi questionnaires load') so that plan.yaml is stored"
            ]
        )
    return plan


def task_indicators(plan: Plan) -> dict[str, Indicator]:
    """The indicators the office records, by code: those of the plan's tasks (the overall
    goals are measured by the survey itself)."""
    return {indicator.code: indicator for task in plan.tasks for indicator in task.indicators}


def _check_code(code: str, known: dict[str, Indicator], plan: Plan) -> str | None:
    if code in known:
        return None
    if any(goal.code == code for goal in plan.goals):
        return f"{code!r} is the plan's overall goal, measured by this survey itself; record task indicators only"
    close = [candidate for candidate in known if candidate.split(".", 1)[0] == code.split(".", 1)[0]]
    hint = f" (task {code[1:3]} has: {', '.join(close)})" if close else " (see 'manyi indicators list' for the codes)"
    return f"{code!r} is not an indicator code of the plan{hint}"


def _check_year(text: str) -> tuple[int | None, str | None]:
    stripped = text.strip()
    if not stripped.isdigit() or not FIRST_YEAR <= int(stripped) <= LAST_YEAR:
        return None, f"{text!r} is not a year; write the calendar year the value stands for, e.g. 2025"
    return int(stripped), None


def _check_value(text: str | float) -> tuple[float | None, str | None]:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        number = float(text)
    else:
        raw = str(text).strip().replace(",", "")
        try:
            number = float(raw)
        except ValueError:
            return None, (
                f"{text!r} is not a number; write the value in the indicator's unit without the unit, "
                "e.g. 92.5 for 92.5%"
            )
    if not math.isfinite(number):
        return None, f"{text!r} is not a finite number"
    return number, None


def _check_text(text: str, *, what: str, maximum: int, required: bool) -> tuple[str, str | None]:
    value = " ".join(str(text or "").split())
    if required and not value:
        return value, f"the {what} is empty; say where the figure comes from (e.g. 区教育局2025年统计年报)"
    if len(value) > maximum:
        return value, f"the {what} is {len(value)} characters long; keep it under {maximum}"
    return value, None


def check_entry(
    plan: Plan, *, code: str, year: str | int, value: str | float, source: str, note: str = ""
) -> tuple[IndicatorEntry | None, list[tuple[str, str]]]:
    """Check one value; returns the entry (None when invalid) and the problems as (field, message)."""
    problems: list[tuple[str, str]] = []
    code = str(code or "").strip()
    code_problem = _check_code(code, task_indicators(plan), plan)
    if code_problem:
        problems.append(("code", code_problem))
    year_number, year_problem = _check_year(str(year))
    if year_problem:
        problems.append(("year", year_problem))
    number, value_problem = _check_value(value)
    if value_problem:
        problems.append(("value", value_problem))
    source_text, source_problem = _check_text(source, what="source", maximum=MAX_SOURCE_LENGTH, required=True)
    if source_problem:
        problems.append(("source", source_problem))
    note_text, note_problem = _check_text(note, what="note", maximum=MAX_NOTE_LENGTH, required=False)
    if note_problem:
        problems.append(("note", note_problem))
    if problems or year_number is None or number is None:
        return None, problems
    return IndicatorEntry(code=code, year=year_number, value=number, source=source_text, note=note_text), []


def _actor_name(actor: Actor) -> str:
    return actor.username if isinstance(actor, User) else str(actor)


def _store(session: Session, entry: IndicatorEntry, actor: Actor) -> tuple[str, float | None]:
    """Store one entry; returns ``added``, ``replaced`` (with the old value) or ``unchanged``."""
    existing = session.scalar(
        select(IndicatorValue).where(IndicatorValue.code == entry.code, IndicatorValue.year == entry.year)
    )
    if existing is None:
        session.add(
            IndicatorValue(
                code=entry.code,
                year=entry.year,
                value=entry.value,
                source=entry.source,
                note=entry.note,
                recorded_by=_actor_name(actor),
            )
        )
        return "added", None
    if (existing.value, existing.source, existing.note) == (entry.value, entry.source, entry.note):
        return "unchanged", existing.value
    old = existing.value
    existing.value, existing.source, existing.note = entry.value, entry.source, entry.note
    existing.recorded_by = _actor_name(actor)
    from survey.models import utcnow

    existing.recorded_at = utcnow()
    return "replaced", old


def record_value(
    session: Session,
    *,
    code: str,
    year: str | int,
    value: str | float,
    source: str,
    note: str = "",
    actor: Actor,
) -> IndicatorEntry:
    """Record one indicator value (the admin screen); replaces the value of that code and year.

    The caller commits.

    Raises
    ------
    IndicatorError
        Unknown code, not a year, not a number, no source (each named); nothing is stored.
    """
    plan = _plan_or_fail(session)
    entry, problems = check_entry(plan, code=code, year=year, value=value, source=source, note=note)
    if entry is None:
        raise IndicatorError([f"{field}: {message}" for field, message in problems], what="the value", fields=problems)
    _, old = _store(session, entry, actor)
    session.flush()
    audit.record(
        session,
        "indicator.record",
        actor=actor,
        target=f"indicator {entry.code} {entry.year}",
        detail={"value": entry.value, "previous": old, "source": entry.source},
    )
    return entry


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise IndicatorError([f"the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}"], what=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IndicatorError(
            [f"the file is not UTF-8 (byte {error.start + 1}); save it as 'CSV UTF-8' and try again"], what=name
        ) from None


def parse_values(plan: Plan, data: bytes, *, name: str = "the file") -> tuple[IndicatorEntry, ...]:
    """Check a CSV file in the contract; every problem is named by row and column.

    Row numbers count the header as row 1 (as a spreadsheet shows them).

    Raises
    ------
    IndicatorError
        With every problem; nothing is returned then.
    """
    text = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise IndicatorError(
            ["the file is empty; the first row must be the header code,year,value,source,note"], what=name
        ) from None
    columns = [column.strip().lower() for column in header]
    problems: list[str] = []
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    unknown = [column for column in columns if column not in COLUMNS]
    duplicated = sorted({column for column in columns if columns.count(column) > 1})
    if missing:
        problems.append(
            f"row 1 (header): missing column(s) {', '.join(missing)}; the header is code,year,value,source,note"
        )
    if unknown:
        problems.append(f"row 1 (header): unknown column(s) {', '.join(unknown)}; allowed: {', '.join(COLUMNS)}")
    if duplicated:
        problems.append(f"row 1 (header): column(s) {', '.join(duplicated)} appear more than once")
    if problems:
        raise IndicatorError(problems, what=name)
    position = {column: columns.index(column) for column in columns}
    entries: list[IndicatorEntry] = []
    seen: dict[tuple[str, int], int] = {}
    rows = 0
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        rows += 1
        if len(row) != len(columns):
            problems.append(f"row {number}: {len(row)} cells where the header has {len(columns)}")
            continue
        cells = {column: row[index] for column, index in position.items()}
        entry, row_problems = check_entry(
            plan,
            code=cells["code"],
            year=cells["year"],
            value=cells["value"],
            source=cells["source"],
            note=cells.get("note", ""),
        )
        problems.extend(f"row {number}, column {column}: {message}" for column, message in row_problems)
        if entry is None:
            continue
        key = (entry.code, entry.year)
        if key in seen:
            problems.append(f"row {number}: {entry.code} {entry.year} is given twice (first in row {seen[key]})")
            continue
        seen[key] = number
        entries.append(entry)
    if not rows and not problems:
        problems.append("the file has a header but no values; add one row per indicator and year")
    if problems:
        raise IndicatorError(problems, what=name)
    return tuple(entries)


def import_values(session: Session, data: bytes, *, actor: Actor, name: str = "the file") -> ImportResult:
    """Check a CSV file and store every value in it, or none (the caller commits).

    A refused file is recorded in the audit log (``indicator.import.rejected``) with its first
    problems; the caller commits that record alone.

    Raises
    ------
    IndicatorError
        Every problem by row and column; no value is stored.
    """
    digest = hashlib.sha256(data).hexdigest()
    try:
        plan = _plan_or_fail(session)
        entries = parse_values(plan, data, name=name)
    except IndicatorError as error:
        audit.record(
            session,
            "indicator.import.rejected",
            actor=actor,
            target=f"indicators file {Path(name).name}"[:200],
            detail={"sha256": digest, "problems": len(error.problems), "first_problems": error.problems[:5]},
        )
        raise
    added: list[IndicatorEntry] = []
    replaced: list[tuple[IndicatorEntry, float]] = []
    unchanged = 0
    for entry in entries:
        outcome, old = _store(session, entry, actor)
        if outcome == "added":
            added.append(entry)
        elif outcome == "replaced" and old is not None:
            replaced.append((entry, old))
        else:
            unchanged += 1
    session.flush()
    audit.record(
        session,
        "indicator.import",
        actor=actor,
        target=f"indicators file {Path(name).name}"[:200],
        detail={
            "sha256": digest,
            "rows": len(entries),
            "added": len(added),
            "unchanged": unchanged,
            "replaced": [{"code": e.code, "year": e.year, "from": old, "to": e.value} for e, old in replaced],
        },
    )
    return ImportResult(
        added=tuple(added), replaced=tuple(replaced), sha256=digest, rows=len(entries), unchanged=unchanged
    )


def recorded_values(session: Session, *, year: int | None = None) -> list[IndicatorValue]:
    """Every recorded value (of one year, if given), by code and year."""
    query = select(IndicatorValue).order_by(IndicatorValue.code, IndicatorValue.year)
    if year is not None:
        query = query.where(IndicatorValue.year == year)
    return list(session.scalars(query))


def report_records(session: Session) -> tuple[IndicatorRecord, ...]:
    """Every recorded value as the report takes them (:class:`scoring.accountability.IndicatorRecord`).

    ``survey.score.score_wave`` passes them to :func:`scoring.report.build_report` as
    ``indicators=``; the report reads, for each indicator, the value of the survey's year or
    the latest before it.
    """
    from scoring.accountability import IndicatorRecord

    return tuple(
        IndicatorRecord(code=row.code, year=row.year, value=row.value, source=row.source, note=row.note)
        for row in recorded_values(session)
    )


@dataclass(frozen=True)
class IndicatorRow:
    """One indicator of the plan with its recorded values, for the screen and ``manyi indicators list``."""

    task: int | None
    code: str
    name: str
    target: str
    target_year: int
    values: dict[int, IndicatorValue]

    def latest(self) -> IndicatorValue | None:
        return self.values[max(self.values)] if self.values else None


def _target_text(indicator: Indicator, language: str) -> str:
    sign = {"at_least": "≥", "at_most": "≤", "equal": "="}.get(indicator.direction, "")
    unit = indicator.unit.get(language)
    return f"{sign}{indicator.target:g}{'' if unit in ('', '%') else ' '}{unit}"


def indicator_rows(session: Session, *, language: str = "zh") -> tuple[Plan | None, list[IndicatorRow]]:
    """The plan's task indicators in the plan's order, each with its recorded values by year."""
    plan = newest_plan(session)
    if plan is None:
        return None, []
    by_code: dict[str, dict[int, IndicatorValue]] = {}
    for row in recorded_values(session):
        by_code.setdefault(row.code, {})[row.year] = row
    rows = [
        IndicatorRow(
            task=indicator.task,
            code=indicator.code,
            name=indicator.name.get(language),
            target=_target_text(indicator, language),
            target_year=indicator.year,
            values=by_code.get(indicator.code, {}),
        )
        for indicator in task_indicators(plan).values()
    ]
    return plan, rows
