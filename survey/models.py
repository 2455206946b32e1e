"""The data model (SQLAlchemy 2.0 typed models).

See ``docs/design.md`` for the reasoning, in particular the answer storage: a response's
Likert answers are stored per questionnaire version as a packed byte string
(:class:`AnswerSet`), one byte per item in the version's item order, so that a wave of a
million responses exports to the scoring engine as a handful of ``numpy.frombuffer``
calls instead of tens of millions of rows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base


def utcnow() -> dt.datetime:
    """Timezone-aware UTC now: every stored time is aware UTC (see :class:`UTCDateTime`)."""
    return dt.datetime.now(dt.UTC)


def new_response_uid() -> str:
    """A fresh public response id (``response_id`` in exports): 128 random bits as hex."""
    return secrets.token_hex(16)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is aware UTC in Python, on every database.

    PostgreSQL stores ``timestamptz`` and returns it in the session's time zone; SQLite
    has no time zones and returns what it stored, naive.  This type converts on the way
    in (to UTC; naive values are refused, since nobody can tell whose clock they came
    from) and on the way out (aware UTC), so no caller ever sees a naive time.
    Local (Beijing) time is for display only: :mod:`survey.localtime`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(
                f"{value!r} is not a timezone-aware datetime; store aware times "
                "(survey.models.utcnow(), or survey.localtime.local_to_utc for a time typed in Beijing time)"
            )
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# Wave states and response states are plain strings with CHECK-free validation in the
# service layer, so adding a state needs no table rebuild on SQLite.
WAVE_STATES = ("draft", "open", "closed")
RESPONSE_STATES = ("partial", "submitted")
CHANNELS = ("qr", "phone", "paper")
ROLES = ("admin", "statistician", "publisher")

#: Byte values of a packed answer: 0 = not answered, 1..K = the scale point,
#: NOT_APPLICABLE = 不适用/不清楚 (stored as missing for scoring, kept apart for paradata).
NOT_ANSWERED = 0
NOT_APPLICABLE = 255


class QuestionnaireVersion(Base):
    """One loaded version of a questionnaire file, identified by its content hash."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "content_hash", name="uq_questionnaire_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(40), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Codes of the Likert items in the order of the packed answer bytes.
    likert_codes: Mapped[list[str]] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(String(300), default="")
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Town(Base):
    """A town, street or management area (镇、街道、管理区) — a stratum."""

    __tablename__ = "towns"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class Wave(Base):
    """A survey round, e.g. the annual wave ``2025``."""

    __tablename__ = "waves"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title_zh: Mapped[str] = mapped_column(String(200), default="")
    title_en: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Target sample sizes (from the planner): {"total": n, "domains": {...}, "towns": {...}}.
    targets: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Made by ``manyi demo`` (synthetic, illustrative); the demo never touches any other wave.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questionnaires: Mapped[list[WaveQuestionnaire]] = relationship(back_populates="wave", cascade="all, delete-orphan")
    points: Mapped[list[CollectionPoint]] = relationship(back_populates="wave", order_by="CollectionPoint.code")


class WaveSettings(Base):
    """A wave's analysis settings (:class:`scoring.settings.AnalysisSettings`), stored with it.

    ``settings`` is ``AnalysisSettings.to_dict()``: the margins and benchmarks are their
    *content* (hashed), so a file on disk changing later changes nothing.  ``sources`` names
    the files they came from (``{"margins": {name, sha256} | None, "benchmarks": [{name,
    sha256}]}``, for results' ``inputs``).  One row per wave, replaced on every change; the
    history is the audit log (``wave.settings``, with the differences in its detail).
    """

    __tablename__ = "wave_settings"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: ``AnalysisSettings.digest()`` of ``settings``.
    digest: Mapped[str] = mapped_column(String(64))
    sources: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[str] = mapped_column(String(80))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Who runs the survey and a phone number residents may call, shown on the welcome page
    #: and the poster (issue 14); not analysis settings (outside ``settings`` and its digest).
    organiser: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(20))

    wave: Mapped[Wave] = relationship()


class WaveQuestionnaire(Base):
    """The questionnaire versions a wave serves (pinned when the wave is created)."""

    __tablename__ = "wave_questionnaires"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))

    wave: Mapped[Wave] = relationship(back_populates="questionnaires")
    version: Mapped[QuestionnaireVersion] = relationship()


class CollectionPoint(Base):
    """A place where a QR code is posted; the survey URL is ``/s/<token>``."""

    __tablename__ = "collection_points"
    __table_args__ = (UniqueConstraint("wave_id", "code", name="uq_point_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    town_code: Mapped[str] = mapped_column(ForeignKey("towns.code"))
    place: Mapped[str] = mapped_column(String(200))
    focus_domain: Mapped[str | None] = mapped_column(String(40), nullable=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    wave: Mapped[Wave] = relationship(back_populates="points")
    town: Mapped[Town] = relationship()


class Response(Base):
    """One resident's response: paradata, demographics and state.  Answers are in
    :class:`AnswerSet` rows, one per questionnaire version answered."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_wave_state", "wave_id", "state"),
        Index("ix_responses_wave_respondent", "wave_id", "respondent_hash"),
        # The ip_burst count: one address's submissions across the wave in the last hour.
        Index("ix_responses_wave_address_submitted", "wave_id", "ip_hash", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The public, unguessable response id (``response_id`` in exports).
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"))
    point_id: Mapped[int | None] = mapped_column(ForeignKey("collection_points.id"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(10), default="qr")
    state: Mapped[str] = mapped_column(String(12), default="partial")
    #: Keyed hash of the browser's id cookie (never the cookie itself).
    respondent_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Keyed hash of the client address (never the address itself).
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(10), nullable=True)
    age_group: Mapped[str | None] = mapped_column(String(10), nullable=True)
    town_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    #: ';'-joined domain ids the resident said they used.
    services_used: Mapped[str | None] = mapped_column(String(400), nullable=True)
    #: Free text; never published raw.
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ';'-joined quality flags, e.g. ``duplicate_browser``.
    flags: Mapped[str] = mapped_column(String(200), default="")
    #: Where the resident is in the flow (the page id), for resume.
    current_page: Mapped[str | None] = mapped_column(String(60), nullable=True)

    wave: Mapped[Wave] = relationship()
    point: Mapped[CollectionPoint | None] = relationship()
    answer_sets: Mapped[list[AnswerSet]] = relationship(back_populates="response", cascade="all, delete-orphan")


class AnswerSet(Base):
    """The Likert answers of one response to one questionnaire version, packed.

    ``answers[i]`` is the answer to ``version.likert_codes[i]``: 0 not answered,
    1..K the scale point, 255 不适用/不清楚.
    """

    __tablename__ = "answer_sets"

    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), primary_key=True, index=True)
    answers: Mapped[bytes] = mapped_column(LargeBinary)

    response: Mapped[Response] = relationship(back_populates="answer_sets")
    version: Mapped[QuestionnaireVersion] = relationship()


class SubmissionKey(Base):
    """A one-time key carried by every rendered resident page.

    The first POST with a key is processed and remembers where it led; a repeat of the
    same key (double tap, browser retry) is answered with that same place and stores
    nothing.
    """

    __tablename__ = "submission_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    page: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    result_url: Mapped[str | None] = mapped_column(String(300), nullable=True)


class User(Base):
    """An office account: admin, statistician or publisher."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Bumped on password reset / disable, so that old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class AuditEvent(Base):
    """Who did what, when: logins, wave and point changes, exports, imports, publications."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    ip_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Publication(Base):
    """An immutable snapshot of a wave's published results (one row per revision)."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("wave_id", "revision", name="uq_publication_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"))
    revision: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The results.json of the scoring run, verbatim.
    results_json: Mapped[str] = mapped_column(Text)
    #: Scoring configuration: margins, variance method, options.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: sha256 of every input (responses export, margins, benchmarks, questionnaires).
    input_hashes: Mapped[dict[str, Any]] = mapped_column(JSON)

    wave: Mapped[Wave] = relationship()
    files: Mapped[list[PublicationFile]] = relationship(back_populates="publication", cascade="all, delete-orphan")


class PublicationFile(Base):
    """A file of a publication (report.pdf, tables.xlsx, CSVs, charts), stored as bytes."""

    __tablename__ = "publication_files"

    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    publication: Mapped[Publication] = relationship(back_populates="files")


#: States of an office job, in the order a job goes through them.
JOB_STATES = ("queued", "running", "succeeded", "failed")


class Job(Base):
    """A piece of office work run by ``manyi worker`` outside the web request
    (:mod:`survey.services.jobs`): its kind, wave and parameters, who asked, its state,
    its progress and its result or error."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id"), nullable=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    state: Mapped[str] = mapped_column(String(20), default="queued")
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    steps_total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    wave: Mapped[Wave | None] = relationship()


# --------------------------------------------------------------------------- the district plan (issue 16)


class PlanVersion(Base):
    """One loaded version of the district plan (``plan.yaml``), identified by its content hash.

    Like questionnaire versions, stored versions never change: a wave pins the version it
    uses (:class:`WavePlan`), so a wave scored later reads its results by the same tasks and
    lead units.
    """

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(String(300), default="")
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WavePlan(Base):
    """The plan version a wave uses (pinned when the wave is created, or when a plan is first loaded)."""

    __tablename__ = "wave_plans"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))

    plan_version: Mapped[PlanVersion] = relationship()


class IndicatorValue(Base):
    """The value the office recorded for one of the plan's indicators in one year.

    ``code`` is the indicator's code in the plan (``t01.preschool_gross_enrolment``); one
    value per code and year (a correction replaces it, audited with the old value).
    """

    __tablename__ = "indicator_values"
    __table_args__ = (UniqueConstraint("code", "year", name="uq_indicator_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), index=True)
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(80), default="")


# --------------------------------------------------------------------------- integrity decisions (issue 15)


class IntegrityDecision(Base):
    """The office's decision to leave a collection point's (or a network address's) responses
    out of a wave's estimate, with its reason (published with the results).

    ``kind`` is ``point`` or ``address`` (:data:`scoring.integrity.EXCLUSION_KINDS`);
    ``target`` the point code, or the address's keyed hash (``ip_hash``; screens show only
    its first digits).  A decision is never deleted: withdrawing it sets ``withdrawn_at``,
    ``withdrawn_by`` and ``withdrawal_reason``, so the history stays (and both are audited).
    """

    __tablename__ = "integrity_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawn_by: Mapped[str] = mapped_column(String(80), default="")
    withdrawal_reason: Mapped[str] = mapped_column(Text, default="")

    wave: Mapped[Wave] = relationship()

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None
