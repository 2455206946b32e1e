"""Charts: Chinese text in a CJK font (no tofu), PNG and SVG, colour-blind-safe colours."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from scoring import charts, fonts
from scoring.drivers import item_score_frame, key_drivers
from scoring.rankings import Benchmark, DistrictScore, place_among
from tests.scoring.report_data import fake_results, synthetic_responses

CJK_FONT = fonts.find_cjk_font()
needs_cjk = pytest.mark.skipif(CJK_FONT is None, reason="no CJK font installed (apt-get install fonts-noto-cjk)")


@pytest.fixture(scope="module")
def results():
    return fake_results(synthetic_responses())


@pytest.fixture(scope="module")
def drivers():
    responses = synthetic_responses()
    return key_drivers(item_score_frame(responses), np.ones(len(responses)))


@pytest.fixture(scope="module")
def placement():
    units = [
        Benchmark(2024, "municipality", name, score, None, None, "illustrative")
        for name, score in [("沙市区", 83.6), ("松滋市", 82.1), ("石首市", 80.9), ("公安县", 80.4)]
    ]
    return place_among(DistrictScore(2025, 81.0, 0.6), units, level="municipality", benchmark_year=2024, seed=1)


def builders(results, drivers, placement):
    trend = [
        {"wave": "2024", "index": 78.0, "ci_low": 77.0, "ci_high": 79.0, "satisfied_rate": 0.8},
        {"wave": "2025", "index": 79.5, "ci_low": 78.6, "ci_high": 80.4, "satisfied_rate": 0.82},
    ]
    return {
        "domain_index": lambda: charts.domain_index_chart(results),
        "satisfied_rates": lambda: charts.satisfied_rate_chart(results),
        "overall_target": lambda: charts.overall_target_chart(results, illustrative=True),
        "towns": lambda: charts.town_chart(results, town_labels={"xicheng": "西城街道"}),
        "trend": lambda: charts.trend_chart(trend),
        "rank": lambda: charts.rank_chart(placement, level_label="全市监测"),
        "ipa": lambda: charts.ipa_chart(drivers.domains["healthcare"]),
        "priorities": lambda: charts.priority_chart(drivers.priorities),
    }


def all_texts(figure):
    from matplotlib.text import Text

    return [artist for artist in figure.findobj(Text) if artist.get_text().strip()]


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@needs_cjk
@pytest.mark.parametrize(
    "name", ["domain_index", "satisfied_rates", "overall_target", "towns", "trend", "rank", "ipa", "priorities"]
)
def test_every_chart_has_a_chinese_title_and_labels_in_a_cjk_font(name, results, drivers, placement, tmp_path):
    from matplotlib import font_manager

    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" when it would draw tofu.
        warnings.simplefilter("error")
        figure = charts.draw(builders(results, drivers, placement)[name])
        chart = charts.save_chart(figure, tmp_path, name, title=name)
    axes = figure.axes[0]
    assert has_cjk(axes.get_title())
    assert has_cjk(axes.get_xlabel()) or has_cjk(axes.get_ylabel())
    with charts.chart_style():
        for text in all_texts(figure):
            if has_cjk(text.get_text()):
                path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
                assert "CJK" in path or "Han" in path or "wqy" in path.lower(), (text.get_text(), path)
    assert chart.png.stat().st_size > 10_000
    svg = chart.svg.read_text(encoding="utf-8")
    assert "<svg" in svg and "<text" not in svg  # text drawn as paths: no font needed to view it


@needs_cjk
def test_png_is_large_enough_to_read(results, tmp_path):
    from PIL import Image

    chart = charts.save_chart(charts.draw(charts.domain_index_chart, results), tmp_path, "domains")
    width, height = Image.open(chart.png).size
    assert width == int(charts.WIDTH_IN * charts.DPI) and height > 600


def test_colours_are_the_okabe_ito_palette(results):
    from matplotlib.colors import to_hex

    figure = charts.draw(charts.domain_index_chart, results)
    used = {
        to_hex(line.get_color()) for line in figure.axes[0].get_lines() if line.get_marker() not in (None, "None", "")
    }
    palette = {colour.lower() for colour in charts.OKABE_ITO.values()}
    assert used and used <= palette
    # Meaning is not carried by colour alone: each verdict has its own marker and legend text.
    assert len(set(charts.VERDICT_MARKERS.values())) == 3
    assert figure.axes[0].get_legend() is not None


def test_target_line_is_drawn(results):
    figure = charts.draw(charts.domain_index_chart, results, target=85)
    vertical = [line for line in figure.axes[0].get_lines() if list(line.get_xdata()) == [85, 85]]
    assert vertical


def test_suppressed_towns_are_shown_as_such_without_a_value(results):
    towns = dict(results["subgroups"]["town"])
    code = next(iter(towns))
    towns[code] = {**towns[code], "overall": {"index": 12.3, "se": 9.0, "n": 12, "cv": 0.7, "suppressed": True}}
    modified = {**results, "subgroups": {**results["subgroups"], "town": towns}}
    figure = charts.draw(charts.town_chart, modified, town_labels={code: "测试镇"})
    texts = [text.get_text() for text in all_texts(figure)]
    assert any("不予公布" in text and "n = 12" in text for text in texts)
    assert not any("12.3" in text for text in texts)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "测试镇" in labels


def test_trend_with_one_wave_says_so():
    figure = charts.draw(charts.trend_chart, [{"wave": "2025", "index": 80.0, "ci_low": 79.0, "ci_high": 81.0}])
    assert "仅有一期" in figure.axes[0].get_title()


def test_rank_chart_shows_the_interval_and_the_median(placement):
    figure = charts.draw(charts.rank_chart, placement, level_label="全市监测")
    axes = figure.axes[0]
    assert f"第{placement.median_rank}名" in axes.get_legend().get_texts()[0].get_text()
    low, high = placement.rank_interval
    assert f"第{low}–{high}名" in axes.get_xlabel()
    bars = axes.patches
    assert len(bars) == placement.n_ranked
    assert sum(bar.get_height() for bar in bars) == pytest.approx(100.0)


def test_empty_priority_list_is_explained():
    figure = charts.draw(charts.priority_chart, [])
    assert any("没有处于" in text.get_text() for text in all_texts(figure))


def test_svg_output_is_reproducible(results, tmp_path):
    first = charts.save_chart(charts.draw(charts.domain_index_chart, results), tmp_path / "a", "x")
    second = charts.save_chart(charts.draw(charts.domain_index_chart, results), tmp_path / "b", "x")
    assert first.svg.read_bytes() == second.svg.read_bytes()


def test_missing_cjk_font_warns_clearly(monkeypatch):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    with pytest.warns(fonts.MissingCJKFontWarning, match="fonts-noto-cjk"):
        assert fonts.cjk_font_or_warn() is None


@needs_cjk
def test_font_discovery_prefers_simplified_chinese_faces():
    assert CJK_FONT.family in fonts.PREFERRED_FAMILIES
    assert Path(CJK_FONT.path).exists()
    assert CJK_FONT.css_family.startswith(f'"{CJK_FONT.family}"')
    from matplotlib import font_manager

    if "Noto Sans CJK SC" in {entry.name for entry in font_manager.fontManager.ttflist}:
        assert CJK_FONT.family == "Noto Sans CJK SC"
        assert CJK_FONT.matplotlib_families[0] == "Noto Sans CJK SC"
