"""Office accounts: list, create, reset a password, disable, enable (administrators)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from survey.admin import forms
from survey.admin.base import ADMIN, bp, current_account, roles_required
from survey.db import get_session
from survey.models import User
from survey.services import accounts
from survey.services.accounts import AccountError


def _accounts_page(
    form: forms.CreateAccountForm | None = None, *, shown: tuple[str, str] | None = None, status: int = 200
):
    return (
        render_template(
            "admin/accounts.html",
            users=accounts.list_users(get_session()),
            form=form or forms.CreateAccountForm(),
            action=forms.ActionForm(),
            shown=shown,
        ),
        status,
    )


def _user_or_404(user_id: int) -> User:
    user = accounts.get_user(get_session(), user_id)
    if user is None:
        abort(404, description=_("There is no such account."))
    return user


@bp.get("/accounts")
@roles_required(ADMIN)
def accounts_list():
    return _accounts_page()


@bp.post("/accounts")
@roles_required(ADMIN)
def accounts_create():
    form = forms.CreateAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(form, status=400)
    db = get_session()
    try:
        user, new_password = accounts.add_account(
            db, form.username.data.strip(), form.role.data, actor=current_account()
        )
    except AccountError as error:
        db.rollback()
        form.username.errors.append(str(error))
        return _accounts_page(form, status=400)
    db.commit()
    # Shown once on this page, never put in a flash message (which would sit in the cookie).
    return _accounts_page(shown=(user.username, new_password))


@bp.post("/accounts/<int:user_id>/reset-password")
@roles_required(ADMIN)
def accounts_reset(user_id: int):
    user = _user_or_404(user_id)
    db = get_session()
    new_password = accounts.reset_account_password(db, user.username, actor=current_account())
    db.commit()
    return _accounts_page(shown=(user.username, new_password))


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    db = get_session()
    try:
        accounts.set_account_active(db, user.username, active, actor=current_account())
    except AccountError as error:
        db.rollback()
        flash(str(error), "error")
        return redirect(url_for(".accounts_list")), 303
    db.commit()
    flash(
        _("Account %(name)s enabled.", name=user.username)
        if active
        else _("Account %(name)s disabled; its sessions are signed out.", name=user.username),
        "success",
    )
    return redirect(url_for(".accounts_list")), 303


@bp.post("/accounts/<int:user_id>/disable")
@roles_required(ADMIN)
def accounts_disable(user_id: int):
    return _set_active(user_id, False)


@bp.post("/accounts/<int:user_id>/enable")
@roles_required(ADMIN)
def accounts_enable(user_id: int):
    return _set_active(user_id, True)
