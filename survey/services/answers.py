"""Packed answer storage: one byte per Likert item of a questionnaire version.

Encoding: 0 = not answered, 1..K = the scale point, 255 = 不适用/不清楚.  Both 0 and 255
are missing for scoring.  See ``docs/design.md`` for why answers are stored this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from survey.models import NOT_ANSWERED, NOT_APPLICABLE

#: Value used in Python for "不适用/不清楚" before packing.
NA = "na"


def pack(codes: Sequence[str], answers: Mapping[str, int | str | None]) -> bytes:
    """Pack ``answers`` (code → 1..K, ``"na"`` or None) in the order of ``codes``."""
    out = bytearray(len(codes))
    for position, code in enumerate(codes):
        value = answers.get(code)
        if value is None:
            continue
        if value == NA:
            out[position] = NOT_APPLICABLE
        else:
            number = int(value)
            if not 1 <= number <= 254:
                raise ValueError(f"answer {value!r} to {code} is outside the scale")
            out[position] = number
    return bytes(out)


def unpack(codes: Sequence[str], packed: bytes) -> dict[str, int | str]:
    """The answers that were given (not-answered items are left out)."""
    answers: dict[str, int | str] = {}
    for code, byte in zip(codes, packed):
        if byte == NOT_ANSWERED:
            continue
        answers[code] = NA if byte == NOT_APPLICABLE else byte
    return answers


def decode_matrix(blobs: Sequence[bytes], n_items: int) -> np.ndarray:
    """Decode many packed answer sets of one version into a float matrix (NaN = missing)."""
    if not blobs:
        return np.empty((0, n_items))
    joined = b"".join(blobs)
    if len(joined) != n_items * len(blobs):  # only if a blob was written short or long
        joined = b"".join(blob.ljust(n_items, b"\0")[:n_items] for blob in blobs)
    raw = np.frombuffer(joined, dtype=np.uint8)
    matrix = raw.reshape(len(blobs), n_items).astype(np.float64)
    matrix[(matrix == NOT_ANSWERED) | (matrix == NOT_APPLICABLE)] = np.nan
    return matrix
