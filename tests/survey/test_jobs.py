"""Office work as jobs (issue 12, medium 7): the ``jobs`` table and ``manyi worker``."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey.cli import main
from survey.db import database, get_session
from survey.models import Job, Publication, Response, utcnow
from survey.services import jobs
from survey.services.waves import get_wave
from tests.survey.admin_support import (
    audit_events,
    english,
    make_user,
    make_wave,
    post,
    signed_in,
    synthetic_wave,
)
from tests.survey.jobs_support import job_id_of, run_jobs
from tests.survey.test_imports import _csv as _import_csv


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


def test_the_worker_publishes_a_queued_wave_and_audits_it(app, runner, rendering_stand_in):
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
    with (
        app.app_context(),
        pytest.raises(jobs.JobError, match="unknown job kind 'reindex'; use one of export, import, publish"),
    ):
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


# --------------------------------------------------------------------------- the office's buttons are jobs


def test_the_publish_button_queues_a_job_that_the_worker_runs(app, rendering_stand_in):
    """The publish form queues a job and opens its page; a second publish of the same wave
    while it waits is refused (sent to the waiting job); the worker publishes, audited."""
    synthetic_wave(app, responses=300, seed=5)
    client = english(signed_in(app, "publisher"))
    page = "/admin/waves/2025/publication"
    queued = post(client, "/admin/waves/2025/publish", {"confirm": "y"}, page=page)
    job_id = job_id_of(queued)
    again = post(client, "/admin/waves/2025/publish", {"confirm": "y"}, page=page)
    assert job_id_of(again) == job_id  # the running job, not a second one
    with app.app_context():
        session = get_session()
        assert session.scalar(select(Publication)) is None
        assert [job.id for job in jobs.recent_jobs(session)] == [job_id]
        with pytest.raises(jobs.JobBusy, match="already being published"):
            jobs.submit_publish(session, get_wave(session, "2025"), actor="cli")
    assert "already being published" in client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert run_jobs(app) == 1
    with app.app_context():
        publication = get_session().scalar(select(Publication))
        assert publication.revision == 1 and publication.published_by == "publisher-user"
    [published] = audit_events(app, "publication")
    assert published.username == "publisher-user"
    [event] = audit_events(app, "job.succeeded")
    assert event.target == f"job:{job_id} publish"
    done = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "Revision 1 is published" in done and 'href="/results/2025"' in done


def test_no_web_request_runs_the_long_work(app, monkeypatch):
    """Publishing, importing and exporting a wave are never run inside a request: with
    the services made to fail, the buttons still answer (each queues a job)."""
    import survey.services.exports as exports_service
    import survey.services.imports as imports_service
    import survey.services.publication as publication_service

    synthetic_wave(app, responses=200, seed=3)

    def refuse(*_args, **_kwargs):
        raise AssertionError("run inside a web request")

    monkeypatch.setattr(publication_service, "publish_wave", refuse)
    monkeypatch.setattr(imports_service, "import_responses", refuse)
    monkeypatch.setattr(exports_service, "export_wave", refuse)
    publisher = english(signed_in(app, "publisher"))
    job_id_of(post(publisher, "/admin/waves/2025/publish", {"confirm": "y"}, page="/admin/waves/2025/publication"))
    statistician = english(signed_in(app, "statistician"))
    upload = {"wave": "2025", "channel": "paper", "file": (io.BytesIO(b"response_id,town\n"), "p.csv")}
    job_id_of(post(statistician, "/admin/imports", upload, page="/admin/imports", content_type="multipart/form-data"))
    job_id_of(post(statistician, "/admin/exports", {"wave": "2025", "format": "xlsx"}, page="/admin/exports"))
    assert run_jobs(app) == 3
    with app.app_context():
        ended = {job.kind: (job.state, job.error) for job in jobs.recent_jobs(get_session())}
    assert ended == {kind: ("failed", "run inside a web request") for kind in ("publish", "import", "export")}
    assert list((Path(app.instance_path) / "uploads").iterdir()) == []  # deleted after the failed job


def test_a_staged_import_that_fails_midway_leaves_nothing(app, monkeypatch):
    """The import job writes in short batches; when a later batch fails, the batches
    already committed are deleted again: nothing is stored, the file is gone."""
    import survey.services.imports as imports_service

    make_wave(app)
    monkeypatch.setattr(imports_service, "STAGE_BATCH", 2)
    original = imports_service._store
    calls = []

    def failing_second_batch(*args, **kwargs):
        calls.append(kwargs.get("state"))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(imports_service, "_store", failing_second_batch)
    rows = [f"P-{number:03d},xicheng,female,60+,120,,4,5,4,,healthcare" for number in range(5)]
    client = english(signed_in(app, "statistician"))
    upload = {"wave": "2025", "channel": "paper", "file": (io.BytesIO(_import_csv(*rows)), "p.csv")}
    job_id = job_id_of(
        post(client, "/admin/imports", upload, page="/admin/imports", content_type="multipart/form-data")
    )
    assert run_jobs(app) == 1
    assert calls == ["staged", "staged"]
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        job = session.get(Job, job_id)
        assert (job.state, job.error) == ("failed", "disk full")
    assert list((Path(app.instance_path) / "uploads").iterdir()) == []
    assert audit_events(app, "import") == []
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "The file was not imported: nothing was stored." in page


def test_a_staged_import_stores_every_row_in_batches(app, monkeypatch):
    import survey.services.imports as imports_service

    make_wave(app)
    monkeypatch.setattr(imports_service, "STAGE_BATCH", 2)
    rows = [f"P-{number:03d},xicheng,female,60+,120,,4,5,4,,healthcare" for number in range(5)]
    client = english(signed_in(app, "statistician"))
    upload = {"wave": "2025", "channel": "phone", "file": (io.BytesIO(_import_csv(*rows)), "p.csv")}
    job_id = job_id_of(
        post(client, "/admin/imports", upload, page="/admin/imports", content_type="multipart/form-data")
    )
    assert run_jobs(app) == 1
    with app.app_context():
        session = get_session()
        states = session.execute(select(Response.state, func.count()).group_by(Response.state)).all()
        assert [tuple(row) for row in states] == [("submitted", 5)]
        job = session.get(Job, job_id)
        assert job.state == "succeeded" and job.result["import"]["stored"] == 5
    [event] = audit_events(app, "import")
    assert event.username == "statistician-user" and event.detail["stored"] == 5


def test_only_those_who_may_export_download_an_export(app):
    synthetic_wave(app, responses=200, seed=3)
    statistician = english(signed_in(app, "statistician"))
    job_id = job_id_of(post(statistician, "/admin/exports", {"wave": "2025", "format": "csv"}, page="/admin/exports"))
    assert run_jobs(app) == 1
    publisher = english(signed_in(app, "publisher"))
    page = publisher.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert f"/admin/jobs/{job_id}/download" not in page
    assert publisher.get(f"/admin/jobs/{job_id}/download").status_code == 403
    assert audit_events(app, "export.download") == []
    assert statistician.get(f"/admin/jobs/{job_id}/download").status_code == 200
    # After 7 days the worker deletes the file: the page says so and the link is gone.
    [stored] = (Path(app.instance_path) / "exports").iterdir()
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(stored, (eight_days_ago, eight_days_ago))
    assert jobs.purge_expired_exports(Path(app.instance_path) / "exports") == 1
    assert statistician.get(f"/admin/jobs/{job_id}/download").status_code == 404
    assert "export the wave again" in statistician.get(f"/admin/jobs/{job_id}").get_data(as_text=True)


def test_a_job_nobody_runs_says_to_check_the_worker(app):
    make_wave(app)
    job_id = _submit(app, "2025", pdf=False)
    office = signed_in(app, "statistician")
    assert "manyi worker" not in office.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    with app.app_context():
        session = get_session()
        session.get(Job, job_id).created_at = utcnow() - dt.timedelta(minutes=2)
        session.commit()
    warning = "排队超过 1 分钟，请确认后台处理程序（manyi worker）正在运行"
    assert warning in office.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert warning in office.get("/admin/jobs").get_data(as_text=True)


def test_a_resident_submitting_while_the_wave_is_read_does_not_break_publishing(app, monkeypatch):
    """Found by ``benchmarks/bench_jobs.py``: a publish job failed with "index 61208 is out of
    bounds" because a resident submitted between the read of the wave's responses and the
    read of their answers (two statements, two snapshots).  The answers of a response that
    was not in the first read are left out; nobody's answers land on another's row."""
    import survey.adapter as adapter
    from survey.adapter import wave_responses_frame
    from survey.models import AnswerSet

    synthetic_wave(app, responses=60, seed=3)
    original = adapter._fetch_raw
    calls = []

    def then_a_resident_submits(session, query):
        rows = original(session, query)
        calls.append(len(rows))
        if len(calls) == 1:
            other = database(app).sessions()
            try:
                model = other.scalars(
                    select(Response).where(Response.state == "submitted").order_by(Response.id)
                ).first()
                late = Response(
                    uid="late-1",
                    wave_id=model.wave_id,
                    point_id=model.point_id,
                    channel=model.channel,
                    state="submitted",
                    town_code=model.town_code,
                    sex=model.sex,
                    age_group=model.age_group,
                    started_at=utcnow(),
                    updated_at=utcnow(),
                    submitted_at=utcnow(),
                )
                other.add(late)
                other.flush()
                for answers in model.answer_sets:
                    other.add(AnswerSet(response_id=late.id, version_id=answers.version_id, answers=answers.answers))
                other.commit()
            finally:
                other.close()
        return rows

    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        expected = wave_responses_frame(session, wave)
        session.commit()
        monkeypatch.setattr(adapter, "_fetch_raw", then_a_resident_submits)
        frame = wave_responses_frame(session, wave)
    assert calls and len(frame) == len(expected) == 60 and "late-1" not in set(frame["response_id"])
    assert frame.equals(expected)
