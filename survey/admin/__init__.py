"""The office's screens (``/admin``): one blueprint, one module per screen.

==================  ==========================================================
module              screens
==================  ==========================================================
``base``            the blueprint, roles, shared look-ups, filters, error page
``signin``          sign in and out, own password
``accounts``        office accounts
``waves``           dashboard, wave list, a wave: state, targets, planner
``points``          collection points, their QR codes and posters
``monitoring``      live progress of a wave, the audit log
``data``            exports and imports of responses
``publication``     published revisions, scoring preview, publishing
``settings``        a wave's analysis settings (what scoring and publishing use)
``jobs``            office jobs: the queue, one job's progress (reloads itself)
``indicators``      the plan's indicators: recorded values, recording, CSV import
``bulletins``       the lead units' bulletins (通报) of a published wave
``integrity``       a wave's integrity checks (live), the office's exclusion decisions
``forms``           the forms of every screen
==================  ==========================================================

**Adding a screen** is a new module and a template: write ``survey/admin/<screen>.py``
whose views import :data:`survey.admin.base.bp` and :func:`~survey.admin.base.roles_required`
(never another screen module), call services for every read and write (no SQL in a
view), add ``templates/admin/<screen>.html``, and list the module in :data:`SCREENS`.

Roles (``survey.models.ROLES``):

========================  =====  ============  =========
screen                    admin  statistician  publisher
========================  =====  ============  =========
dashboard, own password     ✓         ✓            ✓
wave list                   ✓         ✓            ✓
office jobs                 ✓         ✓            ✓
accounts, audit log         ✓
waves, points, targets      ✓
live progress               ✓         ✓
analysis settings           ✓         ✓
exports, imports            ✓         ✓
scoring preview                       ✓            ✓
publication                                        ✓
plan indicators (view)      ✓         ✓            ✓
plan indicators (record)    ✓                      ✓
lead units' bulletins                 ✓            ✓
integrity checks (view)     ✓         ✓            ✓
exclusion decisions         ✓         ✓
========================  =====  ============  =========

Every view states its roles with :func:`~survey.admin.base.roles_required`;
``tests/survey/test_security.py`` walks the URL map and holds the app to this table.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from scoring.questionnaire import DOMAIN_LABELS_ZH
from survey.admin import (
    accounts,
    bulletins,
    data,
    indicators,
    integrity,
    jobs,
    monitoring,
    points,
    publication,
    settings,
    signin,
    waves,
)
from survey.admin.base import CHANNEL_LABELS, ROLE_LABELS, STATE_LABELS, VERDICT_LABELS, bp, has_role
from survey.extensions import login_manager

#: The screen modules; importing one attaches its views to the blueprint.
SCREENS = (
    signin,
    accounts,
    waves,
    points,
    monitoring,
    data,
    publication,
    settings,
    indicators,
    bulletins,
    jobs,
    integrity,
)


def init_app(app: Flask) -> None:
    """Register the blueprint and the sign-in settings.

    Cookies get the ``Secure`` flag whenever the public address is HTTPS; on plain
    HTTP (a laptop demo) a secure cookie would never come back, so it is left off.
    """
    login_manager.login_view = "admin.login"
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    if str(app.config.get("PUBLIC_BASE_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    app.register_blueprint(bp)
    app.jinja_env.globals["has_role"] = has_role
    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    app.jinja_env.globals["channel_labels"] = CHANNEL_LABELS
    app.jinja_env.globals["state_labels"] = STATE_LABELS
    app.jinja_env.globals["verdict_labels"] = VERDICT_LABELS
    app.jinja_env.globals["domain_labels_zh"] = DOMAIN_LABELS_ZH
