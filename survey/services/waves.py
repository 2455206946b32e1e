"""Waves and collection points: the one service layer behind the CLI and admin screens."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import DOMAIN_IDS
from survey.models import WAVE_STATES, CollectionPoint, Town, Wave, WaveQuestionnaire, as_utc, utcnow
from survey.services.questionnaires import latest_versions

_WAVE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
_POINT_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
#: URL-safe random token: 128 bits, so a point's URL cannot be guessed.
TOKEN_BYTES = 16


class WaveError(ValueError):
    """A wave or point request that cannot be carried out (message says why and how to fix)."""


def get_wave(session: Session, code: str) -> Wave:
    wave = session.scalar(select(Wave).where(Wave.code == code))
    if wave is None:
        raise WaveError(f"no wave {code!r}; create it first with 'manyi wave create {code}'")
    return wave


def find_wave(session: Session, code: str) -> Wave | None:
    return session.scalar(select(Wave).where(Wave.code == code))


def create_wave(
    session: Session,
    code: str,
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    title_zh: str = "",
    title_en: str = "",
) -> Wave:
    """Create a wave in state ``draft``, pinning the newest questionnaire versions."""
    if not _WAVE_CODE.match(code or ""):
        raise WaveError(f"wave code {code!r} is not allowed: use letters, digits, '_' or '-' (e.g. 2025)")
    if find_wave(session, code):
        raise WaveError(f"wave {code!r} already exists")
    if opens_at and closes_at and as_utc(closes_at) <= as_utc(opens_at):
        raise WaveError("the closing time must be after the opening time")
    versions = latest_versions(session)
    if "common" not in versions:
        raise WaveError("no questionnaires are loaded; run 'manyi init' (or 'manyi questionnaires load') first")
    wave = Wave(
        code=code,
        opens_at=opens_at,
        closes_at=closes_at,
        title_zh=title_zh or f"{code}年度荆州区公共服务满意度调查",
        title_en=title_en or f"Jingzhou District public-service satisfaction survey {code}",
    )
    for questionnaire_id, version in versions.items():
        wave.questionnaires.append(WaveQuestionnaire(questionnaire_id=questionnaire_id, version_id=version.id))
    session.add(wave)
    session.flush()
    return wave


def set_wave_state(session: Session, wave: Wave, state: str) -> Wave:
    if state not in WAVE_STATES:
        raise WaveError(f"unknown wave state {state!r}; use one of {', '.join(WAVE_STATES)}")
    wave.state = state
    session.flush()
    return wave


def wave_is_accepting(wave: Wave, now: dt.datetime | None = None) -> bool:
    """True when residents may answer: state open and inside the opening window."""
    now = now or utcnow()
    if wave.state != "open":
        return False
    if wave.opens_at and now < as_utc(wave.opens_at):
        return False
    return not (wave.closes_at and now >= as_utc(wave.closes_at))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def add_point(
    session: Session,
    wave: Wave,
    *,
    code: str,
    town: str,
    place: str,
    focus_domain: str | None = None,
) -> CollectionPoint:
    """Add a collection point with a fresh unguessable token."""
    if not _POINT_CODE.match(code or ""):
        raise WaveError(
            f"point code {code!r} is not allowed: use lower-case letters, digits, '_' or '-' (e.g. hosp-01)"
        )
    if session.get(Town, town) is None:
        known = ", ".join(session.scalars(select(Town.code).order_by(Town.sort_order)).all())
        raise WaveError(f"unknown town {town!r}; known towns: {known}")
    if not (place or "").strip():
        raise WaveError("the place name must not be empty (e.g. 区人民医院门诊大厅)")
    if focus_domain is not None and focus_domain not in DOMAIN_IDS:
        raise WaveError(f"unknown domain {focus_domain!r}; use one of {', '.join(DOMAIN_IDS)}")
    exists = session.scalar(
        select(CollectionPoint).where(CollectionPoint.wave_id == wave.id, CollectionPoint.code == code)
    )
    if exists:
        raise WaveError(f"wave {wave.code} already has a point {code!r}")
    point = CollectionPoint(
        wave=wave, code=code, town_code=town, place=place.strip(), focus_domain=focus_domain, token=new_token()
    )
    session.add(point)
    session.flush()
    return point


def survey_url(base_url: str, point: CollectionPoint) -> str:
    return f"{base_url.rstrip('/')}/s/{point.token}"


#: What a resident sees for a wave at a given moment (see :func:`wave_status`).
WAVE_STATUSES = ("accepting", "draft", "scheduled", "ended", "closed")

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def wave_status(wave: Wave, now: dt.datetime | None = None) -> str:
    """Where the wave stands for residents right now.

    ``accepting`` (open and inside its window), ``draft`` (never opened), ``scheduled``
    (open, before ``opens_at``), ``ended`` (open, after ``closes_at``) or ``closed``.
    """
    now = now or utcnow()
    if wave.state == "draft":
        return "draft"
    if wave.state == "closed":
        return "closed"
    if wave.opens_at and now < as_utc(wave.opens_at):
        return "scheduled"
    if wave.closes_at and now >= as_utc(wave.closes_at):
        return "ended"
    return "accepting"


def set_wave_window(
    session: Session,
    wave: Wave,
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
) -> Wave:
    """Change the opening and/or closing time of ``wave`` (None leaves a time as it is)."""
    new_opens = opens_at if opens_at is not None else wave.opens_at
    new_closes = closes_at if closes_at is not None else wave.closes_at
    if new_opens and new_closes and as_utc(new_closes) <= as_utc(new_opens):
        raise WaveError("the closing time must be after the opening time")
    wave.opens_at, wave.closes_at = new_opens, new_closes
    session.flush()
    return wave


def open_wave(session: Session, wave: Wave) -> Wave:
    """Open ``wave`` for residents (inside its opening window, if it has one)."""
    if wave.closes_at and as_utc(wave.closes_at) <= utcnow():
        closes = as_utc(wave.closes_at).isoformat(timespec="minutes")
        raise WaveError(
            f"wave {wave.code} has a closing time in the past ({closes}); give a new one, "
            f"e.g. 'manyi wave open {wave.code} --closes 2025-12-31'"
        )
    return set_wave_state(session, wave, "open")


def close_wave(session: Session, wave: Wave) -> Wave:
    """Close ``wave``: residents see the "survey closed" page; drafts stay ``partial``."""
    return set_wave_state(session, wave, "closed")


def list_waves(session: Session) -> list[Wave]:
    """Every wave, newest first."""
    return list(session.scalars(select(Wave).order_by(Wave.created_at.desc(), Wave.id.desc())))


def list_points(session: Session, wave: Wave) -> list[CollectionPoint]:
    """The collection points of ``wave``, ordered by code."""
    return list(
        session.scalars(
            select(CollectionPoint).where(CollectionPoint.wave_id == wave.id).order_by(CollectionPoint.code)
        )
    )


def well_formed_token(token: str | None) -> bool:
    """Whether ``token`` could be a point's token (anything else is never looked up)."""
    return bool(_TOKEN.match(token or ""))


def find_point_by_token(session: Session, token: str) -> CollectionPoint | None:
    """The point whose survey URL is ``/s/<token>``, or None (also for malformed tokens)."""
    if not well_formed_token(token):
        return None
    return session.scalar(select(CollectionPoint).where(CollectionPoint.token == token))
