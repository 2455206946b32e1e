"""Collection-side integrity signals (issue 15; issue 12, medium 6): address bursts are
counted per keyed address across the whole wave, not per point."""

from __future__ import annotations

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
