"""Responses are deleted once their retention period has passed (the privacy notice's promise)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from survey.cli import main
from survey.models import AnswerSet, AuditEvent, Response
from survey.services.answers import pack
from survey.services.audit import cli_actor
from survey.services.retention import expired_waves, purge_wave_responses
from survey.services.waves import create_wave, set_wave_state


def _wave_with_responses(session, code, *, closes_at=None, state="closed", responses=2):
    wave = create_wave(session, code)
    set_wave_state(session, wave, state)
    wave.closes_at = closes_at
    version = wave.questionnaires[0].version
    for number in range(responses):
        response = Response(uid=f"{code}-{number}".ljust(32, "x"), wave=wave, state="submitted", comment="私人意见")
        response.answer_sets.append(AnswerSet(version_id=version.id, answers=pack(version.likert_codes, {})))
        session.add(response)
    session.commit()
    return wave


def test_only_waves_past_retention_are_listed(session):
    now = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    old = _wave_with_responses(session, "2025", closes_at=dt.datetime(2025, 12, 31, tzinfo=dt.UTC))
    _wave_with_responses(session, "2028", closes_at=dt.datetime(2028, 12, 31, tzinfo=dt.UTC))
    _wave_with_responses(session, "2029", state="open")
    listed = expired_waves(session, years=3, now=now)
    assert [item.code for item in listed] == ["2025"]
    assert listed[0].responses == 2
    assert purge_wave_responses(session, old) == 2
    session.commit()
    assert session.scalar(select(func.count()).select_from(Response)) == 4
    assert session.scalar(select(func.count()).select_from(AnswerSet)) == 4


def test_cli_dry_run_then_purge(app, session):
    _wave_with_responses(session, "2019", closes_at=dt.datetime(2019, 12, 31, tzinfo=dt.UTC))
    _wave_with_responses(session, "2099", closes_at=dt.datetime(2099, 12, 31, tzinfo=dt.UTC), state="open")
    runner = app.test_cli_runner()
    dry = runner.invoke(main, ["purge-expired", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "wave 2019" in dry.output and "nothing deleted" in dry.output
    assert session.scalar(select(func.count()).select_from(Response)) == 4
    done = runner.invoke(main, ["purge-expired", "--yes"])
    assert done.exit_code == 0, done.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Response)) == 2
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.purge"))
    assert event.target == "wave 2019" and event.detail["responses"] == 2
    assert event.username == cli_actor()  # who ran it, as every other command records (not a bare "cli")
    again = runner.invoke(main, ["purge-expired", "--yes"])
    assert "nothing to delete" in again.output
