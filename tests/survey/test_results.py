"""The public results pages: list, year page, open data, downloads, revisions, weight."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from survey.db import get_session
from survey.results.view import verdict_sentence
from survey.services.publication import publish_run
from survey.services.waves import get_wave
from tests.survey.admin_support import english, make_wave
from tests.survey.test_publication import fake_run


def _publish(app, code: str = "2025", *, index: float = 80.0, reason: str = "") -> None:
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, code), fake_run(index), actor="publisher-x", reason=reason)
        session.commit()


@pytest.fixture
def published(app):
    make_wave(app)
    _publish(app)
    return app


def test_list_of_published_years(app, client):
    english(client)
    assert "No results have been published yet." in client.get("/results").get_data(as_text=True)
    make_wave(app)
    make_wave(app, "2024", points=())
    _publish(app, "2024", index=76.5)
    _publish(app, "2025", index=80.0)
    text = client.get("/results").get_data(as_text=True)
    assert text.index("/results/2025") < text.index("/results/2024")
    assert "76.5" in text and "80.0" in text and "target not met" in text


def test_year_page_shows_the_frozen_results(published, client):
    english(client)
    response = client.get("/results/2025")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>80\.0<', text)
    assert "the target of 85 or more is not met" in text
    assert "95% sure" not in text
    assert "78.0" in text and "70.0%" in text  # the domain index and satisfied rate
    assert "60.0" not in text  # a suppressed town cell is withheld
    assert re.search(r"81\.0</td><td[^>]*>77\.1–84\.9<", text)  # a town's index with its 95% interval
    assert "Medical services" in text and "Xicheng Street" in text
    assert "/results/2025/r/1/files/report.pdf" in text and "/results/2025/r/1.json" in text
    assert "<script>" not in text and " style=" not in text


def test_page_weight_budget(published, client):
    """Everything the page loads: ≤ 30 KB gzip and ≤ 100 KB raw (as the resident pages)."""
    page = client.get("/results/2025")
    html = page.get_data()
    assets = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', page.get_data(as_text=True))
    assert assets, "the page loads its stylesheets from the site"
    bodies = [html] + [client.get(url).get_data() for url in assets]
    assert not re.search(rb'(?:href|src)="https?://', html), "no CDN, no external request"
    raw = sum(len(body) for body in bodies)
    zipped = sum(len(gzip.compress(body)) for body in bodies)
    assert raw <= 100 * 1024 and zipped <= 30 * 1024, (raw, zipped)


def test_open_data_json(published, client):
    response = client.get("/results/2025.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    assert data["overall"]["index"] == 80.0
    assert data["publication"]["revision"] == 1 and data["publication"]["wave"] == "2025"
    assert data["subgroups"]["town"]["xicheng"]["healthcare"]["index"] is None
    # Times carry their zone; no path of the server leaks into the open data.
    assert data["publication"]["published_at"].endswith("+00:00")
    assert published.instance_path not in response.get_data(as_text=True)
    etag = response.headers["ETag"]
    assert client.get("/results/2025.json", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/results/2025/r/1.json").get_json()["overall"] == data["overall"]


def test_revisions_stay_listed_and_downloadable(published, client):
    english(client)
    _publish(published, index=82.5, reason="late paper questionnaires added")
    current = client.get("/results/2025").get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>82\.5<', current)
    assert "late paper questionnaires added" in current and "/results/2025/r/1" in current
    earlier = client.get("/results/2025/r/1")
    assert earlier.status_code == 200
    text = earlier.get_data(as_text=True)
    assert re.search(r'id="overall-index"[^>]*>80\.0<', text) and "This is an earlier revision." in text
    assert client.get("/results/2025.json").get_json()["overall"]["index"] == 82.5
    assert client.get("/results/2025/r/1.json").get_json()["overall"]["index"] == 80.0
    assert client.get("/results/2025/r/1/files/report.pdf").data == b"%PDF-1.7 fake"


def test_downloads(published, client):
    pdf = client.get("/results/2025/files/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert (
        pdf.headers["Content-Disposition"].startswith("inline")
        and "manyi-2025-r1-report.pdf" in pdf.headers["Content-Disposition"]
    )
    csv = client.get("/results/2025/files/tables/domains.csv")
    assert csv.status_code == 200 and csv.headers["Content-Disposition"].startswith("attachment")
    assert "医疗服务" in csv.get_data(as_text=True)
    assert client.get("/results/2025/files/../../etc/passwd").status_code == 404
    assert client.get("/results/2025/files/nope.pdf").status_code == 404


def test_report_html_is_served_without_scripts(app, client):
    make_wave(app)
    run = fake_run()
    run.files["report.html"] = b"<html><style>h1{color:red}</style><h1>report</h1></html>"
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, "2025"), run, actor="x")
        session.commit()
    response = client.get("/results/2025/files/report.html")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_unpublished_years_are_a_friendly_404(app, client):
    english(client)
    make_wave(app)
    for url in ("/results/2025", "/results/2025.json", "/results/1999/r/3", "/results/2025/files/report.pdf"):
        response = client.get(url)
        assert response.status_code == 404, url
    text = client.get("/results/2025").get_data(as_text=True)
    assert "The results of 2025 have not been published." in text and 'href="/results"' in text


def test_trend_across_published_years(app, client):
    make_wave(app)
    make_wave(app, "2024", points=())
    _publish(app, "2024", index=76.5)
    _publish(app, "2025", index=80.0)
    text = client.get("/results/2025").get_data(as_text=True)
    assert '<svg class="trend"' in text and "2024 76.5, 2025 80.0" in text
    # The 2024 page's trend stops at 2024.
    assert '<svg class="trend"' not in client.get("/results/2024").get_data(as_text=True)


@pytest.mark.parametrize(
    ("verdict", "phrase"),
    [
        ("met", "the interval lies above 85: the target of 85 or more is met"),
        ("not_met", "the interval lies below 85: the target of 85 or more is not met"),
        ("inconclusive", "the interval includes 85: the survey cannot yet tell whether the target of 85"),
        (None, "too few responses for a verdict"),
    ],
)
def test_verdict_in_plain_words(app, verdict, phrase):
    with app.test_request_context("/?lang=en"):
        sentence = verdict_sentence(
            verdict, metric="index", target=85, estimate=86.2, low=84.1, high=88.3, language="en"
        )
    assert phrase in sentence and "86.2" in sentence and "84.1–88.3" in sentence
    assert "sure" not in sentence


def _test(estimate, low, high, verdict, *, metric="index"):
    value = 0.85 if metric == "satisfied_rate" else 85
    return {
        "metric": metric,
        "target": 85,
        "value": value,
        "estimate": estimate,
        "se": None if estimate is None else 0.8,
        "ci_low": low,
        "ci_high": high,
        "df": 40,
        "statistic": None,
        "p_value": None,
        "verdict": verdict,
        "unstable": verdict is None,
    }


def both_targets_run():
    """A run in the current contract: both target tests, 86.5 (84.8–88.2) inconclusive,
    an unstable domain with None figures, a survey and a monitoring placement."""
    from survey.services.publication import ScoringRun

    results = json.loads(fake_run(86.5).results_json)
    results["overall"].update(ci_low=84.8, ci_high=88.2)
    results["targets"] = {
        "metric": "index",
        "index": _test(86.5, 84.8, 88.2, "inconclusive"),
        "satisfied_rate": _test(0.8, 0.76, 0.84, "not_met", metric="satisfied_rate"),
    }
    results["target"] = results["targets"]["index"]
    results["domains"]["healthcare"]["targets"] = {
        "metric": "index",
        "index": _test(78.0, 75.6, 80.4, "not_met"),
        "satisfied_rate": _test(0.7, 0.64, 0.76, "not_met", metric="satisfied_rate"),
    }
    results["domains"]["education"] = {
        "index": None,
        "se": None,
        "ci_low": None,
        "ci_high": None,
        "n": 4,
        "unstable": True,
        "unstable_reason": "too_few_responses",
        "satisfied_rate": {"estimate": None, "se": None, "ci_low": None, "ci_high": None},
    }
    results["weights"] = {"method": "raking", "effective_n": 350.0, "deff": 1.4}
    results["design"] = {"strata": "point_town", "clusters": "point", "df": 40, "variance": "linearization"}
    results["excluded"] = {"straight_liner": 5, "speeder": 2}
    results["scale"] = {"mapping": "linear", "description": "(x − 1)/(K − 1) × 100"}
    headline = lambda index: {  # noqa: E731
        "index": {"estimate": index, "ci_low": index - 2, "ci_high": index + 2, "unstable": False},
        "satisfied_rate": {"estimate": 0.8, "ci_low": 0.76, "ci_high": 0.84},
        "n": 500,
    }
    results["sensitivity"] = {
        "headline": ["index", "satisfied_rate"],
        "weighting": {"method": "raking", "unweighted": headline(84.1), "weighted": headline(86.5)},
    }
    district = {"estimate": 86.5, "se": 0.8, "origin": "survey", "se_assumed": False}
    placement = {
        "level": "municipality",
        "year": 2025,
        "benchmark_year": 2025,
        "same_year": True,
        "source": "survey",
        "n_ranked": 8,
        "median_rank": 3,
        "rank_interval": [2, 5],
        "assumed_se": 1.0,
        "complete_list": True,
        "illustrative": True,
        "district": district,
        "units": [{"unit": "沙市区", "score": 88.0, "se": None, "se_assumed": True, "source": "illustrative"}],
    }
    monitoring = {**placement, "source": "monitoring", "median_rank": 7, "rank_interval": [7, 7]}
    results["rankings"] = {
        "assumed_se": 1.0,
        "year_rule": "same_year",
        "draws": 10000,
        "caveat": {"zh": "所用问卷、抽样和计分方法与监测机构不同，名次只作参考。", "en": "Different instruments."},
        "placements": [placement, monitoring],
    }
    results["drivers"] = {
        "priorities": [
            {
                "rank": 1,
                "domain": "healthcare",
                "domain_label": "医疗卫生",
                "item": "healthcare.family_doctor",
                "label": "家庭医生签约服务（健康随访、慢病管理等）",
                "relative_importance": 1.6,
                "performance": 71.2,
                "performance_ci_low": 68.0,
                "performance_ci_high": 74.4,
                "gap": 13.8,
                "score": 22.1,
            }
        ]
    }
    figure = {"index": 78.4, "se": 0.7, "ci_low": 77.0, "ci_high": 79.8, "df": 40, "n": 300, "psus": 20}
    withheld = {"index": 91.0, "se": 6.0, "ci_low": 79.0, "ci_high": 99.0, "df": 2, "n": 9, "psus": 2}
    results["plan"] = {"ranking": {"n_ranked": 24}}
    results["lead_units"] = {
        "health_bureau": {
            "code": "health_bureau",
            "name": {"zh": "区卫健局", "en": "District Health Commission"},
            "tasks": [9, 10],
            **figure,
            "unstable": False,
            "suppressed": False,
            "verdict": "not_met",
            "residents": {"n": 300},
            "rank": {"median_rank": 21, "rank_interval": [19, 23], "n_ranked": 24},
        },
        "tiny_office": {
            "code": "tiny_office",
            "name": {"zh": "区小单位", "en": "Small Office"},
            "tasks": [44],
            **withheld,
            "unstable": True,
            "suppressed": True,
            "verdict": None,
            "residents": {"n": 9},
            "rank": None,
        },
    }
    results["tasks"] = {
        "9": {
            "number": 9,
            "title": {"zh": "提升基层医疗服务能力", "en": "Better primary health care"},
            "lead_units": ["health_bureau"],
            "measured_by_survey": True,
            "index": {**figure, "unstable": False, "suppressed": False},
        },
        "45": {
            "number": 45,
            "title": {"zh": "强化监督评价", "en": "Supervision and evaluation"},
            "lead_units": [],
            "measured_by_survey": False,
            "index": None,
        },
    }
    run = fake_run(86.5)
    return ScoringRun(
        results_json=json.dumps(results, ensure_ascii=False),
        files=run.files,
        config=run.config,
        input_hashes=run.input_hashes,
    )


@pytest.fixture
def both(app):
    make_wave(app)
    with app.test_request_context():
        session = get_session()
        publish_run(session, get_wave(session, "2025"), both_targets_run(), actor="publisher-x")
        session.commit()
    return app


def test_both_verdicts_86_5_inconclusive_and_plain_chinese(both, client):
    """Both readings of the target with their verdicts by the interval (86.5, 84.8–88.2 → cannot
    tell yet), the plan's one first; the interval explained without "把握"; the sample's nature
    and one sensitivity line; no code or English word on the Chinese page."""
    text = client.get("/results/2025").get_data(as_text=True)
    body = re.sub(r"<[^>]+>", " ", text.split("<body", 1)[1])
    assert "规划目标" in body and "对照口径" in body
    assert body.index("总体满意度指数为86.5（95%置信区间84.8–88.2）") < body.index("总体满意率为80.0%")
    assert "区间包含85分：现有样本还不能确定是否达到" in body
    assert "区间整体低于85%：未达到" in body
    assert "把握" not in body and "95%单侧置信下限" not in body
    assert "扫码自愿参加" in body and "不加权时总体满意度指数为84.1，按人口结构加权后为86.5" in body
    assert "样本不足，不作判断" in body  # the unstable domain, without a verdict colour
    assert re.search(r'class="dot unstable"', text) is None  # no dot drawn for a figure that is None
    assert "答题模式单一" in body or "直线作答" in body or "straight_liner" not in body
    for code in (
        "straight_liner",
        "speeder",
        "raking",
        "linearization",
        "point_town",
        "not_met",
        "inconclusive",
        "municipality",
        "illustrative",
        "t = ",
        "df ",
    ):
        assert code not in body, code
    assert "来源：示意数据" in body
    assert "所用问卷、抽样和计分方法与监测机构不同" in body


def test_page_placements_are_those_of_results_json(both, client):
    """Only this survey's placements are the district's rank, as results.json has them, with the
    interval and the assumed standard error."""
    data = json.loads(client.get("/results/2025.json").get_data(as_text=True))
    survey = [p for p in data["rankings"]["placements"] if p["source"] == "survey"]
    text = re.sub(r"<[^>]+>", " ", client.get("/results/2025").get_data(as_text=True))
    for placement in survey:
        low, high = placement["rank_interval"]
        assert (
            f"排名中位数为第{placement['median_rank']}名（共{placement['n_ranked']}名），95%区间为第{low}–{high}名"
            in text
        )
    assert "排名中位数为第7名" not in text  # the monitoring's own figure is not the survey's rank
    assert "假定标准误1分" in text


def test_chinese_by_default(published, client):
    text = client.get("/results/2025").get_data(as_text=True)
    assert 'lang="zh-CN"' in text
    assert json.loads(client.get("/results/2025.json").get_data(as_text=True))["report"]["wave"] == "2025"


def test_year_page_is_drawn_once_and_served_with_etag_and_304(published, client, monkeypatch):
    """Issue 12: the frozen page is not re-rendered per request; ETag + Cache-Control, 304 on If-None-Match."""
    from survey.results import routes

    first = client.get("/results/2025")
    assert first.status_code == 200 and first.headers["ETag"] and "max-age=" in first.headers["Cache-Control"]
    drawn = []
    original = routes._draw_year
    monkeypatch.setattr(routes, "_draw_year", lambda *a, **k: drawn.append(1) or original(*a, **k))
    again = client.get("/results/2025", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()
    assert client.get("/results/2025").get_data() == first.get_data()
    assert drawn == []  # served from the frozen rendering
    _publish(published, index=81.0, reason="corrected margins")
    newer = client.get("/results/2025")
    assert drawn == [1] and newer.headers["ETag"] != first.headers["ETag"]


def test_a_results_section_is_one_partial_included_at_the_marked_point(both, client, tmp_path, monkeypatch):
    """Another part of Manyi adds a page section with one partial (survey/results/sections.py);
    the partial sees the typed results, the page model and the language."""
    from jinja2 import ChoiceLoader, DictLoader

    from survey.results import routes, sections

    folder = tmp_path / "sections"
    folder.mkdir()
    (folder / "50_integrity.html").write_text("x", encoding="utf-8")
    assert sections.section_templates(folder) == ["results/sections/50_integrity.html"]
    partial = "<section id='integrity'>核查 {{ results.said_target|int }} {{ page.n }} {{ language }}</section>"
    monkeypatch.setattr(
        both.jinja_env,
        "loader",
        ChoiceLoader([DictLoader({"results/sections/50_integrity.html": partial}), both.jinja_env.loader]),
    )
    monkeypatch.setattr(routes, "section_templates", lambda: ["results/sections/50_integrity.html"])
    text = client.get("/results/2025").get_data(as_text=True)
    assert "<section id='integrity'>核查 85 500 zh</section>" in text
    assert text.index("id='integrity'") < text.index('aria-labelledby="h-towns"')
    (folder / "bad name.html").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="NN_key.html"):
        sections.section_templates(folder)


def test_the_priority_list_is_in_the_pages_language(both, client):
    chinese = client.get("/results/2025").get_data(as_text=True)
    assert "家庭医生签约服务" in chinese and "71.2" in chinese
    english(client)
    text = client.get("/results/2025").get_data(as_text=True)
    assert "Contracted family doctor services" in text
    assert "家庭医生" not in text


def test_plan_tasks_and_lead_units_are_shown_with_intervals_and_ranges_only(both, client):
    chinese = client.get("/results/2025").get_data(as_text=True)
    section = chinese[chinese.index('id="h-plan"') :]
    assert "区卫健局" in section and "77.0–79.8" in section and "第19至23名" in section
    assert "未达到目标" in section
    # A suppressed lead unit is named, its figure is not.
    assert "区小单位" in section and "91.0" not in section and "样本不足，不作判断" in section
    assert "提升基层医疗服务能力" in section and "本项任务不由居民调查测量" in section
    data = client.get("/results/2025.json").get_json()
    assert data["lead_units"]["tiny_office"]["index"] is None and data["lead_units"]["tiny_office"]["n"] == 9
    english(client)
    text = client.get("/results/2025").get_data(as_text=True)
    assert "District Health Commission" in text and "区卫健局" not in text
