"""``python -m scoring report`` and ``python -m scoring plan``.

:func:`register_commands` is called by :func:`scoring.cli.build_parser`; the commands
appear next to ``estimate``::

    python -m scoring report --responses FILE [same options as estimate]
        [--benchmarks FILE]... [--previous FILE]... --out DIR
        [--wave CODE] [--year YYYY] [--district NAME] [--title TEXT] [--illustrative]
        [--draws N] [--no-pdf] [--quiet]

    python -m scoring plan --half-width 2 [--deff D] [--sd S] [--from-results FILE]
        [--confidence 0.95] [--json OUT]

:func:`run_report` is the whole report step from options (a namespace or mapping with
the estimate options and the report options); ``manyi score`` (``survey/score.py``)
calls it with the responses of a wave read from the database, so a CSV and the database
go through the same computation.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ScoringInputError

#: Markers of an input that declares itself illustrative (file names, sources).
_ILLUSTRATIVE_NAMES = ("illustrative", "示意")


@dataclass(frozen=True)
class ReportOptions:
    """The report's own options (the estimate options are separate).

    Attributes
    ----------
    out : str or Path
        Folder to write into.
    benchmarks : sequence of path
        Benchmark CSV files (combined).
    previous : sequence of path
        Earlier waves' results.json, oldest first.
    wave, year, district, title
        Labels; ``wave`` defaults to the responses' ``wave`` column, ``year`` to the
        wave's year.
    illustrative : bool
        Mark the whole report as illustrative (also implied by a margins file whose
        name says "illustrative").
    draws : int
        Rank simulation draws (≥ 10,000).
    pdf : bool
        Write report.pdf.
    quiet : bool
        No progress bars.
    """

    out: str | Path
    benchmarks: Sequence[str | Path] = ()
    previous: Sequence[str | Path] = ()
    wave: str | None = None
    year: int | None = None
    district: str = "荆州区"
    title: str | None = None
    illustrative: bool = False
    draws: int = 10_000
    pdf: bool = True
    quiet: bool = False
    command: str = field(default="", compare=False)

    @classmethod
    def from_namespace(cls, namespace: argparse.Namespace | Mapping[str, Any]) -> ReportOptions:
        values = vars(namespace) if isinstance(namespace, argparse.Namespace) else dict(namespace)
        names = set(cls.__dataclass_fields__)
        chosen = {k: v for k, v in values.items() if k in names and v is not None}
        for key in ("benchmarks", "previous"):
            if key in chosen:
                chosen[key] = tuple(chosen[key])
        return cls(**chosen)


def _wave_of(frame: Any, source: Any = None) -> str | None:
    """The single wave code of the responses (from the table, else the CSV file)."""
    import pandas as pd

    if frame is None or "wave" not in frame.columns:
        frame = None
        if isinstance(source, (str, Path)):
            try:
                frame = pd.read_csv(source, usecols=lambda column: column == "wave", dtype=str, encoding="utf-8-sig")
            except (OSError, ValueError):
                return None
    if frame is not None and "wave" in frame.columns:
        values = frame["wave"].dropna().astype(str).unique()
        if len(values) == 1 and values[0]:
            return str(values[0])
    return None


def run_report(
    estimate_options: Any,
    report_options: ReportOptions,
    *,
    run_info: Mapping[str, Any] | None = None,
) -> Any:
    """Estimate, then write every report file.

    Parameters
    ----------
    estimate_options : EstimateOptions, argparse.Namespace or mapping
        The estimate step's options (:class:`scoring.pipeline.EstimateOptions`).
    report_options : ReportOptions
    run_info : mapping, optional
        Extra facts for the methodology section (e.g. the command line).

    Returns
    -------
    scoring.report.ReportFiles

    Raises
    ------
    ScoringInputError
        Bad input (responses, margins, benchmarks, previous results, options); nothing
        is written.
    """
    import numpy as np

    from .data import file_sha256
    from .pipeline import EstimateOptions, run_estimate
    from .questionnaire import QuestionnaireSet, load_questionnaires
    from .rankings import combine_benchmarks, read_benchmarks
    from .report import Progress, ReportInputError, build_report, check_out_dir, read_results

    options = (
        estimate_options
        if isinstance(estimate_options, EstimateOptions)
        else EstimateOptions.from_namespace(estimate_options)
    )
    progress = Progress(enabled=not report_options.quiet)
    # Every input is read and checked before anything is computed or written.
    check_out_dir(report_options.out)
    benchmarks = None
    if report_options.benchmarks:
        benchmarks = combine_benchmarks([read_benchmarks(path) for path in report_options.benchmarks])
    previous = []
    for path in report_options.previous:
        previous.append((Path(path).stem, read_results(path)))
    if report_options.draws < 10_000:
        raise ReportInputError(f"--draws must be at least 10000 (statistics.md), got {report_options.draws}")

    with progress.step("估计", total=1) as advance:
        run = run_estimate(options)
        advance(1)
    results = dict(run.results)
    inputs = dict(results.get("inputs") or {})
    for path in [*report_options.benchmarks, *report_options.previous]:
        inputs[str(path)] = file_sha256(path)
    results["inputs"] = inputs

    analysis = run.analysis_frame()  # scored responses: design columns, weight, item scores 0–100
    item_scores = analysis.loc[:, [code for code in run.table.instrument.item_codes if "." in code]]
    strata = analysis[options.strata].astype(str).to_numpy() if options.strata else None
    clusters = analysis[options.cluster].astype(str).to_numpy() if options.cluster else None
    questionnaires = options.questionnaires
    if questionnaires is not None and not isinstance(questionnaires, QuestionnaireSet):
        questionnaires = load_questionnaires(questionnaires)
    margins_name = str(options.margins) if isinstance(options.margins, (str, Path)) else ""
    illustrative = report_options.illustrative or any(mark in margins_name.lower() for mark in _ILLUSTRATIVE_NAMES)
    info = {
        "margins": margins_name or ("（内存中的边际表）" if options.margins is not None else ""),
        "previous": "、".join(str(p) for p in report_options.previous),
        "proportion_interval": {
            "logit": "logit区间（与R survey包svyciprop默认一致）",
            "korn_graubard": 'Korn–Graubard区间（svyciprop method="beta"）',
            "wilson": "Wilson区间（以有效样本量计算）",
        }.get(options.rate_interval, options.rate_interval),
        "domain_weights": (
            "各领域等权平均，方差含领域间协方差"
            if options.domain_weights is None
            else "领域权重由各领域得分对总体满意度题的相对重要性导出"
            if options.domain_weights == "derived"
            else f"领域权重文件 {options.domain_weights}"
        ),
        "command": report_options.command,
        "suppression": {"min_n": options.suppress_min_n, "max_cv": options.suppress_max_cv},
    }
    info.update(run_info or {})
    wave = report_options.wave or _wave_of(analysis, options.responses)
    return build_report(
        results,
        out_dir=report_options.out,
        item_scores=item_scores,
        weights=analysis["weight"].to_numpy(dtype=np.float64),
        strata=strata,
        clusters=clusters,
        questionnaires=questionnaires,
        benchmarks=benchmarks,
        previous=previous,
        wave=wave,
        year=report_options.year,
        district=report_options.district,
        title=report_options.title,
        illustrative=illustrative,
        draws=report_options.draws,
        seed=options.seed,
        pdf=report_options.pdf,
        run=info,
        progress=progress,
    )


def add_report_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The report's own options (outputs, benchmarks, previous waves, labels)."""
    group = parser.add_argument_group("report")
    group.add_argument("--out", required=True, metavar="DIR", help="folder to write the report into")
    group.add_argument(
        "--benchmarks",
        action="append",
        default=[],
        metavar="FILE",
        help="benchmarks CSV (year,level,unit,score,rank,se,source); may be given several times",
    )
    group.add_argument(
        "--previous",
        action="append",
        default=[],
        metavar="FILE",
        help="an earlier wave's results.json, oldest first; may be given several times",
    )
    group.add_argument("--wave", metavar="CODE", help="wave code (default: the responses' wave column)")
    group.add_argument("--year", type=int, metavar="YYYY", help="year of this wave's score in the rankings")
    group.add_argument("--district", default="荆州区", help="the district's name in the benchmarks (default 荆州区)")
    group.add_argument("--title", help="report title")
    group.add_argument(
        "--illustrative", action="store_true", help="mark every page and chart as illustrative (demo or synthetic data)"
    )
    group.add_argument("--draws", type=int, default=10_000, metavar="N", help="rank simulation draws (default 10000)")
    group.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip report.pdf")
    group.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _report_command(options: argparse.Namespace) -> int:
    report_options = ReportOptions.from_namespace(options)
    command = "python -m scoring " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])
    report_options = ReportOptions(**{**report_options.__dict__, "command": command})
    files = run_report(options, report_options)
    overall = files.results["overall"]
    target = files.results.get("target") or {}
    print(
        f"overall index {overall['index']:.1f} (95% CI {overall['ci_low']:.1f}–{overall['ci_high']:.1f}), "
        f"target {target.get('value')}: {target.get('verdict')}"
    )
    print(f"wrote {len(files.all_files)} files to {files.directory}:")
    for path in (files.results_json, files.tables_xlsx, files.html, files.pdf):
        if path is not None:
            print(f"  {path}")
    print(
        f"  {len(files.tables_csv)} CSV tables in {files.directory / 'tables'}, "
        f"{len(files.charts)} charts (PNG and SVG) in {files.directory / 'charts'}"
    )
    return 0


def _plan_command(options: argparse.Namespace) -> int:
    from .planning import format_plan, plan_sample_sizes
    from .report import read_results

    results = read_results(options.from_results) if options.from_results else None
    towns: tuple[str, ...] = ()
    if results is None and options.questionnaires:
        from .questionnaire import load_questionnaires
        from .report import town_labels

        towns = tuple(town_labels(load_questionnaires(options.questionnaires)))
    try:
        plan = plan_sample_sizes(
            half_width=options.half_width,
            confidence=options.confidence,
            deff=options.deff,
            sd=options.sd,
            results=results,
            results_name=str(options.from_results or "results"),
            towns=towns or None,
        )
    except ValueError as error:
        raise ScoringInputError(str(error)) from error
    print(format_plan(plan))
    if options.json:
        from .cli import write_atomically

        text = json.dumps({**plan.to_dict(), "targets": plan.to_targets()}, ensure_ascii=False, indent=2) + "\n"
        write_atomically(options.json, lambda handle: handle.write(text))
    return 0


def register_commands(subparsers: Any) -> None:
    """Add ``report`` and ``plan`` to the ``python -m scoring`` subcommands."""
    from .cli import add_estimate_options

    report = subparsers.add_parser(
        "report",
        help="estimate, then write results.json, tables.xlsx/CSV, charts, report.html and report.pdf",
        description="Estimate and write the full report (rankings, key drivers, charts, HTML/PDF/XLSX) into --out.",
    )
    add_estimate_options(report)
    add_report_options(report)
    report.set_defaults(handler=_report_command)

    plan = subparsers.add_parser(
        "plan",
        help="responses needed per domain, per town and in total for a wanted CI half-width",
        description="Sample sizes for a 95%% confidence interval of a given half-width (index points).",
    )
    plan.add_argument("--half-width", type=float, required=True, metavar="H", help="half-width in index points, e.g. 2")
    plan.add_argument("--deff", type=float, metavar="D", help="design effect (default: from --from-results, else 1.5)")
    plan.add_argument(
        "--sd", type=float, metavar="S", help="SD of domain scores (default: from --from-results, else 20)"
    )
    plan.add_argument(
        "--from-results", metavar="FILE", help="a previous wave's results.json (measured SDs, deffs, towns)"
    )
    plan.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder (towns, without --from-results)")
    plan.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    plan.add_argument("--json", metavar="OUT", help="write the plan and the wave targets as JSON")
    plan.set_defaults(handler=_plan_command)
