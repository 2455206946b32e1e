"""Acceptance: the URLs printed by ``manyi points list`` work, and an HTTP client that
reads each page's form and answers every question reaches the thank-you page with the
response stored as ``submitted``.

The client knows nothing of the app's internals: it follows redirects and parses the
HTML forms it is given, as a browser without JavaScript would.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scoring.questionnaire import DOMAIN_IDS
from survey.cli import main
from tests.survey.respond_support import location, make_wave, only_form, responses, stored_answers


def _every_question(form) -> dict:
    """Tick every box and answer every other question (the middle scale point)."""
    answers = {}
    for name in form.names():
        options = form.options(name)
        kind = form.kind_of(name)
        if kind == "checkbox":
            answers[name] = options
        elif kind == "radio":
            answers[name] = options[min(2, len(options) - 1)]
        else:
            answers[name] = "希望增加社区医院的夜间门诊。"
    return answers


def test_points_list_urls_lead_a_form_filling_client_to_a_submitted_response(app, runner):
    make_wave(app)
    make_wave(app, point_code="bus-01", focus=None)
    listing = runner.invoke(main, ["points", "list", "2025"])
    assert listing.exit_code == 0, listing.output
    lines = listing.output.strip().splitlines()
    assert lines[0] == "code\ttown\tplace\turl"
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[0] for row in rows] == ["bus-01", "hosp-01"]
    assert all(row[3].startswith("http://localhost/s/") for row in rows)

    for code, _town, _place, url in rows:
        client = app.test_client()
        path = urlsplit(url).path
        pages = []
        answer = client.get(path)
        while True:
            assert answer.status_code == 200, (path, answer.status_code)
            html = answer.get_data(as_text=True)
            if path.endswith("/thanks"):
                break
            form = only_form(html)
            pages.append(path.rsplit("/", 1)[-1])
            sent = client.post(form.action, data=form.data(_every_question(form)))
            assert sent.status_code == 303, (path, sent.status_code, html[:300])
            path = location(sent)
            answer = client.get(path)
        assert "感谢您的参与" in html
        expected_first = "healthcare" if code == "hosp-01" else "education"
        assert pages[1:3] == ["services", expected_first]
        assert len(pages) == 1 + 1 + 12 + 2  # landing, services, 12 domains, demographics, final

    stored = responses(app)
    assert [response.state for response in stored] == ["submitted", "submitted"]
    for response in stored:
        assert response.services_used == ";".join(DOMAIN_IDS)
        answers = stored_answers(app, response.id)
        assert set(answers) == {*DOMAIN_IDS, "common"}
        assert all(value == 3 for block in answers.values() for value in block.values())
        assert response.comment == "希望增加社区医院的夜间门诊。"
