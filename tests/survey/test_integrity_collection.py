"""Collection-side integrity signals (issue 15; issue 12, medium 6): address bursts are
counted per keyed address across the whole wave, not per point."""

from __future__ import annotations

from scoring.data import validate_responses
from survey.adapter import PARADATA_COLUMNS, wave_responses_frame
from survey.cli import main
from survey.db import get_session
from survey.services import waves
from survey.services.questionnaires import wave_questionnaires
from tests.survey.admin_support import synthetic_wave
from tests.survey.respond_support import complete, make_wave, responses


def test_one_address_spreading_a_burst_over_three_points_is_flagged(app):
    # Issue 12, medium 6: one address, no cookies, 19 surveys at each of 3 points → 57
    # responses, none flagged.  Scaled down: a limit of 4 per hour, 3 surveys at each of 3
    # points — no point alone reaches the limit, the address does.
    app.config["RESPOND_IP_BURST_PER_HOUR"] = 4
    tokens = [make_wave(app, point_code=code) for code in ("hosp-01", "hosp-02", "hosp-03")]
    for token in tokens:
        for _ in range(3):
            complete(app.test_client(), token)  # a fresh client: no browser cookie
    stored = responses(app)
    assert [r.state for r in stored] == ["submitted"] * 9
    assert len({r.point_id for r in stored}) == 3
    assert len({r.ip_hash for r in stored}) == 1
    assert [r.flags for r in stored] == [""] * 4 + ["ip_burst"] * 5


def test_the_scoring_frame_carries_keyed_hashes_of_address_and_browser_only(app):
    token = make_wave(app)
    complete(app.test_client(), token)
    complete(app.test_client(), token)
    with app.app_context():
        session = get_session()
        wave = waves.find_wave(session, "2025")
        plain = wave_responses_frame(session, wave, design_columns=True)
        frame = wave_responses_frame(session, wave, design_columns=True, paradata=True)
        questionnaires = wave_questionnaires(wave)
    assert not set(PARADATA_COLUMNS) & set(plain.columns)
    assert list(frame.columns[-2:]) == ["ip_hash", "browser_hash"]
    assert frame["ip_hash"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert frame["ip_hash"].nunique() == 1  # both from the test client's address
    assert frame["browser_hash"].nunique() == 2  # two phones
    assert "127.0.0.1" not in frame.to_csv(index=False)
    responses = validate_responses(frame, questionnaires)
    assert {"ip_hash", "browser_hash"} <= set(responses.frame.columns)


def test_manyi_integrity_prints_the_review_of_a_wave(app):
    synthetic_wave(app, responses=600, seed=11)
    result = app.test_cli_runner().invoke(main, ["integrity", "2025"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("wave 2025\nIntegrity checks (false-discovery rate 0.05")
    assert "Points tested: " in result.output and "Addresses tested: " in result.output


def test_manyi_integrity_refuses_an_unknown_wave_and_a_wave_without_responses(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(main, ["integrity", "1999"])
    assert unknown.exit_code == 2 and "no wave '1999'" in unknown.output
    make_wave(app)
    empty = runner.invoke(main, ["integrity", "2025"])
    assert empty.exit_code == 2 and "has no submitted responses yet" in empty.output
