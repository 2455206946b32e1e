"""Waves, collection points and their targets: the one service layer behind the
``manyi wave`` / ``manyi points`` commands and the admin screens.

Every change is validated here and written to the audit log here, with the actor the
caller names (an account on the screens, ``cli:<login>`` on the command line; scripts
and fixtures that name nobody are recorded as ``system``).  The caller commits.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scoring.questionnaire import DOMAIN_IDS
from survey.localtime import format_local
from survey.models import WAVE_STATES, CollectionPoint, Town, Wave, WaveQuestionnaire, utcnow
from survey.services import audit
from survey.services.audit import SYSTEM_ACTOR, Actor
from survey.services.plans import pin_newest_plan
from survey.services.questionnaires import latest_versions

_WAVE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
_POINT_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
#: Longest place name and wave title (the columns' length, on every database).
MAX_PLACE_LENGTH = 200
MAX_TITLE_LENGTH = 200
#: URL-safe random token: 128 bits, so a point's URL cannot be guessed.
TOKEN_BYTES = 16


class WaveError(ValueError):
    """A wave or point request that cannot be carried out (message says why and how to fix)."""


# --------------------------------------------------------------------------- checks


def validate_wave_code(code: str) -> None:
    """Raise :class:`WaveError` unless ``code`` is a well-formed wave code (``2025``)."""
    if not _WAVE_CODE.match(code or ""):
        raise WaveError(f"wave code {code!r} is not allowed: use letters, digits, '_' or '-' (e.g. 2025)")


def _validate_text(value: str | None, *, what: str, example: str, maximum: int, required: bool) -> str:
    """``value`` stripped; refused when empty (if ``required``), too long or with control characters."""
    text = (value or "").strip()
    if required and not text:
        raise WaveError(f"the {what} must not be empty (e.g. {example})")
    if len(text) > maximum:
        raise WaveError(f"the {what} has {len(text)} characters; shorten it to at most {maximum}")
    if _CONTROL_CHARACTERS.search(text):
        raise WaveError(f"the {what} contains a control character (a line break, tab or NUL); remove it")
    return text


def _validate_town(session: Session, town: str) -> None:
    if session.get(Town, town) is None:
        known = ", ".join(session.scalars(select(Town.code).order_by(Town.sort_order)).all())
        raise WaveError(f"unknown town {town!r}; known towns: {known}")


def _validate_focus_domain(focus_domain: str | None) -> None:
    if focus_domain is not None and focus_domain not in DOMAIN_IDS:
        raise WaveError(f"unknown domain {focus_domain!r}; use one of {', '.join(DOMAIN_IDS)}")


def _validate_window(opens_at: dt.datetime | None, closes_at: dt.datetime | None) -> None:
    if opens_at and closes_at and closes_at <= opens_at:
        raise WaveError("the closing time must be after the opening time")


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="minutes")


# --------------------------------------------------------------------------- reading


def get_wave(session: Session, code: str) -> Wave:
    wave = session.scalar(select(Wave).where(Wave.code == code))
    if wave is None:
        raise WaveError(f"no wave {code!r}; create it first with 'manyi wave create {code}'")
    return wave


def find_wave(session: Session, code: str) -> Wave | None:
    return session.scalar(select(Wave).where(Wave.code == code))


def list_waves(session: Session) -> list[Wave]:
    """Every wave, newest first."""
    return list(session.scalars(select(Wave).order_by(Wave.created_at.desc(), Wave.id.desc())))


def wave_codes(session: Session) -> list[str]:
    """Every wave's code, highest first (for choosing a wave on a form)."""
    return list(session.scalars(select(Wave.code).order_by(Wave.code.desc())))


def list_points(session: Session, wave: Wave) -> list[CollectionPoint]:
    """The collection points of ``wave``, ordered by code."""
    return list(
        session.scalars(
            select(CollectionPoint).where(CollectionPoint.wave_id == wave.id).order_by(CollectionPoint.code)
        )
    )


def find_point(session: Session, wave: Wave, point_code: str) -> CollectionPoint | None:
    """The point ``point_code`` of ``wave``, or None."""
    return session.scalar(
        select(CollectionPoint).where(CollectionPoint.wave_id == wave.id, CollectionPoint.code == point_code)
    )


def town_choices(session: Session) -> list[tuple[str, str]]:
    """``(code, Chinese name)`` of every town, in the questionnaire's order."""
    return [(town.code, town.name_zh) for town in session.scalars(select(Town).order_by(Town.sort_order, Town.code))]


def town_names(session: Session, *, language: str) -> dict[str, str]:
    """Town code → name in ``language`` (``zh`` or ``en``)."""
    return {town.code: (town.name_en if language == "en" else town.name_zh) for town in session.scalars(select(Town))}


# --------------------------------------------------------------------------- waves


def create_wave(
    session: Session,
    code: str,
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    title_zh: str = "",
    title_en: str = "",
    is_demo: bool = False,
    actor: Actor = SYSTEM_ACTOR,
) -> Wave:
    """Create a wave in state ``draft``, pinning the newest questionnaire versions and plan."""
    validate_wave_code(code)
    if find_wave(session, code):
        raise WaveError(f"wave {code!r} already exists")
    _validate_window(opens_at, closes_at)
    title_zh = _validate_text(
        title_zh,
        what="Chinese title",
        example="2025年度荆州区公共服务满意度调查",
        maximum=MAX_TITLE_LENGTH,
        required=False,
    )
    title_en = _validate_text(
        title_en, what="English title", example="Jingzhou survey 2025", maximum=MAX_TITLE_LENGTH, required=False
    )
    versions = latest_versions(session)
    if "common" not in versions:
        raise WaveError("no questionnaires are loaded; run 'manyi init' (or 'manyi questionnaires load') first")
    wave = Wave(
        code=code,
        opens_at=opens_at,
        closes_at=closes_at,
        title_zh=title_zh or f"{code}年度荆州区公共服务满意度调查",
        title_en=title_en or f"Jingzhou District public-service satisfaction survey {code}",
        is_demo=is_demo,
    )
    for questionnaire_id, version in versions.items():
        wave.questionnaires.append(WaveQuestionnaire(questionnaire_id=questionnaire_id, version_id=version.id))
    session.add(wave)
    session.flush()
    pin_newest_plan(session, wave)
    audit.record(
        session,
        "wave.create",
        actor=actor,
        target=audit.wave_target(code),
        detail={"opens_at": _iso(opens_at), "closes_at": _iso(closes_at), "demo": is_demo},
    )
    return wave


def set_wave_state(session: Session, wave: Wave, state: str, *, actor: Actor = SYSTEM_ACTOR) -> Wave:
    """Put ``wave`` in ``state`` (draft, open or closed) and record the change."""
    if state not in WAVE_STATES:
        raise WaveError(f"unknown wave state {state!r}; use one of {', '.join(WAVE_STATES)}")
    before = wave.state
    wave.state = state
    session.flush()
    audit.record(
        session, "wave.state", actor=actor, target=audit.wave_target(wave.code), detail={"from": before, "to": state}
    )
    return wave


def open_wave(session: Session, wave: Wave, *, actor: Actor = SYSTEM_ACTOR) -> Wave:
    """Open ``wave`` for residents (inside its opening window, if it has one)."""
    if wave.closes_at and wave.closes_at <= utcnow():
        raise WaveError(
            f"wave {wave.code} has a closing time in the past ({format_local(wave.closes_at, closing=True)}); "
            f"give a new one, e.g. 'manyi wave open {wave.code} --closes 2025-12-31'"
        )
    return set_wave_state(session, wave, "open", actor=actor)


def close_wave(session: Session, wave: Wave, *, actor: Actor = SYSTEM_ACTOR) -> Wave:
    """Close ``wave``: residents see the "survey closed" page; drafts stay ``partial``."""
    return set_wave_state(session, wave, "closed", actor=actor)


def set_wave_window(
    session: Session,
    wave: Wave,
    *,
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    actor: Actor = SYSTEM_ACTOR,
) -> Wave:
    """Change the opening and/or closing time of ``wave`` (None leaves a time as it is)."""
    new_opens = opens_at if opens_at is not None else wave.opens_at
    new_closes = closes_at if closes_at is not None else wave.closes_at
    _validate_window(new_opens, new_closes)
    changes = {
        name: [_iso(before), _iso(after)]
        for name, before, after in (("opens_at", wave.opens_at, new_opens), ("closes_at", wave.closes_at, new_closes))
        if before != after
    }
    wave.opens_at, wave.closes_at = new_opens, new_closes
    session.flush()
    if changes:
        audit.record(
            session, "wave.window", actor=actor, target=audit.wave_target(wave.code), detail={"changes": changes}
        )
    return wave


#: What a resident sees for a wave at a given moment (see :func:`wave_status`).
WAVE_STATUSES = ("accepting", "draft", "scheduled", "ended", "closed")


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
    if wave.opens_at and now < wave.opens_at:
        return "scheduled"
    if wave.closes_at and now >= wave.closes_at:
        return "ended"
    return "accepting"


def wave_is_accepting(wave: Wave, now: dt.datetime | None = None) -> bool:
    """True when residents may answer: state open and inside the opening window."""
    return wave_status(wave, now) == "accepting"


# --------------------------------------------------------------------------- collection points


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
    actor: Actor = SYSTEM_ACTOR,
) -> CollectionPoint:
    """Add a collection point with a fresh unguessable token."""
    if not _POINT_CODE.match(code or ""):
        raise WaveError(
            f"point code {code!r} is not allowed: use lower-case letters, digits, '_' or '-' (e.g. hosp-01)"
        )
    _validate_town(session, town)
    place = _validate_text(
        place, what="place name", example="区人民医院门诊大厅", maximum=MAX_PLACE_LENGTH, required=True
    )
    _validate_focus_domain(focus_domain)
    if find_point(session, wave, code):
        raise WaveError(f"wave {wave.code} already has a point {code!r}")
    point = CollectionPoint(
        wave=wave, code=code, town_code=town, place=place, focus_domain=focus_domain, token=new_token()
    )
    session.add(point)
    session.flush()
    audit.record(
        session,
        "point.create",
        actor=actor,
        target=audit.point_target(wave.code, code),
        detail={"town": town, "place": place, "focus_domain": focus_domain},
    )
    return point


def update_point(
    session: Session,
    point: CollectionPoint,
    *,
    town: str,
    place: str,
    focus_domain: str | None,
    active: bool,
    actor: Actor,
) -> CollectionPoint:
    """Change a point's town, place, focus domain or whether it accepts responses.

    The code and token never change: printed posters keep working.
    """
    _validate_town(session, town)
    place = _validate_text(
        place, what="place name", example="区人民医院门诊大厅", maximum=MAX_PLACE_LENGTH, required=True
    )
    _validate_focus_domain(focus_domain)
    before = {"town": point.town_code, "place": point.place, "focus_domain": point.focus_domain, "active": point.active}
    after = {"town": town, "place": place, "focus_domain": focus_domain, "active": active}
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if changes:
        point.town_code, point.place, point.focus_domain, point.active = town, place, focus_domain, active
        audit.record(
            session,
            "point.update",
            actor=actor,
            target=audit.point_target(point.wave.code, point.code),
            detail={"changes": changes},
        )
    session.flush()
    return point


def survey_url(base_url: str, point: CollectionPoint) -> str:
    return f"{base_url.rstrip('/')}/s/{point.token}"


_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def well_formed_token(token: str | None) -> bool:
    """Whether ``token`` could be a point's token (anything else is never looked up)."""
    return bool(_TOKEN.match(token or ""))


def find_point_by_token(session: Session, token: str) -> CollectionPoint | None:
    """The point whose survey URL is ``/s/<token>``, or None (also for malformed tokens)."""
    if not well_formed_token(token):
        return None
    return session.scalar(select(CollectionPoint).where(CollectionPoint.token == token))


# --------------------------------------------------------------------------- targets


def validate_targets(session: Session, targets: Mapping[str, Any]) -> dict[str, Any]:
    """Check a targets mapping ``{"total": n, "domains": {...}, "towns": {...}}``.

    Numbers must be whole and not negative; domain and town keys must exist.  Empty
    entries are dropped.  Returns the cleaned mapping.
    """
    unknown_keys = set(targets) - {"total", "domains", "towns", "source"}
    if unknown_keys:
        raise WaveError(f"unknown target entries {sorted(unknown_keys)}; use total, domains and towns")

    def count(value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise WaveError(f"target for {where} must be a whole number, not {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise WaveError(f"target for {where} must be a whole number, not {value!r}") from None
        if number != value and str(number) != str(value).strip():
            raise WaveError(f"target for {where} must be a whole number, not {value!r}")
        if number < 0:
            raise WaveError(f"target for {where} must not be negative (got {number})")
        return number

    cleaned: dict[str, Any] = {}
    if targets.get("total") not in (None, ""):
        cleaned["total"] = count(targets["total"], "the whole wave")
    towns = set(session.scalars(select(Town.code)).all())
    for key, known, label in (("domains", set(DOMAIN_IDS), "domain"), ("towns", towns, "town")):
        values = targets.get(key) or {}
        if not isinstance(values, Mapping):
            raise WaveError(f"targets.{key} must map each {label} to a number")
        entries = {}
        for name, value in values.items():
            if name not in known:
                raise WaveError(f"unknown {label} {name!r} in the targets; use one of {', '.join(sorted(known))}")
            if value in (None, ""):
                continue
            entries[name] = count(value, f"{label} {name}")
        if entries:
            cleaned[key] = entries
    if targets.get("source"):
        cleaned["source"] = str(targets["source"])[:200]
    return cleaned


def set_targets(session: Session, wave: Wave, targets: Mapping[str, Any], *, actor: Actor) -> Wave:
    """Store a wave's target sample sizes (validated) and audit the change."""
    cleaned = validate_targets(session, targets)
    wave.targets = cleaned or None
    audit.record(session, "wave.targets", actor=actor, target=audit.wave_target(wave.code), detail={"targets": cleaned})
    session.flush()
    return wave
