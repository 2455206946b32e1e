"""Acceptance: a publisher signs in, publishes the demo wave (a job, run by a worker thread
as in ``manyi demo``; the job's page reloads itself until it is done), the public page shows
the same overall index as results.json, and the JSON endpoint serves it.

The demo (``create_demo``) publishes its wave once itself; the publisher then publishes a
new revision with a reason, as the office would after a correction.  The public page is
measured against the resident pages' weight budget and checked by axe-core.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from survey.commands.jobs import start_worker_thread
from survey.db import get_session
from survey.services.publication import get_publication
from tests.browser.conftest import ARTIFACTS, Checker
from tests.conftest import make_app
from tests.survey.admin_support import PASSWORD, make_user

pytestmark = pytest.mark.browser

#: Scoring and the PDF take a while on two cores.
PUBLISH_TIMEOUT_MS = 180_000
#: The publish job (scoring and the PDF in the worker thread) on a busy shared machine.
JOB_TIMEOUT_MS = 600_000


@dataclass
class DemoServer:
    url: str
    app: object


@pytest.fixture
def demo_server(sqlite_template, tmp_path, monkeypatch) -> Iterator[DemoServer]:
    """``manyi demo``'s data on a fresh SQLite database, served in a thread, with a publisher."""
    from werkzeug.serving import make_server

    from survey.services.setup import create_demo

    path = tmp_path / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", tmp_path, monkeypatch, TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    with app.app_context():
        create_demo(app, responses=800, seed=2025)
    make_user(app, "wang.publisher", "publisher")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop_worker = start_worker_thread(app, poll=0.5)  # as `manyi demo` does: the publish button queues a job
    yield DemoServer(base, app)
    stop_worker.set()
    server.shutdown()
    thread.join()
    app.extensions["manyi_db"].engine.dispose()


def test_publisher_publishes_the_demo_wave(demo_server, new_page, request):
    page = new_page(locale="zh-CN")
    page.set_default_timeout(PUBLISH_TIMEOUT_MS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{demo_server.url}/admin/waves/2025/publication")
    assert "/admin/login" in page.url  # not signed in yet
    page.fill("#username", "wang.publisher")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    assert page.url.endswith("/admin/waves/2025/publication")
    page.screenshot(path=str(ARTIFACTS / "publish-01-publication-page.png"), full_page=True)

    # The demo published revision 1; a new revision needs a reason.
    page.fill("#reason", "浏览器验收测试：重新发布")
    page.check("#confirm")
    with page.expect_navigation(timeout=PUBLISH_TIMEOUT_MS):
        page.locator("form[action$='/publish'] button[type=submit]").click()
    # The button queued a job and opened its page; the worker publishes, the page reloads itself.
    assert "/admin/jobs/" in page.url
    assert page.locator(".message.success").count() == 1
    page.screenshot(path=str(ARTIFACTS / "publish-02-job-queued.png"), full_page=True)
    page.wait_for_selector("#job-state:has-text('已完成')", timeout=JOB_TIMEOUT_MS)
    assert page.locator("#job-progress").inner_text().startswith("2/2")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "publish-03-published.png"), full_page=True)
    assert page.locator("a[href='/results/2025']").count() == 1

    with demo_server.app.app_context():
        publication = get_publication(get_session(), "2025")
        assert publication.revision == 2 and publication.published_by == "wang.publisher"
        frozen = json.loads(publication.results_json)

    # The public page, on a phone, without signing in.
    public = new_page(locale="zh-CN")
    checker = Checker(public, "publish")
    public.goto(f"{demo_server.url}/results/2025")
    shown = public.locator("#overall-index").inner_text()
    assert shown == f"{frozen['overall']['index']:.1f}"
    assert public.locator(".verdict").inner_text().strip()
    checker.check("results-2025")

    served = public.request.get(f"{demo_server.url}/results/2025.json")
    assert served.ok and served.headers["content-type"].startswith("application/json")
    data = served.json()
    assert data["overall"] == frozen["overall"]
    assert data["publication"]["revision"] == 2
    assert f"{data['overall']['index']:.1f}" == shown

    pdf = public.request.get(f"{demo_server.url}/results/2025/files/report.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    checker.meter.reset()
    public.goto(f"{demo_server.url}/results")
    assert public.locator("a[href='/results/2025']").count() == 1
    checker.check("results-list")
    earlier = new_page(locale="zh-CN")
    earlier.goto(f"{demo_server.url}/results/2025/r/1")
    assert earlier.locator(".banner").count() >= 1
