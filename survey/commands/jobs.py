"""Office work outside the web request: ``manyi worker`` runs the queued jobs
(:mod:`survey.services.jobs`); ``manyi demo`` runs the same loop in a thread
(:func:`start_worker_thread`) so that the demo's buttons work without a second process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy.orm import Session, sessionmaker

from survey.commands.base import command
from survey.db import database, get_session
from survey.services import jobs


def _export_folder(app: Flask) -> Path:
    return Path(app.instance_path) / "exports"


def work(
    app: Flask,
    session: Session,
    sessions: sessionmaker[Session],
    *,
    name: str,
    poll: float,
    once: bool = False,
    stop: threading.Event | None = None,
) -> None:
    """The worker's loop: run what is queued, delete export files past their 7 days, wait ``poll`` s."""
    while stop is None or not stop.is_set():
        ran = jobs.run_pending(session, session_factory=sessions, worker=name)
        if ran:
            click.echo(f"{ran} job(s) run")
        jobs.purge_expired_exports(_export_folder(app))
        if once:
            return
        if stop is not None:
            stop.wait(poll)
        else:
            time.sleep(poll)


def start_worker_thread(app: Flask, *, poll: float = 1.0) -> threading.Event:
    """Run the worker loop in a daemon thread of this process (``manyi demo``); set the
    returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        with app.app_context():
            sessions = database(app).sessions
            session = sessions()
            try:
                jobs.requeue_interrupted(session)
                work(app, session, sessions, name=jobs.worker_name() + ":demo", poll=poll, stop=stop)
            finally:
                session.close()

    threading.Thread(target=run, name="manyi-worker", daemon=True).start()
    return stop


@command("worker", short_help="Run queued office jobs (publish, import, export) outside the web server.")
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
    was not committed).  Export files older than 7 days are deleted as the worker goes.
    Run one worker per database; stop it with Ctrl-C or SIGTERM.
    """
    session = get_session()
    sessions = database().sessions
    requeued = jobs.requeue_interrupted(session)
    if requeued:
        click.echo(f"{requeued} interrupted job(s) queued again")
    work(current_app._get_current_object(), session, sessions, name=jobs.worker_name(), poll=poll, once=once)  # type: ignore[attr-defined]


COMMANDS = (worker_command,)
