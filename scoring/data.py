"""Reading and validating the scoring engine's inputs.

* The **responses table** (docs/contracts.md): ``response_id`` and the item columns are
  required; ``wave, channel, point, town, sex, age_group, duration_s, submitted_at`` and
  the declared optional columns ``state, flags, comment, services_used, base_weight,
  point_town, point_type, ip_hash, browser_hash`` are recognised; any other column is an error naming it.
  ``point_town`` is the town where the response's collection point stands (the design's
  strata, :func:`scoring.design.collection_design`); ``town`` stays the resident's town of
  residence.  ``point_type`` is the point's focus domain id (empty for a general point).
  ``ip_hash`` and ``browser_hash`` are keyed hashes of the client address and the browser id
  (hex; the integrity checks, :mod:`scoring.integrity`) — a raw address is refused.  Likert answers are codes 1..K,
  empty for "not applicable / don't know".
* The **instrument** (:class:`Instrument`): which items make which domain, their weights
  and scale lengths — from the questionnaire folder, or, without one, from the
  ``<domain>.`` prefixes of the columns (item weights 1, five-point items).
* The **margins** file ``variable, level, population`` and the **domain-weights** file
  ``domain, weight``.

:func:`read_responses` reads a CSV quickly (a million rows in seconds);
:func:`validate_responses` checks an in-memory table — from the CSV or from the web app's
adapter — and returns :class:`Responses`: the answers as one numeric matrix and the
other columns.  Every problem raises a :class:`~scoring.errors.ScoringInputError` naming
the column, the level or the row (rows count from 1, after the header).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .errors import DomainWeightsError, MarginsError, ResponsesError
from .questionnaire import DOMAIN_IDS, OUTSIDE_DISTRICT, REFUSED, QuestionnaireSet
from .weighting import Margin, margins_from_frame

__all__ = [
    "DEFAULT_SCALE_LENGTH",
    "FIXED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTSIDE_DISTRICT",
    "REFUSED",
    "DomainItems",
    "Instrument",
    "Responses",
    "file_sha256",
    "read_domain_weights",
    "read_margins",
    "read_responses",
    "validate_responses",
]

Source = str | Path | IO[str] | IO[bytes]

#: The fixed leading columns of the responses contract, in order.
FIXED_COLUMNS: tuple[str, ...] = (
    "response_id",
    "wave",
    "channel",
    "point",
    "town",
    "sex",
    "age_group",
    "duration_s",
    "submitted_at",
)
#: Declared optional columns: recognised, never an "unknown column" error.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "state",
    "flags",
    "comment",
    "services_used",
    "base_weight",
    "point_town",
    "point_type",
    "ip_hash",
    "browser_hash",
)
#: Keyed-hash paradata columns (the integrity checks): pseudonymous hex tokens, never raw
#: addresses or cookies.
HASH_COLUMNS: tuple[str, ...] = ("ip_hash", "browser_hash")
_HASH_TOKEN = re.compile(r"^[0-9a-f]{16,128}$")
#: Columns the engine never reads (skipped when reading a CSV unless asked for).
#: ``wave`` is kept: reports name the wave; ``channel`` too: rows without a point form
#: one stratum per channel, and the sensitivity table splits the headline by channel.
IGNORED_COLUMNS: tuple[str, ...] = ("submitted_at", "comment", "services_used")
STATES: tuple[str, ...] = ("submitted", "partial")
#: ``sex`` and ``age_group`` may be :data:`REFUSED` (不愿回答); ``town`` may be
#: :data:`OUTSIDE_DISTRICT` (不在荆州区居住) when the questionnaires list it.
DEFAULT_SEXES: tuple[str, ...] = ("male", "female", REFUSED)
DEFAULT_AGE_GROUPS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+", REFUSED)
DEFAULT_SCALE_LENGTH = 5
GLOBAL_OVERALL = "overall"
_ITEM_CODE = re.compile(r"^(?P<domain>[a-z][a-z0-9_]*)\.(?P<item>[a-z][a-z0-9_]*)$")
_CATEGORICAL = (
    "point",
    "town",
    "sex",
    "age_group",
    "state",
    "flags",
    "wave",
    "channel",
    "point_town",
    "point_type",
    "ip_hash",
    "browser_hash",
)
_NUMERIC = ("duration_s", "base_weight")


def looks_like_item(column: str) -> bool:
    """Whether a column name is an item code (``<domain>.<item>`` or ``overall``)."""
    return column == GLOBAL_OVERALL or bool(_ITEM_CODE.match(column))


# ---------------------------------------------------------------------------- instrument


@dataclass(frozen=True)
class DomainItems:
    """The items of one domain: aspect items (with weights) and ``<domain>.overall``."""

    domain: str
    aspects: tuple[str, ...]
    aspect_weights: tuple[float, ...]
    overall: str | None


@dataclass(frozen=True)
class Instrument:
    """What the scoring needs to know about the questionnaires.

    Attributes
    ----------
    domains : tuple of DomainItems
        In the fixed domain order.
    overall : str or None
        The global overall item (``overall``), if present.
    scale_lengths : mapping
        Scale length K of every item.
    towns : tuple of str or None
        Allowed town codes (None: not checked).
    sexes, age_groups : tuple of str
        Allowed codes.
    source : str
        ``questionnaires`` or ``columns``.
    """

    domains: tuple[DomainItems, ...]
    overall: str | None
    scale_lengths: Mapping[str, int] = field(repr=False)
    towns: tuple[str, ...] | None = None
    sexes: tuple[str, ...] = DEFAULT_SEXES
    age_groups: tuple[str, ...] = DEFAULT_AGE_GROUPS
    source: str = "columns"

    @property
    def domain_ids(self) -> tuple[str, ...]:
        return tuple(d.domain for d in self.domains)

    @property
    def item_codes(self) -> tuple[str, ...]:
        codes = [code for d in self.domains for code in (*d.aspects, *([d.overall] if d.overall else []))]
        return tuple(codes + ([self.overall] if self.overall else []))

    @property
    def aspect_codes(self) -> tuple[str, ...]:
        return tuple(code for d in self.domains for code in d.aspects)

    def domain(self, domain_id: str) -> DomainItems:
        for domain in self.domains:
            if domain.domain == domain_id:
                return domain
        raise KeyError(f"no domain {domain_id!r}; domains: {', '.join(self.domain_ids)}")

    @classmethod
    def from_questionnaires(cls, questionnaires: QuestionnaireSet) -> Instrument:
        """Items, weights, scale lengths and demographic codes from the questionnaire set."""
        domains, lengths = [], {}
        for domain_id, questionnaire in questionnaires.domains.items():
            likert = [item for item in questionnaire.items if item.kind == "likert"]
            aspects = [item for item in likert if item.role == "aspect"]
            overall = next((item.code for item in likert if item.role == "overall"), None)
            for item in likert:
                lengths[item.code] = questionnaires.scale_length(item.code)
            domains.append(
                DomainItems(domain_id, tuple(i.code for i in aspects), tuple(i.weight for i in aspects), overall)
            )
        overall = None
        common_codes = {item.code: item for item in questionnaires.common.items}
        if GLOBAL_OVERALL in common_codes and common_codes[GLOBAL_OVERALL].kind == "likert":
            overall = GLOBAL_OVERALL
            lengths[GLOBAL_OVERALL] = questionnaires.scale_length(GLOBAL_OVERALL)

        def choices(code: str, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
            item = common_codes.get(code)
            return tuple(c.value for c in item.choices) if item is not None and item.choices else default

        return cls(
            domains=tuple(domains),
            overall=overall,
            scale_lengths=lengths,
            towns=choices("town", None),
            sexes=choices("sex", DEFAULT_SEXES) or DEFAULT_SEXES,
            age_groups=choices("age_group", DEFAULT_AGE_GROUPS) or DEFAULT_AGE_GROUPS,
            source="questionnaires",
        )

    @classmethod
    def from_columns(cls, columns: Iterable[str]) -> Instrument:
        """Domains from the ``<domain>.`` prefixes: weights 1, five-point items.

        Raises
        ------
        ResponsesError
            For a prefix that is not a domain id, or a domain without aspect items.
        """
        by_domain: dict[str, list[str]] = {}
        overall = None
        for column in columns:
            if column == GLOBAL_OVERALL:
                overall = column
                continue
            match = _ITEM_CODE.match(column)
            if not match:
                continue
            domain = match["domain"]
            if domain not in DOMAIN_IDS:
                raise ResponsesError(
                    f"unknown column {column!r}: {domain!r} is not a domain id ({', '.join(DOMAIN_IDS)}); "
                    "rename or remove the column"
                )
            by_domain.setdefault(domain, []).append(column)
        domains = []
        for domain in DOMAIN_IDS:
            codes = by_domain.get(domain)
            if not codes:
                continue
            aspects = tuple(c for c in codes if c != f"{domain}.overall")
            if not aspects:
                raise ResponsesError(
                    f"domain {domain!r} has only the column '{domain}.overall' and no aspect items; "
                    "its index needs at least one aspect item column"
                )
            domains.append(
                DomainItems(
                    domain,
                    aspects,
                    (1.0,) * len(aspects),
                    f"{domain}.overall" if f"{domain}.overall" in codes else None,
                )
            )
        if not domains:
            raise ResponsesError(
                "the responses table has no item columns (<domain>.<item>, e.g. education.school_places); "
                "nothing to score"
            )
        lengths = {
            code: DEFAULT_SCALE_LENGTH for d in domains for code in (*d.aspects, *([d.overall] if d.overall else []))
        }
        if overall:
            lengths[overall] = DEFAULT_SCALE_LENGTH
        return cls(domains=tuple(domains), overall=overall, scale_lengths=lengths, source="columns")


# ---------------------------------------------------------------------------- responses


@dataclass(frozen=True, eq=False)
class Responses:
    """A validated responses table.

    Attributes
    ----------
    frame : DataFrame
        The non-item columns (``response_id``, design and demographic columns, ``state``,
        ``flags``, ``duration_s``, ``base_weight`` — whichever are present), index 0..n−1.
    answers : ndarray of int8, shape (n, m), column-major
        Likert codes 1..K, 0 for missing; columns in ``instrument.item_codes`` order.
    instrument : Instrument
    """

    frame: pd.DataFrame = field(repr=False)
    answers: np.ndarray = field(repr=False)
    instrument: Instrument

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def item_codes(self) -> tuple[str, ...]:
        return self.instrument.item_codes

    def answer(self, code: str) -> np.ndarray:
        """The codes of one item (int8, 0 = missing)."""
        return self.answers[:, self.item_codes.index(code)]

    def subset(self, keep: np.ndarray) -> Responses:
        """The rows where ``keep`` is true."""
        keep = np.asarray(keep, dtype=bool)
        if keep.all():
            return self
        rows = np.flatnonzero(keep)
        answers = np.empty((rows.size, self.answers.shape[1]), dtype=np.int8, order="F")
        for j in range(self.answers.shape[1]):  # column by column: contiguous reads and writes
            np.take(self.answers[:, j], rows, out=answers[:, j])
        return Responses(self.frame.take(rows).reset_index(drop=True), answers, self.instrument)

    def digest(self) -> str:
        """SHA-256 of the validated content (column names, every value, in row order)."""
        digest = hashlib.sha256()
        for name in self.frame.columns:
            column = self.frame[name]
            digest.update(f"\n{name}:".encode())
            if isinstance(column.dtype, pd.CategoricalDtype):
                digest.update("\x1f".join(map(str, column.cat.categories)).encode())
                digest.update(column.cat.codes.to_numpy().tobytes())
            elif pd.api.types.is_numeric_dtype(column):
                digest.update(column.to_numpy(dtype=np.float64, na_value=np.nan).tobytes())
            else:
                digest.update("\x1f".join(column.to_numpy(dtype=object, na_value="").astype(str).tolist()).encode())
        digest.update(("\n" + ",".join(self.item_codes)).encode())
        digest.update(self.answers.tobytes(order="F"))
        return digest.hexdigest()


def _header(source: Source) -> list[str]:
    if isinstance(source, (str, Path)):
        with open(source, newline="", encoding="utf-8-sig") as handle:
            row = next(csv.reader(handle), None)
    else:
        position = source.tell()
        text = source.readline()
        source.seek(position)
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        row = next(csv.reader([text.lstrip("\ufeff")]), None)
    if not row:
        raise ResponsesError("the responses file is empty; it needs a header row (response_id, …, item codes)")
    return [c.strip() for c in row]


def read_responses(source: Source, *, columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a responses CSV (UTF-8, header row, empty = missing) into a DataFrame.

    Columns the engine never uses (``wave, channel, submitted_at, comment,
    services_used``) are checked in the header but not loaded unless named in
    ``columns``.  The table is *not* validated here: pass it to
    :func:`validate_responses`.

    Parameters
    ----------
    source : path or file object
    columns : sequence of str
        Extra columns to load (e.g. a ``--strata`` column among the ignored ones).

    Raises
    ------
    ResponsesError
        For an unreadable, non-UTF-8 or empty file, or duplicated column names.
    """
    try:
        header = _header(source)
    except UnicodeDecodeError as error:
        raise ResponsesError(
            f"the responses file is not UTF-8 ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    except FileNotFoundError:
        raise ResponsesError(f"responses file not found: {source}") from None
    seen = set()
    for column in header:
        if column in seen:
            raise ResponsesError(f"column {column!r} appears twice in the header; every column name must be unique")
        seen.add(column)
    load = [c for c in header if c not in IGNORED_COLUMNS or c in columns]
    dtypes: dict[str, object] = {}
    for column in load:
        if looks_like_item(column):
            # float32 parses faster than float64 and holds every Likert code (and "4.0")
            # exactly; validation still rejects anything but whole codes 1..K.
            dtypes[column] = "float32"
        elif column in _NUMERIC:
            dtypes[column] = "float64"
        elif column in _CATEGORICAL:
            dtypes[column] = "category"
        else:
            dtypes[column] = str
    options = dict(encoding="utf-8-sig", keep_default_na=False, na_values=[""], skipinitialspace=False)
    try:
        frame = pd.read_csv(source, usecols=load, dtype=dtypes, **options)
    except UnicodeDecodeError as error:
        raise ResponsesError(f"the responses file is not UTF-8 ({error.reason}); save it as UTF-8") from None
    except ValueError:
        # A value that is not a number where one is expected: read the text and let
        # validate_responses name the column and row.
        if not isinstance(source, (str, Path)):
            source.seek(0)
        text_types = {c: ("category" if t == "category" else str) for c, t in dtypes.items()}
        frame = pd.read_csv(source, usecols=load, dtype=text_types, **options)
    except pd.errors.ParserError as error:
        raise ResponsesError(f"the responses file is not valid CSV: {error}") from None
    frame.attrs["all_columns"] = header
    return frame[[c for c in header if c in frame.columns]]


def _row_label(frame: pd.DataFrame, row: int) -> str:
    ids = frame["response_id"] if "response_id" in frame.columns else None
    return f"row {row + 1}" + (f" (response_id {str(ids.iloc[row])!r})" if ids is not None else "")


def _as_number(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats (float32 columns stay float32); non-numeric text is an error naming the row."""
    series = frame[column]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
        return np.asarray(series.to_numpy())
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    numbers = pd.to_numeric(series.astype("object").where(series.notna(), None), errors="coerce")
    blank = series.isna() | (series.astype("object").map(lambda v: isinstance(v, str) and not v.strip()))
    bad = numbers.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ResponsesError(
            f"column {column!r}, {_row_label(frame, row)}: {series.iloc[row]!r} is not a number; "
            "use digits only (empty for missing)"
        )
    return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan))


def _check_codes(
    frame: pd.DataFrame, column: str, allowed: Sequence[str], what: str, *, blank_ok: bool = False
) -> None:
    codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    unknown = [
        position
        for position, value in enumerate(uniques)
        if str(value) not in allowed and not (blank_ok and not str(value).strip())
    ]
    if not unknown:
        return
    row = int(np.flatnonzero(np.isin(codes, unknown))[0])
    raise ResponsesError(
        f"column {column!r}, {_row_label(frame, row)}: {str(frame[column].iloc[row])!r} is not a {what} code; "
        f"use one of {', '.join(allowed)} (empty when unknown)"
    )


def _check_hashes(frame: pd.DataFrame, column: str) -> None:
    """``ip_hash``/``browser_hash`` hold keyed hashes (lower-case hex), never an address or a cookie."""
    codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
    bad = [k for k, value in enumerate(uniques) if str(value).strip() and not _HASH_TOKEN.match(str(value))]
    if not bad:
        return
    row = int(np.flatnonzero(np.isin(codes, bad))[0])
    raise ResponsesError(
        f"column {column!r}, {_row_label(frame, row)}: not a keyed hash (16–128 lower-case hex digits); "
        "the responses table never holds raw network addresses or browser ids — write their keyed hashes "
        "(HMAC-SHA256, hex) or drop the column"
    )


def validate_responses(
    frame: pd.DataFrame,
    instrument: Instrument | QuestionnaireSet | None = None,
    *,
    required: Sequence[str] = (),
) -> Responses:
    """Check a responses table against the contract and the instrument.

    Parameters
    ----------
    frame : DataFrame
        A responses table (from :func:`read_responses` or built in memory); it is not
        modified.
    instrument : Instrument or QuestionnaireSet, optional
        Without it, domains come from the column prefixes.
    required : sequence of str
        Further columns that must be present (e.g. ``town`` for the strata).

    Returns
    -------
    Responses

    Raises
    ------
    ResponsesError
        A missing or unknown column, a duplicated or empty ``response_id``, an answer
        that is not a code of its scale, an unknown sex / age group / town code, a
        non-positive ``base_weight``, an unknown ``state`` — naming column and row.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ResponsesError(f"responses must be a pandas DataFrame, got {type(frame).__name__}")
    columns = [str(c) for c in frame.attrs.get("all_columns", frame.columns)]
    if isinstance(instrument, QuestionnaireSet):
        instrument = Instrument.from_questionnaires(instrument)
    if instrument is None:
        instrument = Instrument.from_columns(columns)
    known_items = set(instrument.item_codes)
    for column in columns:
        if column in FIXED_COLUMNS or column in OPTIONAL_COLUMNS or column in known_items:
            continue
        if looks_like_item(column):
            raise ResponsesError(
                f"column {column!r} is not an item of the questionnaires; correct the item code or use the "
                "questionnaires the data were collected with"
            )
        raise ResponsesError(
            f"unknown column {column!r}; the responses table has the fixed columns ({', '.join(FIXED_COLUMNS)}), "
            f"the optional columns ({', '.join(OPTIONAL_COLUMNS)}) and item codes — remove or rename it"
        )
    for column in ("response_id", *instrument.item_codes, *required):
        if column not in frame.columns:
            what = "item column" if column in known_items else "column"
            raise ResponsesError(f"missing {what} {column!r}; the responses table must have it")
    if len(frame) == 0:
        raise ResponsesError("the responses table has no rows")
    frame = frame.reset_index(drop=True)

    ids = frame["response_id"]
    empty_ids = ids.isna() | (ids.astype(str) == "")
    if empty_ids.any():
        row = int(np.flatnonzero(empty_ids.to_numpy())[0])
        raise ResponsesError(f"column 'response_id', row {row + 1}: empty; every response needs an id")
    duplicated = ids.duplicated(keep=False)
    if duplicated.any():
        rows = np.flatnonzero(duplicated.to_numpy())[:2]
        raise ResponsesError(
            f"column 'response_id': {str(ids.iloc[rows[0]])!r} appears more than once (rows {rows[0] + 1} and "
            f"{rows[1] + 1}); ids must be unique"
        )

    answers = _validated_answers(frame, instrument)
    # Keep the columns the engine uses; design and demographic columns become
    # categoricals once, so that screening, design, margins and subgroups factorize
    # them for free.
    other = [c for c in frame.columns if c not in known_items and (c not in IGNORED_COLUMNS or c in required)]
    table = frame[other].copy()
    for column in table.columns:
        series = table[column]
        if column in ("response_id", *_NUMERIC) or isinstance(series.dtype, pd.CategoricalDtype):
            continue
        if not pd.api.types.is_numeric_dtype(series):
            table[column] = series.astype("category")
    if "sex" in table.columns:
        _check_codes(table, "sex", instrument.sexes, "sex")
    if "age_group" in table.columns:
        _check_codes(table, "age_group", instrument.age_groups, "age group")
    if "town" in table.columns and instrument.towns is not None:
        _check_codes(table, "town", instrument.towns, "town (common.yaml)")
    if "point_town" in table.columns and instrument.towns is not None:
        _check_codes(table, "point_town", instrument.towns, "town (common.yaml)", blank_ok=True)
    if "point_type" in table.columns:
        _check_codes(table, "point_type", DOMAIN_IDS, "domain id (a point's focus domain)", blank_ok=True)
    if "state" in table.columns:
        _check_codes(table, "state", STATES, "state")
    for column in HASH_COLUMNS:
        if column in table.columns:
            _check_hashes(table, column)

    if "duration_s" in table.columns:
        duration = _as_number(frame, "duration_s").astype(np.float64)
        negative = duration < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise ResponsesError(f"column 'duration_s', {_row_label(frame, row)}: {duration[row]:g} is negative")
        table["duration_s"] = duration
    if "base_weight" in table.columns:
        weight = _as_number(frame, "base_weight").astype(np.float64)
        bad = ~np.isfinite(weight) | (weight <= 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ResponsesError(
                f"column 'base_weight', {_row_label(frame, row)}: {frame['base_weight'].iloc[row]!r}; "
                "design weights must be positive numbers (drop the column to use 1)"
            )
        table["base_weight"] = weight
    return Responses(table, answers, instrument)


def _validated_answers(frame: pd.DataFrame, instrument: Instrument) -> np.ndarray:
    """Item columns as an int8 code matrix (0 = missing), column-major, checked against K."""
    codes = instrument.item_codes
    answers = np.zeros((len(frame), len(codes)), dtype=np.int8, order="F")
    for j, code in enumerate(codes):
        values = _as_number(frame, code)
        present = ~np.isnan(values)
        k = instrument.scale_lengths[code]
        with np.errstate(invalid="ignore"):
            bad = present & ((values < 1) | (values > k) | (values != np.rint(values)))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ResponsesError(
                f"column {code!r}, {_row_label(frame, row)}: {values[row]:g} is not a code of the {k}-point "
                f"scale; answers are 1–{k}, empty for 不适用/不清楚 (not applicable / don't know)"
            )
        answers[:, j] = np.where(present, values, 0.0)
    return answers


# ---------------------------------------------------------------------------- other files


def _read_small_csv(source: Source | pd.DataFrame, what: str, error: type[Exception]) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    try:
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{what} file not found: {source}") from None
    except UnicodeDecodeError:
        raise error(f"the {what} file is not UTF-8; save it as UTF-8") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as problem:
        raise error(f"the {what} file is not a valid CSV: {problem}") from None


def read_margins(source: Source | pd.DataFrame) -> tuple[Margin, ...]:
    """Read population margins ``variable, level, population`` (docs/contracts.md).

    Raises
    ------
    MarginsError
        Wrong columns, an empty variable or level, a population that is not a number ≥ 0,
        a level listed twice — naming the row.
    """
    frame = _read_small_csv(source, "margins", MarginsError)
    return margins_from_frame(frame, name="margins" if isinstance(source, pd.DataFrame) else f"margins file {source}")


def read_domain_weights(source: Source | pd.DataFrame | Mapping[str, float]) -> dict[str, float]:
    """Read domain weights ``domain, weight`` and normalise them to sum 1.

    Domains left out get no weight in the overall index.

    Raises
    ------
    DomainWeightsError
        Wrong columns, an unknown domain id, a domain listed twice, a weight that is not
        a positive number.
    """
    if isinstance(source, Mapping):
        rows = [(str(k), v) for k, v in source.items()]
        where = "domain weights"
    else:
        frame = _read_small_csv(source, "domain-weights", DomainWeightsError)
        columns = [str(c).strip() for c in frame.columns]
        if columns != ["domain", "weight"]:
            raise DomainWeightsError(
                f"the domain-weights file must have exactly the columns domain, weight; got {', '.join(columns)}"
            )
        rows = list(frame.itertuples(index=False, name=None))
        where = f"domain-weights file {source}" if not isinstance(source, pd.DataFrame) else "domain weights"
    weights: dict[str, float] = {}
    for row, (domain, weight) in enumerate(rows, start=1):
        domain = "" if pd.isna(domain) else str(domain).strip()
        if domain not in DOMAIN_IDS:
            raise DomainWeightsError(f"{where}, row {row}: {domain!r} is not a domain id ({', '.join(DOMAIN_IDS)})")
        if domain in weights:
            raise DomainWeightsError(f"{where}, row {row}: domain {domain!r} is listed twice")
        value = pd.to_numeric(pd.Series([weight]), errors="coerce").iloc[0]
        if pd.isna(value) or not np.isfinite(value) or value <= 0:
            raise DomainWeightsError(
                f"{where}, row {row}: the weight of {domain!r} must be a positive number, got {weight!r}"
            )
        weights[domain] = float(value)
    if not weights:
        raise DomainWeightsError(f"{where} lists no domain")
    total = sum(weights.values())
    return {domain: value / total for domain, value in weights.items()}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (recorded in the results' ``inputs``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
