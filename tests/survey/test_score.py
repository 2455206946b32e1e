"""`manyi score WAVE --out DIR`: the full report from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from survey.cli import main
from survey.services.publication import public_results
from tests.conftest import REPO

MARGINS = REPO / "questionnaires" / "margins" / "jingzhou-2025-illustrative.csv"
BENCHMARKS = REPO / "questionnaires" / "benchmarks"


@pytest.fixture
def demo(demo_app):
    """The demo wave 2025 with synthetic responses, as `manyi demo` creates it (made once per
    worker and database kind, copied for each test: tests/conftest.py ``demo_app``)."""
    return demo_app


def is_sqlite(app) -> bool:
    return app.config["DATABASE_URL"].startswith("sqlite")


def differences(ours, theirs, where: str = "") -> list[str]:
    """Where two JSON values differ: numbers by more than 1e-9, anything else at all."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = [f"{where}.{key}: only on one side" for key in sorted(set(ours) ^ set(theirs))]
        for key in sorted(set(ours) & set(theirs)):
            found += differences(ours[key], theirs[key], f"{where}.{key}")
        return found
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{where}: {len(ours)} vs {len(theirs)} items"]
        return [line for k, (a, b) in enumerate(zip(ours, theirs)) for line in differences(a, b, f"{where}[{k}]")]
    numbers = (int, float)
    if isinstance(ours, numbers) and isinstance(theirs, numbers) and not isinstance(ours, bool):
        return [] if ours == pytest.approx(theirs, rel=1e-9, abs=1e-9) else [f"{where}: {ours} vs {theirs}"]
    return [] if ours == theirs else [f"{where}: {ours!r} vs {theirs!r}"]


def test_score_with_no_flags_reproduces_the_publication(demo, tmp_path, rendering_stand_in):
    """``manyi score 2025`` with no flag uses the wave's settings (the demo's: illustrative
    margins and benchmarks, target 85 on the index, illustrative) and equals the published
    ``/results/2025.json`` on every number — only the time it was generated differs."""
    out = tmp_path / "out"
    result = demo.test_cli_runner().invoke(main, ["score", "2025", "--out", str(out), "--no-pdf", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "settings: wave 2025's (digest" in result.output and "illustrative" in result.output
    scored = json.loads((out / "results.json").read_text(encoding="utf-8"))
    published = demo.test_client().get("/results/2025.json").get_json()
    published.pop("publication")
    scored = public_results(scored)
    assert scored["report"].pop("generated") and published["report"].pop("generated")
    assert differences(scored, published) == []
    assert scored["weights"]["method"] == "raking" and scored["report"]["illustrative"] is True
    assert scored["settings"]["wave"]["stored"] is True and scored["settings"]["wave"]["differences"] == []
    assert scored["target"]["value"] == 85 and scored["target"]["metric"] == "index"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "示意数据" in html


def test_score_flags_override_the_wave_settings_and_say_so(demo, tmp_path, rendering_stand_in):
    out = tmp_path / "out"
    args = ["score", "2025", "--out", str(out), "--no-pdf", "--quiet", "--no-margins", "--mapping", "monitoring"]
    result = demo.test_cli_runner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "margins:" in result.output and "mapping: linear (wave) → monitoring (this run)" in result.output
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["weights"]["method"] != "raking"
    assert {row["setting"] for row in data["settings"]["wave"]["differences"]} == {"margins", "mapping"}
    assert "本次分析所用设置与期次 2025 保存的设置不同" in (out / "report.html").read_text(encoding="utf-8")


def test_score_demo_wave_writes_every_file(demo, tmp_path, pdf_stand_in):
    """Every file ``manyi score`` writes for the demo wave.  The PDF is the stand-in here (on
    SQLite; ``--no-pdf`` on PostgreSQL): the demo's real report PDF, published from the
    database, is checked by tests/browser/test_report_pdf.py."""
    out = tmp_path / "out"
    pdf = is_sqlite(demo)  # the report part is the same on both databases
    args = [
        "score",
        "2025",
        "--out",
        str(out),
        "--margins",
        str(MARGINS),
        "--illustrative",
        "--quiet",
        *[arg for path in sorted(BENCHMARKS.glob("*.csv")) for arg in ("--benchmarks", str(path))],
    ]
    if not pdf:
        args.append("--no-pdf")
    result = demo.test_cli_runner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "wave 2025" in result.output and "overall index" in result.output

    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["overall"]["n"] > 1000
    assert data["weights"]["method"] == "raking"
    assert data["design"] == {**data["design"], "strata": "point_town", "clusters": "point"}
    assert f"margins/{MARGINS.name}" in data["inputs"]  # named, never located
    assert not any(name.startswith("/") for name in data["inputs"])
    assert data["report"]["wave"] == "2025" and data["report"]["illustrative"] is True
    survey = [p for p in data["rankings"]["placements"] if p["source"] == "survey"]
    assert {(p["level"], p["year"], p["benchmark_year"]) for p in survey} == {
        ("province", 2025, 2025),
        ("municipality", 2025, 2025),
    }  # the national figures are of 2020–2021: not compared with a 2025 survey (said in a note)
    assert any(note.startswith("全国监测") for note in data["rankings"]["notes"])
    assert data["rankings"]["assumed_se"] == 1.0 and data["report"]["year"] == 2025
    assert len(data["drivers"]["domains"]) == 12
    assert (out / "tables.xlsx").stat().st_size > 0
    assert len(list((out / "tables").glob("*.csv"))) >= 10
    pngs = sorted((out / "charts").glob("*.png"))
    # 4 overview charts, 2 rankings, the priorities, 12 IPA; no trend chart for a single wave
    assert len(pngs) >= 19 and len(list((out / "charts").glob("*.svg"))) == len(pngs)
    assert not (out / "charts" / "trend.png").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "西城街道" in html and "示意数据" in html
    assert "期次 2025 保存的分析设置" in html  # which settings the run used is said in the report
    methodology = (out / "tables" / "methodology.csv").read_text(encoding="utf-8-sig")
    assert "数据库（期次 2025）" in methodology and "manyi score 2025" in methodology  # for the statistician

    if not pdf:
        assert not (out / "report.pdf").exists()
        return
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_unknown_wave_is_an_error(app, tmp_path):
    result = app.test_cli_runner().invoke(main, ["score", "1999", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no wave '1999'" in result.output
    assert not (tmp_path / "out").exists()


def test_wave_without_responses_is_an_error(app, tmp_path):
    from survey.db import get_session
    from survey.services.waves import create_wave

    with app.app_context():
        session = get_session()
        create_wave(session, "2026")
        session.commit()
    result = app.test_cli_runner().invoke(main, ["score", "2026", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no submitted responses" in result.output


def test_bad_margins_change_nothing(demo, tmp_path):
    margins = tmp_path / "margins.csv"
    margins.write_text("variable,level,population\ntown,nowhere,1000\n", encoding="utf-8")
    out = tmp_path / "out"
    result = demo.test_cli_runner().invoke(
        main, ["score", "2025", "--out", str(out), "--margins", str(margins), "--quiet"]
    )
    assert result.exit_code == 2
    assert "margins" in result.output and "town" in result.output
    assert not out.exists()


def test_residents_moved_across_towns_do_not_change_the_design(demo, tmp_path, rendering_stand_in):
    """Strata are the collection point's town, not the resident's: moving residents to other
    towns in the database leaves the design alone.  df = #points − #point-towns for the
    rows at a point, plus Σ (n_c − 1) for the phone and paper strata (each respondent
    its own PSU, one stratum per channel)."""
    from sqlalchemy import select

    from survey.db import get_session
    from survey.models import CollectionPoint, Response

    def score(name: str) -> dict:
        out = tmp_path / name
        args = ["score", "2025", "--out", str(out), "--no-pdf", "--quiet", "--no-screening", "--no-margins"]
        result = demo.test_cli_runner().invoke(main, args)
        assert result.exit_code == 0, result.output
        return json.loads((out / "results.json").read_text(encoding="utf-8"))

    before = score("before")
    with demo.app_context():
        session = get_session()
        rows = session.execute(
            select(Response, CollectionPoint.town_code)
            .outerjoin(CollectionPoint, Response.point_id == CollectionPoint.id)
            .where(Response.state == "submitted")
        ).all()
        towns = sorted({town for _, town in rows if town})
        moved = 0
        for response, point_town in rows:
            if point_town and moved < len(rows) // 3:  # a third of the residents live in another town
                response.town_code = towns[(towns.index(point_town) + 1) % len(towns)]
                moved += 1
        session.commit()
        points = {response.point_id for response, _ in rows if response.point_id is not None}
        point_towns = {town for _, town in rows if town}
        channels = [response.channel for response, _ in rows if response.point_id is None]
    assert moved > 100 and set(channels) == {"phone", "paper"}  # the demo keeps phone/paper rows apart
    after = score("after")
    unclustered = {channel: channels.count(channel) for channel in set(channels)}
    expected = len(points) - len(point_towns) + sum(n - 1 for n in unclustered.values())
    assert before["design"]["df"] == after["design"]["df"] == expected
    assert after["design"]["rows_without_cluster"]["rows"] == len(channels)
    assert after["design"]["n_strata"] == len(point_towns) + len(unclustered)
