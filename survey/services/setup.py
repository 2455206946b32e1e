"""Initialising an instance and creating the demo (shared by ``manyi init`` and ``manyi demo``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from survey import schema
from survey.db import get_session
from survey.models import Response
from survey.services import accounts
from survey.services.questionnaires import LoadReport, load_into_database
from survey.services.waves import add_point, create_wave, find_wave, set_wave_state

FIRST_ADMIN = "admin"


@dataclass
class InitReport:
    revision_before: str | None
    revision_after: str | None
    questionnaires: LoadReport
    admin_password: str | None  # set only when the account was created now


def initialise(app: Flask, questionnaires_dir: str | Path | None = None) -> InitReport:
    """Create/upgrade the schema, load new questionnaire versions, create the first admin.

    Idempotent: a second run finds nothing to do and changes nothing.
    """
    before, after = schema.upgrade(app)
    session = get_session()
    report = load_into_database(session, questionnaires_dir or app.config["QUESTIONNAIRES_DIR"])
    password = None
    if accounts.count_users(session) == 0:
        _, password = accounts.create_user(session, FIRST_ADMIN, "admin")
    session.commit()
    return InitReport(before, after, report, password)


@dataclass
class DemoReport:
    wave_code: str
    created: bool
    responses: int
    point_urls: list[tuple[str, str, str]] = field(default_factory=list)  # code, place, url
    admin_password: str = ""


def create_demo(app: Flask, *, wave_code: str = "2025", responses: int = 3000, seed: int = 2025) -> DemoReport:
    """An open demo wave with collection points in several towns and synthetic responses.

    The figures the demo produces are illustrative: they come from the synthetic generator
    (``scoring.synthetic``), not from residents.
    """
    from scoring.synthetic import draw_sample, make_population
    from survey.services.questionnaires import build_questionnaire_set
    from survey.services.responses import insert_frame
    from survey.services.waves import survey_url

    initialise(app)
    session = get_session()
    wave = find_wave(session, wave_code)
    created = wave is None
    if wave is None:
        wave = create_wave(session, wave_code)
        set_wave_state(session, wave, "open")
    stored = session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)) or 0
    if stored == 0 and responses > 0:
        versions = {wq.questionnaire_id: wq.version for wq in wave.questionnaires}
        questionnaires = build_questionnaire_set(versions)
        population = make_population(questionnaires, seed=seed)
        sample = draw_sample(population, responses, seed=seed + 1, wave=wave_code)
        frame = sample.responses
        used_points = set(frame["point"].unique())
        existing = {point.code for point in wave.points}
        for point in population.points.itertuples(index=False):
            if point.code in used_points and point.code not in existing:
                focus = point.focus_domain if isinstance(point.focus_domain, str) and point.focus_domain else None
                add_point(session, wave, code=point.code, town=point.town, place=point.place, focus_domain=focus)
        session.flush()
        session.refresh(wave)
        stored = insert_frame(session, wave, frame, channel="qr")
    # --- the office (issue 6): publish the demo wave once, so that /results/<wave> works.
    # Its figures are illustrative: synthetic responses, illustrative margins and benchmarks.
    from survey.services.publication import default_options, latest_publication, publish_wave

    if stored and latest_publication(session, wave) is None:
        options = default_options(app.config["QUESTIONNAIRES_DIR"], wave_code)
        publish_wave(session, wave, actor="demo", options=options)
    # --- end of the office's lines
    admin = accounts.find_user(session, FIRST_ADMIN)
    if admin is None:
        _, password = accounts.create_user(session, FIRST_ADMIN, "admin")
    else:
        password = accounts.reset_password(session, FIRST_ADMIN)
    session.commit()
    base = app.config["PUBLIC_BASE_URL"]
    urls = [(point.code, point.place, survey_url(base, point)) for point in wave.points]
    return DemoReport(wave_code, created, stored, urls, password)
