"""The design of what Manyi collects: PSU = collection point, strata = the point's town,
phone and paper rows apart (statistics.md, "The design of what Manyi collects")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.design import collection_design, member_degrees_of_freedom, survey_design
from scoring.errors import DesignError

TOWNS = ("xicheng", "dongcheng", "jinan", "mashan", "libu")


def hospital_frame() -> pd.DataFrame:
    """A hospital in xicheng whose 10 respondents live in five towns, plus two points per town
    in xicheng and jinan (residents of their own town), three phone and two paper responses."""
    rows = []
    for k in range(10):
        rows.append(("qr", "hosp-xc", "xicheng", TOWNS[k % 5]))
    for point, town in (("hall-xc", "xicheng"), ("bus-xc", "xicheng"), ("hall-jn", "jinan"), ("bus-jn", "jinan")):
        rows += [("qr", point, town, town)] * 4
    rows += [("phone", "", "", town) for town in ("mashan", "libu", "xicheng")]
    rows += [("paper", "", "", town) for town in ("jinan", "jinan")]
    frame = pd.DataFrame(rows, columns=["channel", "point", "point_town", "town"])
    frame.insert(0, "response_id", [f"r{k:02d}" for k in range(len(frame))])
    return frame


def test_a_hospitals_respondents_from_five_towns_are_one_psu_in_one_stratum():
    frame = hospital_frame()
    design = collection_design(frame)
    hospital = (frame["point"] == "hosp-xc").to_numpy()
    assert np.unique(design.clusters.codes[hospital]).size == 1
    assert np.unique(design.strata.codes[hospital]).size == 1
    assert design.strata.levels[design.strata.codes[hospital][0]] == "xicheng"
    # Points: 5 PSUs in 2 point towns; phone: 3 PSUs, paper: 2 PSUs, one stratum each.
    assert design.n_psu == 5 + 3 + 2 and design.n_strata == 2 + 2
    assert design.degrees_of_freedom == (5 - 2) + (3 - 1) + (2 - 1)
    assert set(design.strata.levels) == {"xicheng", "jinan", "channel:phone", "channel:paper"}
    assert design.summary()["clusters_split_by_strata"] == 0
    # The residence-town strata the engine used to be given split the hospital in five PSUs.
    wrong = collection_design(frame, strata="town")
    assert np.unique(wrong.clusters.codes[hospital]).size == 5
    assert wrong.summary()["clusters_split_by_strata"] == 1


def test_rows_without_a_point_are_their_own_psus_in_one_stratum_per_channel():
    frame = hospital_frame()
    design = collection_design(frame)
    phone = (frame["channel"] == "phone").to_numpy()
    assert np.unique(design.clusters.codes[phone]).size == phone.sum()
    assert {design.clusters.levels[c] for c in design.clusters.codes[phone]} == {
        "channel:phone/r26",
        "channel:phone/r27",
        "channel:phone/r28",
    }
    summary = design.summary()
    assert summary["strata"] == "point_town" and summary["clusters"] == "point"
    assert summary["rows_without_cluster"]["rule"] == "channel_strata"
    assert summary["rows_without_cluster"]["rows"] == 5
    assert summary["rows_without_cluster"]["strata"] == ["channel:paper", "channel:phone"]
    assert (summary["n_psu"], summary["n_strata"], summary["df"], summary["lonely_psu"]) == (10, 4, 6, "adjust")
    # A missing channel counts as its own "unknown" channel.
    unknown = collection_design(frame.assign(channel=frame["channel"].where(~phone, None)))
    assert "channel:unknown" in unknown.strata.levels


def test_without_strata_the_points_share_one_stratum():
    design = collection_design(hospital_frame(), strata=None)
    assert design.n_strata == 3  # all the points, phone, paper
    assert design.degrees_of_freedom == (5 - 1) + (3 - 1) + (2 - 1)
    assert design.summary()["strata"] is None


def test_the_collection_design_equals_survey_design_on_derived_columns():
    """What R does: stratum = ifelse(point == "", paste0("channel:", channel), point_town), psu = …"""
    frame = hospital_frame()
    no_point = frame["point"] == ""
    derived = frame.assign(
        stratum=np.where(no_point, "channel:" + frame["channel"], frame["point_town"]),
        psu=np.where(no_point, frame["response_id"], frame["point"]),
    )
    ours = collection_design(frame)
    reference = survey_design(derived, strata="stratum", cluster="psu")
    assert ours.n_psu == reference.n_psu and ours.n_strata == reference.n_strata
    assert sorted(ours.clusters.levels) == sorted(reference.clusters.levels)
    assert ours.degrees_of_freedom == reference.degrees_of_freedom


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(point_town=f["point_town"].mask(f.index == 3, "")), "row 4 has the collection point"),
        (lambda f: f.drop(columns="point_town"), "the strata column 'point_town' is not in the data"),
    ],
)
def test_bad_design_columns_are_named(change, message):
    with pytest.raises(DesignError, match=message):
        collection_design(change(hospital_frame()))


def test_rows_without_a_point_can_be_refused():
    with pytest.raises(DesignError, match="row 27 has no 'point'"):
        collection_design(hospital_frame(), unclustered="fail")
    with pytest.raises(DesignError, match="must be one of channel_strata, fail"):
        collection_design(hospital_frame(), unclustered="merge")


def test_domain_degrees_of_freedom_count_the_psus_and_strata_holding_members():
    """A domain answered by 15 residents in 3 PSUs of 2 strata has df 1, not the design's 6."""
    frame = hospital_frame()
    design = collection_design(frame)
    first_at_bus = int(np.flatnonzero(frame["point"] == "bus-jn")[0])
    member = frame["point"].isin(["hosp-xc", "hall-jn"]).to_numpy().copy()
    member[first_at_bus] = True
    assert member.sum() == 15
    has = np.zeros((design.n_psu, 1), dtype=bool)
    has[design.clusters.codes[member], 0] = True
    psus, strata, df = member_degrees_of_freedom(design, has)
    assert (psus[0], strata[0], df[0]) == (3, 2, 1)
    assert design.degrees_of_freedom == 6
    cells = design.cells
    totals = np.bincount(cells.of_row, weights=member.astype(float), minlength=cells.n_cells)
    assert [int(x[0]) for x in design.member_degrees_of_freedom(totals)] == [3, 2, 1]
