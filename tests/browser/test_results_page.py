"""The public results page in Chromium, at a phone's and a desktop's width: fully Chinese
(no English word, no raw code), both target verdicts, nothing clipped; screenshots saved."""

from __future__ import annotations

import re

import pytest

from scoring.contract import contract_values
from scoring.vocabulary import DOMAIN_IDS, LABELS
from survey.db import get_session
from survey.services.publication import publish_run
from survey.services.waves import get_wave
from tests.browser.conftest import ARTIFACTS
from tests.survey.test_results import both_targets_run

pytestmark = pytest.mark.browser

#: Latin words a Chinese page may show: the language switch and file formats.
ALLOWED_LATIN = {"English", "PDF", "JSON", "CSV", "Excel"}


def raw_codes() -> set[str]:
    """Every code of the vocabulary and the contract (domain ids, verdicts, reasons, channels,
    levels, quadrants, design/variance/mapping names)."""
    codes = set(DOMAIN_IDS) | set(contract_values())
    for kind, words in LABELS.items():
        if kind != "district":
            codes |= {str(code) for code in words["zh"]}
    return {code for code in codes if re.search(r"[a-z]", code)}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_chinese_results_page_has_no_english_word_or_code(live_server, browser, width, height):
    app = live_server.app
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, "2025"), both_targets_run(), actor="publisher-x")
        session.commit()
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/results/2025")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"results-2025-zh-{width}.png"), full_page=True)
        text = page.locator("body").inner_text()
        words = set(re.findall(r"[A-Za-z][A-Za-z_]+", text)) - ALLOWED_LATIN
        assert not words, f"English words or codes on the Chinese page: {sorted(words)}"
        shown = {code for code in raw_codes() if re.search(rf"(?<![A-Za-z_]){re.escape(code)}(?![A-Za-z_])", text)}
        assert not shown, shown
        assert "规划目标" in text and "对照口径" in text and "尚无法判断" not in text.split("规划目标")[0]
        assert "区间包含85分" in text and "样本不足，不作判断" in text
        # Nothing is wider than the viewport (no clipped axis or table at 390 px).
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        context.close()
