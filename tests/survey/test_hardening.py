"""The security probe's small findings that live in the app's wiring (issue 12, lows and
the trusted-proxy part of medium 3): bound parameters kept out of error messages, private
database files, ``/healthz`` that notices a read-only database, HSTS behind HTTPS,
invalid UTF-8 refused, per-purpose hash keys, and forwarding headers believed only
through ``MANYI_TRUSTED_PROXIES``."""

from __future__ import annotations

import os
import stat
from urllib.parse import urlencode

import pytest
from flask import request as flask_request
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from survey import create_app
from survey.db import database, get_session
from survey.privacy import (
    AUDIT_ADDRESS,
    RATE_LIMIT_ADDRESS,
    RESPONSE_ADDRESS,
    PrivacySettingError,
    client_key,
    keyed_hash,
)
from tests.conftest import QUESTIONNAIRES, make_app
from tests.survey.admin_support import PASSWORD, csrf_token, make_user
from tests.survey.respond_support import fill_all, location, make_wave, only_form, responses, send_page, start

PERSONAL = "张三 13800138000 住在西城路5号"


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------- database


def test_bound_parameters_never_reach_error_messages(app):
    with app.app_context():
        engine = database().engine
        with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
            connection.execute(
                text("SELECT no_such_column FROM responses WHERE comment = :comment"), {"comment": PERSONAL}
            )
    assert PERSONAL not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)


def test_a_new_sqlite_database_and_the_instance_secrets_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("MANYI_DATABASE_URL", raising=False)
    old_umask = os.umask(0o022)  # the usual umask: SQLite alone would make the file 0644
    try:
        application = create_app({"TESTING": True, "QUESTIONNAIRES_DIR": str(QUESTIONNAIRES)})
        path = tmp_path / "instance" / "manyi.sqlite3"
        with application.app_context():
            with database().engine.begin() as connection:
                connection.execute(text("CREATE TABLE probe (x INTEGER)"))
                connection.execute(text("INSERT INTO probe VALUES (1)"))
            assert _mode(path) == 0o600
            assert _mode(str(path) + "-wal") == 0o600 and _mode(str(path) + "-shm") == 0o600
        assert _mode(tmp_path / "instance" / "secret_key") == 0o600
        assert _mode(tmp_path / "instance") == 0o700
        application.extensions["manyi_db"].engine.dispose()
    finally:
        os.umask(old_umask)


def test_an_existing_world_readable_database_file_is_tightened(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    path.touch()  # an empty file is an empty SQLite database
    os.chmod(path, 0o644)
    application = make_app(f"sqlite:///{path}", tmp_path, monkeypatch)
    assert _mode(path) == 0o600
    application.extensions["manyi_db"].engine.dispose()


def test_healthz_reports_a_database_that_takes_writes(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200 and reply.get_json() == {"status": "ok"}


def _read_only_url(database_url: str, postgres_template) -> str:
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    name = database_url.rsplit("/", 1)[-1]
    with postgres_template.connect() as connection:
        connection.execute(text(f"ALTER DATABASE {name} SET default_transaction_read_only = on"))
    return database_url


def test_healthz_is_503_on_a_read_only_database(database_url, tmp_path, monkeypatch, request):
    template = request.getfixturevalue("postgres_template") if database_url.startswith("postgresql") else None
    url = _read_only_url(database_url, template)
    application = make_app(url, tmp_path, monkeypatch)
    try:
        reply = application.test_client().get("/healthz")
        assert reply.status_code == 503 and reply.get_json() == {"status": "read-only"}
    finally:
        application.extensions["manyi_db"].engine.dispose()
        if template is not None:
            with template.connect() as connection:
                connection.execute(text(f"ALTER DATABASE {url.rsplit('/', 1)[-1]} RESET default_transaction_read_only"))


def test_healthz_is_503_when_the_database_is_gone(tmp_path, monkeypatch):
    application = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path, monkeypatch)  # never migrated
    reply = application.test_client().get("/healthz")
    assert reply.status_code == 503 and reply.get_json() == {"status": "unavailable"}
    application.extensions["manyi_db"].engine.dispose()


# --------------------------------------------------------------------------- HTTP


def test_hsts_only_when_the_site_is_served_over_https(database_url, tmp_path, monkeypatch, client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = make_app(database_url, tmp_path, monkeypatch, PUBLIC_BASE_URL="https://survey.example.gov.cn")
    reply = secure.test_client().get("/", base_url="https://localhost")
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
    secure.extensions["manyi_db"].engine.dispose()


def test_invalid_utf8_escapes_are_refused_not_stored(app, client):
    token = make_wave(app)
    path = start(client, token)
    page = location(send_page(client, path))
    while not page.endswith("/final"):
        page = location(send_page(client, page))
    form = only_form(client.get(page).get_data(as_text=True))
    fields = form.data({**fill_all(form), "comment": "PLACEHOLDER"})
    body = urlencode(fields, doseq=True).replace("PLACEHOLDER", "%FF%FE%E4%BD")
    refused = client.post(page, data=body, content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 400
    [response] = responses(app)
    assert response.state == "partial" and not response.comment
    assert client.get("/?lang=%FF").status_code == 400
    assert client.get("/s/%FF%FE").status_code == 404
    sent = client.post(
        page,
        data=urlencode(fields, doseq=True).replace("PLACEHOLDER", "%E5%A5%BD"),
        content_type="application/x-www-form-urlencoded",
    )
    assert sent.status_code == 303
    [response] = responses(app)
    assert response.state == "submitted" and response.comment == "好"


# --------------------------------------------------------------------------- addresses


def test_each_purpose_has_its_own_key(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        hashes = {
            purpose: keyed_hash("203.0.113.7", purpose=purpose)
            for purpose in (RESPONSE_ADDRESS, AUDIT_ADDRESS, RATE_LIMIT_ADDRESS)
        }
        assert len(set(hashes.values())) == 3
        assert client_key() == hashes[RATE_LIMIT_ADDRESS][:32]


def test_a_pseudonym_key_file_replaces_the_secret_key(database_url, tmp_path, monkeypatch):
    key_file = tmp_path / "pseudonym_key"
    key_file.write_text("a" * 64 + "\n")
    os.chmod(key_file, 0o600)
    plain = make_app(database_url, tmp_path, monkeypatch)
    keyed = make_app(database_url, tmp_path, monkeypatch, PSEUDONYM_KEY_FILE=str(key_file))
    with plain.app_context():
        by_secret = keyed_hash("203.0.113.7", purpose=RESPONSE_ADDRESS)
    with keyed.app_context():
        by_key_file = keyed_hash("203.0.113.7", purpose=RESPONSE_ADDRESS)
    assert by_secret != by_key_file
    for application in (plain, keyed):
        application.extensions["manyi_db"].engine.dispose()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [("a" * 64, 0o644, "chmod 0640"), ("short", 0o600, "at least 32"), (None, 0o600, "cannot be read")],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unsafe_pseudonym_key_file_stops_the_start(database_url, tmp_path, monkeypatch, content, mode, message):
    key_file = tmp_path / "pseudonym_key"
    if content is not None:
        key_file.write_text(content)
        os.chmod(key_file, mode)
    with pytest.raises(PrivacySettingError, match="MANYI_PSEUDONYM_KEY_FILE") as caught:
        make_app(database_url, tmp_path, monkeypatch, PSEUDONYM_KEY_FILE=str(key_file))
    assert message in str(caught.value)


def _seen(application, headers, remote="10.0.0.9"):
    """What the app sees of a request from ``remote`` with ``headers``."""
    seen = {}

    @application.get("/_seen")
    def view():
        seen.update(
            remote_addr=flask_request.remote_addr,
            scheme=flask_request.scheme,
            forwarded=flask_request.headers.get("X-Forwarded-For"),
            real_ip=flask_request.headers.get("X-Real-IP"),
        )
        return ""

    application.test_client().get("/_seen", headers=headers, environ_base={"REMOTE_ADDR": remote})
    return seen


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_trusted_proxies_forwarding_headers_are_ignored_and_removed(database_url, tmp_path, monkeypatch):
    application = make_app(database_url, tmp_path, monkeypatch)
    seen = _seen(application, {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https", "X-Real-IP": "1.1.1.1"})
    assert seen == {"remote_addr": "10.0.0.9", "scheme": "http", "forwarded": None, "real_ip": None}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_trusted_proxy_gives_the_client_it_saw(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_TRUSTED_PROXIES", "1")
    application = make_app(database_url, tmp_path, monkeypatch)
    # a client's own (spoofed) entry first, then what nginx appended: its $remote_addr
    seen = _seen(
        application, {"X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https"}, remote="127.0.0.1"
    )
    assert seen == {"remote_addr": "203.0.113.7", "scheme": "https", "forwarded": None, "real_ip": None}


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "99"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_trusted_proxies_setting_stops_the_start(database_url, tmp_path, monkeypatch, value):
    monkeypatch.setenv("MANYI_TRUSTED_PROXIES", value)
    with pytest.raises(PrivacySettingError, match="MANYI_TRUSTED_PROXIES"):
        make_app(database_url, tmp_path, monkeypatch)


def test_a_forged_forwarded_for_does_not_carry_a_session_to_another_address(app):
    """Flask-Login's "strong" protection compares the address it reads from
    X-Forwarded-For; a stolen cookie replayed from elsewhere with the victim's address in
    that header must not pass."""
    make_user(app, "alice", "admin")
    victim = app.test_client()
    victim.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    token = csrf_token(victim)
    signed_in = victim.post("/admin/login", data={"csrf_token": token, "username": "alice", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert victim.get("/admin/").status_code == 200
    cookie = victim.get_cookie("session")
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = "198.51.100.66"
    thief.set_cookie("session", cookie.value)
    replayed = thief.get("/admin/", headers={"X-Forwarded-For": "203.0.113.7"})
    assert replayed.status_code == 302 and "/admin/login" in replayed.headers["Location"]
    with app.app_context():
        assert get_session().scalar(select(text("1")))  # the app still answers
