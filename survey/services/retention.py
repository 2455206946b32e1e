"""Deleting responses whose retention period has passed.

The resident's privacy notice promises that answers are kept for
``RESPONSE_RETENTION_YEARS`` after the survey round and then deleted; only statistics are
published.  A wave's round ends at its closing time (``closes_at``), or — for a wave closed
by hand without one — at its last response.  Open waves are never purged.  Published
results are snapshots (``publications``) and stay; the responses behind them go.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from survey.models import AnswerSet, Response, SubmissionKey, Wave, utcnow
from survey.services import audit
from survey.services.audit import SYSTEM_ACTOR, Actor

DEFAULT_RETENTION_YEARS = 3


@dataclass(frozen=True)
class ExpiredWave:
    code: str
    ended_at: dt.datetime
    expires_at: dt.datetime
    responses: int


def _add_years(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def wave_end(session: Session, wave: Wave) -> dt.datetime | None:
    """When the wave's round ended, or None while it is still running."""
    if wave.closes_at is not None and (wave.state == "closed" or wave.closes_at <= utcnow()):
        return wave.closes_at
    if wave.state != "closed":
        return None
    last = session.scalar(select(func.max(Response.updated_at)).where(Response.wave_id == wave.id))
    return last or wave.created_at


def expired_waves(session: Session, *, years: int, now: dt.datetime | None = None) -> list[ExpiredWave]:
    """Waves whose responses are past retention and still stored."""
    if years < 1:
        raise ValueError("the retention period must be at least 1 year")
    now = now or utcnow()
    found = []
    for wave in session.scalars(select(Wave).order_by(Wave.code)):
        ended = wave_end(session, wave)
        if ended is None:
            continue
        expires = _add_years(ended, years)
        if expires > now:
            continue
        count = session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)) or 0
        if count:
            found.append(ExpiredWave(wave.code, ended, expires, count))
    return found


def purge_wave_responses(session: Session, wave: Wave, *, years: int | None = None, actor: Actor = SYSTEM_ACTOR) -> int:
    """Delete every response of ``wave`` with its answers and submission keys, and record
    who did it (``actor``) and under which retention period (``years``).  The caller commits."""
    response_ids = select(Response.id).where(Response.wave_id == wave.id).scalar_subquery()
    session.execute(delete(AnswerSet).where(AnswerSet.response_id.in_(response_ids)))
    session.execute(delete(SubmissionKey).where(SubmissionKey.response_id.in_(response_ids)))
    result = session.execute(delete(Response).where(Response.wave_id == wave.id))
    deleted = result.rowcount or 0
    audit.record(
        session,
        "retention.purge",
        actor=actor,
        target=audit.wave_target(wave.code),
        detail={"responses": deleted, "years": years},
    )
    return deleted
