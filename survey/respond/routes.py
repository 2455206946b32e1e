"""The resident pages: ``/s/<token>`` (landing) and ``/s/<token>/<page>``.

Every page works without JavaScript: plain forms, POST → 303 redirect → GET.  Each
request reads what it needs in one statement (:mod:`survey.respond.visits`); answers
are stored page by page in a server-side draft (see :mod:`survey.respond.drafts`); the
browser keeps only a signed HttpOnly cookie naming it, and a random browser id whose
keyed hash marks repeat responses.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as browser_session
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as HTTPResponse

from scoring.questionnaire import DEFAULT_SCALE, Text
from survey.db import get_session
from survey.extensions import limiter
from survey.models import CollectionPoint, Response, Wave
from survey.privacy import client_address, keyed_hash
from survey.respond import bp, drafts, flow, visits
from survey.respond.forms import (
    FieldContext,
    PageForm,
    field_name,
    form_answers,
    form_problems,
    initial_data,
    page_form_class,
)
from survey.services import receipts, submission_keys
from survey.services.retention import DEFAULT_RETENTION_YEARS
from survey.services.settings import public_contact
from survey.services.waves import wave_status

DRAFT_COOKIE = "manyi_draft"
BROWSER_COOKIE = "manyi_bid"
LANGUAGE_COOKIE = "lang"
#: Lifetime of the language choice (the privacy notice states it).
LANGUAGE_COOKIE_DAYS = 365
#: Defaults of the settings this blueprint reads (override them in instance/config.py).
DEFAULTS: dict[str, Any] = {
    # Per collection point and client address; a resident needs about 15 requests.
    "RESPOND_RATE_LIMIT": "120 per minute;1500 per hour",
    "RESPOND_DRAFT_DAYS": 7,
    "RESPOND_IP_BURST_PER_HOUR": drafts.DEFAULT_BURST_LIMIT,
    # Surveys one browser (or one address without cookies) may start at a point, and one
    # address in all (shared wifi, carrier NAT), per hour: drafts are rows, not free.
    "RESPOND_STARTS_PER_HOUR": "10 per hour",
    "RESPOND_STARTS_PER_ADDRESS_PER_HOUR": "60 per hour",
    # Stated in the privacy notice; the office decides it.
    "RESPONSE_RETENTION_YEARS": DEFAULT_RETENTION_YEARS,
}
BROWSER_COOKIE_DAYS = 400
#: Flask-session key of a page sent with answers missing: the page and what was sent, so
#: that the redirect after the failed POST shows the messages and the answers given
#: (Post/Redirect/Get: Back then Forward never meets a "confirm form resubmission").
RETRY_KEY = "manyi_retry"
_KEY = re.compile(submission_keys.KEY_PATTERN)
_BROWSER_ID = re.compile(r"^[0-9a-f]{32}$")


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


def _point_client_key() -> str:
    """Rate-limit key: a keyed hash of the client address *and* the point's token."""
    token = (request.view_args or {}).get("token", "")
    return keyed_hash(f"{client_address()}|{token}", purpose="ratelimit")[:32]


respond_limit = limiter.shared_limit(lambda: setting("RESPOND_RATE_LIMIT"), scope="respond", key_func=_point_client_key)


def _start_browser_key() -> str:
    """Rate-limit key of survey starts: the browser id at the point, or the address at
    the point for a client that sends no browser id (keyed hashes)."""
    token = (request.view_args or {}).get("token", "")
    browser = request.cookies.get(BROWSER_COOKIE, "")
    who = f"browser:{browser}" if _BROWSER_ID.match(browser) else f"address:{client_address()}"
    return keyed_hash(f"{who}|{token}", purpose="ratelimit-start")[:32]


def _start_address_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return keyed_hash(f"{client_address()}|{token}", purpose="ratelimit-start")[:32]


def _started(response: HTTPResponse) -> bool:
    """A start was made: the reply hands out a draft cookie."""
    return any(value.startswith(f"{DRAFT_COOKIE}=") for value in response.headers.getlist("Set-Cookie"))


start_limits = (
    limiter.limit(
        lambda: setting("RESPOND_STARTS_PER_HOUR"), key_func=_start_browser_key, methods=["POST"], deduct_when=_started
    ),
    limiter.limit(
        lambda: setting("RESPOND_STARTS_PER_ADDRESS_PER_HOUR"),
        key_func=_start_address_key,
        methods=["POST"],
        deduct_when=_started,
    ),
)


# --------------------------------------------------------------------------- helpers


def _language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])[:2]


def _text(value: Text | None) -> str:
    return value.get(_language()) if value is not None else ""


def _wave_title(wave: Wave) -> str:
    return (wave.title_en if _language() == "en" else wave.title_zh) or wave.code


def _visit_or_404(token: str, **wanted: Any) -> visits.Visit:
    """The point of ``token`` with its wave, the response named by the draft cookie and
    whatever else ``wanted`` asks :func:`visits.read_visit` for, read in one statement;
    404 when there is no such point."""
    visit = visits.read_visit(get_session(), token, uid=_draft_uid(), **wanted)
    if visit is None:
        abort(404)
    return visit


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="manyi-draft")


def _cookie_path(token: str) -> str:
    return url_for("respond.landing", token=token)


def _draft_uid() -> str | None:
    """The response id this browser's draft cookie names (None: no valid cookie).

    The response itself is read with the point (:func:`_visit_or_404`), and only if it
    was started at that point.
    """
    raw = request.cookies.get(DRAFT_COOKIE)
    if not raw:
        return None
    try:
        uid = _serializer().loads(raw, max_age=int(setting("RESPOND_DRAFT_DAYS")) * 86400)
    except BadSignature:
        return None
    if not isinstance(uid, str):
        return None
    return uid


def _set_draft_cookie(response: HTTPResponse, token: str, uid: str) -> None:
    response.set_cookie(
        DRAFT_COOKIE,
        _serializer().dumps(uid),
        max_age=int(setting("RESPOND_DRAFT_DAYS")) * 86400,
        path=_cookie_path(token),
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )


def _clear_draft_cookie(response: HTTPResponse, token: str) -> None:
    response.delete_cookie(
        DRAFT_COOKIE, path=_cookie_path(token), httponly=True, samesite="Lax", secure=request.is_secure
    )


def _browser_id() -> tuple[str, bool]:
    """This browser's random id (from its cookie) and whether it is new."""
    current = request.cookies.get(BROWSER_COOKIE, "")
    if _BROWSER_ID.match(current):
        return current, False
    return secrets.token_hex(16), True


def _remember_browser(response: HTTPResponse, browser_id: str, is_new: bool) -> None:
    if is_new:
        response.set_cookie(
            BROWSER_COOKIE,
            browser_id,
            max_age=BROWSER_COOKIE_DAYS * 86400,
            path="/s/",
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )


def _page_url(token: str, page_id: str) -> str:
    if page_id == flow.LANDING:
        return url_for("respond.landing", token=token)
    return url_for("respond.page", token=token, page_id=page_id)


def _see_other(url: str) -> HTTPResponse:
    return redirect(url, code=303)


def _message(template: str, http_status: int, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), http_status


def _closed(point: CollectionPoint, status: str) -> tuple[str, int]:
    """The friendly "survey closed" page (200 on GET; 403 for a POST, nothing stored)."""
    wave = point.wave
    code = 200 if request.method == "GET" else 403
    opens_at = wave.opens_at if status == "scheduled" else None
    return _message("respond/closed.html", code, wave_title=_wave_title(wave), status=status, opens_at=opens_at)


def _stale(point: CollectionPoint, status: int) -> tuple[str, int]:
    """A form that cannot be used any more (unknown key, finished survey, lost draft)."""
    return _message(
        "respond/stale.html",
        status,
        wave_title=_wave_title(point.wave),
        landing_url=_page_url(point.token, flow.LANDING),
    )


def _accepting(point: CollectionPoint) -> str | None:
    """None when residents may answer at ``point``; otherwise the wave's status."""
    status = wave_status(point.wave)
    if not point.active:
        return "closed"
    return None if status == "accepting" else status


# --------------------------------------------------------------------------- hooks


@bp.after_app_request
def _remember_language(response: HTTPResponse) -> HTTPResponse:
    """The language switch is a plain link (``?lang=en``); remember the choice."""
    asked = request.args.get("lang")
    if asked in current_app.config["LANGUAGES"] and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(
            LANGUAGE_COOKIE,
            asked,
            max_age=LANGUAGE_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


@bp.after_request
def _private(response: HTTPResponse) -> HTTPResponse:
    """Resident pages carry one-time keys and draft state: never cache or share them."""
    response.headers["Cache-Control"] = "no-store"
    response.headers.add("Vary", "Cookie")
    return response


# --------------------------------------------------------------------------- landing


@bp.route("/s/<token>", methods=["GET", "POST"])
@respond_limit
@start_limits[0]
@start_limits[1]
def landing(token: str):
    """Purpose, time needed, privacy notice and the start button (POST starts a draft)."""
    visit = _visit_or_404(token)
    point = visit.point
    closed = _accepting(point)
    if closed:
        return _closed(point, closed)
    session = get_session()
    browser_id, new_browser = _browser_id()
    draft = visit.response
    if draft is not None and draft.state != "partial":
        draft = None

    if request.method == "POST":
        if draft is not None:  # a stale landing page: continue the draft, never fork it
            result = _see_other(_page_url(token, draft.current_page or flow.SERVICES))
            _remember_browser(result, browser_id, new_browser)
            return result
        start_key = request.form.get("submission_key", "")
        if not _KEY.match(start_key):
            return _stale(point, 400)
        respondent_hash = drafts.browser_hash(browser_id)
        if request.form.get("household") == "1" and drafts.finished_in_wave(session, point.wave_id, respondent_hash):
            # "Start again for another family member": a declared second person on this phone.
            respondent_hash = drafts.household_member_hash(session, point.wave_id, browser_id)
        response = drafts.start_response(
            session,
            point,
            start_key=start_key,
            respondent_hash=respondent_hash,
            ip_hash=drafts.address_hash(client_address()),
            language=_language(),
        )
        if response.state == "submitted":
            return _see_other(_page_url(token, flow.THANKS))
        result = _see_other(_page_url(token, response.current_page or flow.SERVICES))
        _set_draft_cookie(result, token, response.uid)
        _remember_browser(result, browser_id, new_browser)
        return result

    form = PageForm(formdata=None, submission_key=secrets.token_urlsafe(24))
    wave = point.wave
    # A rescan after finishing: say so, and offer a fresh start for someone else.
    finished = (
        draft is None and not new_browser and drafts.finished_in_wave(session, wave.id, drafts.browser_hash(browser_id))
    )
    body = render_template(
        "respond/landing.html",
        form=form,
        wave_title=_wave_title(wave),
        action=_page_url(token, flow.LANDING),
        place=point.place,
        continue_url=_page_url(token, draft.current_page or flow.SERVICES) if draft else None,
        finished=finished,
        retention_years=setting("RESPONSE_RETENTION_YEARS"),
        draft_days=setting("RESPOND_DRAFT_DAYS"),
        cookies=_cookie_notice(),
        contact=public_contact(session, wave),
        closes_at=wave.closes_at,
    )
    result = make_response(body)
    _remember_browser(result, browser_id, new_browser)
    return result


def _cookie_notice() -> dict[str, Any]:
    """Every cookie a resident's browser gets, with its lifetime as the code sets it (the
    privacy notice lists them): days, or None for "until the browser is closed"."""
    from survey.respond.elder import ELDER_COOKIE

    return {
        "draft": (DRAFT_COOKIE, int(setting("RESPOND_DRAFT_DAYS"))),
        "browser": (BROWSER_COOKIE, BROWSER_COOKIE_DAYS),
        # Flask's signed session cookie (the forms' CSRF token, answers shown again after a
        # check): never made permanent on the resident side, so it ends with the browser.
        "session": (current_app.config.get("SESSION_COOKIE_NAME") or "session", None),
        "language": (LANGUAGE_COOKIE, LANGUAGE_COOKIE_DAYS),
        "elder": (ELDER_COOKIE, None),
    }


# --------------------------------------------------------------------------- question pages


@bp.route("/s/<token>/<page_id>", methods=["GET", "POST"])
@respond_limit
def page(token: str, page_id: str):
    """One page of questions (GET shows it with the stored answers; POST saves it)."""
    if page_id == flow.THANKS:
        return thanks(token)
    if flow.page_kind(page_id) is None:
        abort(404)
    posting = request.method == "POST"
    key = request.form.get("submission_key", "") if posting else ""
    visit = _visit_or_404(
        token, page_id=page_id, unused_key_of_page=not posting, key=key if posting and _KEY.match(key) else None
    )
    point = visit.point
    closed = _accepting(point)
    if closed:
        return _closed(point, closed)
    session = get_session()
    response = visit.response

    if posting:
        if not _KEY.match(key):
            return _stale(point, 400)
        key_row = visit.key_row
        if key_row is not None and key_row.used_at is not None and key_row.page == page_id:
            # A repeat (double tap, retry, resend after the first answer arrived and
            # removed the draft cookie): the key itself proves where it came from.
            owner = drafts.find_response(session, key_row.response_id)
            if owner is not None and owner.point_id == point.id:
                return _replay(token, owner, key_row.result_url)
        if key_row is None or response is None or key_row.response_id != response.id or key_row.page != page_id:
            return _stale(point, 409)
        if response.state != "partial":
            return _stale(point, 409)
    elif response is None or response.state != "partial":
        result = _see_other(_page_url(token, flow.LANDING))
        if response is not None:
            _clear_draft_cookie(result, token)
        return result

    draft = drafts.load_draft(session, response, point, visit)
    pages = draft.pages(services_default=page_id == flow.SERVICES)
    ids = [candidate.id for candidate in pages]
    if not flow.reachable(pages, page_id, draft.answers):
        return _see_other(_page_url(token, _resume_page(draft)))
    current = pages[ids.index(page_id)]

    if not posting:
        form_class = page_form_class_for(draft, current, require=True)
        retry = _retry_of(token, page_id)
        problems: tuple[str, ...] = ()
        if retry is not None:  # the redirect after a page sent with answers missing
            form = form_class(formdata=retry)
            form.validate()
            problems = form_problems(form, current).codes
        else:
            data = initial_data(current, draft.answers)
            if current.id == flow.SERVICES and flow.SERVICES_ITEM not in draft.answers and point.focus_domain:
                data[field_name(flow.SERVICES_ITEM)] = [point.focus_domain]  # the point's focus, pre-selected
            form = form_class(formdata=None, data=data)
        form.submission_key.data = visits.issue_key(session, response, page_id, visit)
        session.commit()
        return _render_page(draft, pages, current, form, problems=problems)
    return _save(token, draft, current, key)


def _retry_of(token: str, page_id: str) -> MultiDict[str, str] | None:
    """What was sent on ``page_id`` when answers were missing (kept until the page is saved)."""
    retry = browser_session.get(RETRY_KEY)
    if not isinstance(retry, dict) or retry.get("page") != f"{token}/{page_id}":
        return None
    pairs = retry.get("form")
    if not isinstance(pairs, list):
        return None
    return MultiDict([(str(pair[0]), str(pair[1])) for pair in pairs if isinstance(pair, list) and len(pair) == 2])


def _resume_page(draft: drafts.Draft) -> str:
    """Where a resident who asked for an unreachable page is sent instead."""
    pages = draft.pages()
    wanted = draft.response.current_page
    if wanted and flow.reachable(pages, wanted, draft.answers):
        return wanted
    return flow.first_incomplete(pages, draft.answers) or flow.FINAL


def page_form_class_for(draft: drafts.Draft, page: flow.Page, *, require: bool) -> type[PageForm]:
    """The form class of ``page`` in the current language, built once per pinned survey.

    A page's fields depend only on the pinned questionnaire versions (``draft.survey``,
    itself cached per set of versions), the page, the language of the labels and whether
    answers are required; building the class (and WTForms' first instantiation, which
    collects and sorts its fields) is a large part of a request, so the classes are kept
    with the pinned survey.  The classes are never changed after they are built (the
    "dynamic forms" recipe: fields set before the first instantiation); validation
    messages are lazy strings, translated when shown, so they are safe to share.
    """
    cache_key = (page.id, _language(), require)
    form_class = draft.survey.form_classes.get(cache_key)
    if form_class is None:
        form_class = page_form_class(page, _field_context(draft, require=require))
        # A race between two threads builds the class twice; either result is the same.
        draft.survey.form_classes[cache_key] = form_class
    return form_class


def _field_context(draft: drafts.Draft, *, require: bool) -> FieldContext:
    questionnaires = draft.questionnaires
    return FieldContext(
        language=_language(),
        scales=questionnaires.scales,
        choice_labels=questionnaires.service_labels(),
        require=require,
    )


def _replay(token: str, response: Response, result_url: str | None) -> HTTPResponse:
    """A repeated POST of a used key: the same redirect as the first time, nothing stored."""
    target = result_url or _page_url(token, response.current_page or flow.SERVICES)
    result = _see_other(target)
    if response.state == "submitted":
        _clear_draft_cookie(result, token)
    return result


def _save(token: str, draft: drafts.Draft, current: flow.Page, key: str):
    """Validate and store one page, then go on (or back)."""
    session = get_session()
    going_back = request.form.get("go") == "back"
    form_class = page_form_class_for(draft, current, require=not going_back)
    form = form_class(formdata=request.form)
    if not form.validate():
        problems = form_problems(form, current)
        if not problems.codes:  # only the CSRF or key fields: treat as an expired form
            return _stale(draft.point, 400)
        if not problems.invalid:
            # Only answers missing: keep what was sent to this page's questions (valid, so
            # short) and show it again after a redirect.
            questions = {field_name(item.code) for item in current.items}
            browser_session[RETRY_KEY] = {
                "page": f"{token}/{current.id}",
                "form": [[name, value] for name, value in request.form.items(multi=True) if name in questions],
            }
            return _see_other(_page_url(token, current.id))
        # A value no page offers (a tampered or broken form): refused on the spot.
        pages = draft.pages(services_default=current.id == flow.SERVICES)
        form.submission_key.data = key
        return _render_page(draft, pages, current, form, problems=problems.codes), 400

    values = form_answers(form, current)
    if not submission_keys.claim_key(session, key, draft.response):
        session.rollback()
        used = submission_keys.find_key(session, key)
        return _replay(token, draft.response, used.result_url if used else None)

    drafts.save_page(session, draft, current, values)
    browser_session.pop(RETRY_KEY, None)
    draft.response.language = _language()
    pages = draft.pages()
    submitted = False
    if going_back:
        before, _after = flow.neighbours(pages, current.id)
        target = before or flow.LANDING
    elif current.id == flow.FINAL:
        outcome = drafts.submit(
            session,
            draft,
            ip_hash=drafts.address_hash(client_address()),
            burst_limit=int(setting("RESPOND_IP_BURST_PER_HOUR")),
        )
        target, submitted = outcome.go_to, outcome.submitted
    else:
        _before, after = flow.neighbours(pages, current.id)
        target = after or flow.FINAL
    if not submitted and target != flow.LANDING:
        draft.response.current_page = target
    url = _page_url(token, target)
    submission_keys.record_result(session, key, url)
    session.commit()
    result = _see_other(url)
    if submitted:
        _clear_draft_cookie(result, token)
    return result


def _render_page(
    draft: drafts.Draft,
    pages: list[flow.Page],
    current: flow.Page,
    form: PageForm,
    *,
    problems: tuple[str, ...] = (),
) -> str:
    ids = [candidate.id for candidate in pages]
    titles = {
        flow.SERVICES: _("Services you have used"),
        flow.DEMOGRAPHICS: _("About you"),
        flow.FINAL: _("Overall, and your comments"),
    }
    title = titles.get(current.id) or _text(current.title)
    intro = _text(current.intro) if current.intro else ""
    if current.id == flow.SERVICES and current.items and current.items[0].help:
        intro = _text(current.items[0].help)
    questions = []
    for number, item in enumerate(current.items, start=1):
        bound = getattr(form, field_name(item.code))
        help_text = _text(item.help) if item.help and current.id != flow.SERVICES else ""
        described = ([f"h-{bound.name}"] if help_text else []) + ([f"e-{bound.name}"] if bound.errors else [])
        questions.append(
            {
                "field": bound,
                "number": number,
                "number_shown": len(current.items) > 1,
                "help": help_text,
                "describedby": " ".join(described),
            }
        )
    problem_links = [(field_name(code), getattr(form, field_name(code)).label.text) for code in problems]
    return render_template(
        "respond/page.html",
        form=form,
        page=current,
        title=title,
        intro=intro,
        questions=questions,
        problems=problem_links,
        step=ids.index(current.id) + 1,
        total=len(ids),
        wave_title=_wave_title(draft.point.wave),
        action=_page_url(draft.point.token, current.id),
        is_final=current.id == flow.FINAL,
        na_label=_not_applicable_label(draft, current),
    )


def _not_applicable_label(draft: drafts.Draft, current: flow.Page) -> str:
    """The 不适用/不清楚 label of a domain page's scale (for the hint above its questions)."""
    if current.kind != "domain":
        return ""
    scale_name = next((item.scale for item in current.items if item.kind == "likert" and item.scale), DEFAULT_SCALE)
    return _text(draft.questionnaires.scales[scale_name].not_applicable)


def thanks(token: str):
    """The end of the flow (shown for a valid point whatever the wave's state now): "your
    answers were received" only to the browser that submitted here, else a plain message."""
    visit = visits.read_visit(get_session(), token)
    if visit is None:
        abort(404)
    point = visit.point
    browser = request.cookies.get(BROWSER_COOKIE, "")
    if not _BROWSER_ID.match(browser) or not receipts.submitted_by_browser(
        get_session(), point_id=point.id, respondent_hash=drafts.browser_hash(browser)
    ):
        return _message(
            "respond/not_submitted.html",
            200,
            wave_title=_wave_title(point.wave),
            landing_url=_page_url(token, flow.LANDING),
        )
    result = make_response(render_template("respond/thanks.html", wave_title=_wave_title(point.wave)))
    return result
