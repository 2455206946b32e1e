"""The drawn sample as rows (which person, at which point, through which channel) and the
sampling design that drew them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class _Design:
    """The ordinary rows of a sample: residents drawn at the drawn points and without a point."""

    cell_of_row: np.ndarray  # (n,) cell of the resident
    channel: np.ndarray  # (n,) 0 = at a point (the points' channel), k = k-th no-point channel
    sampled_point_ids: np.ndarray  # drawn points
    allocation: np.ndarray  # (T,) rows at a point per point's town
    intensity: np.ndarray  # (C,) selection intensity of each cell (residents × propensity)
    cell_weight: np.ndarray  # (C,) true design weight of a resident of each cell


@dataclass(frozen=True, eq=False)
class _Rows:
    """Every row of a sample, before answers: who, where, by which channel, planted or not."""

    cell_of_row: np.ndarray
    person_index: np.ndarray  # −1 for bot-farm rows
    selection_weights: np.ndarray  # NaN for bot-farm rows
    channel: np.ndarray
    coached: np.ndarray  # bool
    bot: np.ndarray  # bool
    coached_point_ids: np.ndarray

    @property
    def at_point(self) -> np.ndarray:
        return np.asarray(self.channel == 0)

    def reordered(self, order: np.ndarray) -> _Rows:
        return _Rows(
            cell_of_row=self.cell_of_row[order],
            person_index=self.person_index[order],
            selection_weights=self.selection_weights[order],
            channel=self.channel[order],
            coached=self.coached[order],
            bot=self.bot[order],
            coached_point_ids=self.coached_point_ids,
        )
