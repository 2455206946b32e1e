"""The resident survey (``/s/<token>``): a blueprint package.

``routes`` holds the views, ``forms`` the WTForms classes built at run time from the
questionnaire files, ``flow`` the page order and completeness rules (pure), ``drafts``
the database side (drafts, one-time keys, submission and flags) and ``cli`` the
``manyi wave``, ``manyi points`` and ``manyi qr`` commands.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("respond", __name__)


def init_app(app: Flask) -> None:
    """Register the resident pages on ``app``."""
    from survey.respond import routes  # noqa: F401  (the views attach themselves to ``bp``)

    app.register_blueprint(bp)
