"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser).

A live server runs the app in a thread on a fresh SQLite database with an open wave and
one collection point.  Pages are measured (bytes of the page and every subresource, raw
and gzip, with the browser cache off so each page is a cold load), checked with axe-core
and photographed into ``test-artifacts/browser/``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import QUESTIONNAIRES, REPO, make_app, need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 390, "height": 844}
ARTIFACTS = REPO / "test-artifacts" / "browser"
#: Budgets of a resident page with everything it loads (product.md).
MAX_RAW = 100 * 1024
MAX_GZIP = 30 * 1024
#: axe-core impacts that fail a page.
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def playwright_instance():
    if not os.path.exists(CHROMIUM):
        need("Chromium", "apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright", "pip install -e '.[test]'")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@dataclass
class LiveServer:
    url: str
    app: object
    token: str


@pytest.fixture
def live_server(sqlite_template, tmp_path, monkeypatch) -> Iterator[LiveServer]:
    """The app on a fresh SQLite database, served on a free port in a thread."""
    from werkzeug.serving import make_server

    from survey.db import get_session
    from survey.services.questionnaires import load_into_database
    from tests.survey.respond_support import make_wave

    path = tmp_path / "live.sqlite3"
    shutil.copy(sqlite_template, path)
    app = make_app(f"sqlite:///{path}", tmp_path, monkeypatch, TESTING=False)
    with app.app_context():
        session = get_session()
        load_into_database(session, QUESTIONNAIRES)
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    token = make_wave(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(base, app, token)
    server.shutdown()
    thread.join()
    app.extensions["manyi_db"].engine.dispose()


@dataclass
class PageRecord:
    name: str
    url: str
    raw: int
    gzip: int
    files: list[tuple[str, int, int]] = field(default_factory=list)


class Meter:
    """Counts the bytes of each page load (document + subresources), raw and gzip-6."""

    def __init__(self, page) -> None:
        self.page = page
        self.responses: list = []
        page.on("response", lambda response: self.responses.append(response))

    def reset(self) -> None:
        self.responses.clear()

    def measure(self, name: str) -> PageRecord:
        self.page.wait_for_load_state("load")
        files = []
        for response in self.responses:
            if 300 <= response.status < 400:
                continue  # a redirect has no body; its target is counted
            body = response.body()
            files.append((response.url, len(body), len(gzip.compress(body, compresslevel=6))))
        return PageRecord(name, self.page.url, sum(f[1] for f in files), sum(f[2] for f in files), files)


def _report(record: PageRecord) -> None:
    """Append a page's measurement to test-artifacts/browser/page-weights.jsonl."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "page-weights.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record.__dict__, ensure_ascii=False) + "\n")


@pytest.fixture
def new_page(browser, request):
    """Make pages at 390×844 (a phone); ``javascript=False`` for a browser without JS."""
    contexts = []

    def make(*, javascript: bool = True, locale: str = "zh-CN"):
        context = browser.new_context(
            viewport=VIEWPORT,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            java_script_enabled=javascript,
        )
        contexts.append(context)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # every page a cold load
        return page

    yield make
    for context in contexts:
        context.close()


class Checker:
    """Per-page checks of a test: weight budget, axe-core, touch targets, screenshot."""

    def __init__(self, page, test_name: str, *, javascript: bool = True) -> None:
        self.page = page
        self.meter = Meter(page)
        self.test_name = test_name
        self.javascript = javascript
        self.count = 0
        self.records: list[PageRecord] = []

    def check(self, name: str) -> PageRecord:
        """Measure and check the page now shown; call ``reset()`` before navigating."""
        record = self.meter.measure(name)
        self.count += 1
        _report(record)
        self.records.append(record)
        assert record.raw <= MAX_RAW, f"{name}: {record.raw} bytes raw > {MAX_RAW}: {record.files}"
        assert record.gzip <= MAX_GZIP, f"{name}: {record.gzip} bytes gzip > {MAX_GZIP}: {record.files}"
        assert not any(
            "cdn" in url or not url.startswith(("http://127.0.0.1", "data:")) for url, _, _ in record.files
        ), record.files
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.test_name}-{self.count:02d}-{name}.png"), full_page=True)
        if self.javascript:
            self._axe(name)
            self._touch_targets(name)
        self.meter.reset()
        return record

    def _axe(self, name: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        blocking = [
            f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']]}"
            for violation in results.response["violations"]
            if violation["impact"] in BLOCKING_IMPACTS
        ]
        assert not blocking, f"{name}: axe-core found {blocking}"

    def _touch_targets(self, name: str) -> None:
        small = self.page.evaluate(
            """() => Array.from(document.querySelectorAll('label.o, button, a.lang, a.button, textarea, .alert a, .links a'))
                 .map(el => { const r = el.getBoundingClientRect(); return [el.outerHTML.slice(0, 80), r.width, r.height]; })
                 .filter(([, w, h]) => w < 44 || h < 44)"""
        )
        assert not small, f"{name}: touch targets smaller than 44×44 px: {small}"


# --------------------------------------------------------------------------- a published demo


@dataclass
class DemoServer:
    url: str
    app: object


@pytest.fixture
def demo_server(sqlite_template, tmp_path, tmp_path_factory, worker_id, monkeypatch) -> Iterator[DemoServer]:
    """``manyi demo``'s data on a fresh SQLite database, served in a thread, with a publisher.

    The demo (``create_demo``: its wave published with the real report and bulletin PDFs)
    is made once per test run, by the first worker that needs it, and each test serves its
    own copy of that database: publishing it is the slowest step of the suite.
    """
    from werkzeug.serving import make_server

    from survey.commands.jobs import start_worker_thread
    from survey.services.setup import create_demo
    from tests.conftest import app_on_template_copy, locked, shared_folder, sqlite_copy
    from tests.survey.admin_support import make_user

    shared = shared_folder(tmp_path_factory, worker_id) / "browser-demo"
    made = shared / "demo.sqlite3"
    with locked(shared / "lock"):
        if not made.exists():
            folder = tmp_path_factory.mktemp("browser-demo")
            maker = app_on_template_copy(sqlite_template, folder)
            with maker.app_context():
                create_demo(maker, responses=800, seed=2025)
            maker.extensions["manyi_db"].engine.dispose()
            sqlite_copy(str(folder / "manyi.sqlite3"), str(made.with_name("demo.sqlite3.part")))
            os.replace(made.with_name("demo.sqlite3.part"), made)
    path = tmp_path / "demo.sqlite3"
    sqlite_copy(str(made), str(path))
    app = make_app(f"sqlite:///{path}", tmp_path, monkeypatch, TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    make_user(app, "wang.publisher", "publisher")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop_worker = start_worker_thread(app, poll=0.5)  # as `manyi demo` does: the publish button queues a job
    yield DemoServer(base, app)
    stop_worker.set()
    server.shutdown()
    thread.join()
    app.extensions["manyi_db"].engine.dispose()
