"""The integrity review of a wave from the database, and the office's exclusion decisions
(docs/integrity.md, issue 15).

:func:`review_wave` builds the wave's scoring frame with the design columns and the keyed
paradata (``ip_hash``, ``browser_hash``; never an address) and runs
:func:`scoring.integrity.run.review_responses` on it — the same checks a CSV user gets from
``python -m scoring integrity``.  It reads only.

The office decides what to leave out (:func:`exclude`, :func:`withdraw`): a collection point
of the wave, or a network address (its keyed hash, named by the first digits screens show),
each with a reason of at most 500 characters.  Every decision and every withdrawal is kept
(:class:`~survey.models.IntegrityDecision`) and audited (``integrity.exclude``,
``integrity.withdraw``), from the admin screen and ``manyi integrity`` alike.  The decisions
in force reach the scoring as :class:`scoring.integrity.Exclusion` objects
(:func:`wave_exclusions`): ``manyi score`` and publishing pass them, so the published
``results["integrity"]`` lists them with their reasons.

:func:`integrity_page` gathers what the office's integrity page shows (survey/admin/integrity.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import CollectionPoint, IntegrityDecision, Response, User, Wave, utcnow
from survey.services import audit
from survey.services.audit import Actor

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from scoring.integrity import Exclusion, IntegrityReview, IntegrityRules

__all__ = [
    "ADDRESS_LABEL_DIGITS",
    "DECISION_KINDS",
    "MAX_REASON_LENGTH",
    "AnswerBar",
    "DecisionError",
    "FlaggedAddress",
    "FlaggedPoint",
    "HourBar",
    "IntegrityPage",
    "IntegrityUnavailable",
    "active_decisions",
    "decision_history",
    "exclude",
    "integrity_page",
    "review_wave",
    "wave_exclusions",
    "withdraw",
]

#: What the office can exclude (``scoring.integrity.EXCLUSION_KINDS``, without importing scoring).
DECISION_KINDS = ("point", "address")
#: Longest reason (``scoring.integrity.review.MAX_REASON_LENGTH``).
MAX_REASON_LENGTH = 500
#: Hex digits of an address's keyed hash screens show (``scoring.integrity.section.ADDRESS_PREFIX``).
ADDRESS_LABEL_DIGITS = 12
#: Answer levels counted from the top of the scale, as the page names them.
ANSWER_LEVELS = ("very satisfied", "satisfied", "neutral", "dissatisfied", "very dissatisfied")


class IntegrityUnavailable(ValueError):
    """The wave cannot be reviewed (no submitted responses yet, or bad data)."""


class DecisionError(ValueError):
    """A decision that cannot be stored; the message says what is wrong and how to fix it.

    Attributes
    ----------
    field : str
        The form field it is about (``target``, ``reason``, ``decision``).
    """

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- the review


def _frame(session: Session, wave: Wave) -> pd.DataFrame:
    from survey.adapter import wave_responses_frame

    return wave_responses_frame(session, wave, include_comments=False, design_columns=True, paradata=True)


def _review(frame: pd.DataFrame, wave: Wave, rules: IntegrityRules | None) -> IntegrityReview:
    from scoring.errors import ScoringInputError
    from scoring.integrity.run import review_responses
    from survey.services.questionnaires import wave_questionnaires

    if frame.empty:
        raise IntegrityUnavailable(f"wave {wave.code!r} has no submitted responses yet; nothing to review")
    try:
        return review_responses(frame, questionnaires=wave_questionnaires(wave), rules=rules)
    except ScoringInputError as error:
        raise IntegrityUnavailable(str(error)) from error


def review_wave(session: Session, wave: Wave, *, rules: IntegrityRules | None = None) -> IntegrityReview:
    """Run the integrity checks over the wave's submitted responses as they are now.

    Raises
    ------
    IntegrityUnavailable
        The wave has no submitted response, or its data break the responses contract
        (the message says which column and row).
    """
    return _review(_frame(session, wave), wave, rules)


# --------------------------------------------------------------------------- decisions


def decision_history(session: Session, wave: Wave) -> list[IntegrityDecision]:
    """Every decision of ``wave``, withdrawn ones included, newest first."""
    return list(
        session.scalars(
            select(IntegrityDecision)
            .where(IntegrityDecision.wave_id == wave.id)
            .order_by(IntegrityDecision.decided_at.desc(), IntegrityDecision.id.desc())
        )
    )


def active_decisions(session: Session, wave: Wave) -> list[IntegrityDecision]:
    """The decisions of ``wave`` in force (not withdrawn), oldest first."""
    return list(
        session.scalars(
            select(IntegrityDecision)
            .where(IntegrityDecision.wave_id == wave.id, IntegrityDecision.withdrawn_at.is_(None))
            .order_by(IntegrityDecision.decided_at, IntegrityDecision.id)
        )
    )


def wave_exclusions(session: Session, wave: Wave) -> tuple[Exclusion, ...]:
    """The decisions in force as :class:`scoring.integrity.Exclusion` objects (what
    ``manyi score`` and publishing give the scoring)."""
    from scoring.integrity import Exclusion

    return tuple(
        Exclusion(kind=d.kind, target=d.target, reason=d.reason, decided_at=d.decided_at.isoformat())
        for d in active_decisions(session, wave)
    )


def address_label(address_hash: str) -> str:
    """How an address is named on screens: the first digits of its keyed hash."""
    return address_hash[:ADDRESS_LABEL_DIGITS]


def _actor_name(actor: Actor) -> str:
    return actor.username if isinstance(actor, User) else str(actor)


def _reason(text: str | None, *, what: str) -> str:
    reason = " ".join(str(text or "").split())
    if not reason:
        raise DecisionError(f"{what} needs a reason: say in plain words why (it is published)", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise DecisionError(
            f"the reason is {len(reason)} characters long; keep it to {MAX_REASON_LENGTH}", field="reason"
        )
    return reason


def _point_target(session: Session, wave: Wave, target: str) -> str:
    code = target.strip()
    found = session.scalar(
        select(CollectionPoint.code).where(CollectionPoint.wave_id == wave.id, CollectionPoint.code == code)
    )
    if found is None:
        known = session.scalars(
            select(CollectionPoint.code).where(CollectionPoint.wave_id == wave.id).order_by(CollectionPoint.code)
        ).all()
        listed = ", ".join(known[:20]) + (" …" if len(known) > 20 else "") if known else "none"
        raise DecisionError(
            f"wave {wave.code} has no collection point {code!r}; its points are: {listed}", field="target"
        )
    return found


def _address_target(session: Session, wave: Wave, target: str) -> str:
    text = target.strip().lower()
    if not (ADDRESS_LABEL_DIGITS <= len(text) <= 128 and all(c in "0123456789abcdef" for c in text)):
        raise DecisionError(
            f"{target!r} is not an address as the integrity review names it: give at least the first "
            f"{ADDRESS_LABEL_DIGITS} hex digits of its keyed hash (e.g. 3fa9c01b22de)",
            field="target",
        )
    matches = session.scalars(
        select(Response.ip_hash)
        .where(Response.wave_id == wave.id, Response.ip_hash.startswith(text, autoescape=True))
        .distinct()
        .limit(2)
    ).all()
    if not matches:
        raise DecisionError(
            f"no response of wave {wave.code} came from address {text[:ADDRESS_LABEL_DIGITS]}", field="target"
        )
    if len(matches) > 1:
        raise DecisionError(f"{text!r} names more than one address; give more digits", field="target")
    return str(matches[0])


def _target_text(wave: Wave, kind: str, target: str) -> str:
    if kind == "point":
        return audit.point_target(wave.code, target)
    return f"{audit.wave_target(wave.code)} address {address_label(target)}"


def exclude(
    session: Session,
    wave: Wave,
    *,
    kind: str,
    target: str,
    reason: str,
    actor: Actor,
) -> IntegrityDecision:
    """Record the office's decision to leave a point's (or an address's) responses out of the
    wave's estimate, and audit it (``integrity.exclude``).  The caller commits.

    Parameters
    ----------
    kind : {"point", "address"}
    target : str
        A collection point code of the wave, or an address as the review names it (at
        least its first 12 hex digits; the whole keyed hash is stored).
    reason : str
        Why, in plain words (≤ 500 characters; published with the results).
    actor : User or str

    Raises
    ------
    DecisionError
        Unknown kind, no such point or address in the wave, no reason or too long a
        reason, or the target is already excluded; nothing is stored.
    """
    if kind not in DECISION_KINDS:
        raise DecisionError(f"kind must be one of {', '.join(DECISION_KINDS)}, got {kind!r}", field="kind")
    if not str(target or "").strip():
        raise DecisionError(f"say which {kind} to exclude", field="target")
    full = _point_target(session, wave, target) if kind == "point" else _address_target(session, wave, target)
    text = _reason(reason, what=f"excluding {kind} {address_label(full) if kind == 'address' else full}")
    for decision in active_decisions(session, wave):
        if decision.kind == kind and decision.target == full:
            raise DecisionError(
                f"{kind} {address_label(full) if kind == 'address' else full} is already excluded "
                f"(decision {decision.id}); withdraw that decision first to change its reason",
                field="target",
            )
    decision = IntegrityDecision(
        wave_id=wave.id, kind=kind, target=full, reason=text, decided_by=_actor_name(actor), decided_at=utcnow()
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        "integrity.exclude",
        actor=actor,
        target=_target_text(wave, kind, full),
        detail={"decision": decision.id, "kind": kind, "reason": text},
    )
    return decision


def withdraw(
    session: Session,
    wave: Wave,
    decision_id: int | str,
    *,
    reason: str,
    actor: Actor,
) -> IntegrityDecision:
    """Withdraw a decision in force (kept in the history) and audit it (``integrity.withdraw``).
    The caller commits.

    Raises
    ------
    DecisionError
        No such decision in the wave, already withdrawn, or no reason; nothing is stored.
    """
    try:
        number = int(str(decision_id).strip())
    except ValueError:
        raise DecisionError(
            f"{decision_id!r} is not a decision number (see the decisions list)", field="decision"
        ) from None
    decision = session.get(IntegrityDecision, number)
    if decision is None or decision.wave_id != wave.id:
        raise DecisionError(f"wave {wave.code} has no exclusion decision {number}", field="decision")
    if decision.withdrawn_at is not None:
        raise DecisionError(f"decision {number} was already withdrawn", field="decision")
    text = _reason(reason, what=f"withdrawing decision {number}")
    decision.withdrawn_at = utcnow()
    decision.withdrawn_by = _actor_name(actor)
    decision.withdrawal_reason = text
    session.flush()
    audit.record(
        session,
        "integrity.withdraw",
        actor=actor,
        target=_target_text(wave, decision.kind, decision.target),
        detail={"decision": decision.id, "kind": decision.kind, "reason": text},
    )
    return decision


# --------------------------------------------------------------------------- the office's page


@dataclass(frozen=True)
class AnswerBar:
    """One answer level: its share of the point's answers and of its town's other points'."""

    level: str
    point: float
    town: float | None


@dataclass(frozen=True)
class HourBar:
    """One hour of the day (Beijing time): the point's completions and their share, and the
    share of the town's other points' completions in that hour."""

    hour: int
    count: int
    share: float
    town: float | None


@dataclass(frozen=True)
class FlaggedPoint:
    """A flagged point as the page shows it (the evidence in the page's language)."""

    code: str
    town: str
    place: str
    responses: int
    q_value: float | None
    evidence: tuple[tuple[str, str, bool], ...]
    answers: tuple[AnswerBar, ...]
    hours: tuple[HourBar, ...]
    busiest_hour: int
    excluded: bool


@dataclass(frozen=True)
class FlaggedAddress:
    label: str
    responses: int
    points: int
    towns: int
    evidence: tuple[tuple[str, str, bool], ...]
    excluded: bool


@dataclass(frozen=True)
class IntegrityPage:
    """What the office's integrity page shows.

    ``status`` is ``ok``, ``no_responses`` (nothing submitted yet), ``too_few`` (no point
    has enough responses to be tested) or ``unavailable`` (the data break the contract:
    ``problem`` says how).
    """

    computed_at: dt.datetime
    status: str
    submitted: int
    min_point_responses: int
    tested_points: int
    untested_points: int
    tested_addresses: int
    checks: tuple[str, ...]
    not_run: tuple[str, ...]
    flagged_points: tuple[FlaggedPoint, ...]
    flagged_addresses: tuple[FlaggedAddress, ...]
    collection: Mapping[str, Any]
    problem: str = ""


def _levels(frame: pd.DataFrame, items: Sequence[str], lengths: Mapping[str, int]) -> Any:
    """Per row and item, the answer's level counted from the top of its scale (0 = top), NaN when missing."""
    import numpy as np

    values = frame[list(items)].to_numpy(dtype=float)
    tops = np.array([lengths.get(code, 5) for code in items], dtype=float)
    return np.minimum(tops[None, :] - values, len(ANSWER_LEVELS) - 1)


def _answer_bars(levels: Any, at_point: Any, others: Any) -> tuple[AnswerBar, ...]:
    import numpy as np

    def shares(rows: Any) -> np.ndarray | None:
        chosen = levels[rows]
        answered = chosen[np.isfinite(chosen)].astype(int)
        if answered.size == 0:
            return None
        return np.bincount(answered, minlength=len(ANSWER_LEVELS)) / answered.size

    mine, theirs = shares(at_point), shares(others)
    return tuple(
        AnswerBar(
            level=name,
            point=float(mine[k]) if mine is not None else 0.0,
            town=float(theirs[k]) if theirs is not None else None,
        )
        for k, name in enumerate(ANSWER_LEVELS)
    )


def _hour_bars(hours: Any, at_point: Any, others: Any) -> tuple[HourBar, ...]:
    import numpy as np

    counts = np.bincount(hours[at_point & (hours >= 0)], minlength=24)
    other = np.bincount(hours[others & (hours >= 0)], minlength=24)
    total, other_total = counts.sum(), other.sum()
    return tuple(
        HourBar(
            hour=h,
            count=int(counts[h]),
            share=float(counts[h] / total) if total else 0.0,
            town=float(other[h] / other_total) if other_total else None,
        )
        for h in range(24)
    )


def _beijing_hours(frame: pd.DataFrame) -> Any:
    import numpy as np
    import pandas as pd

    from scoring.vocabulary import TIME_ZONE

    times = pd.to_datetime(frame["submitted_at"], utc=True, errors="coerce").dt.tz_convert(TIME_ZONE)
    return times.dt.hour.fillna(-1).to_numpy(dtype=np.int64)


def _evidence(items: Sequence[Any], language: str) -> tuple[tuple[str, str, bool], ...]:
    from scoring.integrity.words import describe, label

    shown = []
    for item in sorted(items, key=lambda e: (not e.unusual, e.p_value)):
        try:
            shown.append((label(item.check, language), describe(item, language), bool(item.unusual)))
        except KeyError:  # a check added to scoring after this page: its words are not known here
            continue
    return tuple(shown)


def integrity_page(session: Session, wave: Wave, *, language: str = "zh") -> IntegrityPage:
    """Review the wave's current responses and gather what the office's page shows: the
    flagged points with their evidence, their answers against their town's other points and
    their completions by hour of day, the flagged addresses, what was flagged at collection."""
    import numpy as np

    from scoring.data import Instrument
    from scoring.integrity.words import label
    from survey.services.questionnaires import wave_questionnaires

    now = utcnow()
    frame = _frame(session, wave)
    empty = IntegrityPage(
        computed_at=now,
        status="no_responses",
        submitted=len(frame),
        min_point_responses=10,
        tested_points=0,
        untested_points=0,
        tested_addresses=0,
        checks=(),
        not_run=(),
        flagged_points=(),
        flagged_addresses=(),
        collection={},
    )
    if frame.empty:
        return empty
    try:
        review = _review(frame, wave, None)
    except IntegrityUnavailable as error:
        return IntegrityPage(**{**empty.__dict__, "status": "unavailable", "problem": str(error)})
    excluded = {(d.kind, d.target) for d in active_decisions(session, wave)}
    points = {p.code: p for p in wave.points}
    flagged: list[FlaggedPoint] = []
    if review.flagged_points:
        questionnaires = wave_questionnaires(wave)
        instrument = Instrument.from_questionnaires(questionnaires)
        items = [code for code in instrument.item_codes if code in frame.columns]
        levels = _levels(frame, items, instrument.scale_lengths)
        hours = _beijing_hours(frame)
        point_column = frame["point"].astype("object").to_numpy()
        town_column = frame["point_town"].astype("object").to_numpy()
        for finding in review.flagged_points:
            at_point = point_column == finding.point
            others = (town_column == finding.town) & ~at_point
            point = points.get(finding.point)
            bars = _hour_bars(hours, at_point, others)
            flagged.append(
                FlaggedPoint(
                    code=finding.point,
                    town=(point.town.name_en if language == "en" else point.town.name_zh) if point else finding.town,
                    place=point.place if point else "",
                    responses=finding.responses,
                    q_value=float(finding.q_value) if np.isfinite(finding.q_value) else None,
                    evidence=_evidence(finding.evidence, language),
                    answers=_answer_bars(levels, at_point, others),
                    hours=bars,
                    busiest_hour=max(bars, key=lambda bar: bar.count).hour,
                    excluded=("point", finding.point) in excluded,
                )
            )
    addresses = tuple(
        FlaggedAddress(
            label=address_label(finding.address),
            responses=finding.responses,
            points=finding.points,
            towns=finding.towns,
            evidence=_evidence(finding.evidence, language),
            excluded=("address", finding.address) in excluded,
        )
        for finding in review.flagged_addresses
    )

    def named(check: str) -> str:
        try:
            return label(check, language)
        except KeyError:
            return check

    return IntegrityPage(
        computed_at=now,
        status="ok" if review.points else "too_few",
        submitted=len(frame),
        min_point_responses=review.rules.min_point_responses,
        tested_points=len(review.points),
        untested_points=len(review.untested_points),
        tested_addresses=len(review.addresses),
        checks=tuple(named(c) for c in (*review.point_checks, *review.address_checks)),
        not_run=tuple(named(c) for c in review.not_run),
        flagged_points=tuple(flagged),
        flagged_addresses=addresses,
        collection=dict(review.collection),
    )
