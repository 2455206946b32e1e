"""App-wide web wiring: locale choice, error pages, security headers, the home page."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

bp = Blueprint("home", __name__)

LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    """Chinese by default; English when asked for (``?lang=en`` or the language cookie)."""
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.get("/")
def index():
    return render_template("home.html")


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


def _error_page(error: HTTPException):
    return render_template("error.html", error=error), error.code


def _csrf_error(error: CSRFError):
    return render_template("error.html", error=error, csrf=True), 400


def _security_headers(response):
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _refuse_nul_bytes() -> None:
    """Refuse a NUL byte anywhere in the path (404: no page has one in its address), the
    query or the form (400).

    No legitimate input contains one, and PostgreSQL cannot store or even compare text
    containing it (psycopg raises ``DataError``), so it must never reach a query.
    """
    if "\x00" in request.path:
        abort(404)
    for values in (request.args, request.form if request.mimetype in _FORM_TYPES else None):
        if values is None:
            continue
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, description="The request contains a NUL character. Go back and try again.")


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul_bytes)
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error_page)
    app.after_request(_security_headers)
    app.jinja_env.globals["select_locale"] = select_locale
