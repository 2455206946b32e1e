"""The statistician's report as a library call: data in memory in, files as bytes out.

:func:`build_report` takes the estimate step's run (or its results), earlier waves'
results as values, the benchmarks as a table and a :class:`ReportSettings`, and returns
:class:`ReportFiles` — every file as bytes, by name:

=====================  ===========================================================
``results.json``       the estimate contract plus ``rankings``, ``drivers``,
                       ``change``, ``trend`` and ``report`` (docs/contracts.md)
``tables.xlsx``        one sheet per table, Chinese headers
``tables/*.csv``       the same tables (UTF-8 with a byte-order mark, for Excel)
``charts/*.png|svg``   every chart (:mod:`scoring.charts`)
``report.html``        self-contained: charts inline, styles inline, no external request
``report.pdf``         A4, Chinese, page numbers, table of contents (WeasyPrint)
=====================  ===========================================================

Nothing is written to disk: ``python -m scoring report`` and ``manyi score`` write the
files with :func:`write_files` (atomically); a publication stores the bytes.

The package is split along its seams: :mod:`.analysis` (rankings, drivers, change,
trend), :mod:`.tables`, :mod:`.text` (the Chinese words), :mod:`.layout` and
:mod:`.render` (charts, HTML, PDF), :mod:`.sections` (one hook per section of the
document: a module and a partial template add one), :mod:`.files`, :mod:`.settings`,
:mod:`.progress`.  Everything reads the results as the typed contract
(:class:`scoring.contract.Results`).

Examples
--------
>>> options = EstimateOptions(responses=frame, margins="m.csv", strata="town", cluster="point")  # doctest: +SKIP
>>> run = run_estimate(options)                                                               # doctest: +SKIP
>>> files = build_report(run, settings=ReportSettings(wave="2025", year=2025), benchmarks=table)  # doctest: +SKIP
>>> write_files(files, "out/")                                                                # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..contract import Results
from ..vocabulary import json_safe
from .analysis import REPORT_FORMAT, ReportAnalysis, analyse, collection_year
from .files import ReportFiles, check_out_dir, encode_results, parse_results, read_results, write_files
from .progress import Progress
from .settings import PreviousWave, ReportInputError, ReportSettings, validate_previous
from .text import estimate_facts, methodology_rows

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from ..accountability import IndicatorRecord
    from ..benchmarks import BenchmarkTable
    from ..drivers import Design
    from ..pipeline import EstimateRun
    from ..questionnaire import QuestionnaireSet

__all__ = [
    "REPORT_FORMAT",
    "PreviousWave",
    "Progress",
    "ReportAnalysis",
    "ReportFiles",
    "ReportInputError",
    "ReportSettings",
    "build_report",
    "check_out_dir",
    "collection_year",
    "encode_results",
    "parse_results",
    "read_results",
    "write_files",
]


def _from_run(run: EstimateRun, questionnaires: QuestionnaireSet | None) -> dict[str, Any]:
    """What the report takes from an estimate run: results, item scores, design, labels, facts."""
    from ..questionnaire import QuestionnaireSet, load_questionnaires
    from ..variance import ReplicateDesign

    if questionnaires is None:
        source = run.options.questionnaires
        if isinstance(source, QuestionnaireSet):
            questionnaires = source
        elif source is not None:
            questionnaires = load_questionnaires(source)
    analysis = run.analysis_frame()
    item_scores = analysis.loc[:, [code for code in run.table.instrument.item_codes if "." in code]]
    # The run's own replicates when it used a replicate variance; else the drivers' jackknife.
    design = run.variance_design if isinstance(run.variance_design, ReplicateDesign) else run.design
    return {
        "results": run.results,
        "item_scores": item_scores,
        "design": design,
        "questionnaires": questionnaires,
        "facts": estimate_facts(run.options),
    }


def build_report(
    source: EstimateRun | Mapping[str, Any],
    *,
    settings: ReportSettings,
    previous: Sequence[Mapping[str, Any]] = (),
    benchmarks: BenchmarkTable | None = None,
    questionnaires: QuestionnaireSet | None = None,
    item_scores: pd.DataFrame | None = None,
    design: Design | None = None,
    facts: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
    generated: _dt.datetime | None = None,
    progress: Progress | None = None,
    indicators: Sequence[IndicatorRecord] = (),
) -> ReportFiles:
    """Compute rankings, drivers, change and trend, and render every report file as bytes.

    Parameters
    ----------
    source : EstimateRun or mapping
        The estimate step's run (:func:`scoring.pipeline.run_estimate`): its results,
        the scored responses, their design and the questionnaires are used — or just its
        results (estimate contract), then without key drivers unless ``item_scores`` and
        ``design`` are given.
    settings : ReportSettings
        Wave code and year, district, title, rank simulation, PDF.
    previous : sequence of mapping
        Earlier waves' results (e.g. parsed results.json), each carrying its own wave
        code and year in ``report``; in any order.  The latest is "the previous wave" of
        the change table; all feed the trend and the survey's own rank changes.
    benchmarks : BenchmarkTable, optional
        Published monitoring figures (:mod:`scoring.benchmarks`).
    questionnaires : QuestionnaireSet, optional
        Labels of domains, items and towns (default: the run's).
    item_scores, design : optional
        With results only: item scores 0–100 of the analysed responses and their design,
        for the key drivers.
    facts : mapping, optional
        Facts for the methodology table: ``source``, ``command``, ``margins``,
        ``domain_weights``, ``proportion_interval``, ``suppression`` (added to those of
        the run).
    inputs : mapping, optional
        Input hashes to add to ``results["inputs"]`` (e.g. the benchmarks files).
    generated : datetime, optional
        When the report is made (default: now); printed in Beijing time.
    progress : Progress, optional
        Terminal progress (default: none).
    indicators : sequence of IndicatorRecord
        The values recorded for the plan's indicators (:mod:`scoring.accountability`),
        read against their targets in the plan section.

    Returns
    -------
    ReportFiles

    Raises
    ------
    ReportInputError
        A setting or an earlier wave's results is unusable (nothing is computed).
    """
    from ..fonts import cjk_font_or_warn
    from .accountability import accountability_section
    from .layout import chart_jobs, document_context, section_inputs
    from .render import pdf_bytes, render_charts, render_html
    from .sections import CHINESE_NUMERALS, report_sections
    from .tables import quality_rows, result_tables, table_files
    from .text import MACHINE_ONLY_ROWS, beijing_time

    settings.validate(benchmarks=benchmarks is not None)
    earlier = validate_previous(previous, current_wave=settings.wave)
    if isinstance(source, Mapping):
        parts: dict[str, Any] = {
            "results": source,
            "item_scores": item_scores,
            "design": design,
            "questionnaires": questionnaires,
            "facts": {},
        }
        if (item_scores is None) != (design is None):
            raise ReportInputError("give both item_scores and design (for the key drivers), or neither")
    else:
        parts = _from_run(source, questionnaires)
    results = parts["results"]
    if "overall" not in results or "domains" not in results:
        raise ReportInputError("the results have no 'overall' and 'domains': give the estimate step's results")
    Results.from_dict(json_safe(results)).check()  # the shape and the codes, before anything is computed
    labels = parts["questionnaires"]
    all_facts = {**parts["facts"], **dict(facts or {})}
    if earlier and "previous" not in all_facts:
        all_facts["previous"] = "、".join(entry.wave for entry in earlier)
    suppression = dict(all_facts.get("suppression") or results.get("suppression") or {})
    progress = progress or Progress(enabled=False)

    analysis = analyse(
        results,
        settings=settings,
        previous=earlier,
        benchmarks=benchmarks,
        item_scores=parts["item_scores"],
        design=parts["design"],
        questionnaires=labels,
        inputs=inputs,
        generated=generated,
        progress=progress,
    )
    # Results sections beside the core report: the plan's tasks and lead units (issue 16).
    plan_section = accountability_section(
        analysis,
        settings=settings,
        questionnaires=labels,
        item_scores=parts["item_scores"],
        design=parts["design"],
        previous=earlier,
        indicators=indicators,
    )
    analysis.results.update(plan_section.results)
    files: dict[str, bytes] = {"results.json": encode_results(analysis.results)}
    sections = report_sections()
    inputs_of_sections = section_inputs(analysis, settings, questionnaires=labels, suppression=suppression)
    tables = result_tables(
        analysis.typed,
        questionnaires=labels,
        drivers=analysis.drivers,
        comparison=analysis.comparison,
        quality=quality_rows(analysis.typed, parts["item_scores"], labels),
        methodology=methodology_rows(
            analysis.typed,
            facts=all_facts,
            drivers=analysis.drivers,
            rankings=analysis.typed.rankings,
            report_format=REPORT_FORMAT,
        ),
        hidden_methodology_rows=MACHINE_ONLY_ROWS,
    )
    for section in sections:
        if section.tables is not None:
            tables.update(section.tables(inputs_of_sections))
    tables.update(plan_section.tables)
    with progress.step("表格", total=1) as advance:
        files.update(table_files(tables))
        advance(1)
    jobs = chart_jobs(inputs_of_sections, sections)
    workers = settings.chart_workers or max(1, min(4, os.cpu_count() or 1))
    font = cjk_font_or_warn()
    with progress.step("图表", total=len(jobs)) as advance:
        charts = render_charts(jobs, workers=workers, progress=advance)
    for name, chart in charts.items():
        files[f"charts/{name}.png"] = chart.png
        files[f"charts/{name}.svg"] = chart.svg
    context = document_context(analysis, inputs_of_sections, sections, tables=tables, charts=charts)
    # The plan section (tasks and lead units) follows the hooked sections, numbered after them.
    number = len(context["sections"])
    plan_context = dict(plan_section.context)
    plan_context["title"] = f"{CHINESE_NUMERALS[min(number, len(CHINESE_NUMERALS) - 1)]}、{plan_context['title']}"
    context["extra_sections"] = [plan_context]
    html = render_html(context, font_family=font.css_family if font else "sans-serif")
    files["report.html"] = html.encode("utf-8")
    if settings.pdf:
        with progress.step("PDF", total=1) as advance:
            files["report.pdf"] = pdf_bytes(html)
            advance(1)
        with progress.step("通报", total=1) as advance:
            files.update(
                plan_section.files(
                    district=settings.district,
                    wave=settings.wave,
                    generated=beijing_time(analysis.generated),
                    illustrative=settings.illustrative,
                    font_family=font.css_family if font else "sans-serif",
                )
            )
            advance(1)
    return ReportFiles(files=files, results=analysis.results)
