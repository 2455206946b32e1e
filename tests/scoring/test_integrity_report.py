"""The report's 数据真实性 section (scoring/report/sections/integrity.py, issue 15).

The results of a report carry an ``integrity`` section from a real review of a planted wave
(a coached point and a bot farm) and an office exclusion; the report prints the checks run,
the screening by reason, the flagged point with its evidence in plain Chinese, the
exclusion with its reason and the headline with and without — in the HTML and the tables.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from scoring.data import validate_responses
from scoring.integrity import Exclusion, review_integrity
from scoring.integrity.section import integrity_results
from scoring.report import ReportSettings, build_report
from scoring.screening import screen_responses
from scoring.synthetic import IntegrityPlants, generate_survey
from tests.scoring.report_data import fake_results, synthetic_responses

REASON = "督查组现场核实：工作人员向居民发放“标准答案”"


def _headline(index: float, rate: float, n: int) -> dict:
    return {
        "index": {"estimate": index, "se": 0.5, "ci_low": index - 1.0, "ci_high": index + 1.0, "df": 40},
        "satisfied_rate": {"estimate": rate, "ci_low": rate - 0.02, "ci_high": rate + 0.02},
        "n": n,
    }


@pytest.fixture(scope="module")
def planted(questionnaires):
    plants = IntegrityPlants(random_coached_points=1, coached_responses=40, bot_responses=60, bot_addresses=8)
    _, sample = generate_survey(
        3000, seed=2, population_size=50_000, questionnaires=questionnaires, integrity=plants, paradata=True
    )
    responses = validate_responses(sample.responses, questionnaires, required=("submitted_at",))
    (coached,) = sample.integrity.coached_points
    exclusion = Exclusion(kind="point", target=coached, reason=REASON, decided_at="2025-11-03T10:00:00+08:00")
    review = review_integrity(responses, screen_responses(responses), exclusions=[exclusion])
    section = integrity_results(
        review,
        estimate_headline=_headline(80.2, 0.861, 2900),
        headline=lambda keep: _headline(81.4 if keep.sum() > 2950 else 80.0, 0.87, int(keep.sum())),
    )
    return coached, section


@pytest.fixture(scope="module")
def report(planted):
    _, section = planted
    results = fake_results(synthetic_responses())
    results["integrity"] = section
    return build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False))


def test_the_report_has_an_integrity_section_with_checks_screening_and_statement(planted, report):
    _, section = planted
    html = report.html.decode("utf-8")
    assert "数据真实性" in html
    assert section["statement"]["zh"] in html
    assert "提交时段分布" in html and "全部答满意的受访者比例" in html  # checks run, in Chinese
    screened = section["screening"]["screened"]
    assert (f"质量筛查共剔除{screened}份问卷" if screened else "质量筛查未剔除问卷") in html


def test_the_flagged_point_is_printed_with_its_evidence_in_plain_chinese(planted, report):
    coached, section = planted
    html = report.html.decode("utf-8")
    (point,) = [p for p in section["flagged_points"] if p["point"] == coached]
    assert coached in html
    town = point["town"]
    assert town not in html  # the town's Chinese name, never its code
    what = next(item["what_zh"] for item in point["evidence"] if item["check"] == "all_positive")
    assert what in html
    assert "p_value" not in html and "all_positive" not in html  # no codes in the document


def test_the_office_exclusion_and_the_headlines_with_and_without_are_printed(report):
    html = report.html.decode("utf-8")
    assert REASON.replace("“", "&ldquo;") in html or REASON in html
    assert "全部问卷" in html and "不含被标记的问卷" in html and "按办公室决定排除后" in html
    headline = pd.read_csv(io.BytesIO(report.files["tables/integrity_headline.csv"]), encoding="utf-8-sig")
    assert list(headline["口径"]) == ["全部问卷", "不含被标记的问卷", "按办公室决定排除后"]
    assert list(headline["满意度指数"]) == [81.4, 80.0, 80.2]


def test_no_whole_keyed_hash_reaches_the_report(planted, report):
    _, section = planted
    html = report.html.decode("utf-8")
    for address in section["flagged_addresses"]:
        assert len(address["address"]) == 12 and address["address"] in html


def test_results_without_an_integrity_section_leave_it_out():
    files = build_report(
        fake_results(synthetic_responses()), settings=ReportSettings(wave="2025", year=2025, pdf=False)
    )
    assert "数据真实性" not in files.html.decode("utf-8")
    assert "tables/integrity_checks.csv" not in files.files
