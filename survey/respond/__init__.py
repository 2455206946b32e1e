"""The resident survey (``/s/<token>``): a blueprint package.

``routes`` holds the views, ``forms`` the WTForms classes built at run time from the
questionnaire files, ``flow`` the page order and completeness rules (pure), ``visits``
what a request reads in one statement, and ``drafts`` the resident's draft: start,
load, save a page, submit with its quality flags; ``elder`` the 长辈模式 switch
and the title's line breaks.  The pinned questionnaires and the
one-time keys are services (:mod:`survey.services.pinned_surveys`,
:mod:`survey.services.submission_keys`).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("respond", __name__)


def init_app(app: Flask) -> None:
    """Register the resident pages on ``app``."""
    from survey.respond import elder, routes  # noqa: F401  (the views attach themselves to ``bp``)

    app.register_blueprint(bp)
    elder.init_app(app)
