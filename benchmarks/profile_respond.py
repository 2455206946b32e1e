"""CPU per resident request, in-process (Flask test client, SQLite, no HTTP server, no
rate limiting): the cost the app itself adds to a page GET and POST.

    .venv/bin/python benchmarks/profile_respond.py            # 20 surveys, mean CPU ms
    .venv/bin/python benchmarks/profile_respond.py --surveys 50 --profile

``--profile`` prints where the time goes (cProfile, cumulative, resident code paths).
Prints figures only; never fails a test run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surveys", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="manyi-profile-")
    os.environ["MANYI_INSTANCE_PATH"] = instance
    from survey import create_app
    from survey.services.setup import initialise
    from tests.survey.respond_support import fill_all, location, make_wave, only_form, start

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{instance}/profile.sqlite3", "SECRET_KEY": "profile", "RATELIMIT_ENABLED": False}
    )
    with app.app_context():
        initialise(app)
    token = make_wave(app)

    def one_survey(timings: dict[str, list[float]]) -> None:
        client = app.test_client()
        path = start(client, token)
        while not path.endswith("/thanks"):
            began = time.process_time()
            page = client.get(path)
            timings["GET"].append(time.process_time() - began)
            form = only_form(page.get_data(as_text=True))
            data = fill_all(form)
            if path.endswith("/services"):
                data["services_used"] = ["healthcare", "transport", "education"]
            began = time.process_time()
            sent = client.post(form.action, data=form.data(data))
            timings["POST"].append(time.process_time() - began)
            if sent.status_code != 303:
                raise SystemExit(f"{form.action}: expected 303, got {sent.status_code}")
            path = location(sent)
        client.get(path)

    for _ in range(3):  # warm caches (pinned questionnaires, form classes, templates)
        one_survey({"GET": [], "POST": []})
    timings: dict[str, list[float]] = {"GET": [], "POST": []}
    profile = cProfile.Profile() if options.profile else None
    if profile:
        profile.enable()
    for _ in range(options.surveys):
        one_survey(timings)
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(
            r"wsgi_app|render_template|read_visit|orm/session.py.*\(commit\)|process_response|issue_key|save_page|"
            r"claim_key|submit|page_form_class_for|form.py.*\(validate\)"
        )
    for kind, values in timings.items():
        print(
            f"{kind}: {len(values)} requests, mean CPU {1000 * sum(values) / len(values):.2f} ms (client time excluded)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
