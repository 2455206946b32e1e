"""``manyi integrity WAVE``: the integrity review of a wave's responses as they are now."""

from __future__ import annotations

import click

from survey.commands.base import WAVE, command, fail, wave_or_fail
from survey.db import get_session


@command("integrity", short_help="Check a wave for coached points and bot farms (read only).")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option("--fdr", type=float, default=0.05, show_default=True, help="False-discovery rate across points.")
def integrity_command(wave_code: str, fdr: float) -> None:
    """Compare every collection point of WAVE with its town's other points, and every
    network address (keyed hash) across the wave; print the flagged ones with what was
    unusual.  Reads the current responses; stores nothing (docs/integrity.md).
    """
    from scoring.errors import ScoringInputError
    from scoring.integrity import IntegrityRules
    from scoring.integrity.text import review_text
    from survey.services.integrity import IntegrityUnavailable, review_wave

    wave = wave_or_fail(wave_code)
    try:
        review = review_wave(get_session(), wave, rules=IntegrityRules(fdr=fdr))
    except (IntegrityUnavailable, ScoringInputError) as error:
        fail(str(error))
    click.echo(f"wave {wave.code}")
    click.echo(review_text(review))


COMMANDS = (integrity_command,)
