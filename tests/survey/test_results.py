"""The public results pages: list, year page, open data, downloads, revisions, weight."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from survey.db import get_session
from survey.results.view import verdict_sentence
from survey.services.publication import publish_run
from survey.services.waves import get_wave
from tests.survey.admin_support import english, make_wave
from tests.survey.test_publication import fake_run


def _publish(app, code: str = "2025", *, index: float = 80.0, reason: str = "") -> None:
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, code), fake_run(index), actor="publisher-x", reason=reason)
        session.commit()


@pytest.fixture
def published(app):
    make_wave(app)
    _publish(app)
    return app


def test_list_of_published_years(app, client):
    english(client)
    assert "No results have been published yet." in client.get("/results").get_data(as_text=True)
    make_wave(app)
    make_wave(app, "2024", points=())
    _publish(app, "2024", index=76.5)
    _publish(app, "2025", index=80.0)
    text = client.get("/results").get_data(as_text=True)
    assert text.index("/results/2025") < text.index("/results/2024")
    assert "76.5" in text and "80.0" in text and "target not met" in text


def test_year_page_shows_the_frozen_results(published, client):
    english(client)
    response = client.get("/results/2025")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>80\.0<', text)
    assert "The target of 85 or more is not met" in text
    assert "78.0" in text and "70.0%" in text  # the domain index and satisfied rate
    assert "60.0" not in text  # a suppressed town cell is withheld
    assert "Medical services" in text and "Xicheng Street" in text
    assert "/results/2025/r/1/files/report.pdf" in text and "/results/2025/r/1.json" in text
    assert "<script>" not in text and " style=" not in text


def test_page_weight_budget(published, client):
    """Everything the page loads: ≤ 30 KB gzip and ≤ 100 KB raw (as the resident pages)."""
    page = client.get("/results/2025")
    html = page.get_data()
    assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', page.get_data(as_text=True))
    assert assets, "the page loads its stylesheets from the site"
    bodies = [html] + [client.get(url).get_data() for url in assets]
    assert not re.search(rb'(?:href|src)="https?://', html), "no CDN, no external request"
    raw = sum(len(body) for body in bodies)
    zipped = sum(len(gzip.compress(body)) for body in bodies)
    assert raw <= 100 * 1024 and zipped <= 30 * 1024, (raw, zipped)


def test_open_data_json(published, client):
    response = client.get("/results/2025.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    assert data["overall"]["index"] == 80.0
    assert data["publication"]["revision"] == 1 and data["publication"]["wave"] == "2025"
    assert data["subgroups"]["town"]["xicheng"]["healthcare"]["index"] is None
    etag = response.headers["ETag"]
    assert client.get("/results/2025.json", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/results/2025/r/1.json").get_json()["overall"] == data["overall"]


def test_revisions_stay_listed_and_downloadable(published, client):
    english(client)
    _publish(published, index=82.5, reason="late paper questionnaires added")
    current = client.get("/results/2025").get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>82\.5<', current)
    assert "late paper questionnaires added" in current and "/results/2025/r/1" in current
    earlier = client.get("/results/2025/r/1")
    assert earlier.status_code == 200
    text = earlier.get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>80\.0<', text) and "This is an earlier revision." in text
    assert client.get("/results/2025.json").get_json()["overall"]["index"] == 82.5
    assert client.get("/results/2025/r/1.json").get_json()["overall"]["index"] == 80.0
    assert client.get("/results/2025/r/1/files/report.pdf").data == b"%PDF-1.7 fake"


def test_downloads(published, client):
    pdf = client.get("/results/2025/files/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert (
        pdf.headers["Content-Disposition"].startswith("inline")
        and "manyi-2025-r1-report.pdf" in pdf.headers["Content-Disposition"]
    )
    csv = client.get("/results/2025/files/tables/domains.csv")
    assert csv.status_code == 200 and csv.headers["Content-Disposition"].startswith("attachment")
    assert "医疗服务" in csv.get_data(as_text=True)
    assert client.get("/results/2025/files/../../etc/passwd").status_code == 404
    assert client.get("/results/2025/files/nope.pdf").status_code == 404


def test_report_html_is_served_without_scripts(app, client):
    make_wave(app)
    run = fake_run()
    run.files["report.html"] = b"<html><style>h1{color:red}</style><h1>report</h1></html>"
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, "2025"), run, actor="x")
        session.commit()
    response = client.get("/results/2025/files/report.html")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_unpublished_years_are_a_friendly_404(app, client):
    english(client)
    make_wave(app)
    for url in ("/results/2025", "/results/2025.json", "/results/1999/r/3", "/results/2025/files/report.pdf"):
        response = client.get(url)
        assert response.status_code == 404, url
    text = client.get("/results/2025").get_data(as_text=True)
    assert "The results of 2025 have not been published." in text and 'href="/results"' in text


def test_trend_across_published_years(app, client):
    make_wave(app)
    make_wave(app, "2024", points=())
    _publish(app, "2024", index=76.5)
    _publish(app, "2025", index=80.0)
    text = client.get("/results/2025").get_data(as_text=True)
    assert '<svg class="trend"' in text and "2024 76.5, 2025 80.0" in text
    # The 2024 page's trend stops at 2024.
    assert '<svg class="trend"' not in client.get("/results/2024").get_data(as_text=True)


@pytest.mark.parametrize(
    ("verdict", "phrase"),
    [
        ("met", "is met: we can be 95% sure the true value is above 85"),
        ("not_met", "is not met: we can be 95% sure the true value is below 85"),
        ("inconclusive", "We cannot yet tell whether the target of 85 is met"),
    ],
)
def test_verdict_in_plain_words(app, verdict, phrase):
    with app.test_request_context("/?lang=en"):
        sentence = verdict_sentence(verdict, metric="index", target=85, estimate=86.2, low=84.1, high=88.3)
    assert phrase in sentence and "86.2" in sentence and "84.1–88.3" in sentence


def test_chinese_by_default(published, client):
    text = client.get("/results/2025").get_data(as_text=True)
    assert 'lang="zh-CN"' in text
    assert json.loads(client.get("/results/2025.json").get_data(as_text=True))["report"]["wave"] == "2025"
