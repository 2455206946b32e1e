"""Security: the whole URL map against the role matrix, CSRF with the real configuration,
headers, cookie flags, throttling lives in test_auth.py, and passwords never logged."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import select

from survey.db import get_session
from survey.models import AuditEvent, User
from tests.conftest import QUESTIONNAIRES, make_app
from tests.survey.admin_support import PASSWORD, csrf_token, english, login, make_user, make_wave, post

ADMIN, STATISTICIAN, PUBLISHER = "admin", "statistician", "publisher"
ALL = {ADMIN, STATISTICIAN, PUBLISHER}

#: Who may use each office endpoint.  Written out here, independently of the code, so
#: that a change in the code's roles must be made on purpose in both places.
ROLE_MATRIX: dict[str, set[str]] = {
    "admin.dashboard": ALL,
    "admin.password": ALL,
    "admin.logout": ALL,
    "admin.waves": ALL,
    "admin.accounts_list": {ADMIN},
    "admin.accounts_create": {ADMIN},
    "admin.accounts_reset": {ADMIN},
    "admin.accounts_disable": {ADMIN},
    "admin.accounts_enable": {ADMIN},
    "admin.audit_log": {ADMIN},
    "admin.waves_create": {ADMIN},
    "admin.wave_detail": {ADMIN},
    "admin.wave_state": {ADMIN},
    "admin.wave_targets": {ADMIN},
    "admin.wave_plan": {ADMIN},
    "admin.point_new": {ADMIN},
    "admin.point_edit": {ADMIN},
    "admin.point_qr": {ADMIN},
    "admin.point_poster": {ADMIN},
    "admin.progress": {ADMIN, STATISTICIAN},
    "admin.wave_settings_page": {ADMIN, STATISTICIAN},
    "admin.wave_settings_save": {ADMIN, STATISTICIAN},
    "admin.exports": {ADMIN, STATISTICIAN},
    "admin.imports": {ADMIN, STATISTICIAN},
    "admin.publications": {ADMIN, STATISTICIAN, PUBLISHER},
    "admin.publication": {ADMIN, STATISTICIAN, PUBLISHER},
    "admin.preview": {STATISTICIAN, PUBLISHER},
    "admin.publish": {PUBLISHER},
    "admin.jobs_list": ALL,
    "admin.job_detail": ALL,
    "admin.job_download": {ADMIN, STATISTICIAN},
    "admin.indicators": ALL,
    "admin.indicators_record": {ADMIN, PUBLISHER},
    "admin.indicators_import": {ADMIN, PUBLISHER},
    "admin.bulletins": {STATISTICIAN, PUBLISHER},
    "admin.integrity": ALL,
    "admin.integrity_exclude": {ADMIN, STATISTICIAN},
    "admin.integrity_withdraw": {ADMIN, STATISTICIAN},
    "admin.bulletin_download": {STATISTICIAN, PUBLISHER},
}
#: Endpoints anyone may use (residents, the public, the sign-in page itself).
PUBLIC_BLUEPRINTS = {"home", "respond", "results"}
PUBLIC_ENDPOINTS = {"static", "admin.login", "admin.static"}

ARGUMENTS = {
    "code": "2025",
    "point_code": "hosp-01",
    "fmt": "png",
    "revision": 1,
    "name": "report.pdf",
    "filename": "admin.css",
    "job_id": 1,
    "unit": "health_bureau",
}


def _is_public(endpoint: str) -> bool:
    return endpoint in PUBLIC_ENDPOINTS or endpoint.split(".")[0] in PUBLIC_BLUEPRINTS or endpoint.endswith(".static")


def _requests(app, user_id: int) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every rule that is not public."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if _is_public(rule.endpoint):
                continue
            values = {name: (user_id if name == "user_id" else ARGUMENTS[name]) for name in rule.arguments}
            url = url_for(rule.endpoint, **values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, url))
    return found


def _send(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={"csrf_token": token})


def _goes_to_sign_in(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/login"


def test_every_office_route_is_in_the_role_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if not _is_public(rule.endpoint)}
    unknown = endpoints - set(ROLE_MATRIX)
    assert not unknown, f"routes neither public nor in the role matrix: {sorted(unknown)}"
    assert set(ROLE_MATRIX) - endpoints == set(), "the matrix names routes that do not exist"


def test_without_a_session_every_office_route_sends_to_sign_in(app):
    user_id = make_user(app, "target-user", STATISTICIAN)
    make_wave(app)
    client = app.test_client()
    token = csrf_token(client)
    for endpoint, method, url in _requests(app, user_id):
        response = _send(client, method, url, token)
        assert _goes_to_sign_in(response) or response.status_code in (401, 403), (
            endpoint,
            method,
            response.status_code,
        )


def test_role_matrix_holds_for_every_role(app):
    user_id = make_user(app, "target-user", STATISTICIAN)
    make_wave(app)
    requests = _requests(app, user_id)
    for role in (ADMIN, STATISTICIAN, PUBLISHER):
        make_user(app, f"{role}-1", role)
        client = app.test_client()
        assert login(client, f"{role}-1").status_code == 302
        token = csrf_token(client, "/admin/")
        for endpoint, method, url in requests:
            if endpoint == "admin.logout":
                continue  # would end the walk; checked below
            response = _send(client, method, url, token)
            allowed = role in ROLE_MATRIX[endpoint]
            if allowed:
                assert response.status_code not in (401, 403) and not _goes_to_sign_in(response), (
                    role,
                    endpoint,
                    method,
                    response.status_code,
                )
                assert response.status_code < 500, (role, endpoint, method, response.status_code)
            else:
                assert response.status_code == 403, (role, endpoint, method, response.status_code)
        assert post(client, "/admin/logout").status_code == 302


def test_public_routes_answer_without_a_session(client):
    assert client.get("/").status_code == 200
    assert client.get("/admin/login").status_code == 200
    assert client.get("/results").status_code == 200
    assert client.get("/results/2031").status_code == 404  # not published: a friendly 404, not a sign-in


def test_csrf_is_enforced_with_the_real_configuration(app, client):
    english(client)
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    make_user(app, "alice", ADMIN)
    response = client.post("/admin/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert login(client, "alice").status_code == 302
    for url, data in (
        ("/admin/accounts", {"username": "mallory", "role": ADMIN}),
        ("/admin/waves", {"code": "2099"}),
        ("/admin/logout", {}),
    ):
        refused = client.post(url, data=data)
        assert refused.status_code == 400, url
        wrong = client.post(url, data=data | {"csrf_token": "forged"})
        assert wrong.status_code == 400, url
    with app.app_context():
        assert get_session().scalar(select(User).where(User.username == "mallory")) is None
    assert client.get("/admin/").status_code == 200  # still signed in: the logout was refused


def _check_headers(response) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert policy, response.request.path
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    script = directives.get("script-src", directives.get("default-src", ""))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "'none'" in directives.get("frame-ancestors", "") or response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy")


def test_security_headers_on_public_and_office_pages(app):
    make_user(app, "alice", ADMIN)
    make_wave(app)
    client = app.test_client()
    for url in ("/", "/admin/login", "/results", "/no/such/page"):
        _check_headers(client.get(url))
    login(client, "alice")
    for url in ("/admin/", "/admin/waves/2025", "/admin/waves/2025/progress", "/admin/accounts"):
        response = client.get(url)
        _check_headers(response)
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(app, client):
    make_user(app, "alice", ADMIN)
    response = login(client, "alice")
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain-HTTP test server: a secure cookie would never come back


def test_session_cookie_is_secure_behind_https(database_url, tmp_path, monkeypatch):
    app = make_app(database_url, tmp_path, monkeypatch, PUBLIC_BASE_URL="https://survey.example.gov.cn")
    with app.app_context():
        from survey.services.questionnaires import load_into_database

        load_into_database(get_session(), QUESTIONNAIRES)
        get_session().commit()
    make_user(app, "alice", ADMIN)
    client = app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/admin/login",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD},
        base_url="https://localhost",
    )
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    app.extensions["manyi_db"].engine.dispose()


def test_passwords_never_reach_the_logs_or_the_audit(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    make_user(app, "root-admin", ADMIN)
    login(client, "root-admin", "Wrong-Guess-1234")
    login(client, "root-admin")
    created = post(client, "/admin/accounts", {"username": "dora", "role": STATISTICIAN}, page="/admin/accounts")
    assert created.status_code == 200
    with app.app_context():
        dora = get_session().scalar(select(User).where(User.username == "dora"))
        dora_id = dora.id
    reset = post(client, f"/admin/accounts/{dora_id}/reset-password", page="/admin/accounts")
    text = created.get_data(as_text=True) + reset.get_data(as_text=True)
    shown = [
        line.split("<code>")[1].split("</code>")[0] for line in text.splitlines() if "<code>" in line and "-" in line
    ]
    secrets = [PASSWORD, "Wrong-Guess-1234", *shown]
    assert len(shown) == 2
    with app.app_context():
        stored = [
            " ".join(str(value) for value in (event.username, event.action, event.target, event.detail))
            for event in get_session().scalars(select(AuditEvent))
        ]
    assert stored
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in line for line in stored)


def test_passwords_are_hashed_with_a_slow_hash(app):
    make_user(app, "alice", ADMIN)
    with app.app_context():
        user = get_session().scalar(select(User).where(User.username == "alice"))
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash


def test_the_default_password_hash_is_scrypt_with_n_32768(tmp_path, monkeypatch):
    """Outside the tests' cheaper setting, an instance hashes with scrypt N=2**15, r=8, p=1."""
    from survey import create_app
    from survey.services.accounts import hash_password, verify_password

    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "x"})
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt:32768:8:1"
    with app.app_context():
        stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt:32768:8:1$")
    assert verify_password(User(password_hash=stored), PASSWORD)
    assert hash_password(PASSWORD).startswith("scrypt:32768:8:1$")  # outside an app too


def test_a_password_hash_method_other_than_scrypt_is_refused(app):
    from survey.services.accounts import hash_password

    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1"
    with app.app_context(), pytest.raises(ValueError, match="not scrypt"):
        hash_password(PASSWORD)


@pytest.mark.parametrize("path", ["/admin/static/admin.css", "/results/static/results.css"])
def test_stylesheets_are_served_from_the_site(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/css"


# --------------------------------------------------------------------------- issue 12, low findings


def test_audit_and_responses_hash_the_same_address_with_different_keys(app):
    """The audit log's address hash used the responses' key (``purpose="ip"``): the two
    could be matched.  Each has its own key now (``privacy.AUDIT_ADDRESS``)."""
    from survey.models import Response
    from survey.privacy import AUDIT_ADDRESS, RESPONSE_ADDRESS, keyed_hash
    from tests.survey import respond_support

    token = respond_support.make_wave(app)
    resident = app.test_client()
    resident.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    respond_support.start(resident, token)
    make_user(app, "alice", ADMIN)
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert login(office, "alice").status_code == 302
    with app.app_context():
        session = get_session()
        response_hash = session.scalar(select(Response.ip_hash))
        event_hash = session.scalar(select(AuditEvent.ip_hash).where(AuditEvent.action == "login.success"))
        assert response_hash == keyed_hash("203.0.113.9", purpose=RESPONSE_ADDRESS)
        assert event_hash == keyed_hash("203.0.113.9", purpose=AUDIT_ADDRESS)
    assert response_hash != event_hash


def test_thanks_says_submitted_only_after_this_browsers_submission(app):
    """``/s/<token>/thanks`` said "提交成功" for any token, to anyone."""
    from tests.survey import respond_support

    token = respond_support.make_wave(app)
    stranger = app.test_client()
    page = stranger.get(f"/s/{token}/thanks")
    assert page.status_code == 200
    assert "提交成功" not in page.get_data(as_text=True)
    assert f'href="/s/{token}"' in page.get_data(as_text=True)  # a plain way into the survey instead
    started = app.test_client()
    respond_support.start(started, token)
    assert "提交成功" not in started.get(f"/s/{token}/thanks").get_data(as_text=True)  # started, not submitted
    resident = app.test_client()
    visited = respond_support.complete(resident, token)
    assert visited[-1] == f"/s/{token}/thanks"
    assert "提交成功" in resident.get(f"/s/{token}/thanks").get_data(as_text=True)
    assert "提交成功" not in app.test_client().get(f"/s/{token}/thanks").get_data(as_text=True)
    assert stranger.get("/s/no-such-token/thanks").status_code == 404


def _start(client, token: str):
    """Read the landing page and tap "start"; the reply (a 303 when a draft was started)."""
    from tests.survey import respond_support

    client.delete_cookie("manyi_draft", path=f"/s/{token}")  # so that "start" never continues a draft
    landing = client.get(f"/s/{token}")
    form = respond_support.only_form(landing.get_data(as_text=True))
    return client.post(form.action, data=form.data())


def test_one_client_cannot_start_unlimited_drafts_at_a_point(app):
    """Any client could start partial drafts without end (each one a row).  Starts are
    limited per browser and per address, at each point."""
    from survey.models import Response
    from tests.survey import respond_support

    app.config["RESPOND_STARTS_PER_HOUR"] = "3 per hour"
    app.config["RESPOND_STARTS_PER_ADDRESS_PER_HOUR"] = "5 per hour"
    token = respond_support.make_wave(app)
    other_token = respond_support.make_wave(app, point_code="hall-01")

    def stored() -> int:
        with app.app_context():
            return len(get_session().scalars(select(Response.id)).all())

    browser = app.test_client()
    assert [_start(browser, token).status_code for _ in range(4)] == [303, 303, 303, 429]
    assert stored() == 3
    # A client that drops its cookies is a new browser each time: the address limit holds it.
    assert [_start(app.test_client(), token).status_code for _ in range(3)] == [303, 303, 429]
    assert stored() == 5
    assert _start(browser, other_token).status_code == 303  # the limits are per point
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"
    assert _start(elsewhere, token).status_code == 303


def test_empty_drafts_do_not_count_in_completion(app):
    """A started survey with nothing answered is not an unfinished response: counting it
    let anyone drag the completion figure of a point down by tapping "start"."""
    from survey.services.progress import wave_progress
    from survey.services.waves import get_wave
    from tests.survey import respond_support

    app.config["RESPOND_STARTS_PER_HOUR"] = "100 per hour"
    token = respond_support.make_wave(app)
    respond_support.complete(app.test_client(), token)
    unfinished = app.test_client()
    path = respond_support.start(unfinished, token)
    assert respond_support.send_page(unfinished, path, {"services_used": ["healthcare"]}).status_code == 303
    for _ in range(5):
        assert _start(app.test_client(), token).status_code == 303
    with app.app_context():
        progress = wave_progress(get_session(), get_wave(get_session(), "2025"))
    assert (progress.submitted, progress.partial, progress.empty_drafts) == (1, 1, 5)
    assert progress.completion == 0.5
    [point] = progress.points
    assert (point.submitted, point.partial, point.completion) == (1, 1, 0.5)
