"""Resident responses in the database: start, resume, save a page, submit.

A response is a server-side draft (state ``partial``) from the moment the resident taps
"start" until the last page is sent (state ``submitted``).  The browser holds only a
signed, HttpOnly cookie naming the draft; answers live in the database, so a reload, a
phone that sleeps or a lost connection resumes where the resident was.

Integrity rules implemented here:

* **One-time submission keys.**  Every rendered question page carries a key
  (:class:`~survey.models.SubmissionKey`).  :func:`claim_key` marks it used in the same
  transaction that stores the page's answers, with a conditional ``UPDATE`` that only
  one request can win; a repeat (double tap, browser retry) finds the key used and is
  sent where the first one went, storing nothing.
* **Starting is idempotent too.**  The landing page's key becomes the response's public
  id through a keyed hash, so a repeated "start" finds the same response instead of
  creating a second one (the ``uid`` column is unique).
* **Flags, not blocks.**  A second complete response from the same browser in the same
  wave is stored and flagged ``duplicate_browser``; unusually many completions from one
  address at one point within an hour are flagged ``ip_burst``.  Scoring screens them.
"""
from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS, QuestionnaireSet
from survey.models import (
    AnswerSet,
    CollectionPoint,
    QuestionnaireVersion,
    Response,
    SubmissionKey,
    Wave,
    WaveQuestionnaire,
    as_utc,
    utcnow,
)
from survey.privacy import keyed_hash
from survey.respond import flow
from survey.services.answers import pack, unpack
from survey.services.questionnaires import build_questionnaire_set
from survey.services.responses import new_response_uid

#: Response columns that hold the common block's non-Likert answers.
COMMON_COLUMNS: dict[str, str] = {"sex": "sex", "age_group": "age_group", "town": "town_code", "comment": "comment"}
#: Window and default threshold of the ``ip_burst`` flag.
BURST_WINDOW = dt.timedelta(hours=1)
DEFAULT_BURST_LIMIT = 20
#: Flag names (see docs/contracts.md, ``flags`` column).
DUPLICATE_BROWSER = "duplicate_browser"
IP_BURST = "ip_burst"


class SurveyDefinitionError(RuntimeError):
    """The wave's pinned questionnaires contain an item the resident flow cannot store."""


@dataclass(frozen=True)
class VersionLayout:
    """Where a questionnaire version's Likert answers go: its id and packed item order."""

    version_id: int
    likert_codes: tuple[str, ...]


@dataclass(frozen=True)
class PinnedSurvey:
    """The questionnaire versions a wave serves, rebuilt as objects, with their layouts."""

    questionnaires: QuestionnaireSet
    layouts: Mapping[str, VersionLayout]

    def layout_of_version(self, version_id: int) -> tuple[str, VersionLayout] | None:
        for questionnaire_id, layout in self.layouts.items():
            if layout.version_id == version_id:
                return questionnaire_id, layout
        return None


_pinned_cache: dict[tuple[tuple[str, int], ...], PinnedSurvey] = {}
_pinned_lock = threading.Lock()
_PINNED_CACHE_SIZE = 32


def pinned_survey(session: Session, wave: Wave) -> PinnedSurvey:
    """The questionnaire set pinned by ``wave``.

    Stored versions never change, so the rebuilt objects are cached per set of version
    ids (immutable data: any worker can rebuild them, none depends on another's cache).
    """
    rows = session.execute(
        select(WaveQuestionnaire.questionnaire_id, WaveQuestionnaire.version_id).where(WaveQuestionnaire.wave_id == wave.id)
    ).all()
    cache_key = tuple(sorted((questionnaire_id, version_id) for questionnaire_id, version_id in rows))
    with _pinned_lock:
        cached = _pinned_cache.get(cache_key)
    if cached is not None:
        return cached
    versions = {
        version.questionnaire_id: version
        for version in session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.id.in_([version_id for _, version_id in cache_key]))
        )
    }
    if COMMON_ID not in versions:
        raise SurveyDefinitionError(f"wave {wave.code} pins no common questionnaire; recreate the wave after 'manyi init'")
    questionnaires = build_questionnaire_set(versions)
    for item in questionnaires.common.items:
        if item.kind != "likert" and item.code != flow.SERVICES_ITEM and item.code not in COMMON_COLUMNS:
            raise SurveyDefinitionError(
                f"common item {item.code!r} ({item.kind}) has no column in the responses table; "
                "add a column and a migration before serving it to residents"
            )
    layouts = {
        questionnaire_id: VersionLayout(version.id, tuple(version.likert_codes))
        for questionnaire_id, version in versions.items()
    }
    pinned = PinnedSurvey(questionnaires, layouts)
    with _pinned_lock:
        if len(_pinned_cache) >= _PINNED_CACHE_SIZE:
            _pinned_cache.clear()
        _pinned_cache[cache_key] = pinned
    return pinned


@dataclass
class Draft:
    """A response being answered: the row, the wave's questionnaires and the answers so far."""

    response: Response
    point: CollectionPoint
    survey: PinnedSurvey
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def questionnaires(self) -> QuestionnaireSet:
        return self.survey.questionnaires

    def pages(self, *, services_default: bool = False) -> list[flow.Page]:
        """The resident's pages.  With ``services_default``, a resident who has not yet
        answered the services page is assumed to keep the pre-selected focus domain
        (used for the progress indicator on that page)."""
        services = self.answers.get(flow.SERVICES_ITEM)
        if services is None and services_default:
            services = [self.point.focus_domain] if self.point.focus_domain else []
        return flow.build_pages(self.questionnaires, services, self.point.focus_domain)


# --------------------------------------------------------------------------- starting


def browser_hash(browser_id: str) -> str:
    """The stored form of the browser-id cookie (a keyed hash; the cookie is never stored)."""
    return keyed_hash(browser_id, purpose="browser")


def address_hash(address: str) -> str:
    """The stored form of a client address (a keyed hash; the address is never stored)."""
    return keyed_hash(address, purpose="ip")


def uid_for_start_key(start_key: str) -> str:
    """The public response id that a landing page's one-time key turns into."""
    return keyed_hash(start_key, purpose="response-uid")[:32]


def start_response(
    session: Session,
    point: CollectionPoint,
    *,
    start_key: str,
    respondent_hash: str,
    ip_hash: str,
    language: str,
    now: dt.datetime | None = None,
) -> Response:
    """Create the draft response for a "start" tap, or return the one that tap created.

    A repeat of the same ``start_key`` from the same browser returns the existing
    response (idempotent); the same key from another browser (a copied page) gets a
    fresh response instead of someone else's draft.  Commits.
    """
    now = now or utcnow()
    uid = uid_for_start_key(start_key)
    existing = session.scalar(select(Response).where(Response.uid == uid))
    if existing is not None:
        if existing.point_id == point.id and existing.respondent_hash == respondent_hash:
            return existing
        uid = new_response_uid()
    response = Response(
        uid=uid,
        wave_id=point.wave_id,
        point_id=point.id,
        channel="qr",
        state="partial",
        respondent_hash=respondent_hash,
        ip_hash=ip_hash,
        language=language,
        started_at=now,
        updated_at=now,
        current_page=flow.SERVICES,
        flags="",
    )
    session.add(response)
    try:
        session.commit()
    except IntegrityError:
        # Two taps raced: the other one created the response first.
        session.rollback()
        winner = session.scalar(select(Response).where(Response.uid == uid).execution_options(populate_existing=True))
        if winner is None or winner.respondent_hash != respondent_hash:
            raise
        return winner
    return response


# --------------------------------------------------------------------------- loading


def find_response(session: Session, uid: str, point: CollectionPoint) -> Response | None:
    """The response ``uid`` if it was started at ``point`` (any state)."""
    return session.scalar(select(Response).where(Response.uid == uid, Response.point_id == point.id))


def load_answers(session: Session, response: Response, survey: PinnedSurvey) -> dict[str, Any]:
    """Every answer stored so far for ``response``, as one ``code → value`` mapping."""
    answers: dict[str, Any] = {}
    if response.services_used is not None:
        answers[flow.SERVICES_ITEM] = [domain for domain in response.services_used.split(";") if domain]
    for code, column in COMMON_COLUMNS.items():
        value = getattr(response, column)
        if value is not None:
            answers[code] = value
    answer_sets = session.scalars(select(AnswerSet).where(AnswerSet.response_id == response.id))
    for answer_set in answer_sets:
        found = survey.layout_of_version(answer_set.version_id)
        if found is not None:
            answers.update(unpack(found[1].likert_codes, answer_set.answers))
    return answers


def load_draft(session: Session, response: Response, point: CollectionPoint) -> Draft:
    survey = pinned_survey(session, point.wave)
    return Draft(response=response, point=point, survey=survey, answers=load_answers(session, response, survey))


# --------------------------------------------------------------------------- keys

KEY_PATTERN = r"^[A-Za-z0-9_\-]{20,64}$"


def issue_key(session: Session, response: Response, page_id: str) -> str:
    """The one-time key for a rendering of ``page_id``.

    A page shown again before it was sent (a reload) reuses its unused key, so reloads do
    not pile up rows; once a key is used, the next rendering gets a new one.  The caller
    commits.
    """
    unused = session.scalar(
        select(SubmissionKey.key)
        .where(SubmissionKey.response_id == response.id, SubmissionKey.page == page_id, SubmissionKey.used_at.is_(None))
        .order_by(SubmissionKey.created_at.desc())
        .limit(1)
    )
    if unused:
        return unused
    key = secrets.token_urlsafe(24)
    session.add(SubmissionKey(key=key, response_id=response.id, page=page_id))
    return key


def find_key(session: Session, key: str) -> SubmissionKey | None:
    return session.scalar(
        select(SubmissionKey).where(SubmissionKey.key == key).execution_options(populate_existing=True)
    )


def claim_key(session: Session, key: str, response: Response, *, now: dt.datetime | None = None) -> bool:
    """Mark ``key`` used; True for the one request that wins it.

    This is the transaction's first write: on SQLite it takes the database's write lock
    before anything is read for the update; on PostgreSQL the row lock makes a racing
    request wait and then find the key used.  The response row is then locked so that
    two pages of one response are never saved at once.
    """
    result = session.execute(
        update(SubmissionKey)
        .where(SubmissionKey.key == key, SubmissionKey.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    session.execute(select(Response.id).where(Response.id == response.id).with_for_update())
    return True


def record_result(session: Session, key: str, result_url: str) -> None:
    """Remember where the first POST of ``key`` led (a repeat is sent there too)."""
    session.execute(
        update(SubmissionKey)
        .where(SubmissionKey.key == key)
        .values(result_url=result_url)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- saving


def save_page(
    session: Session, draft: Draft, page: flow.Page, values: Mapping[str, Any], *, now: dt.datetime | None = None
) -> None:
    """Store the answers of one page (replacing what the page had before).

    ``values`` maps item codes of ``page`` to validated values; an item missing from it
    is stored as not answered.  The caller has claimed the page's key and commits.
    """
    response = draft.response
    touched: set[str] = set()
    for item in page.items:
        value = values.get(item.code)
        if value is None or (isinstance(value, str) and not value) or (isinstance(value, list) and not value):
            draft.answers.pop(item.code, None)
            value = None
        else:
            draft.answers[item.code] = value
        if item.kind == "likert":
            touched.add(item.questionnaire)
        elif item.code == flow.SERVICES_ITEM:
            chosen = set(value or ())
            response.services_used = ";".join(domain for domain in DOMAIN_IDS if domain in chosen)
        else:
            setattr(response, COMMON_COLUMNS[item.code], value)
    for questionnaire_id in touched:
        layout = draft.survey.layouts[questionnaire_id]
        packed = pack(layout.likert_codes, {code: draft.answers.get(code) for code in layout.likert_codes})
        existing = session.get(AnswerSet, (response.id, layout.version_id))
        if not any(packed):
            if existing is not None:
                session.delete(existing)
        elif existing is None:
            session.add(AnswerSet(response_id=response.id, version_id=layout.version_id, answers=packed))
        else:
            existing.answers = packed
    response.updated_at = now or utcnow()


@dataclass(frozen=True)
class SubmitResult:
    """What :func:`submit` did: ``submitted`` or not (``go_to`` is then the page to fix)."""

    submitted: bool
    go_to: str
    flags: tuple[str, ...] = ()


def submit(
    session: Session,
    draft: Draft,
    *,
    ip_hash: str,
    burst_limit: int = DEFAULT_BURST_LIMIT,
    now: dt.datetime | None = None,
) -> SubmitResult:
    """Turn a complete draft into a submitted response, with its quality flags.

    Answers of domains the resident unticked after answering them are removed (the
    response only holds the domains it says were used).  The caller commits.
    """
    now = now or utcnow()
    response = draft.response
    pages = draft.pages()
    incomplete = flow.first_incomplete(pages, draft.answers)
    if incomplete is not None:
        return SubmitResult(False, incomplete)
    answered_domains = {page.id for page in pages if page.kind == "domain"}
    stale_versions = [
        layout.version_id
        for questionnaire_id, layout in draft.survey.layouts.items()
        if questionnaire_id != COMMON_ID and questionnaire_id not in answered_domains
    ]
    if stale_versions:
        session.execute(
            delete(AnswerSet)
            .where(AnswerSet.response_id == response.id, AnswerSet.version_id.in_(stale_versions))
            .execution_options(synchronize_session=False)
        )

    flags = {flag for flag in (response.flags or "").split(";") if flag}
    if response.respondent_hash:
        _serialise_per_browser(session, response.respondent_hash)
        earlier = session.scalar(
            select(func.count())
            .select_from(Response)
            .where(
                Response.wave_id == response.wave_id,
                Response.respondent_hash == response.respondent_hash,
                Response.state == "submitted",
                Response.id != response.id,
            )
        )
        if earlier:
            flags.add(DUPLICATE_BROWSER)
    recent = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(
            Response.point_id == response.point_id,
            Response.ip_hash == ip_hash,
            Response.state == "submitted",
            Response.submitted_at >= now - BURST_WINDOW,
            Response.id != response.id,
        )
    )
    if recent is not None and recent >= burst_limit:
        flags.add(IP_BURST)

    started = as_utc(response.started_at) or now
    response.state = "submitted"
    response.submitted_at = now
    response.updated_at = now
    response.duration_s = max(0.0, (now - started).total_seconds())
    response.ip_hash = ip_hash
    response.current_page = flow.THANKS
    response.flags = ";".join(sorted(flags))
    return SubmitResult(True, flow.THANKS, tuple(sorted(flags)))


def _serialise_per_browser(session: Session, respondent_hash: str) -> None:
    """On PostgreSQL, make two submissions from one browser take turns, so that the
    second always sees the first and is flagged (SQLite already serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(respondent_hash[:15], 16)})
