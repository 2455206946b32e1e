"""The statistician's report: results.json, tables.xlsx and CSVs, charts, report.html and report.pdf.

:func:`build_report` takes the results of the scoring engine (the estimate contract of
``python -m scoring estimate --json``) and, optionally, the scored responses with their
weights, a benchmarks table and earlier waves' results.  It adds

* ``rankings`` — the district's placement among published monitoring results, with rank
  probabilities and 95% rank intervals (:mod:`scoring.rankings`);
* ``drivers`` — importance–performance analysis and the priority list (:mod:`scoring.drivers`);
* ``change`` and ``trend`` — changes against the previous wave with CIs and tests, and the
  overall index across waves (:mod:`scoring.planning`);
* ``report`` — wave, year, district, whether the figures are illustrative;

and writes, into one folder:

=====================  ===========================================================
``results.json``       the estimate contract plus the keys above
``tables.xlsx``        one sheet per table, Chinese headers
``tables/*.csv``       the same tables (UTF-8 with a byte-order mark, for Excel)
``charts/*.png|svg``   every chart (:mod:`scoring.charts`)
``report.html``        self-contained: charts inline, styles inline, no external request
``report.pdf``         A4, Chinese, page numbers, table of contents (WeasyPrint)
=====================  ===========================================================

The PDF is rendered by WeasyPrint from the same HTML: it embeds the CJK font as a
subset with extractable text, which matplotlib's PDF backend cannot do for CFF CJK fonts.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from .errors import ScoringInputError
from .questionnaire import DOMAIN_IDS, DOMAIN_LABELS_ZH
from .rankings import DISTRICT, LEVEL_LABELS_ZH, MIN_DRAWS, BenchmarkTable, DistrictScore, Rankings, describe_placement

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd

    from .charts import Chart
    from .drivers import DriverAnalysis
    from .questionnaire import QuestionnaireSet

TEMPLATES = Path(__file__).parent / "templates"
REPORT_VERSION = "1"

EXCLUSION_LABELS_ZH: dict[str, str] = {
    "speeders": "答题过快（用时不足中位数的三分之一）",
    "speeder": "答题过快（用时不足中位数的三分之一）",
    "straight_liners": "直线作答（8题以上答案完全相同）",
    "straight_liner": "直线作答（8题以上答案完全相同）",
    "duplicate_browser": "同一浏览器重复提交",
    "ip_burst": "同一网络地址在同一调查点短时间内大量提交（疑似刷票）",
    "partial": "未完成问卷",
}
VARIANCE_LABELS_ZH: dict[str, str] = {
    "linearization": "泰勒线性化（分层、整群；校准后使用校准残差）",
    "jackknife": "分层刀切法 JKn（每个重复样本重新加权）",
    "bootstrap": "Rao–Wu 自助法（每个重复样本重新加权）",
}
WEIGHT_LABELS_ZH: dict[str, str] = {
    "none": "不加权",
    "unweighted": "不加权",
    "poststratify": "事后分层",
    "post_stratification": "事后分层",
    "poststratification": "事后分层",
    "rake": "按人口边际迭代加权（raking）",
    "raking": "按人口边际迭代加权（raking）",
}
VERDICT_SENTENCES: dict[str, str] = {
    "met": "95%单侧置信下限高于{target}，可以认为已达到“{target}以上”的目标。",
    "not_met": "95%单侧置信上限低于{target}，可以认为尚未达到“{target}以上”的目标。",
    "inconclusive": "置信区间包含{target}，现有样本还不能确定是否达到“{target}以上”的目标。",
}


class ReportInputError(ScoringInputError):
    """An input of the report (a previous results file, an option) is unusable."""


# ---------------------------------------------------------------------------
# Progress on the terminal


class Progress:
    """Progress bars on stderr for the long steps of a run.

    On a terminal a bar is redrawn in place; otherwise (logs, tests) one line is written
    when a step ends.  ``enabled=False`` writes nothing.
    """

    def __init__(self, *, stream: IO[str] | None = None, enabled: bool = True, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def _draw(self, label: str, done: int, total: int, elapsed: float, final: bool) -> None:
        if not self.enabled:
            return
        # CJK characters take two terminal columns.
        padded = label + " " * max(0, 14 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in label))
        if total > 0:
            filled = int(self.width * done / total)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{padded} [{bar}] {done}/{total}  {elapsed:5.1f}s"
        else:
            text = f"{padded} {elapsed:5.1f}s"
        if self.interactive:
            self.stream.write("\r" + text + ("\n" if final else ""))
            self.stream.flush()
        elif final:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextmanager
    def step(self, label: str, total: int = 0) -> Iterator[Callable[[int, int], None]]:
        """A step with ``total`` parts; yields ``advance(done, total)`` to report progress."""
        start = time.perf_counter()
        state = {"done": 0, "total": total}

        def advance(done: int, new_total: int | None = None) -> None:
            state["done"] = done
            if new_total is not None:
                state["total"] = new_total
            self._draw(label, state["done"], state["total"], time.perf_counter() - start, False)

        self._draw(label, 0, total, 0.0, False)
        yield advance
        self._draw(label, state["total"] or state["done"], state["total"], time.perf_counter() - start, True)


# ---------------------------------------------------------------------------
# Inputs


def _json_safe(value: Any) -> Any:
    """Plain JSON data: numpy scalars to Python, NaN and infinities to ``None``."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _number(value: Any) -> float:
    """A finite float or NaN (``None`` and non-numbers become NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def read_results(path: str | Path) -> dict[str, Any]:
    """Read a results.json (e.g. a previous wave's) and check it is in the estimate contract.

    Raises
    ------
    ReportInputError
        When the file cannot be read, is not JSON, or lacks ``overall``/``domains``.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ReportInputError(f"cannot read results file {path}: {error.strerror or error}") from error
    except json.JSONDecodeError as error:
        raise ReportInputError(f"{path} is not valid JSON (line {error.lineno}): is it a results.json?") from error
    if not isinstance(data, dict) or "overall" not in data or "domains" not in data:
        raise ReportInputError(
            f"{path} has no 'overall' and 'domains': it is not a results.json of 'python -m scoring estimate' or 'report'"
        )
    return data


def wave_year(wave: str | None) -> int | None:
    """The year of a wave code that starts with one (``"2025"``, ``"2025-spring"``)."""
    if wave and len(wave) >= 4 and wave[:4].isdigit():
        year = int(wave[:4])
        if 1900 <= year <= 2200:
            return year
    return None


def town_labels(questionnaires: QuestionnaireSet | None) -> dict[str, str]:
    """Town code → Chinese name, from the ``town`` item of the common questionnaire."""
    if questionnaires is not None:
        try:
            item = questionnaires.common.item("town")
        except KeyError:
            return {}
        return {choice.value: choice.label.zh for choice in item.choices}
    # Without a questionnaire folder: the towns of the shipped common.yaml.
    from .synthetic import DEFAULT_TOWNS

    return dict(DEFAULT_TOWNS)


def _domain_label(domain: str, questionnaires: QuestionnaireSet | None = None) -> str:
    if questionnaires is not None and domain in questionnaires.domains:
        return questionnaires.domains[domain].title.zh
    return DOMAIN_LABELS_ZH.get(domain, domain)


def _previous_meta(previous: Mapping[str, Any], fallback_label: str) -> tuple[str, int | None]:
    meta = previous.get("report") or {}
    wave = meta.get("wave") or fallback_label
    year = meta.get("year") or wave_year(str(wave))
    return str(wave), (int(year) if year else None)


# ---------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: its CSV name, sheet name, caption and data.

    ``formats`` maps a column to a Python format spec for the HTML/PDF (``".1f"``,
    ``".0%"``, ``","``); the XLSX and CSV files keep full precision.
    """

    name: str
    sheet: str
    caption: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)
    wrap: bool = False  # long text (paths, hashes, citations) may break anywhere


def _table(
    name: str,
    sheet: str,
    caption: str,
    rows: list[dict[str, Any]],
    formats: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    *,
    wrap: bool = False,
) -> ReportTable:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(columns) if columns else None)
    return ReportTable(name, sheet, caption, frame, dict(formats or {}), wrap)


def _suppressed_flag(value: Any) -> str:
    return "是" if bool(value) else "否"


def result_tables(
    results: Mapping[str, Any],
    *,
    questionnaires: QuestionnaireSet | None = None,
    rankings: Rankings | None = None,
    drivers: DriverAnalysis | None = None,
    comparison: Any = None,
    quality: Sequence[dict[str, Any]] = (),
    methodology: Sequence[dict[str, Any]] = (),
) -> dict[str, ReportTable]:
    """Every table of the report, keyed by CSV name."""
    tables: dict[str, ReportTable] = {}
    overall = results.get("overall") or {}
    rate = overall.get("satisfied_rate") or {}
    target = results.get("target") or {}
    tables["overall"] = _table(
        "overall",
        "总体结果",
        "总体满意度",
        [
            {
                "指标": "总体满意度指数",
                "估计值": _number(overall.get("index")),
                "标准误": _number(overall.get("se")),
                "95%下限": _number(overall.get("ci_low")),
                "95%上限": _number(overall.get("ci_high")),
                "自由度": overall.get("df"),
                "样本量": overall.get("n"),
            },
            {
                "指标": "总体满意率（%）",
                "估计值": 100 * _number(rate.get("estimate")),
                "标准误": 100 * _number(rate.get("se")),
                "95%下限": 100 * _number(rate.get("ci_low")),
                "95%上限": 100 * _number(rate.get("ci_high")),
                "自由度": overall.get("df"),
                "样本量": overall.get("n"),
            },
        ],
        {"估计值": ".1f", "标准误": ".2f", "95%下限": ".1f", "95%上限": ".1f", "样本量": ","},
    )
    tables["target"] = _table(
        "target",
        "目标检验",
        "85目标的单侧检验",
        [
            {
                "检验对象": "满意度指数" if target.get("metric") == "index" else "满意率",
                "目标值": target.get("value"),
                "估计值": _number(target.get("estimate")),
                "检验统计量t": _number(target.get("statistic")),
                "单侧p值": _number(target.get("p_value")),
                "结论": {"met": "已达到", "not_met": "未达到", "inconclusive": "尚无法判断"}.get(
                    target.get("verdict"), target.get("verdict")
                ),
            }
        ],
        {"估计值": ".2f", "检验统计量t": ".2f", "单侧p值": ".3g"},
    )
    domain_rows = []
    for domain, values in (results.get("domains") or {}).items():
        domain_rate = values.get("satisfied_rate") or {}
        domain_rows.append(
            {
                "领域": _domain_label(domain, questionnaires),
                "代码": domain,
                "满意度指数": _number(values.get("index")),
                "标准误": _number(values.get("se")),
                "95%下限": _number(values.get("ci_low")),
                "95%上限": _number(values.get("ci_high")),
                "样本量": values.get("n"),
                "设计效应": _number(values.get("deff")),
                "克朗巴赫α": _number(values.get("alpha")),
                "满意率（%）": 100 * _number(domain_rate.get("estimate")),
                "满意率95%下限": 100 * _number(domain_rate.get("ci_low")),
                "满意率95%上限": 100 * _number(domain_rate.get("ci_high")),
            }
        )
    tables["domains"] = _table(
        "domains",
        "各领域",
        "各领域满意度指数与满意率",
        domain_rows,
        {
            "满意度指数": ".1f",
            "标准误": ".2f",
            "95%下限": ".1f",
            "95%上限": ".1f",
            "样本量": ",",
            "设计效应": ".2f",
            "克朗巴赫α": ".2f",
            "满意率（%）": ".1f",
            "满意率95%下限": ".1f",
            "满意率95%上限": ".1f",
        },
    )
    towns = town_labels(questionnaires)
    group_names = {"town": "镇街", "sex": "性别", "age_group": "年龄组"}
    level_names = {"male": "男", "female": "女"}
    subgroup_rows = []
    town_overall_rows = []
    for variable, levels in (results.get("subgroups") or {}).items():
        for level, cells in (levels or {}).items():
            for scope, cell in (cells or {}).items():
                cell = cell or {}
                suppressed = bool(cell.get("suppressed"))
                row = {
                    "分组变量": group_names.get(variable, variable),
                    "组别": towns.get(level, level) if variable == "town" else level_names.get(level, level),
                    "组别代码": level,
                    "领域": "总体" if scope == "overall" else _domain_label(scope, questionnaires),
                    "满意度指数": math.nan if suppressed else _number(cell.get("index")),
                    "标准误": math.nan if suppressed else _number(cell.get("se")),
                    "样本量": cell.get("n"),
                    "变异系数": _number(cell.get("cv")),
                    "不予公布": _suppressed_flag(suppressed),
                }
                subgroup_rows.append(row)
                if variable == "town" and scope == "overall":
                    town_overall_rows.append(
                        {
                            k: row[k]
                            for k in ("组别", "组别代码", "满意度指数", "标准误", "样本量", "变异系数", "不予公布")
                        }
                    )
    subgroup_formats = {"满意度指数": ".1f", "标准误": ".2f", "样本量": ",", "变异系数": ".3f"}
    tables["subgroups"] = _table(
        "subgroups",
        "分组结果",
        "分组结果（镇街、性别、年龄组）",
        subgroup_rows,
        subgroup_formats,
        columns=["分组变量", "组别", "组别代码", "领域", "满意度指数", "标准误", "样本量", "变异系数", "不予公布"],
    )
    tables["towns_overall"] = _table(
        "towns_overall",
        "镇街总体",
        "各镇街总体满意度指数（不予公布者不列数值）",
        town_overall_rows,
        subgroup_formats,
        columns=["组别", "组别代码", "满意度指数", "标准误", "样本量", "变异系数", "不予公布"],
    )
    if comparison is not None:
        rows = []
        for item in comparison.changes:
            scale = 100.0 if item.metric == "satisfied_rate" else 1.0
            rows.append(
                {
                    "范围": item.label,
                    "指标": "满意度指数" if item.metric == "index" else "满意率（百分点）",
                    "本期": scale * item.current,
                    "上期": scale * item.previous,
                    "变化": scale * item.difference,
                    "标准误": scale * item.se,
                    "95%下限": scale * item.ci_low,
                    "95%上限": scale * item.ci_high,
                    "双侧p值": item.p_value,
                    "是否显著": "是" if item.significant else "否",
                }
            )
        tables["change"] = _table(
            "change",
            "与上期比较",
            f"与{comparison.previous_label}相比",
            rows,
            {
                "本期": ".1f",
                "上期": ".1f",
                "变化": "+.1f",
                "标准误": ".2f",
                "95%下限": "+.1f",
                "95%上限": "+.1f",
                "双侧p值": ".3g",
            },
        )
    if drivers is not None:
        from .drivers import QUADRANT_LABELS_ZH

        item_rows = []
        for analysis in drivers.domains.values():
            for item in analysis.items:
                item_rows.append(
                    {
                        "领域": analysis.label,
                        "题目代码": item.item,
                        "题目": item.label,
                        "相对权重ε": item.importance,
                        "ε标准误": item.importance_se,
                        "解释份额（%）": 100 * item.importance_share,
                        "份额95%下限": 100 * item.share_ci_low,
                        "份额95%上限": 100 * item.share_ci_high,
                        "相对重要性": item.relative_importance,
                        "表现指数": item.performance,
                        "表现95%下限": item.performance_ci_low,
                        "表现95%上限": item.performance_ci_high,
                        "样本量": item.n,
                        "象限": QUADRANT_LABELS_ZH[item.quadrant],
                        "领域R²": analysis.r_squared,
                    }
                )
        tables["drivers"] = _table(
            "drivers",
            "关键驱动因素",
            "各领域题目的重要性与表现",
            item_rows,
            {
                "相对权重ε": ".3f",
                "ε标准误": ".3f",
                "解释份额（%）": ".1f",
                "份额95%下限": ".1f",
                "份额95%上限": ".1f",
                "相对重要性": ".2f",
                "表现指数": ".1f",
                "表现95%下限": ".1f",
                "表现95%上限": ".1f",
                "样本量": ",",
                "领域R²": ".2f",
            },
        )
        tables["priorities"] = _table(
            "priorities",
            "重点改进事项",
            "重点改进事项（急难愁盼）",
            [
                {
                    "序号": p.rank,
                    "领域": p.domain_label,
                    "题目": p.label,
                    "相对重要性": p.relative_importance,
                    "表现指数": p.performance,
                    "表现95%区间": f"{p.performance_ci_low:.1f}–{p.performance_ci_high:.1f}",
                    "距目标差距": p.gap,
                    "优先度": p.score,
                }
                for p in drivers.priorities
            ],
            {"相对重要性": ".2f", "表现指数": ".1f", "距目标差距": ".1f", "优先度": ".1f"},
            columns=["序号", "领域", "题目", "相对重要性", "表现指数", "表现95%区间", "距目标差距", "优先度"],
        )
    if rankings is not None:
        placement_rows, unit_rows = [], []
        for placement in rankings.placements:
            level = LEVEL_LABELS_ZH.get(placement.level, placement.level)
            origin = {"survey": "本次调查", "previous": "往期调查", "published": "公布得分"}.get(
                placement.district.origin, placement.district.origin
            )
            placement_rows.append(
                {
                    "层级": level,
                    "本区得分年份": placement.year,
                    "对比单位年份": placement.benchmark_year,
                    "本区得分": placement.district.estimate,
                    "本区标准误": placement.district.se,
                    "本区得分来源": origin,
                    "参与排名数": placement.n_ranked,
                    "排名中位数": placement.median_rank,
                    "95%排名区间": f"第{placement.rank_interval[0]}–{placement.rank_interval[1]}名",
                    "第1名概率": placement.rank_probabilities[0],
                    "名单完整": "是" if placement.complete_list else "否（仅在所列单位中排名）",
                    "示意数据": "是" if placement.illustrative else "否",
                }
            )
            for unit in placement.units:
                unit_rows.append(
                    {
                        "层级": level,
                        "本区得分年份": placement.year,
                        "单位": unit.unit,
                        "公布年份": placement.benchmark_year,
                        "公布得分": unit.score,
                        "公布名次": unit.published_rank,
                        "本区得分更高的概率": unit.probability_above,
                        "来源": unit.source,
                    }
                )
        tables["rankings"] = _table(
            "rankings",
            "排名",
            "排名概率与95%排名区间",
            placement_rows,
            {"本区得分": ".1f", "本区标准误": ".2f", "第1名概率": ".0%"},
        )
        tables["rank_units"] = _table(
            "rank_units",
            "对标单位",
            "与各对标单位的比较",
            unit_rows,
            {"公布得分": ".2f", "公布名次": ".0f", "本区得分更高的概率": ".0%"},
            columns=["层级", "本区得分年份", "单位", "公布年份", "公布得分", "公布名次", "本区得分更高的概率", "来源"],
            wrap=True,
        )
        if rankings.changes:
            tables["rank_changes"] = _table(
                "rank_changes",
                "名次变化",
                "名次变化（负数表示名次上升）",
                [
                    {
                        "层级": LEVEL_LABELS_ZH.get(c.level, c.level),
                        "从": c.from_year,
                        "到": c.to_year,
                        "原排名中位数": f"第{c.from_median_rank}名（共{c.from_n_ranked}）",
                        "现排名中位数": f"第{c.to_median_rank}名（共{c.to_n_ranked}）",
                        "名次变化中位数": c.median_change,
                        "95%区间": f"{c.interval[0]:+d} 至 {c.interval[1]:+d}",
                        "名次上升概率": c.probability_improved,
                        "名次不变概率": c.probability_unchanged,
                        "名次下降概率": c.probability_worse,
                    }
                    for c in rankings.changes
                ],
                {"名次上升概率": ".0%", "名次不变概率": ".0%", "名次下降概率": ".0%", "名次变化中位数": "+d"},
            )
    tables["methodology"] = _table(
        "methodology", "方法说明", "本次运行的方法与设置", list(methodology), columns=["项目", "内容"], wrap=True
    )
    inputs = results.get("inputs") or {}
    tables["inputs"] = _table(
        "inputs",
        "输入文件",
        "输入文件及其SHA-256校验值",
        [{"文件": name, "SHA-256": digest} for name, digest in inputs.items()],
        columns=["文件", "SHA-256"],
        wrap=True,
    )
    excluded = results.get("excluded") or {}
    tables["exclusions"] = _table(
        "exclusions",
        "剔除记录",
        "质量筛查剔除的问卷",
        [
            {"原因": EXCLUSION_LABELS_ZH.get(reason, reason), "代码": reason, "份数": count}
            for reason, count in excluded.items()
        ],
        {"份数": ","},
        columns=["原因", "代码", "份数"],
    )
    tables["quality"] = _table(
        "quality",
        "数据质量",
        "各领域作答情况",
        list(quality),
        {
            "回答该领域的比例（%）": ".1f",
            "题目平均缺失率（%）": ".1f",
            "克朗巴赫α": ".2f",
            "样本量": ",",
            "设计效应": ".2f",
        },
    )
    return tables


def write_tables(tables: Mapping[str, ReportTable], directory: Path) -> tuple[Path, tuple[Path, ...]]:
    """Write ``tables.xlsx`` (one sheet per table) and ``tables/<name>.csv``."""
    import pandas as pd
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    csv_dir = directory / "tables"
    csv_dir.mkdir(parents=True, exist_ok=True)
    csv_paths = []
    for table in tables.values():
        path = csv_dir / f"{table.name}.csv"
        # The byte-order mark makes Excel (the office's tool) read the Chinese headers as UTF-8.
        table.frame.to_csv(path, index=False, encoding="utf-8-sig")
        csv_paths.append(path)
    xlsx = directory / "tables.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        for table in tables.values():
            table.frame.to_excel(writer, sheet_name=table.sheet[:31], index=False)
            sheet = writer.sheets[table.sheet[:31]]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="F2F6FA")
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for index, column in enumerate(table.frame.columns, start=1):
                values = [str(column)] + [str(v) for v in table.frame[column].head(200).tolist()]
                # CJK characters are about twice as wide as Latin ones.
                width = max(sum(2 if ord(ch) > 0x2E80 else 1 for ch in value) for value in values)
                sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    return xlsx, tuple(csv_paths)


# ---------------------------------------------------------------------------
# HTML


def _format_cell(value: Any, spec: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return "—"
        try:
            return format(float(value), spec or ".2f")
        except ValueError:
            return f"{float(value):.2f}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        try:
            return format(int(value), spec or "d")
        except ValueError:
            return str(int(value))
    return str(value)


def table_html(table: ReportTable | None) -> str:
    """An HTML table of ``table`` (numbers right-aligned and formatted)."""
    from markupsafe import Markup

    if table is None or table.frame.empty:
        return Markup("")
    frame = table.frame
    head = "".join(f"<th>{_html.escape(str(column))}</th>" for column in frame.columns)
    body_rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            text = _html.escape(_format_cell(value, table.formats.get(column)))
            cells.append(f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>")
        body_rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_html.escape(table.caption)}</caption>" if table.caption else ""
    css_class = ' class="wrap"' if table.wrap else ""
    return Markup(
        f"<table{css_class}>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )


def _image_html(chart: Chart | None) -> str:
    from markupsafe import Markup

    if chart is None:
        return Markup("")
    data = base64.b64encode(chart.png.read_bytes()).decode("ascii")
    alt = _html.escape(chart.description or chart.title)
    return Markup(f'<img src="data:image/png;base64,{data}" alt="{alt}">')


def _p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p<0.001"
    if p_value > 0.999:
        return "p>0.999"
    return f"p={p_value:.3f}"


def _fmt(value: Any, spec: str = ".1f") -> str:
    number = _number(value)
    return "—" if math.isnan(number) else format(number, spec)


def summary_points(
    results: Mapping[str, Any],
    *,
    district: str,
    rankings: Rankings | None,
    drivers: DriverAnalysis | None,
    comparison: Any,
    questionnaires: QuestionnaireSet | None = None,
) -> list[str]:
    """The sentences of the leaders' summary, in plain Chinese."""
    overall = results.get("overall") or {}
    target = results.get("target") or {}
    target_value = target.get("value", 85)
    target_text = f"{target_value:g}" if isinstance(target_value, (int, float)) else str(target_value)
    metric = target.get("metric", "index")
    points = []
    index_sentence = (
        f"{district}公共服务总体满意度指数为{_fmt(overall.get('index'))}分（满分100），"
        f"95%置信区间为{_fmt(overall.get('ci_low'))}–{_fmt(overall.get('ci_high'))}分。"
    )
    rate = overall.get("satisfied_rate") or {}
    if not math.isnan(_number(rate.get("estimate"))):
        index_sentence += (
            f"回答“满意”或“非常满意”的居民占{_fmt(100 * _number(rate.get('estimate')))}%"
            f"（95%置信区间{_fmt(100 * _number(rate.get('ci_low')))}%–{_fmt(100 * _number(rate.get('ci_high')))}%）。"
        )
    points.append(index_sentence)
    verdict = target.get("verdict", "inconclusive")
    measured = "满意度指数" if metric == "index" else "满意率"
    unit = "分" if metric == "index" else "%"
    sentence = VERDICT_SENTENCES.get(verdict, "").format(target=f"{target_text}{unit}")
    p_value = _number(target.get("p_value"))
    p_text = f"（以{measured}检验，单侧{_p_text(p_value)}）" if not math.isnan(p_value) else f"（以{measured}检验）"
    points.append(f"关于“{target_text}{unit}以上”的目标：{sentence}{p_text}")
    domains = results.get("domains") or {}
    ranked = sorted(
        ((d, v) for d, v in domains.items() if not math.isnan(_number(v.get("index")))),
        key=lambda item: item[1]["index"],
        reverse=True,
    )
    if len(ranked) >= 2:
        best = "、".join(f"{_domain_label(d, questionnaires)}（{_fmt(v['index'])}）" for d, v in ranked[:2])
        worst = "、".join(f"{_domain_label(d, questionnaires)}（{_fmt(v['index'])}）" for d, v in ranked[-2:][::-1])
        points.append(f"满意度最高的领域是{best}；最低的是{worst}。")
    if comparison is not None:
        for change in comparison.changes:
            if change.key == "overall.index":
                direction = "上升" if change.difference > 0 else "下降"
                significance = "变化在统计上显著" if change.significant else "变化在统计上不显著（可能只是抽样波动）"
                points.append(
                    f"与{comparison.previous_label}相比，总体满意度指数{direction}{abs(change.difference):.1f}分"
                    f"（95%置信区间{change.ci_low:+.1f}至{change.ci_high:+.1f}分），{significance}。"
                )
    if rankings is not None:
        for level in ("municipality", "province", "national"):
            placement = rankings.latest(level)
            if placement is None or placement.district.origin == "published":
                continue
            if placement.complete_list:
                text = f"排名：本区{placement.year}年得分{describe_placement(placement)}"
            else:
                # The published list is partial (ranks from other lists): a rank among the
                # listed units would mislead; say how likely the district is above each.
                above = "；".join(
                    f"高于{u.unit}（{u.score:g}）的概率为{100 * u.probability_above:.0f}%" for u in placement.units[:4]
                )
                text = (
                    f"与{placement.benchmark_year}年{LEVEL_LABELS_ZH.get(placement.level, placement.level)}"
                    f"公布的数字相比：本区{placement.year}年得分{above}。"
                )
            if placement.illustrative:
                text += "（对标数据为示意数据）"
            points.append(text)
    if drivers is not None and drivers.priorities:
        top = "；".join(f"{p.domain_label}：{p.label}" for p in drivers.priorities[:3])
        points.append(f"最需要优先改进的事项（重要性高、表现低）：{top}。")
    return points


def _methodology_rows(
    results: Mapping[str, Any],
    *,
    run: Mapping[str, Any],
    drivers: DriverAnalysis | None,
    rankings: Rankings | None,
) -> list[dict[str, str]]:
    weights = results.get("weights") or {}
    design = results.get("design") or {}
    overall = results.get("overall") or {}
    target = results.get("target") or {}
    rows = []

    def add(item: str, content: Any) -> None:
        rows.append({"项目": item, "内容": str(content)})

    if run.get("source"):
        add("数据来源", run["source"])
    method = str(weights.get("method", ""))
    add("加权方法", WEIGHT_LABELS_ZH.get(method, method or "—"))
    if run.get("margins"):
        add("人口边际文件", run["margins"])
    add("有效样本量（Kish）", _fmt(weights.get("effective_n"), ",.0f"))
    add("加权设计效应", _fmt(weights.get("deff"), ".3f"))
    add("权重范围", f"{_fmt(weights.get('min'), '.3g')} – {_fmt(weights.get('max'), '.3g')}")
    variance = str(design.get("variance", ""))
    add("方差估计", VARIANCE_LABELS_ZH.get(variance, variance or "—"))
    add("分层变量", design.get("strata") or "无")
    add("整群（初级抽样单位）变量", design.get("clusters") or "无")
    add("自由度（初级抽样单位数 − 层数）", design.get("df", overall.get("df", "—")))
    add("指数置信区间", "t分布区间：估计值 ± t(df, 0.975) × 标准误")
    add("满意率置信区间", run.get("proportion_interval", "logit区间（与R survey包svyciprop默认一致）"))
    add("领域指数", "比率估计，按子总体在全样本设计上估计方差（未回答该领域者贡献0）")
    add("总体指数", run.get("domain_weights", "各领域等权平均，方差含领域间协方差"))
    rule = run.get("suppression") or {}
    add(
        "分组结果公布规则",
        f"样本量小于{rule.get('min_n', 30)}或变异系数大于{rule.get('max_cv', 0.3)}的分组估计不予公布",
    )
    target_value = target.get("value", 85)
    target_text = f"{target_value:g}" if isinstance(target_value, (int, float)) else str(target_value)
    add(
        "目标检验",
        f"单侧t检验，目标{target_text}，检验{'满意度指数' if target.get('metric', 'index') == 'index' else '满意率'}；"
        "单侧95%下限高于目标为“已达到”，上限低于目标为“未达到”，否则“尚无法判断”",
    )
    add("有效问卷", _fmt(overall.get("n"), ",.0f"))
    if drivers is not None:
        add(
            "关键驱动因素",
            "Johnson相对权重（加权成对相关矩阵），重要性与表现的置信区间："
            + drivers.description
            + "；象限以本领域均值划分",
        )
    if rankings is not None:
        add(
            "排名模拟",
            f"本区得分 θ* ~ N(θ̂, SE²) 模拟{rankings.draws:,}次，随机种子{rankings.seed}；"
            "公布得分视为固定值（给出标准误者除外）；文件：" + (rankings.benchmarks or "—"),
        )
    if run.get("previous"):
        add("上期结果", run["previous"])
    add("软件", f"Manyi scoring {results.get('version', '')}，报告格式 {REPORT_VERSION}")
    if run.get("command"):
        add("运行命令", run["command"])
    return rows


def _quality_rows(
    results: Mapping[str, Any], item_scores: pd.DataFrame | None, questionnaires: QuestionnaireSet | None
) -> list[dict[str, Any]]:
    domains = results.get("domains") or {}
    overall_n = _number((results.get("overall") or {}).get("n"))
    rows = []
    for domain, values in domains.items():
        row: dict[str, Any] = {
            "领域": _domain_label(domain, questionnaires),
            "样本量": values.get("n"),
            "回答该领域的比例（%）": 100 * _number(values.get("n")) / overall_n if overall_n else math.nan,
            "克朗巴赫α": _number(values.get("alpha")),
            "设计效应": _number(values.get("deff")),
        }
        if item_scores is not None:
            columns = [c for c in item_scores.columns if str(c).startswith(f"{domain}.") and c != f"{domain}.overall"]
            if columns:
                block = item_scores[columns].to_numpy(dtype=np.float64, na_value=np.nan)
                answering = ~np.all(np.isnan(block), axis=1)
                if answering.any():
                    row["题目平均缺失率（%）"] = 100 * float(np.isnan(block[answering]).mean())
        rows.append(row)
    return rows


def _css(font_family: str) -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8").replace("FONT_FAMILY", font_family)


def render_html(context: Mapping[str, Any], *, font_family: str) -> str:
    """Render ``report.html.j2`` with ``context`` (plus the helpers it uses)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from markupsafe import Markup

    template = environment.get_template("report.html.j2")
    return template.render(
        **context,
        css=Markup(_css(font_family)),  # our own stylesheet, not user input
        fmt=_fmt,
        img=_image_html,
        table=table_html,
    )


def write_pdf(html: str, path: Path) -> None:
    """Render ``html`` to an A4 PDF with WeasyPrint (fonts embedded, text extractable)."""
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every CSS property it ignores at WARNING level; the report's
    # screen-only rules are expected, so keep the terminal quiet.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(path.parent)).write_pdf(path)


# ---------------------------------------------------------------------------
# Charts, rendered in parallel


@dataclass(frozen=True)
class ChartJob:
    """One chart to draw: a builder of :mod:`scoring.charts` (by name) and its arguments.

    Plain data only, so that a job can be sent to a worker process.
    """

    name: str
    title: str
    builder: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _render_chart(job: ChartJob, directory: Path) -> Chart:
    from . import charts as chart_module

    figure = chart_module.draw(getattr(chart_module, job.builder), *job.args, **job.kwargs)
    return chart_module.save_chart(figure, directory, job.name, title=job.title, description=job.title)


def render_charts(
    jobs: Sequence[ChartJob],
    directory: Path,
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Chart]:
    """Draw and save every chart (PNG and SVG); ``workers > 1`` uses that many processes.

    Charts are independent and matplotlib spends its time in Python, so processes (not
    threads) are what make a two-core machine draw twice as fast.  The result is the
    same either way; the order of the returned mapping is the order of ``jobs``.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    rendered: dict[str, Chart] = {}
    if workers <= 1 or len(jobs) < 4 or "fork" not in multiprocessing.get_all_start_methods():
        for done, job in enumerate(jobs, start=1):
            rendered[job.name] = _render_chart(job, directory)
            if progress:
                progress(done, len(jobs))
        return rendered
    # fork: the workers inherit the imported modules and the font cache (no re-import).
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(_render_chart, job, directory): job.name for job in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            rendered[futures[future]] = future.result()
            if progress:
                progress(done, len(jobs))
    return {job.name: rendered[job.name] for job in jobs}


# ---------------------------------------------------------------------------
# The whole report


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote."""

    directory: Path
    results_json: Path
    tables_xlsx: Path
    tables_csv: tuple[Path, ...]
    charts: tuple[Chart, ...]
    html: Path
    pdf: Path | None
    results: Mapping[str, Any] = field(repr=False)

    @property
    def all_files(self) -> tuple[Path, ...]:
        files = [self.results_json, self.tables_xlsx, *self.tables_csv, self.html]
        for chart in self.charts:
            files += [chart.png, chart.svg]
        if self.pdf is not None:
            files.append(self.pdf)
        return tuple(files)


def _trend(
    results: Mapping[str, Any], wave: str, previous: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    points: dict[str, dict[str, Any]] = {}
    order: list[str] = []

    def add(label: str, data: Mapping[str, Any]) -> None:
        if label not in points:
            order.append(label)
        points[label] = dict(data)

    for label, data in previous:
        for earlier in data.get("trend") or []:
            if earlier.get("wave") is not None:
                add(str(earlier["wave"]), earlier)
        overall = data.get("overall") or {}
        add(
            label,
            {
                "wave": label,
                "index": overall.get("index"),
                "ci_low": overall.get("ci_low"),
                "ci_high": overall.get("ci_high"),
                "se": overall.get("se"),
                "satisfied_rate": (overall.get("satisfied_rate") or {}).get("estimate"),
            },
        )
    overall = results.get("overall") or {}
    add(
        wave,
        {
            "wave": wave,
            "index": overall.get("index"),
            "ci_low": overall.get("ci_low"),
            "ci_high": overall.get("ci_high"),
            "se": overall.get("se"),
            "satisfied_rate": (overall.get("satisfied_rate") or {}).get("estimate"),
        },
    )

    def sort_key(label: str) -> tuple[int, str]:
        year = wave_year(label)
        return (year if year is not None else 10_000, label)

    return [points[label] for label in sorted(order, key=sort_key)]


def build_report(
    results: Mapping[str, Any],
    *,
    out_dir: str | Path,
    item_scores: pd.DataFrame | None = None,
    weights: Any = None,
    strata: Any = None,
    clusters: Any = None,
    questionnaires: QuestionnaireSet | None = None,
    benchmarks: BenchmarkTable | None = None,
    previous: Sequence[tuple[str, Mapping[str, Any]]] = (),
    wave: str | None = None,
    year: int | None = None,
    district: str = DISTRICT,
    title: str | None = None,
    illustrative: bool = False,
    draws: int = MIN_DRAWS,
    seed: int = 2025,
    pdf: bool = True,
    run: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
    chart_workers: int | None = None,
) -> ReportFiles:
    """Compute rankings, drivers and changes, and write every report file into ``out_dir``.

    Parameters
    ----------
    results : mapping
        The engine's results (estimate contract).
    out_dir : path
        Folder to write into (created if needed).
    item_scores : pandas.DataFrame, optional
        Item scores 0–100 of the scored responses (after screening), one column per
        item code (:func:`scoring.drivers.item_score_frame`); needed for the key-driver
        analysis and the item missingness of the data-quality table.
    weights : array_like, optional
        Their respondent weights (default: all 1).
    strata, clusters : array_like, optional
        Their stratum and PSU, for the drivers' jackknife.
    questionnaires : QuestionnaireSet, optional
        Labels (domains, items, towns) and scale lengths.
    benchmarks : BenchmarkTable, optional
        Published monitoring results (:func:`scoring.rankings.read_benchmarks`).
    previous : sequence of (label, results)
        Earlier waves' results, oldest first; the last is "the previous wave" for the
        change table; all feed the trend.
    wave : str, optional
        This wave's code (e.g. ``"2025"``).
    year : int, optional
        Year of this wave's score for the rankings (default: from ``wave``, else this year).
    district : str
        The district's name (as in the benchmarks' ``unit`` column).
    title : str, optional
        Report title (default ``"<district><year>年公共服务满意度调查报告"``).
    illustrative : bool
        Mark every page and chart as illustrative (demo or synthetic data).
    draws, seed : int
        Rank simulation size (≥ 10,000) and seed (also seeds the drivers' jackknife groups).
    pdf : bool
        Write report.pdf (WeasyPrint).
    run : mapping, optional
        Facts about the run for the methodology section: ``command``, ``margins``,
        ``previous``, ``domain_weights``, ``proportion_interval``, and ``suppression``
        (``{"min_n": 30, "max_cv": 0.3}``, the subgroup rule the estimates used).
    progress : Progress, optional
        Terminal progress (default: none).
    chart_workers : int, optional
        Processes drawing the charts (default: the number of CPU cores, at most 4).

    Returns
    -------
    ReportFiles
    """
    from . import charts as chart_module
    from .drivers import key_drivers
    from .fonts import cjk_font_or_warn
    from .planning import compare_waves
    from .rankings import rank_district

    progress = progress or Progress(enabled=False)
    run = dict(run or {})
    if chart_workers is None:
        chart_workers = max(1, min(4, os.cpu_count() or 1))
    year = year or wave_year(wave) or _dt.date.today().year
    wave = wave or str(year)
    previous = list(previous)
    if previous and not all(isinstance(data, Mapping) and "overall" in data for _, data in previous):
        raise ReportInputError("every previous results must be a results dict with 'overall' (see read_results)")
    if weights is not None and item_scores is not None and len(np.asarray(weights)) != len(item_scores):
        raise ReportInputError(f"weights has {len(np.asarray(weights))} values for {len(item_scores)} responses")

    comparison = None
    if previous:
        label, data = previous[-1]
        comparison = compare_waves(results, data, previous_label=_previous_meta(data, label)[0])
    trend = _trend(results, wave, [(_previous_meta(data, label)[0], data) for label, data in previous])

    rankings = None
    if benchmarks is not None:
        overall = results.get("overall") or {}
        estimate, se = _number(overall.get("index")), _number(overall.get("se"))
        scores = []
        if not (math.isnan(estimate) or math.isnan(se)):
            scores.append(DistrictScore(year, estimate, se, "survey"))
        for label, data in previous:
            _previous_wave, previous_year = _previous_meta(data, label)
            previous_overall = data.get("overall") or {}
            p_estimate, p_se = _number(previous_overall.get("index")), _number(previous_overall.get("se"))
            if previous_year and previous_year != year and not (math.isnan(p_estimate) or math.isnan(p_se)):
                scores.append(DistrictScore(previous_year, p_estimate, p_se, "previous"))
        with progress.step("排名模拟", total=1) as advance:
            rankings = rank_district(scores, benchmarks, district=district, draws=draws, seed=seed)
            advance(1)

    drivers = None
    if item_scores is not None:
        use_weights = np.ones(len(item_scores)) if weights is None else np.asarray(weights, dtype=np.float64)
        with progress.step("关键驱动因素", total=len(DOMAIN_IDS)) as advance:
            drivers = key_drivers(
                item_scores,
                use_weights,
                questionnaires=questionnaires,
                strata=strata,
                clusters=clusters,
                target=float((results.get("target") or {}).get("value") or 85.0),
                seed=seed,
                progress=advance,
            )

    full: dict[str, Any] = dict(results)
    full["rankings"] = rankings.to_dict() if rankings is not None else None
    full["drivers"] = drivers.to_dict() if drivers is not None else None
    if comparison is not None:
        full["change"] = comparison.to_dict()
    full["trend"] = trend
    full["report"] = {
        "wave": wave,
        "year": year,
        "district": district,
        "illustrative": bool(illustrative or (benchmarks is not None and benchmarks.illustrative)),
        "illustrative_data": bool(illustrative),
        "generated": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "format": REPORT_VERSION,
    }
    full = _json_safe(full)

    # Everything is written into a staging folder beside ``out_dir`` and moved into place
    # at the end, so a failure half-way leaves the previous report untouched.
    final = Path(out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        results_path = out / "results.json"
        results_path.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

        target_value = float((results.get("target") or {}).get("value") or 85.0)
        suppression = dict(run.get("suppression") or results.get("suppression") or {})
        labels = town_labels(questionnaires)
        methodology = _methodology_rows(results, run=run, drivers=drivers, rankings=rankings)
        quality = _quality_rows(results, item_scores, questionnaires)
        tables = result_tables(
            results,
            questionnaires=questionnaires,
            rankings=rankings,
            drivers=drivers,
            comparison=comparison,
            quality=quality,
            methodology=methodology,
        )
        with progress.step("表格", total=1) as advance:
            xlsx, csv_paths = write_tables(tables, out)
            advance(1)

        jobs: list[ChartJob] = [
            ChartJob(
                "overall_target", "总体满意度与目标", "overall_target_chart", (results,), {"illustrative": illustrative}
            ),
            ChartJob(
                "domain_index",
                "各领域满意度指数",
                "domain_index_chart",
                (results,),
                {"target": target_value, "illustrative": illustrative},
            ),
            ChartJob(
                "satisfied_rates",
                "各领域满意率",
                "satisfied_rate_chart",
                (results,),
                {"target": target_value, "illustrative": illustrative},
            ),
            ChartJob(
                "towns",
                "各镇街总体满意度指数",
                "town_chart",
                (results,),
                {
                    "town_labels": labels,
                    "target": target_value,
                    "min_n": int(suppression.get("min_n", 30)),
                    "max_cv": float(suppression.get("max_cv", 0.3)),
                    "illustrative": illustrative,
                },
            ),
            ChartJob(
                "trend",
                "总体满意度历年变化",
                "trend_chart",
                (trend,),
                {"target": target_value, "illustrative": illustrative},
            ),
        ]
        rank_jobs: list[tuple[str, Any]] = []
        if rankings is not None:
            for level in ("municipality", "province", "national"):
                placement = rankings.latest(level)
                if placement is not None:
                    name = f"rank_{level}"
                    rank_jobs.append((name, placement))
                    jobs.append(
                        ChartJob(
                            name,
                            f"{LEVEL_LABELS_ZH[level]}名次概率",
                            "rank_chart",
                            (placement,),
                            {"level_label": LEVEL_LABELS_ZH[level], "district": district},
                        )
                    )
        if drivers is not None:
            jobs.append(
                ChartJob(
                    "priorities",
                    "重点改进事项",
                    "priority_chart",
                    (drivers.priorities,),
                    {"target": target_value, "illustrative": illustrative},
                )
            )
            for domain, analysis in drivers.domains.items():
                jobs.append(
                    ChartJob(
                        f"ipa_{domain}",
                        f"{analysis.label}重要性—表现分析",
                        "ipa_chart",
                        (analysis,),
                        {"illustrative": illustrative},
                    )
                )
        font = cjk_font_or_warn()
        with progress.step("图表", total=len(jobs)) as advance:
            charts = render_charts(jobs, out / "charts", workers=chart_workers, progress=advance)

        sections = [
            {"id": "domains", "title": "一、各领域满意度"},
            {"id": "towns", "title": "二、各镇（街道、管理区）结果"},
            {"id": "change", "title": "三、与上期比较及历年趋势"},
            {"id": "drivers", "title": "四、重点改进事项（关键驱动因素）"},
            {"id": "rankings", "title": "五、监测排名对比"},
            {"id": "methodology", "title": "六、方法说明"},
            {"id": "quality", "title": "七、数据质量"},
        ]
        placements_context = []
        if rankings is not None:
            for name, placement in rank_jobs:
                level_label = LEVEL_LABELS_ZH.get(placement.level, placement.level)
                unit_table = ReportTable(
                    f"rank_units_{placement.level}",
                    "",
                    f"{level_label}：与各单位的比较",
                    tables["rank_units"]
                    .frame[
                        (tables["rank_units"].frame["层级"] == level_label)
                        & (tables["rank_units"].frame["本区得分年份"] == placement.year)
                    ]
                    .drop(columns=["层级", "本区得分年份"]),
                    tables["rank_units"].formats,
                    wrap=True,
                )
                placements_context.append(
                    {
                        "title": f"{level_label}（{placement.benchmark_year}年公布结果）",
                        "sentence": f"本区{placement.year}年得分（{placement.district.estimate:.1f}）"
                        + describe_placement(placement),
                        "illustrative": placement.illustrative,
                        "chart": charts.get(name),
                        "table": unit_table,
                    }
                )
        notes = list(drivers.notes if drivers else ()) + list(rankings.notes if rankings else ())
        for problem in ("duplicate_browser", "ip_burst", "partial"):
            count = (results.get("excluded") or {}).get(problem)
            if count:
                notes.append(f"{EXCLUSION_LABELS_ZH.get(problem, problem)}：{count} 份，未计入。")
        target_info = results.get("target") or {}
        verdict = target_info.get("verdict", "inconclusive")
        context = {
            "title": title or f"{district}{year}年公共服务满意度调查报告",
            "district": district,
            "wave": wave,
            "generated": full["report"]["generated"].replace("T", " ").replace("+00:00", " UTC"),
            "illustrative": bool(illustrative),
            "overall": {k: (results.get("overall") or {}).get(k) for k in ("index", "ci_low", "ci_high", "n")},
            "target": {"verdict": verdict},
            "target_value": f"{target_value:g}",
            "verdict_label": chart_module.VERDICT_LABELS_ZH.get(verdict, verdict),
            "summary_points": summary_points(
                results,
                district=district,
                rankings=rankings,
                drivers=drivers,
                comparison=comparison,
                questionnaires=questionnaires,
            ),
            "charts": {name: chart for name, chart in charts.items()},
            "ipa_charts": [chart for name, chart in charts.items() if name.startswith("ipa_")],
            "sections": sections,
            "tables": tables,
            "change_rows": comparison is not None and bool(comparison.changes),
            "previous_label": comparison.previous_label if comparison is not None else "",
            "drivers": drivers is not None and bool(drivers.domains),
            "placements": placements_context,
            "rankings": {"draws": rankings.draws if rankings else 0},
            "suppression_n": suppression.get("min_n", 30),
            "suppression_cv": suppression.get("max_cv", 0.3),
            "quality_notes": notes,
        }
        # Jinja's attribute lookup falls back to items, so tables.<name> works; missing
        # optional tables must exist as None for StrictUndefined.
        context["tables"] = _TableNamespace(tables)
        context["charts"] = _TableNamespace(charts)
        html = render_html(context, font_family=font.css_family if font else "sans-serif")
        html_path = out / "report.html"
        html_path.write_text(html, encoding="utf-8")
        pdf_path = None
        if pdf:
            with progress.step("PDF", total=1) as advance:
                pdf_path = out / "report.pdf"
                write_pdf(html, pdf_path)
                advance(1)
        staged = ReportFiles(
            directory=out,
            results_json=results_path,
            tables_xlsx=xlsx,
            tables_csv=csv_paths,
            charts=tuple(charts.values()),
            html=html_path,
            pdf=pdf_path,
            results=full,
        )
        return _publish(staged, final)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _publish(staged: ReportFiles, final: Path) -> ReportFiles:
    """Move the files of a staged report into ``final`` (one rename per file)."""
    from dataclasses import replace

    stage = staged.directory
    final.mkdir(parents=True, exist_ok=True)

    def move(path: Path) -> Path:
        target = final / path.relative_to(stage)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return target

    charts = tuple(replace(chart, png=move(chart.png), svg=move(chart.svg)) for chart in staged.charts)
    return ReportFiles(
        directory=final,
        results_json=move(staged.results_json),
        tables_xlsx=move(staged.tables_xlsx),
        tables_csv=tuple(move(path) for path in staged.tables_csv),
        charts=charts,
        html=move(staged.html),
        pdf=move(staged.pdf) if staged.pdf is not None else None,
        results=staged.results,
    )


class _TableNamespace(dict):
    """A dict whose missing keys read as ``None`` in templates (optional tables, charts)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def check_out_dir(path: str | Path) -> None:
    """Refuse an output path that is an existing file (a folder is expected)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ReportInputError(f"--out {path} is a file; give a folder to write the report into")
    if path.exists() and not os.access(path, os.W_OK):
        raise ReportInputError(f"--out {path} is not writable")
