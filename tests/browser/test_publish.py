"""Acceptance: a publisher signs in, publishes the demo wave (a job, run by a worker thread
as in ``manyi demo``; the job's page reloads itself until it is done), the public page shows
the same overall index as results.json, and the JSON endpoint serves it.

The demo (``create_demo``) publishes its wave once itself; the publisher then publishes a
new revision with a reason, as the office would after a correction.  The public page is
measured against the resident pages' weight budget and checked by axe-core.  The new
revision's PDFs are the stand-in (``pdf_stand_in``, set up after ``demo_server``): the demo's
real ones are what test_bulletin.py reads.
"""

from __future__ import annotations

import json

import pytest

from survey.db import get_session
from survey.services.publication import get_publication
from tests.browser.conftest import ARTIFACTS, Checker
from tests.survey.admin_support import PASSWORD

pytestmark = pytest.mark.browser

#: Scoring and the PDF take a while on two cores.
PUBLISH_TIMEOUT_MS = 180_000
#: The publish job (scoring and the PDF in the worker thread) on a busy shared machine.
JOB_TIMEOUT_MS = 600_000


def test_publisher_publishes_the_demo_wave(demo_server, new_page, request, pdf_stand_in):
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

    # The demo published revision 1 (test_bulletin.py may have run first: it changes nothing);
    # a new revision needs a reason.
    with demo_server.app.app_context():
        before = get_publication(get_session(), "2025").revision
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
        assert publication.revision == before + 1 and publication.published_by == "wang.publisher"
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
    assert data["publication"]["revision"] == before + 1
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
