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

**Kinds.**  ``publish`` scores and publishes a wave (refused while another publish job
of the same wave is queued or running: :func:`submit_publish`).  ``import`` reads an
uploaded CSV that the web request saved under ``instance/uploads/`` (:func:`save_upload`,
mode 0600) and stores it as a *staged* import (short write transactions, see
:mod:`survey.services.imports`); the file is deleted when the job ends, whatever the
outcome, and the job's result holds the import report (:class:`ImportOutcome`).
``export`` writes a whole-wave export to ``instance/exports/`` (mode 0600), downloadable
from the job's page; :func:`purge_expired_exports` (run by the worker) deletes such files
after :data:`EXPORT_KEEP`.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey.models import Job, User, Wave, utcnow
from survey.services import audit


class JobError(ValueError):
    """A job that cannot be submitted or run (the message says why and how to fix it)."""


class JobBusy(JobError):
    """The same work is already queued or running: :attr:`job` is that job."""

    def __init__(self, message: str, job: Job) -> None:
        super().__init__(message)
        self.job = job


class JobFailed(Exception):
    """A handler's failure that still has a result to keep (e.g. a rejected import's
    report); the handler has committed what must stay (its audit record)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


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


def _remove(path: str | os.PathLike[str]) -> None:
    Path(path).unlink(missing_ok=True)


def _import(context: JobContext) -> dict[str, Any]:
    """Import the uploaded file of the job as a staged import; delete the file after."""
    from survey.services.imports import discard_staged, import_responses

    job = context.job
    parameters = job.parameters or {}
    path = str(parameters.get("path", ""))
    try:
        if job.wave is None:
            raise JobError("an import job needs a wave")
        wave = job.wave
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise JobError(f"the uploaded file is gone ({error.strerror}); upload it again") from error
        actor: User | str = context.session.get(User, job.user_id) if job.user_id is not None else job.username
        discard_staged(context.session, wave)  # left by an interrupted run of an import
        report = import_responses(
            context.session,
            wave,
            data,
            channel=str(parameters.get("channel", "")),
            actor=actor or audit.SYSTEM_ACTOR,
            filename=str(parameters.get("filename", ""))[:200],
            new_ids=bool(parameters.get("new_ids", False)),
            staged=True,
            progress=context.progress,
        )
        outcome = ImportOutcome.of(report)
        if not report.ok:
            context.session.commit()  # the rejection's audit record stays
            raise JobFailed(report.summary(), outcome.as_result())
        return outcome.as_result()
    finally:
        if path:
            _remove(path)


#: How long a whole-wave export file stays on the server for download.
EXPORT_KEEP = dt.timedelta(days=7)


def _export(context: JobContext) -> dict[str, Any]:
    """Export the job's wave to a file in the job's export folder (0600); audited as today."""
    from survey.services.exports import export_wave

    job = context.job
    if job.wave is None:
        raise JobError("an export job needs a wave")
    parameters = job.parameters or {}
    folder = Path(str(parameters.get("folder", "")))
    if not folder.is_absolute():
        raise JobError("an export job needs the absolute path of its folder")
    partial, comments = bool(parameters.get("include_partial")), bool(parameters.get("include_comments"))
    file_format = str(parameters.get("format", ""))
    context.progress(1, 2, "正在导出数据")
    exported = export_wave(context.session, job.wave, file_format, include_partial=partial, include_comments=comments)
    stored = _write_private(folder, exported.data, suffix=Path(exported.filename).suffix)
    actor: User | str = context.session.get(User, job.user_id) if job.user_id is not None else job.username
    audit.record_export(
        context.session,
        actor=actor or audit.SYSTEM_ACTOR,
        wave_code=job.wave.code,
        file_format=file_format,
        rows=exported.rows,
        partial=partial,
        comments=comments,
    )
    return {
        "wave": job.wave.code,
        "filename": exported.filename,
        "stored_as": stored.name,
        "content_type": exported.content_type,
        "rows": exported.rows,
        "bytes": len(exported.data),
        "expires_at": (utcnow() + EXPORT_KEEP).isoformat(),
    }


#: The kinds of job and what runs them.
HANDLERS: dict[str, Handler] = {"publish": _publish, "import": _import, "export": _export}
#: States of a job that has not ended.
ACTIVE_STATES: tuple[str, ...] = ("queued", "running")
#: The suffixes an import upload may have.
UPLOAD_SUFFIXES: tuple[str, ...] = (".csv",)


@dataclass(frozen=True)
class ImportOutcome:
    """An import report as kept in an import job's result, shown like the import screen's
    report (:class:`survey.services.imports.ImportReport`: ``ok``, ``summary()``, ``lines()``)."""

    wave: str
    channel: str
    filename: str
    sha256: str
    rows_read: int
    stored: int
    summary_text: str
    problem_lines: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problem_lines

    def summary(self) -> str:
        return self.summary_text

    def lines(self) -> list[str]:
        return list(self.problem_lines)

    @classmethod
    def of(cls, report: Any) -> ImportOutcome:
        return cls(
            wave=report.wave,
            channel=report.channel,
            filename=report.filename,
            sha256=report.sha256,
            rows_read=report.rows_read,
            stored=report.stored,
            summary_text=report.summary(),
            problem_lines=tuple(report.lines()),
        )

    def as_result(self) -> dict[str, Any]:
        return {
            "import": {
                "wave": self.wave,
                "channel": self.channel,
                "filename": self.filename,
                "sha256": self.sha256,
                "rows_read": self.rows_read,
                "stored": self.stored,
                "summary": self.summary_text,
                "problems": list(self.problem_lines),
            }
        }

    @classmethod
    def from_result(cls, result: dict[str, Any] | None) -> ImportOutcome | None:
        stored = (result or {}).get("import")
        if not isinstance(stored, dict):
            return None
        return cls(
            wave=str(stored.get("wave", "")),
            channel=str(stored.get("channel", "")),
            filename=str(stored.get("filename", "")),
            sha256=str(stored.get("sha256", "")),
            rows_read=int(stored.get("rows_read", 0)),
            stored=int(stored.get("stored", 0)),
            summary_text=str(stored.get("summary", "")),
            problem_lines=tuple(str(line) for line in stored.get("problems", [])),
        )


#: The progress message of a job nobody has started yet.
QUEUED_MESSAGE = "排队等候处理"
#: The progress message of a job a worker has just taken.
STARTED_MESSAGE = "开始处理"


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


def active_job(session: Session, kind: str, wave: Wave) -> Job | None:
    """The queued or running job of ``kind`` for ``wave``, if any."""
    return session.scalar(
        select(Job).where(Job.kind == kind, Job.wave_id == wave.id, Job.state.in_(ACTIVE_STATES)).order_by(Job.id)
    )


def submit_publish(session: Session, wave: Wave, *, actor: User | str, reason: str = "", pdf: bool = True) -> Job:
    """Queue publishing ``wave``, after the checks that need no scoring; the caller commits.

    Raises
    ------
    JobBusy
        When a publish job of the wave is already queued or running.
    survey.services.publication.PublicationError
        When publishing would be refused (e.g. a new revision without a reason).
    """
    from survey.services.publication import check_can_publish

    running = active_job(session, "publish", wave)
    if running is not None:
        raise JobBusy(f"wave {wave.code} is already being published (job {running.id}); wait for it to end", running)
    check_can_publish(session, wave, reason)
    return submit(session, "publish", actor=actor, wave=wave, parameters={"reason": reason or "", "pdf": pdf})


def _write_private(folder: Path, data: bytes | Iterable[bytes], *, suffix: str) -> Path:
    """Write ``data`` to a new file with a random name in ``folder`` (created 0700), mode 0600."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        if isinstance(data, bytes):
            handle.write(data)
        else:
            for chunk in data:
                handle.write(chunk)
    return path


def save_upload(stream: BinaryIO, folder: str | os.PathLike[str], *, filename: str) -> Path:
    """Save an uploaded import file under ``folder`` with a random name (mode 0600).

    Raises
    ------
    JobError
        For a file whose name does not end in one of :data:`UPLOAD_SUFFIXES`, or an empty file.
    """
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise JobError(
            f"the file {filename!r} is not a CSV file; save the sheet as CSV (UTF-8) and upload the .csv file"
        )
    path = _write_private(Path(folder), iter(lambda: stream.read(1024 * 1024), b""), suffix=suffix)
    if path.stat().st_size == 0:
        _remove(path)
        raise JobError("the file is empty; it needs a header row and one row per response")
    return path


def export_path(folder: str | os.PathLike[str], job: Job) -> Path | None:
    """The file of a succeeded export job, if it is still kept (not purged)."""
    if job.kind != "export" or job.state != "succeeded" or not job.result:
        return None
    name = str(job.result.get("stored_as", ""))
    if not name or Path(name).name != name:
        return None
    path = Path(folder) / name
    return path if path.is_file() else None


def purge_expired_exports(folder: str | os.PathLike[str], *, now: dt.datetime | None = None) -> int:
    """Delete export files older than :data:`EXPORT_KEEP` in ``folder``; how many."""
    base = Path(folder)
    if not base.is_dir():
        return 0
    limit = (now or utcnow()) - EXPORT_KEEP
    removed = 0
    for path in base.iterdir():
        if path.is_file() and dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < limit:
            _remove(path)
            removed += 1
    return removed


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
            .values(
                state="running", worker=worker, started_at=utcnow(), attempts=Job.attempts + 1, message=STARTED_MESSAGE
            )
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
        session.refresh(job)
        job.state = "failed"
        if isinstance(error, JobFailed):
            job.result = error.result
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
