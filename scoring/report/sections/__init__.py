"""The report's sections: one hook per section.

A section of the report (HTML and PDF) is a :class:`ReportSection` — a key, a title, an
order, a function that says what the section shows (its context; ``None`` leaves the
section out), and optionally the tables (XLSX/CSV) and charts it adds.  Its words are a
Jinja partial, ``scoring/templates/sections/<key>.html.j2``, included by
``report.html.j2`` at the one marked point.

**Adding a section** (e.g. integrity, plan tasks): write a module in this package that
defines ``SECTIONS = (ReportSection(...),)`` and the partial beside the others.  Nothing
else changes: :func:`report_sections` finds every module here, orders the sections by
``order`` (the built-in ones, :mod:`.core`, use 10, 20, … 90) and numbers the headings.
The section reads its own part of the results from ``inputs.results.section("<key>")``
(kept verbatim by :class:`scoring.contract.Results`) or from the typed fields.

A partial sees ``section.c`` (its context, missing keys read as ``None``), ``section``
(``key``, ``title``, ``heading``) and the helpers ``fmt``, ``img`` (a chart) and
``table`` (a :class:`~scoring.report.tables.ReportTable`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ...charts import Chart
    from ...contract import Results
    from ...questionnaire import QuestionnaireSet
    from ..analysis import ReportAnalysis
    from ..render import ChartJob
    from ..settings import ReportSettings
    from ..tables import ReportTable

__all__ = ["CHINESE_NUMERALS", "ReportSection", "SectionInputs", "report_sections"]

#: Heading numbers: 一、二、… (a report has at most twenty sections).
CHINESE_NUMERALS: tuple[str, ...] = (
    tuple("一二三四五六七八九十") + tuple(f"十{digit}" for digit in "一二三四五六七八九") + ("二十",)
)


@dataclass(frozen=True)
class SectionInputs:
    """What a section may read: the typed results, the analyses, the settings, the labels,
    and (once made) every table and chart of the report."""

    results: Results
    analysis: ReportAnalysis
    settings: ReportSettings
    questionnaires: QuestionnaireSet | None = None
    suppression: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, ReportTable] = field(default_factory=dict)
    charts: Mapping[str, Chart] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportSection:
    """One section of the report.

    Attributes
    ----------
    key : str
        The section's id (the HTML anchor) and the name of its partial
        (``sections/<key>.html.j2``).
    title : str
        The heading, without its number (Chinese).
    order : int
        Position in the report (built-in sections: 10, 20, … 90).
    context : callable
        ``context(inputs) -> mapping`` of what the partial prints, or ``None`` to leave the
        section out of this report.
    tables : callable, optional
        ``tables(inputs) -> {name: ReportTable}`` added to tables.xlsx and tables/*.csv.
    charts : callable, optional
        ``charts(inputs) -> [ChartJob]`` drawn with the report's charts (``img(section.charts[name])``
        is not needed: every chart is in ``inputs.charts`` by name).
    """

    key: str
    title: str
    order: int
    context: Callable[[SectionInputs], Mapping[str, Any] | None]
    tables: Callable[[SectionInputs], Mapping[str, ReportTable]] | None = None
    charts: Callable[[SectionInputs], Sequence[ChartJob]] | None = None

    @property
    def template(self) -> str:
        return f"sections/{self.key}.html.j2"


@lru_cache(maxsize=1)
def report_sections() -> tuple[ReportSection, ...]:
    """Every section of every module of this package, in ``order``.

    Raises
    ------
    ValueError
        When two sections share a key or an order (say which modules).
    """
    found: list[tuple[ReportSection, str]] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for section in getattr(module, "SECTIONS", ()):
            found.append((section, module.__name__))
    keys: dict[str, str] = {}
    orders: dict[int, str] = {}
    for section, module_name in found:
        if section.key in keys:
            raise ValueError(f"report section {section.key!r} is defined in {keys[section.key]} and {module_name}")
        if section.order in orders:
            raise ValueError(
                f"report sections {orders[section.order]} and {section.key!r} ({module_name}) share order "
                f"{section.order}; give each its own place"
            )
        keys[section.key] = module_name
        orders[section.order] = section.key
    return tuple(section for section, _ in sorted(found, key=lambda pair: pair[0].order))
