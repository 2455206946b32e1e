"""The office's screens (``/admin``): sign-in, accounts, waves, collection points, live
progress, exports, imports, publication and the audit log.

Roles (``survey.models.ROLES``):

========================  =====  ============  =========
screen                    admin  statistician  publisher
========================  =====  ============  =========
dashboard, own password     ✓         ✓            ✓
wave list                   ✓         ✓            ✓
accounts, audit log         ✓
waves, points, targets      ✓
live progress               ✓         ✓
exports, imports            ✓         ✓
scoring preview                       ✓            ✓
publication                                        ✓
========================  =====  ============  =========

Every view states its roles with :func:`roles_required`; ``tests/survey/test_security.py``
walks the URL map and holds the app to this table.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort
from flask_babel import lazy_gettext
from flask_login import current_user

from scoring.questionnaire import DOMAIN_LABELS_ZH
from survey.extensions import login_manager

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

#: Wave states and target verdicts as the screens show them.
STATE_LABELS = {
    "draft": lazy_gettext("draft"),
    "open": lazy_gettext("open"),
    "closed": lazy_gettext("closed"),
}
VERDICT_LABELS = {
    "met": lazy_gettext("target met"),
    "not_met": lazy_gettext("target not met"),
    "inconclusive": lazy_gettext("target not yet decided"),
}

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
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def has_role(*roles: str) -> bool:
    """True when the signed-in user has one of ``roles`` (for templates)."""
    return bool(current_user.is_authenticated and current_user.role in roles)


def init_app(app: Flask) -> None:
    """Register the blueprint and the sign-in settings.

    Cookies get the ``Secure`` flag whenever the public address is HTTPS; on plain
    HTTP (a laptop demo) a secure cookie would never come back, so it is left off.
    """
    from survey.admin import routes  # noqa: F401  (attaches the views to ``bp``)

    login_manager.login_view = "admin.login"
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    if str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.register_blueprint(bp)
    app.jinja_env.globals["has_role"] = has_role
    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    app.jinja_env.globals["state_labels"] = STATE_LABELS
    app.jinja_env.globals["verdict_labels"] = VERDICT_LABELS
    app.jinja_env.globals["domain_labels_zh"] = DOMAIN_LABELS_ZH
