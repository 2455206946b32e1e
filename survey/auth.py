"""Loading the signed-in office user for Flask-Login.

The session stores ``"<user id>:<session version>"``; resetting a password or disabling
an account bumps the version, which signs out every existing session of that account.
"""

from __future__ import annotations

from flask import Flask

from survey.db import get_session
from survey.extensions import login_manager
from survey.models import User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def init_app(app: Flask) -> None:
    login_manager.session_protection = "strong"
