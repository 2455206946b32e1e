"""Signing in and out, and changing one's own password (every role).

Failed sign-ins are throttled per client address (``MANYI_LOGIN_LIMIT``) and per account
*and* address (``MANYI_LOGIN_ACCOUNT_LIMIT``), never per account alone: wrong passwords
sent from other addresses cannot lock an account's owner out.  Signing out ends the
session on the server (:mod:`survey.auth`).
"""

from __future__ import annotations

import re

from flask import Response as FlaskResponse
from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from survey.admin import forms
from survey.admin.base import ALL_ROLES, bp, current_account, roles_required
from survey.auth import start_session
from survey.db import get_session
from survey.extensions import limiter
from survey.privacy import client_address, keyed_hash
from survey.services import accounts
from survey.services.accounts import AccountError

_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str | None:
    """Where to go after signing in: only a path inside the office screens (no open
    redirect, and nothing a ``Location`` header cannot carry, such as a line break)."""
    if not target or not target.startswith("/admin") or target.startswith("//") or _UNSAFE_IN_NEXT.search(target):
        return None
    return target


#: Defaults: failed sign-ins per client address, and per account name from one address.
DEFAULT_LOGIN_LIMIT = "10 per minute; 50 per hour"
DEFAULT_LOGIN_ACCOUNT_LIMIT = "5 per minute; 20 per hour"


def _account_and_address_key() -> str:
    """Rate-limit key per account name *and* client address (a keyed hash: neither the
    typed name nor the address is kept)."""
    typed = (request.form.get("username") or "").strip().lower()
    return "login-account:" + keyed_hash(f"{typed}|{client_address()}", purpose="login")[:32]


def _client_limit() -> str:
    return str(current_app.config.get("MANYI_LOGIN_LIMIT", DEFAULT_LOGIN_LIMIT))


def _account_limit() -> str:
    return str(current_app.config.get("MANYI_LOGIN_ACCOUNT_LIMIT", DEFAULT_LOGIN_ACCOUNT_LIMIT))


def _failed_login(_response: FlaskResponse) -> bool:
    return bool(g.get("login_failed"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_client_limit, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(_account_limit, key_func=_account_and_address_key, methods=["POST"], deduct_when=_failed_login)
def login():
    """Sign in.  Failures are throttled per address and per account and address, and audited."""
    form = forms.LoginForm()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(url_for(".dashboard"))
    if form.validate_on_submit():
        db = get_session()
        user = accounts.sign_in(db, form.username.data.strip(), form.password.data)
        db.commit()
        if user is not None:
            cookie_session.clear()  # a new session at sign-in (no fixation)
            login_user(user)
            start_session()
            return redirect(safe_next(request.args.get("next")) or url_for(".dashboard"))
        g.login_failed = True
        form.password.errors.append(_("Wrong user name or password (or the account is disabled)."))
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.post("/logout")
@roles_required(*ALL_ROLES)
def logout():
    db = get_session()
    accounts.sign_out(db, current_account())  # every saved cookie of the account stops working
    db.commit()
    logout_user()
    cookie_session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for(".login"))


@bp.route("/password", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def password():
    """Change one's own password (then the session is renewed)."""
    form = forms.PasswordForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        user = current_account()
        try:
            accounts.change_own_password(db, user, form.current.data, form.new.data)
        except AccountError as error:
            db.rollback()
            form.current.errors.append(str(error))
            status = 400
        else:
            db.commit()
            cookie_session.clear()
            login_user(user)
            start_session()
            flash(_("Your password is changed."), "success")
            return redirect(url_for(".dashboard"))
    elif request.method == "POST":
        status = 400
    return render_template("admin/password.html", form=form), status
