"""Live progress of a wave: responses per point, town and domain against the targets,
completion (submitted vs partial), data-quality flags, the last hour and the last day.

A *partial* response is one with at least its first page answered; a survey started
with nothing answered (an *empty draft*: a tap on "start", or a bot) is counted apart and
never in the completion figures.  Only rows in one of
:data:`survey.models.RESPONSE_STATES` are counted.

Everything is counted in the database with grouped queries, so the page stays quick for
a wave of a million responses.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS, DOMAIN_LABELS_ZH
from survey.models import (
    RESPONSE_STATES,
    AnswerSet,
    Publication,
    QuestionnaireVersion,
    Response,
    Town,
    Wave,
    utcnow,
)


@dataclass(frozen=True)
class Count:
    """Submitted responses of one group against its target (``None`` when none is set)."""

    key: str
    label: str
    submitted: int
    target: int | None = None

    @property
    def share_of_target(self) -> float | None:
        """Submitted / target, capped at 1 for the bar (``None`` without a target)."""
        if not self.target:
            return None
        return min(1.0, self.submitted / self.target)

    @property
    def percent_of_target(self) -> int | None:
        if not self.target:
            return None
        return round(100 * self.submitted / self.target)


@dataclass(frozen=True)
class PointProgress:
    """One collection point (or one channel without a point: phone and paper imports)."""

    code: str
    place: str
    town: str
    active: bool
    submitted: int
    partial: int
    last_hour: int
    last_day: int
    last_submitted_at: dt.datetime | None
    #: Surveys started here with nothing answered (not in :attr:`completion`).
    empty_drafts: int = 0

    @property
    def completion(self) -> float | None:
        started = self.submitted + self.partial
        return self.submitted / started if started else None


@dataclass(frozen=True)
class WaveProgress:
    """Everything the live progress page shows."""

    wave_code: str
    as_of: dt.datetime
    submitted: int
    partial: int
    last_hour: int
    last_day: int
    started_last_hour: int
    total_target: int | None
    points: list[PointProgress] = field(default_factory=list)
    towns: list[Count] = field(default_factory=list)
    domains: list[Count] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    #: Surveys started with nothing answered (not in :attr:`completion`).
    empty_drafts: int = 0

    @property
    def completion(self) -> float | None:
        started = self.submitted + self.partial
        return self.submitted / started if started else None

    @property
    def total(self) -> Count:
        return Count("total", "total", self.submitted, self.total_target)


@dataclass(frozen=True)
class WaveRow:
    """A wave with its submitted responses and its newest published revision (or None)."""

    wave: Wave
    submitted: int
    revision: int | None


def wave_overview(session: Session) -> list[WaveRow]:
    """Every wave, highest code first, with its counts (the dashboard and the wave list)."""
    counts = dict(
        session.execute(
            select(Response.wave_id, func.count()).where(Response.state == "submitted").group_by(Response.wave_id)
        ).all()
    )
    revisions = dict(
        session.execute(select(Publication.wave_id, func.max(Publication.revision)).group_by(Publication.wave_id)).all()
    )
    return [
        WaveRow(wave, int(counts.get(wave.id, 0)), revisions.get(wave.id))
        for wave in session.scalars(select(Wave).order_by(Wave.code.desc()))
    ]


@dataclass(frozen=True)
class WaveHeadline:
    """What the dashboard says about a wave at a glance (issue 14).

    ``today`` counts responses submitted since midnight Beijing time; ``target`` is the
    wave's total target (None: none set); ``index`` and ``verdict`` are those of the newest
    published revision (None: not published).
    """

    wave: Wave
    submitted: int
    today: int
    target: int | None
    revision: int | None
    published_at: dt.datetime | None
    index: float | None
    verdict: str | None

    @property
    def share_of_target(self) -> float | None:
        return self.submitted / self.target if self.target else None


def wave_headlines(session: Session, *, now: dt.datetime | None = None) -> list[WaveHeadline]:
    """Every wave, highest code first, with today's and all submitted responses against its
    target and its newest publication's overall index and verdict (the dashboard)."""
    import json

    from survey.localtime import district_zone

    now = now or utcnow()
    local_now = now.astimezone(district_zone())
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    submitted_flag = Response.state == "submitted"
    counts = {
        wave_id: (int(total or 0), int(today or 0))
        for wave_id, total, today in session.execute(
            select(
                Response.wave_id,
                func.count(),
                func.sum(case((Response.submitted_at >= midnight, 1), else_=0)),
            )
            .where(submitted_flag)
            .group_by(Response.wave_id)
        ).all()
    }
    newest = (
        select(Publication.wave_id, func.max(Publication.revision).label("revision"))
        .group_by(Publication.wave_id)
        .subquery()
    )
    publications = {
        publication.wave_id: publication
        for publication in session.scalars(
            select(Publication).join(
                newest, (Publication.wave_id == newest.c.wave_id) & (Publication.revision == newest.c.revision)
            )
        )
    }
    headlines = []
    for wave in session.scalars(select(Wave).order_by(Wave.code.desc())):
        total, today = counts.get(wave.id, (0, 0))
        publication = publications.get(wave.id)
        index = verdict = None
        if publication is not None:
            results = json.loads(publication.results_json)
            index = (results.get("overall") or {}).get("index")
            verdict = (results.get("target") or {}).get("verdict")
        headlines.append(
            WaveHeadline(
                wave=wave,
                submitted=total,
                today=today,
                target=(wave.targets or {}).get("total"),
                revision=publication.revision if publication is not None else None,
                published_at=publication.published_at if publication is not None else None,
                index=float(index) if isinstance(index, (int, float)) else None,
                verdict=verdict if isinstance(verdict, str) else None,
            )
        )
    return headlines


def submitted_count(session: Session, wave: Wave) -> int:
    """How many responses of ``wave`` are submitted."""
    return (
        session.scalar(
            select(func.count()).select_from(Response).where(Response.wave_id == wave.id, Response.state == "submitted")
        )
        or 0
    )


def wave_progress(session: Session, wave: Wave, *, now: dt.datetime | None = None) -> WaveProgress:
    """Count the responses of ``wave`` as of ``now`` (default: the current time)."""
    now = now or utcnow()
    hour_ago, day_ago = now - dt.timedelta(hours=1), now - dt.timedelta(days=1)
    targets = wave.targets or {}
    submitted_flag = Response.state == "submitted"
    started_flag = Response.state == "partial"
    # The first page (services used) stores a value, even an empty list: NULL = nothing answered.
    partial_flag = started_flag & Response.services_used.is_not(None)
    empty_flag = started_flag & Response.services_used.is_(None)

    rows = session.execute(
        select(
            Response.point_id,
            Response.channel,
            func.sum(case((submitted_flag, 1), else_=0)),
            func.sum(case((partial_flag, 1), else_=0)),
            func.sum(case((empty_flag, 1), else_=0)),
            func.sum(case((submitted_flag & (Response.submitted_at >= hour_ago), 1), else_=0)),
            func.sum(case((submitted_flag & (Response.submitted_at >= day_ago), 1), else_=0)),
            func.sum(case((Response.started_at >= hour_ago, 1), else_=0)),
            func.max(Response.submitted_at),
        )
        .where(Response.wave_id == wave.id, Response.state.in_(RESPONSE_STATES))
        .group_by(Response.point_id, Response.channel)
    ).all()

    points = {point.id: point for point in wave.points}
    per_point: dict[str, dict] = {}
    channels: Counter[str] = Counter()
    totals = Counter()
    for point_id, channel, submitted, partial, empty, last_hour, last_day, started_hour, last_at in rows:
        submitted, partial, empty = int(submitted or 0), int(partial or 0), int(empty or 0)
        channels[channel] += submitted
        totals.update(
            submitted=submitted,
            partial=partial,
            empty_drafts=empty,
            last_hour=int(last_hour or 0),
            last_day=int(last_day or 0),
            started_last_hour=int(started_hour or 0),
        )
        point = points.get(point_id)
        key = point.code if point is not None else f"({channel})"
        entry = per_point.setdefault(
            key,
            {
                "code": key,
                "place": point.place if point is not None else "",
                "town": point.town_code if point is not None else "",
                "active": point.active if point is not None else True,
                "submitted": 0,
                "partial": 0,
                "empty_drafts": 0,
                "last_hour": 0,
                "last_day": 0,
                "last_submitted_at": None,
            },
        )
        entry["submitted"] += submitted
        entry["partial"] += partial
        entry["empty_drafts"] += empty
        entry["last_hour"] += int(last_hour or 0)
        entry["last_day"] += int(last_day or 0)
        if last_at and (entry["last_submitted_at"] is None or last_at > entry["last_submitted_at"]):
            entry["last_submitted_at"] = last_at
    for point in wave.points:  # points that have not had a response yet
        per_point.setdefault(
            point.code,
            {
                "code": point.code,
                "place": point.place,
                "town": point.town_code,
                "active": point.active,
                "submitted": 0,
                "partial": 0,
                "last_hour": 0,
                "last_day": 0,
                "last_submitted_at": None,
            },
        )

    town_counts = dict(
        session.execute(
            select(Response.town_code, func.count())
            .where(Response.wave_id == wave.id, submitted_flag)
            .group_by(Response.town_code)
        ).all()
    )
    town_targets = targets.get("towns", {})
    towns = [
        Count(town.code, town.name_zh, int(town_counts.pop(town.code, 0)), town_targets.get(town.code))
        for town in session.scalars(select(Town).order_by(Town.sort_order, Town.code))
    ]
    unknown_town = sum(int(value) for value in town_counts.values())
    if unknown_town:
        towns.append(Count("", "—", unknown_town, None))

    domain_counts = dict(
        session.execute(
            select(QuestionnaireVersion.questionnaire_id, func.count())
            .select_from(AnswerSet)
            .join(Response, AnswerSet.response_id == Response.id)
            .join(QuestionnaireVersion, AnswerSet.version_id == QuestionnaireVersion.id)
            .where(Response.wave_id == wave.id, submitted_flag, QuestionnaireVersion.questionnaire_id != COMMON_ID)
            .group_by(QuestionnaireVersion.questionnaire_id)
        ).all()
    )
    domain_targets = targets.get("domains", {})
    domains = [
        Count(domain, DOMAIN_LABELS_ZH[domain], int(domain_counts.get(domain, 0)), domain_targets.get(domain))
        for domain in DOMAIN_IDS
    ]

    flags: Counter[str] = Counter()
    for joined, number in session.execute(
        select(Response.flags, func.count())
        .where(Response.wave_id == wave.id, Response.state.in_(RESPONSE_STATES), Response.flags != "")
        .group_by(Response.flags)
    ):
        for flag in filter(None, (joined or "").split(";")):
            flags[flag] += int(number)

    return WaveProgress(
        wave_code=wave.code,
        as_of=now,
        submitted=totals["submitted"],
        partial=totals["partial"],
        last_hour=totals["last_hour"],
        last_day=totals["last_day"],
        started_last_hour=totals["started_last_hour"],
        total_target=targets.get("total"),
        points=[PointProgress(**entry) for _, entry in sorted(per_point.items())],
        towns=towns,
        domains=domains,
        channels=dict(channels),
        flags=dict(flags.most_common()),
        empty_drafts=totals["empty_drafts"],
    )
