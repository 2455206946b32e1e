"""The district plan as data: its tasks, the units that lead them, and the targets they state.

Jingzhou District's plan (荆州区公共服务质量提升行动实施方案（2023—2025年）, 荆区办文〔2023〕15号)
is 45 numbered tasks in 12 sections, one section per domain of the national monitoring.  Each
task names its lead units (牵头单位), responsible units (责任单位) and deadline (完成时限), and
many state numeric targets.  ``questionnaires/plan.yaml`` writes them down; this module loads
and validates that file into frozen objects, with messages that name the file, the line and
the task, like the questionnaire checks.

:func:`load_plan` reads one file.  :func:`scoring.questionnaire.load_questionnaires` loads the
plan together with the questionnaires (``QuestionnaireSet.plan``), checks every item's
``plan_task`` against it and calls :func:`scoring.questionnaire.plan_coverage_problems`: every
task is measured by at least one questionnaire item, or says ``measured_by_survey: false`` and
why.  This module knows nothing of questionnaires (the import runs one way).

It is pure: no Flask, no SQLAlchemy, no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from .vocabulary import DOMAIN_IDS
from .yaml_files import Problem, QuestionnaireError, Text, _Checker, _plain, _read_yaml, content_version

PLAN_ID = "plan"
PLAN_FILE_NAME = "plan.yaml"
#: The plan has 45 tasks in 12 sections; the task numbers are the ``plan_task`` of the items.
TASK_COUNT = 45
SECTION_LABELS: tuple[str, ...] = (
    "（一）",
    "（二）",
    "（三）",
    "（四）",
    "（五）",
    "（六）",
    "（七）",
    "（八）",
    "（九）",
    "（十）",
    "（十一）",
    "（十二）",
)
#: How a value is compared with the target: 达到/以上 (at least), 缩减至/以内 (at most), or exactly.
DIRECTIONS: tuple[str, ...] = ("at_least", "at_most", "equal")
#: ``level``: a rate or level to reach by the target year (and keep); ``annual``: an amount
#: each year; ``cumulative``: a running total to reach by the target year.
MEASURES: tuple[str, ...] = ("level", "annual", "cumulative")
#: ``collective``: a group named as one unit (各镇、街道、管理区; 区直各部门).
UNIT_KINDS: tuple[str, ...] = ("department", "collective")
#: What :meth:`Indicator.status` returns.
INDICATOR_STATUSES: tuple[str, ...] = ("met", "not_yet", "no_data")

_TOP_LEVEL_KEYS = {
    "id",
    "title",
    "document",
    "issued",
    "source",
    "first_year",
    "last_year",
    "goals",
    "units",
    "sections",
    "tasks",
}
_UNIT_KEYS = {"code", "zh", "en", "kind"}
_SECTION_KEYS = {"number", "heading", "domain"}
_TASK_KEYS = {
    "number",
    "section",
    "title",
    "lead_units",
    "responsible_units",
    "deadline",
    "indicators",
    "measured_by_survey",
    "reason",
}
_INDICATOR_KEYS = {"code", "name", "target", "unit", "direction", "year", "measure", "quote", "note"}
_CODE_NAME = r"[a-z][a-z0-9_]*"
_UNIT_CODE = re.compile(rf"^{_CODE_NAME}$")
_TASK_INDICATOR_CODE = re.compile(rf"^t(?P<task>\d{{2}})\.{_CODE_NAME}$")
_GOAL_CODE = re.compile(rf"^plan\.{_CODE_NAME}$")


@dataclass(frozen=True)
class PlanUnit:
    """A unit the plan names: a bureau, a company, or a collective such as 各镇、街道、管理区.

    ``name.zh`` is the name exactly as the plan writes it; ``code`` is a stable ASCII id
    (file names, URLs, result keys).
    """

    code: str
    name: Text
    kind: str = "department"


@dataclass(frozen=True)
class Indicator:
    """A numeric target the plan states, e.g. 学前教育毛入园率 ≥ 92% by 2025.

    ``code`` (``t01.preschool_enrolment``; ``plan.<name>`` for the plan's overall goals) is the
    stable key the office records yearly values against.  ``quote`` is the plan's own words.
    """

    code: str
    name: Text
    target: float
    unit: Text
    direction: str
    year: int
    measure: str
    quote: str
    task: int | None = None
    note: str | None = None

    def is_met(self, value: float) -> bool:
        """Whether ``value`` (in the indicator's unit) reaches the target in its direction."""
        if self.direction == "at_least":
            return value >= self.target
        if self.direction == "at_most":
            return value <= self.target
        return math.isclose(value, self.target, rel_tol=1e-9, abs_tol=1e-9)

    def status(self, value: float | None) -> str:
        """``"met"``, ``"not_yet"``, or ``"no_data"`` when no value is recorded (None or NaN)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no_data"
        return "met" if self.is_met(value) else "not_yet"


@dataclass(frozen=True)
class PlanSection:
    """One of the 12 sections of 二、重点任务, e.g. （三）开展医疗服务质量提升行动 → healthcare."""

    number: int
    heading: str
    domain: str

    @property
    def label(self) -> str:
        """The section's numeral as the plan writes it, e.g. ``（三）``."""
        return SECTION_LABELS[self.number - 1]


@dataclass(frozen=True)
class PlanTask:
    """One numbered task: title, lead and responsible units (as the plan names them), deadline, targets."""

    number: int
    section: int
    domain: str
    title: Text
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...]
    deadline: str
    indicators: tuple[Indicator, ...] = ()
    measured_by_survey: bool = True
    reason: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Plan:
    """The whole plan: goals, units, sections and tasks, with the file's content version."""

    title: Text
    document: str
    issued: str
    source: str
    first_year: int
    last_year: int
    goals: tuple[Indicator, ...]
    units: tuple[PlanUnit, ...]
    sections: tuple[PlanSection, ...]
    tasks: tuple[PlanTask, ...]
    version: str
    definition: Mapping[str, Any] = field(repr=False, compare=False, hash=False)
    file: str = ""

    @property
    def task_numbers(self) -> tuple[int, ...]:
        return tuple(task.number for task in self.tasks)

    def task(self, number: int) -> PlanTask:
        for task in self.tasks:
            if task.number == number:
                return task
        raise KeyError(f"the plan has no task {number}; tasks are numbered 1–{len(self.tasks)}")

    def unit(self, name_or_code: str) -> PlanUnit:
        """A unit by its name as the plan writes it (``区卫健局``) or by its code (``health_bureau``)."""
        for unit in self.units:
            if name_or_code in (unit.name.zh, unit.code):
                return unit
        raise KeyError(f"the plan names no unit {name_or_code!r}")

    def section_for_domain(self, domain: str) -> PlanSection:
        for section in self.sections:
            if section.domain == domain:
                return section
        raise KeyError(f"no section of the plan covers domain {domain!r}")

    def tasks_of_section(self, number: int) -> tuple[PlanTask, ...]:
        return tuple(task for task in self.tasks if task.section == number)

    @property
    def lead_units(self) -> tuple[PlanUnit, ...]:
        """The units that lead at least one task, in the order the plan first names them as lead."""
        names: dict[str, None] = {}
        for task in self.tasks:
            for name in task.lead_units:
                names.setdefault(name, None)
        return tuple(self.unit(name) for name in names)

    def tasks_led_by(self, name_or_code: str) -> tuple[PlanTask, ...]:
        """The tasks a unit leads (alone or with others), by the unit's name or code."""
        name = self.unit(name_or_code).name.zh
        return tuple(task for task in self.tasks if name in task.lead_units)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """Every indicator: the plan's goals first, then each task's, in task order."""
        return self.goals + tuple(indicator for task in self.tasks for indicator in task.indicators)

    def indicator(self, code: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        raise KeyError(f"the plan has no indicator {code!r}")


# ---------------------------------------------------------------------------
# Validation


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _nonempty_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _validate_unknown_keys(
    checker: _Checker, raw: Mapping[str, Any], allowed: set[str], what: str, item: str | None
) -> None:
    unknown = set(raw) - allowed
    if unknown:
        checker.add(f"{what} has unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(allowed))}", raw, item)


def _validate_units(checker: _Checker, raw: Any, node: Any) -> dict[str, PlanUnit]:
    units: dict[str, PlanUnit] = {}
    if not isinstance(raw, list) or not raw:
        checker.add("'units' must list every unit the tasks name: {code, zh, en}", node)
        return units
    codes: dict[str, int | None] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            checker.add("each unit must be a mapping {code, zh, en} (kind: collective for a group)", raw)
            continue
        name = entry.get("zh")
        label = name if isinstance(name, str) else None
        _validate_unknown_keys(checker, entry, _UNIT_KEYS, "unit", label)
        code = entry.get("code")
        if not isinstance(code, str) or not _UNIT_CODE.match(code):
            checker.add(f"unit code {code!r} must be lower-case ASCII (a-z, 0-9, _), e.g. health_bureau", entry, label)
        elif code in codes:
            checker.add(f"duplicate unit code {code!r} (first used on line {codes[code]})", entry, label)
        else:
            codes[code] = getattr(entry, "line", None)
        kind = entry.get("kind", "department")
        if kind not in UNIT_KINDS:
            checker.add(f"unit kind {kind!r} is not one of {', '.join(UNIT_KINDS)}", entry, label)
        text = checker.text({key: entry.get(key) for key in ("zh", "en")}, "unit name", entry, label)
        if text is None or not isinstance(code, str):
            continue
        if text.zh in units:
            checker.add(f"unit {text.zh!r} is listed twice", entry, label)
            continue
        units[text.zh] = PlanUnit(code=code, name=text, kind=kind if kind in UNIT_KINDS else "department")
    return units


def _validate_sections(checker: _Checker, raw: Any, node: Any) -> dict[int, PlanSection]:
    sections: dict[int, PlanSection] = {}
    if not isinstance(raw, list) or not raw:
        checker.add("'sections' must list the plan's 12 sections: {number, heading, domain}", node)
        return sections
    problems_before = len(checker.problems)
    domains_seen: set[str] = set()
    for entry in raw:
        if not isinstance(entry, dict):
            checker.add("each section must be a mapping {number, heading, domain}", raw)
            continue
        number = entry.get("number")
        label = f"section {number}"
        _validate_unknown_keys(checker, entry, _SECTION_KEYS, "section", label)
        if not _is_int(number) or not 1 <= number <= len(SECTION_LABELS):
            checker.add(f"section number must be 1–{len(SECTION_LABELS)}, got {number!r}", entry, label)
            continue
        if number in sections:
            checker.add(f"section {number} is listed twice", entry, label)
            continue
        heading = entry.get("heading")
        expected_label = SECTION_LABELS[number - 1]
        if not _nonempty_text(heading) or not heading.startswith(expected_label):
            checker.add(
                f"heading must be the plan's section heading starting with {expected_label}, got {heading!r}",
                entry,
                label,
            )
            continue
        domain = entry.get("domain")
        if domain not in DOMAIN_IDS:
            checker.add(f"domain {domain!r} is not a domain id; use one of {', '.join(DOMAIN_IDS)}", entry, label)
            continue
        if domain in domains_seen:
            checker.add(f"domain {domain!r} belongs to two sections; each domain has one", entry, label)
            continue
        domains_seen.add(domain)
        sections[number] = PlanSection(number=number, heading=heading.strip(), domain=domain)
    missing = [number for number in range(1, len(SECTION_LABELS) + 1) if number not in sections]
    if missing and len(checker.problems) == problems_before:
        checker.add(f"sections {missing} are missing; the plan has {len(SECTION_LABELS)} sections", node)
    return sections


def _validate_indicator(
    checker: _Checker,
    raw: Any,
    node: Any,
    *,
    task: int | None,
    years: tuple[int, int],
    codes: dict[str, int | None],
) -> Indicator | None:
    where = f"task {task}" if task is not None else "goals"
    if not isinstance(raw, dict):
        checker.add(
            "each indicator must be a mapping {code, name, target, unit, direction, year, measure, quote}", node, where
        )
        return None
    code = raw.get("code")
    label = code if isinstance(code, str) else where
    _validate_unknown_keys(checker, raw, _INDICATOR_KEYS, "indicator", label)
    valid = True
    if task is not None:
        match = _TASK_INDICATOR_CODE.match(code) if isinstance(code, str) else None
        if match is None or int(match["task"]) != task:
            checker.add(
                f"indicator code {code!r} must be 't{task:02d}.<name>' in lower-case ASCII, e.g. t{task:02d}.enrolment_rate",
                raw,
                label,
            )
            valid = False
    elif not isinstance(code, str) or not _GOAL_CODE.match(code):
        checker.add(f"goal code {code!r} must be 'plan.<name>' in lower-case ASCII", raw, label)
        valid = False
    if valid and isinstance(code, str):
        if code in codes:
            checker.add(f"duplicate indicator code (first used on line {codes[code]}); codes must be unique", raw, code)
            valid = False
        else:
            codes[code] = getattr(raw, "line", None)
    name = checker.text(raw.get("name"), "indicator name", raw, label)
    unit_raw = raw.get("unit")
    if isinstance(unit_raw, str) and unit_raw.strip():
        unit: Text | None = Text(zh=unit_raw.strip(), en=unit_raw.strip())
    else:
        unit = checker.text(unit_raw, "indicator unit (a string such as '%', or {zh: 所, en: schools})", raw, label)
    target = raw.get("target")
    if not _is_number(target) or target < 0:
        checker.add(f"target must be a number ≥ 0 in the indicator's unit, got {target!r}", raw, label)
        valid = False
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        checker.add(
            f"direction {direction!r} is not one of {', '.join(DIRECTIONS)} (达到/以上 → at_least, 以内/缩减至 → at_most)",
            raw,
            label,
        )
        valid = False
    measure = raw.get("measure")
    if measure not in MEASURES:
        checker.add(f"measure {measure!r} is not one of {', '.join(MEASURES)}", raw, label)
        valid = False
    year = raw.get("year")
    first, last = years
    if not _is_int(year) or not first <= year <= last:
        checker.add(f"year must be the target year, {first}–{last}, got {year!r}", raw, label)
        valid = False
    quote = raw.get("quote")
    if not _nonempty_text(quote):
        checker.add("quote must give the plan's own words the target comes from", raw, label)
        valid = False
    note = raw.get("note")
    if note is not None and not _nonempty_text(note):
        checker.add("note must be text (or leave it out)", raw, label)
        valid = False
    if not valid or name is None or unit is None or not _is_number(target) or not _is_int(year):
        return None
    return Indicator(
        code=str(code),
        name=name,
        target=float(target),
        unit=unit,
        direction=str(direction),
        year=year,
        measure=str(measure),
        quote=str(quote).strip(),
        task=task,
        note=note.strip() if isinstance(note, str) else None,
    )


def _validate_unit_list(
    checker: _Checker, raw: Any, what: str, task_raw: Any, label: str, units: Mapping[str, PlanUnit]
) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(_nonempty_text(name) for name in raw):
        checker.add(f"{what} must be a non-empty list of unit names as the plan writes them", task_raw, label)
        return ()
    names = tuple(name.strip() for name in raw)
    for name in names:
        if units and name not in units:
            checker.add(f"{what}: {name!r} is not in 'units'; add it there or correct the name", task_raw, label)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        checker.add(f"{what} names {duplicates} more than once", task_raw, label)
    return names


def _validate_task(
    checker: _Checker,
    raw: Any,
    node: Any,
    *,
    units: Mapping[str, PlanUnit],
    sections: Mapping[int, PlanSection],
    years: tuple[int, int],
    codes: dict[str, int | None],
) -> PlanTask | None:
    if not isinstance(raw, dict):
        checker.add(
            "each task must be a mapping with number, section, title, lead_units, responsible_units, deadline", node
        )
        return None
    number = raw.get("number")
    label = f"task {number}"
    _validate_unknown_keys(checker, raw, _TASK_KEYS, "task", label)
    if not _is_int(number) or not 1 <= number <= TASK_COUNT:
        checker.add(f"task number must be 1–{TASK_COUNT}, got {number!r}", raw, label)
        return None
    valid = True
    section_number = raw.get("section")
    section = sections.get(section_number) if _is_int(section_number) else None
    if section is None:
        checker.add(f"section {section_number!r} is not a section number listed in 'sections' (1–12)", raw, label)
        valid = False
    title = checker.text(raw.get("title"), "title", raw, label)
    lead_units = _validate_unit_list(checker, raw.get("lead_units"), "lead_units", raw, label, units)
    for name in lead_units:
        if name in units and units[name].kind == "collective":
            checker.add(f"lead_units: {name!r} is a collective; the plan's lead units are single units", raw, label)
    responsible_units = _validate_unit_list(
        checker, raw.get("responsible_units"), "responsible_units", raw, label, units
    )
    deadline = raw.get("deadline")
    if not _nonempty_text(deadline):
        checker.add("deadline must be the 完成时限 as the plan writes it, e.g. 持续开展", raw, label)
        valid = False
    measured = raw.get("measured_by_survey", True)
    reason = raw.get("reason")
    if not isinstance(measured, bool):
        checker.add("measured_by_survey must be true or false", raw, label)
        valid = False
    elif not measured and not _nonempty_text(reason):
        checker.add("a task with measured_by_survey: false needs a reason (why residents cannot judge it)", raw, label)
        valid = False
    elif measured and reason is not None:
        checker.add("reason only goes with measured_by_survey: false; remove it", raw, label)
        valid = False
    indicators_raw = raw.get("indicators", [])
    indicators: list[Indicator] = []
    if not isinstance(indicators_raw, list):
        checker.add("indicators must be a list (leave it out when the task states no numeric target)", raw, label)
        valid = False
    else:
        for indicator_raw in indicators_raw:
            indicator = _validate_indicator(checker, indicator_raw, raw, task=number, years=years, codes=codes)
            if indicator is not None:
                indicators.append(indicator)
    if not valid or title is None or not lead_units or not responsible_units or section is None:
        return None
    return PlanTask(
        number=number,
        section=section.number,
        domain=section.domain,
        title=title,
        lead_units=lead_units,
        responsible_units=responsible_units,
        deadline=str(deadline).strip(),
        indicators=tuple(indicators),
        measured_by_survey=bool(measured),
        reason=reason.strip() if isinstance(reason, str) else None,
        line=getattr(raw, "line", None),
    )


def _validate_task_order(checker: _Checker, raw_tasks: list[Any], tasks: list[PlanTask], node: Any) -> None:
    seen: dict[int, int | None] = {}
    for raw in raw_tasks:
        number = raw.get("number") if isinstance(raw, dict) else None
        if not _is_int(number):
            continue
        if number in seen:
            checker.add(f"task {number} is listed twice (first on line {seen[number]})", raw, f"task {number}")
        else:
            seen[number] = getattr(raw, "line", None)
    missing = [number for number in range(1, TASK_COUNT + 1) if number not in seen]
    if missing:
        checker.add(f"tasks {missing} are missing; the plan has {TASK_COUNT} tasks numbered 1–{TASK_COUNT}", node)
    numbers = [task.number for task in tasks]
    if numbers != sorted(numbers):
        checker.add("tasks must be listed in the plan's order, 1 to 45", node)
    sections = [task.section for task in tasks]
    if sections != sorted(sections):
        checker.add("tasks must follow the plan's sections in order (a section's tasks together)", node)


def _entries_by(raw: Any, key: str) -> dict[Any, Any]:
    """The mappings of a YAML list by one of their keys (their line numbers point problems at them)."""
    if not isinstance(raw, list):
        return {}
    return {entry.get(key): entry for entry in raw if isinstance(entry, dict)}


def _build_plan(checker: _Checker, data: Any, file: str) -> Plan | None:
    if not isinstance(data, dict):
        checker.add("the plan file must be a YAML mapping with title, units, sections and tasks")
        return None
    _validate_unknown_keys(checker, data, _TOP_LEVEL_KEYS, "the plan file", None)
    if data.get("id") != PLAN_ID:
        checker.add(f"id is {data.get('id')!r}; the plan file needs id: {PLAN_ID}", data)
    title = checker.text(data.get("title"), "title", data, None)
    for key in ("document", "issued", "source"):
        if not _nonempty_text(data.get(key)):
            checker.add(f"'{key}' must be text (quote dates: issued: \"2023-06-07\")", data)
    first, last = data.get("first_year"), data.get("last_year")
    if not _is_int(first) or not _is_int(last) or not first <= last:
        checker.add(f"first_year and last_year must be years with first ≤ last, got {first!r}, {last!r}", data)
        first, last = 0, 9999
    years = (int(first), int(last))

    units = _validate_units(checker, data.get("units"), data)
    sections = _validate_sections(checker, data.get("sections"), data)
    codes: dict[str, int | None] = {}

    goals: list[Indicator] = []
    goals_raw = data.get("goals", [])
    if not isinstance(goals_raw, list):
        checker.add("goals must be a list of indicators", data)
    else:
        for raw in goals_raw:
            goal = _validate_indicator(checker, raw, data, task=None, years=years, codes=codes)
            if goal is not None:
                goals.append(goal)

    raw_tasks = data.get("tasks")
    tasks: list[PlanTask] = []
    if not isinstance(raw_tasks, list) or not raw_tasks:
        checker.add(f"tasks must list the plan's {TASK_COUNT} tasks", data)
        raw_tasks = []
    for raw in raw_tasks:
        task = _validate_task(checker, raw, data, units=units, sections=sections, years=years, codes=codes)
        if task is not None:
            tasks.append(task)
    _validate_task_order(checker, raw_tasks, tasks, data)

    named = {name for task in tasks for name in task.lead_units + task.responsible_units}
    unit_entries = _entries_by(data.get("units"), "zh")
    for name, unit in units.items():
        if tasks and name not in named:
            where = unit_entries.get(name, data)
            checker.add(f"unit {name!r} ({unit.code}) is not named by any task; remove it", where, name)
    section_entries = _entries_by(data.get("sections"), "number")
    for number, section in sections.items():
        if tasks and not any(task.section == number for task in tasks):
            checker.add(f"section {section.label} has no task", section_entries.get(number, data), f"section {number}")

    if checker.problems or title is None:
        return None
    definition = _plain(data)
    return Plan(
        title=title,
        document=str(data["document"]).strip(),
        issued=str(data["issued"]).strip(),
        source=str(data["source"]).strip(),
        first_year=years[0],
        last_year=years[1],
        goals=tuple(goals),
        units=tuple(units.values()),
        sections=tuple(sections[number] for number in sorted(sections)),
        tasks=tuple(tasks),
        version=content_version(definition),
        definition=definition,
        file=file,
    )


def load_plan(path: str | Path) -> Plan:
    """Load and validate the plan file (``questionnaires/plan.yaml``).

    Parameters
    ----------
    path : str or Path
        The plan file.

    Returns
    -------
    Plan

    Raises
    ------
    QuestionnaireError
        Listing every problem (file, line, task or indicator, what is wrong, how to fix it).

    Examples
    --------
    >>> plan = load_plan("questionnaires/plan.yaml")  # doctest: +SKIP
    >>> plan.task(9).lead_units  # doctest: +SKIP
    ('区卫健局',)
    """
    file = Path(path)
    checker = _Checker(str(file))
    if not file.is_file():
        raise QuestionnaireError([Problem(str(file), "the plan file is missing; it lists the plan's 45 tasks")])
    data = _read_yaml(file, checker)
    plan = _build_plan(checker, data, str(file)) if data is not None else None
    if plan is None:
        raise QuestionnaireError(checker.problems or [Problem(str(file), "the plan file is empty")])
    return plan


def plan_from_definition(definition: Mapping[str, Any]) -> Plan:
    """Rebuild a :class:`Plan` from a stored definition (``Plan.definition``)."""
    checker = _Checker("<stored plan>")
    plan = _build_plan(checker, definition, "")
    if plan is None:
        raise QuestionnaireError(checker.problems)
    return plan
