"""The one adapter from database rows to the responses contract: the design columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.data import validate_responses
from scoring.design import collection_design
from survey.adapter import DESIGN_COLUMNS, wave_responses_frame
from survey.services.responses import insert_frame
from survey.services.waves import add_point, create_wave


def test_the_points_town_and_type_are_written_beside_the_residence_town(session):
    wave = create_wave(session, "2025")
    add_point(session, wave, code="hosp-01", town="xicheng", place="区人民医院门诊大厅", focus_domain="healthcare")
    add_point(session, wave, code="hall-01", town="jinan", place="纪南镇便民服务中心")
    session.flush()
    frame = pd.DataFrame(
        {
            "response_id": ["r1", "r2", "r3", "r4"],
            "point": ["hosp-01", "hosp-01", "hall-01", ""],
            "town": ["xicheng", "jinan", "mashan", "libu"],
            "sex": ["female", "male", "female", "male"],
            "age_group": ["60+", "18-29", "30-44", "45-59"],
            "duration_s": [120.0, 95.5, 130.0, np.nan],
            "submitted_at": ["2025-06-01T08:00:00+00:00"] * 4,
            "healthcare.overall": [5.0, 3.0, 4.0, 2.0],
            "overall": [4.0, 2.0, 5.0, 3.0],
        }
    )
    assert insert_frame(session, wave, frame, channel="paper") == 4
    session.commit()

    plain = wave_responses_frame(session, wave)
    assert not set(DESIGN_COLUMNS) & set(plain.columns)  # exports keep their columns
    exported = wave_responses_frame(session, wave, design_columns=True)
    assert list(exported.columns[-2:]) == ["point_town", "point_type"]
    assert exported["town"].tolist() == ["xicheng", "jinan", "mashan", "libu"]  # where residents live
    assert exported["point_town"].tolist() == ["xicheng", "xicheng", "jinan", ""]  # where the points stand
    assert exported["point_type"].tolist() == ["healthcare", "healthcare", "", ""]
    # The scoring reads it as the design: the hospital is one PSU whatever its residents' towns.
    design = collection_design(validate_responses(exported).frame)
    assert design.n_psu == 3 and set(design.strata.levels) == {"xicheng", "jinan", "channel:paper"}
