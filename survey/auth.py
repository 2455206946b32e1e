"""Office sessions: loading the signed-in user for Flask-Login, and ending sessions.

A session ends in three ways, each checked on the server at every request:

* **Signing out, a password reset, disabling the account** bump the account's session
  version (``users.session_version``).  The session stores ``"<user id>:<session
  version>"``; a cookie that carries an older version loads no user, so a cookie saved
  before ``POST /admin/logout`` and replayed later gets the sign-in page.  (Signing out
  therefore ends the account's sessions on every device.)
* **Idle expiry**: a session unused for ``SESSION_IDLE_MINUTES`` (default 480, a working
  day) is signed out.  A page that reloads itself (``?auto=1``, the job progress page)
  does not count as use.
* **Lifetime**: a session is signed out ``SESSION_LIFETIME_HOURS`` (default 12) after
  signing in, however busy; the session cookie's signature is refused after that as well
  (``PERMANENT_SESSION_LIFETIME``).

The times are kept in the signed session cookie (it cannot be altered without the secret
key); :func:`start_session` sets them at sign-in.
"""

from __future__ import annotations

import datetime as dt
import time

from flask import Flask, current_app, flash, request, session
from flask_babel import gettext as _
from flask_login import logout_user

from survey.db import get_session
from survey.extensions import login_manager
from survey.models import User

#: Defaults of the settings read here (override them in instance/config.py).
DEFAULT_IDLE_MINUTES = 8 * 60
DEFAULT_LIFETIME_HOURS = 12
#: Session keys: when the session signed in, when it was last used (seconds since the epoch).
SIGNED_IN_AT = "_manyi_signed_in_at"
USED_AT = "_manyi_used_at"
#: The query argument of a request made by a page reloading itself, not by a person.
AUTOMATIC_ARGUMENT = "auto"
#: How stale the "last used" time may get before a request rewrites it (fewer new cookies).
_USE_RESOLUTION_S = 60


def clock() -> float:
    """Seconds since the epoch (a function, so that tests can move the clock)."""
    return time.time()


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def idle_minutes() -> int:
    return int(current_app.config.get("SESSION_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))


def lifetime_hours() -> float:
    return float(current_app.config.get("SESSION_LIFETIME_HOURS", DEFAULT_LIFETIME_HOURS))


def start_session() -> None:
    """Stamp a freshly signed-in session (call right after ``login_user``)."""
    now = int(clock())
    session[SIGNED_IN_AT] = now
    session[USED_AT] = now


def _expire_sessions() -> None:
    """Sign out a session that has been idle or alive too long (before every request)."""
    if "_user_id" not in session:
        return
    now = clock()
    signed_in, used = session.get(SIGNED_IN_AT), session.get(USED_AT)
    if not isinstance(signed_in, int) or not isinstance(used, int):
        reason = None  # a session from before these checks: sign in again
    elif now - used > idle_minutes() * 60:
        reason = _("You were signed out after %(hours)s hours without activity.", hours=_hours(idle_minutes() / 60))
    elif now - signed_in > lifetime_hours() * 3600:
        reason = _("You were signed out %(hours)s hours after signing in.", hours=_hours(lifetime_hours()))
    else:
        if request.args.get(AUTOMATIC_ARGUMENT) != "1" and now - used >= _USE_RESOLUTION_S:
            session[USED_AT] = int(now)
        return
    logout_user()
    session.clear()
    if reason:
        flash(reason, "info")


def _hours(value: float) -> str:
    return f"{value:g}"


def init_app(app: Flask) -> None:
    login_manager.session_protection = "strong"
    # The cookie's own signature expires with the longest a session may live.
    app.permanent_session_lifetime = dt.timedelta(
        hours=float(app.config.get("SESSION_LIFETIME_HOURS", DEFAULT_LIFETIME_HOURS))
    )
    app.before_request(_expire_sessions)
