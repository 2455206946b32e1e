"""The public results (``/results``): no sign-in, no JavaScript, mobile first.

``/results`` lists the published years; ``/results/<year>`` shows the newest revision of
a year's frozen publication (earlier revisions at ``/results/<year>/r/<n>``);
``/results/<year>.json`` is the open data; the report files are downloads beside them.
Everything is read from :class:`survey.models.Publication` rows, which never change.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("results", __name__, url_prefix="/results", static_folder="static", static_url_path="/static")


def init_app(app: Flask) -> None:
    from survey.results import routes  # noqa: F401  (attaches the views to ``bp``)

    app.register_blueprint(bp)
