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
    if wave.closes_at and now >= as_utc(wave.closes_at):
        return False
    return True


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
        raise WaveError(f"point code {code!r} is not allowed: use lower-case letters, digits, '_' or '-' (e.g. hosp-01)")
    if session.get(Town, town) is None:
        known = ", ".join(session.scalars(select(Town.code).order_by(Town.sort_order)).all())
        raise WaveError(f"unknown town {town!r}; known towns: {known}")
    if not (place or "").strip():
        raise WaveError("the place name must not be empty (e.g. 区人民医院门诊大厅)")
    if focus_domain is not None and focus_domain not in DOMAIN_IDS:
        raise WaveError(f"unknown domain {focus_domain!r}; use one of {', '.join(DOMAIN_IDS)}")
    exists = session.scalar(select(CollectionPoint).where(CollectionPoint.wave_id == wave.id, CollectionPoint.code == code))
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
