"""``manyi integrity WAVE``: the integrity review of a wave's responses as they are now, and
the office's exclusion decisions (``--exclude-point``, ``--exclude-address``, ``--withdraw``,
``--decisions``) through :mod:`survey.services.integrity`, which checks and audits them."""

from __future__ import annotations

import click

from survey.commands.base import WAVE, command, fail, wave_or_fail
from survey.db import get_session


def _decision_line(decision) -> str:  # type: ignore[no-untyped-def]
    from survey.localtime import format_local
    from survey.services.integrity import address_label

    target = decision.target if decision.kind == "point" else address_label(decision.target)
    line = (
        f"  {decision.id}: {decision.kind} {target} — excluded {format_local(decision.decided_at)} (Beijing time) "
        f"by {decision.decided_by}: {decision.reason}"
    )
    if decision.withdrawn_at is not None:
        line += (
            f"\n     withdrawn {format_local(decision.withdrawn_at)} by {decision.withdrawn_by}: "
            f"{decision.withdrawal_reason}"
        )
    return line


@command("integrity", short_help="Check a wave for coached points and bot farms; record exclusions.")
@click.argument("wave_code", metavar="WAVE", type=WAVE)
@click.option("--fdr", type=float, default=0.05, show_default=True, help="False-discovery rate across points.")
@click.option("--exclude-point", metavar="CODE", help="Leave this collection point's responses out of the estimate.")
@click.option(
    "--exclude-address",
    metavar="HASH",
    help="Leave this network address's responses out (its keyed hash, at least the 12 digits the review prints).",
)
@click.option("--withdraw", metavar="ID", help="Withdraw the exclusion decision with this number (kept in history).")
@click.option("--reason", help="Why (required with --exclude-… and --withdraw; ≤ 500 characters; published).")
@click.option("--decisions", "show_decisions", is_flag=True, help="List the wave's exclusion decisions and stop.")
def integrity_command(
    wave_code: str,
    fdr: float,
    exclude_point: str | None,
    exclude_address: str | None,
    withdraw: str | None,
    reason: str | None,
    show_decisions: bool,
) -> None:
    """Compare every collection point of WAVE with its town's other points, and every
    network address (keyed hash) across the wave; print the flagged ones with what was
    unusual.  Reads the current responses (docs/integrity.md).

    With --exclude-point CODE --reason "…" (or --exclude-address, or --withdraw ID --reason
    "…") it records the office's decision instead: manyi score and publishing leave those
    responses out and publish the decision with its reason.
    """
    from survey.services import integrity
    from survey.services.audit import cli_actor

    wave = wave_or_fail(wave_code)
    session = get_session()
    actions = [
        name
        for name, value in (
            ("--exclude-point", exclude_point),
            ("--exclude-address", exclude_address),
            ("--withdraw", withdraw),
            ("--decisions", show_decisions),
        )
        if value
    ]
    if len(actions) > 1:
        fail(f"give one of {', '.join(actions)} at a time")
    if reason is not None and (not actions or actions[0] == "--decisions"):
        fail("--reason goes with --exclude-point, --exclude-address or --withdraw")
    if exclude_point is not None or exclude_address is not None or withdraw is not None:
        try:
            if withdraw is not None:
                decision = integrity.withdraw(session, wave, withdraw, reason=reason or "", actor=cli_actor())
                done = "withdrew"
            else:
                kind = "point" if exclude_point is not None else "address"
                decision = integrity.exclude(
                    session,
                    wave,
                    kind=kind,
                    target=exclude_point if exclude_point is not None else exclude_address or "",
                    reason=reason or "",
                    actor=cli_actor(),
                )
                done = "recorded"
        except integrity.DecisionError as error:
            session.rollback()
            fail(str(error))
        session.commit()
        click.echo(f"wave {wave.code}: {done} decision {decision.id}")
        click.echo(_decision_line(decision))
        click.echo("manyi score and publishing use the decisions in force; publish again to make it public.")
        return
    if show_decisions:
        history = integrity.decision_history(session, wave)
        click.echo(f"wave {wave.code}: {len(history)} exclusion decision(s)")
        for decision in history:
            click.echo(_decision_line(decision))
        return

    from scoring.errors import ScoringInputError
    from scoring.integrity import IntegrityRules
    from scoring.integrity.text import review_text

    try:
        review = integrity.review_wave(session, wave, rules=IntegrityRules(fdr=fdr))
    except (integrity.IntegrityUnavailable, ScoringInputError) as error:
        fail(str(error))
    click.echo(f"wave {wave.code}")
    click.echo(review_text(review))
    active = integrity.active_decisions(session, wave)
    if active:
        click.echo(f"Exclusion decisions in force: {len(active)}")
        for decision in active:
            click.echo(_decision_line(decision))


COMMANDS = (integrity_command,)
