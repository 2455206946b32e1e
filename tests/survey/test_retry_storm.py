"""Retry storm, on SQLite and PostgreSQL: simulated residents send 20% of their POSTs
twice with the same one-time submission key — half after the first reply (a browser
retrying when the reply was lost), half at the same moment on a second connection (a
double tap) — and nothing is stored twice.

A small form of ``benchmarks/retry_storm.py``: real HTTP clients (:mod:`benchmarks.client`)
against a real gunicorn with two workers, so repeats race across processes.  Checked by
keys (:mod:`benchmarks.verify`): every acknowledged survey stored exactly once, exactly
one response per survey that tapped "start", every repeat led where the first send led.
"""

from __future__ import annotations

import pytest

from benchmarks.retry_storm import storm
from benchmarks.servers import Site
from tests.survey.respond_support import make_wave


@pytest.fixture
def site(app, database_url, tmp_path) -> Site:
    tokens = {"hosp-01": make_wave(app), "bus-01": make_wave(app, point_code="bus-01", focus=None)}
    app.extensions["manyi_db"].engine.dispose()
    instance = tmp_path / "gunicorn-instance"
    instance.mkdir()
    return Site(instance, database_url, tokens)


def test_repeated_posts_with_the_same_key_store_nothing_twice(site):
    result = storm(site, residents=10, duration=None, flows_per_resident=3, retry_fraction=0.2, workers=2)

    assert "error" not in result, result
    assert result["surveys_acknowledged"] == 30, result
    assert result["repeats_after_reply"] >= 5 and result["repeats_at_same_time"] >= 5
    assert result["repeats_leading_elsewhere"] == 0
    assert result["errors"] == 0, result["error_examples"]
    assert result["duplicates"] == 0
    verification = result["verification"]
    assert verification["stored_exactly_once"] == verification["acknowledged"] == 30, result["verification_problems"]
    assert verification["responses_created"] == verification["responses_expected"] == 30
    assert verification["incomplete_submitted"] == 0
    assert result["ok"]
