"""The office's side of the integrity review (issue 15): exclusion decisions (service, CLI,
screen), the integrity page of a wave with a planted coached point, and the decisions
reaching the publication and the public page."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from survey.cli import main
from survey.db import get_session
from survey.models import IntegrityDecision
from survey.services import integrity
from survey.services.integrity import DecisionError
from survey.services.waves import add_point, create_wave, get_wave, set_wave_state
from tests.conftest import snapshot
from tests.survey.admin_support import audit_events, english, make_wave, post, signed_in, synthetic_wave
from tests.survey.respond_support import complete
from tests.survey.respond_support import make_wave as make_resident_wave

REASON = "督导现场核实：工作人员向居民提供了“标准答案”"


def decision_count(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(IntegrityDecision)) or 0


def integrity_events(app) -> list:
    return [event for event in audit_events(app) if event.action.startswith("integrity.")]


def planted_wave(app, code: str = "2025", *, responses: int = 1500, seed: int = 2) -> str:
    """A synthetic wave with one coached point (40 residents coached toward 满意/非常满意);
    returns the coached point's code."""
    from scoring.synthetic import IntegrityPlants, draw_sample, make_population
    from survey.services.questionnaires import build_questionnaire_set
    from survey.services.setup import store_synthetic_responses

    with app.app_context():
        session = get_session()
        wave = create_wave(session, code)
        set_wave_state(session, wave, "open")
        questionnaires = build_questionnaire_set({link.questionnaire_id: link.version for link in wave.questionnaires})
        population = make_population(questionnaires, seed=seed)
        plants = IntegrityPlants(random_coached_points=1, coached_responses=40)
        sample = draw_sample(population, responses, seed=seed + 1, wave=code, integrity=plants)
        frame = sample.responses
        used = set(frame["point"].dropna().unique())
        for point in population.points.itertuples(index=False):
            if point.code in used:
                focus = point.focus_domain if isinstance(point.focus_domain, str) and point.focus_domain else None
                add_point(session, wave, code=point.code, town=point.town, place=point.place, focus_domain=focus)
        session.flush()
        session.refresh(wave)
        store_synthetic_responses(session, get_wave(session, code), frame)
        session.commit()
        (coached,) = sample.integrity.coached_points
        return coached


# --------------------------------------------------------------------------- the service


def test_an_exclusion_is_stored_audited_and_withdrawn_keeping_its_history(app):
    make_wave(app)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        decision = integrity.exclude(
            session, wave, kind="point", target=" hosp-01 ", reason=f"  {REASON} ", actor="cli:test"
        )
        session.commit()
        assert (decision.kind, decision.target, decision.reason, decision.decided_by) == (
            "point",
            "hosp-01",
            REASON,
            "cli:test",
        )
        (exclusion,) = integrity.wave_exclusions(session, wave)
        assert (exclusion.kind, exclusion.target, exclusion.reason) == ("point", "hosp-01", REASON)
        assert exclusion.decided_at.endswith("+00:00")
        integrity.withdraw(session, wave, decision.id, reason="复核后确认问卷真实", actor="cli:test")
        session.commit()
        assert integrity.active_decisions(session, wave) == []
        assert integrity.wave_exclusions(session, wave) == ()
        (kept,) = integrity.decision_history(session, wave)
        assert kept.withdrawn_at is not None and kept.withdrawal_reason == "复核后确认问卷真实"
    excluded, withdrawn = audit_events(app, "integrity.exclude"), audit_events(app, "integrity.withdraw")
    assert [e.target for e in excluded] == ["wave 2025 point hosp-01"]
    assert excluded[0].detail["reason"] == REASON and excluded[0].username == "cli:test"
    assert [e.target for e in withdrawn] == ["wave 2025 point hosp-01"]


@pytest.mark.parametrize(
    ("kind", "target", "reason", "field", "words"),
    [
        ("point", "nope-99", REASON, "target", "has no collection point 'nope-99'"),
        ("point", "hosp-01", "   ", "reason", "needs a reason"),
        ("point", "hosp-01", "理" * 501, "reason", "501 characters"),
        ("town", "hosp-01", REASON, "kind", "kind must be one of point, address"),
        ("address", "not-hex", REASON, "target", "at least the first 12 hex digits"),
        ("address", "0123456789ab", REASON, "target", "no response of wave 2025 came from address"),
    ],
)
def test_a_bad_decision_is_refused_with_what_to_fix_and_nothing_stored(app, kind, target, reason, field, words):
    make_wave(app)
    with app.app_context():
        session = get_session()
        with pytest.raises(DecisionError) as error:
            integrity.exclude(session, get_wave(session, "2025"), kind=kind, target=target, reason=reason, actor="t")
        session.rollback()
    assert error.value.field == field and words in str(error.value)
    assert decision_count(app) == 0 and audit_events(app, "integrity.exclude") == []


def test_a_point_cannot_be_excluded_twice_nor_a_decision_withdrawn_twice(app):
    make_wave(app)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        decision = integrity.exclude(session, wave, kind="point", target="hosp-01", reason=REASON, actor="t")
        with pytest.raises(DecisionError, match="already excluded"):
            integrity.exclude(session, wave, kind="point", target="hosp-01", reason=REASON, actor="t")
        integrity.withdraw(session, wave, decision.id, reason="复核", actor="t")
        with pytest.raises(DecisionError, match="already withdrawn"):
            integrity.withdraw(session, wave, decision.id, reason="复核", actor="t")
        with pytest.raises(DecisionError, match="no exclusion decision 999"):
            integrity.withdraw(session, wave, 999, reason="复核", actor="t")


def test_an_address_is_excluded_by_the_digits_the_review_shows_and_stored_whole(app):
    token = make_resident_wave(app)
    complete(app.test_client(), token)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        full = session.scalar(select(func.min(IntegrityDecision.target)))  # none yet
        assert full is None
        from survey.models import Response

        ip_hash = session.scalar(select(Response.ip_hash))
        decision = integrity.exclude(
            session, wave, kind="address", target=ip_hash[:12].upper(), reason=REASON, actor="t"
        )
        session.commit()
        assert decision.target == ip_hash
        (exclusion,) = integrity.wave_exclusions(session, wave)
        assert exclusion.kind == "address" and exclusion.target == ip_hash
    (event,) = audit_events(app, "integrity.exclude")
    assert event.target == f"wave 2025 address {ip_hash[:12]}" and ip_hash not in json.dumps(event.detail)


# --------------------------------------------------------------------------- the command line


def test_manyi_integrity_records_lists_and_withdraws_decisions(app):
    make_wave(app)
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["integrity", "2025", "--exclude-point", "hosp-01", "--reason", REASON])
    assert result.exit_code == 0, result.output
    assert "recorded decision 1" in result.output and REASON in result.output
    listed = runner.invoke(main, ["integrity", "2025", "--decisions"])
    assert listed.exit_code == 0 and "1: point hosp-01" in listed.output and "(Beijing time)" in listed.output
    withdrawn = runner.invoke(main, ["integrity", "2025", "--withdraw", "1", "--reason", "复核后保留"])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "withdrawn" in runner.invoke(main, ["integrity", "2025", "--decisions"]).output
    assert [e.username.startswith("cli:") for e in integrity_events(app)] == [True, True]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["--exclude-point", "nope-99", "--reason", REASON], "has no collection point 'nope-99'"),
        (["--exclude-point", "hosp-01"], "needs a reason"),
        (["--exclude-point", "hosp-01", "--reason", "  "], "needs a reason"),
        (["--exclude-point", "hosp-01", "--reason", "x" * 501], "keep it to 500"),
        (["--exclude-address", "zz", "--reason", REASON], "hex digits"),
        (["--withdraw", "7", "--reason", REASON], "no exclusion decision 7"),
        (["--withdraw", "seven", "--reason", REASON], "not a decision number"),
        (["--exclude-point", "hosp-01", "--withdraw", "1", "--reason", REASON], "one of"),
        (["--reason", REASON], "--reason goes with"),
    ],
)
def test_manyi_integrity_refuses_a_bad_decision_with_exit_2_and_stores_nothing(app, arguments, words):
    make_wave(app)
    result = app.test_cli_runner().invoke(main, ["integrity", "2025", *arguments])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert decision_count(app) == 0 and integrity_events(app) == []


# --------------------------------------------------------------------------- the office's page


def test_every_office_role_sees_the_page_and_only_statisticians_and_admins_decide(app):
    make_wave(app)
    publisher = signed_in(app, "publisher")
    page = publisher.get("/admin/waves/2025/integrity")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "没有问卷提交" in text or "尚无" in text  # no responses yet, said in Chinese
    refused = post(publisher, "/admin/waves/2025/integrity/exclude", {"target": "point:hosp-01", "reason": REASON})
    assert refused.status_code == 403 and decision_count(app) == 0
    statistician = signed_in(app, "statistician")
    page_url = "/admin/waves/2025/integrity"
    missing = post(statistician, "/admin/waves/2025/integrity/exclude", {"target": "point:hosp-01"}, page=page_url)
    assert missing.status_code == 400 and decision_count(app) == 0
    assert "请说明理由" in missing.get_data(as_text=True)
    wrong = post(
        statistician, "/admin/waves/2025/integrity/exclude", {"target": "point:nope", "reason": REASON}, page=page_url
    )
    assert wrong.status_code == 400 and decision_count(app) == 0
    done = post(
        statistician,
        "/admin/waves/2025/integrity/exclude",
        {"target": "point:hosp-01", "reason": REASON},
        page=page_url,
    )
    assert done.status_code == 303 and decision_count(app) == 1
    history = statistician.get(page_url).get_data(as_text=True)
    assert (
        REASON in history
        and "区人民医院门诊大厅" in history
        and "hosp-01" not in history.split("<main", 1)[1].split("<select", 1)[0]
    )
    refused = post(publisher, "/admin/waves/2025/integrity/withdraw", {"decision": "1", "reason": "x"}, page=page_url)
    assert refused.status_code == 403
    withdrawn = post(
        statistician, "/admin/waves/2025/integrity/withdraw", {"decision": "1", "reason": "复核"}, page=page_url
    )
    assert withdrawn.status_code == 303
    assert [e.action for e in integrity_events(app)] == ["integrity.exclude", "integrity.withdraw"]


def test_a_post_without_the_csrf_token_is_refused(app):
    make_wave(app)
    statistician = signed_in(app, "statistician")
    response = statistician.post(
        "/admin/waves/2025/integrity/exclude", data={"target": "point:hosp-01", "reason": REASON}
    )
    assert response.status_code == 400 and decision_count(app) == 0


def test_the_page_shows_the_planted_coached_point_with_its_evidence_and_charts(app):
    coached = planted_wave(app)
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        review = integrity.review_wave(session, wave)
        assert coached in [finding.point for finding in review.flagged_points]
        point = next(p for p in wave.points if p.code == coached)
        place, town = point.place, point.town.name_zh
    client = signed_in(app, "statistician")
    html = client.get("/admin/waves/2025/integrity").get_data(as_text=True)
    main_part = html.split("<main", 1)[1]
    assert f"{town} · {place}" in main_part
    assert "全部答满意的受访者比例" in main_part  # the evidence, in plain Chinese
    assert "（北京时间）" in main_part or "北京时间" in main_part
    assert main_part.count('<svg viewBox="0 0 330 150"') >= 1 and main_part.count('role="img"') >= 2
    assert "非常满意" in main_part and "以表格查看" in main_part
    assert coached not in main_part.split("<select", 1)[0]  # no point code on the Chinese page
    assert not re.search(r"\b(top_answers|all_positive|burst|night)\b", main_part)
    english_page = english(client).get("/admin/waves/2025/integrity").get_data(as_text=True)
    assert "residents satisfied with everything" in english_page


def test_the_page_says_when_too_few_responses_to_check(app):
    synthetic_wave(app, responses=60, seed=5)
    client = signed_in(app, "admin")
    html = client.get("/admin/waves/2025/integrity").get_data(as_text=True)
    assert "样本太少" in html or "份有效问卷" in html


# --------------------------------------------------------------------------- publication and the public page


@pytest.fixture
def published_with_exclusion(app, request, rendering_stand_in):
    """A planted wave whose coached point the office excluded, then published: made once per
    test run and database kind (tests/conftest.py ``snapshot``).  Returns the coached point,
    the published results and the point's town (Chinese, English)."""
    coached, results, town = snapshot(app, request, "published-with-exclusion", _publish_with_exclusion)
    return coached, results, tuple(town)


def _publish_with_exclusion(app) -> tuple[str, dict, tuple[str, str]]:
    from survey.services.publication import PublishOptions, publish_wave

    coached = planted_wave(app, responses=1200, seed=2)
    result = app.test_cli_runner().invoke(main, ["integrity", "2025", "--exclude-point", coached, "--reason", REASON])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = get_session()
        publication = publish_wave(session, get_wave(session, "2025"), actor="t", options=PublishOptions(pdf=False))
        session.commit()
        with app.app_context():
            point = next(p for p in get_wave(session, "2025").points if p.code == coached)
            town = (point.town.name_zh, point.town.name_en)
        return coached, json.loads(publication.results_json), town


def test_the_publication_carries_the_exclusion_with_its_reason_and_both_headlines(app, published_with_exclusion):
    coached, results, _ = published_with_exclusion
    section = results["integrity"]
    (exclusion,) = section["exclusions"]
    assert (exclusion["kind"], exclusion["target"], exclusion["reason"]) == ("point", coached, REASON)
    assert exclusion["responses"] > 0 and exclusion["flagged"] is True
    assert section["estimate"] == "office_exclusions"
    headline = section["headline"]
    assert headline["all_responses"]["n"] > headline["with_office_exclusions"]["n"]
    assert headline["with_office_exclusions"]["index"]["estimate"] == pytest.approx(results["overall"]["index"])
    assert headline["all_responses"]["index"]["estimate"] > headline["with_office_exclusions"]["index"]["estimate"]
    assert coached in [point["point"] for point in section["flagged_points"]]


def test_manyi_score_passes_the_same_decisions_as_publishing(app, published_with_exclusion, tmp_path):
    _, published, _ = published_with_exclusion
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(main, ["score", "2025", "--out", str(out), "--no-pdf", "--quiet"])
    assert result.exit_code == 0, result.output
    scored = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for key in ("exclusions", "headline", "flagged_points", "estimate", "statement"):
        assert scored["integrity"][key] == published["integrity"][key]
    assert scored["overall"]["index"] == pytest.approx(published["overall"]["index"], rel=1e-12)


def test_the_public_page_states_the_checks_and_the_exclusion_in_chinese_and_english(app, published_with_exclusion):
    coached, results, (town_zh, town_en) = published_with_exclusion
    client = app.test_client()
    page = client.get("/results/2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html.split('id="h-integrity"', 1)[1].split("</section>", 1)[0]
    assert results["integrity"]["statement"]["zh"] in section
    assert REASON in section and f"{town_zh}的一个收集点" in section
    assert "全部答满意的受访者比例" in section and "质量筛查" in section
    assert "按办公室的排除决定（即公布的数字）" in section and "全部通过质量筛查的问卷" in section
    assert coached not in section and not re.search(r"[A-Za-z]{3,}", re.sub(r"<[^>]+>", "", section))
    english_html = english(client).get("/results/2025").get_data(as_text=True)
    english_section = english_html.split('id="h-integrity"', 1)[1].split("</section>", 1)[0]
    assert results["integrity"]["statement"]["en"] in english_section
    assert "a collection point" in english_section and town_en in english_section and REASON in english_section
    assert "with the office's exclusions (the published figure)" in english_section.replace("&#39;", "'")


def test_the_open_data_name_network_addresses_only_by_counts():
    from survey.services.publication import public_results

    results = {
        "overall": {"index": 80.0},
        "integrity": {
            "flagged_addresses": [{"address": "0123456789ab", "responses": 9, "points": 3}],
            "exclusions": [
                {
                    "kind": "address",
                    "target": "0123456789ab",
                    "reason": "同一地址在多个收集点提交雷同问卷",
                    "responses": 9,
                },
                {"kind": "point", "target": "hosp-01", "reason": REASON, "responses": 40},
            ],
        },
    }
    public = public_results(results)
    text = json.dumps(public, ensure_ascii=False)
    assert "0123456789ab" not in text
    assert public["integrity"]["flagged_addresses"][0]["responses"] == 9
    assert [e["target"] for e in public["integrity"]["exclusions"]] == [None, "hosp-01"]
    assert results["integrity"]["exclusions"][0]["target"] == "0123456789ab"  # the frozen results are not changed
