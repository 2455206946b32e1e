"""Benchmarks validation (scoring.benchmarks) and the rank simulation (scoring.rankings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scoring.benchmarks import Benchmark, BenchmarkError, combine_benchmarks, read_benchmarks, validate_benchmarks
from scoring.errors import ScoringInputError
from scoring.rankings import (
    DEFAULT_ASSUMED_SE,
    INSTRUMENT_CAVEAT,
    MIN_DRAWS,
    DistrictScore,
    describe_placement,
    place_among,
    placement_change,
    rank_district,
)

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "questionnaires" / "benchmarks"
HEADER = "year,level,unit,score,rank,se,source\n"


def unit(name: str, score: float, *, se: float | None = None, rank: int | None = None, year: int = 2024) -> Benchmark:
    return Benchmark(year, "municipality", name, score, rank, se, "test")


# --------------------------------------------------------------------------- validation


def test_valid_file_is_parsed():
    table = validate_benchmarks(
        HEADER + "2024,municipality,沙市区,83.6,1,,市统计局公报\n2024,municipality,江陵县,79.3,,0.5,同上\n"
    )
    assert [row.unit for row in table.rows] == ["沙市区", "江陵县"]
    assert table.rows[0].rank == 1 and table.rows[0].se is None
    assert table.rows[1].rank is None and table.rows[1].se == 0.5
    assert table.rows[1].line == 3
    assert table.levels() == ("municipality",)
    assert not table.illustrative


@pytest.mark.parametrize(
    "row, expected",
    [
        ("2024,municipality,沙市区,83.6,1,,\n", "line 2, column source: is empty"),
        ("2024,city,沙市区,83.6,1,,x\n", "line 2, column level: 'city' is not one of national, province, municipality"),
        ("20x4,municipality,沙市区,83.6,1,,x\n", "line 2, column year: '20x4' is not a whole-number year"),
        ("2024,municipality,沙市区,abc,1,,x\n", "line 2, column score: 'abc' is not a number"),
        ("2024,municipality,沙市区,183.6,1,,x\n", "line 2, column score: '183.6' is outside 0–100"),
        ("2024,municipality,沙市区,83.6,0,,x\n", "line 2, column rank: '0' is not a positive whole number"),
        ("2024,municipality,沙市区,83.6,1,-1,x\n", "line 2, column se: '-1' is not a non-negative number"),
        ("2024,municipality,,83.6,1,,x\n", "line 2, column unit: is empty"),
        ("2024,municipality,沙市区,83.6,1,x\n", "line 2: 6 fields, expected 7"),
    ],
)
def test_bad_rows_are_named_by_line_and_column(row, expected):
    with pytest.raises(BenchmarkError) as caught:
        validate_benchmarks(HEADER + row, name="bench.csv")
    assert expected in str(caught.value)
    assert "bench.csv" in str(caught.value)
    assert isinstance(caught.value, ScoringInputError)


def test_every_problem_is_reported_at_once():
    text = HEADER + "2024,municipality,a,abc,1,,x\n2024,city,b,80,1,,\n"
    with pytest.raises(BenchmarkError) as caught:
        validate_benchmarks(text)
    assert len(caught.value.problems) == 3


def test_header_problems():
    with pytest.raises(BenchmarkError, match="missing column"):
        validate_benchmarks("year,level,unit,score,rank,se\n2024,municipality,a,80,,\n")
    with pytest.raises(BenchmarkError, match="unknown column"):
        validate_benchmarks(HEADER.strip() + ",note\n2024,municipality,a,80,,,x,y\n")
    with pytest.raises(BenchmarkError, match="no rows"):
        validate_benchmarks(HEADER)


def test_duplicate_unit_in_a_year_and_level():
    with pytest.raises(BenchmarkError, match=r"line 3: .a. appears twice for 2024 municipality \(also line 2\)"):
        validate_benchmarks(HEADER + "2024,municipality,a,80,,,x\n2024,municipality,a,81,,,x\n")


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(BenchmarkError, match="cannot read"):
        read_benchmarks(tmp_path / "missing.csv")
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "2024,municipality,沙市区,80,,,来源\n").encode("gbk"))
    with pytest.raises(BenchmarkError, match="not UTF-8"):
        read_benchmarks(path)


def test_shipped_benchmark_files_are_valid_and_labelled():
    national = read_benchmarks(BENCHMARKS / "national-published.csv")
    assert not national.illustrative
    scores = {(row.year, row.unit): row.score for row in national.rows}
    assert scores[(2021, "全国总体")] == 79.09
    assert scores[(2021, "江苏省")] == 82.77
    assert scores[(2020, "成都市")] == 83.72
    assert all(row.source for row in national.rows)
    for name in ("jingzhou-municipal-illustrative.csv", "hubei-provincial-illustrative.csv"):
        table = read_benchmarks(BENCHMARKS / name)
        assert all(row.illustrative for row in table.rows), name
    combined = combine_benchmarks([read_benchmarks(p) for p in sorted(BENCHMARKS.glob("*.csv"))])
    assert combined.levels() == ("national", "province", "municipality")


def test_combining_files_rejects_a_unit_listed_twice():
    first = validate_benchmarks(HEADER + "2024,municipality,a,80,,,x\n", name="one.csv")
    second = validate_benchmarks(HEADER + "2024,municipality,a,81,,,x\n", name="two.csv")
    with pytest.raises(BenchmarkError, match="two.csv line 2: 'a' 2024 municipality is also in one.csv line 2"):
        combine_benchmarks([first, second])


# --------------------------------------------------------------------------- simulation


def test_far_above_every_unit_is_first_with_certainty():
    units = [unit(f"u{i}", 70 + i) for i in range(8)]
    placement = place_among(DistrictScore(2025, 95.0, 0.8), units, level="municipality", seed=1)
    assert placement.rank_probabilities[0] == pytest.approx(1.0)
    assert placement.median_rank == 1
    assert placement.rank_interval == (1, 1)
    assert all(comparison.probability_above == 1.0 for comparison in placement.units)
    assert sum(placement.rank_probabilities) == pytest.approx(1.0)
    assert placement.n_ranked == 9


def test_far_below_every_unit_is_last():
    units = [unit(f"u{i}", 80 + i) for i in range(5)]
    placement = place_among(DistrictScore(2025, 50.0, 1.0), units, level="municipality", seed=1)
    assert placement.rank_probabilities[-1] == pytest.approx(1.0)
    assert placement.rank_interval == (6, 6)


def test_tied_with_a_unit_is_above_it_half_the_time():
    placement = place_among(
        DistrictScore(2025, 80.0, 1.5), [unit("a", 80.0)], level="municipality", draws=40_000, seed=7
    )
    assert placement.units[0].probability_above == pytest.approx(0.5, abs=0.01)
    assert placement.rank_probabilities[0] == pytest.approx(0.5, abs=0.01)
    assert placement.rank_interval == (1, 2)


def test_exact_tie_of_fixed_scores_is_broken_at_random():
    placement = place_among(
        DistrictScore(2025, 80.0, 0.0), [unit("a", 80.0)], level="municipality", assumed_se=0.0, draws=40_000, seed=7
    )
    assert placement.units[0].probability_above == pytest.approx(0.5, abs=0.01)


def test_probability_above_a_unit_follows_the_normal_distribution():
    from scipy import stats

    placement = place_among(
        DistrictScore(2025, 81.0, 1.0), [unit("a", 80.0)], level="municipality", draws=200_000, seed=3
    )
    # Both drawn with SE 1 (the unit's assumed): the difference has SD √2.
    assert placement.units[0].probability_above == pytest.approx(stats.norm.cdf(1.0 / np.sqrt(2)), abs=0.004)
    exact = place_among(
        DistrictScore(2025, 81.0, 1.0), [unit("a", 80.0)], level="municipality", assumed_se=0.0, draws=200_000, seed=3
    )
    assert exact.units[0].probability_above == pytest.approx(stats.norm.cdf(1.0), abs=0.004)


def test_published_se_makes_units_uncertain_too():
    fixed = place_among(
        DistrictScore(2025, 80.0, 0.01), [unit("a", 79.0)], level="municipality", assumed_se=0.0, seed=3
    )
    uncertain = place_among(
        DistrictScore(2025, 80.0, 0.01), [unit("a", 79.0, se=2.0)], level="municipality", seed=3, draws=100_000
    )
    assert fixed.units[0].probability_above == 1.0
    assert uncertain.units[0].probability_above == pytest.approx(0.691, abs=0.01)  # Φ(1/2)


def test_reproducible_with_a_seed_and_different_with_another():
    units = [unit(f"u{i}", 78 + 0.5 * i) for i in range(8)]
    district = DistrictScore(2025, 80.0, 1.2)
    first = place_among(district, units, level="municipality", seed=42)
    again = place_among(district, units, level="municipality", seed=42)
    other = place_among(district, units, level="municipality", seed=43)
    assert first.rank_probabilities == again.rank_probabilities
    assert np.array_equal(first.rank_draws, again.rank_draws)
    assert first.rank_probabilities != other.rank_probabilities


def test_rank_interval_contains_the_median_and_is_central():
    units = [unit(f"u{i}", 78 + 0.5 * i) for i in range(8)]
    placement = place_among(DistrictScore(2025, 80.0, 1.2), units, level="municipality", seed=5)
    low, high = placement.rank_interval
    assert low <= placement.median_rank <= high
    probabilities = np.array(placement.rank_probabilities)
    assert probabilities[low - 1 : high].sum() >= 0.95
    assert probabilities[: low - 1].sum() <= 0.025 + 1e-12
    assert probabilities[high:].sum() <= 0.025 + 1e-12


def test_too_few_draws_and_bad_estimates_are_refused():
    with pytest.raises(ValueError, match="10000"):
        place_among(DistrictScore(2025, 80.0, 1.0), [unit("a", 80)], level="municipality", draws=MIN_DRAWS - 1)
    with pytest.raises(ValueError, match="finite"):
        place_among(DistrictScore(2025, float("nan"), 1.0), [unit("a", 80)], level="municipality")


def test_incomplete_published_list_is_flagged():
    placement = place_among(
        DistrictScore(2025, 80.0, 1.0), [unit("a", 82.0, rank=5), unit("b", 79, rank=9)], level="national", seed=1
    )
    assert not placement.complete_list
    assert "仅在文件所列单位中" in describe_placement(placement)


def test_description_never_gives_a_bare_rank():
    units = [unit(f"u{i}", 78 + 0.5 * i) for i in range(8)]
    text = describe_placement(place_among(DistrictScore(2025, 80.0, 1.2), units, level="municipality", seed=5))
    assert "排名中位数为第" in text and "95%区间为第" in text


# --------------------------------------------------------------------------- several years


def municipal_table():
    return validate_benchmarks(
        HEADER
        + "2023,municipality,a,82,1,,x\n2023,municipality,荆州区,78,3,,x\n2023,municipality,b,80,2,,x\n"
        + "2024,municipality,a,82,1,,x\n2024,municipality,荆州区,79,3,,x\n2024,municipality,b,80,2,,x\n"
    )


def municipal_table_2025():
    """The municipal table with figures of 2025, the survey's year."""
    return validate_benchmarks(
        HEADER
        + "2023,municipality,a,82,1,,x\n2023,municipality,荆州区,78,3,,x\n2023,municipality,b,80,2,,x\n"
        + "2024,municipality,a,82,1,,x\n2024,municipality,荆州区,79,3,,x\n2024,municipality,b,80,2,,x\n"
        + "2025,municipality,a,82.5,,,x\n2025,municipality,b,80.5,,,x\n2025,municipality,c,79.5,,,x\n"
    )


def test_by_default_only_units_of_the_same_year_are_compared():
    rankings = rank_district([DistrictScore(2025, 90.0, 0.5)], municipal_table(), seed=1)
    survey = [p for p in rankings.placements if p.source == "survey"]
    assert survey == []  # no 2025 figures: the 2025 index is not placed against 2024's
    assert rankings.latest("municipality") is None
    assert any("没有2025年" in note and "未参与排名" in note for note in rankings.notes)
    assert rankings.to_dict()["year_rule"] == "same_year"

    rankings = rank_district([DistrictScore(2025, 90.0, 0.5)], municipal_table_2025(), seed=1)
    placement = rankings.latest("municipality")
    assert placement.year == placement.benchmark_year == 2025 and placement.same_year
    assert [u.unit for u in placement.units] == ["a", "b", "c"]  # the district is not its own competitor


def test_other_years_only_when_asked_and_then_said():
    rankings = rank_district([DistrictScore(2025, 90.0, 0.5)], municipal_table(), seed=1, other_years=True)
    placement = rankings.latest("municipality")
    assert placement.year == 2025 and placement.benchmark_year == 2024 and not placement.same_year
    assert rankings.to_dict()["year_rule"] == "latest_not_after"
    assert placement.to_dict()["same_year"] is False
    assert "年份不同" in describe_placement(placement)
    assert any("年份不同" in note for note in rankings.notes)


def test_only_units_of_the_same_level_are_compared():
    table = combine_benchmarks(
        [municipal_table_2025(), validate_benchmarks(HEADER + "2025,province,武汉市,95,1,,y\n", name="p")]
    )
    rankings = rank_district([DistrictScore(2025, 81.0, 0.5)], table, seed=1)
    municipal, provincial = rankings.latest("municipality"), rankings.latest("province")
    assert [u.unit for u in municipal.units] == ["a", "b", "c"]
    assert [u.unit for u in provincial.units] == ["武汉市"]


def test_assumed_se_widens_the_rank_interval_and_is_stated():
    units = [unit(name, score) for name, score in [("a", 82.4), ("b", 81.6), ("c", 81.0), ("d", 80.2), ("e", 79.0)]]
    district = DistrictScore(2025, 81.3, 0.4)
    exact = place_among(district, units, level="municipality", assumed_se=0.0, seed=4)
    assumed = place_among(district, units, level="municipality", assumed_se=1.0, seed=4)
    width = lambda p: p.rank_interval[1] - p.rank_interval[0]  # noqa: E731
    assert width(assumed) > width(exact)
    assert assumed.rank_interval[0] <= exact.rank_interval[0] and assumed.rank_interval[1] >= exact.rank_interval[1]
    assert all(u.se is None and u.se_used == 1.0 and u.se_assumed for u in assumed.units)
    data = assumed.to_dict()
    assert data["assumed_se"] == 1.0 and data["units"][0]["se_assumed"] is True and data["units"][0]["se_used"] == 1.0
    assert "假定标准误1分" in describe_placement(assumed)
    assert "视为精确值（假定标准误为0）" in describe_placement(exact)  # 0 only when asked, and said
    assert DEFAULT_ASSUMED_SE > 0


def test_a_published_se_is_used_instead_of_the_assumed_one():
    placement = place_among(DistrictScore(2025, 80.0, 0.5), [unit("a", 79.0, se=0.3)], level="municipality")
    assert placement.units[0].se_used == 0.3 and not placement.units[0].se_assumed
    assert "公布得分均带有标准误" in describe_placement(placement)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "1"])
def test_a_bad_assumed_se_is_refused(bad):
    with pytest.raises(ValueError, match="assumed_se"):
        place_among(DistrictScore(2025, 80.0, 0.5), [unit("a", 79.0)], level="municipality", assumed_se=bad)


def test_no_change_of_rank_between_the_monitoring_and_this_survey():
    """The monitoring's 2024 rank of the district and this survey's 2025 index are different
    instruments: no change is computed between them; changes stay within one source."""
    rankings = rank_district([DistrictScore(2025, 90.0, 0.5)], municipal_table_2025(), seed=1)
    monitoring = [p for p in rankings.placements if p.source == "monitoring"]
    assert [p.year for p in monitoring] == [2023, 2024]
    assert all(p.district.origin == "published" and p.district.se_assumed for p in monitoring)
    assert monitoring[0].median_rank == 3
    assert [(c.source, c.from_year, c.to_year) for c in rankings.changes] == [("monitoring", 2023, 2024)]
    assert not any(c.to_year == 2025 for c in rankings.changes)
    with pytest.raises(ValueError, match="different sources"):
        placement_change(monitoring[-1], rankings.latest("municipality"))


def test_survey_waves_give_a_change_of_rank_among_themselves():
    table = validate_benchmarks(
        HEADER + "2024,municipality,a,82,,,x\n2024,municipality,b,80,,,x\n"
        "2025,municipality,a,82,,,x\n2025,municipality,b,80,,,x\n"
    )
    rankings = rank_district(
        [DistrictScore(2024, 79.0, 0.3, "previous", wave="2024"), DistrictScore(2025, 83.0, 0.3, wave="2025")],
        table,
        seed=1,
    )
    [change] = rankings.changes
    assert (change.source, change.from_year, change.to_year) == ("survey", 2024, 2025)
    assert change.median_change == -2 and change.probability_improved > 0.9
    assert rankings.latest("municipality").district.wave == "2025"


def test_the_instrument_caveat_is_in_the_results():
    data = rank_district([DistrictScore(2025, 80.0, 1.0)], municipal_table_2025(), seed=1).to_dict()
    assert data["caveat"] == INSTRUMENT_CAVEAT and "不同" in data["caveat"]["zh"]
    assert data["assumed_se"] == DEFAULT_ASSUMED_SE
    assert {p["source"] for p in data["placements"]} == {"survey", "monitoring"}


def test_change_in_placement_of_uncertain_estimates():
    units = [unit("a", 80.0), unit("b", 81.0)]
    before = place_among(DistrictScore(2024, 80.5, 0.3), units, level="municipality", assumed_se=0.0, seed=1)
    after = place_among(DistrictScore(2025, 81.5, 0.3), units, level="municipality", assumed_se=0.0, seed=2)
    change = placement_change(before, after)
    assert change.median_change == -1
    assert change.probability_improved + change.probability_unchanged + change.probability_worse == pytest.approx(1.0)
    assert change.probability_improved > 0.9


def test_rankings_are_independent_of_the_other_levels_in_the_file():
    alone = rank_district([DistrictScore(2025, 80.0, 1.0)], municipal_table_2025(), seed=9)
    with_more = rank_district(
        [DistrictScore(2025, 80.0, 1.0)],
        combine_benchmarks(
            [municipal_table_2025(), validate_benchmarks(HEADER + "2025,province,x,81,,,y\n", name="p")]
        ),
        seed=9,
    )
    pick = lambda r: [p for p in r.placements if p.level == "municipality" and p.year == 2025][0]  # noqa: E731
    assert pick(alone).rank_probabilities == pick(with_more).rank_probabilities


def test_to_dict_is_json_ready():
    import json

    rankings = rank_district([DistrictScore(2025, 80.0, 1.0)], municipal_table_2025(), seed=1)
    data = json.loads(json.dumps(rankings.to_dict()))
    placement = data["placements"][-1]
    assert set(placement) >= {"rank_probabilities", "median_rank", "rank_interval", "units", "complete_list"}
    assert placement["units"][0]["probability_above"] >= 0
