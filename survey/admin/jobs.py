"""Office jobs (:mod:`survey.services.jobs`): the queue, one job's progress and its outcome.

A job's page reloads itself every few seconds while the job is queued or running (a
``<meta http-equiv="refresh">``: no JavaScript needed), so the office sees the progress
that ``manyi worker`` writes.  When a job has waited longer than :data:`STALE_AFTER`
without a worker taking it, the page says that the worker may not be running.  When the
job is done the page shows its outcome: the published revision, the import report (as
the import screen showed it before imports became jobs), or the export file to download
(administrators and statisticians only; every download is audited).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import abort, current_app, render_template, send_file
from flask_babel import lazy_gettext as _l

from survey.admin.base import ADMIN, ALL_ROLES, STATISTICIAN, bp, current_account, roles_required
from survey.db import get_session
from survey.models import Job, utcnow
from survey.services import audit, jobs

#: Seconds between reloads of a job's page while it is queued or running.
REFRESH_SECONDS = 3
#: How long a job may wait in the queue before the page warns that no worker seems to run.
STALE_AFTER = dt.timedelta(minutes=1)
#: Who may download an export job's file (as who may export).
EXPORT_ROLES = (ADMIN, STATISTICIAN)

#: What each state is called on the screen.
JOB_STATE_LABELS = {
    "queued": _l("queued"),
    "running": _l("running"),
    "succeeded": _l("done"),
    "failed": _l("failed"),
}

#: What each kind of job is called on the screen.
JOB_KIND_LABELS = {
    "publish": _l("Publish results"),
    "import": _l("Import responses"),
    "export": _l("Export responses"),
}

#: What a failed job of each kind left behind, in plain words (the error itself follows).
JOB_FAILURE_LABELS = {
    "publish": _l("Publishing failed: nothing was published."),
    "import": _l("The file was not imported: nothing was stored."),
    "export": _l("The export failed: no file was made."),
}


def upload_folder() -> Path:
    """Where import uploads wait for their job (``instance/uploads``, outside static)."""
    return Path(current_app.instance_path) / "uploads"


def export_folder() -> Path:
    """Where export jobs write their files (``instance/exports``)."""
    return Path(current_app.instance_path) / "exports"


def waiting_too_long(job: Job, *, now: dt.datetime | None = None) -> bool:
    """Whether ``job`` has been queued longer than :data:`STALE_AFTER` (no worker took it)."""
    return job.state == "queued" and job.created_at is not None and (now or utcnow()) - job.created_at > STALE_AFTER


def _labels() -> dict[str, object]:
    return {"states": JOB_STATE_LABELS, "kinds": JOB_KIND_LABELS, "refresh": REFRESH_SECONDS}


@bp.get("/jobs")
@roles_required(*ALL_ROLES)
def jobs_list():
    recent = jobs.recent_jobs(get_session())
    return render_template(
        "admin/jobs.html", jobs=recent, stale=any(waiting_too_long(job) for job in recent), **_labels()
    )


@bp.get("/jobs/<int:job_id>")
@roles_required(*ALL_ROLES)
def job_detail(job_id: int):
    job = jobs.get_job(get_session(), job_id)
    if job is None:
        abort(404)
    download = None
    if job.kind == "export" and current_account().role in EXPORT_ROLES:
        download = jobs.export_path(export_folder(), job)
    return render_template(
        "admin/job.html",
        job=job,
        stale=waiting_too_long(job),
        report=jobs.ImportOutcome.from_result(job.result) if job.kind == "import" else None,
        failure=JOB_FAILURE_LABELS.get(job.kind),
        download=download,
        expired=job.kind == "export" and job.state == "succeeded" and download is None,
        **_labels(),
    )


@bp.get("/jobs/<int:job_id>/download")
@roles_required(*EXPORT_ROLES)
def job_download(job_id: int):
    """The file of a finished export job (audited); 404 once it was deleted after 7 days."""
    db = get_session()
    job = jobs.get_job(db, job_id)
    path = jobs.export_path(export_folder(), job) if job is not None else None
    if job is None or path is None:
        abort(404)
    result = job.result or {}
    audit.record(
        db,
        "export.download",
        actor=current_account(),
        target=audit.wave_target(str(result.get("wave", ""))),
        detail={"job": job.id, "file": str(result.get("filename", "")), "rows": result.get("rows")},
    )
    db.commit()
    return send_file(
        path,
        mimetype=str(result.get("content_type") or "application/octet-stream"),
        as_attachment=True,
        download_name=str(result.get("filename") or path.name),
        max_age=0,
    )
