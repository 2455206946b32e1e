"""Helpers for the office tests: accounts, signing in with the real CSRF protection,
a wave with points and synthetic responses."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from survey.db import get_session
from survey.models import AuditEvent, Response
from survey.services import accounts
from survey.services.waves import add_point, create_wave, get_wave, set_wave_state

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str = "/admin/login") -> str:
    """The CSRF token of the page at ``url`` (the session cookie keeps its pair)."""
    page = client.get(url)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


def english(client):
    """Ask for English pages (the language cookie), to assert on English messages."""
    client.set_cookie("lang", "en")
    return client


def make_user(app, username: str, role: str, password: str = PASSWORD, *, active: bool = True) -> int:
    with app.app_context():
        session = get_session()
        user, _ = accounts.create_user(session, username, role, password)
        user.active = active
        session.commit()
        return user.id


def login(client, username: str, password: str = PASSWORD, *, next_url: str | None = None):
    token = csrf_token(client)
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": token, "username": username, "password": password})


def signed_in(app, role: str, username: str | None = None):
    """A test client signed in as a new account of ``role``."""
    username = username or f"{role}-user"
    make_user(app, username, role)
    client = app.test_client()
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(client, url: str, data: dict[str, Any] | None = None, *, page: str | None = None, **kwargs):
    """POST with the CSRF token taken from ``page`` (default: the dashboard)."""
    body = dict(data or {})
    body["csrf_token"] = csrf_token(client, page or "/admin/")
    return client.post(url, data=body, **kwargs)


def make_wave(
    app,
    code: str = "2025",
    *,
    points: tuple[tuple[str, str, str, str | None], ...] = (
        ("hosp-01", "xicheng", "区人民医院门诊大厅", "healthcare"),
        ("hall-01", "jinan", "纪南镇便民服务中心", None),
    ),
    state: str = "open",
) -> None:
    with app.app_context():
        session = get_session()
        wave = create_wave(session, code)
        for point_code, town, place, focus in points:
            add_point(session, wave, code=point_code, town=town, place=place, focus_domain=focus)
        set_wave_state(session, wave, state)
        session.commit()


def synthetic_wave(app, code: str = "2025", *, responses: int = 400, seed: int = 7) -> None:
    """A wave whose points and responses come from the synthetic generator (like the demo)."""
    from scoring.synthetic import draw_sample, make_population
    from survey.services.questionnaires import build_questionnaire_set
    from survey.services.setup import store_synthetic_responses

    with app.app_context():
        session = get_session()
        wave = create_wave(session, code)
        set_wave_state(session, wave, "open")
        questionnaires = build_questionnaire_set({link.questionnaire_id: link.version for link in wave.questionnaires})
        population = make_population(questionnaires, seed=seed)
        frame = draw_sample(population, responses, seed=seed + 1, wave=code).responses
        used = set(frame["point"].unique())
        for point in population.points.itertuples(index=False):
            if point.code in used:
                focus = point.focus_domain if isinstance(point.focus_domain, str) and point.focus_domain else None
                add_point(session, wave, code=point.code, town=point.town, place=point.place, focus_domain=focus)
        session.flush()
        session.refresh(wave)
        store_synthetic_responses(session, get_wave(session, code), frame)  # phone/paper keep their channel
        session.commit()


def audit_events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(get_session().scalars(query))


def response_count(app, code: str = "2025") -> int:
    with app.app_context():
        session = get_session()
        wave = get_wave(session, code)
        return session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)) or 0
