"""Office work outside the web request: ``manyi worker`` runs the queued jobs
(:mod:`survey.services.jobs`)."""

from __future__ import annotations

import time

import click

from survey.commands.base import command
from survey.db import database, get_session
from survey.services import jobs


@command("worker", short_help="Run queued office jobs (publishing) outside the web server.")
@click.option("--once", is_flag=True, help="Run the jobs queued now, then stop (for cron, tests and the demo).")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1, max=60),
    default=2.0,
    show_default=True,
    help="Seconds between looks at the queue when it is empty.",
)
def worker_command(once: bool, poll: float) -> None:
    """Run the office jobs queued in the database, oldest first, one at a time.

    On start, jobs left 'running' by a worker that stopped are queued again (their work
    was not committed).  Run one worker per database; stop it with Ctrl-C or SIGTERM.
    """
    session = get_session()
    sessions = database().sessions
    name = jobs.worker_name()
    requeued = jobs.requeue_interrupted(session)
    if requeued:
        click.echo(f"{requeued} interrupted job(s) queued again")
    while True:
        ran = jobs.run_pending(session, session_factory=sessions, worker=name)
        if ran:
            click.echo(f"{ran} job(s) run")
        if once:
            return
        time.sleep(poll)


COMMANDS = (worker_command,)
