"""Forms of the resident pages, built at run time from the questionnaire files.

This follows the WTForms "dynamic forms" recipe: for every page a fresh subclass of
:class:`PageForm` is made and one field per item is ``setattr``-ed onto it *before*
instantiation; the shared base class is never changed.  Field builders are looked up
in a dict by item kind, and an unknown kind is an error (never a silently missing
question).

Field names are the item codes with ``.`` replaced by ``__`` (``healthcare.overall`` →
``healthcare__overall``), because WTForms binds fields as attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) pairs

    def SelectChoice(value: str, label: str) -> tuple[str, str]:  # type: ignore[no-redef]
        return (value, label)


from scoring.questionnaire import DEFAULT_SCALE, Item, Scale, Text
from survey.respond.flow import Page
from survey.services.answers import NA
from survey.services.masking import CONTROL_CHARACTERS as _CONTROL
from survey.services.masking import mask_personal_details


class PageForm(FlaskForm):
    """Base of every resident page form: the CSRF token (from Flask-WTF) and the page's
    one-time submission key."""

    # A label of its own (never shown): without one, WTForms asks its translations for
    # the default label "Submission Key" on every form, and Flask-WTF then reads the
    # WTForms message catalogue from disk once per request.
    submission_key = HiddenField(label="")


class MultiCheckboxField(SelectMultipleField):
    """Several check boxes (WTForms' documented recipe for a multiple choice)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _no_control_characters(_form: Any, field: Field) -> None:
    if field.data and _CONTROL.search(field.data):
        raise ValidationError(_l("Remove the special (control) characters from this text and send it again."))


def _normalise_text(value: Any) -> Any:
    """Line breaks count as one character, as the browser's own counter does."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    return value


@dataclass(frozen=True)
class FieldContext:
    """What the field builders need besides the item."""

    language: str
    scales: Mapping[str, Scale]
    #: Labels that replace an item's choice labels (the services page shows the domain
    #: questionnaires' own titles).
    choice_labels: Mapping[str, Text]
    #: False when the resident goes back: answers are checked but may be incomplete.
    require: bool


def field_name(code: str) -> str:
    """The form field name of an item code."""
    return code.replace(".", "__")


class AtLeastOne(InputRequired):
    """InputRequired for a group of check boxes, without the HTML ``required`` flag
    (on a check box it would mean "this box must be ticked")."""

    def __init__(self, message: Any = None) -> None:
        super().__init__(message)
        self.field_flags = {}


def _presence(item: Item, context: FieldContext, message: Any) -> list[Any]:
    if item.required and context.require:
        return [AtLeastOne(message=message) if item.kind == "multi_choice" else InputRequired(message=message)]
    return [Optional()]


def _likert_field(item: Item, context: FieldContext) -> Field:
    scale = context.scales[item.scale or DEFAULT_SCALE]
    choices = [SelectChoice(point.value, point.label.get(context.language)) for point in scale.points]
    choices.append(SelectChoice(NA, scale.not_applicable.get(context.language)))
    return RadioField(
        item.label.get(context.language),
        choices=choices,
        validators=_presence(item, context, _l("Please choose an answer.")),
    )


def _choice_field(item: Item, context: FieldContext) -> Field:
    return RadioField(
        item.label.get(context.language),
        choices=[SelectChoice(choice.value, choice.label.get(context.language)) for choice in item.choices],
        validators=_presence(item, context, _l("Please choose one.")),
    )


def _multi_choice_field(item: Item, context: FieldContext) -> Field:
    choices = []
    for choice in item.choices:
        label = context.choice_labels.get(choice.value, choice.label)
        choices.append(SelectChoice(choice.value, label.get(context.language)))
    return MultiCheckboxField(
        item.label.get(context.language),
        choices=choices,
        validators=_presence(item, context, _l("Please tick at least one.")),
    )


def _text_field(item: Item, context: FieldContext) -> Field:
    limit = item.max_length or 500
    return TextAreaField(
        item.label.get(context.language),
        # Phone and ID numbers a resident wrote anyway are masked before anything is stored.
        filters=[_normalise_text, mask_personal_details],
        validators=[
            *_presence(item, context, _l("Please write an answer.")),
            Length(max=limit, message=_l("Please shorten this to %(max)d characters or fewer.")),
            _no_control_characters,
        ],
        render_kw={"maxlength": limit, "rows": 5},
    )


FIELD_BUILDERS: dict[str, Callable[[Item, FieldContext], Field]] = {
    "likert": _likert_field,
    "choice": _choice_field,
    "multi_choice": _multi_choice_field,
    "text": _text_field,
}


def page_form_class(page: Page, context: FieldContext) -> type[PageForm]:
    """A new form class for ``page``: one field per item, in page order."""

    class QuestionPageForm(PageForm):
        pass

    for item in page.items:
        builder = FIELD_BUILDERS.get(item.kind)
        if builder is None:
            raise ValueError(
                f"item {item.code}: no form field for kind {item.kind!r}; known kinds: {', '.join(FIELD_BUILDERS)}"
            )
        setattr(QuestionPageForm, field_name(item.code), builder(item, context))
    return QuestionPageForm


def initial_data(page: Page, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Form data that shows the stored ``answers`` of ``page`` (for back and resume)."""
    data: dict[str, Any] = {}
    for item in page.items:
        value = answers.get(item.code)
        if value is None:
            continue
        if item.kind == "likert":
            data[field_name(item.code)] = NA if value == NA else str(value)
        else:
            data[field_name(item.code)] = value
    return data


def form_answers(form: PageForm, page: Page) -> dict[str, Any]:
    """The validated answers of ``form`` by item code (Likert: 1..K or ``"na"``)."""
    answers: dict[str, Any] = {}
    for item in page.items:
        value = getattr(form, field_name(item.code)).data
        if value in (None, "", []) or (isinstance(value, str) and not value.strip()):
            # WTForms' Optional() accepts a blank value (" ") without checking it against
            # the choices: it is not an answer.
            continue
        if item.kind == "likert":
            answers[item.code] = NA if value == NA else int(value)
        elif item.kind == "multi_choice":
            answers[item.code] = list(value)
        else:
            answers[item.code] = value
    return answers


@dataclass(frozen=True)
class FormProblems:
    """Items with a problem: ``missing`` (a required answer not given — a normal part of
    filling in) and ``invalid`` (a value the page never offers or an over-long text —
    not something the page lets a person send)."""

    missing: tuple[str, ...]
    invalid: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return (*self.missing, *self.invalid)


def form_problems(form: PageForm, page: Page) -> FormProblems:
    missing: list[str] = []
    invalid: list[str] = []
    for item in page.items:
        bound = getattr(form, field_name(item.code))
        if not bound.errors:
            continue
        raw = [value for value in (bound.raw_data or []) if value not in ("", None)]
        (invalid if raw else missing).append(item.code)
    return FormProblems(tuple(missing), tuple(invalid))
