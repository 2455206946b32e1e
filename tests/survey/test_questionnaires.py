from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scoring.questionnaire import DOMAIN_IDS, QuestionnaireError, load_questionnaires
from survey.cli import main
from survey.models import QuestionnaireVersion, Town
from survey.services.questionnaires import load_into_database
from tests.conftest import QUESTIONNAIRES


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "q"
    shutil.copytree(QUESTIONNAIRES, target)
    return target


def test_the_thirteen_files_are_valid():
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    assert tuple(questionnaires.domains) == DOMAIN_IDS
    for domain, questionnaire in questionnaires.domains.items():
        aspects = questionnaire.aspect_items
        assert 4 <= len(aspects) <= 8
        assert questionnaire.items[-1].code == f"{domain}.overall"
        assert all(item.plan_tasks for item in aspects)
        assert all(item.label.zh and item.label.en for item in questionnaire.items)
    assert questionnaires.scale_length("education.fees") == 5
    anchors = [point.label.zh for point in questionnaires.scales["satisfaction"].points]
    assert anchors == ["非常不满意", "不满意", "一般", "满意", "非常满意"]


def test_every_plan_task_of_a_domain_section_is_within_its_range():
    ranges = {
        "education": (1, 4),
        "employment": (5, 8),
        "healthcare": (9, 11),
        "social_security": (12, 15),
        "utilities": (16, 22),
        "environment": (23, 25),
        "transport": (26, 28),
        "public_safety": (29, 32),
        "culture": (33, 35),
        "sports": (36, 37),
        "elderly_care": (38, 41),
        "government_services": (42, 45),
    }
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    for domain, (low, high) in ranges.items():
        tasks = {task for item in questionnaires.domains[domain].aspect_items for task in item.plan_tasks}
        assert tasks and all(low <= task <= high for task in tasks), domain


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("kind: likert", "kind: slider", 1), "unknown kind 'slider'"),
        (lambda t: t.replace("plan_task: 1\n", "plan_task: 1\n    colour: red\n", 1), "unknown key(s) ['colour']"),
        (lambda t: t.replace("education.fair_admission", "education.school_places", 1), "duplicate code"),
        (lambda t: t.replace("education.fees", "healthcare.fees", 1), "must start with the file's domain id"),
        (
            lambda t: t.replace(
                "      en: Availability of kindergarten and school places, and admission to a nearby school\n", "", 1
            ),
            "missing its 'en' translation",
        ),
        (lambda t: t.replace("    plan_task: 3\n", "", 1), "must name the plan task"),
        (lambda t: t + "  - {code: [oops\n", "YAML syntax error"),
    ],
)
def test_broken_copy_is_rejected_naming_file_and_item(copy, edit, expected):
    path = copy / "education.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(copy)
    message = str(caught.value)
    assert expected in message
    assert "education.yaml" in message


def test_error_gives_the_line(copy):
    path = copy / "education.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("kind: likert", "kind: slider", 1), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(copy)
    problem = caught.value.problems[0]
    assert problem.item == "education.school_places"
    assert problem.line == text.splitlines().index("  - code: education.school_places") + 1


def test_unknown_and_missing_files(copy):
    (copy / "tourism.yaml").write_text("id: tourism\n", encoding="utf-8")
    (copy / "sports.yaml").unlink()
    with pytest.raises(QuestionnaireError) as caught:
        load_questionnaires(copy)
    text = str(caught.value)
    assert "tourism.yaml: unknown questionnaire file" in text
    assert "sports.yaml: file is missing" in text


def test_cli_check_ok_and_broken(copy):
    from click.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(main, ["questionnaires", "check", str(QUESTIONNAIRES)])
    assert result.exit_code == 0, result.output
    assert "13 files" in result.output
    (copy / "culture.yaml").write_text(
        (copy / "culture.yaml").read_text(encoding="utf-8").replace("kind: likert", "kind: stars", 1), encoding="utf-8"
    )
    result = runner.invoke(main, ["questionnaires", "check", str(copy)])
    assert result.exit_code == 2
    assert "culture.yaml" in result.output and "unknown kind 'stars'" in result.output


def test_load_is_versioned_by_content(app, session, copy):
    count = lambda: session.scalar(select(func.count()).select_from(QuestionnaireVersion))  # noqa: E731
    assert count() == 13
    report = load_into_database(session, QUESTIONNAIRES)
    assert report.new_versions == () and len(report.unchanged) == 13
    # A comment or re-indentation is not a new version; a changed label is.
    path = copy / "sports.yaml"
    path.write_text("# a new comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_into_database(session, copy).new_versions == ()
    path.write_text(path.read_text(encoding="utf-8").replace("总体来看", "总的来说", 1), encoding="utf-8")
    report = load_into_database(session, copy)
    session.commit()
    assert [label.split("@")[0] for label in report.new_versions] == ["sports"]
    assert count() == 14
    versions = session.scalars(
        select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == "sports")
    ).all()
    assert len({v.content_hash for v in versions}) == 2


def test_invalid_folder_loads_nothing(app, session, copy):
    before = session.scalar(select(func.count()).select_from(QuestionnaireVersion))
    (copy / "sports.yaml").write_text("id: sports\nitems: []\n", encoding="utf-8")
    (copy / "culture.yaml").write_text(
        (copy / "culture.yaml").read_text(encoding="utf-8").replace("总体来看", "总的来说"), encoding="utf-8"
    )
    with pytest.raises(QuestionnaireError):
        load_into_database(session, copy)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == before


def test_towns_come_from_common_yaml(app, session):
    towns = session.scalars(select(Town).order_by(Town.sort_order)).all()
    assert len(towns) == 12
    assert towns[0].code == "xicheng" and towns[0].name_zh == "西城街道"


# Issue 14, "Questions people can answer": on a satisfaction scale every aspect item names a thing
# one can be more or less satisfied with ("预约挂号的便利程度"), never a yes/no question
# ("预约挂号是否方便") or a statement ("办事时不用重复提交证件").
YES_NO_MARKERS_ZH = ("是否", "能否", "有无", "可否", "不用", "吗", "？")
YES_NO_MARKERS_EN = ("whether", "not having", "do not have to", "?")


def test_every_aspect_item_is_an_aspect_not_a_yes_no_question():
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    yes_no = []
    for questionnaire in questionnaires.domains.values():
        for item in questionnaire.aspect_items:
            zh = [marker for marker in YES_NO_MARKERS_ZH if marker in item.label.zh]
            en = [marker for marker in YES_NO_MARKERS_EN if marker in item.label.en.lower()]
            if zh or en:
                yes_no.append(f"{item.code}: {item.label.zh} / {item.label.en} ({', '.join(zh + en)})")
    assert not yes_no, "yes/no phrasing on a satisfaction scale:\n" + "\n".join(yes_no)


def test_each_domain_stays_short():
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    for domain, questionnaire in questionnaires.domains.items():
        assert len(questionnaire.aspect_items) <= 7, domain


def test_cli_check_reports_plan_problems_like_questionnaire_problems(copy):
    from click.testing import CliRunner

    path = copy / "plan.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("lead_units: [区医保局]", "lead_units: [区医疗保障局]", 1), encoding="utf-8")
    line = text.splitlines().index("  - number: 14") + 1
    result = CliRunner().invoke(main, ["questionnaires", "check", str(copy)])
    assert result.exit_code == 2
    assert f"plan.yaml:{line} [task 14]: lead_units: '区医疗保障局' is not in 'units'" in result.output
    assert "add it there or correct the name" in result.output


def test_services_list_gives_examples_where_the_name_does_not_say(client):
    from tests.survey.respond_support import make_wave, start

    token = make_wave(client.application)
    services = client.get(start(client, token)).get_data(as_text=True)
    assert "<span>公用事业（水电气、环卫、公厕、公园）</span>" in services
    assert "<span>公共就业（招聘会、职业培训、就业登记）</span>" in services
    assert "<span>医疗服务</span>" in services  # a name that says what it covers stays as it is
    assert "每项约1分钟，全部约需2至4分钟" in services
    questionnaires = load_questionnaires(QUESTIONNAIRES)
    assert questionnaires.domains["utilities"].title.zh == "公用事业"  # results and reports keep the short name


def test_the_monitoring_words_are_a_scale_with_the_same_codes(copy):
    """A wave can ask in the national monitoring's words (满意 … 不满意, 不了解); the stored codes
    and what scoring reads are those of the standard scale, so waves stay comparable."""
    from scoring.data import Instrument

    path = copy / "healthcare.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("    kind: likert\n", "    kind: likert\n    scale: satisfaction_monitoring\n"), "utf-8"
    )
    standard, monitoring = load_questionnaires(QUESTIONNAIRES), load_questionnaires(copy)

    scale = monitoring.scales["satisfaction_monitoring"]
    assert [point.label.zh for point in scale.points] == ["不满意", "较不满意", "一般", "较满意", "满意"]
    assert [point.value for point in scale.points] == ["1", "2", "3", "4", "5"]
    assert scale.not_applicable.zh == "不了解"
    asked = [item for item in monitoring.domains["healthcare"].items if item.kind == "likert"]
    assert asked and all(item.scale == "satisfaction_monitoring" for item in asked)
    assert (
        Instrument.from_questionnaires(monitoring).scale_lengths
        == Instrument.from_questionnaires(standard).scale_lengths
    )
