"""Item scores, respondent domain scores, satisfied indicators and Cronbach's alpha."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.data import DomainItems, Instrument, validate_responses
from scoring.errors import ScoringInputError
from scoring.scores import build_analysis_table, cronbach_alpha, item_score


def test_item_score_formula():
    assert_allclose(item_score(np.array([0, 1, 2, 3, 4, 5], dtype=np.int8), 5), [np.nan, 0, 25, 50, 75, 100])
    assert_allclose(item_score(np.array([1, 4, 7], dtype=np.int8), 7), [0, 50, 100])


def weighted_instrument() -> Instrument:
    return Instrument(
        domains=(
            DomainItems(
                "education", ("education.a", "education.b", "education.c"), (1.0, 2.0, 1.0), "education.overall"
            ),
        ),
        overall="overall",
        scale_lengths={"education.a": 5, "education.b": 5, "education.c": 7, "education.overall": 5, "overall": 5},
    )


def test_domain_score_is_the_weighted_mean_of_answered_aspects():
    frame = pd.DataFrame(
        {
            "response_id": ["1", "2", "3", "4"],
            "education.a": [5, 1, np.nan, np.nan],
            "education.b": [3, np.nan, np.nan, 2],
            "education.c": [7, 4, np.nan, np.nan],
            "education.overall": [5, 4, 3, np.nan],
            "overall": [4, 3, 5, 1],
        }
    )
    table = build_analysis_table(validate_responses(frame, weighted_instrument()))
    scores = table.domain_score("education")
    assert scores[0] == pytest.approx((100 + 2 * 50 + 100) / 4)
    assert scores[1] == pytest.approx((0 + 50) / 2)  # the 7-point item: (4 − 1)/6 × 100
    assert np.isnan(scores[2])  # only <domain>.overall answered: not an aspect
    assert scores[3] == pytest.approx(25)
    assert_allclose(table.satisfied("education.overall"), [1, 1, 0, np.nan])
    assert_allclose(table.satisfied("overall"), [1, 0, 1, 0])
    assert_allclose(table.item_score("education.c"), [100, 50, np.nan, np.nan])


def test_equal_weight_domain_scores_match_the_general_path():
    rng = np.random.default_rng(0)
    values = rng.integers(1, 6, (200, 3)).astype(float)
    values[rng.random((200, 3)) < 0.3] = np.nan
    frame = pd.DataFrame(values, columns=["education.a", "education.b", "education.c"]).assign(
        response_id=[str(k) for k in range(200)]
    )
    table = build_analysis_table(validate_responses(frame))
    answered = ~np.isnan(values)
    with np.errstate(all="ignore"):
        expected = np.where(answered, (values - 1) / 4 * 100, 0).sum(axis=1) / answered.sum(axis=1)
    assert_allclose(table.domain_score("education"), expected, equal_nan=True)


def test_cronbach_alpha_formula_and_edge_cases():
    rng = np.random.default_rng(2)
    common = rng.normal(size=300)
    items = np.column_stack([common + rng.normal(scale=s, size=300) for s in (0.5, 0.8, 1.0)])
    k = 3
    expected = k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))
    assert cronbach_alpha(items) == pytest.approx(expected)
    items[0, 1] = np.nan  # incomplete rows are left out
    assert cronbach_alpha(items) == pytest.approx(cronbach_alpha(items[1:]))
    assert np.isnan(cronbach_alpha(items[:, :1]))
    assert np.isnan(cronbach_alpha(items[:2]))
    assert np.isnan(cronbach_alpha(np.ones((10, 3))))


def test_analysis_frame_has_scores_and_weights():
    frame = pd.DataFrame(
        {
            "response_id": ["1", "2"],
            "town": ["xicheng", "jinan"],
            "education.a": [5, 1],
            "education.b": [3, 3],
            "education.c": [7, 1],
            "education.overall": [5, 4],
            "overall": [4, 3],
        }
    )
    table = build_analysis_table(validate_responses(frame, weighted_instrument()))
    analysis = table.to_frame(np.array([2.0, 3.0]))
    assert list(analysis.columns) == [
        "response_id",
        "town",
        "weight",
        "education.a",
        "education.b",
        "education.c",
        "education.overall",
        "overall",
        "education",
    ]
    assert analysis["education.c"].tolist() == [100.0, 0.0]


def test_monitoring_mapping_reads_x_over_k():
    from scoring.scores import item_score, scale_description

    codes = np.array([0, 1, 2, 3, 4, 5])
    assert np.isnan(item_score(codes, 5, "monitoring")[0])
    np.testing.assert_allclose(item_score(codes, 5, "monitoring")[1:], [20, 40, 60, 80, 100])
    np.testing.assert_allclose(item_score(codes, 5, "linear")[1:], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(item_score(np.array([1, 7]), 7, "monitoring"), [100 / 7, 100])
    assert "x/K × 100" in scale_description("monitoring") and "1 → 20" in scale_description("monitoring")
    assert "1 → 0, 5 → 100" in scale_description("linear")


def test_monitoring_domain_scores_are_20_plus_0_8_linear_on_five_point_items(responses_frame):
    from scoring.scores import build_analysis_table

    responses = validate_responses(responses_frame)
    linear = build_analysis_table(responses)
    monitoring = build_analysis_table(responses, mapping="monitoring")
    assert monitoring.mapping == "monitoring"
    np.testing.assert_allclose(monitoring.domain_scores, 20 + 0.8 * linear.domain_scores)
    np.testing.assert_allclose(monitoring.item_scores(), 20 + 0.8 * linear.item_scores())
    assert monitoring.alpha("education") == pytest.approx(linear.alpha("education"))
    with pytest.raises(ScoringInputError, match="mapping must be one of linear, monitoring"):
        build_analysis_table(responses, mapping="percent")
