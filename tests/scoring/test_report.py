"""The report: results.json, tables.xlsx/CSV, charts, report.html and report.pdf (scoring.report)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from scoring.drivers import item_score_frame
from scoring.questionnaire import DOMAIN_IDS, load_questionnaires
from scoring.rankings import combine_benchmarks, read_benchmarks
from scoring.report import Progress, ReportInputError, build_report, read_results, wave_year
from tests.conftest import QUESTIONNAIRES, need
from tests.scoring.report_data import fake_results, synthetic_responses

BENCHMARKS = Path(__file__).resolve().parents[2] / "questionnaires" / "benchmarks"
CONTRACT_KEYS = {"overall", "domains", "target", "weights", "design", "excluded", "subgroups", "inputs", "version"}


def need_poppler():
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        need("poppler-utils (pdftotext, pdffonts)", "apt-get install poppler-utils")


def pdf_text(path: Path, *, first: int | None = None, last: int | None = None) -> str:
    command = ["pdftotext", "-layout"]
    if first:
        command += ["-f", str(first)]
    if last:
        command += ["-l", str(last)]
    return subprocess.run([*command, str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One full report (PDF included) on synthetic data, shared by the tests of this module."""
    responses = synthetic_responses()
    results = fake_results(responses)
    previous = fake_results(responses, shift=-1.5)
    previous["report"] = {"wave": "2024", "year": 2024}
    benchmarks = combine_benchmarks([read_benchmarks(p) for p in sorted(BENCHMARKS.glob("*.csv"))])
    out = tmp_path_factory.mktemp("report") / "out"
    files = build_report(
        results,
        out_dir=out,
        item_scores=item_score_frame(responses, questionnaires=load_questionnaires(QUESTIONNAIRES)),
        weights=np.ones(len(responses)),
        strata=responses["town"].to_numpy(),
        clusters=responses["point"].to_numpy(),
        questionnaires=load_questionnaires(QUESTIONNAIRES),
        benchmarks=benchmarks,
        previous=[("2024", previous)],
        wave="2025",
        illustrative=True,
        seed=11,
        run={
            "margins": "questionnaires/margins/jingzhou-2025-illustrative.csv",
            "command": "python -m scoring report …",
        },
    )
    return files


def test_every_file_is_written(report):
    names = {path.name for path in report.all_files}
    assert {"results.json", "tables.xlsx", "report.html", "report.pdf"} <= names
    for path in report.all_files:
        assert path.exists() and path.stat().st_size > 0, path
        assert report.directory in path.parents
    chart_names = {chart.name for chart in report.charts}
    assert {
        "domain_index",
        "satisfied_rates",
        "overall_target",
        "towns",
        "trend",
        "priorities",
        "rank_municipality",
        "rank_province",
        "rank_national",
    } <= chart_names
    assert {f"ipa_{domain}" for domain in DOMAIN_IDS} <= chart_names
    for chart in report.charts:
        assert chart.png.suffix == ".png" and chart.svg.suffix == ".svg"
    leftovers = [p for p in report.directory.parent.iterdir() if "staging" in p.name]
    assert leftovers == []


def test_results_json_is_the_contract_plus_rankings_and_drivers(report):
    data = json.loads(report.results_json.read_text(encoding="utf-8"))
    assert set(data) >= CONTRACT_KEYS
    assert {"rankings", "drivers", "change", "trend", "report"} <= set(data)
    placements = data["rankings"]["placements"]
    assert {p["level"] for p in placements} == {"national", "province", "municipality"}
    for placement in placements:
        low, high = placement["rank_interval"]
        assert low <= placement["median_rank"] <= high  # never a bare rank
        assert sum(placement["rank_probabilities"].values()) == pytest.approx(1.0)
    assert set(data["drivers"]["domains"]) == set(DOMAIN_IDS)
    assert data["drivers"]["priorities"][0]["rank"] == 1
    assert data["change"]["changes"]["overall.index"]["difference"] == pytest.approx(1.5)
    assert [point["wave"] for point in data["trend"]] == ["2024", "2025"]
    assert data["report"]["illustrative"] is True and data["report"]["year"] == 2025
    # read_results accepts what the report wrote (the next wave's --previous)
    assert read_results(report.results_json)["overall"]["index"] == pytest.approx(data["overall"]["index"])


def test_xlsx_has_one_sheet_per_table_with_chinese_headers(report):
    from openpyxl import load_workbook

    workbook = load_workbook(report.tables_xlsx, read_only=True)
    sheets = workbook.sheetnames
    assert {
        "总体结果",
        "各领域",
        "分组结果",
        "镇街总体",
        "关键驱动因素",
        "重点改进事项",
        "排名",
        "对标单位",
        "与上期比较",
        "方法说明",
        "输入文件",
        "剔除记录",
        "数据质量",
    } <= set(sheets)
    assert len(sheets) == len(report.tables_csv)
    header = [cell.value for cell in next(workbook["各领域"].iter_rows(max_row=1))]
    assert header[:3] == ["领域", "代码", "满意度指数"]
    rows = list(workbook["各领域"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(DOMAIN_IDS)


def test_csv_tables_open_in_excel_and_pandas(report):
    import pandas as pd

    domains = report.directory / "tables" / "domains.csv"
    assert domains.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    frame = pd.read_csv(domains, encoding="utf-8-sig")
    assert list(frame["代码"]) == list(DOMAIN_IDS)
    towns = pd.read_csv(report.directory / "tables" / "towns_overall.csv", encoding="utf-8-sig")
    assert "西城街道" in set(towns["组别"])


def test_html_is_self_contained(report):
    html = report.html.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') >= 15
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html and "url(" not in html
    assert "领导摘要" in html and "示意数据" in html


def test_pdf_is_a4_chinese_with_page_numbers_and_a_table_of_contents(report):
    need_poppler()
    assert pdf_pages(report.pdf) >= 6
    fonts = subprocess.run(["pdffonts", str(report.pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"(CJK|Han|WenQuanYi|SimHei|YaHei)", fonts), fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())  # embedded
    info = subprocess.run(["pdfinfo", str(report.pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (595, 842)  # A4
    first = pdf_text(report.pdf, first=1, last=1)
    assert "领导摘要" in first and "总体满意度指数" in first
    assert "第 1 页" in first
    contents = pdf_text(report.pdf, first=2, last=2)
    assert "目录" in contents
    entries = re.findall(r"(方法说明|数据质量|监测排名对比)\s*\.*\s*(\d+)", contents)
    assert len(entries) == 3
    for title, page in entries:
        assert title in pdf_text(report.pdf, first=int(page), last=int(page))


def test_page_one_is_the_summary_for_leaders(report):
    need_poppler()
    first = pdf_text(report.pdf, first=1, last=1).replace(" ", "")
    overall = report.results["overall"]
    assert f"{overall['index']:.1f}" in first
    assert f"{overall['ci_low']:.1f}–{overall['ci_high']:.1f}" in first
    verdict = {"met": "已达到目标", "not_met": "未达到目标", "inconclusive": "尚无法判断"}[
        report.results["target"]["verdict"]
    ]
    assert verdict in first
    assert "95%区间为第" in first  # the rank interval, never a bare rank
    assert "示意数据" in first


def test_methodology_and_quality_are_generated_from_the_run(report):
    html = report.html.read_text(encoding="utf-8")
    results = report.results
    assert "jingzhou-2025-illustrative.csv" in html  # margins
    assert "按人口边际迭代加权" in html  # weighting method
    assert "泰勒线性化" in html  # variance method
    assert f"{results['weights']['deff']:.3f}" in html
    assert "0" * 64 in html  # input hash
    assert "答题过快" in html and "同一浏览器重复提交" in html  # exclusions
    assert "Johnson相对权重" in html and "JKn" in html
    assert "10,000" in html  # rank draws


def test_bad_previous_results_change_nothing(tmp_path):
    from scoring.report_cli import ReportOptions, run_report

    bad = tmp_path / "previous.json"
    bad.write_text('{"something": 1}', encoding="utf-8")
    with pytest.raises(ReportInputError, match="not a results.json"):
        run_report({"responses": "unused.csv"}, ReportOptions(out=tmp_path / "out", previous=(bad,), quiet=True))
    assert not (tmp_path / "out").exists()


def test_a_failure_half_way_keeps_the_previous_report(tmp_path, monkeypatch):
    import scoring.report as report_module

    responses = synthetic_responses()
    results = fake_results(responses)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("previous report", encoding="utf-8")

    def broken_pdf(html, path):
        raise RuntimeError("printer on fire")

    monkeypatch.setattr(report_module, "write_pdf", broken_pdf)
    with pytest.raises(RuntimeError, match="printer on fire"):
        build_report(results, out_dir=out, wave="2025")
    assert (out / "results.json").read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_report_without_responses_benchmarks_or_previous(tmp_path):
    results = fake_results(synthetic_responses())
    files = build_report(results, out_dir=tmp_path / "minimal", wave="2025", pdf=False)
    data = files.results
    assert data["rankings"] is None and data["drivers"] is None and "change" not in data
    html = files.html.read_text(encoding="utf-8")
    assert "本次未提供对标数据" in html and "本次未提供上期结果" in html
    assert files.pdf is None


def test_progress_bars_go_to_stderr(tmp_path, capsys):
    import io

    stream = io.StringIO()
    results = fake_results(synthetic_responses())
    build_report(results, out_dir=tmp_path / "r", wave="2025", pdf=False, progress=Progress(stream=stream))
    lines = stream.getvalue().splitlines()
    assert any(line.startswith("图表") and "[" in line for line in lines)
    assert capsys.readouterr().out == ""


def test_wave_year():
    assert wave_year("2025") == 2025
    assert wave_year("2025-spring") == 2025
    assert wave_year("pilot") is None


# --------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def survey_files(tmp_path_factory):
    from scoring.synthetic import generate_survey, write_responses_csv

    folder = tmp_path_factory.mktemp("survey")
    population, sample = generate_survey(
        1500, seed=21, population_size=100_000, questionnaires=load_questionnaires(QUESTIONNAIRES)
    )
    write_responses_csv(sample.responses, folder / "responses.csv")
    population.margins.to_csv(folder / "margins.csv", index=False)
    return folder


def test_report_command_end_to_end(survey_files, tmp_path, capsys):
    from scoring.cli import main

    out = tmp_path / "report"
    status = main(
        [
            "report",
            "--responses",
            str(survey_files / "responses.csv"),
            "--questionnaires",
            str(QUESTIONNAIRES),
            "--margins",
            str(survey_files / "margins.csv"),
            "--strata",
            "town",
            "--cluster",
            "point",
            "--benchmarks",
            str(BENCHMARKS / "jingzhou-municipal-illustrative.csv"),
            "--out",
            str(out),
            "--no-pdf",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "overall index" in captured.out and "图表" in captured.err
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["report"]["wave"] == "2025"  # read from the responses' wave column
    assert data["weights"]["method"] != "none"
    assert data["design"]["strata"] == "town"
    assert str(BENCHMARKS / "jingzhou-municipal-illustrative.csv") in data["inputs"]
    assert data["drivers"]["variance"] == "JKn"
    assert data["rankings"]["placements"][-1]["year"] == 2025
    assert (out / "charts" / "ipa_education.png").exists()
    drivers = (out / "tables" / "drivers.csv").read_text(encoding="utf-8-sig")
    assert "幼儿园、中小学学位供给" in drivers  # item labels from the questionnaires


def test_report_command_bad_benchmarks_exit_2_and_write_nothing(survey_files, tmp_path, capsys):
    from scoring.cli import main

    bad = tmp_path / "bench.csv"
    bad.write_text("year,level,unit,score,rank,se,source\n2024,municipality,a,80,,,\n", encoding="utf-8")
    out = tmp_path / "report"
    status = main(
        [
            "report",
            "--responses",
            str(survey_files / "responses.csv"),
            "--benchmarks",
            str(bad),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 2
    assert "line 2, column source" in capsys.readouterr().err
    assert not out.exists()


def test_report_command_bad_responses_exit_2(tmp_path, capsys):
    from scoring.cli import main

    responses = tmp_path / "responses.csv"
    responses.write_text("response_id,education.q1,education.overall\nr1,7,3\n", encoding="utf-8")
    out = tmp_path / "report"
    assert main(["report", "--responses", str(responses), "--out", str(out), "--quiet"]) == 2
    assert "education.q1" in capsys.readouterr().err
    assert not out.exists()
