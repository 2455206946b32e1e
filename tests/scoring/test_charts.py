"""Charts: Chinese text in a CJK font (no tofu), PNG and SVG, colour-blind-safe colours."""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path

import pytest

from scoring import charts, fonts
from scoring.benchmarks import Benchmark
from scoring.design import collection_design
from scoring.drivers import item_score_frame, key_drivers
from scoring.rankings import DistrictScore, place_among
from tests.scoring.report_data import fake_results, synthetic_responses

CJK_FONT = fonts.find_cjk_font()
needs_cjk = pytest.mark.skipif(CJK_FONT is None, reason="no CJK font installed (apt-get install fonts-noto-cjk)")


@pytest.fixture(scope="module")
def results():
    return fake_results(synthetic_responses())


@pytest.fixture(scope="module")
def drivers():
    responses = synthetic_responses().reset_index(drop=True)
    return key_drivers(item_score_frame(responses), collection_design(responses))


@pytest.fixture(scope="module")
def placement():
    units = [
        Benchmark(2025, "municipality", name, score, None, None, "illustrative")
        for name, score in [("沙市区", 83.6), ("松滋市", 82.1), ("石首市", 80.9), ("公安县", 80.4)]
    ]
    return place_among(DistrictScore(2025, 81.0, 0.6), units, level="municipality", seed=1)


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
def test_every_chart_has_a_chinese_title_and_labels_in_a_cjk_font(name, results, drivers, placement):
    from matplotlib import font_manager

    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" when it would draw tofu.
        warnings.simplefilter("error")
        figure = charts.draw(builders(results, drivers, placement)[name])
        chart = charts.chart_files(figure, name, title=name)
    axes = figure.axes[0]
    assert has_cjk(axes.get_title())
    assert has_cjk(axes.get_xlabel()) or has_cjk(axes.get_ylabel())
    with charts.chart_style():
        for text in all_texts(figure):
            if has_cjk(text.get_text()):
                path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
                assert "CJK" in path or "Han" in path or "wqy" in path.lower(), (text.get_text(), path)
    assert chart.png.startswith(b"\x89PNG") and len(chart.png) > 10_000
    svg = chart.svg.decode("utf-8")
    assert "<svg" in svg and "<text" not in svg  # text drawn as paths: no font needed to view it


@needs_cjk
def test_png_is_large_enough_to_read(results):
    from PIL import Image

    chart = charts.chart_files(charts.draw(charts.domain_index_chart, results), "domains")
    width, height = Image.open(io.BytesIO(chart.png)).size
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
    assert any("不予公布" in text and "12份" in text for text in texts)
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


def test_rank_chart_states_the_assumed_se_and_the_instrument_caveat(placement):
    figure = charts.draw(charts.rank_chart, placement, level_label="全市监测")
    footnote = " ".join(text.get_text() for text in figure.texts).replace("\n", "")
    assert "假定标准误1分" in footnote
    assert "所用问卷、抽样和计分方法与监测机构不同" in footnote


def test_ipa_key_lines_never_start_with_closing_punctuation():
    """Issue 11: the IPA chart's key wrapped "（电子站牌、…" into a line starting with "、"."""
    from scoring.questionnaire import load_questionnaires
    from tests.conftest import QUESTIONNAIRES

    questionnaires = load_questionnaires(QUESTIONNAIRES)
    labels = [item.label.zh for domain in questionnaires.domains.values() for item in domain.aspect_items]
    assert any("、" in label and len(label) > 17 for label in labels)
    for label in labels:
        lines = fonts.wrap_chinese(label, 17)
        assert "".join(lines) == label.replace(" ", "")
        for line in lines[1:]:
            assert line[0] not in fonts.NO_LINE_START, (label, lines)
        for line in lines[:-1]:
            assert line[-1] not in fonts.NO_LINE_END, (label, lines)


def test_ipa_chart_key_uses_the_chinese_line_breaking(drivers):
    from dataclasses import replace

    domain = drivers.domains["transport"]
    long = "公交到站信息是否准确方便（电子站牌、“荆州公交”APP）"
    item = replace(domain.items[0], label=long)
    figure = charts.draw(charts.ipa_chart, replace(domain, items=(item, *domain.items[1:])))
    key = [text.get_text() for text in figure.axes[1].texts]
    lines = [line for text in key for line in text.split("\n")]
    assert "公交到站信息是否准确方便（电子站" in lines
    assert not any(line.startswith(tuple(fonts.NO_LINE_START)) for line in lines)


def high_results(results):
    """Results near the top of the scale: axes reach 100 (the target tests say the same)."""
    from tests.scoring.report_data import _test

    high = copy.deepcopy(results)
    rate = {"estimate": 0.99, "se": 0.005, "ci_low": 0.975, "ci_high": 1.0}
    for domain in high["domains"].values():
        domain.update(index=96.0, se=1.6, ci_low=93.0, ci_high=99.5)
        domain["satisfied_rate"] = dict(rate)
        domain["targets"] = {
            "metric": "index",
            "index": _test(96.0, 1.6, 36, 85.0, "index", interval=(93.0, 99.5)),
            "satisfied_rate": _test(0.99, 0.005, 36, 85.0, "satisfied_rate", interval=(0.975, 1.0)),
        }
    high["overall"].update(index=97.0, se=1.0, ci_low=95.0, ci_high=99.0)
    high["overall"]["satisfied_rate"] = dict(rate)
    high["targets"] = {
        "metric": "index",
        "index": _test(97.0, 1.0, 36, 85.0, "index", interval=(95.0, 99.0)),
        "satisfied_rate": _test(0.99, 0.005, 36, 85.0, "satisfied_rate", interval=(0.975, 1.0)),
    }
    high["target"] = high["targets"]["index"]
    for cells in high["subgroups"]["town"].values():
        cells["overall"].update(index=97.0, se=1.0, ci_low=95.0, ci_high=99.0)
    return high


@needs_cjk
@pytest.mark.parametrize("name", ["domain_index", "satisfied_rates", "overall_target", "towns", "trend", "rank"])
def test_no_axis_label_or_text_is_clipped_at_the_size_used(name, results, drivers, placement):
    """Issue 11: "100" was clipped to "10(".  At the size the report uses (8 in, 150 dpi)
    every tick label within the axes' range and every text lies inside the figure, and the
    footnote does not run into the illustrative mark."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    high = high_results(results)
    trend = [
        {"wave": "2024", "index": 97.0, "ci_low": 95.0, "ci_high": 99.5, "satisfied_rate": 0.99},
        {"wave": "2025", "index": 98.0, "ci_low": 96.0, "ci_high": 99.8, "satisfied_rate": 0.995},
    ]
    figure = {
        "domain_index": lambda: charts.draw(charts.domain_index_chart, high, illustrative=True),
        "satisfied_rates": lambda: charts.draw(charts.satisfied_rate_chart, high, illustrative=True),
        "overall_target": lambda: charts.draw(charts.overall_target_chart, high, illustrative=True),
        "towns": lambda: charts.draw(charts.town_chart, high, illustrative=True),
        "trend": lambda: charts.draw(charts.trend_chart, trend, illustrative=True),
        "rank": lambda: charts.draw(charts.rank_chart, placement, level_label="全市监测"),
    }[name]()
    with charts.chart_style():
        figure.set_dpi(charts.DPI)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    inside = lambda box: box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5  # noqa: E731
    axis_labels = []
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            low, high_end = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                label = tick.label1
                if low - 1e-9 <= tick.get_loc() <= high_end + 1e-9 and label.get_visible() and label.get_text():
                    axis_labels.append(label)
                    assert inside(label.get_window_extent(renderer)), label.get_text()
    assert any(label.get_text() == "100" for label in axis_labels) or name == "rank"
    texts = [*figure.texts, *(text for axes in figure.axes for text in axes.texts)]
    for text in texts:
        if text.get_text().strip():
            assert inside(text.get_window_extent(renderer)), text.get_text()
    boxes = [text.get_window_extent(renderer) for text in figure.texts if text.get_text().strip()]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), "footnote and illustrative mark overlap"


def test_empty_priority_list_is_explained():
    figure = charts.draw(charts.priority_chart, [])
    assert any("没有处于" in text.get_text() for text in all_texts(figure))


def test_svg_output_is_reproducible(results):
    first = charts.chart_files(charts.draw(charts.domain_index_chart, results), "x")
    second = charts.chart_files(charts.draw(charts.domain_index_chart, results), "x")
    assert first.svg == second.svg


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


def none_results(results):
    """Results as the engine writes them for too few responses: unstable figures carry ``None``
    estimates, intervals and verdicts (``manyi demo --responses 20`` crashed on these)."""
    unstable = {
        "estimate": None,
        "se": None,
        "ci_low": None,
        "ci_high": None,
        "statistic": None,
        "p_value": None,
        "verdict": None,
        "unstable": True,
        "unstable_reason": "too_few_responses",
    }
    modified = copy.deepcopy(results)
    domain = next(iter(modified["domains"]))
    modified["domains"][domain].update(index=None, se=None, ci_low=None, ci_high=None, unstable=True)
    modified["domains"][domain]["satisfied_rate"] = {"estimate": None, "se": None, "ci_low": None, "ci_high": None}
    modified["domains"][domain]["targets"] = {
        "metric": "index",
        "index": {**unstable, "metric": "index", "target": 85.0, "value": 85.0},
        "satisfied_rate": {**unstable, "metric": "satisfied_rate", "target": 85.0, "value": 0.85},
    }
    modified["targets"]["satisfied_rate"] = {**unstable, "metric": "satisfied_rate", "target": 85.0, "value": 0.85}
    town = next(iter(modified["subgroups"]["town"]))
    modified["subgroups"]["town"][town]["overall"] = {
        "index": None,
        "se": None,
        "ci_low": None,
        "ci_high": None,
        "n": 4,
        "cv": None,
        "suppressed": True,
    }
    return modified, domain


@pytest.mark.parametrize("name", ["domain_index", "satisfied_rates", "overall_target", "towns"])
def test_charts_draw_unstable_none_figures_as_too_few_without_a_verdict(name, results):
    """``None`` estimates (unstable, suppressed) are drawn as 样本不足 with no verdict colour or
    words, and nothing raises (before: ``TypeError: '>' not supported between 'NoneType' and 'float'``)."""
    from scoring.vocabulary import label

    modified, domain = none_results(results)
    builder = {
        "domain_index": charts.domain_index_chart,
        "satisfied_rates": charts.satisfied_rate_chart,
        "overall_target": charts.overall_target_chart,
        "towns": charts.town_chart,
    }[name]
    figure = charts.draw(builder, modified)
    texts = [text.get_text() for text in all_texts(figure)]
    assert any("样本不足" in text or "无数据" in text for text in texts), texts
    if name in ("domain_index", "satisfied_rates"):
        from scoring.vocabulary import DOMAIN_LABELS_ZH

        ticks = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
        row = ticks.index(DOMAIN_LABELS_ZH[domain])
        row_texts = [t for t in figure.axes[0].texts if abs(t.get_position()[1] - row) < 0.01]
        assert row_texts and all("样本不足" in t.get_text() for t in row_texts)
        for verdict in ("met", "not_met", "inconclusive"):
            assert not any(label("verdict", verdict) in t.get_text() for t in row_texts)
    if name == "overall_target":
        rate_texts = [t.get_text() for t in figure.axes[0].texts if "无数据" in t.get_text()]
        assert rate_texts


def test_a_domain_at_86_5_with_interval_84_8_to_88_2_is_inconclusive_not_met(results):
    """The colour and shape read the 95% interval, never the point estimate: 86.5 is above 85 but
    its interval 84.8–88.2 contains 85, so the domain is drawn as 尚无法判断."""
    from scoring.vocabulary import label
    from tests.scoring.report_data import _test

    modified = copy.deepcopy(results)
    domain = next(iter(modified["domains"]))
    modified["domains"][domain].update(index=86.5, ci_low=84.8, ci_high=88.2)
    modified["domains"][domain]["targets"]["index"] = _test(86.5, 0.85, 36, 85.0, "index", interval=(84.8, 88.2))
    [mark] = [m for m in charts.domain_marks(modified, "index") if m.domain == domain]
    assert (mark.estimate, mark.low, mark.high, mark.verdict) == (86.5, 84.8, 88.2, "inconclusive")
    figure = charts.draw(charts.domain_index_chart, modified)
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert any(label("verdict", "inconclusive") in text and "区间包含85" in text for text in legend)
    [line] = [container[0] for container in figure.axes[0].containers if tuple(container[0].get_xdata()) == (86.5,)]
    assert line.get_color() == charts.VERDICT_COLOURS["inconclusive"]
    assert line.get_marker() == charts.VERDICT_MARKERS["inconclusive"]
