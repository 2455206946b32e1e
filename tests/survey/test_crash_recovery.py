"""Crash recovery, on SQLite and PostgreSQL: ``kill -9`` of a gunicorn master and all its
workers while simulated residents are answering; restart; every survey acknowledged
before or after the crash is stored exactly once, nothing half-written is visible as
submitted, and SQLite's ``PRAGMA integrity_check`` says ``ok``.

A small form of ``benchmarks/crash.py`` (which runs 50 residents on 4 workers): the
residents are real HTTP clients (:mod:`benchmarks.client`) against a real gunicorn; the
interrupted ones carry on after the restart as a phone would (the same GET again, or the
same POST with the same one-time key).  The assertions are about what the database
holds, never about how long anything took.
"""

from __future__ import annotations

import pytest

from benchmarks.crash import crash_once
from benchmarks.servers import Site
from tests.survey.respond_support import make_wave

WORKERS = 2


@pytest.fixture
def site(app, database_url, tmp_path) -> Site:
    """The test database with an open wave and two points, and an instance folder for
    gunicorn (its own secret key, the shipped settings)."""
    tokens = {"hosp-01": make_wave(app), "bus-01": make_wave(app, point_code="bus-01", focus=None)}
    app.extensions["manyi_db"].engine.dispose()
    instance = tmp_path / "gunicorn-instance"
    instance.mkdir()
    return Site(instance, database_url, tokens)


def test_kill_9_mid_load_loses_nothing_acknowledged_and_shows_nothing_half_written(site):
    result = crash_once(site, residents=12, kill_after=2.5, workers=WORKERS)

    assert "error" not in result, result
    assert result["processes_killed"] == WORKERS + 1  # the master and every worker, at once
    assert result["requests_cut_by_kill"] >= 1  # requests really were in flight
    assert result["surveys_still_unfinished"] == 0, result["unfinished_errors"]  # all finished after the restart
    verification = result["verification"]
    assert verification["acknowledged"] >= 12
    assert verification["stored_exactly_once"] == verification["acknowledged"], result["verification_problems"]
    assert verification["missing"] == verification["duplicated"] == verification["key_mismatches"] == 0
    assert verification["incomplete_submitted"] == 0  # nothing half-written visible as submitted
    assert verification["unexpected_responses"] == verification["surveys_with_two_responses"] == 0
    assert verification["invalid_bytes"] == 0
    if site.database_url.startswith("sqlite"):
        assert verification["integrity_check"] == "ok"
        assert verification["foreign_key_violations"] == 0
    assert result["ok"], result["verification_problems"]
