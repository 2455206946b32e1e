"""Initialising an instance and creating the demo (``manyi init`` and ``manyi demo``).

The demo only ever touches its own data: its waves are marked (``Wave.is_demo``) and it
refuses, changing nothing, an instance that holds any other wave.  It keeps the admin
password unless asked to reset it, and every account change it makes is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy import Boolean, column, func, inspect, select, table
from sqlalchemy.orm import Session

from scoring.vocabulary import DEFAULT_TARGET
from survey import schema
from survey.db import database, get_session
from survey.models import Response, Wave
from survey.services import accounts
from survey.services.audit import DEMO_ACTOR, SYSTEM_ACTOR, Actor
from survey.services.questionnaires import LoadReport, load_into_database, questionnaires_dir
from survey.services.waves import add_point, create_wave, find_wave, set_wave_state, survey_url

if TYPE_CHECKING:  # pragma: no cover - typing only
    from survey.services.settings import SettingsChanges

FIRST_ADMIN = "admin"
DEMO_WAVE = "2025"


@dataclass(frozen=True)
class InitReport:
    revision_before: str | None
    revision_after: str | None
    questionnaires: LoadReport
    admin_password: str | None  # set only when the account was created now


def initialise(app: Flask, directory: str | Path | None = None, *, actor: Actor = SYSTEM_ACTOR) -> InitReport:
    """Create/upgrade the schema, load new questionnaire versions, create the first admin.

    Idempotent: a second run finds nothing to do and changes nothing.  Raises
    :class:`~scoring.questionnaire.QuestionnaireError` (nothing loaded) for invalid
    files and :class:`~survey.services.questionnaires.QuestionnairesNotFound` when no
    folder is configured.
    """
    folder = Path(directory) if directory else questionnaires_dir(app.config)
    before, after = schema.upgrade(app)
    session = get_session()
    report = load_into_database(session, folder)
    password = None
    if accounts.count_users(session) == 0:
        _, password = accounts.add_account(session, FIRST_ADMIN, "admin", actor=actor)
    session.commit()
    return InitReport(before, after, report, password)


# --------------------------------------------------------------------------- the demo


class DemoRefused(ValueError):
    """The instance holds real (non-demo) waves: the demo changes nothing there."""


@dataclass(frozen=True)
class DemoReport:
    wave_code: str
    created: bool
    responses: int
    #: ``(point code, place, survey URL)`` of every collection point.
    point_urls: list[tuple[str, str, str]] = field(default_factory=list)
    #: The admin password when it was set now (created, or reset on request); None: unchanged.
    admin_password: str | None = None
    #: Whether the wave is published (now or before), and a sentence when that needs explaining.
    published: bool = False
    publication_note: str = ""


def non_demo_waves(app: Flask) -> list[str]:
    """Codes of the waves that ``manyi demo`` did not make (read without changing anything,
    on a schema of any revision: waves from before demo waves were marked count as real)."""
    engine = database(app).engine
    inspector = inspect(engine)
    if "waves" not in inspector.get_table_names():
        return []
    marked = "is_demo" in {info["name"] for info in inspector.get_columns("waves")}
    waves = table("waves", column("code"), column("is_demo", Boolean))
    query = select(waves.c.code).order_by(waves.c.code)
    if marked:
        query = query.where(waves.c.is_demo.is_(False))
    with engine.connect() as connection:
        return list(connection.scalars(query))


def _demo_points(session: Session, wave: Wave, population: Any, sample_frame: Any) -> None:
    """The population's collection points (those the sample used, when there is one)."""
    used = set(sample_frame["point"].unique()) if sample_frame is not None else None
    existing = {point.code for point in wave.points}
    for point in population.points.itertuples(index=False):
        if (used is None or point.code in used) and point.code not in existing:
            focus = point.focus_domain if isinstance(point.focus_domain, str) and point.focus_domain else None
            add_point(
                session, wave, code=point.code, town=point.town, place=point.place, focus_domain=focus, actor=DEMO_ACTOR
            )
    session.flush()
    session.refresh(wave)


def store_synthetic_responses(session: Session, wave: Wave, frame: Any) -> int:
    """Store a synthetic sample (:func:`scoring.synthetic.draw_sample`) with each row's own
    channel: rows at a collection point as ``qr`` with their point, phone and paper rows as
    ``phone``/``paper`` without a point — as residents' answers and imports are stored.
    Returns the number of responses stored."""
    from survey.services.responses import insert_frame

    return insert_frame(session, wave, frame, channel=None)


def _demo_file(folder: Path, pattern: str) -> list[Path]:
    return sorted(path for path in folder.glob(pattern) if path.is_file())


#: The demo wave's organiser and its example contact phone (labelled 示例 where shown).
DEMO_ORGANISER = "荆州区公共服务质量提升工作领导小组办公室"
DEMO_CONTACT_PHONE = "0716-0000000"


def demo_settings_changes(app: Flask, wave_code: str) -> SettingsChanges:
    """The demo wave's analysis settings: the illustrative margins named after the wave, every
    benchmarks file (the illustrative ones cover the survey's year, each row's source says
    示意/illustrative), target 85 on the index, every output marked illustrative."""
    from survey.services.settings import SettingsChanges, benchmarks_input, margins_input

    folder = questionnaires_dir(app.config)
    margins = next((path for path in _demo_file(folder / "margins", "*.csv") if wave_code in path.name), None)
    benchmarks = _demo_file(folder / "benchmarks", "*.csv")
    return SettingsChanges(
        target=DEFAULT_TARGET,
        target_metric="index",
        illustrative=True,
        margins=margins_input(margins.name, margins.read_bytes()) if margins else None,
        benchmarks=benchmarks_input([(path.name, path.read_bytes()) for path in benchmarks]) if benchmarks else None,
        # Shown to residents; the number is a plainly fake example, labelled 示例 (illustrative wave).
        organiser=DEMO_ORGANISER,
        contact_phone=DEMO_CONTACT_PHONE,
        note={"via": "manyi demo"},
    )


def _publish_demo(app: Flask, session: Session, wave: Wave) -> tuple[bool, str]:
    """Publish the demo wave once with its settings, weighted when its responses allow it.

    Too few responses for raking (a small ``--responses``): the wave's settings drop the
    margins (audited) and it is published unweighted, and the note says so — so that
    ``manyi score`` with the wave's settings still equals the publication.  A refused
    publication writes nothing (the scoring runs before anything is stored).
    """
    from survey.services.publication import PublicationError, latest_publication, publish_wave
    from survey.services.settings import SettingsChanges, change_wave_settings, wave_settings

    if latest_publication(session, wave) is not None:
        return True, ""
    try:
        publish_wave(session, wave, actor=DEMO_ACTOR)
        return True, ""
    except PublicationError as error:
        if wave_settings(session, wave).settings.margins is None:
            return False, f"not published: {error}"
        weighted_error = error
    change_wave_settings(
        session,
        wave,
        SettingsChanges(margins=None, note={"via": "manyi demo", "reason": f"raking not possible: {weighted_error}"}),
        actor=DEMO_ACTOR,
    )
    try:
        publish_wave(session, wave, actor=DEMO_ACTOR)
    except PublicationError as error:
        return False, f"not published: {error}"
    return True, (
        f"published without weighting (raking to the margins was not possible: {weighted_error}); "
        "the wave's settings no longer name margins"
    )


def create_demo(
    app: Flask,
    *,
    wave_code: str = DEMO_WAVE,
    responses: int = 3000,
    seed: int = 2025,
    reset_admin_password: bool = False,
) -> DemoReport:
    """An open demo wave with collection points in several towns and synthetic responses,
    published once so that ``/results/<wave>`` works.

    The figures are illustrative: they come from the synthetic generator
    (``scoring.synthetic``), not from residents — phone and paper rows are stored with
    their channel and no point.  The wave's analysis settings are set once
    (:func:`demo_settings_changes`: illustrative margins and benchmarks, target 85 on the
    index, illustrative), and the publication uses them.  A second run adds nothing.

    Raises
    ------
    DemoRefused
        The instance holds a wave the demo did not make; nothing was changed.
    """
    from scoring.synthetic import draw_sample, make_population
    from survey.services.questionnaires import build_questionnaire_set
    from survey.services.settings import change_wave_settings, wave_settings

    real = non_demo_waves(app)
    if real:
        raise DemoRefused(
            f"this instance holds real survey waves ({', '.join(real)}); the demo changes nothing here. "
            "Run the demo in its own instance folder, e.g. MANYI_INSTANCE_PATH=/tmp/manyi-demo manyi demo"
        )
    init = initialise(app, actor=DEMO_ACTOR)
    session = get_session()
    wave = find_wave(session, wave_code)
    created = wave is None
    if wave is None:
        wave = create_wave(session, wave_code, is_demo=True, actor=DEMO_ACTOR)
        set_wave_state(session, wave, "open", actor=DEMO_ACTOR)
    if not wave_settings(session, wave).stored:
        change_wave_settings(session, wave, demo_settings_changes(app, wave_code), actor=DEMO_ACTOR)
    stored = session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)) or 0
    if stored == 0:
        questionnaires = build_questionnaire_set({link.questionnaire_id: link.version for link in wave.questionnaires})
        population = make_population(questionnaires, seed=seed)
        frame = draw_sample(population, responses, seed=seed + 1, wave=wave_code).responses if responses else None
        _demo_points(session, wave, population, frame)
        if frame is not None:
            stored = store_synthetic_responses(session, wave, frame)
    if stored:
        published, note = _publish_demo(app, session, wave)
    else:
        published, note = False, "not published: the wave has no responses yet (answer it, or run with --responses N)"
    password = init.admin_password
    if password is None and accounts.find_user(session, FIRST_ADMIN) is None:
        _, password = accounts.add_account(session, FIRST_ADMIN, "admin", actor=DEMO_ACTOR)
    elif password is None and reset_admin_password:
        password = accounts.reset_account_password(session, FIRST_ADMIN, actor=DEMO_ACTOR)
    session.commit()
    base = app.config["PUBLIC_BASE_URL"]
    urls = [(point.code, point.place, survey_url(base, point)) for point in wave.points]
    return DemoReport(wave_code, created, stored, urls, password, published, note)
