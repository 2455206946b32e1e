"""Writing the synthetic responses and margins as the CSV files of the data contracts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .parameters import (
    RESPONSE_FIXED_COLUMNS,
)
from .records import (
    _validate_int,
)


def write_responses_csv(responses: pd.DataFrame, path: str | Path, *, chunk_rows: int = 100_000) -> Path:
    """Write a responses table as the contract's CSV (UTF-8, header, empty = missing).

    Likert answers are written as integers (``4``, not ``4.0``); the table is written in
    chunks so that a million rows need little extra memory.

    Parameters
    ----------
    responses : DataFrame
        A responses table, e.g. ``sample.responses``.
    path : str or Path
        Target file (overwritten).
    chunk_rows : int
        Rows per chunk.

    Returns
    -------
    Path
    """
    chunk_rows = _validate_int(chunk_rows, "chunk_rows", minimum=1)
    missing = [column for column in RESPONSE_FIXED_COLUMNS if column not in responses.columns]
    if missing:
        raise ValueError(f"responses lack the contract's column(s) {missing}; pass a table from draw_sample")
    target = Path(path)
    answer_columns = [
        column
        for column in responses.columns
        if column not in RESPONSE_FIXED_COLUMNS and pd.api.types.is_float_dtype(responses[column])
    ]
    with target.open("w", encoding="utf-8", newline="") as handle:
        for first in range(0, max(len(responses), 1), chunk_rows):
            chunk = responses.iloc[first : first + chunk_rows]
            as_text = {}
            for column in answer_columns:
                text = _small_integers_as_text(chunk[column].to_numpy())
                if text is not None:
                    as_text[column] = text
            if as_text:
                chunk = chunk.assign(**as_text)
            chunk.to_csv(handle, index=False, header=first == 0, float_format="%.10g", lineterminator="\n")
    return target


_SMALL_INTEGER_TEXT = np.array(["", *(str(k) for k in range(101))], dtype=object)


def _small_integers_as_text(values: np.ndarray) -> np.ndarray | None:
    """Answer codes 0–100 as text ("4", "" for missing) — twice as fast as float formatting.

    Returns None when the column holds anything else (it is then written as floats).
    """
    present = values[~np.isnan(values)]
    if present.size and (present.min() < 0 or present.max() > 100 or (present != np.round(present)).any()):
        return None
    return np.asarray(_SMALL_INTEGER_TEXT[np.nan_to_num(values, nan=-1.0).astype(np.int64) + 1])


def write_margins_csv(margins: pd.DataFrame, path: str | Path) -> Path:
    """Write population margins as the contract's CSV ``variable,level,population``."""
    expected = ["variable", "level", "population"]
    if list(margins.columns) != expected:
        raise ValueError(f"margins must have exactly the columns {expected}, got {list(margins.columns)}")
    target = Path(path)
    margins.to_csv(target, index=False, encoding="utf-8", lineterminator="\n")
    return target
