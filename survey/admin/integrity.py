"""A wave's integrity page (issue 15): the review of its current responses — live during
collection, so a coordinator can visit a point that looks coached — with each flagged point's
evidence, its answers against its town's other points and its completions by hour of day
(inline SVG with a table beside it), the flagged network addresses, and the office's exclusion
decisions: the form (statisticians and administrators decide) and the history (every office
role sees it).

Reads and writes go through :mod:`survey.services.integrity`, which checks every decision
(the point or address exists in the wave, a reason of at most 500 characters) and writes the
audit record; ``manyi integrity WAVE --exclude-point CODE --reason …`` is the same service.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from survey.admin.base import ADMIN, ALL_ROLES, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.db import get_session
from survey.models import Wave
from survey.services.integrity import (
    MAX_REASON_LENGTH,
    DecisionError,
    address_label,
    decision_history,
    exclude,
    integrity_page,
    withdraw,
)
from survey.web import select_locale

#: Who decides exclusions; every office role may look.
DECIDING_ROLES = (ADMIN, STATISTICIAN)


class ExclusionForm(FlaskForm):
    """Exclude a point or an address: ``target`` is ``point:<code>`` or ``address:<label>``."""

    target = SelectField(_l("Exclude"), validators=[DataRequired()], validate_choice=False)
    reason = TextAreaField(
        _l("Reason (published with the results)"),
        validators=[
            DataRequired(message=_l("Give the reason: it is published with the results.")),
            Length(max=MAX_REASON_LENGTH, message=_l("Keep the reason to 500 characters.")),
        ],
        render_kw={"rows": 3, "maxlength": MAX_REASON_LENGTH},
    )


class WithdrawForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason for withdrawing"),
        validators=[
            DataRequired(message=_l("Give the reason for withdrawing.")),
            Length(max=MAX_REASON_LENGTH, message=_l("Keep the reason to 500 characters.")),
        ],
        render_kw={"rows": 2, "maxlength": MAX_REASON_LENGTH},
    )


def _problem(error: DecisionError) -> str:
    """The service's refusal in the page's language (its English message stays in the log)."""
    if error.field == "reason":
        return _("Give a reason of at most 500 characters.")
    if error.field == "decision":
        return _("This decision does not exist in this wave or was already withdrawn.")
    return _("This point or address cannot be excluded: it is not in this wave, or it is already excluded.")


def _target_choices(wave: Wave, page) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    language = select_locale()
    flagged = {point.code for point in page.flagged_points}
    points = sorted(wave.points, key=lambda p: (p.code not in flagged, p.town.sort_order, p.place))
    choices = [("", _("Choose a point or an address"))]
    for point in points:
        town = point.town.name_en if language == "en" else point.town.name_zh
        mark = _(" (flagged)") if point.code in flagged else ""
        choices.append((f"point:{point.code}", f"{town} · {point.place}{mark}"))
    for address in page.flagged_addresses:
        choices.append((f"address:{address.label}", _("Network address %(label)s", label=address.label)))
    return choices


def _page(wave: Wave, *, form: ExclusionForm | None = None, withdraw_form: WithdrawForm | None = None, status=200):  # type: ignore[no-untyped-def]
    db = get_session()
    page = integrity_page(db, wave, language=select_locale())
    form = form or ExclusionForm()
    form.target.choices = _target_choices(wave, page)
    points = {point.code: point for point in wave.points}
    return (
        render_template(
            "admin/integrity.html",
            wave=wave,
            page=page,
            form=form,
            withdraw_form=withdraw_form or WithdrawForm(),
            history=decision_history(db, wave),
            points=points,
            address_label=address_label,
            deciding_roles=DECIDING_ROLES,
        ),
        status,
    )


@bp.get("/waves/<code>/integrity")
@roles_required(*ALL_ROLES)
def integrity(code: str):
    return _page(wave_or_404(code))


@bp.post("/waves/<code>/integrity/exclude")
@roles_required(*DECIDING_ROLES)
def integrity_exclude(code: str):
    """Record a decision to leave a point's (or an address's) responses out of the estimate."""
    wave = wave_or_404(code)
    form = ExclusionForm()
    if not form.validate_on_submit():
        return _page(wave, form=form, status=400)
    kind, _sep, target = (form.target.data or "").partition(":")
    db = get_session()
    try:
        decision = exclude(db, wave, kind=kind, target=target, reason=form.reason.data, actor=current_account())
    except DecisionError as error:
        db.rollback()
        field = form.reason if error.field == "reason" else form.target
        field.errors = [*field.errors, _problem(error)]
        return _page(wave, form=form, status=400)
    db.commit()
    flash(_("Decision %(id)s recorded; publish again to make it public.", id=decision.id))
    return redirect(url_for(".integrity", code=wave.code), 303)


@bp.post("/waves/<code>/integrity/withdraw")
@roles_required(*DECIDING_ROLES)
def integrity_withdraw(code: str):
    """Withdraw a decision (it stays in the history)."""
    wave = wave_or_404(code)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for withdrawing."), "error")
        return _page(wave, withdraw_form=form, status=400)
    db = get_session()
    try:
        decision = withdraw(db, wave, form.decision.data, reason=form.reason.data, actor=current_account())
    except DecisionError as error:
        db.rollback()
        flash(_problem(error), "error")
        return _page(wave, withdraw_form=form, status=400)
    db.commit()
    flash(_("Decision %(id)s withdrawn; publish again to make it public.", id=decision.id))
    return redirect(url_for(".integrity", code=wave.code), 303)
