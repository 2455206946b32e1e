"""Office work as jobs: queued in the ``jobs`` table, run by ``manyi worker``.

Work that takes longer than a web request should (publishing a wave) is *submitted*
(:func:`submit`: a ``queued`` row with its kind, wave, parameters and who asked) and run
by a separate process, ``manyi worker`` (:mod:`survey.commands.jobs`), which takes the
oldest queued job (:func:`claim_next`), runs its kind's handler (:data:`HANDLERS`) and
stores the outcome: ``succeeded`` with a result, or ``failed`` with the error message.
Both outcomes are audited (``job.succeeded`` / ``job.failed``).  The progress (steps
done of steps in all, a message in Chinese for the office) is written as the job goes
(:func:`report_progress`), each time in its own short transaction — before the job's own
writes begin, since on SQLite a second writer waits for the first.

**Claiming** is one ``UPDATE … WHERE id = ? AND state = 'queued'``: of two workers that
pick the same job, only the one whose update changed a row runs it.

**A worker restart re-queues** what it was running: a job still ``running`` when a
worker starts (:func:`requeue_interrupted`, called by ``manyi worker`` before its first
claim) was interrupted — the worker that ran it died with it — and goes back to
``queued``.  Handlers write in one transaction that commits only at the end (publishing
freezes a revision in one commit), so an interrupted job left nothing half-written and is
simply run again.  Run one worker per database.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey.models import Job, User, Wave, utcnow
from survey.services import audit


class JobError(ValueError):
    """A job that cannot be submitted or run (the message says why and how to fix it)."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the session to work in, the job, and a way to report progress."""

    session: Session
    job: Job
    progress: Callable[[int, int, str], None]


#: A handler runs a job and returns its result (JSON-able); it raises to fail the job.
Handler = Callable[[JobContext], dict[str, Any]]


def _publish(context: JobContext) -> dict[str, Any]:
    """Score the job's wave and publish it (:func:`survey.services.publication.publish_wave`)."""
    from survey.services.publication import PublishOptions, publish_wave

    job = context.job
    if job.wave is None:
        raise JobError("a publish job needs a wave")
    actor: User | str = context.session.get(User, job.user_id) if job.user_id is not None else job.username
    parameters = job.parameters or {}
    # The figures come from the wave's analysis settings; a job only says whether to draw the PDF.
    options = PublishOptions(pdf=bool(parameters.get("pdf", True)))
    # Progress is reported before the job writes: on SQLite a second writer would wait for it.
    context.progress(1, 2, "正在计算结果并生成报告")
    publication = publish_wave(
        context.session,
        job.wave,
        actor=actor or audit.SYSTEM_ACTOR,
        reason=str(parameters.get("reason", "")),
        options=options,
    )
    return {"publication_revision": publication.revision, "wave": job.wave.code}


#: The kinds of job and what runs them.
HANDLERS: dict[str, Handler] = {"publish": _publish}

#: The progress message of a job nobody has started yet.
QUEUED_MESSAGE = "排队等候处理"


def submit(
    session: Session,
    kind: str,
    *,
    actor: User | str,
    wave: Wave | None = None,
    parameters: dict[str, Any] | None = None,
) -> Job:
    """Queue a job of ``kind`` (one of :data:`HANDLERS`); the caller commits.

    Raises
    ------
    JobError
        For an unknown kind.
    """
    if kind not in HANDLERS:
        raise JobError(f"unknown job kind {kind!r}; use one of {', '.join(sorted(HANDLERS))}")
    job = Job(
        kind=kind,
        wave_id=wave.id if wave is not None else None,
        parameters=dict(parameters or {}),
        user_id=actor.id if isinstance(actor, User) else None,
        username=actor.username if isinstance(actor, User) else actor,
        state="queued",
        message=QUEUED_MESSAGE,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def recent_jobs(session: Session, *, limit: int = 50) -> list[Job]:
    """The newest jobs first."""
    return list(session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))


def worker_name() -> str:
    """This process's name in the ``worker`` column: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def requeue_interrupted(session: Session) -> int:
    """Put every ``running`` job back in the queue (a worker starting: whatever was running
    was interrupted); commits and returns how many."""
    changed = session.execute(
        update(Job)
        .where(Job.state == "running")
        .values(state="queued", message="处理中断，已重新排队", worker="", started_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return int(changed or 0)


def claim_next(session: Session, *, worker: str) -> Job | None:
    """Take the oldest queued job for ``worker`` (``running`` from now), or None; commits."""
    while True:
        job_id = session.scalar(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1))
        if job_id is None:
            session.commit()
            return None
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", worker=worker, started_at=utcnow(), attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if taken:
            job = session.get(Job, job_id)
            session.refresh(job)
            return job


def report_progress(session_factory: Callable[[], Session], job_id: int, done: int, total: int, message: str) -> None:
    """Store a job's progress in its own short transaction (the job's own work is not
    committed by it), so the office screen sees it while the job runs."""
    progress_session = session_factory()
    try:
        progress_session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(steps_done=done, steps_total=total, message=message)
            .execution_options(synchronize_session=False)
        )
        progress_session.commit()
    finally:
        progress_session.close()


def run_job(session: Session, job: Job, *, session_factory: Callable[[], Session]) -> Job:
    """Run a claimed job with its handler and store the outcome (audited); commits.

    The handler's writes are committed together with ``succeeded``; on an error they are
    rolled back and the job is ``failed`` with the error's message.
    """
    job_id = job.id

    def progress(done: int, total: int, message: str) -> None:
        report_progress(session_factory, job_id, done, total, message)

    target = f"job:{job_id} {job.kind}"
    try:
        result = HANDLERS[job.kind](JobContext(session=session, job=job, progress=progress))
    except Exception as error:  # any failure of the work fails the job, with its message
        session.rollback()
        job = session.get(Job, job_id)
        job.state = "failed"
        job.error = str(error) or type(error).__name__
        job.message = "处理失败"
        job.finished_at = utcnow()
        audit.record(session, "job.failed", actor=audit.SYSTEM_ACTOR, target=target, detail={"error": job.error[:500]})
        session.commit()
        return job
    session.refresh(job)
    job.state = "succeeded"
    job.result = result
    job.steps_done = job.steps_total = max(job.steps_total, 1)
    job.message = "已完成"
    job.finished_at = utcnow()
    audit.record(session, "job.succeeded", actor=audit.SYSTEM_ACTOR, target=target, detail=result)
    session.commit()
    return job


def run_pending(
    session: Session, *, session_factory: Callable[[], Session], worker: str, limit: int | None = None
) -> int:
    """Run queued jobs one after another until none is left (or ``limit`` ran); how many ran."""
    ran = 0
    while limit is None or ran < limit:
        job = claim_next(session, worker=worker)
        if job is None:
            break
        run_job(session, job, session_factory=session_factory)
        ran += 1
    return ran
