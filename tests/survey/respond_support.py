"""Helpers for the resident-survey tests: set up a wave and a point, read the forms a
page renders, and fill them in the way a person (or a careful bot) would."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select

from survey.db import get_session
from survey.models import Response
from survey.services import waves


@dataclass
class Control:
    """One form control: ``kind`` is the input type (or ``textarea``)."""

    name: str
    kind: str
    value: str
    checked: bool = False
    maxlength: int | None = None


@dataclass
class Form:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (name, value)

    def names(self) -> list[str]:
        """Names of the questions (not the hidden fields), in page order."""
        seen: list[str] = []
        for control in self.controls:
            if control.kind in ("radio", "checkbox", "textarea") and control.name not in seen:
                seen.append(control.name)
        return seen

    def hidden(self) -> dict[str, str]:
        return {c.name: c.value for c in self.controls if c.kind == "hidden"}

    def options(self, name: str) -> list[str]:
        return [c.value for c in self.controls if c.name == name and c.kind in ("radio", "checkbox")]

    def checked(self, name: str) -> list[str]:
        return [c.value for c in self.controls if c.name == name and c.checked]

    def kind_of(self, name: str) -> str:
        return next(c.kind for c in self.controls if c.name == name)

    def data(self, answers: dict[str, Any] | None = None, *, go: str = "next") -> dict[str, Any]:
        """The POST body: hidden fields, the given answers (or what is checked), ``go``."""
        body: dict[str, Any] = dict(self.hidden())
        for name in self.names():
            if answers is not None and name in answers:
                if answers[name] is not None:
                    body[name] = answers[name]
            else:
                checked = self.checked(name)
                if checked:
                    body[name] = checked if self.kind_of(name) == "checkbox" else checked[0]
        if any(button_name == "go" for button_name, _ in self.buttons):
            body["go"] = go
        return body


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._textarea: Control | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            self.forms[-1].controls.append(
                Control(
                    values.get("name", ""), values.get("type", "text"), values.get("value", ""), "checked" in values
                )
            )
        elif tag == "textarea":
            maxlength = values.get("maxlength")
            self._textarea = Control(
                values.get("name", ""), "textarea", "", maxlength=int(maxlength) if maxlength else None
            )
            self.forms[-1].controls.append(self._textarea)
        elif tag == "button":
            self.forms[-1].buttons.append((values.get("name", ""), values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def only_form(html: str) -> Form:
    forms = [form for form in parse_forms(html) if form.method == "post"]
    assert len(forms) == 1, f"expected one form, found {len(forms)}"
    return forms[0]


def fill_all(form: Form, pick: Callable[[str, list[str]], Any] | None = None) -> dict[str, Any]:
    """Answer every question of ``form``: the first option of each radio group (or
    ``pick(name, options)``), every box already ticked (at least one), a short comment."""
    answers: dict[str, Any] = {}
    for name in form.names():
        kind = form.kind_of(name)
        options = form.options(name)
        if pick is not None:
            answers[name] = pick(name, options)
        elif kind == "radio":
            answers[name] = options[0]
        elif kind == "checkbox":
            answers[name] = form.checked(name) or options[:1]
        else:
            answers[name] = "公交车再多一些就好了。"
    return answers


def make_wave(
    app,
    *,
    code: str = "2025",
    state: str = "open",
    focus: str | None = "healthcare",
    point_code: str = "hosp-01",
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
) -> str:
    """Create a wave with one collection point; return the point's token."""
    with app.app_context():
        session = get_session()
        wave = waves.find_wave(session, code) or waves.create_wave(
            session, code, opens_at=opens_at, closes_at=closes_at
        )
        if state != "draft":
            waves.set_wave_state(session, wave, state)
        point = waves.add_point(
            session, wave, code=point_code, town="xicheng", place="区人民医院门诊大厅", focus_domain=focus
        )
        session.commit()
        return point.token


def responses(app) -> list[Response]:
    """Every stored response (fresh from the database), oldest first."""
    with app.app_context():
        session = get_session()
        return list(session.scalars(select(Response).order_by(Response.id)))


def location(response) -> str:
    """The path a redirect points to."""
    target = response.headers["Location"]
    return re.sub(r"^https?://[^/]+", "", target)


def start(client, token: str) -> str:
    """Open the landing page and tap "start"; return the first question page's path."""
    landing = client.get(f"/s/{token}")
    assert landing.status_code == 200, landing.status_code
    form = only_form(landing.get_data(as_text=True))
    sent = client.post(form.action, data=form.data())
    assert sent.status_code == 303, sent.get_data(as_text=True)[:500]
    return location(sent)


def send_page(client, path: str, answers: dict[str, Any] | None = None, *, go: str = "next", fill: bool = True):
    """GET ``path``, fill its form (every question unless ``fill`` is False), apply
    ``answers`` on top, and POST it.  Returns the POST's response."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    form = only_form(page.get_data(as_text=True))
    data = fill_all(form) if fill else {}
    data.update(answers or {})
    return client.post(form.action, data=form.data(data, go=go))


def complete(
    client, token: str, services: tuple[str, ...] = ("healthcare",), answers: dict[str, Any] | None = None
) -> list[str]:
    """Answer a whole survey; return the paths visited (ending with the thanks page)."""
    path = start(client, token)
    visited = [path]
    while not path.endswith("/thanks"):
        extra = dict(answers or {})
        if path.endswith("/services"):
            extra["services_used"] = list(services)
        sent = send_page(client, path, extra)
        assert sent.status_code == 303, (path, sent.status_code, sent.get_data(as_text=True)[:2000])
        path = location(sent)
        visited.append(path)
    assert client.get(path).status_code == 200
    return visited


def stored_answers(app, response_id: int) -> dict[str, dict[str, Any]]:
    """The unpacked answer sets of a response, by questionnaire id."""
    from survey.models import AnswerSet
    from survey.services.answers import unpack

    with app.app_context():
        session = get_session()
        result = {}
        for answer_set in session.scalars(select(AnswerSet).where(AnswerSet.response_id == response_id)):
            version = answer_set.version
            result[version.questionnaire_id] = unpack(version.likert_codes, answer_set.answers)
        return result


def count(app, model) -> int:
    from sqlalchemy import func

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))
