"""长辈模式 and the MIIT 适老化 numbers, measured in Chromium (issue 14).

Every resident page — welcome, services, a domain page, demographics, the final page,
thanks, and the closed, out-of-date and not-submitted pages — at 320 and 390 px wide, in
the default mode and in 长辈模式: computed font sizes and line heights of every visible
text, the boxes of every control, the contrast of every text against its background,
sideways scrolling, and axe-core (no serious or critical violation).  200% zoom is
emulated by halving the viewport (160 and 195 CSS px) at device scale factor 2 — what a
320 or 390 px phone shows at 200% — and checked for sideways scrolling there too.

The numbers go to ``test-artifacts/browser/elder-measurements.json``; screenshots to
``test-artifacts/browser/elder-<page>-<mode>-<width>.png``.
"""

from __future__ import annotations

import json
import re

import pytest

from survey.respond.elder import title_phrases
from tests.browser.conftest import ARTIFACTS, Checker
from tests.survey.respond_support import make_wave

pytestmark = pytest.mark.browser

WIDTHS = (320, 390)
MODES = ("default", "elder")
#: MIIT 适老化 / T/TAF 114-2022 numbers the pages must meet, per mode.
MIN_TEXT = {"default": 18.0, "elder": 24.0}
MIN_ANSWER_BOX = {"default": 48.0, "elder": 60.0}
MIN_LINE_HEIGHT = 1.3
MIN_CONTRAST = 4.5
MIN_CONTROL = 44.0
#: Controls on the main screens (answers and the next/back/start buttons).
MIN_MAIN_CONTROL = 48.0

#: Every visible text (an element with its own text), every control, and sideways scroll.
MEASURE = """() => {
  const visible = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const rgb = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c; }
    return [255, 255, 255]; };
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const texts = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'PROGRESS', 'OPTION'].includes(el.tagName) || !visible(el)) continue;
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!own) continue;
    const s = getComputedStyle(el); const size = parseFloat(s.fontSize);
    const fg = lum(rgb(s.color)); const bg = lum(background(el));
    texts.push({el: name(el), text: own.slice(0, 24), font_px: size,
      line_ratio: Math.round(parseFloat(s.lineHeight) / size * 100) / 100,
      contrast: Math.round((Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05) * 100) / 100,
      in_main: !!el.closest('main'), in_header: !!el.closest('header')});
  }
  const controls = Array.from(document.querySelectorAll('label.o, button, a.button, header a, main a, textarea, .say'))
    .filter(visible).map(el => { const r = el.getBoundingClientRect();
      return {el: name(el), text: el.textContent.trim().slice(0, 16), width: Math.round(r.width * 10) / 10,
              height: Math.round(r.height * 10) / 10}; });
  const root = document.documentElement;
  return {texts, controls, scroll_width: root.scrollWidth, client_width: root.clientWidth,
          elder: root.classList.contains('elder')};
}"""

#: The lines of the page's h1 (per character box), to see where the title breaks.
TITLE_LINES = """() => {
  const h1 = document.querySelector('h1'); const lines = [];
  const walker = document.createTreeWalker(h1, NodeFilter.SHOW_TEXT); let node; let top = null;
  while ((node = walker.nextNode())) {
    for (let i = 0; i < node.textContent.length; i++) {
      const range = document.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0]; if (!rect) continue;
      if (top === null || rect.top > top + rect.height / 2) { lines.push(''); top = rect.top; }
      lines[lines.length - 1] += node.textContent[i];
    }
  }
  return lines;
}"""


def _go(page, action) -> None:
    with page.expect_navigation(wait_until="load"):
        action()


def _answer_all(page) -> None:
    for fieldset in page.locator("fieldset.q").all():
        labels = fieldset.locator("label.o")
        if labels.count():
            labels.nth(min(3, labels.count() - 1)).click()


def _page_id(page) -> str:
    return page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


class Measurer:
    """Measures and checks a page in one mode at one width; keeps the numbers."""

    def __init__(self, page, mode: str, width: int, results: dict) -> None:
        self.page, self.mode, self.width, self.results = page, mode, width, results
        self.checker = Checker(page, f"elder-{mode}-{width}")

    def check(self, name: str) -> dict:
        page, mode = self.page, self.mode
        page.wait_for_load_state("load")
        measured = page.evaluate(MEASURE)
        assert measured["elder"] == (mode == "elder"), f"{name}: the page is not in {mode} mode"
        where = f"{name} ({mode}, {self.width} px)"
        texts = measured["texts"]
        small = [t for t in texts if (t["in_main"] or t["in_header"]) and t["font_px"] < MIN_TEXT[mode]]
        assert not small, f"{where}: text under {MIN_TEXT[mode]} px: {small}"
        tight = [t for t in texts if not t["line_ratio"] >= MIN_LINE_HEIGHT]
        assert not tight, f"{where}: line height under {MIN_LINE_HEIGHT}: {tight}"
        faint = [t for t in texts if t["contrast"] < MIN_CONTRAST]
        assert not faint, f"{where}: contrast under {MIN_CONTRAST}:1: {faint}"
        controls = measured["controls"]
        tiny = [c for c in controls if c["width"] < MIN_CONTROL or c["height"] < MIN_CONTROL]
        assert not tiny, f"{where}: controls under {MIN_CONTROL}×{MIN_CONTROL} px: {tiny}"
        main = [c for c in controls if c["el"].startswith(("label.o", "button", "a.button"))]
        low = [c for c in main if c["height"] < MIN_MAIN_CONTROL]
        assert not low, f"{where}: main-screen controls under {MIN_MAIN_CONTROL} px: {low}"
        boxes = [c for c in controls if c["el"].startswith("label.o")]
        flat = [c for c in boxes if c["height"] < MIN_ANSWER_BOX[mode]]
        assert not flat, f"{where}: answer boxes under {MIN_ANSWER_BOX[mode]} px: {flat}"
        assert measured["scroll_width"] <= measured["client_width"], f"{where}: sideways scroll {measured}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"elder-{name}-{mode}-{self.width}.png"), full_page=True)
        self.checker._axe(where)  # the same axe-core run as every browser test (conftest.Checker)
        # 200% zoom: the same page on half the CSS width, at device scale factor 2.
        zoomed = self.width // 2
        page.set_viewport_size({"width": zoomed, "height": 422})
        zoom = page.evaluate(MEASURE)
        page.screenshot(path=str(ARTIFACTS / f"elder-{name}-{mode}-{self.width}-zoom200.png"), full_page=True)
        page.set_viewport_size({"width": self.width, "height": 844})
        assert zoom["scroll_width"] <= zoom["client_width"], f"{where} at 200% zoom ({zoomed} px): sideways scroll"
        summary = {
            "min_text_px": min((t["font_px"] for t in texts if t["in_main"]), default=None),
            "question_px": [t["font_px"] for t in texts if t["el"] == "legend"][:1],
            "option_px": [t["font_px"] for t in texts if t["el"] == "span" and t["in_main"]][:1],
            "min_line_ratio": min(t["line_ratio"] for t in texts),
            "min_contrast": min(t["contrast"] for t in texts),
            "min_answer_box_px": min((c["height"] for c in boxes), default=None),
            "min_control": [min(c["width"] for c in controls), min(c["height"] for c in controls)]
            if controls
            else None,
            "scroll_width": measured["scroll_width"],
            "client_width": measured["client_width"],
            "zoom200_scroll_width": zoom["scroll_width"],
            "zoom200_client_width": zoom["client_width"],
            "texts": texts,
            "controls": controls,
        }
        self.results.setdefault(name, {}).setdefault(mode, {})[str(self.width)] = summary
        return summary


@pytest.fixture(scope="module")
def measurements():
    results: dict = {}
    yield results
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "elder-measurements.json"
    earlier = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for name, modes in results.items():
        for mode, widths in modes.items():
            earlier.setdefault(name, {}).setdefault(mode, {}).update(widths)
    path.write_text(json.dumps(earlier, ensure_ascii=False, indent=1), encoding="utf-8")


def _context(browser, width: int, *, javascript: bool = True):
    return browser.new_context(
        viewport={"width": width, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=javascript,
    )


def _title_breaks_between_phrases(page, where: str) -> None:
    lines = page.evaluate(TITLE_LINES)
    title = "".join(lines)
    boundaries = set()
    offset = 0
    for phrase in title_phrases(title):
        offset += len(phrase)
        boundaries.add(offset)
    offset = 0
    for line in lines[:-1]:
        offset += len(line)
        assert offset in boundaries, f"{where}: the title breaks inside a phrase: {lines}"
    single = [line for line in lines if re.fullmatch(r"[\u4e00-\u9fff]", line)]
    assert not single, f"{where}: a title line of one character: {lines}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("mode", MODES)
def test_every_resident_page_meets_the_numbers(live_server, browser, measurements, mode, width):
    app = live_server.app
    closed_token = make_wave(app, code="2024", state="closed", point_code="hall-01")
    context = _context(browser, width)
    try:
        page = context.new_page()
        measure = Measurer(page, mode, width, measurements)
        landing = f"{live_server.url}/s/{live_server.token}"
        page.goto(landing + ("?elder=1" if mode == "elder" else ""))
        assert page.locator("a.mode").is_visible()  # the switch on the first screen
        _title_breaks_between_phrases(page, f"welcome ({mode}, {width} px)")
        measure.check("welcome")
        # The out-of-date page: a start form whose one-time key was tampered with.
        page.locator("input[name=submission_key]").evaluate("el => { el.value = 'x'; }")
        _go(page, lambda: page.locator("button.primary").click())
        assert page.get_by_role("heading", name="本页面已失效").is_visible()
        measure.check("stale")
        page.goto(landing)
        _go(page, lambda: page.locator("button.primary").click())
        assert _page_id(page) == "services"
        measure.check("services")
        _go(page, lambda: page.locator("button[value=next]").click())
        while _page_id(page) != "thanks":
            name = _page_id(page)
            _answer_all(page)
            say = page.locator("fieldset.q .say")
            if name in ("healthcare", "final"):
                questions = page.locator("fieldset.q").count()
                shown = [button.is_visible() for button in say.all()]
                expected = [True] * questions if mode == "elder" else []  # made only in 长辈模式
                assert shown == expected, f"{name}: read-aloud buttons {shown}"
            measure.check({"healthcare": "domain"}.get(name, name))
            _go(page, lambda: page.locator("button[value=next]").click())
        assert page.get_by_text("感谢您的参与！").is_visible()
        measure.check("thanks")
        page.goto(f"{live_server.url}/s/{closed_token}")
        assert page.get_by_role("heading", name="调查已结束").is_visible()
        measure.check("closed")
        # A browser that submitted nothing here, asking for the thank-you page.
        other = context.browser.new_context(
            viewport={"width": width, "height": 844}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
        )
        try:
            stranger = other.new_page()
            stranger.goto(f"{live_server.url}/s/{live_server.token}/thanks" + ("?elder=1" if mode == "elder" else ""))
            Measurer(stranger, mode, width, measurements).check("not-submitted")
        finally:
            other.close()
    finally:
        context.close()


def test_switch_works_at_once_with_javascript_and_is_remembered(live_server, browser):
    context = _context(browser, 390)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{live_server.token}")
        body_px = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)")
        url = page.url
        page.locator("a.mode").click()  # no navigation: the class changes at once
        page.wait_for_function("document.documentElement.classList.contains('elder')")
        assert page.url == url
        assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('main p')).fontSize)") >= 24 > body_px
        assert page.locator("a.mode").inner_text() == "标准模式"
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["manyi_elder"]["value"] == "1" and cookies["manyi_elder"]["expires"] == -1  # the visit only
        page.reload()
        assert page.evaluate("document.documentElement.classList.contains('elder')")  # the server knows it
        page.locator("a.mode").click()
        page.wait_for_function("!document.documentElement.classList.contains('elder')")
        page.reload()
        assert not page.evaluate("document.documentElement.classList.contains('elder')")
    finally:
        context.close()


def test_switch_works_without_javascript(live_server, browser):
    context = _context(browser, 390, javascript=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{live_server.token}")
        assert page.locator("a.mode").is_visible()
        _go(page, lambda: page.locator("a.mode").click())
        assert page.evaluate("document.documentElement.className") == "elder"
        _go(page, lambda: page.locator("button.primary").click())  # the next page keeps it
        assert page.evaluate("document.documentElement.className") == "elder"
        assert page.locator(".say").count() == 0  # read-aloud needs JavaScript
    finally:
        context.close()


SPEECH_SPY = """(() => {
  window.__said = [];
  if (window.speechSynthesis) {
    window.speechSynthesis.speak = u => { window.__said.push({text: u.text, lang: u.lang}); };
  }
})();"""


def test_read_aloud_speaks_the_question_and_options_in_chinese(live_server, browser):
    context = _context(browser, 390)
    context.add_init_script(SPEECH_SPY)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{live_server.token}?elder=1")
        _go(page, lambda: page.locator("button.primary").click())
        _go(page, lambda: page.locator("button[value=next]").click())
        first = page.locator("fieldset.q").first
        first.locator(".say").click()
        said = page.evaluate("window.__said")
        legend = first.locator("legend").inner_text().strip()
        assert len(said) == 1 and said[0]["lang"] == "zh-CN"
        assert said[0]["text"].startswith(legend) and "非常满意" in said[0]["text"]
        assert not page.locator("script[src^=http]").count()  # no third-party script
    finally:
        context.close()


def test_no_read_aloud_button_when_the_browser_cannot_speak(live_server, browser):
    context = _context(browser, 390)
    context.add_init_script("Object.defineProperty(window, 'speechSynthesis', {value: undefined, configurable: true});")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{live_server.token}?elder=1")
        _go(page, lambda: page.locator("button.primary").click())
        _go(page, lambda: page.locator("button[value=next]").click())
        assert page.locator("fieldset.q").count() > 0 and page.locator(".say").count() == 0
    finally:
        context.close()


def test_results_title_breaks_between_phrases(live_server, browser):
    from survey.db import get_session
    from survey.services.publication import publish_run
    from survey.services.waves import get_wave
    from tests.survey.test_results import both_targets_run

    with live_server.app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, "2025"), both_targets_run(), actor="publisher-x")
        session.commit()
    for width in WIDTHS:
        for mode in MODES:
            context = _context(browser, width)
            try:
                page = context.new_page()
                page.goto(f"{live_server.url}/results/2025" + ("?elder=1" if mode == "elder" else ""))
                assert "满意度调查" in page.locator("h1").inner_text()
                # The page cache keeps one page per mode: never an elder page for everyone.
                assert page.evaluate("document.documentElement.classList.contains('elder')") == (mode == "elder")
                _title_breaks_between_phrases(page, f"results ({mode}, {width} px)")
                page.locator("h1").screenshot(path=str(ARTIFACTS / f"elder-results-title-{mode}-{width}.png"))
            finally:
                context.close()


def test_switching_on_a_question_page_adds_the_read_aloud_buttons(live_server, browser):
    context = _context(browser, 390)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{live_server.token}")
        _go(page, lambda: page.locator("button.primary").click())
        _go(page, lambda: page.locator("button[value=next]").click())
        assert page.locator(".say").count() == 0  # default mode: no hidden buttons either
        page.locator("a.mode").click()
        page.wait_for_function("document.documentElement.classList.contains('elder')")
        assert page.locator(".say").count() == page.locator("fieldset.q").count() > 0
        assert page.locator(".say").first.is_visible()
        page.locator("a.mode").click()  # back to the default: hidden again
        assert not page.locator(".say").first.is_visible()
    finally:
        context.close()
