"""Public results views: the list of years, a year's page, its JSON and its files."""

from __future__ import annotations

import hashlib

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from scoring.contract import Results
from survey.db import get_session
from survey.models import Publication
from survey.respond.elder import elder_mode
from survey.results import bp
from survey.results.sections import section_templates
from survey.results.view import build_page, fmt, fmt_percent
from survey.services.publication import (
    file_names,
    get_file,
    get_publication,
    public_json,
    public_results,
    published,
    results_of,
    revisions,
)
from survey.services.questionnaires import wave_questionnaires
from survey.services.waves import town_names
from survey.web import select_locale

#: Report HTML is self-contained (inline styles and images, no script): it gets its own,
#: still script-free, policy so that it renders when opened from the site.
REPORT_HTML_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
#: The newest revision can be replaced by a new one; a numbered revision never changes.
LATEST_MAX_AGE = 300
REVISION_MAX_AGE = 7 * 24 * 3600
#: Rendered year pages are kept per app (``app.extensions[PAGE_CACHE]``), by (publication id,
#: the newest revision of every wave, language): a publication is frozen, so its page is drawn
#: once per language until anything new is published (the trend and revision list may change).
PAGE_CACHE = "manyi_results_pages"
PAGE_CACHE_SIZE = 64


@bp.app_template_filter("index")
def _index_filter(value: object) -> str:
    return fmt(value)


@bp.app_template_global("plan_section")
def _plan_section(results: object, language: str) -> object:
    """The rows of the plan section partial (:mod:`survey.results.tasks`)."""
    from survey.results.tasks import plan_section

    return plan_section(results if isinstance(results, dict) else {}, language)


@bp.app_template_global("integrity_section")
def _integrity_section(results: object, language: str) -> object:
    """The rows of the integrity section partial (:mod:`survey.results.integrity`)."""
    from survey.results.integrity import integrity_section

    towns = town_names(get_session(), language=language)
    return integrity_section(results if isinstance(results, dict) else {}, language, towns=towns)


@bp.app_template_filter("rate")
def _rate_filter(value: object) -> str:
    return fmt_percent(value)


def _publication_or_404(code: str, revision: int | None = None) -> Publication:
    publication = get_publication(get_session(), code, revision)
    if publication is None:
        if revision is None:
            abort(404, description=_("The results of %(code)s have not been published.", code=code))
        abort(
            404,
            description=_(
                "There is no revision %(revision)s of the results of %(code)s.", revision=revision, code=code
            ),
        )
    return publication


def _cached(response: Response, *, revision: int | None, body: bytes) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={REVISION_MAX_AGE if revision else LATEST_MAX_AGE}"
    response.set_etag(hashlib.sha256(body).hexdigest())
    return response.make_conditional(request)


def _history() -> list[dict]:
    """The overall index of every published wave (newest revision), oldest first."""
    points = []
    for publication in reversed(published(get_session())):
        overall = results_of(publication).get("overall") or {}
        points.append(
            {
                "wave": publication.wave.code,
                "index": overall.get("index"),
                "ci_low": overall.get("ci_low"),
                "ci_high": overall.get("ci_high"),
            }
        )
    return points


@bp.get("", strict_slashes=False)
def index():
    """Published years, newest first, with the headline figure of each."""
    rows = []
    for publication in published(get_session()):
        results = results_of(publication)
        overall = results.get("overall") or {}
        rows.append(
            {
                "publication": publication,
                "index": overall.get("index"),
                "ci_low": overall.get("ci_low"),
                "ci_high": overall.get("ci_high"),
                "verdict": (results.get("target") or {}).get("verdict"),
                "illustrative": bool((results.get("report") or {}).get("illustrative")),
            }
        )
    return render_template("results/index.html", rows=rows)


def _draw_year(publication: Publication, *, language: str, newest: Publication | None) -> bytes:
    db = get_session()
    wave = publication.wave
    questionnaires = wave_questionnaires(wave)
    titles = {domain: questionnaire.title.get(language) for domain, questionnaire in questionnaires.domains.items()}
    item_labels = {
        item.code: item.label.get(language) for questionnaire in questionnaires for item in questionnaire.items
    }
    towns = town_names(db, language=language)
    history = [point for point in _history() if point["wave"] <= wave.code]
    public = public_results(results_of(publication))
    page = build_page(
        public,
        history=history,
        language=language,
        domain_titles=titles,
        town_names=towns,
        item_labels=item_labels,
    )
    names = file_names(db, publication)
    downloads = {
        "pdf": [name for name in names if name.endswith(".pdf")],
        "xlsx": [name for name in names if name.endswith(".xlsx")],
        "csv": [name for name in names if name.endswith(".csv")],
        "html": [name for name in names if name.endswith(".html")],
    }
    return render_template(
        "results/year.html",
        publication=publication,
        wave=wave,
        page=page,
        downloads=downloads,
        revisions=revisions(db, wave),
        is_latest=newest is not None and newest.id == publication.id,
        title=(wave.title_en if language == "en" else wave.title_zh) or wave.code,
        results=Results.coerce(public),
        language=language,
        section_templates=section_templates(),
    ).encode("utf-8")


def _render_year(publication: Publication, *, revision: int | None = None) -> Response:
    """The year page, drawn once per publication and language, with an ``ETag`` (304 on
    ``If-None-Match``) and ``Cache-Control``."""
    db = get_session()
    language = select_locale()
    newest = get_publication(db, publication.wave.code)
    newest_of_each = tuple(sorted(item.id for item in published(db)))
    pages: dict[tuple[int, tuple[int, ...], str, bool], bytes] = current_app.extensions.setdefault(PAGE_CACHE, {})
    key = (publication.id, newest_of_each, language, elder_mode())  # 长辈模式 is drawn into the page
    body = pages.get(key)
    if body is None:
        body = _draw_year(publication, language=language, newest=newest)
        if len(pages) >= PAGE_CACHE_SIZE:
            pages.pop(next(iter(pages)))
        pages[key] = body
    response = Response(body, content_type="text/html; charset=utf-8")
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return _cached(response, revision=revision, body=body)


@bp.get("/<code>")
def year(code: str):
    return _render_year(_publication_or_404(code))


@bp.get("/<code>/r/<int(max=2147483647):revision>")
def year_revision(code: str, revision: int):
    return _render_year(_publication_or_404(code, revision), revision=revision)


def _json_response(publication: Publication, *, revision: int | None) -> Response:
    body = public_json(publication).encode("utf-8")
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Manyi-Revision"] = str(publication.revision)
    return _cached(response, revision=revision, body=body)


@bp.get("/<code>.json")
def year_json(code: str):
    """The open data of the newest revision."""
    return _json_response(_publication_or_404(code), revision=None)


@bp.get("/<code>/r/<int(max=2147483647):revision>.json")
def revision_json(code: str, revision: int):
    return _json_response(_publication_or_404(code, revision), revision=revision)


def _file_response(publication: Publication, name: str, *, revision: int | None) -> Response:
    stored = get_file(get_session(), publication, name)
    if stored is None:
        abort(404, description=_("This publication has no file %(name)s.", name=name))
    download = f"manyi-{publication.wave.code}-r{publication.revision}-{name.replace('/', '-')}"
    inline = stored.content_type.startswith(("application/pdf", "image/", "text/html"))
    response = Response(stored.data, content_type=stored.content_type)
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{download}"'
    if stored.content_type.startswith(("text/html", "image/svg")):
        response.headers["Content-Security-Policy"] = REPORT_HTML_CSP
    return _cached(response, revision=revision, body=stored.sha256.encode("ascii"))


@bp.get("/<code>/files/<path:name>")
def download(code: str, name: str):
    return _file_response(_publication_or_404(code), name, revision=None)


@bp.get("/<code>/r/<int(max=2147483647):revision>/files/<path:name>")
def revision_download(code: str, revision: int, name: str):
    return _file_response(_publication_or_404(code, revision), name, revision=revision)


@bp.errorhandler(HTTPException)
def _results_error(error: HTTPException):
    """A missing year or file says which, with a way back to the list."""
    return render_template("results/error.html", error=error), error.code
