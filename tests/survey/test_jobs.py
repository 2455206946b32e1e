"""Office work as jobs (issue 12, medium 7): the ``jobs`` table and ``manyi worker``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.cli import main
from survey.db import database, get_session
from survey.models import Job, Publication
from survey.services import jobs
from survey.services.waves import get_wave
from tests.survey.admin_support import audit_events, make_user, make_wave, signed_in, synthetic_wave


def _submit(app, code: str, **parameters) -> int:
    with app.app_context():
        session = get_session()
        make_user(app, "pub", "publisher")
        from survey.services.accounts import find_user

        job = jobs.submit(
            session, "publish", actor=find_user(session, "pub"), wave=get_wave(session, code), parameters=parameters
        )
        session.commit()
        assert (job.state, job.message) == ("queued", jobs.QUEUED_MESSAGE)
        return job.id


def _job(app, job_id: int) -> Job:
    with app.app_context():
        session = get_session()
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def test_the_worker_publishes_a_queued_wave_and_audits_it(app, runner):
    synthetic_wave(app, responses=300, seed=5)
    job_id = _submit(app, "2025", pdf=False)
    result = runner.invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) run" in result.output
    job = _job(app, job_id)
    assert job.state == "succeeded" and job.error == ""
    assert job.result == {"publication_revision": 1, "wave": "2025"}
    assert (job.steps_done, job.steps_total, job.message) == (2, 2, "已完成")
    assert job.username == "pub" and job.attempts == 1 and job.finished_at >= job.started_at
    with app.app_context():
        publication = get_session().scalar(select(Publication))
        assert publication.revision == 1 and publication.published_by == "pub"
    [event] = audit_events(app, "job.succeeded")
    assert event.target == f"job:{job_id} publish" and event.detail["publication_revision"] == 1
    page = signed_in(app, "publisher").get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "第 1 版已发布" in page and 'href="/results/2025"' in page and 'http-equiv="refresh"' not in page


def test_a_failed_job_keeps_its_error_and_stores_nothing(app, runner):
    make_wave(app)  # no responses: the scoring refuses
    job_id = _submit(app, "2025", pdf=False)
    assert runner.invoke(main, ["worker", "--once"]).exit_code == 0
    job = _job(app, job_id)
    assert job.state == "failed" and job.message == "处理失败"
    assert job.error == "wave 2025 has no submitted responses yet; nothing was published"
    with app.app_context():
        assert get_session().scalar(select(Publication)) is None
    [event] = audit_events(app, "job.failed")
    assert event.detail["error"] == job.error[:500]


def test_a_worker_restart_queues_the_interrupted_job_again(app, runner):
    """A worker that died mid-job left it ``running``: the next worker runs it again."""
    make_wave(app)
    job_id = _submit(app, "2025", pdf=False)
    with app.app_context():
        session = get_session()
        claimed = jobs.claim_next(session, worker="dead-host:1")
        assert claimed.id == job_id and claimed.state == "running"
        assert jobs.claim_next(session, worker="other-host:2") is None  # taken once only
    result = runner.invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 interrupted job(s) queued again" in result.output
    job = _job(app, job_id)
    assert job.attempts == 2 and job.state == "failed" and job.worker != "dead-host:1"  # run again, to its end


def test_progress_is_stored_while_the_job_runs(app):
    """The handler's progress is committed in its own transaction: another session sees it
    before the job ends."""
    make_wave(app)
    job_id = _submit(app, "2025")
    seen = []

    def watching(context: jobs.JobContext) -> dict:
        context.progress(3, 7, "正在读取答卷")
        with app.app_context():
            other = database().sessions()
            try:
                stored = other.get(Job, job_id)
                seen.append((stored.state, stored.steps_done, stored.steps_total, stored.message))
            finally:
                other.close()
        return {"ok": True}

    handlers = dict(jobs.HANDLERS, publish=watching)
    with app.app_context():
        session = get_session()
        original = jobs.HANDLERS
        jobs.HANDLERS = handlers
        try:
            ran = jobs.run_pending(session, session_factory=database().sessions, worker="test:1")
        finally:
            jobs.HANDLERS = original
    assert ran == 1
    assert seen == [("running", 3, 7, "正在读取答卷")]
    assert _job(app, job_id).state == "succeeded"


def test_an_unknown_kind_is_refused(app):
    with app.app_context(), pytest.raises(jobs.JobError, match="unknown job kind 'reindex'; use one of publish"):
        jobs.submit(get_session(), "reindex", actor="cli")


def test_the_job_page_shows_progress_and_reloads_itself_until_the_end(app, runner):
    """The office sees a job's progress without JavaScript: the page reloads itself while
    the job is queued or running, and says how it ended."""
    make_wave(app)
    job_id = _submit(app, "2025", pdf=False)
    with app.app_context():
        jobs.report_progress(database().sessions, job_id, 1, 2, "正在计算结果并生成报告")
    assert app.test_client().get(f"/admin/jobs/{job_id}").status_code == 302  # strangers sign in first
    office = signed_in(app, "statistician")
    page = office.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "排队中" in page and "1/2 正在计算结果并生成报告" in page and "发布结果" in page
    listing = office.get("/admin/jobs").get_data(as_text=True)
    assert f'href="/admin/jobs/{job_id}"' in listing and 'http-equiv="refresh"' in listing
    assert runner.invoke(main, ["worker", "--once"]).exit_code == 0
    ended = office.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in ended
    assert "失败" in ended and "wave 2025 has no submitted responses yet; nothing was published" in ended
    assert office.get("/admin/jobs/999999").status_code == 404
