"""Command line: ``python -m scoring estimate | report | plan | integrity``.

The one command module of :mod:`scoring`: it registers every subcommand itself and each
command is a thin shell over a library call (:func:`scoring.pipeline.run_estimate`,
:func:`scoring.report.build_report`, :func:`scoring.planning.plan_sample_sizes`); no other
module imports it back.

Usage::

    python -m scoring estimate --responses FILE [--questionnaires DIR] [--margins FILE]
        [--settings FILE] [--strata COL] [--cluster COL] [--unclustered channel_strata|fail]
        [--lonely-psu fail|adjust] [--variance linearization|jackknife|bootstrap]
        [--replicates N] [--seed S] [--domain-weights FILE|derived] [--target 85]
        [--target-metric index|satisfied_rate] [--mapping linear|monitoring]
        [--no-screening] [--straight-line-fast-fraction F|none] [--min-n 30] [--min-psus 5]
        [--rate-interval logit|korn_graubard|wilson] [--trim LOWER UPPER]
        [--suppress-min-n 30] [--suppress-max-cv 0.3] [--level 0.95] [--no-sensitivity]
        [--json OUT] [--weights-out FILE]

    Manyi's design is ``--strata point_town --cluster point --lonely-psu adjust`` (strata =
    the collection point's town, PSU = the point; phone and paper rows, without a point,
    one stratum per channel).  ``--settings FILE`` takes a wave's analysis settings
    (``AnalysisSettings.to_dict()``, or a publication's ``results.json`` / its
    ``settings``): a CSV user reproduces a publication exactly; options given override
    single settings and the command says which.

    python -m scoring report --responses FILE [same options as estimate]
        [--benchmarks FILE]... [--previous FILE]... --out DIR
        [--wave CODE] [--year YYYY] [--district NAME] [--title TEXT] [--illustrative]
        [--draws N] [--assumed-se SE] [--compare-other-years] [--no-pdf] [--quiet]

    python -m scoring plan --half-width 2 [--deff D] [--sd S] [--from-results FILE]
        [--confidence 0.95] [--json OUT]

    python -m scoring integrity --responses FILE [--questionnaires DIR] [--fdr 0.05]
        [--min-point-responses 10] [--min-address-responses 5] [--seed S]
        [--no-screening] [--json OUT]

``estimate`` prints a readable summary and, with ``--json``, writes the results (the
contract of the scoring issue); ``--weights-out`` writes ``response_id,weight``.
``integrity`` prints the integrity review (:mod:`scoring.integrity`: coached points, bot
farms) and, with ``--json``, writes its ``integrity`` section (headlines null: the
estimate step adds them).  ``report`` writes results.json, tables, charts, report.html and report.pdf into ``--out``.
Bad input prints a message naming the file, column, level or row and exits with status
2, writing nothing; files are written atomically only after everything succeeded.

:func:`add_estimate_options` adds the estimate options (all of the above except the
output files) to an argparse parser, so a command takes "the same options as estimate".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import write_atomically
from .design import LONELY_PSU_OPTIONS, UNCLUSTERED_RULES
from .errors import ScoringInputError
from .pipeline import VARIANCE_METHODS, EstimateOptions, EstimateRun, run_estimate
from .proportions import INTERVAL_METHODS
from .questionnaire import QuestionnaireError
from .scores import MAPPINGS
from .target import TARGET_METRICS
from .variance import ReplicateDesign

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .settings import AnalysisSettings

__all__ = [
    "add_estimate_options",
    "add_report_options",
    "build_parser",
    "estimate_options",
    "main",
    "read_settings_file",
    "write_atomically",
]

#: Markers of an input that declares itself illustrative (file names, sources).
_ILLUSTRATIVE_NAMES = ("illustrative", "示意")

#: Errors that are the user's input, reported as a message and exit status 2.
INPUT_ERRORS: tuple[type[Exception], ...] = (ScoringInputError, QuestionnaireError)


def _fraction(value: str) -> str | float:
    """``--straight-line-fast-fraction``: a number, or ``none`` (the rule before issue 10)."""
    if value.strip().lower() == "none":
        return "none"
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is neither a number (e.g. 0.5) nor 'none'") from None


def add_estimate_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the estimate step's input and method options to ``parser`` (not the outputs).

    An option not given is None in the namespace (its default applies, or with
    ``--settings`` the settings' value): :meth:`EstimateOptions.from_namespace` and
    :func:`estimate_options` read it so.
    """
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument("--responses", required=True, metavar="FILE", help="responses CSV (docs/contracts.md)")
    inputs.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder (item weights, scales, codes)")
    inputs.add_argument("--margins", metavar="FILE", help="population margins CSV: variable,level,population")
    inputs.add_argument(
        "--domain-weights",
        metavar="FILE|derived",
        help="domain,weight CSV, or 'derived' (relative importance for 'overall'); default equal",
    )
    inputs.add_argument(
        "--settings",
        metavar="FILE",
        help="analysis settings JSON (AnalysisSettings.to_dict(), or a publication's results.json or its "
        "'settings'): score exactly as that publication did; other options given override single settings",
    )
    design = parser.add_argument_group(
        "design and variance",
        "Manyi's design: --strata point_town --cluster point --lonely-psu adjust (strata = the collection "
        "point's town, PSU = the point; phone and paper rows, without a point, one stratum per channel).",
    )
    design.add_argument("--strata", metavar="COL", help="stratum column: point_town for the Manyi design")
    design.add_argument("--cluster", metavar="COL", help="cluster (PSU) column: point for the Manyi design")
    design.add_argument(
        "--unclustered",
        choices=UNCLUSTERED_RULES,
        help="rows without a cluster (phone, paper): channel_strata (default: one stratum per channel, each "
        "respondent its own PSU) or fail",
    )
    design.add_argument("--variance", choices=VARIANCE_METHODS, help="default linearization")
    design.add_argument("--replicates", type=int, metavar="N", help="bootstrap replicates (default 500)")
    design.add_argument("--seed", type=int, metavar="S", help="bootstrap seed (default 0)")
    design.add_argument(
        "--lonely-psu",
        choices=LONELY_PSU_OPTIONS,
        help="a stratum with one PSU: fail (default) or adjust as R's survey.lonely.psu (the Manyi design)",
    )
    design.add_argument(
        "--trim",
        type=float,
        nargs=2,
        metavar=("LOWER", "UPPER"),
        help="keep weight adjustments within LOWER..UPPER times their mean, re-raking",
    )
    estimates = parser.add_argument_group("estimates")
    estimates.add_argument("--target", type=float, help="target as said: 85 (default 85)")
    estimates.add_argument("--target-metric", choices=TARGET_METRICS, help="the plan's target metric (default index)")
    estimates.add_argument(
        "--mapping",
        choices=MAPPINGS,
        help="item scores: linear (default, 1→0 … 5→100) or monitoring (1→20 … 5→100, the national monitoring's)",
    )
    estimates.add_argument(
        "--rate-interval",
        choices=INTERVAL_METHODS,
        help="interval for satisfied rates (default logit)",
    )
    estimates.add_argument("--level", type=float, help="confidence level (default 0.95)")
    estimates.add_argument(
        "--no-screening",
        dest="screening",
        action="store_const",
        const=False,
        help="keep speeders, straight-liners and duplicates (partial responses are always left out)",
    )
    estimates.add_argument(
        "--straight-line-fast-fraction",
        type=_fraction,
        metavar="F|none",
        help="straight-lining excludes only when faster than F × the median time (default 0.5); "
        "'none': straight-lining alone excludes (the rule before issue 10)",
    )
    estimates.add_argument("--min-n", type=int, metavar="N", help="fewest respondents of a stable figure (default 30)")
    estimates.add_argument("--min-psus", type=int, metavar="N", help="fewest PSUs of a stable figure (default 5)")
    estimates.add_argument(
        "--suppress-min-n",
        type=int,
        metavar="N",
        help="suppress subgroup cells with fewer respondents (default 30)",
    )
    estimates.add_argument(
        "--suppress-max-cv",
        type=float,
        metavar="CV",
        help="suppress subgroup cells with a larger CV (default 0.3)",
    )
    estimates.add_argument(
        "--no-sensitivity",
        dest="sensitivity",
        action="store_const",
        const=False,
        help="skip the sensitivity section (two extra passes: unweighted, the other screening rule)",
    )
    return parser


def read_settings_file(path: str | Path) -> AnalysisSettings:
    """The analysis settings of a JSON file: ``AnalysisSettings.to_dict()``, a results.json's
    ``settings`` (its ``analysis``), or a whole results.json.

    Raises
    ------
    ScoringInputError
        The file cannot be read, is not JSON, or holds no valid settings (naming the file).
    """
    from .settings import AnalysisSettings

    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ScoringInputError(f"--settings {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ScoringInputError(f"--settings {path}: not JSON ({error})") from None
    if isinstance(values, dict) and isinstance(values.get("settings"), dict):
        values = values["settings"]
    if isinstance(values, dict) and isinstance(values.get("analysis"), dict):
        values = values["analysis"]
    try:
        return AnalysisSettings.from_dict(values)
    except ValueError as error:
        raise ScoringInputError(f"--settings {path}: {error}") from None


def estimate_options(namespace: argparse.Namespace, **report_settings: Any) -> EstimateOptions:
    """The estimate options of parsed arguments: with ``--settings``, the settings' options
    with every option given on the command line overriding its setting (``report_settings``:
    the report's own settings given, e.g. ``district``, recorded in the settings too)."""
    settings_file = getattr(namespace, "settings", None)
    if not settings_file:
        return EstimateOptions.from_namespace(namespace)
    settings = read_settings_file(settings_file)
    changes = {key: value for key, value in report_settings.items() if value is not None}
    if changes:
        try:
            settings = settings.replace(**changes)
        except ValueError as error:
            raise ScoringInputError(f"--settings {settings_file}: {error}") from None
    given = {
        f.name: getattr(namespace, f.name)
        for f in fields(EstimateOptions)
        if f.name not in ("responses", "questionnaires", "settings", "screening_rules")
        and getattr(namespace, f.name, None) is not None
    }
    fraction = getattr(namespace, "straight_line_fast_fraction", None)
    if fraction is not None:
        rules = dataclasses.replace(
            settings.screening, straight_line_fast_fraction=None if fraction == "none" else float(fraction)
        )
        given["screening_rules"] = rules
    return EstimateOptions.from_settings(namespace.responses, namespace.questionnaires, settings, **given)


def _format(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def summary_text(run: EstimateRun) -> str:
    """The readable summary the command prints."""
    results = run.results
    level = round(run.estimates.level * 100)
    lines = [
        f"{'domain':<22}{'index':>7}  {f'{level}% CI':<15}{'SE':>6}{'n':>8}{'deff':>6}{'alpha':>7}  satisfied (CI)"
    ]
    for domain, r in results["domains"].items():
        rate = r["satisfied_rate"]
        rate_text = (
            "—"
            if rate is None
            else (
                f"{_format(rate['estimate'] and rate['estimate'] * 100)}% "
                f"({_format(rate['ci_low'] and rate['ci_low'] * 100)}–{_format(rate['ci_high'] and rate['ci_high'] * 100)})"
            )
        )
        lines.append(
            f"{domain:<22}{_format(r['index']):>7}  {_format(r['ci_low']) + '–' + _format(r['ci_high']):<15}"
            f"{_format(r['se'], 2):>6}{r['n']:>8}{_format(r['deff'], 2):>6}{_format(r['alpha'], 2):>7}  {rate_text}"
        )
    overall = results["overall"]
    lines.append(
        f"{'OVERALL':<22}{_format(overall['index']):>7}  {_format(overall['ci_low']) + '–' + _format(overall['ci_high']):<15}"
        f"{_format(overall['se'], 2):>6}{overall['n']:>8}"
    )
    rate = overall["satisfied_rate"]
    if rate is not None:
        lines.append(
            f"overall satisfied rate: {_format(rate['estimate'] * 100)}% "
            f"({_format(rate['ci_low'] * 100)}–{_format(rate['ci_high'] * 100)}), {run.estimates.interval_method} interval"
        )
    target = results["target"]
    if target is not None:
        shown = target["value"] * 100 if target["metric"] == "satisfied_rate" else target["value"]
        lines.append(
            f"target {_format(shown)} ({target['metric']}): {target['verdict']} "
            f"(t = {_format(target['statistic'], 2)}, one-sided p = {_format(target['p_value'], 4)})"
        )
    design = results["design"]
    weights = results["weights"]
    lines.append(
        f"design: strata {design['strata'] or '—'}, clusters {design['clusters'] or '—'}, df {design['df']}, "
        f"variance {design['variance']}"
        + (
            f" ({run.variance_design.n_replicates} replicates)"
            if isinstance(run.variance_design, ReplicateDesign)
            else ""
        )
    )
    lines.append(
        f"weights: {weights['method']}, effective n {_format(weights['effective_n'], 0)}, "
        f"deff {_format(weights['deff'], 2)}, range {_format(weights['min'], 2)}–{_format(weights['max'], 2)}"
    )
    excluded = ", ".join(f"{k} {v}" for k, v in results["excluded"].items())
    lines.append(f"excluded: {excluded} (analysed {overall['n']})")
    return "\n".join(lines)


def settings_lines(options: argparse.Namespace, run: EstimateRun) -> list[str]:
    """With ``--settings``: whether the run used exactly those settings, else which differ."""
    from .settings import AnalysisSettings

    if not getattr(options, "settings", None):
        return []
    wanted = read_settings_file(options.settings)
    used = AnalysisSettings.from_dict(run.results["settings"]["analysis"])
    differences = wanted.differences(used)
    name = Path(options.settings).name
    if not differences:
        return [f"settings: exactly those of {name} (digest {used.digest()[:12]})"]
    return [f"settings: as {name} except"] + [
        f"  {key}: {before} → {after}" for key, (before, after) in differences.items()
    ]


def _estimate_command(options: argparse.Namespace) -> int:
    run = run_estimate(estimate_options(options))
    json_text = json.dumps(run.results, ensure_ascii=False, indent=2, allow_nan=False) + "\n" if options.json else None
    if options.json:
        write_atomically(options.json, lambda handle: handle.write(json_text))
    if options.weights_out:
        frame = run.weights_frame()
        write_atomically(
            options.weights_out,
            lambda handle: frame.to_csv(handle, index=False, float_format="%.17g", lineterminator="\n"),
        )
    print(summary_text(run))
    for line in settings_lines(options, run):
        print(line)
    return 0


def add_report_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The report's own options (outputs, benchmarks, previous waves, labels, rankings)."""
    from .rankings import DEFAULT_ASSUMED_SE, DISTRICT, MIN_DRAWS

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
        help="an earlier wave's results.json (written by 'report' or a publication); may be given several times",
    )
    group.add_argument("--wave", metavar="CODE", help="wave code (default: the responses' wave column)")
    group.add_argument(
        "--year",
        type=int,
        metavar="YYYY",
        help="the year this wave's figures stand for (default: the year most responses were submitted, Beijing time)",
    )
    group.add_argument("--district", help=f"the district's name in the benchmarks (default {DISTRICT})")
    group.add_argument("--title", help="report title")
    group.add_argument(
        "--illustrative",
        action="store_const",
        const=True,
        help="mark every page and chart as illustrative (demo or synthetic data)",
    )
    group.add_argument(
        "--draws", type=int, default=MIN_DRAWS, metavar="N", help=f"rank simulation draws (default {MIN_DRAWS})"
    )
    group.add_argument(
        "--assumed-se",
        type=float,
        metavar="SE",
        help=f"SE of published scores given without one, in index points (default {DEFAULT_ASSUMED_SE:g})",
    )
    group.add_argument(
        "--compare-other-years",
        action="store_true",
        help="also compare with published figures of earlier years (default: the same year only)",
    )
    group.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip report.pdf")
    group.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _responses_column(source: Any, column: str) -> list[str]:
    """The values of one column of a responses CSV (empty when the file has no such column)."""
    import pandas as pd

    if not isinstance(source, (str, Path)):
        return []
    try:
        frame = pd.read_csv(source, usecols=lambda name: name == column, dtype=str, encoding="utf-8-sig")
    except (OSError, ValueError):
        return []
    return frame[column].dropna().astype(str).tolist() if column in frame.columns else []


def _wave_column(source: Any) -> str | None:
    """The single wave code of a responses CSV's ``wave`` column, if it has one."""
    values = sorted(set(_responses_column(source, "wave")))
    return values[0] if len(values) == 1 and values[0] else None


def _report_command(options: argparse.Namespace) -> int:
    """``python -m scoring report``: read the inputs, estimate, build the report, write it."""
    from .benchmarks import combine_benchmarks, read_benchmarks, validate_benchmarks
    from .data import file_sha256
    from .rankings import DEFAULT_ASSUMED_SE, DISTRICT
    from .report import Progress, ReportSettings, build_report, check_out_dir, collection_year, read_results
    from .report import write_files as write_report
    from .report.settings import validate_previous

    estimate = estimate_options(
        options, district=options.district, assumed_se=options.assumed_se, illustrative=options.illustrative
    )
    given = estimate.settings  # from --settings: what the report uses beyond the estimate
    margins_name = str(options.margins or "")
    settings = ReportSettings(
        wave=options.wave or _wave_column(options.responses) or "—",
        year=options.year or collection_year(_responses_column(options.responses, "submitted_at")),
        district=options.district or (given.district if given else DISTRICT),
        title=options.title,
        illustrative=bool(options.illustrative)
        or bool(given and given.illustrative)
        or any(mark in margins_name.lower() for mark in _ILLUSTRATIVE_NAMES),
        draws=options.draws,
        seed=estimate.seed,
        assumed_se=options.assumed_se
        if options.assumed_se is not None
        else (given.assumed_se if given else DEFAULT_ASSUMED_SE),
        compare_other_years=options.compare_other_years,
        pdf=options.pdf,
    )
    # Every input is read and checked before anything is computed or written.
    check_out_dir(options.out)
    stored_benchmarks = given.benchmarks if given is not None and not options.benchmarks else None
    settings.validate(benchmarks=bool(options.benchmarks) or stored_benchmarks is not None)
    if options.benchmarks:
        benchmarks = combine_benchmarks([read_benchmarks(path) for path in options.benchmarks])
    elif stored_benchmarks is not None:
        benchmarks = validate_benchmarks(stored_benchmarks, name=f"benchmarks of {Path(options.settings).name}")
    else:
        benchmarks = None
    previous = [read_results(path) for path in options.previous]
    validate_previous(previous, current_wave=settings.wave)
    progress = Progress(enabled=not options.quiet)
    with progress.step("估计", total=1) as advance:
        run = run_estimate(estimate)
        advance(1)
    # Inputs are named, never located: no path of this machine reaches results.json.
    inputs = {f"benchmarks/{Path(path).name}": file_sha256(path) for path in options.benchmarks}
    inputs.update({f"previous/{Path(path).name}": file_sha256(path) for path in options.previous})
    files = build_report(
        run,
        settings=settings,
        previous=previous,
        benchmarks=benchmarks,
        facts={"command": "python -m scoring " + " ".join(shlex.quote(arg) for arg in sys.argv[1:])},
        inputs=inputs,
        progress=progress,
    )
    written = write_report(files, options.out)
    for line in settings_lines(options, run):
        print(line)
    overall = files.results["overall"]
    target = files.results.get("target") or {}
    print(
        f"overall index {overall['index']:.1f} (95% CI {overall['ci_low']:.1f}–{overall['ci_high']:.1f}), "
        f"target {target.get('value')}: {target.get('verdict')}"
    )
    out = Path(options.out)
    print(f"wrote {len(written)} files to {out}:")
    for name in ("results.json", "tables.xlsx", "report.html", "report.pdf"):
        if name in files.files:
            print(f"  {out / name}")
    print(
        f"  {len(files.under('tables'))} CSV tables in {out / 'tables'}, "
        f"{len(files.under('charts')) // 2} charts (PNG and SVG) in {out / 'charts'}"
    )
    return 0


def _plan_command(options: argparse.Namespace) -> int:
    """``python -m scoring plan``: sample sizes for a wanted CI half-width."""
    from .planning import format_plan, plan_sample_sizes
    from .report import read_results

    results = read_results(options.from_results) if options.from_results else None
    towns: tuple[str, ...] = ()
    if results is None and options.questionnaires:
        from .questionnaire import load_questionnaires
        from .report.text import town_labels

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
        text = json.dumps({**plan.to_dict(), "targets": plan.to_targets()}, ensure_ascii=False, indent=2) + "\n"
        write_atomically(options.json, lambda handle: handle.write(text))
    return 0


def _integrity_command(options: argparse.Namespace) -> int:
    """``python -m scoring integrity``: coached points and bot farms, with FDR control."""
    from .integrity import IntegrityRules
    from .integrity.run import review_responses
    from .integrity.section import integrity_results
    from .integrity.text import review_text

    rules = IntegrityRules(
        fdr=options.fdr,
        min_point_responses=options.min_point_responses,
        min_address_responses=options.min_address_responses,
        seed=options.seed,
    )
    review = review_responses(
        options.responses, questionnaires=options.questionnaires, rules=rules, screening=options.screening
    )
    if options.json:
        text = json.dumps(integrity_results(review), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        write_atomically(options.json, lambda handle: handle.write(text))
    print(review_text(review))
    return 0


def _add_integrity_parser(subparsers: Any) -> None:
    integrity = subparsers.add_parser(
        "integrity",
        help="coached collection points and bot farms, flagged with false-discovery control",
        description="Compare every collection point with its town's other points and every network address "
        "(keyed hash) across the wave; flag those whose Benjamini-Hochberg q-value is at most --fdr.",
    )
    integrity.add_argument("--responses", required=True, metavar="FILE", help="responses CSV (docs/contracts.md)")
    integrity.add_argument("--questionnaires", metavar="DIR", help="questionnaire folder the data were collected with")
    integrity.add_argument("--fdr", type=float, default=0.05, help="false-discovery rate (default 0.05)")
    integrity.add_argument("--min-point-responses", type=int, default=10, metavar="N", help="test points with ≥ N")
    integrity.add_argument(
        "--min-address-responses", type=int, default=5, metavar="N", help="test addresses with ≥ N at 2+ points"
    )
    integrity.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo address test")
    integrity.add_argument("--no-screening", dest="screening", action="store_false", help="keep every submitted row")
    integrity.add_argument("--json", metavar="OUT", help="write the integrity section as JSON")
    integrity.set_defaults(handler=_integrity_command)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m scoring`` parser: ``estimate``, ``report``, ``plan`` and ``integrity``."""
    parser = argparse.ArgumentParser(prog="python -m scoring", description="Manyi scoring engine")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    estimate = subparsers.add_parser(
        "estimate",
        help="weights, domain and overall indices with confidence intervals, the target test",
        description="Estimate the satisfaction indices of a responses table (see docs/contracts.md).",
    )
    add_estimate_options(estimate)
    outputs = estimate.add_argument_group("outputs")
    outputs.add_argument("--json", metavar="OUT", help="write the results JSON here")
    outputs.add_argument("--weights-out", metavar="FILE", help="write response_id,weight here")
    estimate.set_defaults(handler=_estimate_command)

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
    _add_integrity_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for bad input)."""
    parser = build_parser()
    options = parser.parse_args(argv)
    handler = getattr(options, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(handler(options) or 0)
    except INPUT_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # an output path that cannot be written
        print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
