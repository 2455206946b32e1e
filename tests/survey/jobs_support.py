"""Run the office job queue in tests, as ``manyi worker`` would (issue 12)."""

from __future__ import annotations

from survey.db import database, get_session
from survey.services import jobs


def run_jobs(app) -> int:
    """Run every queued job to its end; how many ran."""
    with app.app_context():
        return jobs.run_pending(get_session(), session_factory=database().sessions, worker="test-worker")


def job_id_of(response) -> int:
    """The job a 303 answer redirects to (``/admin/jobs/<id>``)."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert "/admin/jobs/" in location, location
    return int(location.rstrip("/").rsplit("/", 1)[1])
