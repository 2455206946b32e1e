"""Hand-made inputs for the report tests: a results dict in the estimate contract.

The report must not depend on how the engine computes its numbers, so these tests build
results from synthetic responses with simple (unweighted, simple-random-sampling)
formulas.  The numbers are plausible, not design-based; only their shape matters here.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from scoring.questionnaire import DOMAIN_IDS


@lru_cache(maxsize=4)
def synthetic_responses(n: int = 2500, seed: int = 11) -> pd.DataFrame:
    """Synthetic responses with the item codes of the shipped questionnaires."""
    from scoring.questionnaire import load_questionnaires
    from scoring.synthetic import generate_survey
    from tests.conftest import QUESTIONNAIRES

    _, sample = generate_survey(
        n, seed=seed, population_size=120_000, questionnaires=load_questionnaires(QUESTIONNAIRES)
    )
    return sample.responses


def _index(frame: pd.DataFrame, domain: str) -> tuple[np.ndarray, np.ndarray]:
    aspects = [c for c in frame.columns if c.startswith(f"{domain}.") and c != f"{domain}.overall"]
    scores = (frame[aspects].to_numpy(dtype=float, na_value=np.nan) - 1) / 4 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without any answer: NaN
        respondent = np.nanmean(scores, axis=1)
    overall = frame[f"{domain}.overall"].to_numpy(dtype=float, na_value=np.nan)
    return respondent, overall


def _mean_ci(values: np.ndarray, df: int) -> dict:
    values = values[~np.isnan(values)]
    n = len(values)
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(n))
    t = float(stats.t.ppf(0.975, df))
    return {"index": mean, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se, "n": n}


def _rate(values: np.ndarray) -> dict:
    values = values[~np.isnan(values)]
    p = float((values >= 4).mean())
    se = math.sqrt(p * (1 - p) / len(values))
    return {"estimate": p, "se": se, "ci_low": max(p - 1.96 * se, 0.0), "ci_high": min(p + 1.96 * se, 1.0)}


def _test(estimate: float, se: float, df: int, target: float, metric: str, interval=None) -> dict:
    """A target test in the contract, by the engine's own rule (the verdict reads the 95% interval)."""
    from scoring.target import target_test

    return target_test(estimate, se, df, target=target, metric=metric, interval=interval).to_dict()


def _sensitivity(frame: pd.DataFrame, overall: dict) -> dict:
    """A sensitivity section: the 'weighted' headline is the overall, the unweighted one moves a little."""

    def headline(shift: float, n: int) -> dict:
        rate = dict(overall["satisfied_rate"], estimate=overall["satisfied_rate"]["estimate"] - shift / 100)
        index = {key: overall[key] + shift for key in ("index", "ci_low", "ci_high")}
        return {
            "index": {
                "estimate": index["index"],
                "se": overall["se"],
                "ci_low": index["ci_low"],
                "ci_high": index["ci_high"],
                "df": overall["df"],
                "unstable": False,
                "unstable_reason": None,
            },
            "satisfied_rate": rate,
            "n": n,
        }

    return {
        "headline": ["index", "satisfied_rate"],
        "note": "Residents who scan a QR code choose themselves.",
        "weighting": {
            "method": "raking",
            "unweighted": headline(0.8, len(frame)),
            "weighted": headline(0.0, len(frame)),
        },
        "screening": {
            "rules": "…",
            "with": headline(0.0, len(frame)),
            "without": headline(-0.2, len(frame) + 27),
            "excluded": 27,
            "problem": None,
        },
        "channel": {"qr": headline(0.0, len(frame))},
        "point_type": None,
    }


def fake_results(frame: pd.DataFrame, *, target: float = 85.0, shift: float = 0.0) -> dict:
    """Results in the estimate contract (``shift`` moves every index, for a 'previous wave')."""
    df = 36
    domains = {}
    indices = []
    for domain in DOMAIN_IDS:
        respondent, overall = _index(frame, domain)
        entry = _mean_ci(respondent, df)
        for key in ("index", "ci_low", "ci_high"):
            entry[key] += shift
        entry.update({"deff": 1.4, "alpha": 0.8, "satisfied_rate": _rate(overall)})
        domains[domain] = entry
        indices.append(entry["index"])
    overall_index = float(np.mean(indices))
    overall_se = float(np.sqrt(np.mean([d["se"] ** 2 for d in domains.values()]) / 4))
    t = float(stats.t.ppf(0.975, df))
    overall = {
        "index": overall_index,
        "se": overall_se,
        "ci_low": overall_index - t * overall_se,
        "ci_high": overall_index + t * overall_se,
        "df": df,
        "n": len(frame),
        "satisfied_rate": _rate(frame["overall"].to_numpy(dtype=float, na_value=np.nan)),
    }
    targets = {
        "metric": "index",
        "index": _test(overall["index"], overall["se"], df, target, "index"),
        "satisfied_rate": _test(
            overall["satisfied_rate"]["estimate"],
            overall["satisfied_rate"]["se"],
            df,
            target,
            "satisfied_rate",
            interval=(overall["satisfied_rate"]["ci_low"], overall["satisfied_rate"]["ci_high"]),
        ),
    }
    for entry in domains.values():
        rate = entry["satisfied_rate"]
        entry["targets"] = {
            "metric": "index",
            "index": _test(entry["index"], entry["se"], df, target, "index"),
            "satisfied_rate": _test(
                rate["estimate"], rate["se"], df, target, "satisfied_rate", interval=(rate["ci_low"], rate["ci_high"])
            ),
        }
    subgroups: dict = {"town": {}, "sex": {}, "age_group": {}}
    for variable in subgroups:
        for level, part in frame.groupby(variable):
            cells = {}
            values = []
            for domain in DOMAIN_IDS:
                respondent, _ = _index(part, domain)
                answered = respondent[~np.isnan(respondent)]
                if len(answered) < 2:
                    continue
                entry = _mean_ci(answered, df)
                values.append(entry["index"])
                cv = entry["se"] / entry["index"]
                cells[domain] = {
                    "index": entry["index"],
                    "se": entry["se"],
                    "ci_low": entry["ci_low"],
                    "ci_high": entry["ci_high"],
                    "n": entry["n"],
                    "cv": cv,
                    "suppressed": bool(entry["n"] < 30 or cv > 0.3),
                }
            se = float(np.sqrt(np.mean([c["se"] ** 2 for c in cells.values()]) / 4))
            index = float(np.mean(values))
            half = float(stats.t.ppf(0.975, df)) * se
            cells["overall"] = {
                "index": index,
                "se": se,
                "ci_low": index - half,
                "ci_high": index + half,
                "n": int(len(part)),
                "cv": se / index,
                "suppressed": bool(len(part) < 30),
            }
            subgroups[variable][str(level)] = cells
    return {
        "overall": overall,
        "domains": domains,
        "target": targets["index"],
        "targets": targets,
        "scale": {"mapping": "linear", "description": "(x − 1)/(K − 1) × 100", "points": [5]},
        "weights": {"method": "rake", "effective_n": 0.7 * len(frame), "deff": 1.43, "min": 0.3, "max": 4.2},
        "design": {"strata": "town", "clusters": "point", "df": df, "variance": "linearization"},
        "excluded": {"speeders": 12, "straight_liners": 5, "duplicate_browser": 3, "partial": 7},
        "subgroups": subgroups,
        "sensitivity": _sensitivity(frame, overall),
        "inputs": {"responses.csv": "0" * 64},
        "version": "test",
    }
