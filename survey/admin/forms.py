"""The office's forms (Flask-WTF: every one carries the CSRF token)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp

from scoring.questionnaire import DOMAIN_IDS, DOMAIN_LABELS_ZH
from survey.admin.base import CHANNEL_LABELS, ROLE_LABELS
from survey.models import CHANNELS, ROLES
from survey.services.accounts import MIN_PASSWORD_LENGTH

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) pairs

    def SelectChoice(value: str, label: object = None) -> tuple[str, object]:  # type: ignore[no-redef]
        return value, value if label is None else label


def choices(pairs: Iterable[tuple[str, object]]) -> list:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


#: Export formats offered on the screen and by ``manyi export --format``.
EXPORT_FORMATS = {
    "csv": _l("CSV, one row per response (responses contract)"),
    "long": _l("CSV, one row per answer (long format)"),
    "xlsx": _l("Excel workbook with the codebook"),
    "sav": _l("SPSS .sav with Chinese labels"),
    "codebook": _l("Codebook only (CSV)"),
}


class LoginForm(FlaskForm):
    username = StringField(
        _l("User name"), validators=[DataRequired(), Length(max=80)], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )


class ActionForm(FlaskForm):
    """A button that changes something (sign out, disable, open a wave): only the token."""


class CreateAccountForm(FlaskForm):
    username = StringField(
        _l("User name"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9_.\-]{2,80}$", message=_l("Use 2–80 letters, digits, '_', '.' or '-'.")),
        ],
    )
    role = SelectField(
        _l("Role"), choices=choices((role, ROLE_LABELS[role]) for role in ROLES), validators=[InputRequired()]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class WaveForm(FlaskForm):
    code = StringField(
        _l("Wave code"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$", message=_l("Use letters, digits, '_' or '-', e.g. 2025.")),
        ],
    )
    title_zh = StringField(_l("Title (Chinese)"), validators=[Optional(), Length(max=200)])
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200)])
    opens_at = DateTimeLocalField(_l("Opens (Beijing time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Closes (Beijing time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class WaveStateForm(FlaskForm):
    state = SelectField(
        choices=choices((state, state) for state in ("open", "closed", "draft")), validators=[InputRequired()]
    )


class PlanForm(FlaskForm):
    """Inputs of the sample-size planner (``scoring.planning``)."""

    half_width = DecimalField(
        _l("Half-width of the 95 percent interval (index points)"),
        default=2,
        places=2,
        validators=[InputRequired(), NumberRange(min=0.1, max=50)],
    )
    deff = DecimalField(_l("Design effect"), places=2, validators=[Optional(), NumberRange(min=0.5, max=20)])
    sd = DecimalField(
        _l("Standard deviation of an index"), places=2, validators=[Optional(), NumberRange(min=1, max=60)]
    )
    previous_wave = SelectField(
        _l("Measure SD and design effect from the published wave"),
        choices=choices([("", "—")]),
        validators=[Optional()],
    )


def targets_form_class(towns: Iterable[tuple[str, str]]) -> type[FlaskForm]:
    """A targets form with one number field per domain and per town, built afresh
    (the WTForms dynamic-form recipe: never mutate a shared class)."""

    class TargetsForm(FlaskForm):
        total = IntegerField(_l("Whole wave"), validators=[Optional(), NumberRange(min=0, max=10_000_000)])

    for domain in DOMAIN_IDS:
        setattr(
            TargetsForm,
            f"domain__{domain}",
            IntegerField(DOMAIN_LABELS_ZH[domain], validators=[Optional(), NumberRange(min=0, max=10_000_000)]),
        )
    for code, name in towns:
        setattr(
            TargetsForm,
            f"town__{code}",
            IntegerField(name, validators=[Optional(), NumberRange(min=0, max=10_000_000)]),
        )
    return TargetsForm


def point_form_class(towns: Iterable[tuple[str, str]], *, new: bool) -> type[FlaskForm]:
    """The form of a collection point; the code only when creating (it never changes)."""
    domain_choices = choices(
        [("", _l("— none —"))] + [(domain, f"{DOMAIN_LABELS_ZH[domain]} ({domain})") for domain in DOMAIN_IDS]
    )

    class PointForm(FlaskForm):
        town = SelectField(_l("Town / street / management area"), choices=choices(towns), validators=[InputRequired()])
        place = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
        focus_domain = SelectField(_l("Focus domain (asked first)"), choices=domain_choices, validators=[Optional()])

    if new:
        PointForm.code = StringField(  # type: ignore[attr-defined]
            _l("Point code"),
            validators=[
                DataRequired(),
                Regexp(
                    r"^[a-z0-9][a-z0-9_\-]{0,39}$",
                    message=_l("Use lower-case letters, digits, '_' or '-', e.g. hosp-01."),
                ),
            ],
        )
    else:
        PointForm.active = BooleanField(_l("Accepting responses"))  # type: ignore[attr-defined]
    return PointForm


def wave_choices(codes: Iterable[str]) -> list:
    return choices((code, code) for code in codes)


class ExportForm(FlaskForm):
    wave = SelectField(_l("Wave"), choices=[], validators=[InputRequired()])
    format = SelectField(_l("Format"), choices=choices(EXPORT_FORMATS.items()), validators=[InputRequired()])
    include_partial = BooleanField(_l("Include partial (unfinished) responses"))
    include_comments = BooleanField(_l("Include residents' comments (office use only: never publish them)"))


class ImportForm(FlaskForm):
    wave = SelectField(_l("Wave"), choices=[], validators=[InputRequired()])
    channel = SelectField(
        _l("Channel"),
        choices=choices((channel, CHANNEL_LABELS[channel]) for channel in CHANNELS if channel != "qr"),
        validators=[InputRequired()],
    )
    file = FileField(_l("CSV file (UTF-8, responses contract)"), validators=[FileRequired()])
    new_ids = BooleanField(_l("Give the responses new ids (the file's response_id is not kept)"))


class PublishForm(FlaskForm):
    """Publish a wave with its analysis settings: a reason (required for a new revision) and a confirmation."""

    reason = TextAreaField(
        _l("Reason (required when the wave was published before; shown to the public)"),
        validators=[Optional(), Length(max=2000)],
    )
    confirm = BooleanField(
        _l("I have checked these results with the statistician; publish them to the public"),
        validators=[DataRequired()],
    )


class IndicatorValueForm(FlaskForm):
    """One yearly value of a plan indicator (checked again by the indicators service)."""

    code = SelectField(_l("Indicator"), choices=[], validators=[InputRequired()])
    year = StringField(_l("Year"), validators=[DataRequired(), Length(max=4)], render_kw={"inputmode": "numeric"})
    value = StringField(
        _l("Value (in the indicator's unit, without the unit)"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"inputmode": "decimal"},
    )
    source = StringField(_l("Source"), validators=[DataRequired(), Length(max=300)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class IndicatorImportForm(FlaskForm):
    file = FileField(_l("CSV file (UTF-8: code, year, value, source, note)"), validators=[FileRequired()])
