"""The plan as data (questionnaires/plan.yaml) against the plan's own text, and its validation.

The plan text is read here with regular expressions of its own, independently of the YAML
and of scoring.plan: the numbered tasks ("1. 加大教育资源供给。…") and the clause that ends
each of them, "（牵头单位：…；责任单位：…；完成时限：…）".  The text is the copy committed in
docs/plan/ (see docs/plan.md for its origin), so the test needs nothing outside the repository.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from scoring.plan import (
    DIRECTIONS,
    MEASURES,
    TASK_COUNT,
    Indicator,
    load_plan,
    plan_from_definition,
)
from scoring.questionnaire import DOMAIN_IDS, QuestionnaireError, Text, load_questionnaires

REPO = Path(__file__).resolve().parents[2]
QUESTIONNAIRES = REPO / "questionnaires"
PLAN_FILE = QUESTIONNAIRES / "plan.yaml"
PLAN_TEXT = REPO / "docs" / "plan" / "jingzhou-public-service-quality-plan-2023-2025.zh.txt"

# ---------------------------------------------------------------------------
# An independent reading of the plan text

# The text uses both full-width and ASCII brackets, colons and semicolons, and page breaks
# fall in mid-sentence (blank lines inside a paragraph): every pattern accepts both forms and
# a task's text is joined without whitespace before it is read.
_SECTION_START = re.compile(r"(?m)^[（(]\s*(?P<numeral>[一二三四五六七八九十]+)\s*[)）]\s*(?P<heading>\S.*?)\s*$")
_TASK_START = re.compile(r"(?m)^(?P<number>\d{1,2})\.\s*")
_CLOSING_CLAUSE = re.compile(
    r"[（(]牵头单位[：:](?P<lead>.+?)[；;]责任单位[：:](?P<responsible>.+?)[；;]完成时限[：:](?P<deadline>.+?)[)）]$"
)
# A group the plan names as one unit, though it is written with the list separator 、.
_COLLECTIVE = "各镇、街道、管理区"
_NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class TextTask:
    number: int
    section: int
    section_heading: str
    title: str
    body: str  # the task's text, whitespace removed
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...]
    deadline: str


def _section_number(numeral: str) -> int:
    if numeral == "十":
        return 10
    if numeral.startswith("十"):
        return 10 + _NUMERALS.index(numeral[1]) + 1
    return _NUMERALS.index(numeral) + 1


def _split_units(clause: str) -> tuple[str, ...]:
    placeholder = "\0"
    parts = re.split(r"[、，,]", clause.replace(_COLLECTIVE, placeholder))
    return tuple(part.replace(placeholder, _COLLECTIVE) for part in parts if part)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def read_plan_text(path: Path = PLAN_TEXT) -> tuple[str, list[TextTask]]:
    """The general requirements (一、总体要求) and the tasks of 二、重点任务, read from the text."""
    text = path.read_text(encoding="utf-8")
    general = text[text.index("一、总体要求") : text.index("二、重点任务")]
    region = text[text.index("二、重点任务") : text.index("三、保障措施")]
    marks = sorted(
        [(m.start(), "section", m) for m in _SECTION_START.finditer(region)]
        + [(m.start(), "task", m) for m in _TASK_START.finditer(region)],
        key=lambda mark: mark[0],
    )
    tasks: list[TextTask] = []
    section, heading = 0, ""
    for index, (_, kind, match) in enumerate(marks):
        if kind == "section":
            section = _section_number(match["numeral"])
            heading = f"（{match['numeral']}）{_squeeze(match['heading'])}"
            continue
        end = marks[index + 1][0] if index + 1 < len(marks) else len(region)
        body = _squeeze(region[match.end() : end])
        clause = _CLOSING_CLAUSE.search(body)
        assert clause, f"task {match['number']} has no closing clause: …{body[-80:]}"
        tasks.append(
            TextTask(
                number=int(match["number"]),
                section=section,
                section_heading=heading,
                title=body.split("。", 1)[0],
                body=body,
                lead_units=_split_units(clause["lead"]),
                responsible_units=_split_units(clause["responsible"]),
                deadline=clause["deadline"],
            )
        )
    return _squeeze(general), tasks


@pytest.fixture(scope="module")
def text_tasks() -> list[TextTask]:
    return read_plan_text()[1]


@pytest.fixture(scope="module")
def plan():
    return load_plan(PLAN_FILE)


# ---------------------------------------------------------------------------
# The data against the text


def test_the_text_has_45_tasks_in_12_sections(text_tasks):
    assert [task.number for task in text_tasks] == list(range(1, 46))
    assert sorted({task.section for task in text_tasks}) == list(range(1, 13))
    # Spot checks of the reading itself, written from the text by hand.
    assert text_tasks[0].lead_units[:3] == ("区教育局", "区发改局", "区财政局") and len(text_tasks[0].lead_units) == 9
    assert text_tasks[42].responsible_units == ("区直各部门", "各镇、街道、管理区")  # ASCII ',' and ';' in the text
    assert text_tasks[3].lead_units == ("区教育局",)  # ASCII brackets around the clause


def test_plan_yaml_has_the_45_tasks_of_the_text(plan, text_tasks):
    assert len(plan.tasks) == TASK_COUNT == len(text_tasks)
    for task, written in zip(plan.tasks, text_tasks):
        where = f"task {written.number}"
        assert task.number == written.number, where
        assert task.title.zh == written.title, where
        assert task.lead_units == written.lead_units, where
        assert task.responsible_units == written.responsible_units, where
        assert task.deadline == written.deadline, where
        assert task.section == written.section, where
        assert plan.sections[task.section - 1].heading == written.section_heading, where


def test_sections_are_the_twelve_domains_in_order(plan):
    assert tuple(section.domain for section in plan.sections) == DOMAIN_IDS
    assert [task.domain for task in plan.tasks][:4] == ["education"] * 4
    assert plan.section_for_domain("healthcare").heading == "（三）开展医疗服务质量提升行动"
    assert [task.number for task in plan.tasks_of_section(11)] == [38, 39, 40, 41]


def test_every_unit_listed_is_named_by_the_text_and_the_reverse(plan, text_tasks):
    in_text = {name for task in text_tasks for name in task.lead_units + task.responsible_units}
    assert {unit.name.zh for unit in plan.units} == in_text
    codes = [unit.code for unit in plan.units]
    assert len(codes) == len(set(codes))
    collectives = {unit.name.zh for unit in plan.units if unit.kind == "collective"}
    assert collectives == {"各镇、街道、管理区", "区直各部门"}


def _written_forms(indicator: Indicator) -> list[str]:
    """How the target's number can appear in the plan's words."""
    value = indicator.target
    forms = [f"{value:g}"]
    if value >= 10_000 and value % 10_000 == 0:
        forms.append(f"{value / 10_000:g}万")
    if value == 1:
        forms.append("一个")
    if value == 100 and indicator.unit.zh == "%":
        forms.append("全覆盖")  # docs/plan.md: 全覆盖 is a coverage of 100%
    return forms


def test_every_indicator_quotes_its_own_task_and_states_its_number(plan, text_tasks):
    by_number = {task.number: task for task in text_tasks}
    for task in plan.tasks:
        for indicator in task.indicators:
            quote = _squeeze(indicator.quote)
            assert quote in by_number[task.number].body, f"{indicator.code}: {indicator.quote!r} is not in the task"
            assert any(form in quote for form in _written_forms(indicator)), indicator.code


def test_the_goal_quotes_the_general_requirements(plan):
    general, _ = read_plan_text()
    assert [goal.code for goal in plan.goals] == ["plan.overall_satisfaction"]
    goal = plan.goals[0]
    assert _squeeze(goal.quote) in general
    assert (goal.target, goal.unit.zh, goal.direction, goal.year) == (85, "%", "at_least", 2025)


@pytest.mark.parametrize(
    ("code", "target", "unit", "direction", "year", "measure"),
    [
        ("t01.preschool_enrolment", 92, "%", "at_least", 2025, "level"),
        ("t01.affordable_preschool_coverage", 85, "%", "at_least", 2025, "level"),
        ("t15.assistance_processing_days", 22, "个工作日", "at_most", 2025, "level"),
        ("t13.unemployment_benefit_review_days", 5, "个工作日", "at_most", 2025, "level"),
        ("t29.food_sampling_rate", 4.5, "批次/千人", "at_least", 2025, "level"),
        ("t07.job_openings", 30_000, "个次", "at_least", 2025, "cumulative"),
        ("t08.subsidised_training", 3600, "人", "at_least", 2025, "annual"),
        ("t21.pocket_parks", 5, "个", "at_least", 2023, "cumulative"),
    ],
)
def test_examples_of_the_targets_as_the_plan_states_them(plan, code, target, unit, direction, year, measure):
    indicator = plan.indicator(code)
    assert (indicator.target, indicator.unit.zh, indicator.direction, indicator.year, indicator.measure) == (
        target,
        unit,
        direction,
        year,
        measure,
    )
    assert indicator.task == int(code[1:3])


def test_indicator_codes_are_unique_ascii_and_belong_to_their_task(plan):
    codes = [indicator.code for indicator in plan.indicators]
    assert len(codes) == len(set(codes))
    for task in plan.tasks:
        for indicator in task.indicators:
            assert re.fullmatch(rf"t{task.number:02d}\.[a-z][a-z0-9_]*", indicator.code)
            assert indicator.direction in DIRECTIONS and indicator.measure in MEASURES
            assert plan.first_year <= indicator.year <= plan.last_year


def test_lead_units_and_their_tasks(plan):
    lead = [unit.name.zh for unit in plan.lead_units]
    assert lead[0] == "区教育局" and len(lead) == len(set(lead)) == 24
    assert "各镇、街道、管理区" not in lead
    assert [task.number for task in plan.tasks_led_by("区卫健局")] == [9, 10, 11]
    assert [task.number for task in plan.tasks_led_by("government_data_bureau")] == [31, 42, 43, 44, 45]
    assert plan.unit("health_bureau").name == Text(zh="区卫健局", en="District Health Bureau")
    with pytest.raises(KeyError, match="no unit"):
        plan.unit("区不存在局")


def test_indicator_status(plan):
    enrolment = plan.indicator("t01.preschool_enrolment")  # at least 92
    assert enrolment.status(92.0) == "met" and enrolment.status(91.9) == "not_yet"
    assert enrolment.status(None) == "no_data" and enrolment.status(float("nan")) == "no_data"
    days = plan.indicator("t15.assistance_processing_days")  # at most 22
    assert days.status(22) == "met" and days.status(18) == "met" and days.status(23) == "not_yet"
    exact = Indicator("t01.x", Text("x", "x"), 5, Text("个", "x"), "equal", 2025, "level", "x")
    assert exact.status(5) == "met" and exact.status(6) == "not_yet"


def test_stored_definition_rebuilds_the_same_plan(plan):
    rebuilt = plan_from_definition(plan.definition)
    assert rebuilt.tasks == plan.tasks and rebuilt.goals == plan.goals and rebuilt.version == plan.version


def test_every_task_is_measured_by_an_item_of_its_domain(plan):
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    assert questionnaires.plan == plan
    for task in plan.tasks:
        items = [
            item.code for item in questionnaires.domains[task.domain].aspect_items if task.number in item.plan_tasks
        ]
        assert items or not task.measured_by_survey, f"task {task.number}"


# ---------------------------------------------------------------------------
# Validation: broken copies are refused, naming file, line and task


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "q"
    shutil.copytree(QUESTIONNAIRES, target)
    return target


def _line_of(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "item", "expected"),
    [
        ("  - number: 7\n", "  - number: 6\n", "task 6", "task 6 is listed twice"),
        (
            "lead_units: [区卫健局]\n    responsible_units: [各镇、街道、管理区]\n    deadline: 持续开展\n    indicators:\n"
            "      - code: t10",
            "lead_units: [区卫生局]\n    responsible_units: [各镇、街道、管理区]\n    deadline: 持续开展\n"
            "    indicators:\n      - code: t10",
            "task 10",
            "'区卫生局' is not in 'units'",
        ),
        (
            "        direction: at_most\n        year: 2025\n        measure: level\n        quote: 确保救助",
            "        direction: below\n        year: 2025\n        measure: level\n        quote: 确保救助",
            "t15.assistance_processing_days",
            "direction 'below' is not one of at_least, at_most, equal",
        ),
        (
            "code: t01.schools_expanded",
            "code: t01.public_kindergartens_built",
            "t01.public_kindergartens_built",
            "duplicate indicator code",
        ),
        ("code: t21.pocket_parks", "code: t20.pocket_parks", "t20.pocket_parks", "must be 't21.<name>'"),
        (
            "    deadline: 持续开展\n\n  - number: 3\n",
            "    deadline: 持续开展\n    measured_by_survey: false\n\n  - number: 3\n",
            "task 2",
            "needs a reason",
        ),
        (
            "        year: 2023\n        measure: cumulative\n        quote: 2023年，计划新增口袋公园5个",
            "        year: 2030\n        measure: cumulative\n        quote: 2023年，计划新增口袋公园5个",
            "t21.pocket_parks",
            "year must be the target year, 2023–2025",
        ),
        ("lead_units: [区医保局]", "lead_units: [各镇、街道、管理区]", "task 14", "is a collective"),
    ],
)
def test_broken_plan_is_refused_naming_file_line_and_task(folder, old, new, item, expected):
    path = folder / "plan.yaml"
    _edit(path, old, new)
    with pytest.raises(QuestionnaireError) as caught:
        load_plan(path)
    problems = [problem for problem in caught.value.problems if expected in problem.message]
    assert problems, str(caught.value)
    problem = problems[0]
    assert problem.file == str(path) and problem.item == item and problem.line
    assert f"plan.yaml:{problem.line} [{item}]:" in str(caught.value)


def test_a_missing_task_is_refused(folder):
    path = folder / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - number: 35\n")
    end = text.index("  # ------------------------------------------------------------------ （十）公共体育")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"tasks \[35\] are missing"):
        load_plan(path)


def test_a_task_no_item_measures_is_reported_at_the_task(folder):
    # utilities.gas_supply is the only item that measures task 19.
    _edit(folder / "utilities.yaml", "    plan_task: 19\n", "    plan_task: 18\n")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(folder)
    (problem,) = caught.value.problems
    assert problem.file.endswith("plan.yaml") and problem.item == "task 19"
    assert problem.line == _line_of(folder / "plan.yaml", "  - number: 19")
    assert "no questionnaire item measures task 19 (保障燃气安全稳定供应)" in problem.message
    assert "measured_by_survey: false" in problem.message


def test_a_task_marked_unmeasured_needs_a_reason_and_no_items(folder):
    plan_path = folder / "plan.yaml"
    flag = "    deadline: 持续开展\n\n  - number: 20\n"
    _edit(
        plan_path, flag, "    deadline: 持续开展\n    measured_by_survey: false\n    reason: 测试\n\n  - number: 20\n"
    )
    with pytest.raises(QuestionnaireError, match=r"task 19 says measured_by_survey: false, but utilities.gas_supply"):
        load_questionnaires(folder)
    _edit(folder / "utilities.yaml", "    plan_task: 19\n", "    plan_task: 18\n")
    task = load_questionnaires(folder).plan.task(19)
    assert task.measured_by_survey is False and task.reason == "测试"


def test_an_item_tracing_to_no_task_of_the_plan_is_refused(folder):
    path = folder / "sports.yaml"
    _edit(
        path,
        "code: sports.events\n    kind: likert\n    plan_task: 36\n",
        "code: sports.events\n    kind: likert\n    plan_task: 46\n",
    )
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(folder)
    problem = next(p for p in caught.value.problems if p.file.endswith("sports.yaml"))
    assert problem.item == "sports.events" and problem.line == _line_of(path, "  - code: sports.events")
    assert "plan_task" in problem.message


def test_a_domain_plan_section_must_be_the_plan_heading(folder):
    _edit(folder / "culture.yaml", "plan_section: （九）开展公共文化服务质量提升行动", "plan_section: （九）公共文化")
    with pytest.raises(
        QuestionnaireError, match=r"culture.yaml:\d+: plan_section is '（九）公共文化' but plan.yaml gives"
    ):
        load_questionnaires(folder)


def test_the_plan_file_is_required(folder):
    (folder / "plan.yaml").unlink()
    with pytest.raises(QuestionnaireError, match=r"plan.yaml: file is missing"):
        load_questionnaires(folder)
