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
import functools
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

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
from survey.services.waves import well_formed_token

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
    """The questionnaire versions a wave serves, rebuilt as objects, with their layouts.

    ``form_classes`` holds the page form classes built from these questionnaires (see
    :func:`survey.respond.routes.page_form_class_for`): like the questionnaires they never
    change, so they live as long as this object does.
    """

    questionnaires: QuestionnaireSet
    layouts: Mapping[str, VersionLayout]
    form_classes: dict[tuple[str, str, bool], type] = field(default_factory=dict, compare=False, repr=False)

    def layout_of_version(self, version_id: int) -> tuple[str, VersionLayout] | None:
        for questionnaire_id, layout in self.layouts.items():
            if layout.version_id == version_id:
                return questionnaire_id, layout
        return None


#: A wave's pinned versions: sorted ``(questionnaire id, version id)`` pairs.
PinnedVersions = tuple[tuple[str, int], ...]

_pinned_cache: dict[PinnedVersions, PinnedSurvey] = {}
_pinned_lock = threading.Lock()
_PINNED_CACHE_SIZE = 32


def pinned_survey(session: Session, wave: Wave, pins: PinnedVersions | None = None) -> PinnedSurvey:
    """The questionnaire set pinned by ``wave``.

    Stored versions never change, so the rebuilt objects are cached per set of version
    ids (immutable data: any worker can rebuild them, none depends on another's cache).
    The wave's pins are read from the database unless ``pins`` (read together with the
    point, see :func:`read_visit`) are given; only the pins are read on every request.
    """
    if pins is None:
        rows = session.execute(
            select(WaveQuestionnaire.questionnaire_id, WaveQuestionnaire.version_id).where(
                WaveQuestionnaire.wave_id == wave.id
            )
        ).all()
        pins = tuple(sorted((questionnaire_id, version_id) for questionnaire_id, version_id in rows))
    cache_key = pins
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
        raise SurveyDefinitionError(
            f"wave {wave.code} pins no common questionnaire; recreate the wave after 'manyi init'"
        )
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


@dataclass
class Visit:
    """What a resident request reads before it decides anything (see :func:`read_visit`)."""

    #: The point, with its wave loaded.
    point: CollectionPoint
    #: The response the draft cookie names, if it was started at this point (any state).
    response: Response | None = None
    #: The wave's pinned versions (question pages only).
    pins: PinnedVersions | None = None
    #: The response's stored answer sets as ``(version id, packed answers)`` (question
    #: pages only; empty without a response).
    answer_rows: tuple[tuple[int, bytes], ...] = ()
    #: The newest unused key of the page asked for (a GET of a question page), if any.
    unused_key: str | None = None
    #: The row of the submission key sent with a form (a POST), if it exists.
    key_row: SubmissionKey | None = None


def _pins_column() -> Any:
    """The wave's pins as one string ``id:version;id:version…``, correlated to the point.

    Questionnaire ids are lower-case words (``[a-z_]+``), so ``:`` and ``;`` cannot occur
    in them.  ``aggregate_strings`` is ``group_concat`` on SQLite, ``string_agg`` on
    PostgreSQL.
    """
    pair = WaveQuestionnaire.questionnaire_id + ":" + cast(WaveQuestionnaire.version_id, String)
    return (
        select(func.aggregate_strings(pair, ";"))
        .where(WaveQuestionnaire.wave_id == CollectionPoint.wave_id)
        .scalar_subquery()
    )


def _parse_pins(joined: str | None) -> PinnedVersions:
    pairs = []
    for pin in (joined or "").split(";"):
        if pin:
            questionnaire_id, _, version_id = pin.partition(":")
            pairs.append((questionnaire_id, int(version_id)))
    return tuple(sorted(pairs))


def _unused_key_query(response_id: Any, page_id: Any) -> Any:
    """The newest unused key of ``page_id`` for ``response_id`` (see :func:`issue_key`)."""
    return (
        select(SubmissionKey.key)
        .where(SubmissionKey.response_id == response_id, SubmissionKey.page == page_id, SubmissionKey.used_at.is_(None))
        .order_by(SubmissionKey.created_at.desc())
        .limit(1)
    )


@functools.cache
def _visit_statement(with_response: bool, with_key: bool, with_page: bool, with_unused_key: bool) -> Any:
    """The statement of :func:`read_visit` for one combination of what it reads.

    Built once per combination (there are few) with bound parameters ``token``, ``uid``,
    ``key`` and ``page_id``: building an ORM statement of this size costs more CPU than
    running it.  The columns are, in order: the point (its wave loaded with it), the
    response, the key row, the pins, the unused key, an answer set's version and answers.
    """
    statement = (
        select(CollectionPoint)
        .join(CollectionPoint.wave)
        .options(contains_eager(CollectionPoint.wave))
        .where(CollectionPoint.token == bindparam("token"))
    )
    if with_response:
        statement = statement.outerjoin(
            Response, and_(Response.uid == bindparam("uid"), Response.point_id == CollectionPoint.id)
        ).add_columns(Response)
    if with_key:
        statement = statement.outerjoin(SubmissionKey, SubmissionKey.key == bindparam("key")).add_columns(SubmissionKey)
    if with_page:
        statement = statement.add_columns(_pins_column())
        if with_response and with_unused_key:
            statement = statement.add_columns(_unused_key_query(Response.id, bindparam("page_id")).scalar_subquery())
        if with_response:
            statement = statement.outerjoin(AnswerSet, AnswerSet.response_id == Response.id).add_columns(
                AnswerSet.version_id, AnswerSet.answers
            )
    return statement


def read_visit(
    session: Session,
    token: str,
    *,
    uid: str | None = None,
    page_id: str | None = None,
    unused_key_of_page: bool = False,
    key: str | None = None,
) -> Visit | None:
    """The point of ``/s/<token>`` (None when there is none) with its wave and, in the
    same statement, what the request needs next.

    Every statement is a round trip and, through the ORM, a fraction of a millisecond
    of CPU, so a resident request reads everything it may need at once:

    * ``uid``: the response the draft cookie names, if it was started at this point;
    * ``page_id``: (a question page) the wave's pinned versions and the response's
      stored answer sets; with ``unused_key_of_page`` (a GET) also that page's newest
      unused key;
    * ``key``: (a POST) the submission key row sent with the form.

    Nothing here is written, and what is read is what the separate look-ups read
    (:func:`load_answers`, :func:`issue_key`, :func:`find_key`).
    """
    if not well_formed_token(token):
        return None
    with_response = uid is not None
    with_page = page_id is not None
    with_unused_key = with_page and with_response and unused_key_of_page
    statement = _visit_statement(with_response, key is not None, with_page, with_unused_key)
    params: dict[str, Any] = {"token": token}
    if with_response:
        params["uid"] = uid
    if key is not None:
        params["key"] = key
    if with_unused_key:
        params["page_id"] = page_id
    rows = session.execute(statement, params).all()
    if not rows:
        return None
    first = iter(rows[0])
    visit = Visit(point=next(first))
    if with_response:
        visit.response = next(first)
    if key is not None:
        visit.key_row = next(first)
    if with_page:
        visit.pins = _parse_pins(next(first))
        if with_unused_key:
            visit.unused_key = next(first)
        if with_response:
            # One row per stored answer set (a single row of NULLs when there is none).
            visit.answer_rows = tuple((row[-2], row[-1]) for row in rows if row[-2] is not None)
    return visit


def load_answers(
    session: Session,
    response: Response,
    survey: PinnedSurvey,
    answer_rows: tuple[tuple[int, bytes], ...] | None = None,
) -> dict[str, Any]:
    """Every answer stored so far for ``response``, as one ``code → value`` mapping.

    The answer sets are read unless ``answer_rows`` (read by :func:`read_visit`) are
    given.  They are read as plain rows, not as objects: :func:`save_page` must find
    an answer set as it is once the page's key is claimed, not as it was before.
    """
    answers: dict[str, Any] = {}
    if response.services_used is not None:
        answers[flow.SERVICES_ITEM] = [domain for domain in response.services_used.split(";") if domain]
    for code, column in COMMON_COLUMNS.items():
        value = getattr(response, column)
        if value is not None:
            answers[code] = value
    if answer_rows is None:
        answer_rows = tuple(
            session.execute(
                select(AnswerSet.version_id, AnswerSet.answers).where(AnswerSet.response_id == response.id)
            ).tuples()
        )
    for version_id, packed in answer_rows:
        found = survey.layout_of_version(version_id)
        if found is not None:
            answers.update(unpack(found[1].likert_codes, packed))
    return answers


def load_draft(session: Session, response: Response, point: CollectionPoint, visit: Visit | None = None) -> Draft:
    """The draft of ``response``; with ``visit`` (read for this page by :func:`read_visit`),
    from what it read instead of reading again."""
    if visit is not None and visit.pins is not None:
        survey = pinned_survey(session, point.wave, visit.pins)
        answers = load_answers(session, response, survey, visit.answer_rows)
    else:
        survey = pinned_survey(session, point.wave)
        answers = load_answers(session, response, survey)
    return Draft(response=response, point=point, survey=survey, answers=answers)


# --------------------------------------------------------------------------- keys

KEY_PATTERN = r"^[A-Za-z0-9_\-]{20,64}$"

# The writes of a resident request, built once and run on the session's connection:
# building a statement and passing it through the ORM costs several times what running
# it does, and these touch no object the session holds (bound parameter names differ
# from the column names, as SQLAlchemy requires for UPDATE … SET).
_KEYS = SubmissionKey.__table__
_RESPONSES = Response.__table__
_ANSWER_SETS = AnswerSet.__table__
_INSERT_KEY = _KEYS.insert().values(key=bindparam("new_key"), response_id=bindparam("owner"), page=bindparam("page_id"))
_CLAIM_KEY = (
    _KEYS.update()
    .where(_KEYS.c.key == bindparam("claimed"), _KEYS.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_LOCK_RESPONSE = select(_RESPONSES.c.id).where(_RESPONSES.c.id == bindparam("owner")).with_for_update()
_RECORD_RESULT = _KEYS.update().where(_KEYS.c.key == bindparam("claimed")).values(result_url=bindparam("url"))
_DELETE_ANSWER_SET = _ANSWER_SETS.delete().where(
    _ANSWER_SETS.c.response_id == bindparam("owner"), _ANSWER_SETS.c.version_id == bindparam("version")
)
_DELETE_ANSWER_SETS = _ANSWER_SETS.delete().where(
    _ANSWER_SETS.c.response_id == bindparam("owner"),
    _ANSWER_SETS.c.version_id.in_(bindparam("versions", expanding=True)),
)


def issue_key(session: Session, response: Response, page_id: str, visit: Visit | None = None) -> str:
    """The one-time key for a rendering of ``page_id``.

    A page shown again before it was sent (a reload) reuses its unused key, so reloads do
    not pile up rows; once a key is used, the next rendering gets a new one.  With
    ``visit`` (read by :func:`read_visit` with ``unused_key_of_page``) the unused key it
    found is used instead of looking again.  The caller commits.
    """
    if visit is not None:
        unused = visit.unused_key
    else:
        unused = session.scalar(_unused_key_query(response.id, page_id))
    if unused:
        return unused
    key = secrets.token_urlsafe(24)
    session.connection().execute(_INSERT_KEY, {"new_key": key, "owner": response.id, "page_id": page_id})
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
    session.flush()  # nothing is pending here; if it were, it must not be lost
    connection = session.connection()
    result = connection.execute(_CLAIM_KEY, {"claimed": key, "now": now or utcnow()})
    if result.rowcount != 1:
        return False
    # SQLite has no row locks (SQLAlchemy drops FOR UPDATE there, leaving a plain read
    # that locks nothing): the claim above already holds the database's write lock, which
    # serialises the pages of a response as well, so the statement would only cost time.
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_RESPONSE, {"owner": response.id})
    return True


def record_result(session: Session, key: str, result_url: str) -> None:
    """Remember where the first POST of ``key`` led (a repeat is sent there too)."""
    session.connection().execute(_RECORD_RESULT, {"claimed": key, "url": result_url})


# --------------------------------------------------------------------------- saving


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
            setattr(response, COMMON_COLUMNS[item.code], value)
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
#: Responses submitted from the same address at the point within the window (``ip_burst``).
_RECENT_FROM_ADDRESS = (
    select(func.count())
    .select_from(_RESPONSES)
    .where(
        _RESPONSES.c.point_id == bindparam("point"),
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
        "point": response.point_id,
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
