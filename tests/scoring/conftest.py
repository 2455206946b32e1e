"""Fixtures of the scoring engine's tests: the api data, the R pipeline inputs, small tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from scoring.design import survey_design
from scoring.questionnaire import load_questionnaires

from .results import R_DIR
from .support import small_responses

REPO = Path(__file__).resolve().parents[2]
QUESTIONNAIRE_DIR = REPO / "questionnaires"


@pytest.fixture(scope="session")
def questionnaires():
    return load_questionnaires(QUESTIONNAIRE_DIR)


@pytest.fixture(scope="session")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "apistrat.csv")


@pytest.fixture(scope="session")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "apiclus1.csv")


@pytest.fixture
def dstrat(apistrat):
    """R: svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)."""
    return survey_design(apistrat, strata="stype", weights="pw", fpc="fpc")


@pytest.fixture
def dclus1(apiclus1):
    """R: svydesign(id=~dnum, weights=~pw, data=apiclus1, fpc=~fpc)."""
    return survey_design(apiclus1, cluster="dnum", weights="pw", fpc="fpc")


@pytest.fixture
def responses_frame() -> pd.DataFrame:
    return small_responses()
