"""The data model and the answer storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from survey.adapter import FIXED_COLUMNS, wave_responses_frame
from survey.models import AnswerSet, CollectionPoint, Response, Wave
from survey.services.answers import NA, decode_matrix, pack, unpack
from survey.services.responses import insert_frame
from survey.services.waves import WaveError, add_point, create_wave, set_wave_state, wave_is_accepting


def test_pack_and_unpack_round_trip():
    codes = ["a.x", "a.y", "a.z", "a.overall"]
    packed = pack(codes, {"a.x": 5, "a.y": NA, "a.overall": 1})
    assert packed == bytes([5, 255, 0, 1])
    assert unpack(codes, packed) == {"a.x": 5, "a.y": NA, "a.overall": 1}
    matrix = decode_matrix([packed, pack(codes, {"a.z": 3})], len(codes))
    np.testing.assert_array_equal(matrix[0], [5, np.nan, np.nan, 1])
    np.testing.assert_array_equal(matrix[1], [np.nan, np.nan, 3, np.nan])
    with pytest.raises(ValueError, match="outside the scale"):
        pack(codes, {"a.x": 0})


def test_wave_pins_current_versions(session):
    wave = create_wave(session, "2025")
    session.commit()
    assert wave.state == "draft"
    assert {wq.questionnaire_id for wq in wave.questionnaires} >= {"common", "education", "government_services"}
    assert len(wave.questionnaires) == 13
    with pytest.raises(WaveError, match="already exists"):
        create_wave(session, "2025")
    with pytest.raises(WaveError, match="not allowed"):
        create_wave(session, "20 25")


def test_wave_accepting_window(session):
    import datetime as dt

    wave = create_wave(session, "w1")
    assert not wave_is_accepting(wave)
    set_wave_state(session, wave, "open")
    assert wave_is_accepting(wave)
    now = dt.datetime.now(dt.UTC)
    wave.opens_at = now + dt.timedelta(days=1)
    assert not wave_is_accepting(wave, now)
    wave.opens_at, wave.closes_at = now - dt.timedelta(days=2), now - dt.timedelta(days=1)
    assert not wave_is_accepting(wave, now)


def test_points_have_unguessable_unique_tokens(session):
    wave = create_wave(session, "2025")
    first = add_point(
        session, wave, code="hosp-01", town="xicheng", place="区人民医院门诊大厅", focus_domain="healthcare"
    )
    second = add_point(session, wave, code="hall-01", town="jinan", place="纪南镇便民服务中心")
    session.commit()
    assert first.token != second.token and len(first.token) >= 22
    with pytest.raises(WaveError, match="unknown town"):
        add_point(session, wave, code="x-01", town="atlantis", place="somewhere")
    with pytest.raises(WaveError, match="unknown domain"):
        add_point(session, wave, code="x-02", town="jinan", place="somewhere", focus_domain="tourism")
    with pytest.raises(WaveError, match="already has a point"):
        add_point(session, wave, code="hosp-01", town="jinan", place="somewhere")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3"],
            "wave": "2025",
            "channel": "qr",
            "point": ["hosp-01", "hosp-01", ""],
            "town": ["xicheng", "jinan", "jinan"],
            "sex": ["female", "male", "female"],
            "age_group": ["60+", "18-29", "30-44"],
            "duration_s": [120.0, 95.5, np.nan],
            "submitted_at": ["2025-06-01T08:00:00+00:00", "2025-06-02T09:30:00+00:00", "2025-06-03T10:00:00+00:00"],
            "healthcare.appointment": [4.0, np.nan, 2.0],
            "healthcare.overall": [5.0, 3.0, np.nan],
            "education.fees": [np.nan, 1.0, np.nan],
            "overall": [4.0, 2.0, 5.0],
            "services_used": ["healthcare", "healthcare;education", "healthcare"],
            "flags": ["", "duplicate_browser", ""],
        }
    )


def test_bulk_insert_and_export_round_trip(session):
    wave = create_wave(session, "2025")
    add_point(session, wave, code="hosp-01", town="xicheng", place="区人民医院门诊大厅")
    session.flush()
    not_applicable = {"healthcare.appointment": np.array([False, True, False])}
    assert insert_frame(session, wave, _frame(), channel="paper", not_applicable=not_applicable) == 3
    session.commit()

    stored = session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.state for r in stored] == ["submitted"] * 3
    assert stored[0].point.code == "hosp-01" and stored[2].point_id is None
    assert stored[1].submitted_at.tzinfo == dt.UTC and stored[1].submitted_at.hour == 9
    assert stored[1].flags == "duplicate_browser"
    # Only the questionnaires a response touched get an answer set.
    assert session.scalar(select(func.count()).select_from(AnswerSet)) == 3 + 1 + 3

    exported = wave_responses_frame(session, wave)
    assert list(exported.columns[: len(FIXED_COLUMNS)]) == list(FIXED_COLUMNS)
    items = [c for c in exported.columns if "." in c or c == "overall"]
    assert items.index("education.fees") < items.index("healthcare.appointment") < items.index("overall")
    assert len(items) == sum(len(wq.version.likert_codes) for wq in wave.questionnaires)
    np.testing.assert_array_equal(exported["healthcare.overall"].to_numpy(), [5, 3, np.nan])
    np.testing.assert_array_equal(exported["healthcare.appointment"].to_numpy(), [4, np.nan, 2])
    np.testing.assert_array_equal(exported["overall"].to_numpy(), [4, 2, 5])
    assert exported["point"].tolist() == ["hosp-01", "hosp-01", ""]
    assert exported["channel"].tolist() == ["paper"] * 3
    assert exported["services_used"].tolist()[1] == "healthcare;education"
    # 不适用 is stored apart from "not asked", but both are missing for scoring.
    answer = session.scalar(
        select(AnswerSet).where(
            AnswerSet.response_id == stored[1].id, AnswerSet.version_id == wave.questionnaires[0].version_id
        )
    )
    assert answer is not None


def test_partial_responses_are_not_exported_by_default(session):
    wave = create_wave(session, "2025")
    session.add(Response(uid="p" * 32, wave=wave, state="partial"))
    session.commit()
    assert len(wave_responses_frame(session, wave)) == 0
    assert len(wave_responses_frame(session, wave, states=("partial", "submitted"))) == 1


def test_unique_constraints_hold(session):
    wave = create_wave(session, "2025")
    session.add(Response(uid="u" * 32, wave=wave))
    session.commit()
    session.add(Response(uid="u" * 32, wave=wave))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.add(CollectionPoint(wave=session.scalar(select(Wave)), code="a", town_code="nowhere", place="x", token="t"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_every_stored_time_reads_back_as_aware_utc(app):
    """One column type converts: no caller needs to patch a naive time from SQLite."""
    from survey.db import database, get_session
    from survey.models import AuditEvent, User, UTCDateTime
    from survey.services import accounts

    opens = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 08:00 Beijing time
    with app.app_context():
        session = get_session()
        wave = create_wave(session, "2025", opens_at=opens, closes_at=opens + dt.timedelta(days=30))
        add_point(session, wave, code="hosp-01", town="xicheng", place="区人民医院门诊大厅")
        accounts.add_account(session, "alice", "admin", actor="test")
        session.commit()
    fresh = database(app).sessions()
    try:
        stored = fresh.scalar(select(Wave))
        assert stored.opens_at == opens and stored.opens_at.tzinfo == dt.UTC and stored.opens_at.hour == 0
        for row in (stored, stored.points[0], fresh.scalar(select(User)), fresh.scalar(select(AuditEvent))):
            for column in row.__table__.columns:
                if isinstance(column.type, UTCDateTime) and getattr(row, column.key) is not None:
                    assert getattr(row, column.key).tzinfo == dt.UTC, (type(row).__name__, column.key)
        latest = fresh.scalar(select(func.max(AuditEvent.at)))
        assert latest.tzinfo == dt.UTC
    finally:
        fresh.close()


def test_a_naive_time_is_refused_before_it_is_stored(session):
    wave = create_wave(session, "2025")
    wave.opens_at = dt.datetime(2025, 3, 1, 8, 0)
    with pytest.raises(StatementError, match="not a timezone-aware datetime"):
        session.flush()
