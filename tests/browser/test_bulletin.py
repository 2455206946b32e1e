"""Acceptance (issue 16): a publisher signs in and downloads a lead unit's 通报 from the office
screens of the demo wave; the PDF is Chinese text with the font embedded.

The demo (``create_demo``) publishes its wave once, with the district plan the wave pins, so
the publication holds ``bulletins/<unit>.pdf`` for every lead unit and ``bulletins/summary.pdf``.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from survey.db import get_session
from survey.services.publication import get_publication, results_of
from tests.browser.conftest import ARTIFACTS
from tests.survey.admin_support import PASSWORD

pytestmark = pytest.mark.browser


def test_publisher_downloads_a_bulletin(demo_server, new_page, tmp_path):
    with demo_server.app.app_context():
        publication = get_publication(get_session(), "2025")  # revision 1, or 2 after test_publish.py
        results, revision = results_of(publication), publication.revision
    units = results["lead_units"]
    ranked = [code for code, unit in units.items() if unit["rank"] is not None]
    assert ranked, "the demo wave has no ranked lead unit"
    code = ranked[0]
    name = units[code]["name"]["zh"]

    page = new_page(locale="zh-CN")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{demo_server.url}/admin/waves/2025/publication")
    page.fill("#username", "wang.publisher")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("button[type=submit]").click()
    with page.expect_navigation():
        page.locator("#bulletins-link").click()
    assert page.url.endswith("/admin/waves/2025/bulletins")
    assert page.locator(f"a[data-unit='{code}']").count() == 1
    assert page.locator("#bulletin-summary").count() == 1
    page.screenshot(path=str(ARTIFACTS / "bulletin-01-list.png"), full_page=True)

    with page.expect_download() as download_info:
        page.locator(f"a[data-unit='{code}']").click()
    download = download_info.value
    assert download.suggested_filename == f"manyi-2025-r{revision}-tongbao-{code}.pdf"
    pdf = tmp_path / "bulletin.pdf"
    download.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")

    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.fail("poppler-utils (pdftotext, pdffonts) are needed: apt-get install poppler-utils")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert name in text and "通报" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Noto" in fonts and "CJK" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())  # embedded
