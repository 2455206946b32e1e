"""``manyi score WAVE --out DIR``: the statistician's report from the database.

:func:`score_wave` is the step itself (the publisher's snapshot runs the same pipeline);
:func:`score_command` is the ``manyi score`` command around it.

The wave's responses are read through the one adapter (:func:`survey.adapter.wave_responses_frame`)
into the responses contract and go through exactly the pipeline of
``python -m scoring report`` (:func:`scoring.report_cli.run_report`): screening, weighting,
estimates with design-based intervals, rankings, key drivers, charts, results.json,
tables.xlsx/CSV, report.html and report.pdf.  The questionnaire versions the wave served
give the item weights, scales and labels.
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

    from scoring.report import ReportFiles
    from survey.models import Wave

#: Options shared with ``python -m scoring estimate`` (same names, same meaning).
VARIANCE_METHODS = ("linearization", "jackknife", "bootstrap")
TARGET_METRICS = ("index", "satisfied_rate")


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
    out: str | Path,
    estimate: Mapping[str, Any] | None = None,
    benchmarks: Sequence[str | Path] = (),
    previous: Sequence[str | Path] = (),
    district: str = "荆州区",
    title: str | None = None,
    illustrative: bool = False,
    draws: int = 10_000,
    pdf: bool = True,
    quiet: bool = True,
    command: str = "",
    source: str | None = None,
    frame: pd.DataFrame | None = None,
) -> ReportFiles:
    """Score a wave from the database and write the full report into ``out``.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    wave : survey.models.Wave
    out : path
        Folder to write into.
    estimate : mapping, optional
        Estimate options (:class:`scoring.pipeline.EstimateOptions` fields other than
        ``responses`` and ``questionnaires``); default: stratified by the point's town,
        clustered by collection point (phone and paper one stratum per channel), lonely
        PSUs adjusted, linearization.
    benchmarks, previous, district, title, illustrative, draws, pdf, quiet, command
        As :class:`scoring.report_cli.ReportOptions`.
    source : str, optional
        How the data source is named in the methodology section.
    frame : pandas.DataFrame, optional
        The wave's responses as :func:`survey.adapter.wave_responses_frame` returns them,
        when the caller has already read them (e.g. to hash them); read here otherwise.

    Returns
    -------
    scoring.report.ReportFiles

    Raises
    ------
    scoring.errors.ScoringInputError
        The wave has no submitted responses, or an input is invalid; nothing is written.
    """
    from scoring.errors import ScoringInputError
    from scoring.pipeline import EstimateOptions
    from scoring.report_cli import ReportOptions, run_report
    from survey.adapter import wave_responses_frame
    from survey.services.questionnaires import wave_questionnaires

    if frame is None:
        frame = wave_responses_frame(session, wave, design_columns=True)
    if frame.empty:
        raise ScoringInputError(f"wave {wave.code!r} has no submitted responses yet; nothing to score")
    questionnaires = wave_questionnaires(wave)
    options = {"strata": "point_town", "cluster": "point", "lonely_psu": "adjust", **(estimate or {})}
    report = ReportOptions(
        out=out,
        benchmarks=tuple(benchmarks),
        previous=tuple(previous),
        wave=wave.code,
        district=district,
        title=title or (wave.title_zh or None),
        illustrative=illustrative,
        draws=draws,
        pdf=pdf,
        quiet=quiet,
        command=command or f"manyi score {wave.code}",
    )
    return run_report(
        EstimateOptions(responses=frame, questionnaires=questionnaires, **options),
        report,
        run_info={"source": source or f"数据库（期次 {wave.code}）"},
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
    help="An earlier wave's results.json, oldest first; may be given several times.",
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
    no_pdf: bool,
    quiet: bool,
) -> None:
    """Score WAVE from the database and write the full report into --out.

    Writes results.json, tables.xlsx, tables/*.csv, charts/*.png|svg, report.html and
    report.pdf, as 'python -m scoring report' does for a CSV.
    """
    from flask import current_app

    from scoring.errors import ScoringInputError
    from scoring.questionnaire import QuestionnaireError
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
        files = score_wave(
            session,
            found,
            out=out_dir,
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
            benchmarks=benchmarks,
            previous=previous,
            district=district,
            title=title,
            illustrative=illustrative,
            pdf=not no_pdf,
            quiet=quiet,
            command=_command_line(click.get_current_context()),
        )
    except (ScoringInputError, QuestionnaireError) as error:
        fail(str(error))
    overall = files.results["overall"]
    verdict = (files.results.get("target") or {}).get("verdict")
    click.echo(
        f"wave {found.code}: {overall['n']} responses scored; overall index {overall['index']:.1f} "
        f"(95% CI {overall['ci_low']:.1f}–{overall['ci_high']:.1f}), target {target:g}: {verdict}"
    )
    click.echo(f"wrote {len(files.all_files)} files to {files.directory}")
    for path in (files.results_json, files.tables_xlsx, files.html, files.pdf):
        if path is not None:
            click.echo(f"  {path}")
