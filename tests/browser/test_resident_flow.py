"""A resident on a phone (390×844): the whole survey in Chinese and English, back
navigation, reload and resume, double submit, a closed wave, a tampered code and a
browser without JavaScript.  Every page shown is measured against the weight budget,
checked by axe-core and saved as a screenshot (see conftest.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import get_session
from survey.models import Response, Wave
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, VIEWPORT, Checker

pytestmark = pytest.mark.browser


def _stored(app) -> list[Response]:
    with app.app_context():
        return list(get_session().scalars(select(Response).order_by(Response.id)))


def _go(page, checker: Checker, click: str) -> None:
    """Click a button or link that loads a new page, and wait for it."""
    checker.meter.reset()
    with page.expect_navigation(wait_until="load"):
        page.locator(click).first.click()


def _answer_all(page, option: int = 3) -> None:
    """Tap one option in every question of the page (the ``option``-th, or the last)."""
    for fieldset in page.locator("fieldset.q").all():
        labels = fieldset.locator("label.o")
        if labels.count():
            labels.nth(min(option, labels.count() - 1)).click()


def _service(page, name: str):
    """The checkbox of a service: its label starts with the domain's name, then examples
    in brackets (公共交通（公交、农村快递）), so a screen reader says the name first."""
    return page.get_by_label(re.compile(f"^{re.escape(name)}"))


def _page_id(page) -> str:
    return page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


def _walk(page, checker: Checker, services: list[str], *, comment: str = "") -> list[str]:
    """From the services page to the thank-you page; returns the page ids seen."""
    seen = []
    for label in services:
        _service(page, label).check()
    checker.check("services")
    seen.append("services")
    _go(page, checker, "button[value=next]")
    while _page_id(page) != "thanks":
        name = _page_id(page)
        seen.append(name)
        _answer_all(page)
        if comment and page.locator("textarea").count():
            page.locator("textarea").fill(comment)
        checker.check(name)
        _go(page, checker, "button[value=next]")
    checker.check("thanks")
    seen.append("thanks")
    return seen


def test_whole_flow_in_chinese(live_server, new_page, request):
    page = new_page()
    checker = Checker(page, "zh")
    page.goto(f"{live_server.url}/s/{live_server.token}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_text("隐私说明").is_visible()
    checker.check("landing")
    _go(page, checker, "button.primary")
    assert _service(page, "医疗服务").is_checked()  # the point's focus domain
    assert page.get_by_text("第1步，共4步").is_visible()
    seen = _walk(page, checker, ["公共交通"], comment="希望公交车再多一些。")
    assert seen == ["services", "healthcare", "transport", "demographics", "final", "thanks"]
    assert page.get_by_text("感谢您的参与！").is_visible()
    [response] = _stored(live_server.app)
    assert response.state == "submitted" and response.services_used == "healthcare;transport"
    assert response.comment == "希望公交车再多一些。" and response.language == "zh"


def test_whole_flow_in_english(live_server, new_page):
    page = new_page(locale="en-US")
    checker = Checker(page, "en")
    page.goto(f"{live_server.url}/s/{live_server.token}")
    assert page.locator("html").get_attribute("lang") == "zh-CN"  # Chinese first, whatever the phone says
    _go(page, checker, "a.lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Your privacy").is_visible()
    checker.check("landing")
    _go(page, checker, "button.primary")
    assert page.get_by_text("Step 1 of 4").is_visible()
    seen = _walk(page, checker, ["Public transport"])
    assert seen[1:3] == ["healthcare", "transport"]
    assert page.get_by_text("Thank you!").is_visible()
    assert _stored(live_server.app)[0].language == "en"


def test_back_navigation_keeps_answers(live_server, new_page):
    page = new_page()
    checker = Checker(page, "back")
    page.goto(f"{live_server.url}/s/{live_server.token}")
    _go(page, checker, "button.primary")
    _go(page, checker, "button[value=next]")  # services: the focus domain only
    _answer_all(page, option=4)  # 非常满意 everywhere
    _go(page, checker, "button[value=next]")
    assert _page_id(page) == "demographics"
    page.get_by_label("女", exact=True).check()
    _go(page, checker, "button[value=back]")  # our Back button saves what was given
    assert _page_id(page) == "healthcare"
    checker.check("healthcare-after-back")
    checked = page.locator("fieldset.q input:checked")
    assert checked.count() == 7 and {checked.nth(i).get_attribute("value") for i in range(7)} == {"5"}
    _go(page, checker, "button[value=next]")
    assert page.get_by_label("女", exact=True).is_checked()
    checker.meter.reset()
    page.go_back()  # the browser's own back button
    page.wait_for_load_state("load")
    assert _page_id(page) == "healthcare" and page.locator("fieldset.q input:checked").count() == 7


def test_reload_and_coming_back_resume_where_the_resident_was(live_server, new_page):
    page = new_page()
    checker = Checker(page, "resume")
    page.goto(f"{live_server.url}/s/{live_server.token}")
    _go(page, checker, "button.primary")
    _go(page, checker, "button[value=next]")
    first = page.locator("fieldset.q").first
    first.locator("label.o").nth(1).click()
    _go(page, checker, "button[value=next]")  # incomplete: the same page, with messages
    assert page.locator(".alert").is_visible() and page.get_by_text("请选择一个答案。").first.is_visible()
    checker.check("missing-answers")
    _answer_all(page, option=2)
    _go(page, checker, "button[value=next]")
    page.get_by_label("男", exact=True).check()
    checker.meter.reset()
    page.reload()  # a reload (or a phone waking up) keeps the page and the saved answers
    assert _page_id(page) == "demographics"
    assert page.get_by_label("男", exact=True).is_checked()  # ticked, not sent: kept in the tab
    checker.meter.reset()
    page.goto(f"{live_server.url}/s/{live_server.token}")  # scanning the code again
    assert page.get_by_text("继续填写").is_visible()
    checker.check("landing-resume")
    _go(page, checker, "a.button")
    assert _page_id(page) == "demographics"
    [response] = _stored(live_server.app)
    assert response.state == "partial" and response.current_page == "demographics"


def _kept(page) -> list[str]:
    return page.evaluate("() => Object.keys(sessionStorage).filter(key => key.startsWith('manyi:'))")


def test_ticked_answers_survive_a_reload_and_the_language_switch(live_server, new_page):
    page = new_page()
    checker = Checker(page, "keep")
    page.goto(f"{live_server.url}/s/{live_server.token}")
    _go(page, checker, "button.primary")
    _go(page, checker, "button[value=next]")  # services: the focus domain only
    assert _page_id(page) == "healthcare"
    _answer_all(page, option=4)  # 非常满意 everywhere, not sent
    checked = page.locator("fieldset.q input:checked")
    assert checked.count() == 7
    checker.meter.reset()
    page.reload()
    assert checked.count() == 7 and {checked.nth(i).get_attribute("value") for i in range(7)} == {"5"}
    page.locator("fieldset.q").first.locator("label.o").nth(0).click()  # one changed after the reload
    _go(page, checker, "a.lang")  # the language switch is a plain link: nothing is sent
    assert page.locator("html").get_attribute("lang") == "en" and _page_id(page) == "healthcare"
    checker.check("healthcare-after-language-switch")
    values = [checked.nth(i).get_attribute("value") for i in range(checked.count())]
    assert len(values) == 7 and values[0] == "1" and set(values[1:]) == {"5"}
    assert _kept(page) == [f"manyi:/s/{live_server.token}/healthcare"]
    _go(page, checker, "button[value=next]")
    assert _page_id(page) == "demographics"
    _answer_all(page)
    page.get_by_label("Female", exact=True).check()
    _go(page, checker, "button[value=next]")
    _answer_all(page)
    _go(page, checker, "button[value=next]")
    assert _page_id(page) == "thanks" and _kept(page) == []  # finished: the tab forgets the answers
    [response] = _stored(live_server.app)
    assert response.state == "submitted" and response.sex == "female"


@pytest.fixture
def browser_without_page_cache(playwright_instance):
    """Chromium without its back/forward page cache: Back and Forward load pages again
    (as a phone short of memory does), so a page that came from a POST cannot be shown."""
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--disable-features=BackForwardCache"], headless=True
    )
    yield browser
    browser.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_back_then_forward_after_missing_answers_shows_the_page_again(
    live_server, browser_without_page_cache, javascript
):
    context = browser_without_page_cache.new_context(
        viewport=VIEWPORT, device_scale_factor=2, is_mobile=True, has_touch=True, java_script_enabled=javascript
    )
    page = context.new_page()
    checker = Checker(page, f"prg-{'js' if javascript else 'nojs'}", javascript=javascript)
    page.goto(f"{live_server.url}/s/{live_server.token}")
    _go(page, checker, "button.primary")
    _go(page, checker, "button[value=next]")
    page.locator("fieldset.q").first.locator("label.o").nth(1).click()
    _go(page, checker, "button[value=next]")  # answers missing: redirected to the same page
    assert _page_id(page) == "healthcare" and page.locator(".alert").is_visible()
    checker.meter.reset()
    page.go_back()
    page.wait_for_load_state("load")
    checker.meter.reset()
    page.go_forward()  # a page from a POST would be ERR_CACHE_MISS here
    page.wait_for_load_state("load")
    assert _page_id(page) == "healthcare" and page.locator("fieldset.q").count() == 7
    assert page.locator(".alert").is_visible()  # the messages and the answer given are still there
    assert page.locator("fieldset.q").first.locator("input").nth(1).is_checked()
    checker.check("after-back-forward")
    context.close()


#: Characters on each line of the page's h1, from the positions of its characters.
_TITLE_LINES = """() => {
  const h1 = document.querySelector("h1");
  const lines = new Map();
  const walker = document.createTreeWalker(h1, NodeFilter.SHOW_TEXT);  // the phrases between <wbr>s
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    for (let i = 0; i < text.length; i++) {
      const range = document.createRange();
      range.setStart(text, i);
      range.setEnd(text, i + 1);
      const top = Math.round(range.getBoundingClientRect().top);
      lines.set(top, (lines.get(top) || "") + text.data[i]);
    }
  }
  return Array.from(lines.values());
}"""


@pytest.mark.parametrize("width", [320, 390])
def test_the_title_never_leaves_one_character_alone_on_a_line(live_server, new_page, width):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/s/{live_server.token}")
    lines = page.evaluate(_TITLE_LINES)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"title-{width}.png"))
    assert "".join(lines) == page.locator("h1").inner_text()
    assert all(len(line.strip()) > 1 for line in lines), lines  # never "查" alone


def test_double_submit_stores_one_response(live_server, new_page):
    page = new_page(javascript=False)
    checker = Checker(page, "double", javascript=False)
    page.goto(f"{live_server.url}/s/{live_server.token}")
    _go(page, checker, "button.primary")
    while _page_id(page) != "final":
        _answer_all(page)
        _go(page, checker, "button[value=next]")
    _answer_all(page)
    form = page.locator("form")
    action = live_server.url + form.get_attribute("action")
    fields = {}
    for control in page.locator("input[type=hidden], input:checked").all():
        fields[control.get_attribute("name")] = control.get_attribute("value")
    fields["go"] = "next"
    first = page.request.post(action, form=fields, max_redirects=0)
    second = page.request.post(action, form=fields, max_redirects=0)  # a double tap / retry
    assert first.status == second.status == 303
    assert first.headers["location"].endswith("/thanks") and second.headers["location"].endswith("/thanks")
    checker.meter.reset()
    page.goto(live_server.url + first.headers["location"].replace(live_server.url, ""))
    checker.check("thanks")
    stored = _stored(live_server.app)
    assert len(stored) == 1 and stored[0].state == "submitted"


def test_javascript_enhancement_sends_a_form_once(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/s/{live_server.token}")
    seen = []
    page.on("request", lambda req: seen.append(req.method) if req.method == "POST" else None)
    button = page.locator("button.primary")
    with page.expect_navigation():
        button.evaluate("b => { b.click(); b.click(); }")  # two taps before the answer
    assert seen == ["POST"]
    assert len(_stored(live_server.app)) == 1


def test_closed_wave_and_tampered_code_get_friendly_pages(live_server, new_page):
    page = new_page()
    checker = Checker(page, "errors")
    tampered = live_server.token[:-2] + ("zz" if not live_server.token.endswith("zz") else "yy")
    response = page.goto(f"{live_server.url}/s/{tampered}")
    assert response.status == 404 and page.get_by_text("找不到该页面").is_visible()
    checker.check("not-found")
    with live_server.app.app_context():
        session = get_session()
        session.scalar(select(Wave)).state = "closed"
        session.commit()
    page.goto(f"{live_server.url}/s/{live_server.token}")
    assert page.get_by_role("heading", name="调查已结束").is_visible()
    checker.check("closed")


def test_works_without_javascript(live_server, new_page):
    page = new_page(javascript=False)
    checker = Checker(page, "nojs", javascript=False)
    page.goto(f"{live_server.url}/s/{live_server.token}")
    checker.check("landing")
    _go(page, checker, "button.primary")
    seen = _walk(page, checker, ["公共教育"])
    assert seen == ["services", "healthcare", "education", "demographics", "final", "thanks"]
    assert _stored(live_server.app)[0].state == "submitted"


def test_focus_is_visible(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/s/{live_server.token}")
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [document.activeElement.className, s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[1] != "none" and re.match(r"[1-9]", outline[2]), outline
