"""What every office screen shares: the blueprint, the roles, and the few helpers views
use to find what a URL names.

A screen module imports from here (never from another screen module) and attaches its
views to :data:`bp`; :mod:`survey.admin` lists the screen modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template, request
from flask import Response as FlaskResponse
from flask_babel import LazyString, get_locale, lazy_gettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Forbidden, HTTPException

from scoring.vocabulary import LANGUAGES, VERDICTS, label
from survey.db import get_session
from survey.extensions import login_manager
from survey.localtime import format_local
from survey.models import CollectionPoint, User, Wave
from survey.services.waves import find_point, find_wave

ADMIN = "admin"
STATISTICIAN = "statistician"
PUBLISHER = "publisher"
ALL_ROLES = (ADMIN, STATISTICIAN, PUBLISHER)

#: Role names as the screens show them.
ROLE_LABELS = {
    ADMIN: lazy_gettext("Administrator"),
    STATISTICIAN: lazy_gettext("Statistician"),
    PUBLISHER: lazy_gettext("Publisher"),
}

#: How a response reached the survey, as the screens show it (never the raw code).
CHANNEL_LABELS = {
    "qr": lazy_gettext("scanned a QR code"),
    "phone": lazy_gettext("telephone interviews"),
    "paper": lazy_gettext("paper questionnaires"),
}

#: Wave states as the screens show them.
STATE_LABELS = {
    "draft": lazy_gettext("draft"),
    "open": lazy_gettext("open"),
    "closed": lazy_gettext("closed"),
}


def verdict_words(code: str) -> str:
    """The words of a target verdict in the page's language: the one vocabulary's
    (:data:`scoring.vocabulary.LABELS` ``["verdict"]``), as the report and the public page say it."""
    locale = get_locale()
    language = locale.language if locale is not None and locale.language in LANGUAGES else LANGUAGES[0]
    return label("verdict", code, language)


#: Target verdicts as the screens show them (``verdict_labels.get(code, "—")`` in templates).
VERDICT_LABELS = {code: LazyString(verdict_words, code) for code in VERDICTS}

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder=None,
    static_folder="static",
    static_url_path="/static",
)

View = TypeVar("View", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[View], View]:
    """Let only signed-in users with one of ``roles`` in; others are sent to sign in (302)
    or refused (403).  The roles are kept on the view as ``allowed_roles``."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"roles_required needs roles from {ALL_ROLES}, got {roles!r}")

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                refused = Forbidden()
                refused.roles_needed = tuple(roles)  # type: ignore[attr-defined]  (the 403 page names them)
                raise refused
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def has_role(*roles: str) -> bool:
    """True when the signed-in user has one of ``roles`` (for templates)."""
    return bool(current_user.is_authenticated and current_user.role in roles)


# --------------------------------------------------------------------------- finding what a URL names


def current_account() -> User:
    """The signed-in account (the object itself, for the services' audit records)."""
    return current_user._get_current_object()  # type: ignore[attr-defined,no-any-return]


def wave_or_404(code: str) -> Wave:
    wave = find_wave(get_session(), code)
    if wave is None:
        abort(404, description=_("There is no wave %(code)s.", code=code))
    return wave


def point_or_404(wave: Wave, point_code: str) -> CollectionPoint:
    point = find_point(get_session(), wave, point_code)
    if point is None:
        abort(404, description=_("Wave %(wave)s has no collection point %(point)s.", wave=wave.code, point=point_code))
    return point


# --------------------------------------------------------------------------- every office page


@bp.after_request
def _no_store(response: FlaskResponse) -> FlaskResponse:
    """Office pages hold personal and unpublished data: never cache them."""
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("local_time")
def local_time(value: dt.datetime | None, with_seconds: bool = False) -> str:
    """A stored time in Beijing time, e.g. ``2025-06-01 09:30``."""
    return format_local(value, seconds=with_seconds)


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


@bp.errorhandler(HTTPException)
def _office_error(error: HTTPException) -> tuple[str, int]:
    """Errors inside the office screens say what was wrong in the office's own layout."""
    return render_template("admin/error.html", error=error), error.code or 500
