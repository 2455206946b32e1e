"""The statistics: ``manyi score`` (the statistician's report, :mod:`survey.score`) and
``manyi publish`` (freeze the results at ``/results/<wave>``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import click
from flask import current_app

from survey.commands.base import WAVE, command, fail, wave_or_fail
from survey.db import get_session
from survey.score import score_command
from survey.services.audit import cli_actor


@command("publish", short_help="Score a wave and publish it at /results/WAVE.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option("--reason", default="", help="Why (required when the wave was published before; shown to the public).")
@click.option(
    "--margins",
    type=click.Path(exists=True, dir_okay=False),
    help="Population margins CSV for raking (default: none, unweighted).",
)
@click.option(
    "--benchmarks", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Benchmarks CSV (repeatable)."
)
@click.option(
    "--variance",
    type=click.Choice(("linearization", "jackknife", "bootstrap")),
    default="linearization",
    show_default=True,
)
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf (faster; for tests and drafts).")
def publish_command(
    wave_code: str, reason: str, margins: str | None, benchmarks: tuple[str, ...], variance: str, no_pdf: bool
) -> None:
    """Score WAVE from the database and publish the results at /results/WAVE.

    The run (results.json, report files, configuration, input hashes) is frozen as a new
    revision; earlier revisions stay public.
    """
    from survey.services.publication import PublicationError, PublishOptions, publish_wave

    session = get_session()
    wave = wave_or_fail(wave_code)
    options = PublishOptions(
        margins=Path(margins) if margins else None,
        benchmarks=tuple(Path(path) for path in benchmarks),
        variance=variance,
        pdf=not no_pdf,
    )
    try:
        publication = publish_wave(session, wave, actor=cli_actor(), reason=reason, options=options)
    except PublicationError as error:
        fail(str(error))
    session.commit()
    overall = json.loads(publication.results_json).get("overall") or {}
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(
        f"wave {wave.code} published: revision {publication.revision}, overall index "
        f"{overall.get('index', float('nan')):.1f} ({len(publication.files)} files)"
    )
    click.echo(f"  {base}/results/{wave.code}")
    click.echo(f"  {base}/results/{wave.code}.json")


#: ``manyi score`` as :mod:`survey.score` defines it, with a one-line help for ``manyi --help``.
score = copy.copy(score_command)
score.short_help = "Score a wave from the database; write the full report."

COMMANDS = (score, publish_command)
