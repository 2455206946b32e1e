"""Small hand-made inputs for the scoring tests (the R fixtures live in r/)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def small_responses(n: int = 240, *, seed: int = 0) -> pd.DataFrame:
    """A small responses table in the contract: 4 towns × 3 points, two domains + overall."""
    rng = np.random.default_rng(seed)
    towns = np.array(["xicheng", "dongcheng", "jinan", "mashan"])
    town = towns[rng.integers(0, 4, n)]
    point = np.char.add(town, np.char.add("-p", rng.integers(1, 4, n).astype(str)))
    frame = pd.DataFrame(
        {
            "response_id": [f"r{k:04d}" for k in range(1, n + 1)],
            "wave": "2025",
            "channel": "web",
            "point": point,
            "town": town,
            "sex": np.array(["male", "female"])[rng.integers(0, 2, n)],
            "age_group": np.array(["18-29", "30-44", "45-59", "60+"])[rng.integers(0, 4, n)],
            "duration_s": rng.uniform(100, 300, n).round(1),
            "submitted_at": "2025-05-01T10:00:00+08:00",
        }
    )
    for domain, items in (("education", 4), ("healthcare", 5)):
        used = rng.random(n) < 0.7
        level = rng.normal(3.6, 0.7, n)
        for k in range(1, items + 1):
            values = np.clip(np.rint(level + rng.normal(0, 0.8, n)), 1, 5)
            values[~used | (rng.random(n) < 0.08)] = np.nan
            frame[f"{domain}.q{k}"] = values
        overall = np.clip(np.rint(level + rng.normal(0, 0.6, n)), 1, 5)
        overall[~used] = np.nan
        frame[f"{domain}.overall"] = overall
    frame["overall"] = np.clip(np.rint(rng.normal(3.8, 0.8, n)), 1, 5)
    return frame


def small_margins(frame: pd.DataFrame, *, total: float = 50_000) -> pd.DataFrame:
    """Margins for town, sex and age group that differ from the sample's shares."""
    rows = []
    for variable, shares in (
        ("town", {"xicheng": 0.4, "dongcheng": 0.3, "jinan": 0.2, "mashan": 0.1}),
        ("sex", {"male": 0.51, "female": 0.49}),
        ("age_group", {"18-29": 0.2, "30-44": 0.3, "45-59": 0.3, "60+": 0.2}),
    ):
        for level, share in shares.items():
            rows.append((variable, level, total * share))
    return pd.DataFrame(rows, columns=["variable", "level", "population"])


def point_town_responses(n: int = 420, *, seed: int = 31) -> pd.DataFrame:
    """Responses as Manyi collects them: points in 4 towns, about a quarter of the residents
    answering at a point outside their town of residence, and phone and paper responses
    without a point (``point`` and ``point_town`` empty)."""
    frame = small_responses(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    towns = np.array(["xicheng", "dongcheng", "jinan", "mashan"])
    kinds = np.array(["hosp", "school", "hall"])
    point_town = np.where(rng.random(n) < 0.27, towns[rng.integers(0, 4, n)], frame["town"].to_numpy())
    kind = kinds[rng.integers(0, 3, n)]
    frame["point"] = np.char.add(np.char.add(point_town.astype(str), "-"), kind)
    frame["point_town"] = point_town
    frame["point_type"] = np.select([kind == "hosp", kind == "school"], ["healthcare", "education"], "")
    channel = np.where(rng.random(n) < 0.12, "phone", np.where(rng.random(n) < 0.06, "paper", "qr"))
    frame["channel"] = channel
    no_point = channel != "qr"
    frame.loc[no_point, ["point", "point_town", "point_type"]] = ""
    return frame
