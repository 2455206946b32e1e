"""``manyi score WAVE --out DIR``: the statistician's report from the database, written to a folder.

A thin shell over :func:`survey.score.score_wave` (the step publishing and the preview run
too): the flags override single settings of the wave's stored ones, the output says which
differ, and :func:`scoring.report.write_files` writes the files.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from scoring.vocabulary import VARIANCE_METHODS
from survey.models import Wave
from survey.score import MAPPINGS, SETTING_OPTIONS, TARGET_METRICS, _short, score_wave
from survey.services.settings import (
    SettingsInputError,
    StoredSettings,
    apply_changes,
    changes_from_options,
    wave_settings,
)


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


def settings_lines(wave: Wave, wave_stored: StoredSettings, differences: Mapping[str, tuple[Any, Any]]) -> list[str]:
    """What the command says about the settings it used."""
    if not wave_stored.stored:
        lines = [
            f"settings: none stored for wave {wave.code}; the defaults apply (strata point_town, cluster point, "
            "lonely PSU adjust, screening on, no margins: unweighted). Store them with "
            f"'manyi wave settings {wave.code} …' or on the admin screen."
        ]
    else:
        lines = [f"settings: wave {wave.code}'s (digest {wave_stored.digest[:12]}, stored by {wave_stored.changed_by})"]
    if differences:
        lines.append(f"settings that differ from wave {wave.code}'s:")
        lines += [
            f"  {key}: {_short(ours)} (wave) → {_short(used)} (this run)" for key, (ours, used) in differences.items()
        ]
    return lines


@click.command("score")
@click.argument("wave")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write the report into."
)
@click.option(
    "--margins",
    type=click.Path(exists=True, dir_okay=False),
    help="Population margins CSV (variable,level,population) for raking, instead of the wave's.",
)
@click.option("--no-margins", is_flag=True, help="Do not weight (instead of the wave's margins).")
@click.option(
    "--benchmarks",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Benchmarks CSV (year,level,unit,score,rank,se,source) instead of the wave's; may be given several times.",
)
@click.option("--no-benchmarks", is_flag=True, help="No rankings (instead of the wave's benchmarks).")
@click.option(
    "--previous",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="An earlier wave's results.json, instead of the earlier waves' publications; may be given several times.",
)
@click.option("--variance", type=click.Choice(VARIANCE_METHODS), help="Variance method (default: the wave's).")
@click.option("--replicates", type=int, help="Bootstrap replicates (default 500).")
@click.option("--seed", type=int, help="Seed of the bootstrap, the rank simulation and the drivers' jackknife groups.")
@click.option("--strata", help="Stratum column: point_town, or 'none' (default: the wave's).")
@click.option(
    "--lonely-psu",
    type=click.Choice(("fail", "adjust")),
    help="A stratum with a single collection point: fail, or adjust as R's survey.lonely.psu.",
)
@click.option("--domain-weights", help="domain,weight CSV, 'derived' or 'equal' (default: the wave's).")
@click.option("--target", type=float, help="Target as people say it (85).")
@click.option("--no-target", is_flag=True, help="No target test.")
@click.option("--target-metric", type=click.Choice(TARGET_METRICS), help="Which metric is the plan's target.")
@click.option("--mapping", type=click.Choice(MAPPINGS), help="Item scores: linear (1→0) or monitoring (1→20).")
@click.option("--screening/--no-screening", default=None, help="Quality screening on or off (default: the wave's).")
@click.option(
    "--straight-line-fast-fraction",
    metavar="F|none",
    help="Straight-lining excludes only when faster than F × median time; 'none': alone (the rule before issue 10).",
)
@click.option("--min-n", type=int, help="Fewest respondents of a stable figure (default: the wave's, 30).")
@click.option("--min-psus", type=int, help="Fewest PSUs of a stable figure (default: the wave's, 5).")
@click.option("--district", help="The district's name in the benchmarks.")
@click.option("--title", help="Report title.")
@click.option("--illustrative/--not-illustrative", default=None, help="Mark the report as illustrative or not.")
@click.option("--assumed-se", type=float, help="SE of published scores given without one, in index points.")
@click.option(
    "--compare-other-years",
    is_flag=True,
    help="Also compare with published figures of earlier years (default: the survey's year only).",
)
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def score_command(wave: str, out_dir: str, **options: Any) -> None:
    """Score WAVE from the database with its analysis settings; write the full report into --out.

    With no flags the wave's stored settings are used (margins, benchmarks, target,
    mapping, design, screening …) and the earlier waves' publications are the previous
    waves: the results equal the wave's publication. Flags override single settings;
    the output and the report say which differ from the wave's. Writes results.json,
    tables.xlsx, tables/*.csv, charts/*.png|svg, report.html and report.pdf.
    """
    from scoring.errors import ScoringInputError
    from scoring.questionnaire import QuestionnaireError
    from scoring.report import check_out_dir, read_results, write_files
    from survey.commands.base import fail, wave_or_fail
    from survey.db import get_session

    session = get_session()
    found = wave_or_fail(wave)
    try:
        wave_stored = wave_settings(session, found)
        used = apply_changes(wave_stored, changes_from_options(options))
    except SettingsInputError as error:
        fail(f"{SETTING_OPTIONS.get(error.setting, error.setting)}: {error}")
    except ScoringInputError as error:
        fail(str(error))
    differences = wave_stored.settings.differences(used.settings)
    previous_files = options["previous"]
    try:
        check_out_dir(out_dir)
        previous = None
        if previous_files:
            previous = []
            for path in previous_files:
                results = read_results(path)
                text = Path(path).read_text(encoding="utf-8")
                code = str((results.get("report") or {}).get("wave") or Path(path).stem)
                previous.append((code, text, results))
        files = score_wave(
            session,
            found,
            settings=used,
            previous=previous,
            title=options["title"],
            compare_other_years=options["compare_other_years"],
            pdf=not options["no_pdf"],
            quiet=options["quiet"],
            command=_command_line(click.get_current_context()),
        )
        written = write_files(files, out_dir)
    except (ScoringInputError, QuestionnaireError) as error:
        fail(str(error))
    for line in settings_lines(found, wave_stored, differences):
        click.echo(line)
    overall = files.results["overall"]
    target = files.results.get("target") or {}
    click.echo(
        f"wave {found.code}: {overall['n']} responses scored; overall index {overall['index']:.1f} "
        f"(95% CI {overall['ci_low']:.1f}–{overall['ci_high']:.1f}), "
        f"target {used.settings.target if used.settings.target is not None else '—'} "
        f"({used.settings.target_metric}): {target.get('verdict')}"
    )
    if used.settings.illustrative:
        click.echo("illustrative: the report is marked as illustrative (示意) data")
    click.echo(f"wrote {len(written)} files to {out_dir}")
    for name in ("results.json", "tables.xlsx", "report.html", "report.pdf"):
        if name in files.files:
            click.echo(f"  {Path(out_dir) / name}")
