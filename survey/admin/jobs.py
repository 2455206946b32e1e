"""Office jobs (:mod:`survey.services.jobs`): the queue and one job's progress.

A job's page reloads itself every few seconds while the job is queued or running (a
``<meta http-equiv="refresh">``: no JavaScript needed), so the office sees the progress
that ``manyi worker`` writes.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import lazy_gettext as _l

from survey.admin.base import ALL_ROLES, bp, roles_required
from survey.db import get_session
from survey.services import jobs

#: Seconds between reloads of a job's page while it is queued or running.
REFRESH_SECONDS = 3

#: What each state is called on the screen.
JOB_STATE_LABELS = {
    "queued": _l("queued"),
    "running": _l("running"),
    "succeeded": _l("done"),
    "failed": _l("failed"),
}

#: What each kind of job is called on the screen.
JOB_KIND_LABELS = {"publish": _l("Publish results")}


@bp.get("/jobs")
@roles_required(*ALL_ROLES)
def jobs_list():
    return render_template(
        "admin/jobs.html",
        jobs=jobs.recent_jobs(get_session()),
        states=JOB_STATE_LABELS,
        kinds=JOB_KIND_LABELS,
        refresh=REFRESH_SECONDS,
    )


@bp.get("/jobs/<int:job_id>")
@roles_required(*ALL_ROLES)
def job_detail(job_id: int):
    job = jobs.get_job(get_session(), job_id)
    if job is None:
        abort(404)
    return render_template(
        "admin/job.html", job=job, states=JOB_STATE_LABELS, kinds=JOB_KIND_LABELS, refresh=REFRESH_SECONDS
    )
