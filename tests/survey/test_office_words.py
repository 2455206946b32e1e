"""The Chinese office screens show no raw codes and no English words (issue 14).

Signed in as each role, every GET screen of the admin (from the URL map, as the role
matrix test walks it) is fetched with the demo published; the text a person sees (tags,
scripts, styles and attribute values removed) must contain none of the codes the data and
the audit log use, none of the English words of the screens, and no long float.  Every
403 page names the role the screen needs.
"""

from __future__ import annotations

import html
import re

import pytest
from flask import url_for

from survey.admin.base import ALL_ROLES
from tests.survey.admin_support import login, make_user
from tests.survey.test_security import ARGUMENTS

#: Codes stored in the data or the audit log, never shown raw on a Chinese screen.
RAW_CODES = (
    "qr",
    "phone",
    "paper",
    "speeder",
    "straight_liner",
    "ip_burst",
    "duplicate_browser",
    "login.success",
    "login.failure",
    "export",
    "wave.settings",
    "queued",
    "running",
    "succeeded",
    "failed",
    "True",
    "False",
    "None",
    "nan",
    "partial",
    "submitted",
    "screened",
)
#: English words of the screens (as whole words, case-sensitive).
ENGLISH_WORDS = (
    "Publish",
    "Published",
    "Wave",
    "Point",
    "Points",
    "Submit",
    "Login",
    "Logout",
    "Settings",
    "Jobs",
    "Job",
    "On",
    "Off",
    "Forbidden",
    "Not Found",
    "Export",
    "Import",
    "Responses",
    "Results",
    "Status",
    "Action",
    "Actor",
    "Target",
    "Yes",
    "No",
    "Save",
    "Cancel",
    "Delete",
    "Back",
    "Next",
    "Overview",
    "Dashboard",
    "Administrator",
    "Statistician",
    "Publisher",
)
LONG_FLOAT = re.compile(r"\d+\.\d{4,}")
_HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    """What a person reads: no scripts, styles, tags or attribute values."""
    text = _HIDDEN.sub(" ", page)
    text = _TAG.sub(" ", text)
    return " ".join(html.unescape(text).split())


def offending(text: str) -> list[str]:
    """Each raw code, English word or long float in ``text``, with a little of its context."""
    found = []
    for word in (*RAW_CODES, *ENGLISH_WORDS):
        for match in re.finditer(rf"(?<![A-Za-z_.]){re.escape(word)}(?![A-Za-z_])", text):
            found.append(f"{word} «{text[max(0, match.start() - 30) : match.end() + 30]}»")
            break
    found += [f"{number} «float»" for number in LONG_FLOAT.findall(text)]
    return found


def _screens(app, user_id: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(endpoint, url, roles allowed) of every GET screen of the office, naming the demo's
    own collection point and job."""
    from sqlalchemy import select

    from survey.db import get_session
    from survey.models import CollectionPoint, Job

    screens = []
    with app.test_request_context():
        session = get_session()
        arguments = dict(ARGUMENTS)
        arguments["point_code"] = session.scalars(select(CollectionPoint.code).order_by(CollectionPoint.id)).first()
        arguments["job_id"] = session.scalars(select(Job.id).order_by(Job.id)).first() or 1
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods:
                continue
            if rule.endpoint in ("admin.static", "admin.logout"):
                continue
            view = app.view_functions[rule.endpoint]
            values = {name: (user_id if name == "user_id" else arguments[name]) for name in rule.arguments}
            screens.append((rule.endpoint, url_for(rule.endpoint, **values), getattr(view, "allowed_roles", ())))
    return screens


def test_visible_text_ignores_markup():
    page = '<p title="Wave">波次 <b>扫码</b><script>var On = 1;</script><a href="/export">导出</a></p>'
    assert visible_text(page) == "波次 扫码 导出" and offending(visible_text(page)) == []
    found = offending("渠道：qr，得分 79.6434760145965，On")
    assert [item.split(" ")[0] for item in found] == ["qr", "On", "79.6434760145965"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_no_raw_codes_or_english_on_chinese_office_screens(demo_app, role):
    app = demo_app
    user_id = make_user(app, f"sweep-{role}", role)
    screens = _screens(app, user_id)
    assert len(screens) > 20
    client = app.test_client()
    assert login(client, f"sweep-{role}").status_code == 302
    problems: dict[str, list[str]] = {}
    refused_without_role: list[str] = []
    seen = 0
    with app.test_request_context():
        from survey.admin.base import ROLE_LABELS

        labels = {name: str(label) for name, label in ROLE_LABELS.items()}
    for endpoint, url, allowed in screens:
        response = client.get(url)
        if not response.content_type.startswith("text/html"):
            continue
        seen += 1
        text = visible_text(response.get_data(as_text=True))
        found = offending(text)
        if found:
            problems[f"{url} ({response.status_code})"] = found
        if response.status_code == 403:
            assert allowed and role not in allowed, (endpoint, allowed)
            if not all(labels[needed] in text for needed in allowed):
                refused_without_role.append(f"{url}: {text[:200]}")
    assert seen >= 15
    assert not problems, f"raw codes or English words on Chinese screens as {role}: {problems}"
    assert not refused_without_role, f"403 pages that do not name the role needed: {refused_without_role}"
