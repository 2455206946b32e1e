"""``manyi score WAVE --out DIR``: the statistician's report from the database.

:func:`score_wave` is the step itself — the publisher's snapshot and the preview run the
same — and returns the report's files as bytes (:class:`scoring.report.ReportFiles`);
:func:`score_command` is the ``manyi score`` command around it, which writes them.

The wave's responses are read through the one adapter (:func:`survey.adapter.wave_responses_frame`)
into the responses contract and go through exactly the library calls of
``python -m scoring report``: :func:`scoring.pipeline.run_estimate` (screening, weighting,
estimates with design-based intervals) and :func:`scoring.report.build_report` (rankings,
key drivers, charts, results.json, tables.xlsx/CSV, report.html and report.pdf).  The
questionnaire versions the wave served give the item weights, scales and labels.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from sqlalchemy.orm import Session

    from scoring.benchmarks import BenchmarkTable
    from scoring.report import ReportFiles
    from survey.models import Wave

#: Options shared with ``python -m scoring estimate`` (same names, same meaning).
from scoring.vocabulary import VARIANCE_METHODS

TARGET_METRICS = ("index", "satisfied_rate")
#: Default SE of published scores given without one (scoring.rankings.DEFAULT_ASSUMED_SE,
#: repeated here so that the command's help does not load the scoring engine).
DEFAULT_ASSUMED_SE = 1.0


def _optional_column(value: str) -> str | None:
    return None if value.lower() in ("", "none") else value


def _command_line(context: click.Context) -> str:
    """The command as it could be typed again (for the report's methodology section)."""
    words = ["manyi", "score"]
    arguments = [p for p in context.command.params if isinstance(p, click.Argument)]
    words += [str(context.params[p.name]) for p in arguments]
    for option in context.command.params:
        value = context.params.get(option.name)
        if isinstance(option, click.Argument) or value in (None, (), False) or value == option.default:
            continue
        flag = option.opts[0]
        if value is True:
            words.append(flag)
        elif isinstance(value, tuple):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return " ".join(shlex.quote(word) for word in words)


def score_wave(
    session: Session,
    wave: Wave,
    *,
    estimate: Mapping[str, Any] | None = None,
    benchmarks: BenchmarkTable | None = None,
    previous: Sequence[Mapping[str, Any]] = (),
    district: str = "荆州区",
    title: str | None = None,
    illustrative: bool = False,
    draws: int = 10_000,
    assumed_se: float = DEFAULT_ASSUMED_SE,
    compare_other_years: bool = False,
    pdf: bool = True,
    quiet: bool = True,
    command: str = "",
    source: str | None = None,
    facts: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
    frame: pd.DataFrame | None = None,
) -> ReportFiles:
    """Score a wave from the database and return every report file as bytes.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    wave : survey.models.Wave
    estimate : mapping, optional
        Estimate options (:class:`scoring.pipeline.EstimateOptions` fields other than
        ``responses`` and ``questionnaires``); default: stratified by the point's town,
        clustered by collection point (phone and paper one stratum per channel), lonely
        PSUs adjusted, linearization.
    benchmarks : BenchmarkTable, optional
        Published monitoring figures (:mod:`scoring.benchmarks`).
    previous : sequence of mapping
        Earlier waves' results as values, each carrying its wave code and year.
    district, title, illustrative, draws, assumed_se, compare_other_years, pdf
        As :class:`scoring.report.ReportSettings`.
    quiet : bool
        No progress bars.
    command, source : str
        The command line and the data source, for the methodology section.
    facts, inputs : mapping, optional
        More facts for the methodology section; more input hashes for results.json.
    frame : pandas.DataFrame, optional
        The wave's responses as :func:`survey.adapter.wave_responses_frame` returns them,
        when the caller has already read them (e.g. to hash them); read here otherwise.

    Returns
    -------
    scoring.report.ReportFiles

    Raises
    ------
    scoring.errors.ScoringInputError
        The wave has no submitted responses, or an input is invalid.
    """
    from scoring.errors import ScoringInputError
    from scoring.pipeline import EstimateOptions, run_estimate
    from scoring.report import Progress, ReportSettings, build_report, collection_year
    from survey.adapter import wave_responses_frame
    from survey.services.questionnaires import wave_questionnaires

    if frame is None:
        frame = wave_responses_frame(session, wave, design_columns=True, paradata=True)
    if frame.empty:
        raise ScoringInputError(f"wave {wave.code!r} has no submitted responses yet; nothing to score")
    questionnaires = wave_questionnaires(wave)
    options = {"strata": "point_town", "cluster": "point", "lonely_psu": "adjust", **(estimate or {})}
    estimate_options = EstimateOptions(responses=frame, questionnaires=questionnaires, **options)
    settings = ReportSettings(
        wave=wave.code,
        year=collection_year(frame["submitted_at"]) if "submitted_at" in frame.columns else None,
        district=district,
        title=title or (wave.title_zh or None),
        illustrative=illustrative,
        draws=draws,
        seed=estimate_options.seed,
        assumed_se=assumed_se,
        compare_other_years=compare_other_years,
        pdf=pdf,
    )
    settings.validate(benchmarks=benchmarks is not None)  # before the estimate: bad settings cost nothing
    progress = Progress(enabled=not quiet)
    with progress.step("估计", total=1) as advance:
        run = run_estimate(estimate_options)
        advance(1)
    return build_report(
        run,
        settings=settings,
        previous=previous,
        benchmarks=benchmarks,
        questionnaires=questionnaires,
        facts={
            "source": source or f"数据库（期次 {wave.code}）",
            "command": command or f"manyi score {wave.code}",
            **(facts or {}),
        },
        inputs=inputs,
        progress=progress,
    )


@click.command("score")
@click.argument("wave")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write the report into."
)
@click.option(
    "--margins",
    type=click.Path(exists=True, dir_okay=False),
    help="Population margins CSV (variable,level,population) for raking.",
)
@click.option(
    "--benchmarks",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Benchmarks CSV (year,level,unit,score,rank,se,source); may be given several times.",
)
@click.option(
    "--previous",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="An earlier wave's results.json (written by 'manyi score' or a publication); may be given several times.",
)
@click.option("--variance", type=click.Choice(VARIANCE_METHODS), default="linearization", show_default=True)
@click.option("--replicates", type=int, help="Bootstrap replicates (default 500).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the bootstrap, the rank simulation and the drivers' jackknife groups.",
)
@click.option("--strata", default="point_town", show_default=True, help="Stratum column ('none' for no strata).")
@click.option("--cluster", default="point", show_default=True, help="Cluster (PSU) column ('none' for no clusters).")
@click.option(
    "--lonely-psu",
    type=click.Choice(("fail", "adjust")),
    default="adjust",
    show_default=True,
    help="A town with a single collection point: fail, or adjust as R's survey.lonely.psu.",
)
@click.option("--domain-weights", help="domain,weight CSV, or 'derived' (default: equal weights).")
@click.option("--target", type=float, default=85.0, show_default=True, help="Target as people say it (85).")
@click.option("--target-metric", type=click.Choice(TARGET_METRICS), default="index", show_default=True)
@click.option("--no-screening", is_flag=True, help="Keep speeders, straight-liners and duplicates.")
@click.option("--district", default="荆州区", show_default=True, help="The district's name in the benchmarks.")
@click.option("--title", help="Report title.")
@click.option("--illustrative", is_flag=True, help="Mark the report as illustrative (demo or synthetic data).")
@click.option(
    "--assumed-se",
    type=float,
    default=DEFAULT_ASSUMED_SE,
    show_default=True,
    help="SE of published scores given without one, in index points (stated beside every ranking).",
)
@click.option(
    "--compare-other-years",
    is_flag=True,
    help="Also compare with published figures of earlier years (default: the survey's year only).",
)
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@with_appcontext
def score_command(
    wave: str,
    out_dir: str,
    margins: str | None,
    benchmarks: tuple[str, ...],
    previous: tuple[str, ...],
    variance: str,
    replicates: int | None,
    seed: int,
    strata: str,
    cluster: str,
    lonely_psu: str,
    domain_weights: str | None,
    target: float,
    target_metric: str,
    no_screening: bool,
    district: str,
    title: str | None,
    illustrative: bool,
    assumed_se: float,
    compare_other_years: bool,
    no_pdf: bool,
    quiet: bool,
) -> None:
    """Score WAVE from the database and write the full report into --out.

    Writes results.json, tables.xlsx, tables/*.csv, charts/*.png|svg, report.html and
    report.pdf, as 'python -m scoring report' does for a CSV.
    """
    from flask import current_app

    from scoring.benchmarks import combine_benchmarks, read_benchmarks
    from scoring.data import file_sha256
    from scoring.errors import ScoringInputError
    from scoring.questionnaire import QuestionnaireError
    from scoring.report import check_out_dir, read_results, write_files
    from survey.db import get_session
    from survey.services.waves import find_wave, list_waves

    def fail(message: str) -> None:
        click.echo(click.style("error: ", fg="red", bold=True) + message, err=True)
        sys.exit(2)

    session = get_session()
    found = find_wave(session, wave)
    if found is None:
        known = ", ".join(w.code for w in list_waves(session)) or "none yet"
        fail(f"no wave {wave!r} in {current_app.config.get('DATABASE_URL', 'the database')} (waves: {known})")
    try:
        check_out_dir(out_dir)
        table = combine_benchmarks([read_benchmarks(path) for path in benchmarks]) if benchmarks else None
        files = score_wave(
            session,
            found,
            estimate={
                "margins": margins,
                "strata": _optional_column(strata),
                "cluster": _optional_column(cluster),
                "variance": variance,
                "replicates": replicates,
                "seed": seed,
                "domain_weights": domain_weights,
                "target": target,
                "target_metric": target_metric,
                "screening": not no_screening,
                "lonely_psu": lonely_psu,
            },
            benchmarks=table,
            previous=[read_results(path) for path in previous],
            district=district,
            title=title,
            illustrative=illustrative,
            assumed_se=assumed_se,
            compare_other_years=compare_other_years,
            pdf=not no_pdf,
            quiet=quiet,
            command=_command_line(click.get_current_context()),
            inputs={str(path): file_sha256(path) for path in [*benchmarks, *previous]},
        )
        written = write_files(files, out_dir)
    except (ScoringInputError, QuestionnaireError) as error:
        fail(str(error))
    overall = files.results["overall"]
    verdict = (files.results.get("target") or {}).get("verdict")
    click.echo(
        f"wave {found.code}: {overall['n']} responses scored; overall index {overall['index']:.1f} "
        f"(95% CI {overall['ci_low']:.1f}–{overall['ci_high']:.1f}), target {target:g}: {verdict}"
    )
    click.echo(f"wrote {len(written)} files to {out_dir}")
    for name in ("results.json", "tables.xlsx", "report.html", "report.pdf"):
        if name in files.files:
            click.echo(f"  {Path(out_dir) / name}")
