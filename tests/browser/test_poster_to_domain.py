"""From the printed poster to a finished domain, on a phone, and how long a person needs.

The poster of the live server's point is printed (the PDF rasterised at 100 dpi) and
scanned with an independent decoder (zbar); the phone opens the URL it read and answers
one domain — the point's own, pre-selected — through to the thank-you page.  Every tap,
every line of text shown and every byte loaded is counted.

A person's time cannot be measured by a test (and tests never assert wall-clock times),
so time on task is *estimated* from those counts, and written with every input to
``test-artifacts/browser/time-on-task.json``:

* reading: every line of text above the button the resident taps to go on (the privacy
  notice sits below the start button and is not counted), a line already seen on an
  earlier page or question (the scale's anchors, the header) counted once.  Two readers:
  *careful*, at 255 Chinese characters a minute — the IReST norm for reading *aloud*
  (Trauzettel-Klosinski et al., 2012) — and *typical*, 1.5 times that, for silent reading;
  every option of a list (the 12 services, the 12 towns) is read, not searched;
* tapping: 1.5 s per tap (find the option, move the thumb, tap);
* waiting: each page's gzip bytes over a slow mobile link of 400 kbit/s, plus 0.3 s of
  round trip per request the page makes; scanning the poster: 5 s.

Asserted: a typical reader has answered the domain's questions within two minutes of
scanning, and a careful reader finishes the whole survey within the four minutes the
landing page announces (全部约需2至4分钟).  The whole survey's estimate for a typical
reader is recorded, not asserted (about 2.4 minutes: see the issue's closing note).
"""

from __future__ import annotations

import json
import re

import pytest

from survey.posters import poster_pdf
from tests.browser.conftest import ARTIFACTS, Checker
from tests.survey.test_posters import scan_printed_poster

pytestmark = pytest.mark.browser

CAREFUL_CHARS_PER_S = 255 / 60
TYPICAL_CHARS_PER_S = 1.5 * CAREFUL_CHARS_PER_S
TAP_S = 1.5
LINK_BYTES_PER_S = 400_000 / 8
ROUND_TRIP_S = 0.3
SCAN_S = 5.0
DOMAIN_BUDGET_S = 120  # the resident-flow issue: a domain in under two minutes
SURVEY_PROMISE_S = 240  # the landing page: 全部约需2至4分钟
_READ = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]|[A-Za-z0-9]+")


def _scan_poster(live_server, tmp_path) -> str:
    from survey.db import get_session
    from survey.services.waves import find_point_by_token

    url = f"{live_server.url}/s/{live_server.token}"
    with live_server.app.app_context():
        point = find_point_by_token(get_session(), live_server.token)
        (tmp_path / "poster.pdf").write_bytes(poster_pdf(point, point.wave, url))
    return scan_printed_poster(tmp_path / "poster.pdf")


class Reader:
    """Counts what a resident reads: CJK characters one by one, a Latin word or a number
    as one; each line once in the whole session (a line seen before is recognised)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def new_characters(self, page, button_text: str | None) -> int:
        text = page.locator("body").inner_text()
        if button_text:
            text = text.split(button_text)[0]  # what is above the button tapped to go on
        count = 0
        for line in (line.strip() for line in text.splitlines()):
            if line and line not in self.seen:
                self.seen.add(line)
                count += len(_READ.findall(line))
        return count


def test_scan_the_poster_and_finish_a_domain(live_server, new_page, tmp_path):
    url = _scan_poster(live_server, tmp_path)
    assert url == f"{live_server.url}/s/{live_server.token}"

    page = new_page()
    checker = Checker(page, "poster")
    reader = Reader()
    pages: list[dict] = []

    def shown(name: str, taps: int, button_text: str | None) -> None:
        record = checker.check(name)
        pages.append(
            {
                "page": name,
                "characters": reader.new_characters(page, button_text),
                "taps": taps,
                "requests": len(record.files),
                "gzip_bytes": record.gzip,
                "raw_bytes": record.raw,
            }
        )

    def go_on(selector: str) -> None:
        checker.meter.reset()
        with page.expect_navigation(wait_until="load"):
            page.locator(selector).first.click()

    page.goto(url)
    shown("landing", 1, "开始填写")
    go_on("button.primary")
    # The point's own domain (the hospital: healthcare) is already ticked: one tap on.
    assert page.get_by_label("医疗服务", exact=True).is_checked()
    shown("services", 1, "下一步")
    go_on("button[value=next]")
    seen = []
    while not page.url.rstrip("/").endswith("/thanks"):
        name = page.url.rstrip("/").rsplit("/", 1)[-1]
        seen.append(name)
        taps = 1  # the button
        for fieldset in page.locator("fieldset.q").all():
            labels = fieldset.locator("label.o")
            if labels.count():
                labels.nth(min(3, labels.count() - 1)).click()
                taps += 1
        button = page.locator("button[value=next]").first
        shown(name, taps, button.inner_text().strip())
        go_on("button[value=next]")
    shown("thanks", 0, None)
    assert seen == ["healthcare", "demographics", "final"]

    from survey.db import get_session
    from survey.models import Response

    with live_server.app.app_context():
        [response] = get_session().query(Response).all()
    assert response.state == "submitted" and response.services_used == "healthcare"
    assert all(entry["gzip_bytes"] < 30 * 1024 for entry in pages)

    def estimate(upto: str, chars_per_s: float) -> dict[str, float]:
        done = pages[: [entry["page"] for entry in pages].index(upto) + 1]
        parts = {
            "scan": SCAN_S,
            "reading": sum(entry["characters"] for entry in done) / chars_per_s,
            "tapping": sum(entry["taps"] for entry in done) * TAP_S,
            "waiting": sum(entry["gzip_bytes"] / LINK_BYTES_PER_S + entry["requests"] * ROUND_TRIP_S for entry in done),
        }
        return {**{key: round(value, 1) for key, value in parts.items()}, "total": round(sum(parts.values()), 1)}

    estimates = {
        f"{reader_name}, scan to {label}": estimate(upto, rate)
        for reader_name, rate in (("typical reader", TYPICAL_CHARS_PER_S), ("careful reader", CAREFUL_CHARS_PER_S))
        for label, upto in (("the domain's questions sent", "healthcare"), ("the whole survey submitted", "final"))
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "time-on-task.json").write_text(
        json.dumps(
            {
                "model": {
                    "careful_chars_per_minute": 255,
                    "typical_chars_per_minute": round(TYPICAL_CHARS_PER_S * 60),
                    "seconds_per_tap": TAP_S,
                    "link_kbit_per_s": LINK_BYTES_PER_S * 8 / 1000,
                    "round_trip_s": ROUND_TRIP_S,
                    "scan_s": SCAN_S,
                },
                "pages": pages,
                "estimates_s": estimates,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    assert estimates["typical reader, scan to the domain's questions sent"]["total"] < DOMAIN_BUDGET_S, estimates
    assert estimates["careful reader, scan to the whole survey submitted"]["total"] < SURVEY_PROMISE_S, estimates
