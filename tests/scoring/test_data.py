"""Reading and validating responses, margins and domain weights: every error names its place."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from scoring.data import Instrument, read_domain_weights, read_margins, read_responses, validate_responses
from scoring.errors import DomainWeightsError, MarginsError, ResponsesError
from scoring.questionnaire import DOMAIN_IDS

from .support import small_responses


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.0f")


def test_csv_round_trip(tmp_path, responses_frame):
    path = tmp_path / "responses.csv"
    path.write_text(csv_text(responses_frame), encoding="utf-8")
    frame = read_responses(path)
    assert "submitted_at" not in frame.columns  # never used: not loaded
    assert "channel" in frame.columns  # the design (rows without a point) and the sensitivity table use it
    assert str(frame["wave"].iloc[0]) == "2025"
    responses = validate_responses(frame)
    assert responses.n == len(responses_frame)
    assert responses.instrument.domain_ids == ("education", "healthcare")
    assert responses.answers.dtype == np.int8
    expected = responses_frame["education.q1"].fillna(0).to_numpy()
    assert (responses.answer("education.q1") == expected).all()
    assert isinstance(responses.frame["town"].dtype, pd.CategoricalDtype)


def test_instrument_from_questionnaires(questionnaires):
    instrument = Instrument.from_questionnaires(questionnaires)
    assert instrument.domain_ids == DOMAIN_IDS
    education = instrument.domain("education")
    assert education.overall == "education.overall"
    assert "education.overall" not in education.aspects
    assert instrument.overall == "overall"
    assert set(instrument.scale_lengths.values()) == {5}
    assert "xicheng" in instrument.towns and instrument.sexes == ("male", "female", "refused")


def test_instrument_from_columns():
    instrument = Instrument.from_columns(["response_id", "healthcare.b", "education.a", "education.overall", "overall"])
    assert instrument.domain_ids == ("education", "healthcare")  # fixed domain order
    assert instrument.domain("healthcare").overall is None
    assert instrument.item_codes == ("education.a", "education.overall", "healthcare.b", "overall")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.assign(extra=1), r"unknown column 'extra'"),
        (
            lambda f: f.rename(columns={"education.q1": "schools.q1"}),
            r"unknown column 'schools.q1': 'schools' is not a domain id",
        ),
        (lambda f: f.drop(columns="response_id"), r"missing column 'response_id'"),
        (
            lambda f: f.assign(response_id=["a"] + list(f["response_id"][1:-1]) + ["a"]),
            r"'a' appears more than once \(rows 1 and \d+\)",
        ),
        (
            lambda f: f.assign(sex=["man"] + list(f["sex"][1:])),
            r"column 'sex', row 1 \(response_id 'r0001'\): 'man' is not a sex code",
        ),
        (
            lambda f: f.assign(age_group=list(f["age_group"][:-1]) + ["65+"]),
            r"column 'age_group', row \d+ .*'65\+' is not a age group code",
        ),
        (lambda f: f.assign(state=["draft"] * len(f)), r"column 'state', row 1 .*'draft' is not a state code"),
        (lambda f: f.assign(base_weight=[0.0] + [1.0] * (len(f) - 1)), r"column 'base_weight', row 1 .*positive"),
        (lambda f: f.assign(duration_s=[-5.0] + [100.0] * (len(f) - 1)), r"column 'duration_s', row 1 .*negative"),
    ],
)
def test_table_errors(responses_frame, change, message):
    with pytest.raises(ResponsesError, match=message):
        validate_responses(change(responses_frame))


@pytest.mark.parametrize(
    "value, message",
    [(7.0, "7 is not a code of the 5-point scale"), (3.5, "3.5 is not a code"), (0.0, "0 is not a code")],
)
def test_answer_outside_the_scale(responses_frame, value, message):
    responses_frame.loc[11, "healthcare.q2"] = value
    with pytest.raises(ResponsesError, match=rf"column 'healthcare.q2', row 12 \(response_id 'r0012'\): {message}"):
        validate_responses(responses_frame)


def test_non_numeric_answer_in_a_csv_names_column_and_row(tmp_path, responses_frame):
    text = csv_text(responses_frame).splitlines()
    header = text[0].split(",")
    cells = text[5].split(",")
    cells[header.index("education.q3")] = "good"
    text[5] = ",".join(cells)
    path = tmp_path / "responses.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(
        ResponsesError, match=r"column 'education.q3', row 5 \(response_id 'r0005'\): 'good' is not a number"
    ):
        validate_responses(read_responses(path))


def test_questionnaire_checks(questionnaires):
    from scoring.synthetic import generate_survey

    _, sample = generate_survey(200, seed=1, population_size=20_000, questionnaires=questionnaires)
    frame = sample.responses
    validate_responses(frame, questionnaires)
    with pytest.raises(ResponsesError, match="column 'education.homework' is not an item of the questionnaires"):
        validate_responses(frame.assign(**{"education.homework": 3.0}), questionnaires)
    with pytest.raises(ResponsesError, match="missing item column 'education.fees'"):
        validate_responses(frame.drop(columns="education.fees"), questionnaires)
    with pytest.raises(ResponsesError, match="'atlantis' is not a town \\(common.yaml\\) code"):
        validate_responses(frame.assign(town=["atlantis"] + list(frame["town"][1:])), questionnaires)


def test_file_problems(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ResponsesError, match="empty; it needs a header row"):
        read_responses(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("response_id,education.a\nr1,\xe9\n".encode("latin-1"))
    with pytest.raises(ResponsesError, match="not UTF-8"):
        read_responses(latin)
    with pytest.raises(ResponsesError, match="appears twice in the header"):
        read_responses(io.StringIO("response_id,education.a,education.a\nr1,1,2\n"))
    with pytest.raises(ResponsesError, match="responses file not found"):
        read_responses(tmp_path / "nowhere.csv")


def test_declared_optional_columns_are_accepted(responses_frame):
    frame = responses_frame.assign(
        state="submitted", flags=None, comment="很好", services_used="education", base_weight=1.5
    )
    responses = validate_responses(frame)
    assert "comment" not in responses.frame.columns  # never used by scoring
    assert (responses.frame["base_weight"] == 1.5).all()


def test_digest_depends_on_content(responses_frame):
    first = validate_responses(responses_frame).digest()
    assert validate_responses(responses_frame.copy()).digest() == first
    changed = responses_frame.copy()
    changed.loc[0, "overall"] = 1 if changed.loc[0, "overall"] != 1 else 2
    assert validate_responses(changed).digest() != first


def test_margins_file(tmp_path):
    path = tmp_path / "margins.csv"
    path.write_text(
        "variable,level,population\ntown,xicheng,100\ntown,jinan,50\nsex,male,80\nsex,female,70\n", encoding="utf-8"
    )
    margins = read_margins(path)
    assert [(m.variable, m.levels, m.population) for m in margins] == [
        ("town", ("xicheng", "jinan"), (100.0, 50.0)),
        ("sex", ("male", "female"), (80.0, 70.0)),
    ]
    path.write_text("variable,level,population\ntown,xicheng,lots\n", encoding="utf-8")
    with pytest.raises(MarginsError, match="row 1: population for town=xicheng must be a number"):
        read_margins(path)
    with pytest.raises(MarginsError, match="margins file not found"):
        read_margins(tmp_path / "none.csv")


def test_domain_weights_file(tmp_path):
    path = tmp_path / "weights.csv"
    path.write_text("domain,weight\neducation,3\nhealthcare,1\n", encoding="utf-8")
    assert read_domain_weights(path) == {"education": 0.75, "healthcare": 0.25}
    for text, message in [
        ("domain,weight\nschools,1\n", "row 1: 'schools' is not a domain id"),
        ("domain,weight\neducation,1\neducation,2\n", "row 2: domain 'education' is listed twice"),
        ("domain,weight\neducation,-1\n", "row 1: the weight of 'education' must be a positive number"),
        ("domain,share\neducation,1\n", "exactly the columns domain, weight"),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DomainWeightsError, match=message):
            read_domain_weights(path)


def test_small_responses_helper_is_valid():
    assert validate_responses(small_responses(50)).n == 50
