"""Publication: the scoring run frozen as an immutable revision; re-publishing needs a
reason; earlier revisions stay; comments never published; screen and command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.cli import main
from survey.db import get_session
from survey.models import Publication, PublicationFile, Response
from survey.services.publication import (
    PublicationError,
    PublishOptions,
    ScoringRun,
    get_publication,
    public_results,
    publish_run,
    publish_wave,
    revisions,
)
from survey.services.waves import get_wave
from tests.conftest import QUESTIONNAIRES, snapshot
from tests.survey.admin_support import audit_events, english, make_wave, post, signed_in, synthetic_wave
from tests.survey.jobs_support import job_id_of, run_jobs

COMMENT = "隔壁王阿姨电话13800000000说医院排队太久"
MARGINS = Path(QUESTIONNAIRES) / "margins" / "jingzhou-2025-illustrative.csv"
BENCHMARKS = tuple(sorted((Path(QUESTIONNAIRES) / "benchmarks").glob("*.csv")))


def fake_run(index: float = 80.0, *, suppressed: bool = True) -> ScoringRun:
    """A small run in the results contract, for the rules that do not need the engine."""
    results = {
        "overall": {
            "index": index,
            "se": 1.0,
            "ci_low": index - 2,
            "ci_high": index + 2,
            "df": 40,
            "n": 500,
            "satisfied_rate": {"estimate": 0.8, "se": 0.02, "ci_low": 0.76, "ci_high": 0.84},
        },
        "domains": {
            "healthcare": {
                "index": 78.0,
                "se": 1.2,
                "ci_low": 75.6,
                "ci_high": 80.4,
                "n": 300,
                "deff": 1.2,
                "alpha": 0.8,
                "satisfied_rate": {"estimate": 0.7, "se": 0.03, "ci_low": 0.64, "ci_high": 0.76},
            }
        },
        "target": {
            "metric": "index",
            "value": 85,
            "estimate": index,
            "statistic": -5.0,
            "p_value": 1.0,
            "verdict": "not_met",
        },
        "subgroups": {
            "town": {
                "xicheng": {
                    "overall": {
                        "index": 81.0,
                        "se": 2.0,
                        "ci_low": 77.1,
                        "ci_high": 84.9,
                        "n": 120,
                        "cv": 0.02,
                        "suppressed": False,
                    },
                    "healthcare": {"index": 60.0, "se": 9.0, "n": 12, "cv": 0.15, "suppressed": suppressed},
                }
            }
        },
        "report": {"wave": "2025", "illustrative": True},
    }
    return ScoringRun(
        results_json=json.dumps(results, ensure_ascii=False),
        files={"report.pdf": b"%PDF-1.7 fake", "tables/domains.csv": "领域,满意度指数\n医疗服务,78.0\n".encode()},
        config={"margins": None},
        input_hashes={"responses": "0" * 64},
    )


def set_settings(app, code: str = "2025", **changes) -> None:
    """Store wave ``code``'s analysis settings (as the settings screen or command does)."""
    from survey.services.settings import SettingsChanges, benchmarks_input, change_wave_settings, margins_input

    if changes.pop("with_margins", False):
        changes["margins"] = margins_input(MARGINS.name, MARGINS.read_bytes())
    if changes.pop("with_benchmarks", False):
        changes["benchmarks"] = benchmarks_input([(path.name, path.read_bytes()) for path in BENCHMARKS])
    with app.app_context():
        session = get_session()
        change_wave_settings(session, get_wave(session, code), SettingsChanges(**changes), actor="statistician-x")
        session.commit()


def _publish_fake(app, reason: str = "", index: float = 80.0) -> int:
    with app.test_request_context():
        session = get_session()
        publication = publish_run(
            session, get_wave(session, "2025"), fake_run(index), actor="publisher-x", reason=reason
        )
        session.commit()
        return publication.revision


def test_republishing_needs_a_reason_and_keeps_earlier_revisions(app):
    make_wave(app)
    assert _publish_fake(app) == 1
    with pytest.raises(PublicationError, match="re-publishing needs a reason"):
        _publish_fake(app, index=81.0)
    assert _publish_fake(app, reason="corrected the town margins", index=81.0) == 2
    with app.app_context():
        session = get_session()
        first, second = get_publication(session, "2025", 1), get_publication(session, "2025")
        assert second.revision == 2 and second.reason == "corrected the town margins"
        assert json.loads(first.results_json)["overall"]["index"] == 80.0
        assert [publication.revision for publication in revisions(session, get_wave(session, "2025"))] == [2, 1]
    assert [event.target for event in audit_events(app, "publication")] == [
        "wave 2025 revision 1",
        "wave 2025 revision 2",
    ]


def test_published_rows_are_immutable(app):
    make_wave(app)
    _publish_fake(app)
    with app.app_context():
        session = get_session()
        publication = get_publication(session, "2025")
        publication.reason = "silently changed"
        with pytest.raises(PublicationError, match="immutable"):
            session.flush()
        session.rollback()
        stored = session.scalar(select(PublicationFile).where(PublicationFile.name == "report.pdf"))
        stored.data = b"tampered"
        with pytest.raises(PublicationError, match="immutable"):
            session.flush()
        session.rollback()
        session.delete(get_publication(session, "2025"))
        with pytest.raises(PublicationError, match="never deleted"):
            session.flush()
        session.rollback()
        assert get_publication(session, "2025").reason == ""


def test_public_results_withhold_suppressed_cells():
    results = json.loads(fake_run().results_json)
    public = public_results(results)
    assert public["subgroups"]["town"]["xicheng"]["healthcare"] == {
        "index": None,
        "se": None,
        "n": 12,
        "cv": None,
        "suppressed": True,
    }
    assert public["subgroups"]["town"]["xicheng"]["overall"]["index"] == 81.0
    assert results["subgroups"]["town"]["xicheng"]["healthcare"]["index"] == 60.0  # the frozen original is untouched
    results["domains"]["healthcare"]["alpha"] = float("nan")
    assert public_results(results)["domains"]["healthcare"]["alpha"] is None  # valid JSON: null, never NaN


def test_publish_wave_freezes_the_scoring_run(app, monkeypatch, rendering_stand_in):
    """The real pipeline: results.json verbatim, the report's files, config and hashes;
    a resident's comment appears nowhere in what is published.  Web → services → scoring
    in memory: no temporary file or folder passes data between them (openpyxl's own
    scratch file while zipping the workbook aside), and no server path is published.  The
    charts are stand-ins here: that drawing them writes no file either is
    tests/scoring/test_report.py::test_build_report_writes_nothing."""
    import builtins
    import os
    import tempfile

    synthetic_wave(app, responses=500, seed=3)
    set_settings(app, with_margins=True, with_benchmarks=True, illustrative=True)
    with app.app_context():
        session = get_session()
        first = session.scalars(select(Response).order_by(Response.id)).first()
        first.comment = COMMENT
        session.commit()

    written = []
    real_open = builtins.open

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            written.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def no_temporary(*args, **kwargs):
        raise AssertionError("publishing made a temporary file or folder")

    with app.test_request_context():
        session = get_session()
        wave = get_wave(session, "2025")
        with monkeypatch.context() as patch:
            patch.setattr(builtins, "open", watching_open)
            for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "TemporaryFile"):
                patch.setattr(tempfile, name, no_temporary)
            publication = publish_wave(
                session,
                wave,
                actor="publisher-x",
                options=PublishOptions(pdf=False),
            )
        session.commit()
        results = json.loads(publication.results_json)
        names = {stored.name for stored in publication.files}
        blobs = [stored.data for stored in publication.files]
        config, hashes = publication.config, publication.input_hashes
    assert [path for path in written if not os.path.basename(path).startswith("openpyxl.")] == []
    assert results["overall"]["n"] > 400 and 0 < results["overall"]["index"] < 100
    assert (
        results["report"]["illustrative"] is True and results["rankings"] is not None and results["drivers"] is not None
    )
    assert results["report"]["wave"] == "2025" and results["report"]["year"] == 2025
    assert {"tables.xlsx", "report.html", "tables/domains.csv", "charts/domain_index.png"} <= names
    assert "results.json" not in names  # kept verbatim in the publication row itself
    assert config["margins"] == MARGINS.name and config["comments"] == "excluded"
    # The settings object the run used is stored, and it is what results.json records.
    assert config["settings"] == results["settings"]["analysis"] and config["settings_stored"] is True
    assert config["settings"]["strata"] == "point_town" and config["settings"]["lonely_psu"] == "adjust"
    assert config["settings"]["assumed_se"] == 1.0 and config["year"] == 2025
    with app.app_context():
        from survey.services.settings import wave_settings

        session = get_session()
        assert config["settings"] == wave_settings(session, get_wave(session, "2025")).settings.to_dict()
    assert results["settings"]["wave"] == {**results["settings"]["wave"], "stored": True, "differences": []}
    assert len(hashes["responses"]) == 64 and f"margins/{MARGINS.name}" in hashes and "questionnaire/common" in hashes
    assert not any(name.startswith("/") or ":\\" in name for name in results["inputs"])  # no server paths
    assert f"margins/{MARGINS.name}" in results["inputs"]
    for text in [publication.results_json, *(blob.decode("utf-8", "ignore") for blob in blobs)]:
        assert COMMENT not in text and "13800000000" not in text
        assert str(MARGINS.parent) not in text


def _publish_2024_collect_2025(app) -> None:
    synthetic_wave(app, "2024", responses=300, seed=6)
    with app.test_request_context():
        session = get_session()
        publish_wave(session, get_wave(session, "2024"), actor="x", options=PublishOptions(pdf=False))
        session.commit()
    synthetic_wave(app, "2025", responses=300, seed=8)


@pytest.fixture
def second_wave_app(app, request, rendering_stand_in):
    """Wave 2024 published, wave 2025 collected (300 synthetic responses each): made once
    per test run and database kind (tests/conftest.py ``snapshot``)."""
    snapshot(app, request, "second-wave", _publish_2024_collect_2025)
    return app


def test_a_second_wave_compares_with_the_published_first_as_a_value(second_wave_app):
    """The earlier publication's results go into the report as a value: the trend and the
    change name its wave, and its hash is recorded — no file of it is written anywhere."""
    app = second_wave_app
    with app.app_context():
        session = get_session()
        stored = json.loads(get_publication(session, "2024").results_json)
        assert stored["report"] == {**stored["report"], "wave": "2024", "year": 2024}  # collected in 2024
    with app.test_request_context():
        session = get_session()
        publication = publish_wave(session, get_wave(session, "2025"), actor="x", options=PublishOptions(pdf=False))
        session.commit()
        results = json.loads(publication.results_json)
        config, hashes = publication.config, publication.input_hashes
    assert config["previous"] == ["2024"] and len(hashes["previous/2024"]) == 64
    assert [point["wave"] for point in results["trend"]] == ["2024", "2025"]
    assert results["change"]["previous"] == "2024" and results["change"]["comparable"] is True
    assert results["report"]["previous"] == ["2024"]


def test_settings_that_differ_from_the_previous_publication_are_flagged(second_wave_app):
    """Publishing goes ahead when the previous wave was scored otherwise: the change says
    it is not comparable and names the difference; the screen says so beforehand."""
    from survey.services.publication import settings_change

    app = second_wave_app
    set_settings(app, mapping="monitoring")
    with app.app_context():
        session = get_session()
        code, differences = settings_change(session, get_wave(session, "2025"))
        assert code == "2024" and [difference.setting for difference in differences] == ["mapping"]
    client = english(signed_in(app, "publisher"))
    page = client.get("/admin/waves/2025/publication").get_data(as_text=True)
    assert 'id="settings-differ"' in page and "scale mapping" in page and "not comparable" in page
    with app.test_request_context():
        session = get_session()
        publication = publish_wave(session, get_wave(session, "2025"), actor="x", options=PublishOptions(pdf=False))
        session.commit()
        results = json.loads(publication.results_json)
    assert results["change"]["comparable"] is False
    assert "mapping" in json.dumps(results["change"]["differences"], ensure_ascii=False)


def test_publishing_a_wave_without_responses_is_refused(app):
    make_wave(app)
    with app.test_request_context():
        session = get_session()
        with pytest.raises(PublicationError, match="nothing was published"):
            publish_wave(session, get_wave(session, "2025"), actor="x", options=PublishOptions(pdf=False))
        session.rollback()
        assert session.scalar(select(Publication)) is None


def test_publish_screen(app, rendering_stand_in):
    synthetic_wave(app, responses=400, seed=5)
    client = english(signed_in(app, "publisher"))
    page = client.get("/admin/waves/2025/publication").get_data(as_text=True)
    assert "No settings are stored for this wave" in page
    set_settings(app, with_margins=True, with_benchmarks=True)
    page = client.get("/admin/waves/2025/publication")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # The publish screen shows the wave's settings (a publisher cannot change them here).
    assert "jingzhou-2025-illustrative.csv" in text and "national-published.csv" in text
    assert "a statistician sets them on the settings screen" in text and 'name="margins"' not in text
    unconfirmed = post(client, "/admin/waves/2025/publish", {}, page="/admin/waves/2025/publication")
    assert unconfirmed.status_code == 400
    done = post(client, "/admin/waves/2025/publish", {"confirm": "y"}, page="/admin/waves/2025/publication")
    job_id = job_id_of(done)  # the request queued a job; a worker publishes
    with app.app_context():
        assert get_session().scalar(select(Publication)) is None
    assert run_jobs(app) == 1
    assert "Revision 1 is published" in client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    again = post(client, "/admin/waves/2025/publish", {"confirm": "y"}, page="/admin/waves/2025/publication")
    assert again.status_code == 400 and "re-publishing needs a reason" in again.get_data(as_text=True)
    with app.app_context():
        publication = get_publication(get_session(), "2025")
        assert publication.revision == 1 and publication.published_by == "publisher-user"
        assert any(stored.name == "report.pdf" for stored in publication.files)
    [event] = audit_events(app, "publication")
    assert event.username == "publisher-user"


def test_statistician_previews_without_publishing(app, rendering_stand_in):
    synthetic_wave(app, responses=400, seed=4)
    client = english(signed_in(app, "statistician"))
    page = client.get("/admin/waves/2025/publication").get_data(as_text=True)
    assert "Preview the results" in page and "/admin/waves/2025/publish" not in page
    assert "/admin/waves/2025/settings" in page  # a statistician changes the settings there
    preview = post(client, "/admin/waves/2025/preview", {}, page="/admin/waves/2025/publication")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert 'id="preview-index"' in text and "Medical services" in text
    with app.app_context():
        assert get_session().scalar(select(Publication)) is None
    no_token = client.post("/admin/waves/2025/preview", data={})
    assert no_token.status_code == 400


def test_publish_command(app, rendering_stand_in):
    synthetic_wave(app, responses=400, seed=9)
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["publish", "2025", "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "no analysis settings stored; the defaults apply" in result.output
    assert "revision 1" in result.output and "http://localhost/results/2025" in result.output
    with app.app_context():
        config = get_publication(get_session(), "2025").config
        assert config["settings_stored"] is False and config["settings"]["lonely_psu"] == "adjust"
    again = runner.invoke(main, ["publish", "2025", "--no-pdf"])
    assert again.exit_code == 2 and "re-publishing needs a reason" in again.output
    missing = runner.invoke(main, ["publish", "1999"])
    assert missing.exit_code == 2 and "no wave '1999'" in missing.output
    with app.app_context():
        assert get_publication(get_session(), "2025").revision == 1
    [event] = audit_events(app, "publication")
    assert event.username.startswith("cli:")
