"""``manyi score WAVE --out DIR``: the statistician's report from the database.

:func:`score_wave` is the step itself — publishing and the preview run the same — and
returns the report's files as bytes (:class:`scoring.report.ReportFiles`);
:func:`survey.commands.score.score_command` is the ``manyi score`` command around it,
which writes them.

**The wave's settings.**  A wave's analysis settings are stored with it
(:mod:`survey.services.settings`: margins and benchmarks as content, target and metric,
mapping, design, variance, screening, stability minimums, assumed SE, illustrative).
:func:`score_wave` scores with them unless told otherwise, and with the earlier waves'
published results as the previous waves — exactly what publishing does, so that
``manyi score 2025`` with no flags reproduces ``/results/2025.json`` (only the time it
was generated differs).  The command's flags override single settings; the results
(``settings.wave``), the report's methodology and the command's output say which settings
differ from the wave's.  With no settings stored, the defaults of
:class:`scoring.settings.AnalysisSettings` apply (strata = the point's town, PSU = the
collection point, lonely PSUs adjusted, screening on, unweighted) and the output says so.

The wave's responses are read through the one adapter (:func:`survey.adapter.wave_responses_frame`,
without comments, with the point's town and type) into the responses contract and go
through the library calls of ``python -m scoring report``:
:meth:`scoring.pipeline.EstimateOptions.from_settings`, :func:`scoring.pipeline.run_estimate`
and :func:`scoring.report.build_report`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from survey.models import Publication, Wave
from survey.services.settings import (
    StoredSettings,
    benchmarks_table,
    wave_settings,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pandas as pd
    from sqlalchemy.orm import Session

    from scoring.report import ReportFiles

#: Options shared with ``python -m scoring estimate`` (same names, same meaning).

TARGET_METRICS = ("index", "satisfied_rate")
MAPPINGS = ("linear", "monitoring")

#: The settings' names as the report's methodology table writes them.
SETTING_LABELS_ZH = {
    "target": "目标值",
    "target_metric": "目标指标",
    "mapping": "计分方式",
    "strata": "分层",
    "cluster": "整群",
    "unclustered": "无采集点的答卷",
    "variance": "方差估计",
    "replicates": "重复样本数",
    "seed": "随机种子",
    "lonely_psu": "单一初级抽样单位的层",
    "screening": "质量筛查",
    "min_n": "最少样本量",
    "min_psus": "最少初级抽样单位数",
    "suppress_min_n": "分组公布的最少样本量",
    "suppress_max_cv": "分组公布的最大变异系数",
    "rate_interval": "满意率置信区间",
    "domain_weights": "领域权重",
    "margins": "人口边际",
    "trim": "权重截尾",
    "benchmarks": "对标数据",
    "assumed_se": "假定标准误",
    "illustrative": "示意数据",
    "district": "区名",
}

#: The command's flag for each setting (messages name the option the user typed).
SETTING_OPTIONS = {
    "target": "--target",
    "target_metric": "--target-metric",
    "mapping": "--mapping",
    "strata": "--strata",
    "cluster": "--cluster",
    "variance": "--variance",
    "replicates": "--replicates",
    "seed": "--seed",
    "lonely_psu": "--lonely-psu",
    "screening": "--no-screening",
    "straight_line_fast_fraction": "--straight-line-fast-fraction",
    "min_n": "--min-n",
    "min_psus": "--min-psus",
    "domain_weights": "--domain-weights",
    "margins": "--margins",
    "benchmarks": "--benchmarks",
    "assumed_se": "--assumed-se",
    "illustrative": "--illustrative",
    "district": "--district",
    "rate_interval": "--rate-interval",
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def earlier_publications(session: Session, wave: Wave) -> list[tuple[str, str, dict[str, Any]]]:
    """The newest published results of the waves before ``wave`` as values — (wave code,
    the frozen results.json, its dict) — oldest first: the report's trend, its change
    against the previous wave and the survey's own rank changes.  Results that do not say
    their year (``report.year``) are left out."""
    newest = (
        select(Publication.wave_id, func.max(Publication.revision).label("revision"))
        .group_by(Publication.wave_id)
        .subquery()
    )
    rows = session.execute(
        select(Wave.code, Publication.results_json)
        .join(Publication, Publication.wave_id == Wave.id)
        .join(newest, (Publication.wave_id == newest.c.wave_id) & (Publication.revision == newest.c.revision))
        .where(Wave.code < wave.code)
        .order_by(Wave.code)
    ).all()
    previous = []
    for code, text in rows:
        results = json.loads(text)
        meta = results.get("report") if isinstance(results.get("report"), dict) else {}
        if not isinstance(meta.get("year"), int):
            continue
        results["report"] = {**meta, "wave": code}
        previous.append((code, text, results))
    return previous


def settings_note(wave: Wave, wave_stored: StoredSettings, differences: Mapping[str, tuple[Any, Any]]) -> dict:
    """``results["settings"]["wave"]``: whether the wave has settings stored, their digest,
    and every setting the run used differently (``{setting, wave, used}``)."""
    return {
        "code": wave.code,
        "stored": wave_stored.stored,
        "digest": wave_stored.digest,
        "differences": [{"setting": key, "wave": ours, "used": used} for key, (ours, used) in differences.items()],
    }


def _settings_fact(wave: Wave, wave_stored: StoredSettings, differences: Mapping[str, tuple[Any, Any]]) -> str:
    """The methodology table's words on which settings the run used."""
    if differences:
        listed = "；".join(
            f"{SETTING_LABELS_ZH.get(key, key)}：期次设置 {_short(ours)}，本次 {_short(used)}"
            for key, (ours, used) in differences.items()
        )
        return f"本次分析所用设置与期次 {wave.code} 保存的设置不同（{listed}）"
    if not wave_stored.stored:
        return f"期次 {wave.code} 未保存分析设置，采用默认设置（按采集点所在镇分层、采集点为整群、单一整群的层按R的adjust处理、质量筛查开启）"
    return f"期次 {wave.code} 保存的分析设置（摘要 {wave_stored.digest[:12]}）"


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return f"sha256 {value[:12]}…"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "无" if value is None else str(value)


def score_wave(
    session: Session,
    wave: Wave,
    *,
    settings: StoredSettings | None = None,
    previous: Sequence[tuple[str, str, Mapping[str, Any]]] | None = None,
    estimate: Mapping[str, Any] | None = None,
    title: str | None = None,
    draws: int = 10_000,
    compare_other_years: bool = False,
    allow_differences: bool = True,
    pdf: bool = True,
    quiet: bool = True,
    command: str = "",
    source: str | None = None,
    facts: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
    frame: pd.DataFrame | None = None,
) -> ReportFiles:
    """Score a wave from the database with its analysis settings; every report file as bytes.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    wave : survey.models.Wave
    settings : StoredSettings, optional
        The settings to use (default: the wave's, :func:`survey.services.settings.wave_settings`,
        or the defaults of ``AnalysisSettings`` when none are stored).  Whatever differs
        from the wave's is recorded in ``results["settings"]["wave"]["differences"]`` and
        said in the methodology table.
    previous : sequence of (wave code, results.json text, results), optional
        Earlier waves' results (default: their newest publications,
        :func:`earlier_publications`), each carrying its wave code and year.
    estimate : mapping, optional
        Further :class:`scoring.pipeline.EstimateOptions` (e.g. ``level``); prefer settings.
    title, draws, compare_other_years, pdf
        As :class:`scoring.report.ReportSettings`.
    allow_differences : bool
        Compare with the previous wave even when its settings differ (every change then
        flagged ``comparable: false`` with the differences named); False refuses.
    quiet : bool
        No progress bars.
    command, source : str
        The command line and the data source, for the methodology section.
    facts, inputs : mapping, optional
        More facts for the methodology section; more input hashes for results.json.
    frame : pandas.DataFrame, optional
        The wave's responses as :func:`survey.adapter.wave_responses_frame` returns them
        (without comments, with design columns and the keyed paradata), when the caller has
        already read them.  The keyed ``ip_hash`` / ``browser_hash`` let the integrity review
        test addresses and apply the office's address exclusions; the published results name
        addresses only by counts (:func:`survey.services.publication.public_results`).

    Returns
    -------
    scoring.report.ReportFiles

    Raises
    ------
    scoring.errors.ScoringInputError
        The wave has no submitted responses, or an input is invalid.
    """
    from scoring.errors import ScoringInputError
    from scoring.pipeline import EstimateOptions, run_estimate
    from scoring.report import Progress, ReportSettings, build_report, collection_year
    from survey.adapter import wave_responses_frame
    from survey.services.indicators import report_records
    from survey.services.integrity import wave_exclusions
    from survey.services.questionnaires import wave_questionnaires

    if frame is None:
        frame = wave_responses_frame(session, wave, include_comments=False, design_columns=True, paradata=True)
    if frame.empty:
        raise ScoringInputError(f"wave {wave.code!r} has no submitted responses yet; nothing to score")
    wave_stored = wave_settings(session, wave)
    used = settings or wave_stored
    differences = wave_stored.settings.differences(used.settings)
    if previous is None:
        previous = earlier_publications(session, wave)
    questionnaires = wave_questionnaires(wave)
    # The office's exclusion decisions in force (survey.services.integrity): published with their reasons.
    extra = {"exclusions": wave_exclusions(session, wave), **(estimate or {})}
    estimate_options = EstimateOptions.from_settings(frame, questionnaires, used.settings, **extra)
    benchmarks = benchmarks_table(used)
    report_settings = ReportSettings(
        wave=wave.code,
        year=collection_year(frame["submitted_at"]) if "submitted_at" in frame.columns else None,
        district=used.settings.district,
        title=title or (wave.title_zh or None),
        illustrative=used.settings.illustrative,
        draws=draws,
        seed=estimate_options.seed,
        assumed_se=used.settings.assumed_se,
        compare_other_years=compare_other_years,
        allow_differences=allow_differences,
        pdf=pdf,
    )
    report_settings.validate(benchmarks=benchmarks is not None)  # before the estimate: bad settings cost nothing
    progress = Progress(enabled=not quiet)
    with progress.step("估计", total=1) as advance:
        run = run_estimate(estimate_options)
        advance(1)
    run.results["settings"]["wave"] = settings_note(wave, wave_stored, differences)
    named_inputs = {
        **used.input_names(),
        **{f"previous/{code}": _sha256(text.encode("utf-8")) for code, text, _ in previous},
        **dict(inputs or {}),
    }
    return build_report(
        run,
        settings=report_settings,
        previous=[results for _, _, results in previous],
        benchmarks=benchmarks,
        questionnaires=questionnaires,
        facts={
            "source": source or f"数据库（期次 {wave.code}）",
            "settings": _settings_fact(wave, wave_stored, differences),
            "command": command or f"manyi score {wave.code}",
            **({"margins": used.margins_source.name} if used.margins_source and used.settings.margins else {}),
            **(facts or {}),
        },
        inputs=named_inputs,
        progress=progress,
        indicators=report_records(session),
    )
