"""Input errors of the scoring engine.

Every problem with the user's input — a responses table, a margins file, a domain-weights
file, an option — raises a subclass of :class:`ScoringInputError` (itself a
``ValueError``).  The message names the column, level or row at fault and says how to
fix it; the command line prints it and exits with status 2, writing nothing.
"""

from __future__ import annotations

__all__ = [
    "DesignError",
    "DomainWeightsError",
    "MarginsError",
    "RakingError",
    "ResponsesError",
    "ScoringInputError",
    "SettingsError",
    "WavesNotComparableError",
]


class ScoringInputError(ValueError):
    """Bad input to the scoring engine (the message says what and where)."""


class ResponsesError(ScoringInputError):
    """The responses table breaks the contract (column, code or value)."""


class MarginsError(ScoringInputError):
    """A margins file or table is invalid, or does not match the responses."""


class DomainWeightsError(ScoringInputError):
    """A domain-weights file or mapping is invalid."""


class DesignError(ScoringInputError):
    """The sampling design cannot be built or used (strata, clusters, lonely PSU)."""


class RakingError(ScoringInputError):
    """Calibration failed: an empty cell, or raking did not converge."""


class SettingsError(ScoringInputError):
    """A wave's analysis settings are invalid (the message names the setting and how to fix it)."""


class WavesNotComparableError(ScoringInputError):
    """Two waves' results were made with different settings, so their change is not a change."""
