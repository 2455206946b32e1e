"""The public page's section on the plan's tasks and lead units (issue 16).

Reads ``results["lead_units"]`` and ``results["tasks"]`` (written by
:mod:`scoring.accountability`, suppressed figures already emptied by
:func:`survey.services.publication.public_results`) into rows the partial
``templates/results/sections/60_tasks.html`` prints.  Same rules as the rest of the page:
words in the page's language, an interval beside every figure, a rank only as a range,
and an unstable or suppressed figure said in words, never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scoring.explain import finite_number as _number
from scoring.vocabulary import label

__all__ = ["PlanSection", "TaskRow", "UnitRow", "plan_section"]


@dataclass(frozen=True)
class UnitRow:
    name: str
    index: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    verdict: str
    rank: str
    tasks: str


@dataclass(frozen=True)
class TaskRow:
    number: int
    title: str
    leads: str
    index: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    note: str


@dataclass(frozen=True)
class PlanSection:
    units: list[UnitRow]
    tasks: list[TaskRow]
    n_ranked: int | None


def _words(value: Any, language: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(language) or value.get("zh") or "")
    return "" if value is None else str(value)


def _figure_withheld(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("suppressed")) or bool(entry.get("unstable")) or _number(entry.get("index")) is None


def plan_section(results: Mapping[str, Any], language: str) -> PlanSection | None:
    """The rows of the section, or ``None`` when the results carry no plan part."""
    units_part = results.get("lead_units") or {}
    tasks_part = results.get("tasks") or {}
    if not units_part and not tasks_part:
        return None
    zh = language != "en"
    names = {code: _words(unit.get("name"), language) for code, unit in units_part.items()}
    ranking = ((results.get("plan") or {}).get("ranking") or {}) if isinstance(results.get("plan"), Mapping) else {}
    units: list[UnitRow] = []
    for unit in units_part.values():
        withheld = _figure_withheld(unit)
        rank = unit.get("rank") or {}
        interval = rank.get("rank_interval") or []
        if withheld or len(interval) != 2:
            rank_words = "—"
        elif interval[0] == interval[1]:
            rank_words = f"第{interval[0]}名" if zh else f"{interval[0]}"
        else:
            rank_words = f"第{interval[0]}至{interval[1]}名" if zh else f"{interval[0]}–{interval[1]}"
        units.append(
            UnitRow(
                name=names.get(unit.get("code", ""), "") or _words(unit.get("name"), language),
                index=None if withheld else _number(unit.get("index")),
                ci_low=None if withheld else _number(unit.get("ci_low")),
                ci_high=None if withheld else _number(unit.get("ci_high")),
                n=(unit.get("residents") or {}).get("n"),
                verdict=label("verdict", None if withheld else unit.get("verdict"), language),
                rank=rank_words,
                tasks=("、" if zh else ", ").join(str(number) for number in unit.get("tasks") or []),
            )
        )
    units.sort(key=lambda row: (row.index is None, -(row.index or 0.0), row.name))
    tasks: list[TaskRow] = []
    for key, task in sorted(tasks_part.items(), key=lambda pair: int(pair[0])):
        figure = task.get("index") or {}
        measured = bool(task.get("measured_by_survey", True))
        withheld = not measured or _figure_withheld(figure)
        if not measured:
            note = "本项任务不由居民调查测量" if zh else "not measured by the resident survey"
        elif withheld:
            note = label("verdict", None, language)
        else:
            note = ""
        tasks.append(
            TaskRow(
                number=int(task.get("number") or key),
                title=_words(task.get("title"), language),
                leads=("、" if zh else ", ").join(
                    names.get(code, "") for code in task.get("lead_units") or [] if names.get(code)
                ),
                index=None if withheld else _number(figure.get("index")),
                ci_low=None if withheld else _number(figure.get("ci_low")),
                ci_high=None if withheld else _number(figure.get("ci_high")),
                n=figure.get("n") if measured else None,
                note=note,
            )
        )
    n_ranked = ranking.get("n_ranked") if isinstance(ranking.get("n_ranked"), int) else None
    return PlanSection(units=units, tasks=tasks, n_ranked=n_ranked)
