"""`manyi score WAVE --out DIR`: the full report from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from survey.cli import main
from tests.conftest import REPO, need

MARGINS = REPO / "questionnaires" / "margins" / "jingzhou-2025-illustrative.csv"
BENCHMARKS = REPO / "questionnaires" / "benchmarks"


@pytest.fixture
def demo(app):
    """The demo wave 2025 with synthetic responses, as `manyi demo` creates it."""
    result = app.test_cli_runner().invoke(main, ["demo", "--no-serve", "--responses", "1500", "--seed", "5"])
    assert result.exit_code == 0, result.output
    return app


def is_sqlite(app) -> bool:
    return app.config["DATABASE_URL"].startswith("sqlite")


def test_score_demo_wave_writes_every_file(demo, tmp_path):
    out = tmp_path / "out"
    pdf = is_sqlite(demo)  # the report part is the same on both databases: render the PDF once
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
    assert str(MARGINS) in data["inputs"]
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
    assert "数据库（期次 2025）" in html and "manyi score 2025" in html

    if not pdf:
        assert not (out / "report.pdf").exists()
        return
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        need("poppler-utils (pdftotext, pdffonts)", "apt-get install poppler-utils")
    report = out / "report.pdf"
    fonts = subprocess.run(["pdffonts", str(report)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"CJK|Han|WenQuanYi|SimHei|YaHei", fonts), fonts
    text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, text=True, check=True).stdout
    for phrase in (
        "领导摘要",
        "总体满意度指数",
        "目录",
        "各领域满意度",
        "重点改进事项",
        "监测排名对比",
        "方法说明",
        "数据质量",
    ):
        assert phrase in text, phrase
    pages = int(
        re.search(
            r"Pages:\s+(\d+)",
            subprocess.run(["pdfinfo", str(report)], capture_output=True, text=True, check=True).stdout,
        ).group(1)
    )
    assert pages >= 6
    assert f"共 {pages} 页" in text


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
