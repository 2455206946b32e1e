"""Manyi (满意): the Flask application.

``create_app(test_config=None)`` follows Flask's tutorial: defaults, then the instance
folder's ``config.py`` (or the test config), then environment overrides.  It loads no
pandas, scipy or matplotlib: those come with the office's scoring, exports and imports,
imported when one runs (``tests/survey/test_factory.py`` keeps it so).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask

from survey.localtime import DISTRICT_TIMEZONE
from survey.services.passwords import DEFAULT_PASSWORD_HASH_METHOD

try:
    #: The version, written once: in pyproject.toml (read from the installed metadata).
    __version__ = metadata.version("manyi")
except metadata.PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0+unknown"

#: The questionnaire folder of a source checkout (``make`` installs it editable).  A
#: non-editable install has none: it is configured with MANYI_QUESTIONNAIRES_DIR (see
#: docs/architecture.md, "Questionnaires are data").
SOURCE_QUESTIONNAIRES_DIR = Path(__file__).resolve().parent.parent / "questionnaires"
#: Where survey links and QR codes point unless PUBLIC_BASE_URL is configured.
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"


def instance_path() -> str:
    """The instance folder: ``$MANYI_INSTANCE_PATH``, or ``./instance``."""
    return os.path.abspath(os.environ.get("MANYI_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance"))


def default_questionnaires_dir() -> str | None:
    """The source checkout's questionnaire folder, when there is one (else None)."""
    return str(SOURCE_QUESTIONNAIRES_DIR) if (SOURCE_QUESTIONNAIRES_DIR / "common.yaml").is_file() else None


def _load_or_create_secret_key(folder: str) -> str:
    """Read ``instance/secret_key``; create it (mode 0600) on first run."""
    path = Path(folder) / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    key = secrets.token_hex(32)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another worker won the race
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create and configure the Manyi app."""
    app = Flask(__name__, instance_path=instance_path(), instance_relative_config=True)
    from survey.web import COMPILED_TEMPLATES

    app.jinja_options = {**app.jinja_options, "bytecode_cache": COMPILED_TEMPLATES}
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)  # database and secrets: the service's only

    app.config.from_mapping(
        DATABASE_URL="sqlite:///" + os.path.join(app.instance_path, "manyi.sqlite3"),
        QUESTIONNAIRES_DIR=default_questionnaires_dir(),
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        PASSWORD_HASH_METHOD=DEFAULT_PASSWORD_HASH_METHOD,  # survey.services.accounts
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE=DISTRICT_TIMEZONE,
        LANGUAGES=("zh", "en"),
        RATELIMIT_STORAGE_URI="memory://",
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed
        # (survey.privacy; deploy/ runs one nginx: 1).  0: the headers are ignored.
        TRUSTED_PROXIES=0,
        # Public base URL printed in survey links and QR codes.
        PUBLIC_BASE_URL=DEFAULT_PUBLIC_BASE_URL,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    for env_name, key in (
        ("MANYI_DATABASE_URL", "DATABASE_URL"),
        ("MANYI_QUESTIONNAIRES_DIR", "QUESTIONNAIRES_DIR"),
        ("MANYI_RATELIMIT_STORAGE_URI", "RATELIMIT_STORAGE_URI"),
        ("MANYI_PUBLIC_BASE_URL", "PUBLIC_BASE_URL"),
        ("MANYI_TRUSTED_PROXIES", "TRUSTED_PROXIES"),
        ("MANYI_PSEUDONYM_KEY_FILE", "PSEUDONYM_KEY_FILE"),
    ):
        if os.environ.get(env_name):
            app.config[key] = os.environ[env_name]
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _load_or_create_secret_key(app.instance_path)
    if str(app.config["PUBLIC_BASE_URL"]).startswith("https://"):
        app.config["PREFERRED_URL_SCHEME"] = "https"  # external links, and HSTS (survey.web)

    from survey import admin, auth, db, privacy, respond, results, web
    from survey.extensions import babel, csrf, limiter, login_manager

    privacy.init_app(app)
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    auth.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    web.init_app(app)
    respond.init_app(app)
    admin.init_app(app)
    results.init_app(app)
    return app
