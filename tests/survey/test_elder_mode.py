"""长辈模式, the organiser and contact phone, the privacy notice's cookie lifetimes and the
title's line breaks (issue 14), through Flask's test client on SQLite and PostgreSQL.
The measured sizes are the browser test's (tests/browser/test_elder.py)."""

from __future__ import annotations

import re

import pytest

from survey.cli import main
from survey.db import get_session
from survey.posters import poster_html
from survey.respond.elder import ELDER_COOKIE, title_phrases
from survey.respond.routes import BROWSER_COOKIE, BROWSER_COOKIE_DAYS, DRAFT_COOKIE, LANGUAGE_COOKIE
from survey.services.settings import SettingsChanges, SettingsInputError, change_wave_settings, wave_settings
from survey.services.waves import get_wave
from tests.survey.admin_support import audit_events, post, signed_in
from tests.survey.respond_support import make_wave

ORGANISER = "荆州区公共服务质量提升工作领导小组办公室"


@pytest.fixture
def token(app) -> str:
    return make_wave(app)


def _cookie(response, name: str) -> str | None:
    return next((v for v in response.headers.getlist("Set-Cookie") if v.startswith(name + "=")), None)


def _html_class(html: str) -> str:
    match = re.search(r"<html[^>]*?(?: class=\"([^\"]*)\")?>", html)
    assert match
    return match.group(1) or ""


# --------------------------------------------------------------------------- the switch without JavaScript


def test_switch_is_a_link_round_trip_remembered_for_the_visit(client, token):
    first = client.get(f"/s/{token}")
    html = first.get_data(as_text=True)
    assert "elder" not in _html_class(html)
    assert 'class="mode" href="?elder=1"' in html and ">长辈模式</a>" in html
    assert _cookie(first, ELDER_COOKIE) is None  # nothing set until the switch is used

    switched = client.get(f"/s/{token}?elder=1")
    assert "elder" in _html_class(switched.get_data(as_text=True))
    cookie = _cookie(switched, ELDER_COOKIE)
    assert cookie.startswith(f"{ELDER_COOKIE}=1;") and "Path=/" in cookie
    assert "Max-Age" not in cookie and "Expires" not in cookie  # a browser-session cookie: the visit

    again = client.get(f"/s/{token}").get_data(as_text=True)  # the cookie carries it to the next page
    assert "elder" in _html_class(again) and 'href="?elder=0"' in again and ">标准模式</a>" in again
    assert "elder" not in _html_class(client.get(f"/s/{token}?elder=0").get_data(as_text=True))
    assert "elder" not in _html_class(client.get(f"/s/{token}").get_data(as_text=True))


def test_switch_on_every_public_page_and_bad_values_ignored(client, token):
    for url in ("/", f"/s/{token}", f"/s/{token}/thanks"):
        html = client.get(url).get_data(as_text=True)
        assert 'class="mode"' in html and "data-say=" in html, url
    response = client.get(f"/s/{token}?elder=<script>")
    assert response.status_code == 200 and _cookie(response, ELDER_COOKIE) is None


def test_english_switch_label(client, token):
    html = client.get(f"/s/{token}?lang=en").get_data(as_text=True)
    assert ">Large text</a>" in html and 'data-say="Read aloud"' in html


# --------------------------------------------------------------------------- title breaks


def test_title_phrases_and_wbr():
    assert title_phrases("2025年度荆州区公共服务满意度调查") == ["2025年度", "荆州区", "公共服务", "满意度调查"]
    assert title_phrases("Jingzhou District survey") == ["Jingzhou District survey"]


def test_welcome_title_breaks_only_between_phrases(client, token):
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert '<h1 class="phrased">2025年度<wbr>荆州区<wbr>公共服务<wbr>满意度调查</h1>' in html


# --------------------------------------------------------------------------- cookie lifetimes


def test_privacy_notice_lists_every_cookie_with_its_lifetime_from_the_code(app, client, token):
    """The lifetimes come from the code and config, and from the Set-Cookie headers sent."""
    landing = client.get(f"/s/{token}")
    html = landing.get_data(as_text=True)
    browser = _cookie(landing, BROWSER_COOKIE)
    assert f"Max-Age={BROWSER_COOKIE_DAYS * 86400}" in browser
    language = _cookie(client.get(f"/s/{token}?lang=zh"), LANGUAGE_COOKIE)
    language_days = int(re.search(r"Max-Age=(\d+)", language).group(1)) // 86400
    draft_days = int(app.config.get("RESPOND_DRAFT_DAYS", 7))
    notice = html[html.index('id="privacy-title"') :]
    session_cookie = app.config["SESSION_COOKIE_NAME"]
    expected = {
        DRAFT_COOKIE: f"保留{draft_days}天",
        BROWSER_COOKIE: f"保留{BROWSER_COOKIE_DAYS}天",
        LANGUAGE_COOKIE: f"保留{language_days}天",
        session_cookie: "关闭浏览器即删除",
        ELDER_COOKIE: "关闭浏览器即删除",
    }
    for name, lifetime in expected.items():
        match = re.search(rf"<li><code>{re.escape(name)}</code> ([^<]*)</li>", notice)
        assert match, f"cookie {name} not in the privacy notice"
        assert lifetime in match.group(1), (name, match.group(1))
    assert BROWSER_COOKIE_DAYS == 400 and language_days == 365


def test_session_cookie_of_a_resident_is_not_persistent(client, token):
    landing = client.get(f"/s/{token}")
    session_cookie = _cookie(landing, "session")
    assert session_cookie is not None and "Expires" not in session_cookie and "Max-Age" not in session_cookie


# --------------------------------------------------------------------------- organiser and contact


def _set(app, **changes):
    with app.app_context():
        session = get_session()
        stored, differences = change_wave_settings(
            session, get_wave(session, "2025"), SettingsChanges(**changes), actor="test"
        )
        session.commit()
        return stored, differences


def test_nothing_shown_when_unset(client, token):
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "主办单位" not in html and "咨询电话" not in html


def test_organiser_and_phone_on_welcome_page_and_poster(app, client, token):
    stored, differences = _set(app, organiser=f"  {ORGANISER} ", contact_phone="0716-8888888")
    assert stored.organiser == ORGANISER and stored.contact_phone == "0716-8888888"
    assert set(differences) == {"organiser", "contact_phone"}
    digest_before = stored.digest
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert f"主办单位：{ORGANISER}" in html and "咨询电话：0716-8888888" in html and "示例" not in html
    with app.test_request_context():
        session = get_session()
        wave = get_wave(session, "2025")
        poster = poster_html(wave.points[0], wave, "http://example.test/s/x")
    assert f"主办单位：{ORGANISER}" in poster and "咨询电话：0716-8888888" in poster
    # Not analysis settings: the digest (what results are reproduced with) is unchanged.
    assert _set(app, contact_phone="")[0].digest == digest_before


def test_illustrative_wave_labels_the_phone_an_example(app, client, token):
    _set(app, organiser=ORGANISER, contact_phone="0716-0000000", illustrative=True)
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "咨询电话：0716-0000000 （示例号码）" in html


@pytest.mark.parametrize("phone", ["0716 8888888", "电话0716", "+86-716", "0716--888", "1" * 21, "-0716"])
def test_phone_digits_and_dashes_only(app, token, phone):
    with app.app_context():
        session = get_session()
        with pytest.raises(SettingsInputError, match="digits and dashes") as raised:
            change_wave_settings(session, get_wave(session, "2025"), SettingsChanges(contact_phone=phone), actor="t")
        assert raised.value.setting == "contact_phone"
        session.rollback()
        assert wave_settings(session, get_wave(session, "2025")).contact_phone is None


def test_cli_sets_clears_and_refuses(app, runner, token):
    result = runner.invoke(
        main, ["wave", "settings", "2025", "--organiser", ORGANISER, "--contact-phone", "0716-8888888", "--show"]
    )
    assert result.exit_code == 0, result.output
    assert f"organiser: none → {ORGANISER}" in result.output and "0716-8888888" in result.output
    bad = runner.invoke(main, ["wave", "settings", "2025", "--contact-phone", "call 0716"])
    assert bad.exit_code == 2 and "--contact-phone" in bad.output and "digits and dashes" in bad.output
    cleared = runner.invoke(main, ["wave", "settings", "2025", "--contact-phone", ""])
    assert cleared.exit_code == 0 and "contact_phone: 0716-8888888 → none" in cleared.output
    with app.app_context():
        session = get_session()
        stored = wave_settings(session, get_wave(session, "2025"))
    assert stored.organiser == ORGANISER and stored.contact_phone is None
    assert [event.detail["changed"].keys() for event in audit_events(app, "wave.settings")][-1] == {"contact_phone"}


def test_admin_screen_validates_the_phone_and_stores_nothing(app, token):
    client = signed_in(app, "statistician")
    page = client.get("/admin/waves/2025/settings").get_data(as_text=True)
    assert "向居民显示的主办单位" in page and "向居民显示的咨询电话" in page
    fields = {
        "target": "85",
        "target_metric": "index",
        "mapping": "linear",
        "strata": "point_town",
        "variance": "linearization",
        "lonely_psu": "adjust",
        "straight_line": "0.5",
        "min_n": "30",
        "min_psus": "5",
        "assumed_se": "1.0",
        "margins": "none",
        "benchmarks_action": "none",
        "screening": "y",
    }
    bad = post(client, "/admin/waves/2025/settings", {**fields, "organiser": ORGANISER, "contact_phone": "0716 x"})
    assert bad.status_code == 400 and "只能填写数字和短横线" in bad.get_data(as_text=True)
    assert audit_events(app, "wave.settings") == []
    good = post(client, "/admin/waves/2025/settings", {**fields, "organiser": ORGANISER, "contact_phone": "0716-1"})
    assert good.status_code == 303
    with app.app_context():
        session = get_session()
        stored = wave_settings(session, get_wave(session, "2025"))
    assert (stored.organiser, stored.contact_phone) == (ORGANISER, "0716-1")
