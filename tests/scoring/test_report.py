"""The report as a library call: data in, files as bytes out (scoring.report); the CLI writes them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import pickle
import re
import subprocess
from pathlib import Path

import pytest

from scoring.benchmarks import combine_benchmarks, read_benchmarks, validate_benchmarks
from scoring.design import collection_design
from scoring.drivers import item_score_frame
from scoring.questionnaire import DOMAIN_IDS, load_questionnaires
from scoring.report import (
    Progress,
    ReportFiles,
    ReportInputError,
    ReportSettings,
    build_report,
    parse_results,
    read_results,
    write_files,
)
from tests import render_cache
from tests.conftest import QUESTIONNAIRES, locked, shared_folder
from tests.pdf_support import need_poppler, pdf_pages, pdf_text
from tests.scoring.report_data import fake_results, synthetic_responses

BENCHMARKS = Path(__file__).resolve().parents[2] / "questionnaires" / "benchmarks"
CONTRACT_KEYS = {"overall", "domains", "target", "weights", "design", "excluded", "subgroups", "inputs", "version"}


GENERATED = dt.datetime(2025, 7, 1, 1, 30, tzinfo=dt.UTC)  # 09:30 in Beijing


def shipped_benchmarks():
    return combine_benchmarks([read_benchmarks(p) for p in sorted(BENCHMARKS.glob("*.csv"))])


def design_for(responses):
    return collection_design(responses.reset_index(drop=True))


@pytest.fixture(scope="module")
def report(tmp_path_factory, worker_id):
    """One full report (its PDF included; the bulletins are the stand-in) on synthetic data, in
    memory, and the folder it was written to.

    Built once per test run by the first pytest-xdist worker that needs it (the other reads
    the same bytes back), then written by each worker to its own folder."""
    shared = shared_folder(tmp_path_factory, worker_id) / "report-fixture"
    built = shared / "report.pickle"
    with locked(shared / "lock"):
        if not built.exists():
            scratch = built.with_name(f"report.pickle.{os.getpid()}")
            with pytest.MonkeyPatch.context() as monkeypatch:
                render_cache.install_bulletin_stand_in(monkeypatch)  # this module reads no bulletin
                files = _full_report()
            scratch.write_bytes(pickle.dumps(files, protocol=5))
            os.replace(scratch, built)
    files = pickle.loads(built.read_bytes())
    out = tmp_path_factory.mktemp("report") / "out"
    write_files(files, out)
    return files, out


def _full_report() -> ReportFiles:
    responses = synthetic_responses()
    results = fake_results(responses)
    previous = fake_results(responses, shift=-1.5)
    previous["report"] = {"wave": "2024", "year": 2024}
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    return build_report(
        results,
        settings=ReportSettings(wave="2025", year=2025, illustrative=True, seed=11),
        previous=[previous],
        benchmarks=shipped_benchmarks(),
        questionnaires=questionnaires,
        item_scores=item_score_frame(responses, questionnaires=questionnaires),
        design=design_for(responses),
        facts={"margins": "jingzhou-2025-illustrative.csv", "command": "python -m scoring report …"},
        generated=GENERATED,
    )


def test_every_file_is_returned_as_bytes_and_written_by_write_files(report):
    files, out = report
    assert isinstance(files, ReportFiles)
    assert {"results.json", "tables.xlsx", "report.html", "report.pdf"} <= set(files.names)
    for name, data in files.files.items():
        assert isinstance(data, bytes) and data, name
        assert (out / name).read_bytes() == data
    charts = {name.removeprefix("charts/").rsplit(".", 1)[0] for name in files.under("charts")}
    assert {
        "domain_index",
        "satisfied_rates",
        "overall_target",
        "towns",
        "trend",
        "priorities",
        "rank_municipality",
        "rank_province",
    } <= charts
    assert {f"ipa_{domain}" for domain in DOMAIN_IDS} <= charts
    assert all(f"charts/{name}.png" in files.files and f"charts/{name}.svg" in files.files for name in charts)
    assert files.pdf.startswith(b"%PDF")
    assert read_results(out / "results.json") == files.results
    assert [p for p in out.parent.iterdir() if "staging" in p.name] == []


def test_results_json_is_encoded_once_and_is_the_contract_plus_rankings_and_drivers(report):
    files, _ = report
    data = json.loads(files.results_json)
    assert data == files.results  # the bytes encode exactly the dict returned beside them
    assert set(data) >= CONTRACT_KEYS
    assert {"rankings", "drivers", "change", "trend", "report"} <= set(data)
    survey = [p for p in data["rankings"]["placements"] if p["source"] == "survey"]
    assert {(p["level"], p["year"]) for p in survey} >= {("municipality", 2025), ("province", 2025)}
    for placement in data["rankings"]["placements"]:
        low, high = placement["rank_interval"]
        assert low <= placement["median_rank"] <= high  # never a bare rank
        assert sum(placement["rank_probabilities"].values()) == pytest.approx(1.0)
        assert placement["same_year"] is True and placement["year"] == placement["benchmark_year"]
        assert placement["assumed_se"] == data["rankings"]["assumed_se"] == 1.0
    assert any("全国监测" in note and "2025" in note for note in data["rankings"]["notes"])  # national: no 2025 figures
    assert {c["source"] for c in data["rankings"]["changes"]} <= {"survey", "monitoring"}
    assert data["rankings"]["caveat"]["zh"]
    assert set(data["drivers"]["domains"]) == set(DOMAIN_IDS)
    assert data["drivers"]["variance"] == "jackknife"
    assert data["drivers"]["priorities"][0]["rank"] == 1
    assert data["change"]["changes"]["overall.index"]["difference"] == pytest.approx(1.5)
    assert [(point["wave"], point["year"]) for point in data["trend"]] == [("2024", 2024), ("2025", 2025)]
    meta = data["report"]
    assert meta["illustrative"] is True and meta["year"] == 2025 and meta["wave"] == "2025"
    assert meta["previous"] == ["2024"]
    assert meta["generated"] == "2025-07-01T09:30:00+08:00"  # Beijing time, with its offset
    # parse_results accepts what the report wrote (the next wave's previous results)
    assert parse_results(files.results_json)["overall"]["index"] == pytest.approx(data["overall"]["index"])


def test_xlsx_has_one_sheet_per_table_with_chinese_headers(report):
    from openpyxl import load_workbook

    files, _ = report
    workbook = load_workbook(io.BytesIO(files.files["tables.xlsx"]), read_only=True)
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
    assert len(sheets) == len(files.under("tables"))
    header = [cell.value for cell in next(workbook["各领域"].iter_rows(max_row=1))]
    assert header[:3] == ["领域", "代码", "满意度指数"]
    rows = list(workbook["各领域"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(DOMAIN_IDS)


def test_csv_tables_open_in_excel_and_pandas(report):
    import pandas as pd

    files, _ = report
    domains = files.files["tables/domains.csv"]
    assert domains.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    frame = pd.read_csv(io.BytesIO(domains), encoding="utf-8-sig")
    assert list(frame["代码"]) == list(DOMAIN_IDS)
    towns = pd.read_csv(io.BytesIO(files.files["tables/towns_overall.csv"]), encoding="utf-8-sig")
    assert "西城街道" in set(towns["组别"])
    units = pd.read_csv(io.BytesIO(files.files["tables/rank_units.csv"]), encoding="utf-8-sig")
    assert "标准误" in units.columns and units["标准误"].astype(str).str.contains("假定").any()


def test_html_is_self_contained(report):
    files, _ = report
    html = files.html.decode("utf-8")
    assert html.count('src="data:image/png;base64,') >= 15
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html and "url(" not in html
    assert "领导摘要" in html and "示意数据" in html


def test_pdf_is_a4_chinese_with_page_numbers_and_a_table_of_contents(report):
    need_poppler()
    _, out = report
    pdf = out / "report.pdf"
    assert pdf_pages(pdf) >= 6
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"(CJK|Han|WenQuanYi|SimHei|YaHei)", fonts), fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:] if line.strip())  # embedded
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(width), round(height)) == (595, 842)  # A4
    first = pdf_text(pdf, first=1, last=1)
    assert "领导摘要" in first and "总体满意度指数" in first
    assert "第 1 页" in first
    contents = pdf_text(pdf, first=2, last=2)
    assert "目录" in contents
    entries = re.findall(r"(方法说明|数据质量|监测排名对比)\s*\.*\s*(\d+)", contents)
    assert len(entries) == 3
    for title, page in entries:
        assert title in pdf_text(pdf, first=int(page), last=int(page))


def test_page_one_is_the_summary_for_leaders(report):
    need_poppler()
    files, out = report
    first = pdf_text(out / "report.pdf", first=1, last=1).replace(" ", "")
    overall = files.results["overall"]
    assert f"{overall['index']:.1f}" in first
    assert f"{overall['ci_low']:.1f}–{overall['ci_high']:.1f}" in first
    verdict = {"met": "已达到目标", "not_met": "未达到目标", "inconclusive": "尚无法判断"}[
        files.results["target"]["verdict"]
    ]
    assert verdict in first
    assert "95%区间为第" in first  # the rank interval, never a bare rank
    assert "假定标准误1分" in first  # the assumed SE stated beside the ranking
    assert "所用问卷、抽样和计分方法与监测机构不同" in first  # the instrument caveat
    assert "示意数据" in first


def test_pdf_times_are_beijing_time_and_say_so(report):
    need_poppler()
    _, out = report
    text = pdf_text(out / "report.pdf", first=1, last=1)
    assert "2025-07-01 09:30 北京时间（UTC+8）" in text
    assert "UTC " not in text.replace("UTC+8", "")


def test_pdf_placements_are_those_of_results_json(report):
    need_poppler()
    files, out = report
    text = re.sub(r"\s+", "", pdf_text(out / "report.pdf"))
    for placement in files.results["rankings"]["placements"]:
        if placement["source"] != "survey" or placement["year"] != 2025:
            continue
        low, high = placement["rank_interval"]
        sentence = (
            f"排名中位数为第{placement['median_rank']}名（共{placement['n_ranked']}名），95%区间为第{low}–{high}名"
        )
        if low == high:
            sentence = f"排名中位数为第{placement['median_rank']}名（共{placement['n_ranked']}名），95%区间为第{low}名"
        assert sentence in text


def test_no_pdf_line_starts_with_closing_punctuation(report):
    need_poppler()
    _, out = report
    for line in pdf_text(out / "report.pdf").splitlines():
        assert not line.strip().startswith(("、", "，", "。", "；", "）")), line


def test_no_page_holds_only_a_table(report):
    """A short table moves with its heading and sentence: every page without a chart has a
    sentence of text (a table alone on a page, e.g. the rank changes, is gone)."""
    need_poppler()
    _, out = report
    pdf = out / "report.pdf"
    for page in range(1, pdf_pages(pdf) + 1):
        images = subprocess.run(
            ["pdfimages", "-list", "-f", str(page), "-l", str(page), str(pdf)], capture_output=True, text=True
        ).stdout.splitlines()[2:]
        if images:
            continue
        text = pdf_text(pdf, first=page, last=page)
        assert re.search(r"[。：]\s*$", text, re.MULTILINE), f"page {page} has no sentence:\n{text}"


def test_methodology_and_quality_are_generated_from_the_run(report):
    files, _ = report
    html = files.html.decode("utf-8")
    results = files.results
    assert "jingzhou-2025-illustrative.csv" in html  # margins
    assert "按人口结构加权（迭代比例加权）" in html  # weighting method
    assert "泰勒线性化" in html  # variance method
    assert f"{results['weights']['deff']:.3f}" in html
    assert "0" * 64 in html  # input hash
    assert "答题过快" in html and "同一浏览器重复提交" in html  # exclusions
    assert "约翰逊相对权重（Johnson relative weights" in html and "分层刀切法（JKn）" in html
    assert "10,000" in html  # rank draws
    assert "假定标准误1分" in html and "只比较同一年份" in html


def test_bad_previous_results_are_refused_before_anything_is_computed():
    results = fake_results(synthetic_responses())
    settings = ReportSettings(wave="2025", year=2025, pdf=False)
    with pytest.raises(ReportInputError, match="not a results.json"):
        build_report(results, settings=settings, previous=[{"something": 1}])
    with pytest.raises(ReportInputError, match="which wave and year"):
        build_report(results, settings=settings, previous=[{"overall": {}, "domains": {}}])
    with pytest.raises(ReportInputError, match="wave being reported"):
        build_report(results, settings=settings, previous=[{**results, "report": {"wave": "2025", "year": 2025}}])


def test_bad_settings_are_refused():
    results = fake_results(synthetic_responses())
    with pytest.raises(ReportInputError, match="--draws must be at least 10000"):
        build_report(results, settings=ReportSettings(wave="2025", draws=100))
    with pytest.raises(ReportInputError, match="--assumed-se"):
        build_report(results, settings=ReportSettings(wave="2025", assumed_se=-1.0))
    with pytest.raises(ReportInputError, match="needs the survey's year"):
        build_report(results, settings=ReportSettings(wave="2025"), benchmarks=shipped_benchmarks())


def test_write_files_is_atomic(tmp_path, monkeypatch):
    import scoring.report.files as files_module

    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("previous report", encoding="utf-8")
    calls = []

    def broken_replace(source, target):
        calls.append(target)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_files({"results.json": b"{}", "tables/a.csv": b"a"}, out)
    assert (out / "results.json").read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind
    with pytest.raises(ReportInputError, match="outside"):
        write_files({"../escape.txt": b"x"}, out)


def test_build_report_writes_nothing(tmp_path, monkeypatch, uncached_charts):
    """The library call passes data in memory: no file is written, no temporary one either.

    (openpyxl itself writes each sheet to a scratch file ``openpyxl.*`` while zipping the
    workbook and deletes it: that is the library's, not data passed between our steps.)
    """
    import builtins
    import os
    import tempfile

    results = fake_results(synthetic_responses())
    monkeypatch.chdir(tmp_path)
    opened = []
    real_open = builtins.open

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            opened.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def no_temporary(*args, **kwargs):
        raise AssertionError("build_report made a temporary file or folder")

    monkeypatch.setattr(builtins, "open", watching_open)
    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temporary)
    files = build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False, chart_workers=1))
    assert "report.html" in files.files
    scratch = [path for path in opened if os.path.basename(path).startswith("openpyxl.")]
    assert [path for path in opened if path not in scratch] == []
    assert not any(os.path.exists(path) for path in scratch)
    assert list(tmp_path.iterdir()) == []


def test_report_without_responses_benchmarks_or_previous():
    results = fake_results(synthetic_responses())
    files = build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False))
    data = files.results
    assert data["rankings"] is None and data["drivers"] is None and "change" not in data
    html = files.html.decode("utf-8")
    assert "本报告未使用对标数据" in html and "没有可比较的往期调查结果" in html
    assert "--previous" not in html and "--benchmarks" not in html  # no command-line flags in the document
    assert files.pdf is None


def test_one_wave_has_no_trend_chart_but_a_plain_sentence():
    results = fake_results(synthetic_responses())
    files = build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False))
    assert "charts/trend.png" not in files.files
    assert "目前只有本期一期调查结果，暂无历年趋势" in files.html.decode("utf-8")


def test_rankings_without_same_year_figures_say_why(rendering_stand_in):
    """(Stand-in charts: the words are the subject.)"""
    results = fake_results(synthetic_responses())
    table = validate_benchmarks(
        "year,level,unit,score,rank,se,source\n2024,municipality,沙市区,83.6,1,,x\n2024,municipality,江陵县,79.3,,,x\n"
    )
    files = build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False), benchmarks=table)
    assert [p for p in files.results["rankings"]["placements"] if p["source"] == "survey"] == []
    html = files.html.decode("utf-8")
    assert "没有2025年的公布结果" in html and "不做排名对比" in html
    other = build_report(
        results,
        settings=ReportSettings(wave="2025", year=2025, pdf=False, compare_other_years=True),
        benchmarks=table,
    )
    [placement] = other.results["rankings"]["placements"]
    assert placement["benchmark_year"] == 2024 and placement["same_year"] is False
    assert "年份不同" in other.html.decode("utf-8")


def test_both_target_verdicts_are_said_when_the_results_carry_both():
    """With ``targets{metric, index, satisfied_rate}`` (the stats contract), the summary and the
    target table give both verdicts, the plan's metric first; an unstable one gets no verdict."""
    from scoring.report.tables import result_tables
    from scoring.report.text import summary_points

    results = fake_results(synthetic_responses())
    results["targets"] = {
        "metric": "satisfied_rate",
        "index": {"target": 85, "value": 85, "estimate": 79.3, "verdict": "not_met"},
        "satisfied_rate": {"target": 85, "value": 0.85, "estimate": 0.914, "verdict": None, "unstable": True},
    }
    points = summary_points(results, district="荆州区", rankings=None, drivers=None, comparison=None)
    assert points[1].startswith("规划目标（以满意率检验，85%）")
    assert points[1].endswith("样本不足，不作判断。") and "达到" not in points[1]
    assert points[2].startswith("对照口径（以满意度指数检验，85分）")
    assert "区间整体低于85分" in points[2] and "未达到" in points[2]
    table = result_tables(results)["target"].frame
    assert list(table["检验对象"]) == ["满意率", "满意度指数"]
    assert list(table["是否为规划目标"]) == ["是", "否（对照口径）"]
    assert list(table["结论"]) == ["样本不足，不作判断", "未达到"]


def test_86_5_with_interval_84_8_to_88_2_is_said_inconclusive_in_the_summary_and_tables():
    """The verdict reads the 95% interval, not the point estimate: 86.5 (84.8–88.2) contains 85."""
    from scoring.report.tables import result_tables
    from scoring.report.text import summary_points
    from tests.scoring.report_data import _test

    results = fake_results(synthetic_responses())
    results["overall"].update(index=86.5, ci_low=84.8, ci_high=88.2)
    results["targets"]["index"] = _test(86.5, 0.85, 36, 85.0, "index", interval=(84.8, 88.2))
    domain = next(iter(results["domains"]))
    results["domains"][domain]["targets"]["index"] = _test(86.5, 0.85, 36, 85.0, "index", interval=(84.8, 88.2))
    points = summary_points(results, district="荆州区", rankings=None, drivers=None, comparison=None)
    assert points[1].startswith("规划目标（以满意度指数检验，85分）")
    assert "86.5（95%置信区间84.8–88.2）" in points[1] and "区间包含85分" in points[1]
    assert "已达到" not in points[1] and "未达到" not in points[1]
    tables = result_tables(results)
    assert tables["target"].frame["结论"].iloc[0] == "尚无法判断"
    row = tables["domain_targets"].frame.set_index("代码").loc[domain]
    assert row["指数结论"] == "尚无法判断"


def test_progress_bars_go_to_stderr(capsys):
    stream = io.StringIO()
    results = fake_results(synthetic_responses())
    build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False), progress=Progress(stream=stream))
    lines = stream.getvalue().splitlines()
    assert any(line.startswith("图表") and "[" in line for line in lines)
    assert capsys.readouterr().out == ""


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


def test_report_command_end_to_end(survey_files, tmp_path, capsys, rendering_stand_in):
    """From the command's arguments to the files (stand-in charts, under their real names: the
    drawing is tested by the ``report`` fixture's tests and tests/scoring/test_charts.py)."""
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
            "--assumed-se",
            "0.5",
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
    assert data["report"]["year"] == 2025  # the year the responses were submitted (Beijing time)
    assert data["weights"]["method"] != "none"
    assert data["design"]["strata"] == "town"
    assert "benchmarks/jingzhou-municipal-illustrative.csv" in data["inputs"]  # named, never located
    assert data["drivers"]["variance"] == "jackknife"
    assert data["rankings"]["placements"][-1]["year"] == 2025
    assert data["rankings"]["assumed_se"] == 0.5
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


def test_report_command_previous_without_its_wave_exit_2_and_write_nothing(survey_files, tmp_path, capsys):
    from scoring.cli import main

    previous = tmp_path / "estimate.json"
    previous.write_text(json.dumps(fake_results(synthetic_responses())), encoding="utf-8")
    out = tmp_path / "report"
    status = main(
        ["report", "--responses", str(survey_files / "responses.csv"), "--previous", str(previous), "--out", str(out)]
    )
    assert status == 2
    assert "which wave and year" in capsys.readouterr().err
    assert not out.exists()


def test_report_command_bad_responses_exit_2(tmp_path, capsys):
    from scoring.cli import main

    responses = tmp_path / "responses.csv"
    responses.write_text("response_id,education.q1,education.overall\nr1,7,3\n", encoding="utf-8")
    out = tmp_path / "report"
    assert main(["report", "--responses", str(responses), "--out", str(out), "--quiet"]) == 2
    assert "education.q1" in capsys.readouterr().err
    assert not out.exists()


def test_p_values_are_printed_in_plain_form_never_in_e_notation():
    from scoring.report.render import P_VALUE, _format_cell

    assert _format_cell(6.05e-13, P_VALUE) == "<0.001"
    assert _format_cell(0.99999, P_VALUE) == ">0.999"
    assert _format_cell(0.0123, P_VALUE) == "0.012"
    assert _format_cell(float("nan"), P_VALUE) == "—"


def test_headline_sentence_without_an_overall_figure_says_too_few_responses():
    """An unstable overall (None) is said as 样本不足 — never "为—分"."""
    from scoring.contract import Results
    from scoring.report.text import headline_sentence

    empty = {"index": None, "ci_low": None, "ci_high": None, "satisfied_rate": {"estimate": None}}
    sentence = headline_sentence(Results.from_dict({"overall": empty, "domains": {}}))
    assert sentence == "荆州区公共服务总体满意度指数：样本不足，不作估计。"


def test_no_chart_depends_on_the_generation_time_and_two_processes_draw_what_one_does(monkeypatch):
    """What the test run's chart cache (tests/render_cache.py) rests on: two reports of the
    same data generated at different times ask for the same charts under the same keys and
    get the same bytes, and charts drawn by two worker processes are those drawn by one."""
    from scoring.report import render
    from tests import render_cache

    real = render_cache.uninstalled()
    asked, drawn = [], []

    def drawing(jobs, *, workers=1, progress=None):
        asked.append(list(jobs))
        charts = real(jobs, workers=1, progress=progress)
        drawn.append(charts)
        return charts

    monkeypatch.setattr(render, "render_charts", drawing)
    results = fake_results(synthetic_responses())
    for generated in (GENERATED, dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC)):
        build_report(results, settings=ReportSettings(wave="2025", year=2025, pdf=False), generated=generated)
    first, second = asked
    assert [job.name for job in first] == [job.name for job in second] and len(first) >= 4
    assert [render_cache._key(job) for job in first] == [render_cache._key(job) for job in second]
    for name in drawn[0]:
        assert drawn[0][name].png == drawn[1][name].png and drawn[0][name].svg == drawn[1][name].svg, name

    by_two = real(first[:4], workers=2)
    assert list(by_two) == [job.name for job in first[:4]]
    for name, chart in by_two.items():
        assert chart.png == drawn[0][name].png and chart.svg == drawn[0][name].svg, name
