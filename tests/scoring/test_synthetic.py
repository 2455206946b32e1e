"""Tests of the synthetic survey generator (scoring/synthetic.py).

The central test is :func:`test_raked_ratio_estimator_recovers_the_truth`: a big sample,
raked to the population margins with a few lines of IPF written here, lands on the
truth for every domain — which shows that the truth is the estimand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.questionnaire import DOMAIN_IDS, load_questionnaires
from scoring.synthetic import (
    AGE_GROUPS,
    RESPONSE_FIXED_COLUMNS,
    SEXES,
    STRAIGHT_LINE_MIN_ITEMS,
    Contamination,
    draw_sample,
    make_population,
    write_margins_csv,
    write_responses_csv,
)

QUESTIONNAIRES = Path(__file__).resolve().parents[2] / "questionnaires"


@pytest.fixture(scope="module")
def questionnaires():
    return load_questionnaires(QUESTIONNAIRES)


@pytest.fixture(scope="module")
def population(questionnaires):
    return make_population(questionnaires, seed=0, size=300_000)


@pytest.fixture(scope="module")
def sample(population):
    return draw_sample(population, 20_000, seed=1)


def _layout(questionnaires):
    """``{domain: (aspect codes, aspect weights, overall code)}`` from the questionnaires."""
    layout = {}
    for domain in DOMAIN_IDS:
        items = questionnaires.domains[domain].items
        aspects = [item for item in items if item.role == "aspect"]
        layout[domain] = (
            tuple(item.code for item in aspects),
            np.array([item.weight for item in aspects]),
            f"{domain}.overall",
        )
    return layout


def _domain_scores(responses: pd.DataFrame, aspect_codes, weights) -> np.ndarray:
    scores = (responses[list(aspect_codes)].to_numpy() - 1) / 4 * 100
    answered = ~np.isnan(scores)
    total_weight = (answered * weights).sum(axis=1)
    with np.errstate(invalid="ignore"):
        return np.where(total_weight > 0, np.nansum(scores * weights, axis=1) / total_weight, np.nan)


def _rake(responses: pd.DataFrame, margins: pd.DataFrame, tolerance: float = 1e-10) -> np.ndarray:
    """Iterative proportional fitting of unit base weights to the margins."""
    weights = np.ones(len(responses))
    fitted = []
    for variable, group in margins.groupby("variable", sort=False):
        codes = pd.Categorical(responses[variable], categories=group["level"]).codes
        assert (codes >= 0).all(), f"a {variable} level of the data is not in the margins"
        fitted.append((codes, group["population"].to_numpy(float)))
    for _ in range(200):
        previous = weights.copy()
        for codes, totals in fitted:
            weights *= (totals / np.bincount(codes, weights=weights, minlength=totals.size))[codes]
        if np.max(np.abs(weights / previous - 1)) < tolerance:
            return weights
    raise AssertionError("raking did not converge")


def _ratio(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean of the non-missing values and a (conservative) linearization SE."""
    present = ~np.isnan(values)
    y, w = values[present], weights[present]
    estimate = np.sum(w * y) / np.sum(w)
    influence = w * (y - estimate) / np.sum(w)
    return float(estimate), float(np.sqrt(np.sum(influence**2)))


# --------------------------------------------------------------------------- contract


def test_responses_follow_the_contract(population, sample, questionnaires):
    responses = sample.responses
    item_columns = [
        item.code for domain in DOMAIN_IDS for item in questionnaires.domains[domain].items if item.kind == "likert"
    ] + ["overall"]
    assert list(responses.columns) == [*RESPONSE_FIXED_COLUMNS, *item_columns, "services_used"]
    assert list(population.item_columns) == item_columns
    assert len(responses) == 20_000
    assert responses["response_id"].is_unique
    for column in item_columns + ["duration_s"]:
        assert responses[column].dtype == np.float64, column
    answers = responses[item_columns].to_numpy()
    assert set(np.unique(answers[~np.isnan(answers)])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(responses["sex"]) == set(SEXES)
    assert set(responses["age_group"]) == set(AGE_GROUPS)
    towns = {choice.value for choice in questionnaires.common.item("town").choices}
    assert set(responses["town"]) == towns
    assert set(responses["point"]) == set(sample.sampled_points["code"])
    assert (responses["wave"] == "2025").all() and (responses["channel"] == "qr").all()
    assert (responses["duration_s"] > 0).all()
    submitted = pd.to_datetime(responses["submitted_at"], format="ISO8601")
    assert submitted.is_monotonic_increasing
    assert submitted.min() >= pd.Timestamp("2025-04-01T00:00+08:00")
    assert submitted.max() <= pd.Timestamp("2025-06-30T23:59+08:00")
    assert responses["submitted_at"].str.endswith("+08:00").all()


def test_points_and_margins(population, questionnaires):
    points = population.points
    assert list(points.columns[:4]) == ["code", "town", "place", "focus_domain"]
    assert points["code"].is_unique
    assert points.groupby("town").size().eq(8).all()
    assert points["place"].str.contains("[\u4e00-\u9fff]").all()  # Chinese place names
    assert set(points["focus_domain"].dropna()) <= set(DOMAIN_IDS)
    assert "区人民医院门诊大厅" in set(points["place"])

    margins = population.margins
    assert list(margins.columns) == ["variable", "level", "population"]
    assert margins.groupby("variable", sort=False)["population"].sum().eq(300_000).all()
    towns = [choice.value for choice in questionnaires.common.item("town").choices]
    assert list(margins.loc[margins["variable"] == "town", "level"]) == towns
    assert list(margins.loc[margins["variable"] == "sex", "level"]) == list(SEXES)
    assert list(margins.loc[margins["variable"] == "age_group", "level"]) == list(AGE_GROUPS)


def test_csv_round_trip(tmp_path):
    small = make_population(seed=3, size=20_000)
    responses = draw_sample(small, 300, seed=4, contamination={"partial": 0.05, "duplicate_browser": 0.05}).responses
    path = write_responses_csv(responses, tmp_path / "responses.csv", chunk_rows=128)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith(",".join(RESPONSE_FIXED_COLUMNS) + ",education.q1,")
    assert ",4.0," not in text
    back = pd.read_csv(path, dtype={"wave": str})
    pd.testing.assert_frame_equal(back, responses, check_dtype=False)

    margins_path = write_margins_csv(small.margins, tmp_path / "margins.csv")
    assert margins_path.read_text(encoding="utf-8").splitlines()[:2] == [
        "variable,level,population",
        "town,xicheng,3061",
    ]


def test_works_without_questionnaires():
    small = make_population(seed=0, size=20_000, points_per_town=4)
    assert small.item_columns[:6] == tuple(f"education.{i}" for i in ("q1", "q2", "q3", "q4", "q5", "overall"))
    assert small.item_columns[-1] == "overall"
    assert len(small.item_columns) == 12 * 6 + 1
    responses = draw_sample(small, 500, seed=0).responses
    assert responses.shape == (500, len(RESPONSE_FIXED_COLUMNS) + 73 + 1)


def test_bad_arguments_say_what_to_fix(population):
    with pytest.raises(ValueError, match="n_responses"):
        draw_sample(population, 0)
    with pytest.raises(ValueError, match="unknown kind"):
        draw_sample(population, 10, contamination={"bots": 0.1})
    with pytest.raises(ValueError, match="sum at most 0.5"):
        Contamination(speeders=0.3, partial=0.3)
    with pytest.raises(ValueError, match="period"):
        draw_sample(population, 10, wave="spring")
    with pytest.raises(ValueError, match="points_per_town"):
        make_population(size=10_000, points_per_town=40)


# --------------------------------------------------------------------------- reproducibility


def test_same_seed_same_sample_other_seed_other_sample(population, questionnaires):
    first = draw_sample(population, 2_000, seed=7).responses
    pd.testing.assert_frame_equal(first, draw_sample(population, 2_000, seed=7).responses)
    other = draw_sample(population, 2_000, seed=8).responses
    assert not first["response_id"].isin(other["response_id"]).any()
    assert not np.array_equal(first["duration_s"], other["duration_s"])

    again = make_population(questionnaires, seed=0, size=300_000)
    assert again.truth == population.truth
    pd.testing.assert_frame_equal(again.points, population.points)
    pd.testing.assert_frame_equal(draw_sample(again, 2_000, seed=7).responses, first)
    assert make_population(questionnaires, seed=1, size=300_000).truth != population.truth


# --------------------------------------------------------------------------- answers


def test_residents_answer_only_the_domains_they_used(population, sample):
    responses = sample.responses
    used = responses["services_used"].str.split(";")
    assert used.str.len().min() >= 1
    for domain in population.domains:
        items = [code for code in population.item_columns if code.startswith(domain + ".")]
        uses = used.map(lambda domains: domain in domains).to_numpy()  # noqa: B023 - called within the iteration
        assert responses.loc[~uses, items].isna().all().all(), domain
        assert responses.loc[uses, items].notna().any(axis=1).mean() > 0.9, domain
    focus = responses["point"].map(population.points.set_index("code")["focus_domain"])
    has_focus = focus.notna()
    assert all(f in u for f, u in zip(focus[has_focus], used[has_focus]))
    by_age = responses.assign(elderly=used.map(lambda d: "elderly_care" in d)).groupby("age_group")["elderly"].mean()
    assert by_age["60+"] > 2 * by_age["30-44"]
    assert responses["overall"].notna().mean() > 0.97


def test_dont_know_rates_are_near_the_targets(population, sample, questionnaires):
    responses = sample.responses
    used = responses["services_used"].str.split(";")
    for domain, (aspects, _, overall) in _layout(questionnaires).items():
        users = responses[used.map(lambda domains: domain in domains).to_numpy()]  # noqa: B023 - called within the iteration
        rate = population.parameters.missing_rate[domain]
        tolerance = 4 * np.sqrt(rate * (1 - rate) / len(users)) + 1e-3
        for code in (*aspects, overall):
            assert abs(users[code].isna().mean() - rate) < tolerance, code
    assert abs(responses["overall"].isna().mean() - population.parameters.missing_rate["overall"]) < 0.005


def test_domain_overall_is_driven_by_the_aspects(population, sample, questionnaires):
    responses = sample.responses
    importance = population.parameters.aspect_importance
    for domain, (aspects, weights, overall) in _layout(questionnaires).items():
        frame = responses[[*aspects, overall]].dropna()
        correlation = frame.corr()[overall].drop(overall)
        assert (correlation > 0.2).all(), domain
        scores = _domain_scores(responses, aspects, weights)
        both = ~np.isnan(scores) & responses[overall].notna().to_numpy()
        assert np.corrcoef(scores[both], responses.loc[both, overall])[0, 1] > 0.5, domain
        most = max(aspects, key=importance.get)
        least = min(aspects, key=importance.get)
        assert correlation[most] > correlation[least], domain


def test_durations_grow_with_the_domains_answered(sample):
    responses = sample.responses
    domains = responses["services_used"].str.count(";") + 1
    medians = responses.groupby(domains)["duration_s"].median()
    assert medians.loc[1] < medians.loc[3] < medians.loc[6]
    assert 120 < responses["duration_s"].median() < 300  # the 2–4 minutes of the product brief


def test_collection_points_are_clusters(population, questionnaires):
    responses = draw_sample(population, 40_000, seed=2, sampled_points_per_town=None).responses
    aspects, weights, _ = _layout(questionnaires)["healthcare"]
    frame = pd.DataFrame(
        {
            "point": responses["point"],
            "town": responses["town"],
            "score": _domain_scores(responses, aspects, weights),
        }
    ).dropna()
    frame["score"] -= frame.groupby("town")["score"].transform("mean")  # ICC within strata
    groups = frame.groupby("point")["score"]
    sizes, means = groups.size(), groups.mean()
    n, k = len(frame), len(sizes)
    between = (sizes * (means - frame["score"].mean()) ** 2).sum() / (k - 1)
    within = ((frame["score"] - groups.transform("mean")) ** 2).sum() / (n - k)
    typical_size = (n - (sizes**2).sum() / n) / (k - 1)
    icc = (between - within) / (between + (typical_size - 1) * within)
    assert 0.01 < icc < 0.15


# --------------------------------------------------------------------------- selection and truth


def test_the_sample_is_biased_unweighted(population, sample):
    responses = sample.responses
    margins = population.margins.set_index(["variable", "level"])["population"]
    population_share = margins[("age_group", "60+")] / population.size
    assert responses["age_group"].eq("60+").mean() > population_share + 0.08
    assert responses["sex"].eq("female").mean() > margins[("sex", "female")] / population.size + 0.03
    town_share = responses["town"].value_counts(normalize=True)
    assert town_share["lingjiaohu"] > 1.5 * margins[("town", "lingjiaohu")] / population.size


def test_truth_is_internally_consistent(population):
    truth = population.truth
    assert set(truth.domain_index) == set(DOMAIN_IDS)
    assert truth.overall_index == pytest.approx(np.mean(list(truth.domain_index.values())))
    assert all(0 < value < 100 for value in truth.domain_index.values())
    assert all(0 < rate < 1 for rate in truth.domain_satisfied_rate.values())
    for domain in DOMAIN_IDS:  # group truths average back to the total
        parts = [truth.by_group[("sex", sex)] for sex in SEXES]
        users = np.array([part.domain_users[domain] for part in parts])
        assert users.sum() == truth.domain_users[domain]
        combined = np.dot(users, [part.domain_index[domain] for part in parts]) / users.sum()
        assert combined == pytest.approx(truth.domain_index[domain], rel=1e-12)
    assert truth.by_group[("age_group", "60+")].overall_index > truth.by_group[("age_group", "18-29")].overall_index
    table = truth.table()
    assert list(table.columns) == ["variable", "level", "statistic", "domain", "value"]
    assert len(table) == (1 + 12 + 2 + 4) * 2 * 13


def test_raked_ratio_estimator_recovers_the_truth(population, questionnaires):
    """With every point taken, raking + ratio estimation is consistent: the truth is the estimand."""
    big = draw_sample(population, 200_000, seed=11, sampled_points_per_town=None)
    responses = big.responses
    weights = _rake(responses, population.margins)
    # Raking recovers the true design weights up to a constant.
    ratio = weights / big.selection_weights
    assert np.std(ratio) / np.mean(ratio) < 0.02

    truth = population.truth
    indices, unweighted_errors = {}, []
    for domain, (aspects, item_weights, overall) in _layout(questionnaires).items():
        scores = _domain_scores(responses, aspects, item_weights)
        estimate, se = _ratio(scores, weights)
        indices[domain] = estimate
        assert abs(estimate - truth.domain_index[domain]) < 4 * se + 0.02, domain
        satisfied = np.where(responses[overall].isna(), np.nan, responses[overall] >= 4)
        rate, rate_se = _ratio(satisfied, weights)
        assert abs(rate - truth.domain_satisfied_rate[domain]) < 4 * rate_se + 1e-4, domain
        unweighted_errors.append(np.nanmean(scores) - truth.domain_index[domain])
    assert abs(np.mean(list(indices.values())) - truth.overall_index) < 0.15
    satisfied = np.where(responses["overall"].isna(), np.nan, responses["overall"] >= 4)
    rate, rate_se = _ratio(satisfied, weights)
    assert abs(rate - truth.overall_satisfied_rate) < 4 * rate_se + 1e-4
    # Unweighted estimates are off by far more than the raked ones.
    assert np.mean(unweighted_errors) > 0.4

    # Subgroups too: the domain index among the 60+ and in one town.
    for variable, level in (("age_group", "60+"), ("town", "jinan")):
        group = responses[variable].eq(level).to_numpy()
        aspects, item_weights, _ = _layout(questionnaires)["healthcare"]
        scores = np.where(group, _domain_scores(responses, aspects, item_weights), np.nan)
        estimate, se = _ratio(scores, weights)
        assert abs(estimate - truth.by_group[(variable, level)].domain_index["healthcare"]) < 4 * se + 0.02


# --------------------------------------------------------------------------- contamination


def test_contamination_plants_the_requested_shares(population, questionnaires):
    shares = Contamination(speeders=0.03, straight_liners=0.02, duplicate_browser=0.02, partial=0.05)
    drawn = draw_sample(population, 10_000, seed=5, contamination=shares)
    responses, planted = drawn.responses, drawn.planted
    assert list(responses.columns[-3:]) == ["services_used", "state", "flags"]
    for kind in ("speeders", "straight_liners", "duplicate_browser", "partial"):
        assert planted[kind].sum() == round(getattr(shares, kind) * 10_000), kind
    assert sum(mask.astype(int) for mask in planted.values()).max() == 1  # disjoint kinds

    assert (responses["state"].eq("partial").to_numpy() == planted["partial"]).all()
    assert (responses["flags"].eq("duplicate_browser").to_numpy() == planted["duplicate_browser"]).all()
    assert responses.loc[planted["partial"], ["town", "sex", "age_group", "overall"]].isna().all().all()

    submitted = responses["state"].eq("submitted")
    speedy = (responses["duration_s"] < responses.loc[submitted, "duration_s"].median() / 3).to_numpy()
    assert (speedy[submitted.to_numpy()] == planted["speeders"][submitted.to_numpy()]).all()

    aspects = [code for domain in _layout(questionnaires).values() for code in domain[0]]
    answers = responses[aspects].to_numpy()
    answered = (~np.isnan(answers)).sum(axis=1)
    highest = np.where(np.isnan(answers), -np.inf, answers).max(axis=1)
    lowest = np.where(np.isnan(answers), np.inf, answers).min(axis=1)
    flat = (answered >= STRAIGHT_LINE_MIN_ITEMS) & (highest == lowest)
    assert flat[planted["straight_liners"]].all()
    assert flat[~planted["straight_liners"]].mean() < 0.01  # chance straight-liners are rare

    content = responses[[*population.item_columns, "point", "services_used"]]
    assert content.duplicated()[planted["duplicate_browser"]].all()  # copies of earlier rows

    clean = ~np.any(list(planted.values()), axis=0)
    assert responses.loc[clean, "state"].eq("submitted").all() and responses.loc[clean, "flags"].isna().all()
    no_contamination = draw_sample(population, 100, seed=5).responses
    assert "state" not in no_contamination and "flags" not in no_contamination
