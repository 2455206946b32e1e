"""Make refused_responses.csv: design_responses.csv with some residents who declined to
give their sex or age group (``refused``, 不愿回答) and some who live outside the
district (``town = outside``).  Run from the repository root:

    .venv/bin/python tests/scoring/r/make_refused_inputs.py
    Rscript tests/scoring/r/refused_raking.R
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    frame = pd.read_csv(HERE / "design_responses.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(14)
    n = len(frame)
    refused_sex = rng.random(n) < 0.08
    refused_age = rng.random(n) < 0.06
    outside = rng.random(n) < 0.05
    frame.loc[refused_sex, "sex"] = "refused"
    frame.loc[refused_age, "age_group"] = "refused"
    frame.loc[outside, "town"] = "outside"
    frame.to_csv(HERE / "refused_responses.csv", index=False, lineterminator="\n")
    print(
        f"{n} rows: sex refused {refused_sex.sum()}, age group refused {refused_age.sum()}, "
        f"both {(refused_sex & refused_age).sum()}, outside the district {outside.sum()}"
    )


if __name__ == "__main__":
    main()
