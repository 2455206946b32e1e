"""Issue 14: the ``admin`` account got 403 on the publications.  The role model: the
administrator runs the office and sees every publication; previewing stays with the
statistician and publisher, publishing with the publisher (separation of duties)."""

from __future__ import annotations

from tests.survey.admin_support import make_wave, post, signed_in


def test_the_administrator_sees_publications_but_neither_previews_nor_publishes(app):
    make_wave(app)
    client = signed_in(app, "admin")

    listing = client.get("/admin/publications")
    assert listing.status_code == 200
    page = client.get("/admin/waves/2025/publication")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/admin/waves/2025/preview" not in text and "/admin/waves/2025/publish" not in text
    assert "统计人员或发布人员可以预览结果" in text
    assert 'href="/admin/publications"' in client.get("/admin/").get_data(as_text=True)

    refused = post(client, "/admin/waves/2025/publish", {"reason": "", "confirm": "y"})
    assert refused.status_code == 403
    assert "发布人员" in refused.get_data(as_text=True)


def test_the_publisher_is_told_that_publishing_runs_in_the_background(app):
    make_wave(app)
    client = signed_in(app, "publisher")
    text = client.get("/admin/waves/2025/publication").get_data(as_text=True)
    assert "/admin/waves/2025/publish" in text
    assert "后台" in text and "stay on this page" not in text


def test_the_dashboard_gives_each_wave_its_headline(demo_app):
    """Issue 14: per wave, responses today and in all against the target, and the latest
    published index with its verdict — not a one-row table."""
    import datetime as dt

    from sqlalchemy import func, select

    from scoring.vocabulary import label
    from survey.db import get_session
    from survey.localtime import district_zone
    from survey.models import Response
    from survey.results.view import fmt
    from survey.services.progress import wave_headlines
    from survey.services.waves import get_wave

    app = demo_app
    with app.app_context():
        session = get_session()
        wave = get_wave(session, "2025")
        wave.targets = {**(wave.targets or {}), "total": 3000}
        session.commit()
        last = session.scalar(select(func.max(Response.submitted_at)).where(Response.wave_id == wave.id))
        last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
        now = last + dt.timedelta(minutes=1)
        midnight = now.astimezone(district_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
        today = session.scalar(
            select(func.count()).where(
                Response.wave_id == wave.id, Response.state == "submitted", Response.submitted_at >= midnight
            )
        )
        [row] = [h for h in wave_headlines(session, now=now) if h.wave.code == "2025"]
        assert row.today == today > 0
        assert row.submitted == 1500 and row.target == 3000 and row.share_of_target == 0.5
        assert row.revision >= 1 and row.index is not None and row.verdict

    client = signed_in(app, "statistician")
    text = client.get("/admin/").get_data(as_text=True)
    assert "<table" not in text.split('id="wave-2025"', 1)[1].split("</section>", 1)[0]
    for words in ("今日提交", "累计提交", "1500", "完成目标 3000 份的 50%", "最新发布的总体满意度指数"):
        assert words in text, words
    assert fmt(row.index) in text
    assert label("verdict", row.verdict, "zh") in text
