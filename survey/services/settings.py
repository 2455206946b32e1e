"""A wave's analysis settings, stored with the wave (issue 10).

The statistician decides once per wave how its figures are made — margins, benchmarks,
target and which metric is *the* plan's target, scale mapping, design, variance method,
lonely-PSU rule, screening, stability minimums, the SE assumed for published scores, the
illustrative flag — as one :class:`scoring.settings.AnalysisSettings`.  This service
stores it (:class:`survey.models.WaveSettings`: ``to_dict()`` with its digest, the names
and hashes of the files the margins and benchmarks came from, who and when), for the
admin screen and ``manyi wave settings`` alike:

* :func:`wave_settings` — the stored settings, or the defaults of ``AnalysisSettings``
  when none are stored (``stored`` says which);
* :func:`change_wave_settings` — apply :class:`SettingsChanges`, validate, store and
  write the audit record (``wave.settings``, the differences in its detail); bad input
  raises :class:`SettingsInputError` naming the setting, and nothing changes;
* :func:`margins_input`, :func:`benchmarks_input` — a margins or benchmarks CSV (its
  content, checked) ready to store; a file on disk changing later changes nothing;
* :func:`describe_settings` — the settings as readable rows (the command's ``--show``).

Stored with them but outside the analysis (not in the digest): the wave's ``organiser``
and ``contact_phone``, shown to residents on the welcome page and the poster (issue 14;
:func:`public_contact`, :func:`contact_phone_value`).

``manyi score WAVE`` and publishing score with these settings (:mod:`survey.score`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from survey.models import User, Wave, WaveSettings, utcnow
from survey.services import audit
from survey.services.audit import Actor
from survey.services.settings_input import (
    CONTACT_PHONE_MAX,
    ORGANISER_MAX,
    BenchmarksInput,
    InputFile,
    MarginsInput,
    SettingsInputError,
    benchmarks_input,
    contact_phone_value,
    margins_input,
    organiser_value,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import datetime as dt

    from scoring.benchmarks import BenchmarkTable
    from scoring.settings import AnalysisSettings

__all__ = [
    "CONTACT_PHONE_MAX",
    "KEEP",
    "ORGANISER_MAX",
    "SETTING_ORDER",
    "BenchmarksInput",
    "InputFile",
    "MarginsInput",
    "PublicContact",
    "SettingsChanges",
    "SettingsInputError",
    "StoredSettings",
    "apply_changes",
    "benchmarks_input",
    "benchmarks_table",
    "change_wave_settings",
    "changes_from_options",
    "contact_phone_value",
    "describe_settings",
    "margins_input",
    "organiser_value",
    "public_contact",
    "wave_settings",
]


class _Keep:
    """The value of a change that leaves a setting as it is."""

    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        return False


#: A :class:`SettingsChanges` field left as it is.
KEEP: Any = _Keep()

#: The order settings are shown and changed in (dependent settings after what they depend on).
SETTING_ORDER: tuple[str, ...] = (
    "target_metric",
    "target",
    "mapping",
    "strata",
    "cluster",
    "unclustered",
    "variance",
    "replicates",
    "seed",
    "lonely_psu",
    "screening",
    "min_n",
    "min_psus",
    "suppress_min_n",
    "suppress_max_cv",
    "rate_interval",
    "domain_weights",
    "margins",
    "trim",
    "benchmarks",
    "assumed_se",
    "illustrative",
    "district",
)


@dataclass(frozen=True)
class StoredSettings:
    """A wave's analysis settings as stored (or the defaults when none are).

    Attributes
    ----------
    settings : AnalysisSettings
    stored : bool
        False: nothing stored yet, the defaults of ``AnalysisSettings`` apply.
    margins_source : InputFile or None
        The file the margins came from.
    benchmarks_sources : tuple of InputFile
        The files the benchmarks combine.
    changed_by, changed_at
        Who stored them last, and when (aware UTC); None when not stored.
    organiser, contact_phone : str or None
        Who runs the survey and a phone number for residents (not analysis settings).
    """

    settings: AnalysisSettings
    stored: bool
    margins_source: InputFile | None = None
    benchmarks_sources: tuple[InputFile, ...] = ()
    changed_by: str | None = None
    changed_at: dt.datetime | None = None
    organiser: str | None = None
    contact_phone: str | None = None

    @property
    def digest(self) -> str:
        return self.settings.digest()

    def input_names(self) -> dict[str, str]:
        """``results.json["inputs"]`` entries of the margins and benchmarks: ``margins/<name>``,
        ``benchmarks/<name>`` → SHA-256 of the file stored (names, never server paths)."""
        names: dict[str, str] = {}
        if self.settings.margins is not None:
            source = self.margins_source or InputFile("settings", self.settings.margins_sha256 or "")
            names[f"margins/{source.name}"] = source.sha256
        if self.settings.benchmarks is not None:
            for source in self.benchmarks_sources or (InputFile("settings", self.settings.benchmarks_sha256 or ""),):
                names[f"benchmarks/{source.name}"] = source.sha256
        return names

    def benchmarks_name(self) -> str:
        """The benchmarks' name in the rankings (the files' names, as several files combine)."""
        return " + ".join(source.name for source in self.benchmarks_sources) or "benchmarks"


def _sources_dict(margins: InputFile | None, benchmarks: Sequence[InputFile]) -> dict[str, Any]:
    return {
        "margins": None if margins is None else margins.to_dict(),
        "benchmarks": [source.to_dict() for source in benchmarks],
    }


def _input_file(value: Any) -> InputFile | None:
    if not isinstance(value, Mapping):
        return None
    return InputFile(str(value.get("name", "")), str(value.get("sha256", "")))


def wave_settings(session: Session, wave: Wave) -> StoredSettings:
    """The analysis settings stored with ``wave``, or the defaults (``stored=False``).

    Raises
    ------
    scoring.errors.SettingsError
        The stored settings no longer read (e.g. altered by hand: a content hash that does
        not match); the message says to store them again.
    """
    from scoring.settings import AnalysisSettings

    row = session.get(WaveSettings, wave.id)
    if row is None:
        return StoredSettings(AnalysisSettings(), stored=False)
    sources = row.sources or {}
    benchmarks = tuple(
        source for source in (_input_file(item) for item in sources.get("benchmarks") or ()) if source is not None
    )
    return StoredSettings(
        AnalysisSettings.from_dict(row.settings),
        stored=True,
        margins_source=_input_file(sources.get("margins")),
        benchmarks_sources=benchmarks,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
        organiser=row.organiser,
        contact_phone=row.contact_phone,
    )


@dataclass(frozen=True)
class PublicContact:
    """Who runs a wave's survey and whom residents may call (None: not shown).

    ``example`` is True for a wave whose settings are illustrative (the demo): its phone
    number is an example and is labelled so (示例).
    """

    organiser: str | None = None
    phone: str | None = None
    example: bool = False

    def __bool__(self) -> bool:
        return bool(self.organiser or self.phone)


def public_contact(session: Session, wave: Wave) -> PublicContact:
    """The organiser and contact phone of ``wave`` for residents (empty when unset)."""
    row = session.get(WaveSettings, wave.id)
    if row is None:
        return PublicContact()
    example = bool((row.settings or {}).get("illustrative"))
    return PublicContact(row.organiser or None, row.contact_phone or None, example)


def benchmarks_table(stored: StoredSettings) -> BenchmarkTable | None:
    """The settings' benchmarks as a :class:`~scoring.benchmarks.BenchmarkTable` (None without)."""
    from scoring.benchmarks import validate_benchmarks

    text = stored.settings.benchmarks
    return None if text is None else validate_benchmarks(text, name=stored.benchmarks_name())


# --------------------------------------------------------------------------- changes


@dataclass(frozen=True)
class SettingsChanges:
    """What to change; every field left at :data:`KEEP` keeps its stored value.

    ``margins`` and ``benchmarks`` take a :class:`MarginsInput` / :class:`BenchmarksInput`,
    or None for none; ``screening`` takes True/False (on/off), ``straight_line_fast_fraction``
    a number or None (the rule before issue 10); ``domain_weights`` None (equal),
    ``"derived"`` or ``{domain: weight}``.  ``reset`` starts from the defaults of
    ``AnalysisSettings`` instead of the stored settings.
    """

    target: Any = KEEP
    target_metric: Any = KEEP
    mapping: Any = KEEP
    strata: Any = KEEP
    variance: Any = KEEP
    replicates: Any = KEEP
    seed: Any = KEEP
    lonely_psu: Any = KEEP
    screening: Any = KEEP
    straight_line_fast_fraction: Any = KEEP
    min_n: Any = KEEP
    min_psus: Any = KEEP
    rate_interval: Any = KEEP
    domain_weights: Any = KEEP
    margins: Any = KEEP
    benchmarks: Any = KEEP
    assumed_se: Any = KEEP
    illustrative: Any = KEEP
    district: Any = KEEP
    #: Shown to residents, not analysis settings (``reset`` keeps them).
    organiser: Any = KEEP
    contact_phone: Any = KEEP
    reset: bool = False
    #: Extra detail for the audit record (e.g. ``{"via": "screen"}``).
    note: Mapping[str, Any] = field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        """The fields that change something (not KEEP)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("reset", "note") and getattr(self, f.name) is not KEEP
        }


def _apply(current: AnalysisSettings, key: str, value: Any) -> AnalysisSettings:
    """``current`` with one setting changed (validated), or SettingsInputError naming it."""
    from scoring.errors import SettingsError

    try:
        if key == "screening":
            if not isinstance(value, bool):
                raise SettingsError(f"screening must be on or off, got {value!r}")
            return current.replace(screening=dataclasses.replace(current.screening, enabled=value))
        if key == "straight_line_fast_fraction":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            ):
                raise SettingsError(f"straight_line_fast_fraction must be a number or none, got {value!r}")
            return current.replace(
                screening=dataclasses.replace(
                    current.screening, straight_line_fast_fraction=None if value is None else float(value)
                )
            )
        if key == "margins":
            rows = None if value is None else value.rows
            trim = current.trim if rows is not None else None
            return current.replace(margins=rows, trim=trim)
        if key == "benchmarks":
            return current.replace(benchmarks=None if value is None else value.csv)
        if key == "variance":
            replicates = current.replicates if value == "bootstrap" else None
            return current.replace(variance=value, replicates=replicates)
        if key in ("target", "assumed_se") and value is not None:
            value = float(value)
        return current.replace(**{key: value})
    except (SettingsError, ValueError, TypeError) as error:
        raise SettingsInputError(key, str(error)) from None


def _fraction(value: Any) -> float | None:
    if value is None or str(value).strip().lower() == "none":
        return None
    try:
        return float(value)
    except ValueError:
        raise SettingsInputError(
            "straight_line_fast_fraction", f"{value!r} is neither a number (e.g. 0.5) nor 'none'"
        ) from None


def _domain_weights(value: str) -> Any:
    from scoring.data import read_domain_weights
    from scoring.errors import DomainWeightsError

    if value == "derived":
        return "derived"
    if value == "equal":
        return None
    try:
        return read_domain_weights(value)
    except DomainWeightsError as error:
        raise SettingsInputError("domain_weights", f"{error} (or give 'derived' or 'equal')") from None


def _read_file(path: str, setting: str) -> tuple[str, bytes]:
    try:
        return Path(path).name, Path(path).read_bytes()
    except OSError as error:
        raise SettingsInputError(setting, f"cannot read {path}: {error.strerror or error}") from None


def changes_from_options(options: Mapping[str, Any]) -> SettingsChanges:
    """The changes command-line options ask for (``manyi wave settings``, ``manyi score``):
    every option that is None (not given) keeps the setting.

    Option names are the settings' (``target``, ``target_metric``, ``mapping``,
    ``variance``, ``replicates``, ``seed``, ``lonely_psu``, ``min_n``, ``min_psus``,
    ``assumed_se``, ``district``, ``illustrative``, ``rate_interval``, ``screening``), and:
    ``strata`` (a column or ``none``), ``no_target``, ``straight_line_fast_fraction``
    (a number or ``none``), ``domain_weights`` (a CSV path, ``derived`` or ``equal``),
    ``margins`` (a CSV path) / ``no_margins``, ``benchmarks`` (CSV paths) / ``no_benchmarks``,
    ``reset``; ``organiser`` and ``contact_phone`` (``""`` clears them).

    Raises
    ------
    SettingsInputError
        A value or file that cannot be read or does not pass its checks, naming the setting.
    """
    values: dict[str, Any] = {}
    for key in (
        "target",
        "target_metric",
        "mapping",
        "variance",
        "replicates",
        "seed",
        "lonely_psu",
        "min_n",
        "min_psus",
        "assumed_se",
        "district",
        "illustrative",
        "rate_interval",
        "screening",
    ):
        if options.get(key) is not None:
            values[key] = options[key]
    if options.get("strata") is not None:
        strata = str(options["strata"]).strip()
        values["strata"] = None if strata.lower() in ("", "none") else strata
    if options.get("no_target"):
        values["target"] = None
    if options.get("straight_line_fast_fraction") is not None:
        values["straight_line_fast_fraction"] = _fraction(options["straight_line_fast_fraction"])
    if options.get("domain_weights") is not None:
        values["domain_weights"] = _domain_weights(options["domain_weights"])
    if options.get("no_margins"):
        values["margins"] = None
    elif options.get("margins"):
        values["margins"] = margins_input(*_read_file(options["margins"], "margins"))
    if options.get("no_benchmarks"):
        values["benchmarks"] = None
    elif options.get("benchmarks"):
        values["benchmarks"] = benchmarks_input([_read_file(path, "benchmarks") for path in options["benchmarks"]])
    for key in ("organiser", "contact_phone"):
        if options.get(key) is not None:  # "" clears it
            values[key] = options[key]
    return SettingsChanges(**values, reset=bool(options.get("reset")))


def apply_changes(stored: StoredSettings, changes: SettingsChanges) -> StoredSettings:
    """``stored`` with ``changes`` applied and validated; nothing is stored (``manyi score``'s
    flags use this to say how a run differs from the wave's settings).

    Raises
    ------
    SettingsInputError
        Naming the setting that cannot take the value.
    """
    from scoring.settings import AnalysisSettings

    updated = AnalysisSettings() if changes.reset else stored.settings
    margins_source = None if changes.reset else stored.margins_source
    benchmarks_sources: tuple[InputFile, ...] = () if changes.reset else stored.benchmarks_sources
    given = changes.given()
    organiser = organiser_value(given.pop("organiser")) if "organiser" in given else stored.organiser
    contact_phone = (
        contact_phone_value(given.pop("contact_phone")) if "contact_phone" in given else stored.contact_phone
    )
    order = [*SETTING_ORDER, "straight_line_fast_fraction"]
    for key in sorted(given, key=order.index):
        value = given[key]
        updated = _apply(updated, key, value)
        if key == "margins":
            margins_source = None if value is None else value.source
        elif key == "benchmarks":
            benchmarks_sources = () if value is None else tuple(value.sources)
    return dataclasses.replace(
        stored,
        settings=updated,
        margins_source=margins_source,
        benchmarks_sources=benchmarks_sources,
        organiser=organiser,
        contact_phone=contact_phone,
    )


def change_wave_settings(
    session: Session, wave: Wave, changes: SettingsChanges, *, actor: Actor
) -> tuple[StoredSettings, dict[str, tuple[Any, Any]]]:
    """Apply ``changes`` to ``wave``'s settings, store them and audit (the caller commits).

    Returns
    -------
    (StoredSettings, differences)
        The settings now stored and ``{setting: (before, after)}`` (content settings by
        their SHA-256); nothing is written when nothing differs.

    Raises
    ------
    SettingsInputError
        Naming the setting that cannot take the value; nothing is stored.
    """
    before = wave_settings(session, wave)
    changed = apply_changes(before, changes)
    updated, margins_source, benchmarks_sources = (
        changed.settings,
        changed.margins_source,
        changed.benchmarks_sources,
    )
    differences = before.settings.differences(updated)  # {setting: (before, after)}, contents by hash
    for key in ("organiser", "contact_phone"):
        if getattr(before, key) != getattr(changed, key):
            differences[key] = (getattr(before, key), getattr(changed, key))
    sources_changed = (margins_source, tuple(benchmarks_sources)) != (
        before.margins_source,
        before.benchmarks_sources,
    )
    if before.stored and not differences and not sources_changed:
        return before, {}
    row = session.get(WaveSettings, wave.id)
    if row is None:
        row = WaveSettings(wave_id=wave.id)
        session.add(row)
    row.settings = updated.to_dict()
    row.digest = updated.digest()
    row.sources = _sources_dict(margins_source, benchmarks_sources)
    row.organiser = changed.organiser
    row.contact_phone = changed.contact_phone
    row.changed_by = actor.username if isinstance(actor, User) else str(actor)
    row.changed_at = utcnow()
    session.flush()
    audit.record(
        session,
        "wave.settings",
        actor=actor,
        target=audit.wave_target(wave.code),
        detail={
            "changed": {key: {"before": earlier, "after": after} for key, (earlier, after) in differences.items()},
            "first": not before.stored,
            "digest": row.digest,
            "sources": row.sources,
            **dict(changes.note),
        },
    )
    stored = StoredSettings(
        updated,
        stored=True,
        margins_source=margins_source,
        benchmarks_sources=tuple(benchmarks_sources),
        changed_by=row.changed_by,
        changed_at=row.changed_at,
        organiser=row.organiser,
        contact_phone=row.contact_phone,
    )
    return stored, differences


# --------------------------------------------------------------------------- reading them


#: How each mapping reads (the screen and ``--show``).
MAPPING_TEXT = {
    "linear": "linear: 1 → 0 … 5 → 100, (x − 1)/(K − 1) × 100",
    "monitoring": "monitoring: 1 → 20 … 5 → 100, x/K × 100 (the national monitoring's reading; 80+ is 满意)",
}


def _content_text(sha256: str | None, sources: Sequence[InputFile], what: str) -> str:
    if sha256 is None:
        return f"none ({what})"
    names = ", ".join(source.name for source in sources) or "stored content"
    return f"{names} (sha256 {sha256[:12]}…)"


def describe_settings(stored: StoredSettings) -> list[tuple[str, str]]:
    """``(setting, value in words)`` rows, in :data:`SETTING_ORDER` (for ``--show``)."""
    settings = stored.settings
    screening = settings.screening
    target = "none (no target test)" if settings.target is None else f"{settings.target:g}"
    weights = settings.domain_weights
    if weights is None:
        weights_text = "equal"
    elif weights == "derived":
        weights_text = "derived (relative importance for 'overall')"
    else:
        weights_text = ", ".join(f"{domain} {weight:g}" for domain, weight in dict(weights).items())
    rows = [
        ("target", target),
        ("target_metric", f"{settings.target_metric} (the plan's target; both metrics are always tested)"),
        ("mapping", MAPPING_TEXT.get(settings.mapping, settings.mapping)),
        ("strata", settings.strata or "none"),
        ("cluster", settings.cluster or "none"),
        ("unclustered", f"{settings.unclustered} (rows without a collection point: phone, paper)"),
        ("variance", settings.variance + (f", {settings.replicates} replicates" if settings.replicates else "")),
        ("seed", str(settings.seed)),
        ("lonely_psu", settings.lonely_psu),
        ("screening", screening.describe()),
        ("min_n", str(settings.min_n)),
        ("min_psus", str(settings.min_psus)),
        ("suppress_min_n", str(settings.suppress_min_n)),
        ("suppress_max_cv", f"{settings.suppress_max_cv:g}"),
        ("rate_interval", settings.rate_interval),
        ("domain_weights", weights_text),
        ("margins", _content_text(settings.margins_sha256, [s for s in [stored.margins_source] if s], "unweighted")),
        ("trim", "none" if settings.trim is None else f"{settings.trim[0]:g}–{settings.trim[1]:g}"),
        ("benchmarks", _content_text(settings.benchmarks_sha256, stored.benchmarks_sources, "no rankings")),
        ("assumed_se", f"{settings.assumed_se:g} index points"),
        ("illustrative", "yes" if settings.illustrative else "no"),
        ("district", settings.district),
        ("organiser", stored.organiser or "none (not shown to residents)"),
        ("contact_phone", stored.contact_phone or "none (not shown to residents)"),
    ]
    return rows
