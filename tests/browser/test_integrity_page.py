"""Browser check of the integrity screens (issue 15): a statistician opens the integrity page
of a wave with a planted coached point, sees it flagged with its charts, excludes it with a
reason; after publishing, the public page's integrity section names the exclusion.  Both
pages are checked by axe-core and photographed into ``test-artifacts/browser/``."""

from __future__ import annotations

import shutil
import threading

import pytest

from survey.db import get_session
from survey.services.publication import PublishOptions, publish_wave
from survey.services.questionnaires import load_into_database
from survey.services.waves import get_wave
from tests.browser.conftest import ARTIFACTS, BLOCKING_IMPACTS, VIEWPORT
from tests.conftest import QUESTIONNAIRES, make_app
from tests.survey.admin_support import PASSWORD, make_user
from tests.survey.test_integrity_office import REASON, planted_wave

pytestmark = pytest.mark.browser


def _axe(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
    assert not blocking, f"{name}: axe-core found {blocking}"


def test_statistician_excludes_a_flagged_point_and_the_public_page_says_so(
    browser, sqlite_template, tmp_path, monkeypatch
):
    from werkzeug.serving import make_server

    path = tmp_path / "integrity.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", tmp_path, monkeypatch, TESTING=False)
    with app.app_context():
        session = get_session()
        load_into_database(session, QUESTIONNAIRES)
        session.commit()
    coached = planted_wave(app, responses=1200, seed=2)
    make_user(app, "li.statistician", "statistician")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/admin/login?next=/admin/waves/2025/integrity")
        page.fill("#username", "li.statistician")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.locator("button[type=submit]").click()
        assert page.url.endswith("/admin/waves/2025/integrity")
        assert page.locator("svg[role=img]").count() >= 2
        assert "全部答满意的受访者比例" in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "integrity-01-office-page.png"), full_page=True)
        _axe(page, "integrity page")

        page.select_option("#target", f"point:{coached}")
        page.fill("#reason", REASON)
        with page.expect_navigation():
            page.locator("form[action$='/integrity/exclude'] button[type=submit]").click()
        assert REASON in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "integrity-02-decision-recorded.png"), full_page=True)
        _axe(page, "integrity page after a decision")

        with app.app_context():
            session = get_session()
            publish_wave(session, get_wave(session, "2025"), actor="browser-test", options=PublishOptions(pdf=False))
            session.commit()
        phone = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, is_mobile=True, locale="zh-CN")
        public = phone.new_page()
        public.goto(f"{base}/results/2025")
        section = public.locator("section[aria-labelledby=h-integrity]")
        assert REASON in section.inner_text()
        section.screenshot(path=str(ARTIFACTS / "integrity-03-public-section.png"))
        _axe(public, "public page with the integrity section")
        phone.close()
    finally:
        context.close()
        server.shutdown()
        thread.join()
        app.extensions["manyi_db"].engine.dispose()
