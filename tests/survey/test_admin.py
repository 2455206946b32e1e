"""The admin screens: accounts, waves, targets, points, QR codes and posters, live
progress, the audit log — each change audited, bad input a clear 4xx, nothing stored."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.models import CollectionPoint, Response, User, Wave
from survey.services.progress import wave_progress
from survey.services.waves import get_wave
from tests.survey.admin_support import PASSWORD, audit_events, english, login, make_user, make_wave, post, signed_in


def _wave(app, code: str = "2025") -> Wave:
    with app.app_context():
        wave = get_wave(get_session(), code)
        get_session().expunge(wave)
        return wave


# --------------------------------------------------------------------------- accounts


def test_admin_creates_an_account_and_sees_its_password_once(app):
    client = english(signed_in(app, "admin"))
    page = post(client, "/admin/accounts", {"username": "dora", "role": "statistician"}, page="/admin/accounts")
    assert page.status_code == 200
    password = re.search(r'<p class="secret"><code>([^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert client.get("/admin/accounts").get_data(as_text=True).count(password) == 0
    other = app.test_client()
    assert login(other, "dora", password).status_code == 302
    [event] = audit_events(app, "account.create")
    assert (
        event.username == "admin-user" and event.target == "account dora" and event.detail == {"role": "statistician"}
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "a b", "role": "admin"}, "letters, digits"),
        ({"username": "admin-user", "role": "admin"}, "already exists"),
        ({"username": "eve", "role": "superuser"}, "Not a valid choice"),
    ],
)
def test_bad_account_form_is_refused(app, form, message):
    client = english(signed_in(app, "admin"))
    response = post(client, "/admin/accounts", form, page="/admin/accounts")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(User).where(User.username == form["username"], User.role != "admin")) is None


def test_reset_disable_enable(app):
    client = english(signed_in(app, "admin"))
    target_id = make_user(app, "dora", "publisher")
    dora = app.test_client()
    assert login(dora, "dora").status_code == 302
    reset = post(client, f"/admin/accounts/{target_id}/reset-password", page="/admin/accounts")
    new_password = re.search(r'<p class="secret"><code>([^<]+)</code>', reset.get_data(as_text=True)).group(1)
    assert dora.get("/admin/").status_code == 302  # signed out by the reset
    assert login(dora, "dora", PASSWORD).status_code == 401
    assert login(dora, "dora", new_password).status_code == 302

    disabled = post(client, f"/admin/accounts/{target_id}/disable", page="/admin/accounts")
    assert disabled.status_code == 303
    assert dora.get("/admin/").status_code == 302
    assert login(dora, "dora", new_password).status_code == 401
    post(client, f"/admin/accounts/{target_id}/enable", page="/admin/accounts")
    assert login(dora, "dora", new_password).status_code == 302
    actions = [event.action for event in audit_events(app) if event.action.startswith("account.")]
    assert actions == ["account.reset_password", "account.disable", "account.enable"]


def test_admin_cannot_disable_self_or_the_last_admin(app):
    client = english(signed_in(app, "admin"))
    with app.app_context():
        me = get_session().scalar(select(User).where(User.username == "admin-user")).id
    response = post(client, f"/admin/accounts/{me}/disable", page="/admin/accounts", follow_redirects=True)
    assert "cannot disable your own account" in response.get_data(as_text=True)
    with app.app_context():
        session = get_session()
        from survey.services.accounts import AccountError, set_account_active

        with pytest.raises(AccountError, match="last active administrator"):
            set_account_active(session, "admin-user", False, actor="cli:test")
        assert session.get(User, me).active


def test_unknown_account_is_a_404(app):
    client = signed_in(app, "admin")
    assert post(client, "/admin/accounts/999/disable", page="/admin/accounts").status_code == 404


# --------------------------------------------------------------------------- waves


def test_create_open_and_close_a_wave(app):
    client = english(signed_in(app, "admin"))
    created = post(
        client,
        "/admin/waves",
        {"code": "2026", "title_zh": "2026年调查", "opens_at": "2096-03-01T08:00", "closes_at": "2096-11-30T18:00"},
        page="/admin/waves",
    )
    assert created.status_code == 303 and created.headers["Location"] == "/admin/waves/2026"
    wave = _wave(app, "2026")
    assert wave.state == "draft" and wave.title_zh == "2026年调查"
    assert wave.opens_at == dt.datetime(2096, 3, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 Beijing
    assert post(client, "/admin/waves/2026/state", {"state": "open"}, page="/admin/waves/2026").status_code == 303
    assert _wave(app, "2026").state == "open"
    assert post(client, "/admin/waves/2026/state", {"state": "closed"}, page="/admin/waves/2026").status_code == 303
    assert _wave(app, "2026").state == "closed"
    events = [(event.action, event.detail) for event in audit_events(app) if event.action.startswith("wave.")]
    assert events == [
        ("wave.create", {"opens_at": "2096-03-01T00:00+00:00", "closes_at": "2096-11-30T10:00+00:00", "demo": False}),
        ("wave.state", {"from": "draft", "to": "open"}),
        ("wave.state", {"from": "open", "to": "closed"}),
    ]


def test_opening_a_wave_whose_closing_time_passed_is_refused(app):
    client = english(signed_in(app, "admin"))
    post(client, "/admin/waves", {"code": "2020", "closes_at": "2020-12-31T18:00"}, page="/admin/waves")
    response = post(
        client, "/admin/waves/2020/state", {"state": "open"}, page="/admin/waves/2020", follow_redirects=True
    )
    assert "closing time in the past" in response.get_data(as_text=True)
    assert _wave(app, "2020").state == "draft"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"code": "20 25"}, "letters, digits"),
        (
            {"code": "2027", "opens_at": "2027-05-01T08:00", "closes_at": "2027-04-01T08:00"},
            "closing time must be after",
        ),
        ({"code": "2027", "opens_at": "not a date"}, "Not a valid datetime value"),
    ],
)
def test_bad_wave_form_is_refused(app, form, message):
    client = english(signed_in(app, "admin"))
    response = post(client, "/admin/waves", form, page="/admin/waves")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(Wave)) is None


def test_duplicate_wave_is_refused(app):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    response = post(client, "/admin/waves", {"code": "2025"}, page="/admin/waves")
    assert response.status_code == 400 and "already exists" in response.get_data(as_text=True)


def test_unknown_wave_is_a_friendly_404(app):
    client = english(signed_in(app, "admin"))
    response = client.get("/admin/waves/1999")
    assert response.status_code == 404
    assert "There is no wave 1999" in response.get_data(as_text=True)


def test_targets_are_saved_and_checked(app):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    saved = post(
        client,
        "/admin/waves/2025/targets",
        {"total": "3000", "domain__healthcare": "400", "domain__education": "", "town__xicheng": "250"},
        page="/admin/waves/2025",
    )
    assert saved.status_code == 303
    assert _wave(app).targets == {
        "total": 3000,
        "domains": {"healthcare": 400},
        "towns": {"xicheng": 250},
        "source": "entered on the wave page",
    }
    bad = post(client, "/admin/waves/2025/targets", {"total": "-5"}, page="/admin/waves/2025")
    assert bad.status_code == 400
    bad = post(client, "/admin/waves/2025/targets", {"domain__healthcare": "many"}, page="/admin/waves/2025")
    assert bad.status_code == 400 and "Not a valid integer value" in bad.get_data(as_text=True)
    assert _wave(app).targets["total"] == 3000
    assert [event.action for event in audit_events(app, "wave.targets")] == ["wave.targets"]


def test_planner_suggests_targets(app):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    page = post(
        client, "/admin/waves/2025/plan", {"half_width": "2", "deff": "1.5", "sd": "20"}, page="/admin/waves/2025"
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # n = deff × (z × sd / h)² = 1.5 × (1.96 × 20 / 2)² → 577 respondents per domain
    assert 'name="domain__healthcare" type="number" value="577"' in text or 'value="577"' in text
    assert "planner: ±2 index points" in text
    bad = post(client, "/admin/waves/2025/plan", {"half_width": "0"}, page="/admin/waves/2025")
    assert bad.status_code == 400


# --------------------------------------------------------------------------- points


def test_add_and_edit_a_point(app):
    make_wave(app, points=())
    client = english(signed_in(app, "admin"))
    added = post(
        client,
        "/admin/waves/2025/points/new",
        {"code": "school-03", "town": "chengnan", "place": "城南中学门口", "focus_domain": "education"},
        page="/admin/waves/2025/points/new",
    )
    assert added.status_code == 303
    with app.app_context():
        point = get_session().scalar(select(CollectionPoint).where(CollectionPoint.code == "school-03"))
        token = point.token
        assert (point.town_code, point.place, point.focus_domain, point.active) == (
            "chengnan",
            "城南中学门口",
            "education",
            True,
        )
    edited = post(
        client,
        "/admin/waves/2025/points/school-03",
        {"town": "chengnan", "place": "城南中学东门", "focus_domain": ""},
        page="/admin/waves/2025/points/school-03",
    )
    assert edited.status_code == 303
    with app.app_context():
        point = get_session().scalar(select(CollectionPoint).where(CollectionPoint.code == "school-03"))
        assert (point.place, point.focus_domain, point.active, point.token) == ("城南中学东门", None, False, token)
    [created, updated] = [event for event in audit_events(app) if event.action.startswith("point.")]
    assert created.action == "point.create" and updated.action == "point.update"
    assert updated.detail["changes"] == {
        "place": ["城南中学门口", "城南中学东门"],
        "focus_domain": ["education", None],
        "active": [True, False],
    }


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"code": "Hosp 1", "town": "xicheng", "place": "x"}, "lower-case letters"),
        ({"code": "hosp-01", "town": "xicheng", "place": "x"}, "already has a point"),
        ({"code": "hosp-09", "town": "atlantis", "place": "x"}, "Not a valid choice"),
        ({"code": "hosp-09", "town": "xicheng", "place": ""}, "This field is required"),
    ],
)
def test_bad_point_form_is_refused(app, form, message):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    response = post(client, "/admin/waves/2025/points/new", form, page="/admin/waves/2025/points/new")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert len(get_session().scalars(select(CollectionPoint)).all()) == 2


def test_qr_code_and_poster_downloads(app):
    make_wave(app)
    client = signed_in(app, "admin")
    png = client.get("/admin/waves/2025/points/hosp-01/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get("/admin/waves/2025/points/hosp-01/qr.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert client.get("/admin/waves/2025/points/hosp-01/qr.gif").status_code == 404
    assert client.get("/admin/waves/2025/points/nope/qr.png").status_code == 404
    poster = client.get("/admin/waves/2025/points/hosp-01/poster.pdf")
    assert poster.status_code == 200 and poster.data.startswith(b"%PDF")
    assert "hosp-01-poster.pdf" in poster.headers["Content-Disposition"]


# --------------------------------------------------------------------------- progress


def _add_responses(app, rows: list[dict]) -> None:
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        points = {point.code: point.id for point in wave.points}
        for number, row in enumerate(rows):
            session.add(
                Response(
                    uid=f"r{number:04d}",
                    wave_id=wave.id,
                    point_id=points.get(row.get("point")),
                    channel=row.get("channel", "qr"),
                    state=row["state"],
                    town_code=row.get("town"),
                    flags=row.get("flags", ""),
                    services_used=row.get("services"),
                    started_at=row["at"] - dt.timedelta(minutes=5),
                    submitted_at=row["at"] if row["state"] == "submitted" else None,
                )
            )
        session.commit()


def test_progress_counts(app):
    make_wave(app)
    now = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    _add_responses(
        app,
        [
            {"point": "hosp-01", "state": "submitted", "town": "xicheng", "at": now - dt.timedelta(minutes=10)},
            {
                "point": "hosp-01",
                "state": "submitted",
                "town": "xicheng",
                "at": now - dt.timedelta(hours=5),
                "flags": "duplicate_browser",
            },
            {"point": "hosp-01", "state": "partial", "services": "healthcare", "at": now - dt.timedelta(minutes=20)},
            {"point": "hall-01", "state": "submitted", "town": "jinan", "at": now - dt.timedelta(days=3)},
            {"channel": "phone", "state": "submitted", "town": "jinan", "at": now - dt.timedelta(days=2)},
        ],
    )
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        wave.targets = {"total": 10, "towns": {"xicheng": 4}}
        session.commit()
        progress = wave_progress(session, wave, now=now)
    assert (progress.submitted, progress.partial, progress.last_hour, progress.last_day) == (4, 1, 1, 2)
    assert progress.completion == pytest.approx(0.8)
    assert progress.started_last_hour == 2
    assert progress.total.percent_of_target == 40
    points = {point.code: point for point in progress.points}
    assert (points["hosp-01"].submitted, points["hosp-01"].partial, points["hosp-01"].last_day) == (2, 1, 2)
    assert points["hall-01"].submitted == 1 and points["(phone)"].submitted == 1
    towns = {town.key: town for town in progress.towns}
    assert towns["xicheng"].submitted == 2 and towns["xicheng"].target == 4 and towns["xicheng"].share_of_target == 0.5
    assert towns["jinan"].submitted == 2 and towns["jinan"].target is None
    assert progress.flags == {"duplicate_browser": 1}
    assert progress.channels == {"qr": 3, "phone": 1}


def test_progress_page(app):
    make_wave(app)
    client = english(signed_in(app, "statistician"))
    page = client.get("/admin/waves/2025/progress")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'http-equiv="refresh"' in text and "hosp-01" in text and "医疗服务" in text


# --------------------------------------------------------------------------- audit log


def test_audit_log_page_filters(app):
    make_wave(app)
    client = english(signed_in(app, "admin"))
    login(app.test_client(), "admin-user", "wrong-wrong-wrong")
    post(client, "/admin/waves/2025/state", {"state": "closed"}, page="/admin/waves/2025")
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert (
        'data-action="login.failure"' in everything
        and 'data-action="wave.state"' in everything
        and 'data-action="login.success"' in everything
    )
    logins = client.get("/admin/audit?action=login").get_data(as_text=True)
    assert 'data-action="login.failure"' in logins and 'data-action="wave.state"' not in logins
    waves = client.get("/admin/audit?action=wave&user=admin-user").get_data(as_text=True)
    assert 'data-action="wave.state"' in waves and 'data-action="login.failure"' not in waves
    assert client.get("/admin/audit?page=999").status_code == 200
    assert client.get("/admin/audit?action=<script>").status_code == 200


@pytest.mark.parametrize("page", ["1000000000000000000", "9223372036854775808", "-5", "x"])
def test_audit_log_page_numbers_out_of_range_show_a_real_page(app, page):
    client = english(signed_in(app, "admin"))
    response = client.get(f"/admin/audit?page={page}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "page 1 of 1" in text and 'data-action="login.success"' in text


def test_two_administrators_disabling_each_other_leave_one_active(app):
    """The last-admin guard holds when two administrators act at the same moment: the
    second waits for the first and is then refused (issue 12)."""
    from survey.db import database
    from survey.services.accounts import AccountError, set_account_active

    make_user(app, "ann", "admin")
    make_user(app, "bob", "admin")
    sessions = database(app).sessions
    first, second = sessions(), sessions()
    outcome: dict[str, object] = {}

    def bob_disables_ann() -> None:
        with app.app_context():
            try:
                set_account_active(second, "ann", False, actor=second.scalar(select(User).filter_by(username="bob")))
                second.commit()
                outcome["second"] = "disabled ann"
            except AccountError as error:
                second.rollback()
                outcome["second"] = str(error)

    with app.app_context():
        ann = first.scalar(select(User).filter_by(username="ann"))
        set_account_active(first, "bob", False, actor=ann)  # not committed yet: bob is still active for others
        racer = threading.Thread(target=bob_disables_ann)
        racer.start()
        racer.join(timeout=1.0)  # bob's request now waits for ann's to finish
        first.commit()
        racer.join(timeout=30)
    first.close()
    second.close()
    assert "last active administrator" in str(outcome["second"])
    with app.app_context():
        active = get_session().scalars(select(User.username).where(User.role == "admin", User.active.is_(True)))
        assert list(active) == ["ann"]


def test_dashboard_and_wave_list_link_by_role(app):
    make_wave(app)
    statistician = english(signed_in(app, "statistician"))
    text = statistician.get("/admin/").get_data(as_text=True)
    assert "/admin/waves/2025/progress" in text and '/admin/waves/2025"' not in text
    publisher = english(signed_in(app, "publisher"))
    text = publisher.get("/admin/waves").get_data(as_text=True)
    assert "/admin/waves/2025/publication" in text and "/admin/waves/2025/progress" not in text
