"""The statistics: ``manyi score`` (the statistician's report, :mod:`survey.commands.score`) and
``manyi publish`` (freeze the results at ``/results/<wave>``)."""

from __future__ import annotations

import copy
import json

import click
from flask import current_app

from survey.commands.base import WAVE, command, fail, wave_or_fail
from survey.commands.score import score_command
from survey.db import get_session
from survey.services.audit import cli_actor


@command("publish", short_help="Score a wave with its settings and publish it at /results/WAVE.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option("--reason", default="", help="Why (required when the wave was published before; shown to the public).")
@click.option("--no-pdf", is_flag=True, help="Skip report.pdf (faster; for tests and drafts).")
def publish_command(wave_code: str, reason: str, no_pdf: bool) -> None:
    """Score WAVE from the database with its analysis settings and publish the results at
    /results/WAVE.

    The settings are the wave's own (set them with 'manyi wave settings WAVE …'); the
    run (results.json, report files, the settings it used, input hashes) is frozen as a
    new revision; earlier revisions stay public.
    """
    from survey.services.publication import PublicationError, PublishOptions, publish_wave, settings_change
    from survey.services.settings import wave_settings

    session = get_session()
    wave = wave_or_fail(wave_code)
    stored = wave_settings(session, wave)
    if not stored.stored:
        click.echo(
            f"note: wave {wave.code} has no analysis settings stored; the defaults apply (no margins: unweighted). "
            f"Set them with 'manyi wave settings {wave.code} …'"
        )
    change = settings_change(session, wave)
    if change is not None and change[1]:
        listed = "; ".join(str(difference) for difference in change[1])
        click.echo(
            f"note: the settings differ from those of wave {change[0]}'s publication ({listed}); "
            "the change between the waves is published flagged as not comparable"
        )
    try:
        publication = publish_wave(
            session, wave, actor=cli_actor(), reason=reason, options=PublishOptions(pdf=not no_pdf)
        )
    except PublicationError as error:
        fail(str(error))
    session.commit()
    overall = json.loads(publication.results_json).get("overall") or {}
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    click.echo(
        f"wave {wave.code} published: revision {publication.revision}, overall index "
        f"{overall.get('index', float('nan')):.1f} ({len(publication.files)} files; settings {stored.digest[:12]})"
    )
    click.echo(f"  {base}/results/{wave.code}")
    click.echo(f"  {base}/results/{wave.code}.json")


#: ``manyi score`` as :mod:`survey.commands.score` defines it, with a one-line help for ``manyi --help``.
score = copy.copy(score_command)
score.short_help = "Score a wave from the database; write the full report."

COMMANDS = (score, publish_command)
