"""The resident pages through Flask's test client, on SQLite and PostgreSQL.

Every route, state and error of ``/s/<token>``: landing, the question pages, resume,
back navigation, one-time keys, submission, flags, closed waves, hostile input.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.models import AnswerSet, CollectionPoint, Response, SubmissionKey, Wave
from survey.respond.routes import BROWSER_COOKIE, DRAFT_COOKIE
from survey.services.answers import NA
from tests.survey.respond_support import (
    complete,
    count,
    fill_all,
    location,
    make_wave,
    only_form,
    responses,
    send_page,
    start,
    stored_answers,
)


@pytest.fixture
def token(app) -> str:
    return make_wave(app)


def set_cookie_header(response, name: str) -> str:
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "="))


# --------------------------------------------------------------------------- landing


def test_landing_in_chinese_with_privacy_notice_and_start_form(client, token):
    page = client.get(f"/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "2025年度荆州区公共服务满意度调查" in html
    assert "区人民医院门诊大厅" in html
    assert "隐私说明" in html and "身份证号码" in html and "保存3年" in html
    assert "约需2至4分钟" in html
    form = only_form(html)
    assert set(form.hidden()) == {"csrf_token", "submission_key"}
    assert page.headers["Cache-Control"] == "no-store"
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert "style=" not in html and "<script>" not in html
    browser = set_cookie_header(page, BROWSER_COOKIE)
    assert "HttpOnly" in browser and "Path=/s/" in browser and "SameSite=Lax" in browser


def test_language_switch_to_english_is_remembered(client, token):
    page = client.get(f"/s/{token}?lang=en")
    html = page.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Your privacy" in html and "Jingzhou District public-service satisfaction survey 2025" in html
    assert 'href="?lang=zh"' in html
    assert "lang=en" in set_cookie_header(page, "lang")
    path = start(client, token)
    services = client.get(path).get_data(as_text=True)
    assert "Services you have used" in services and "Medical services" in services
    assert "Step 1 of" in services


def test_unknown_malformed_and_tampered_tokens_get_a_friendly_404(client, token):
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for path in (f"/s/{tampered}", "/s/short", f"/s/{token}%00", f"/s/{tampered}/services", "/s/" + "x" * 300):
        page = client.get(path)
        assert page.status_code == 404, path
        html = page.get_data(as_text=True)
        assert "找不到该页面" in html and "重新扫描二维码" in html
    assert client.get(f"/s/{token}/nonsense").status_code == 404


@pytest.mark.parametrize("state", ["draft", "closed"])
def test_closed_or_draft_wave_shows_closed_page_and_stores_nothing(app, client, state):
    token = make_wave(app, state=state)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert "调查已结束" in page.get_data(as_text=True)
    assert client.post(f"/s/{token}", data={"submission_key": "k" * 32}).status_code in (400, 403)
    assert responses(app) == []


def test_not_yet_open_wave_says_when_it_opens(app, client):
    opens = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    token = make_wave(app, opens_at=opens)
    page = client.get(f"/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "调查尚未开始" in html
    assert f"{opens.year}年" in html


def test_wave_past_its_closing_time_is_closed(app, client):
    now = dt.datetime.now(dt.UTC)
    token = make_wave(app, opens_at=now - dt.timedelta(days=30), closes_at=now - dt.timedelta(days=1))
    assert "调查已结束" in client.get(f"/s/{token}").get_data(as_text=True)


def test_inactive_point_is_closed(app, client, token):
    with app.app_context():
        session = get_session()
        session.scalar(select(CollectionPoint)).active = False
        session.commit()
    assert "调查已结束" in client.get(f"/s/{token}").get_data(as_text=True)


# --------------------------------------------------------------------------- starting and resuming


def test_start_creates_one_partial_draft_and_a_signed_httponly_cookie(app, client, token):
    landing = client.get(f"/s/{token}")
    form = only_form(landing.get_data(as_text=True))
    first = client.post(form.action, data=form.data())
    assert first.status_code == 303 and location(first) == f"/s/{token}/services"
    draft_cookie = set_cookie_header(first, DRAFT_COOKIE)
    assert "HttpOnly" in draft_cookie and f"Path=/s/{token}" in draft_cookie
    again = client.post(form.action, data=form.data())  # double tap on "start"
    assert location(again) == location(first)
    stored = responses(app)
    assert len(stored) == 1
    response = stored[0]
    assert (response.state, response.channel, response.current_page, response.language) == (
        "partial",
        "qr",
        "services",
        "zh",
    )
    assert response.started_at is not None and response.submitted_at is None


def test_start_key_from_another_browser_starts_a_fresh_draft(app, client, token):
    landing = client.get(f"/s/{token}")
    form = only_form(landing.get_data(as_text=True))
    client.post(form.action, data=form.data())
    other = app.test_client()
    other_form = only_form(other.get(f"/s/{token}").get_data(as_text=True))
    data = other_form.data()
    data["submission_key"] = form.hidden()["submission_key"]  # a copied page
    assert other.post(other_form.action, data=data).status_code == 303
    stored = responses(app)
    assert len(stored) == 2 and stored[0].respondent_hash != stored[1].respondent_hash


def test_landing_offers_to_continue_an_unfinished_draft(app, client, token):
    path = start(client, token)
    sent = send_page(client, path, {"services_used": ["healthcare"]})
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "继续填写" in html and f'href="{location(sent)}"' in html
    assert "<form" not in html  # no second "start" button while a draft is open
    assert len(responses(app)) == 1


def test_reload_shows_the_saved_answers(client, token):
    path = start(client, token)
    sent = send_page(client, path, {"services_used": ["healthcare", "transport"]})
    health = location(sent)
    send_page(client, health, {"healthcare__appointment": "2"}, go="back", fill=False)
    page = client.get(health).get_data(as_text=True)
    assert re.search(r'<input checked id="healthcare__appointment-1"', page)
    services = only_form(client.get(path).get_data(as_text=True))
    assert services.checked("services_used") == ["healthcare", "transport"]


def test_question_pages_without_a_draft_send_the_resident_to_the_landing_page(client, token):
    for page_id in ("services", "healthcare", "demographics", "final"):
        answer = client.get(f"/s/{token}/{page_id}")
        assert answer.status_code == 303 and location(answer) == f"/s/{token}"


def test_tampered_draft_cookie_is_ignored(client, token):
    start(client, token)
    client.set_cookie(DRAFT_COOKIE, "tampered.value.sig", path=f"/s/{token}")
    answer = client.get(f"/s/{token}/services")
    assert answer.status_code == 303 and location(answer) == f"/s/{token}"


# --------------------------------------------------------------------------- the pages


def test_services_page_preselects_the_focus_domain_and_lists_all_twelve(client, token):
    html = client.get(start(client, token)).get_data(as_text=True)
    form = only_form(html)
    assert form.checked("services_used") == ["healthcare"]
    assert len(form.options("services_used")) == 12
    assert "医疗服务" in html and "第1步，共4步" in html
    assert '<fieldset id="q-services_used"' in html and "<legend>" in html


def test_focus_domain_comes_first_then_the_fixed_order(client, token):
    path = start(client, token)
    sent = send_page(client, path, {"services_used": ["transport", "education", "healthcare"]})
    order = []
    path = location(sent)
    while not path.endswith("/demographics"):
        order.append(path.rsplit("/", 1)[1])
        path = location(send_page(client, path))
    assert order == ["healthcare", "education", "transport"]


def test_likert_items_show_five_anchors_and_not_applicable(client, token):
    path = start(client, token)
    html = client.get(location(send_page(client, path))).get_data(as_text=True)
    form = only_form(html)
    names = form.names()
    assert names[-1] == "healthcare__overall" and len(names) == 7
    for name in names:
        assert form.options(name) == ["1", "2", "3", "4", "5", "na"]
    for anchor in ("非常不满意", "不满意", "一般", "满意", "非常满意", "不适用/不清楚"):
        assert f"<span>{anchor}</span>" in html
    assert html.count("<fieldset") == 7 and html.count("<legend>") == 7
    assert html.count("<label") == 7 * 6
    assert "预约挂号的便利程度" in html  # labels from the YAML


def test_missing_required_answers_redirect_to_the_same_page_with_messages(app, client, token):
    path = start(client, token)
    health = location(send_page(client, path))
    answer = send_page(client, health, {"healthcare__appointment": "4"}, fill=False)
    # Post/Redirect/Get: the failed POST redirects, so Back then Forward is a plain GET.
    assert answer.status_code == 303 and location(answer) == health
    for _again in range(2):  # shown again (the browser's Back then Forward) until the page is sent
        html = client.get(health).get_data(as_text=True)
        assert "有6道题需要您补充或修改" in html
        block = html[html.index('id="q-healthcare__visit_process"') :]
        block = block[: block.index("</fieldset>")]
        assert 'aria-describedby="e-healthcare__visit_process"' in block and "请选择一个答案。" in block
        assert re.search(r'<input checked id="healthcare__appointment-3"', html)  # what was given stays
    with app.app_context():
        assert get_session().scalar(select(Response)).current_page == "healthcare"
    assert count(app, AnswerSet) == 0
    sent = send_page(client, health)  # every answer given now
    assert sent.status_code == 303 and location(sent) != health
    html = client.get(health).get_data(as_text=True)
    assert "需要您补充或修改" not in html and "请选择一个答案。" not in html  # the retry is forgotten


def test_services_page_requires_at_least_one_service(client, token):
    path = start(client, token)
    answer = send_page(client, path, {"services_used": None}, fill=False)
    assert answer.status_code == 303 and location(answer) == path
    assert "请至少勾选一项。" in client.get(path).get_data(as_text=True)


def test_cannot_skip_ahead_or_open_an_unchosen_domain(client, token):
    path = start(client, token)
    for page_id in ("healthcare", "demographics", "final"):
        answer = client.get(f"/s/{token}/{page_id}")
        assert answer.status_code == 303 and location(answer) == path
    send_page(client, path, {"services_used": ["healthcare"]})
    answer = client.get(f"/s/{token}/education")
    assert answer.status_code == 303 and location(answer) == f"/s/{token}/healthcare"


def test_back_keeps_answers_and_saves_the_current_page_without_requiring_it(app, client, token):
    path = start(client, token)
    health = location(send_page(client, path, {"services_used": ["healthcare", "education"]}))
    education = location(send_page(client, health, {"healthcare__appointment": "5"}))
    back = send_page(client, education, {"education__fees": "2"}, go="back", fill=False)
    assert back.status_code == 303 and location(back) == health
    form = only_form(client.get(health).get_data(as_text=True))
    assert form.checked("healthcare__appointment") == ["5"]
    assert only_form(client.get(education).get_data(as_text=True)).checked("education__fees") == ["2"]
    back_to_landing = send_page(client, path, go="back")
    assert location(back_to_landing) == f"/s/{token}"


def test_same_key_twice_stores_once_and_returns_the_same_page(app, client, token):
    path = start(client, token)
    health = location(send_page(client, path))
    form = only_form(client.get(health).get_data(as_text=True))
    first = client.post(form.action, data=form.data(fill_all(form)))
    changed = fill_all(form, pick=lambda name, options: options[-2])
    second = client.post(form.action, data=form.data(changed))  # same key, other values
    assert second.status_code == 303 and location(second) == location(first)
    with app.app_context():
        response_id = get_session().scalar(select(Response.id))
    assert stored_answers(app, response_id)["healthcare"]["healthcare.appointment"] == 1
    assert count(app, AnswerSet) == 1


def test_full_flow_stores_a_submitted_response(app, client, token):
    visited = complete(client, token, services=("healthcare", "transport"), answers={"comment": "候车亭太少。"})
    assert visited[-1] == f"/s/{token}/thanks"
    assert "感谢您的参与" in client.get(visited[-1]).get_data(as_text=True)
    [response] = responses(app)
    assert response.state == "submitted" and response.channel == "qr"
    assert response.submitted_at is not None and response.duration_s is not None and response.duration_s >= 0
    assert response.services_used == "healthcare;transport"
    assert (response.sex, response.age_group, response.town_code) == ("male", "18-29", "xicheng")
    assert response.comment == "候车亭太少。" and response.flags == "" and response.current_page == "thanks"
    answers = stored_answers(app, response.id)
    assert set(answers) == {"healthcare", "transport", "common"}
    assert answers["common"] == {"overall": 1}
    assert len(answers["healthcare"]) == 7 and set(answers["healthcare"].values()) == {1}
    # the draft cookie is gone: the landing page says so and offers a new start
    assert "为另一位家人重新填写" in client.get(f"/s/{token}").get_data(as_text=True)


def test_a_rescan_after_finishing_says_so_and_offers_a_start_for_someone_else(app, client, token):
    landing = client.get(f"/s/{token}").get_data(as_text=True)
    assert "您已完成本次调查" not in landing and ">开始填写</button>" in landing
    complete(client, token)
    again = client.get(f"/s/{token}").get_data(as_text=True)
    assert "您已完成本次调查。" in again and "家里还有其他人也想填写" in again
    assert ">为另一位家人重新填写</button>" in again and ">开始填写</button>" not in again
    other_phone = app.test_client()  # another browser has not finished
    fresh = other_phone.get(f"/s/{token}").get_data(as_text=True)
    assert "您已完成本次调查" not in fresh and ">开始填写</button>" in fresh
    complete(client, token)  # the family member's answers are stored as a second response
    stored = responses(app)
    assert [response.state for response in stored] == ["submitted", "submitted"]
    # A declared family member is a person of their own, not a repeat of the phone's owner:
    # not flagged, so their answers count in the results.
    assert [response.flags for response in stored] == ["", ""]
    assert stored[0].respondent_hash != stored[1].respondent_hash


def test_one_phone_answers_for_a_household_at_most_then_repeats_are_flagged(app, client, token):
    from survey.respond.drafts import HOUSEHOLD_SIZE

    for _ in range(HOUSEHOLD_SIZE + 1):
        complete(client, token)
    flags = [response.flags for response in responses(app)]
    assert flags[:HOUSEHOLD_SIZE] == [""] * HOUSEHOLD_SIZE
    assert "duplicate_browser" in flags[HOUSEHOLD_SIZE]


def test_not_applicable_is_stored_apart_from_a_number(app, client, token):
    path = start(client, token)
    health = location(send_page(client, path))
    send_page(client, health, {"healthcare__family_doctor": NA})
    with app.app_context():
        response_id = get_session().scalar(select(Response.id))
        packed = get_session().scalar(select(AnswerSet.answers))
    assert stored_answers(app, response_id)["healthcare"]["healthcare.family_doctor"] == NA
    assert 255 in packed


def test_unticked_domain_answers_are_dropped_at_submission(app, client, token):
    path = start(client, token)
    health = location(send_page(client, path, {"services_used": ["healthcare", "education"]}))
    send_page(client, health)
    send_page(client, path, {"services_used": ["education"]})  # changed their mind
    page = location(send_page(client, f"/s/{token}/education"))
    while not page.endswith("/thanks"):
        page = location(send_page(client, page))
    [response] = responses(app)
    assert response.services_used == "education"
    assert set(stored_answers(app, response.id)) == {"education", "common"}


def test_repeated_final_post_changes_nothing(app, client, token):
    path = start(client, token)
    page = path
    while not page.endswith("/final"):
        page = location(send_page(client, page))
    form = only_form(client.get(page).get_data(as_text=True))
    data = form.data(fill_all(form))
    first = client.post(form.action, data=data)
    submitted_at = responses(app)[0].submitted_at
    second = client.post(form.action, data=data)
    assert location(first) == location(second) == f"/s/{token}/thanks"
    assert DRAFT_COOKIE in set_cookie_header(second, DRAFT_COOKIE)  # cleared again
    [response] = responses(app)
    assert response.submitted_at == submitted_at and response.flags == ""


def test_abandoned_drafts_stay_partial(app, client, token):
    path = start(client, token)
    send_page(client, path)
    [response] = responses(app)
    assert response.state == "partial" and response.submitted_at is None


def test_second_complete_response_from_the_same_browser_is_flagged(app, client, token):
    # A second tab opened before the first survey was finished: its start button is the
    # plain one (not "another family member"), so its response repeats the browser's.
    stale = only_form(client.get(f"/s/{token}").get_data(as_text=True))
    complete(client, token)
    path = location(client.post(stale.action, data=stale.data()))
    while not path.endswith("/thanks"):
        extra = {"services_used": ["healthcare"]} if path.endswith("/services") else {}
        path = location(send_page(client, path, extra))
    complete(app.test_client(), token)  # another phone
    first, second, other = responses(app)
    assert (first.flags, second.flags, other.flags) == ("", "duplicate_browser", "")
    assert first.respondent_hash == second.respondent_hash != other.respondent_hash
    assert all(r.state == "submitted" for r in (first, second, other))


def test_many_completions_from_one_address_at_one_point_are_flagged_not_blocked(app, token):
    app.config["RESPOND_IP_BURST_PER_HOUR"] = 2
    for _ in range(4):
        complete(app.test_client(), token)
    stored = responses(app)
    assert [r.state for r in stored] == ["submitted"] * 4
    assert [r.flags for r in stored] == ["", "", "ip_burst", "ip_burst"]


def test_raw_address_and_browser_id_are_never_stored(app, client, token):
    complete(client, token)
    browser_id = next(c.value for c in client._cookies.values() if c.key == BROWSER_COOKIE)
    [response] = responses(app)
    stored = " ".join(str(value) for value in vars(response).values())
    assert "127.0.0.1" not in stored and browser_id not in stored
    assert len(response.ip_hash) == 64 and len(response.respondent_hash) == 64


def test_answer_in_english_records_the_language(app, client, token):
    client.get(f"/s/{token}?lang=en")
    complete(client, token)
    assert responses(app)[0].language == "en"


# --------------------------------------------------------------------------- errors and hostile input


def _on_health_page(client, token) -> tuple[str, dict]:
    path = start(client, token)
    health = location(send_page(client, path))
    form = only_form(client.get(health).get_data(as_text=True))
    return health, form.data(fill_all(form))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("healthcare__appointment", "7"),
        ("healthcare__appointment", "0"),
        ("healthcare__appointment", "<script>alert(1)</script>"),
        ("healthcare__overall", "1; DROP TABLE responses"),
    ],
)
def test_values_the_page_never_offers_are_refused_with_a_4xx(app, client, token, field, value):
    health, data = _on_health_page(client, token)
    data[field] = value
    answer = client.post(health, data=data)
    assert answer.status_code == 400
    assert "<script>alert" not in answer.get_data(as_text=True)
    assert count(app, AnswerSet) == 0


def test_unknown_service_and_overlong_or_binary_comment_are_refused(app, client, token):
    path = start(client, token)
    form = only_form(client.get(path).get_data(as_text=True))
    assert client.post(path, data=form.data({"services_used": ["healthcare", "casino"]})).status_code == 400
    page = location(send_page(client, path))
    while not page.endswith("/final"):
        page = location(send_page(client, page))
    form = only_form(client.get(page).get_data(as_text=True))
    too_long = client.post(page, data=form.data({**fill_all(form), "comment": "长" * 501}))
    assert too_long.status_code == 400 and "请删减到500个字以内。" in too_long.get_data(as_text=True)
    nul = client.post(page, data=form.data({**fill_all(form), "comment": "a\x00b"}))
    assert nul.status_code == 400
    exactly = client.post(page, data=form.data({**fill_all(form), "comment": "行\r\n" * 250}))  # 500 after \r\n → \n
    assert exactly.status_code == 303
    [response] = responses(app)
    assert response.state == "submitted" and len(response.comment) == 499  # trailing line break trimmed


def test_malformed_unknown_and_foreign_keys_are_refused(app, client, token):
    health, data = _on_health_page(client, token)
    for key, status in (("", 400), ("short", 400), ("x" * 40, 409)):
        assert client.post(health, data={**data, "submission_key": key}).status_code == status
    other = app.test_client()
    _other_health, other_data = _on_health_page(other, token)
    assert client.post(health, data={**data, "submission_key": other_data["submission_key"]}).status_code == 409
    services_key = only_form(client.get(f"/s/{token}/services").get_data(as_text=True)).hidden()["submission_key"]
    assert client.post(health, data={**data, "submission_key": services_key}).status_code == 409  # key of another page
    assert count(app, AnswerSet) == 0


def test_post_without_csrf_token_is_refused(app, client, token):
    health, data = _on_health_page(client, token)
    del data["csrf_token"]
    answer = client.post(health, data=data)
    assert answer.status_code == 400 and "页面已过期" in answer.get_data(as_text=True)
    landing = client.post(f"/s/{token}", data={"submission_key": "k" * 32})
    assert landing.status_code == 400
    assert count(app, AnswerSet) == 0 and len(responses(app)) == 1


def test_oversized_body_gets_the_413_page(app, client, token):
    health, data = _on_health_page(client, token)
    data["comment"] = "x" * (70 * 1024)
    answer = client.post(health, data=data)
    assert answer.status_code == 413 and "提交的内容过多" in answer.get_data(as_text=True)
    assert count(app, AnswerSet) == 0


def test_wrong_method_and_garbage_bodies_never_500(app, client, token):
    health, data = _on_health_page(client, token)
    assert client.put(health, data=data).status_code == 405
    assert (
        client.post(health, data=b"\xff\xfe\x00garbage", content_type="application/x-www-form-urlencoded").status_code
        == 400
    )
    assert client.post(health, data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x").status_code == 400
    assert client.post(health, json={"healthcare__appointment": "1"}).status_code == 400
    assert count(app, AnswerSet) == 0


def test_wave_closing_mid_draft_stores_nothing_more(app, client, token):
    health, data = _on_health_page(client, token)
    with app.app_context():
        session = get_session()
        session.scalar(select(Wave)).state = "closed"
        session.commit()
    answer = client.post(health, data=data)
    assert answer.status_code == 403 and "调查已结束" in answer.get_data(as_text=True)
    assert count(app, AnswerSet) == 0
    assert responses(app)[0].state == "partial"


def test_rate_limit_is_per_point_and_address_with_a_friendly_page(app, client, token):
    app.config["RESPOND_RATE_LIMIT"] = "3 per minute"
    other_token = make_wave(app, point_code="bus-01")
    for _ in range(3):
        assert client.get(f"/s/{token}").status_code == 200
    limited = client.get(f"/s/{token}")
    assert limited.status_code == 429 and "请求过于频繁" in limited.get_data(as_text=True)
    assert client.get(f"/s/{other_token}").status_code == 200  # another point: its own budget


def test_reload_reuses_the_unused_key_and_a_new_one_follows_use(app, client, token):
    path = start(client, token)
    first = only_form(client.get(path).get_data(as_text=True)).hidden()["submission_key"]
    again = only_form(client.get(path).get_data(as_text=True)).hidden()["submission_key"]
    assert first == again
    send_page(client, path)
    after = only_form(client.get(path).get_data(as_text=True)).hidden()["submission_key"]
    assert after != first
    assert count(app, SubmissionKey) == 2
