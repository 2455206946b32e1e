"""App-wide web wiring: locale choice, error pages, security headers, the home page."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template, request
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


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error_page)
    app.after_request(_security_headers)
    app.jinja_env.globals["select_locale"] = select_locale
