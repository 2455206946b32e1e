"""Resident responses in the database: start, resume, save a page, submit.

A response is a server-side draft (state ``partial``) from the moment the resident taps
"start" until the last page is sent (state ``submitted``).  The browser holds only a
signed, HttpOnly cookie naming the draft; answers live in the database, so a reload, a
phone that sleeps or a lost connection resumes where the resident was.

Integrity rules implemented here:

* **One-time submission keys.**  Every rendered question page carries a key
  (:mod:`survey.services.submission_keys`), claimed in the same transaction that stores
  the page's answers; a repeat (double tap, browser retry) stores nothing.
* **Starting is idempotent too.**  The landing page's key becomes the response's public
  id through a keyed hash, so a repeated "start" finds the same response instead of
  creating a second one (the ``uid`` column is unique).
* **Flags, not blocks.**  A second complete response from the same browser in the same
  wave is stored and flagged ``duplicate_browser``; unusually many completions from one
  address (keyed hash) within an hour **anywhere in the wave** are flagged ``ip_burst`` —
  a farm rotating over points is counted as one (issue 12, medium 6).  Scoring screens
  them.  A family member who starts again on the same phone with the "another family
  member" button is a person of their own (:func:`household_member_hash`), up to
  :data:`HOUSEHOLD_SIZE` people per phone.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.questionnaire import COMMON_ID, DOMAIN_IDS, QuestionnaireSet
from scoring.vocabulary import HOUSEHOLD_SIZE as _HOUSEHOLD_SIZE
from survey.models import AnswerSet, CollectionPoint, Response, new_response_uid, utcnow
from survey.privacy import keyed_hash
from survey.respond import flow
from survey.respond.visits import Visit
from survey.services.answers import pack, unpack
from survey.services.pinned_surveys import COMMON_COLUMNS, PinnedSurvey, pinned_survey

#: Response columns of the common block's answers other than the services list.
PLAIN_COLUMNS: dict[str, str] = {code: column for code, column in COMMON_COLUMNS.items() if code != flow.SERVICES_ITEM}
#: Window and default threshold of the ``ip_burst`` flag.
BURST_WINDOW = dt.timedelta(hours=1)
DEFAULT_BURST_LIMIT = 20
#: Flag names (see docs/contracts.md, ``flags`` column).
DUPLICATE_BROWSER = "duplicate_browser"
IP_BURST = "ip_burst"


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


def finished_in_wave(session: Session, wave_id: int, respondent_hash: str) -> bool:
    """Whether this browser (its keyed hash) has submitted a response in the wave."""
    found = session.scalar(
        select(Response.id)
        .where(Response.wave_id == wave_id, Response.respondent_hash == respondent_hash, Response.state == "submitted")
        .limit(1)
    )
    return found is not None


#: How many people one phone may answer for in a wave (the resident and family members
#: who say so on the "start again for another family member" button).  Beyond it a new
#: response is a repeat from the same browser (``duplicate_browser``), excluded from scoring.
HOUSEHOLD_SIZE = _HOUSEHOLD_SIZE


def household_member_hash(session: Session, wave_id: int, browser_id: str) -> str:
    """The respondent hash for a family member starting on a phone that has already finished.

    Each declared family member gets the keyed hash of ``<browser id>#<k>`` (k = 1, 2, …), so
    their answers are not a repeat of the phone owner's and count in the results.  After
    :data:`HOUSEHOLD_SIZE` people the phone's own hash is returned, and the next submission
    is flagged ``duplicate_browser`` as before: one phone cannot stand for a crowd.
    """
    for k in range(1, HOUSEHOLD_SIZE):
        member = browser_hash(f"{browser_id}#{k}")
        if not finished_in_wave(session, wave_id, member):
            return member
    return browser_hash(browser_id)


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


def find_response(session: Session, response_id: int) -> Response | None:
    """The response with the database id ``response_id`` (a submission key's owner)."""
    return session.get(Response, response_id)


def load_answers(
    session: Session,
    response: Response,
    survey: PinnedSurvey,
    answer_rows: tuple[tuple[int, bytes], ...] | None = None,
) -> dict[str, Any]:
    """Every answer stored so far for ``response``, as one ``code → value`` mapping.

    The answer sets are read unless ``answer_rows`` (read by
    :func:`survey.respond.visits.read_visit`) are
    given.  They are read as plain rows, not as objects: :func:`save_page` must find
    an answer set as it is once the page's key is claimed, not as it was before.
    """
    answers: dict[str, Any] = {}
    if response.services_used is not None:
        answers[flow.SERVICES_ITEM] = [domain for domain in response.services_used.split(";") if domain]
    for code, column in PLAIN_COLUMNS.items():
        value = getattr(response, column)
        if value is not None:
            answers[code] = value
    if answer_rows is None:
        answer_rows = tuple(
            session.execute(
                select(AnswerSet.version_id, AnswerSet.answers).where(AnswerSet.response_id == response.id)
            ).all()
        )
    for version_id, packed in answer_rows:
        found = survey.layout_of_version(version_id)
        if found is not None:
            answers.update(unpack(found[1].likert_codes, packed))
    return answers


def load_draft(session: Session, response: Response, point: CollectionPoint, visit: Visit | None = None) -> Draft:
    """The draft of ``response``; with ``visit`` (read for this page by
    :func:`survey.respond.visits.read_visit`),
    from what it read instead of reading again."""
    if visit is not None and visit.pins is not None:
        survey = pinned_survey(session, point.wave, visit.pins)
        answers = load_answers(session, response, survey, visit.answer_rows)
    else:
        survey = pinned_survey(session, point.wave)
        answers = load_answers(session, response, survey)
    return Draft(response=response, point=point, survey=survey, answers=answers)


# --------------------------------------------------------------------------- saving

# Written on the session's connection with statements built once (see
# :mod:`survey.services.submission_keys` for why).
_RESPONSES = Response.__table__
_ANSWER_SETS = AnswerSet.__table__
_DELETE_ANSWER_SET = _ANSWER_SETS.delete().where(
    _ANSWER_SETS.c.response_id == bindparam("owner"), _ANSWER_SETS.c.version_id == bindparam("version")
)
_DELETE_ANSWER_SETS = _ANSWER_SETS.delete().where(
    _ANSWER_SETS.c.response_id == bindparam("owner"),
    _ANSWER_SETS.c.version_id.in_(bindparam("versions", expanding=True)),
)


@functools.cache
def _upsert_answer_set(dialect_name: str) -> Any:
    """``INSERT … ON CONFLICT (response_id, version_id) DO UPDATE`` for the dialect.

    One statement instead of a read and then an insert or an update; both databases
    Manyi runs on (SQLite ≥ 3.24, PostgreSQL ≥ 9.5) have it, with the same meaning.
    """
    insert = postgresql_insert if dialect_name == "postgresql" else sqlite_insert
    statement = insert(_ANSWER_SETS).values(
        response_id=bindparam("owner"), version_id=bindparam("version"), answers=bindparam("packed")
    )
    return statement.on_conflict_do_update(
        index_elements=[_ANSWER_SETS.c.response_id, _ANSWER_SETS.c.version_id],
        set_={"answers": statement.excluded.answers},
    )


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
            setattr(response, PLAIN_COLUMNS[item.code], value)
    connection = session.connection()
    for questionnaire_id in touched:
        layout = draft.survey.layouts[questionnaire_id]
        packed = pack(layout.likert_codes, {code: draft.answers.get(code) for code in layout.likert_codes})
        # Written at once, after the key was claimed (so against the stored row as it is
        # now, not as it was read before the claim); the response row's changes follow
        # at commit.
        params = {"owner": response.id, "version": layout.version_id}
        if any(packed):
            connection.execute(_upsert_answer_set(connection.dialect.name), {**params, "packed": packed})
        else:
            connection.execute(_DELETE_ANSWER_SET, params)
    response.updated_at = now or utcnow()


#: Earlier submitted responses of the same browser in the wave (``duplicate_browser``).
_EARLIER_FROM_BROWSER = (
    select(func.count())
    .select_from(_RESPONSES)
    .where(
        _RESPONSES.c.wave_id == bindparam("wave"),
        _RESPONSES.c.respondent_hash == bindparam("browser"),
        _RESPONSES.c.state == "submitted",
        _RESPONSES.c.id != bindparam("owner"),
    )
    .scalar_subquery()
)
#: Responses submitted from the same address in the wave (at any point) within the window
#: (``ip_burst``; index ``ix_responses_wave_address_submitted``).
_RECENT_FROM_ADDRESS = (
    select(func.count())
    .select_from(_RESPONSES)
    .where(
        _RESPONSES.c.wave_id == bindparam("wave"),
        _RESPONSES.c.ip_hash == bindparam("address"),
        _RESPONSES.c.state == "submitted",
        _RESPONSES.c.submitted_at >= bindparam("since"),
        _RESPONSES.c.id != bindparam("owner"),
    )
    .scalar_subquery()
)
_COUNT_EARLIER_AND_RECENT = select(_EARLIER_FROM_BROWSER, _RECENT_FROM_ADDRESS)
_COUNT_RECENT = select(_RECENT_FROM_ADDRESS)


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
        session.connection().execute(_DELETE_ANSWER_SETS, {"owner": response.id, "versions": stale_versions})

    flags = {flag for flag in (response.flags or "").split(";") if flag}
    connection = session.connection()
    params = {
        "owner": response.id,
        "wave": response.wave_id,
        "browser": response.respondent_hash,
        "address": ip_hash,
        "since": now - BURST_WINDOW,
    }
    if response.respondent_hash:
        _serialise_per_browser(session, response.respondent_hash)
        # Both counts in one statement (one round trip), read after the per-browser lock.
        earlier, recent = connection.execute(_COUNT_EARLIER_AND_RECENT, params).one()
        if earlier:
            flags.add(DUPLICATE_BROWSER)
    else:
        recent = connection.execute(_COUNT_RECENT, params).scalar()
    if recent is not None and recent >= burst_limit:
        flags.add(IP_BURST)

    started = response.started_at or now
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
