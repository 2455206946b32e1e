"""A wave's analysis settings (statisticians and administrators): margins, benchmarks,
target and which metric is the plan's target, scale mapping, design, variance, lonely-PSU
rule, screening, stability minimums, the SE assumed for published scores, illustrative;
and the organiser and contact phone residents see (welcome page, poster).

The reads, checks, storage and audit record are :mod:`survey.services.settings` (the same
service as ``manyi wave settings``); ``manyi score`` and publishing use what is stored.
Margins and benchmarks are chosen from the office's files (``questionnaires/margins``,
``questionnaires/benchmarks``) or uploaded; their content is stored, so a file changing
later changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from scoring.vocabulary import DEFAULT_TARGET
from survey.admin.base import ADMIN, STATISTICIAN, bp, current_account, roles_required, wave_or_404
from survey.admin.forms import choices
from survey.db import get_session
from survey.models import Wave
from survey.services.questionnaires import QuestionnairesNotFound, questionnaires_dir
from survey.services.settings import (
    CONTACT_PHONE_MAX,
    KEEP,
    ORGANISER_MAX,
    SettingsChanges,
    SettingsInputError,
    StoredSettings,
    benchmarks_input,
    change_wave_settings,
    margins_input,
    wave_settings,
)

#: The straight-lining rule as the form offers it (the value of ``straight_line_fast_fraction``).
STRAIGHT_LINE_RULES = {
    "0.5": _l("Only together with a fast answer (under half the median time) — recommended"),
    "none": _l("On its own (the rule before issue 10: it removes residents satisfied with everything)"),
}


class SettingsForm(FlaskForm):
    """Every analysis setting of a wave (built once per request; choices filled in by the view)."""

    target = DecimalField(
        _l("Target value"),
        places=2,
        validators=[Optional(), NumberRange(min=0.01, max=100)],
        default=Decimal(str(DEFAULT_TARGET)),
    )
    target_metric = SelectField(
        _l("Which figure is the plan's target"),
        choices=choices(
            (("index", _l("the satisfaction index (0–100)")), ("satisfied_rate", _l("the satisfied rate (%)")))
        ),
        validators=[InputRequired()],
    )
    mapping = RadioField(
        _l("Scale mapping"),
        choices=choices(
            (
                ("linear", _l("Linear: very dissatisfied = 0 … very satisfied = 100")),
                (
                    "monitoring",
                    _l(
                        "Monitoring: very dissatisfied = 20 … very satisfied = 100, as the national monitoring reads its scale"
                    ),
                ),
            )
        ),
        validators=[InputRequired()],
    )
    strata = SelectField(
        _l("Strata"),
        choices=choices((("point_town", _l("the town where the collection point stands")), ("none", _l("none")))),
        validators=[InputRequired()],
    )
    variance = SelectField(
        _l("Variance method"),
        choices=choices(
            (("linearization", _l("linearization")), ("jackknife", _l("jackknife")), ("bootstrap", _l("bootstrap")))
        ),
        validators=[InputRequired()],
    )
    replicates = IntegerField(_l("Bootstrap replicates"), validators=[Optional(), NumberRange(min=2, max=100_000)])
    lonely_psu = SelectField(
        _l("A town with a single collection point"),
        choices=choices(
            (
                ("adjust", _l("adjust: centre its point at the overall mean, as R does (recommended)")),
                ("fail", _l("fail: refuse to score until the town has two points")),
            )
        ),
        validators=[InputRequired()],
    )
    screening = BooleanField(_l("Quality screening (repeat browsers, address bursts, speeders)"))
    straight_line = SelectField(
        _l("Straight-lining excludes a response"),
        choices=choices(STRAIGHT_LINE_RULES.items()),
        validators=[InputRequired()],
    )
    min_n = IntegerField(
        _l("Fewest respondents of a stable figure"), validators=[InputRequired(), NumberRange(min=1, max=100_000)]
    )
    min_psus = IntegerField(
        _l("Fewest collection points of a stable figure"), validators=[InputRequired(), NumberRange(min=2, max=10_000)]
    )
    assumed_se = DecimalField(
        _l("Standard error assumed for a published score without one (index points)"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0.01, max=50)],
    )
    illustrative = BooleanField(_l("The data are illustrative (a demo or synthetic): every output says so"))
    margins = SelectField(_l("Population margins for weighting"), choices=[], validators=[InputRequired()])
    margins_file = FileField(_l("Or upload a margins CSV (variable,level,population)"))
    benchmarks_action = SelectField(
        _l("Published monitoring scores to compare with"),
        choices=choices(
            (
                ("keep", _l("keep the stored ones")),
                ("files", _l("use the files ticked below and the upload")),
                ("none", _l("none (no rankings)")),
            )
        ),
        validators=[InputRequired()],
    )
    benchmarks = SelectMultipleField(
        _l("Benchmarks files"),
        choices=[],
        validators=[Optional()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    benchmarks_file = FileField(_l("Or upload a benchmarks CSV (year,level,unit,score,rank,se,source)"))
    organiser = StringField(
        _l("Organiser shown to residents"),
        validators=[Optional(), Length(max=ORGANISER_MAX)],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )
    contact_phone = StringField(
        _l("Contact phone shown to residents"),
        validators=[
            Optional(),
            Length(max=CONTACT_PHONE_MAX),
            Regexp(r"^[0-9]+(-[0-9]+)*$", message=_l("Use digits and dashes only, e.g. 0716-8888888.")),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
    )


def _office_files() -> tuple[list[str], list[str]]:
    """The margins and benchmarks files kept beside the questionnaires (none when no folder
    is configured)."""
    from survey.services.publication import scoring_inputs

    try:
        return scoring_inputs(questionnaires_dir(current_app.config))
    except QuestionnairesNotFound:
        return [], []


def _form(stored: StoredSettings, **kwargs: Any) -> SettingsForm:
    """The form with the office's files as choices; on a fresh page, the stored settings."""
    form = SettingsForm(**kwargs)
    margins, benchmarks = _office_files()
    current = stored.margins_source.name if stored.margins_source and stored.settings.margins else None
    form.margins.choices = choices(
        ([("keep", _("keep the stored margins (%(name)s)", name=current))] if current else [])
        + [("none", _("none: do not weight"))]
        + [(name, name) for name in margins]
    )
    form.benchmarks.choices = choices((name, name) for name in benchmarks)
    fraction = stored.settings.screening.straight_line_fast_fraction
    stored_rule = "none" if fraction is None else f"{fraction:g}"
    if stored_rule not in STRAIGHT_LINE_RULES:
        form.straight_line.choices = choices(
            [
                *STRAIGHT_LINE_RULES.items(),
                (stored_rule, _("As stored: faster than %(f)s × the median time", f=stored_rule)),
            ]
        )
    if kwargs.get("formdata", True) is None:
        settings = stored.settings
        form.target.data = None if settings.target is None else Decimal(str(settings.target))
        form.target_metric.data = settings.target_metric
        form.mapping.data = settings.mapping
        form.strata.data = settings.strata or "none"
        form.variance.data = settings.variance
        form.replicates.data = settings.replicates
        form.lonely_psu.data = settings.lonely_psu
        form.screening.data = settings.screening.enabled
        form.straight_line.data = stored_rule
        form.min_n.data = settings.min_n
        form.min_psus.data = settings.min_psus
        form.assumed_se.data = Decimal(str(settings.assumed_se))
        form.illustrative.data = settings.illustrative
        form.margins.data = "keep" if current else "none"
        form.benchmarks_action.data = "keep" if settings.benchmarks else "none"
        form.benchmarks.data = [source.name for source in stored.benchmarks_sources if source.name in benchmarks]
        form.organiser.data = stored.organiser or ""
        form.contact_phone.data = stored.contact_phone or ""
    return form


def _page(wave: Wave, stored: StoredSettings, form: SettingsForm, status: int = 200) -> tuple[str, int]:
    return render_template("admin/settings.html", wave=wave, stored=stored, form=form), status


@bp.get("/waves/<code>/settings")
@roles_required(ADMIN, STATISTICIAN)
def wave_settings_page(code: str):
    """The wave's analysis settings, as stored (or the defaults), ready to change."""
    wave = wave_or_404(code)
    stored = wave_settings(get_session(), wave)
    return _page(wave, stored, _form(stored, formdata=None))


def _uploaded(field: FileField) -> tuple[str, bytes] | None:
    data = field.data
    if data is None or not getattr(data, "filename", ""):
        return None
    return str(data.filename), data.read()


def _changes(form: SettingsForm) -> SettingsChanges:
    """The form's values as changes (margins and benchmarks read and checked here)."""
    from survey.services.publication import input_path

    folder = questionnaires_dir(current_app.config)
    margins: Any = KEEP
    upload = _uploaded(form.margins_file)
    if upload is not None:
        margins = margins_input(*upload)
    elif form.margins.data == "none":
        margins = None
    elif form.margins.data != "keep":
        path = input_path(folder, "margins", form.margins.data)
        margins = margins_input(path.name, path.read_bytes())
    benchmarks: Any = KEEP
    if form.benchmarks_action.data == "none":
        benchmarks = None
    elif form.benchmarks_action.data == "files":
        files = []
        for name in form.benchmarks.data or ():
            path = input_path(folder, "benchmarks", name)
            files.append((path.name, path.read_bytes()))
        upload = _uploaded(form.benchmarks_file)
        if upload is not None:
            files.append(upload)
        if not files:
            raise SettingsInputError("benchmarks", _("Tick a benchmarks file or upload one, or choose none."))
        benchmarks = benchmarks_input(files)
    fraction = form.straight_line.data
    return SettingsChanges(
        target=None if form.target.data is None else float(form.target.data),
        target_metric=form.target_metric.data,
        mapping=form.mapping.data,
        strata=None if form.strata.data == "none" else form.strata.data,
        variance=form.variance.data,
        replicates=form.replicates.data if form.variance.data == "bootstrap" else None,
        lonely_psu=form.lonely_psu.data,
        screening=bool(form.screening.data),
        straight_line_fast_fraction=None if fraction == "none" else float(fraction),
        min_n=form.min_n.data,
        min_psus=form.min_psus.data,
        assumed_se=float(form.assumed_se.data),
        illustrative=bool(form.illustrative.data),
        margins=margins,
        benchmarks=benchmarks,
        organiser=form.organiser.data or "",
        contact_phone=form.contact_phone.data or "",
        note={"via": "screen"},
    )


#: The form field that shows a setting's error.
_FIELDS = {
    "straight_line_fast_fraction": "straight_line",
    "benchmarks": "benchmarks_action",
    "domain_weights": "target_metric",
    "trim": "margins",
}


@bp.post("/waves/<code>/settings")
@roles_required(ADMIN, STATISTICIAN)
def wave_settings_save(code: str):
    """Store the wave's analysis settings (audited); bad input changes nothing (400)."""
    from survey.services.publication import PublicationError

    wave = wave_or_404(code)
    db = get_session()
    stored = wave_settings(db, wave)
    form = _form(stored)
    if not form.validate_on_submit():
        return _page(wave, stored, form, 400)
    try:
        differences = change_wave_settings(db, wave, _changes(form), actor=current_account())[1]
    except SettingsInputError as error:
        db.rollback()
        field = getattr(form, _FIELDS.get(error.setting, error.setting), form.target)
        field.errors = [*field.errors, str(error)]
        return _page(wave, stored, form, 400)
    except PublicationError as error:  # a file name that is not in the office's folder
        db.rollback()
        form.margins.errors = [*form.margins.errors, str(error)]
        return _page(wave, stored, form, 400)
    db.commit()
    if differences:
        flash(
            _("Analysis settings of wave %(code)s saved (%(n)s changed).", code=wave.code, n=len(differences)),
            "success",
        )
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".wave_settings_page", code=wave.code), 303)
