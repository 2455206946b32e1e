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

from scoring.questionnaire import DOMAIN_IDS, OUTSIDE_DISTRICT, load_questionnaires
from scoring.synthetic import (
    AGE_GROUPS,
    DEFAULT_NO_POINT_CHANNELS,
    PARADATA_COLUMNS,
    PLANT_KINDS,
    RESPONSE_FIXED_COLUMNS,
    SEXES,
    STRAIGHT_LINE_MIN_ITEMS,
    Contamination,
    IntegrityPlants,
    draw_sample,
    make_population,
    write_margins_csv,
    write_responses_csv,
)
from scoring.synthetic.sample import _draw_answers

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
    assert list(responses.columns) == [*RESPONSE_FIXED_COLUMNS, *item_columns, "services_used", "point_town"]
    assert list(population.item_columns) == item_columns
    assert len(responses) == 20_000
    assert responses["response_id"].is_unique
    for column in item_columns + ["duration_s"]:
        assert responses[column].dtype == np.float64, column
    answers = responses[item_columns].to_numpy()
    assert set(np.unique(answers[~np.isnan(answers)])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert set(responses["sex"]) == set(SEXES)
    assert set(responses["age_group"]) == set(AGE_GROUPS)
    towns = {choice.value for choice in questionnaires.common.item("town").choices} - {OUTSIDE_DISTRICT}
    assert set(responses["town"]) == towns
    at_point = responses["point"].notna()
    assert set(responses.loc[at_point, "point"]) == set(sample.sampled_points["code"])
    assert (
        responses.loc[at_point, "point_town"]
        == responses.loc[at_point, "point"].map(population.points.set_index("code")["town"])
    ).all()
    assert (responses["wave"] == "2025").all()
    assert responses["channel"].value_counts().to_dict() == {"qr": 18_000, "phone": 1_200, "paper": 800}
    assert (responses.loc[at_point, "channel"] == "qr").all()
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
    towns = [choice.value for choice in questionnaires.common.item("town").choices if choice.value != OUTSIDE_DISTRICT]
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
    assert responses.shape == (500, len(RESPONSE_FIXED_COLUMNS) + 73 + 2)


def test_the_truth_is_computed_when_asked_and_does_not_change_the_draws():
    """The truth (0.1 s on 200,000 residents) is worked out on first use: the integrity
    review's simulations never ask for it.  Asking or not changes no sample."""
    asked = make_population(seed=3, size=20_000, points_per_town=4)
    never = make_population(seed=3, size=20_000, points_per_town=4)
    assert "truth" not in vars(asked)
    truth = asked.truth
    assert asked.truth is truth and 0 < truth.overall_index < 100
    assert set(truth.domain_index) == set(asked.domains)
    pd.testing.assert_frame_equal(draw_sample(asked, 500, seed=1).responses, draw_sample(never, 500, seed=1).responses)
    assert "truth" not in vars(never)


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
    assert town_share["lingjiaohu"] > 1.3 * margins[("town", "lingjiaohu")] / population.size


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
    assert list(responses.columns[-4:]) == ["services_used", "point_town", "state", "flags"]
    for kind in ("speeders", "straight_liners", "duplicate_browser", "partial"):
        assert planted[kind].sum() == round(getattr(shares, kind) * 10_000), kind
    assert set(planted) == {*shares.__dataclass_fields__, *PLANT_KINDS}
    assert sum(mask.astype(int) for mask in planted.values()).max() == 1  # disjoint kinds
    contaminated = np.any([planted[kind] for kind in shares.__dataclass_fields__], axis=0)
    assert responses.loc[contaminated, "channel"].eq("qr").all()  # web-collection faults, at a point

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


# --------------------------------------------------------------------------- what Manyi collects (issue 10)


def _hours(responses: pd.DataFrame) -> np.ndarray:
    stamps = responses["submitted_at"].str.slice(11, 19).str.split(":", expand=True).astype(int).to_numpy()
    return stamps[:, 0] + stamps[:, 1] / 60 + stamps[:, 2] / 3600


def _inside(hours: np.ndarray, windows) -> np.ndarray:
    return np.any([(hours >= start) & (hours < end) for start, end in windows], axis=0)


def test_residents_answer_outside_their_town(population):
    cells = population.cells
    away = cells["town"] != cells["point_town"]
    assert population.cross_town_share == 0.25
    assert cells.loc[away, "population"].sum() / population.size == pytest.approx(0.25, abs=1e-3)
    # … in every town, sex and age group (up to rounding).
    by_group = cells.assign(away=away * cells["population"]).groupby(["town", "sex", "age_group"])[
        ["away", "population"]
    ]
    shares = by_group.sum().eval("away / population")
    assert shares.between(0.245, 0.255).all()
    # The district seat's institutions draw residents of every town.
    district_hospital = population.points.loc[population.points["place"] == "区人民医院门诊大厅", "code"].item()
    assert cells.loc[cells["point"] == district_hospital, "town"].nunique() == len(population.towns)

    # In a sample taking every point, the share among responses at a point is the same.
    responses = draw_sample(population, 40_000, seed=3, sampled_points_per_town=None).responses
    at_point = responses[responses["point"].notna()]
    share = (at_point["town"] != at_point["point_town"]).mean()
    assert share == pytest.approx(0.25, abs=4 * np.sqrt(0.25 * 0.75 / len(at_point)) + 0.005)
    # A point stands in one town; its respondents live in several.
    assert at_point.groupby("point")["point_town"].nunique().eq(1).all()
    assert at_point.groupby("point")["town"].nunique().median() >= 3


@pytest.mark.parametrize("share", [0.0, 0.4])
def test_the_cross_town_share_is_a_parameter(share):
    small = make_population(seed=2, size=30_000, points_per_town=4, cross_town_share=share)
    cells = small.cells
    assert cells.loc[cells["town"] != cells["point_town"], "population"].sum() / small.size == pytest.approx(
        share, abs=2e-3
    )
    responses = draw_sample(small, 4000, seed=1, sampled_points_per_town=None).responses
    at_point = responses[responses["point"].notna()]
    assert (at_point["town"] != at_point["point_town"]).mean() == pytest.approx(share, abs=0.03)


def test_phone_and_paper_rows_have_no_point(population, sample):
    responses = sample.responses
    without_point = responses["point"].isna()
    assert set(responses.loc[without_point, "channel"]) == set(DEFAULT_NO_POINT_CHANNELS)
    assert responses.loc[without_point, "point_town"].isna().all()
    assert responses.loc[~without_point, "point_town"].notna().all()
    assert without_point.mean() == pytest.approx(sum(DEFAULT_NO_POINT_CHANNELS.values()))
    # They are residents like the others: every town, sex and age group, and the answers.
    assert set(responses.loc[without_point, "town"]) == set(population.towns)
    assert responses.loc[without_point, "overall"].notna().mean() > 0.97
    # Phone calls and the entry of paper forms happen in office hours.
    hours = _hours(responses[without_point])
    assert _inside(hours, [(9, 12), (13.5, 17.5), (18.5, 20.5)]).all()

    shares = {"phone": 0.2, "paper": 0.05, "other": 0.05}
    custom = draw_sample(population, 1000, seed=2, no_point_channels=shares).responses
    assert custom["channel"].value_counts().to_dict() == {"qr": 700, "phone": 200, "paper": 50, "other": 50}
    assert custom["point"].notna().sum() == 700
    none = draw_sample(population, 500, seed=2, no_point_channels={}).responses
    assert none["point"].notna().all() and none["channel"].eq("qr").all()


def test_times_of_day_follow_the_kind_of_point(population, sample):
    responses = sample.responses
    kind = responses["point"].map(population.points.set_index("code")["kind"])
    hours = _hours(responses)
    school = (kind == "school").to_numpy()
    assert _inside(hours[school], [(7.2, 8.2), (11.3, 12.3), (16.0, 17.8)]).all()
    market = (kind == "market").to_numpy()
    assert (hours[market] < 18.5).all() and (hours[market] < 10).mean() > 0.6
    sports = (kind == "sports").to_numpy() | (kind == "park").to_numpy()
    assert (hours[sports] >= 18).mean() > 0.35
    assert (hours >= 6).all() and (hours < 21.5).all()  # nobody answers at night
    submitted = pd.to_datetime(responses["submitted_at"], format="ISO8601")
    assert submitted.is_monotonic_increasing
    assert submitted.dt.date.nunique() == 91  # every day of April–June


def test_truth_matches_a_census_of_the_population():
    """Every resident answers once: the mean over users lands on the truth (no weights, no raking)."""
    small = make_population(seed=5, size=100_000, points_per_town=4)
    arrays, layout = small._arrays, small._layout
    resident_cell = np.repeat(np.arange(arrays.cell_size.size), arrays.cell_size)
    rng_answers, rng_missing = (np.random.default_rng(s) for s in np.random.SeedSequence(77).spawn(2))
    answers, column_of = _draw_answers(layout, arrays, resident_cell, arrays.usage.copy(), rng_answers, rng_missing)
    residence = arrays.cell_town[resident_cell]
    assert (residence != arrays.point_town[arrays.cell_point[resident_cell]]).mean() == pytest.approx(0.25, abs=2e-3)
    truth = small.truth
    for domain in layout.domains:
        codes = [column_of[code] for code in domain.aspect_codes]
        scores = (answers[codes] - 1) / 4 * 100
        score = np.nanmean(np.where(np.isnan(scores).all(axis=0), 0, scores), axis=0)
        score[np.isnan(scores).all(axis=0)] = np.nan
        present = ~np.isnan(score)
        se = score[present].std() / np.sqrt(present.sum())
        assert abs(score[present].mean() - truth.domain_index[domain.domain]) < 4 * se, domain.domain
        overall = answers[column_of[domain.overall_code]]
        answered = ~np.isnan(overall)
        rate = (overall[answered] >= 4).mean()
        rate_se = np.sqrt(rate * (1 - rate) / answered.sum())
        assert abs(rate - truth.domain_satisfied_rate[domain.domain]) < 4 * rate_se, domain.domain
        # The truth by town is by town of residence, whichever town her point stands in.
        town = small.towns.index("jinan")
        mine = present & (residence == town)
        group_se = score[mine].std() / np.sqrt(mine.sum())
        expected = truth.by_group[("town", "jinan")].domain_index[domain.domain]
        assert abs(score[mine].mean() - expected) < 4 * group_se, domain.domain


# --------------------------------------------------------------------------- paradata and integrity plants (issue 15)


def _is_token(values: pd.Series) -> bool:
    return bool(values.str.fullmatch(r"[0-9a-f]{64}").all())


@pytest.fixture(scope="module")
def small_population():
    return make_population(seed=3, size=60_000)


PLANTS = IntegrityPlants(random_coached_points=2, coached_responses=40, bot_responses=80, bot_addresses=6)


@pytest.fixture(scope="module")
def planted_sample(small_population):
    return draw_sample(small_population, 3000, seed=9, integrity=PLANTS)


def test_paradata_columns(small_population):
    plain = draw_sample(small_population, 2000, seed=4, contamination={"duplicate_browser": 0.03})
    assert not set(PARADATA_COLUMNS) & set(plain.responses.columns)
    with_paradata = draw_sample(
        small_population, 2000, seed=4, contamination={"duplicate_browser": 0.03}, paradata=True
    )
    responses = with_paradata.responses
    assert list(responses.columns[-2:]) == list(PARADATA_COLUMNS)
    # Paradata come from their own random stream: nothing else changes.
    pd.testing.assert_frame_equal(responses.drop(columns=list(PARADATA_COLUMNS)), plain.responses)

    at_point = responses["point"].notna()
    assert responses.loc[~at_point, list(PARADATA_COLUMNS)].isna().all().all()
    assert _is_token(responses.loc[at_point, "ip_hash"]) and _is_token(responses.loc[at_point, "browser_hash"])
    # One browser per response, except that a duplicate carries the browser of the row it copies.
    duplicates = with_paradata.planted["duplicate_browser"]
    browsers = responses.loc[at_point, "browser_hash"]
    assert browsers[~duplicates[at_point.to_numpy()]].is_unique
    assert responses.loc[duplicates, "browser_hash"].isin(set(browsers[~duplicates[at_point.to_numpy()]])).all()
    # Addresses are shared by chance (carrier addresses, a point's public Wi-Fi), never across many points.
    per_address = responses[at_point].groupby("ip_hash")["point"].agg(["size", "nunique"])
    assert per_address["size"].max() >= 5
    assert per_address["nunique"].max() <= 4


def test_coached_points_are_planted_as_asked(small_population, planted_sample):
    responses, planted, integrity = planted_sample.responses, planted_sample.planted, planted_sample.integrity
    coached = planted["coached"]
    assert coached.sum() == 80 and np.array_equal(integrity.coached_rows, coached)
    assert len(integrity.coached_points) == 2
    assert set(integrity.coached_points) <= set(planted_sample.sampled_points["code"])
    assert responses.loc[coached, "point"].value_counts().to_dict() == dict.fromkeys(integrity.coached_points, 40)
    assert responses.loc[coached, "channel"].eq("qr").all()
    # Every answer they give is 满意 (4) or 非常满意 (5), mostly 5.
    items = list(small_population.item_columns)
    answers = responses.loc[coached, items].to_numpy()
    given = answers[~np.isnan(answers)]
    assert set(np.unique(given)) == {4.0, 5.0}
    assert (given == 5).mean() == pytest.approx(PLANTS.coached_top_share, abs=0.05)
    # … with ordinary people, usage, durations and times.
    ordinary = ~np.any([planted[kind] for kind in planted], axis=0)
    assert responses.loc[coached, "age_group"].nunique() >= 3 and responses.loc[coached, "town"].nunique() >= 2
    durations = responses["duration_s"]
    assert (durations[coached] > durations[ordinary].median() / 3).all()
    assert 0.7 < durations[coached].median() / durations[ordinary].median() < 1.4
    kind = responses["point"].map(small_population.points.set_index("code")["kind"])
    for point in integrity.coached_points:
        mine = responses["point"].eq(point).to_numpy()
        honest_hours, coached_hours = _hours(responses[mine & ordinary]), _hours(responses[mine & coached])
        assert abs(np.median(coached_hours) - np.median(honest_hours)) < 3, kind[mine].iloc[0]
    # Coached residents are residents: they carry a design weight, honest rows of the point remain.
    assert np.isfinite(planted_sample.selection_weights[coached]).all()
    assert (planted_sample.person_index[coached] >= 0).all()
    for point in integrity.coached_points:
        assert (responses["point"].eq(point).to_numpy() & ordinary).sum() > 0


def test_a_chosen_point_can_be_coached(small_population):
    drawn = draw_sample(small_population, 1500, seed=6).sampled_points["code"]
    chosen = drawn.iloc[5]
    sample = draw_sample(
        small_population, 1500, seed=6, integrity={"coached_points": [chosen], "coached_responses": 30}
    )
    assert sample.integrity.coached_points == (chosen,)
    assert sample.responses.loc[sample.planted["coached"], "point"].eq(chosen).sum() == 30
    assert list(sample.sampled_points["code"]) == list(drawn)  # the plants do not change the drawn points
    not_drawn = sorted(set(small_population.points["code"]) - set(drawn))[0]
    with pytest.raises(ValueError, match="were not drawn"):
        draw_sample(small_population, 1500, seed=6, integrity={"coached_points": (not_drawn,)})
    with pytest.raises(ValueError, match="not collection points"):
        draw_sample(small_population, 1500, seed=6, integrity={"coached_points": ("hosp-99",)})


def test_a_bot_farm_is_planted_as_asked(small_population, planted_sample):
    responses, planted, integrity = planted_sample.responses, planted_sample.planted, planted_sample.integrity
    bots = planted["bot_farm"]
    assert bots.sum() == 80 and np.array_equal(integrity.bot_rows, bots)
    ordinary = ~np.any([planted[kind] for kind in planted], axis=0) & responses["point"].notna().to_numpy()
    # It posts to many drawn points …
    assert set(responses.loc[bots, "point"]) == set(integrity.bot_points) <= set(planted_sample.sampled_points["code"])
    assert len(integrity.bot_points) >= 25
    # … from a few addresses used in turn, a fresh browser each time …
    addresses = responses.loc[bots, "ip_hash"]
    assert set(addresses) == set(integrity.bot_addresses) and len(integrity.bot_addresses) == 6
    assert addresses.tolist() == [integrity.bot_addresses[k % 6] for k in range(80)]
    assert not responses.loc[ordinary, "ip_hash"].isin(set(integrity.bot_addresses)).any()
    assert responses.loc[bots, "browser_hash"].is_unique
    # … in plausible daytime hours over the whole period …
    hours = _hours(responses[bots])
    assert ((hours >= 8) & (hours < 21)).all()
    assert pd.to_datetime(responses.loc[bots, "submitted_at"], format="ISO8601").dt.month.nunique() == 3
    # … with unusually similar durations and answers.
    durations = responses["duration_s"]
    assert durations[bots].std() / durations[bots].mean() < 0.08
    assert durations[ordinary].std() / durations[ordinary].mean() > 0.3
    assert (durations[bots] > durations[ordinary].median() / 3).all()  # not speeders
    assert responses.loc[bots, "services_used"].str.split(";").map(len).max() <= 3
    items = list(small_population.item_columns)

    def agreement(rows: np.ndarray) -> float:
        answers = responses.loc[rows, items].to_numpy()[:40]
        same = [
            np.mean(a[both] == b[both])
            for i, a in enumerate(answers)
            for b in answers[i + 1 :]
            if (both := ~np.isnan(a) & ~np.isnan(b)).sum() >= 5
        ]
        return float(np.mean(same))

    assert agreement(bots) > 0.75
    assert agreement(ordinary) < 0.45
    # Not residents: no design weight.
    assert np.isnan(planted_sample.selection_weights[bots]).all() and (planted_sample.person_index[bots] == -1).all()


def test_plants_are_reproducible(small_population, planted_sample):
    again = draw_sample(small_population, 3000, seed=9, integrity=PLANTS)
    pd.testing.assert_frame_equal(again.responses, planted_sample.responses)
    assert again.integrity.coached_points == planted_sample.integrity.coached_points
    assert again.integrity.bot_addresses == planted_sample.integrity.bot_addresses
    other = draw_sample(small_population, 3000, seed=10, integrity=PLANTS)
    assert not other.responses["ip_hash"].isin(set(planted_sample.integrity.bot_addresses)).any()
    assert len(planted_sample.responses) == 3000  # plants count in n_responses


def test_new_arguments_say_what_to_fix(small_population):
    with pytest.raises(ValueError, match="cross_town_share"):
        make_population(size=10_000, cross_town_share=0.95)
    with pytest.raises(ValueError, match="at least two towns"):
        make_population(size=10_000, towns=("jinan",))
    assert make_population(size=10_000, towns=("jinan",), cross_town_share=0).towns == ("jinan",)
    with pytest.raises(ValueError, match="towns must be distinct codes"):
        make_population(size=10_000, towns=("jinan", "atlantis"))
    with pytest.raises(ValueError, match="no_point_channels"):
        draw_sample(small_population, 100, no_point_channels={"qr": 0.1})
    with pytest.raises(ValueError, match="sum at most 0.5"):
        draw_sample(small_population, 100, no_point_channels={"phone": 0.3, "paper": 0.3})
    with pytest.raises(ValueError, match="unknown key"):
        draw_sample(small_population, 100, integrity={"bots": 10})
    with pytest.raises(ValueError, match="coached_responses"):
        IntegrityPlants(coached_responses=0)
    with pytest.raises(ValueError, match="leaves no ordinary response"):
        draw_sample(small_population, 100, integrity={"bot_responses": 95})
    with pytest.raises(ValueError, match="paradata"):
        draw_sample(small_population, 100, paradata="yes")
