"""Collection points: add, edit, and download their QR codes and printable posters
(administrators).  The drawing is :mod:`survey.posters`, shared with ``manyi qr``."""

from __future__ import annotations

import io

from flask import Response as FlaskResponse
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from survey import posters
from survey.admin import forms
from survey.admin.base import ADMIN, bp, current_account, point_or_404, roles_required, wave_or_404
from survey.db import get_session
from survey.services.waves import WaveError, add_point, survey_url, town_choices, update_point

QR_CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@bp.route("/waves/<code>/points/new", methods=["GET", "POST"])
@roles_required(ADMIN)
def point_new(code: str):
    wave = wave_or_404(code)
    form = forms.point_form_class(town_choices(get_session()), new=True)()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            point = add_point(
                db,
                wave,
                code=form.code.data.strip(),
                town=form.town.data,
                place=form.place.data,
                focus_domain=form.focus_domain.data or None,
                actor=current_account(),
            )
        except WaveError as error:
            db.rollback()
            form.code.errors.append(str(error))
            status = 400
        else:
            db.commit()
            flash(_("Collection point %(code)s added.", code=point.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    elif request.method == "POST":
        status = 400
    return render_template("admin/point.html", wave=wave, form=form, point=None), status


@bp.route("/waves/<code>/points/<point_code>", methods=["GET", "POST"])
@roles_required(ADMIN)
def point_edit(code: str, point_code: str):
    wave = wave_or_404(code)
    point = point_or_404(wave, point_code)
    form_class = forms.point_form_class(town_choices(get_session()), new=False)
    form = (
        form_class(obj=None)
        if request.method == "POST"
        else form_class(
            formdata=None,
            town=point.town_code,
            place=point.place,
            focus_domain=point.focus_domain or "",
            active=point.active,
        )
    )
    status = 200
    if form.validate_on_submit():
        db = get_session()
        try:
            update_point(
                db,
                point,
                town=form.town.data,
                place=form.place.data,
                focus_domain=form.focus_domain.data or None,
                active=bool(form.active.data),
                actor=current_account(),
            )
        except WaveError as error:
            db.rollback()
            form.place.errors.append(str(error))
            status = 400
        else:
            db.commit()
            flash(_("Collection point %(code)s saved.", code=point.code), "success")
            return redirect(url_for(".wave_detail", code=wave.code), 303)
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "admin/point.html",
            wave=wave,
            form=form,
            point=point,
            survey_url=survey_url(current_app.config["PUBLIC_BASE_URL"], point),
        ),
        status,
    )


@bp.get("/waves/<code>/points/<point_code>/qr.<fmt>")
@roles_required(ADMIN)
def point_qr(code: str, point_code: str, fmt: str):
    """The point's QR code as PNG or SVG (what the posters carry)."""
    wave = wave_or_404(code)
    point = point_or_404(wave, point_code)
    if fmt not in QR_CONTENT_TYPES:
        abort(404, description=_("QR codes come as .png or .svg."))
    buffer = io.BytesIO()
    url = survey_url(current_app.config["PUBLIC_BASE_URL"], point)
    posters.qr_code(url).save(buffer, kind=fmt, scale=posters.QR_SCALE, border=4)
    return FlaskResponse(
        buffer.getvalue(),
        content_type=QR_CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{wave.code}-{point.code}.{fmt}"'},
    )


@bp.get("/waves/<code>/points/<point_code>/poster.pdf")
@roles_required(ADMIN)
def point_poster(code: str, point_code: str):
    """The point's printable A4 poster."""
    wave = wave_or_404(code)
    point = point_or_404(wave, point_code)
    try:
        data = posters.poster_pdf(point, wave, survey_url(current_app.config["PUBLIC_BASE_URL"], point))
    except posters.PosterError as error:
        abort(503, description=str(error))
    return FlaskResponse(
        data,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{wave.code}-{point.code}-poster.pdf"'},
    )
