"""Many residents at once, on SQLite and PostgreSQL: every acknowledged response is stored
exactly once, and racing repeats of one key store nothing twice.

Threads send through Flask's test client (one client, i.e. one phone, per thread) and
start together at a barrier; the assertions are about what the database holds, never
about how long anything took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from survey.db import get_session
from survey.models import AnswerSet, Response, SubmissionKey
from tests.survey.respond_support import fill_all, location, make_wave, only_form, responses, send_page, start

THREADS = 50


def _many_phones_one_address(app) -> None:
    """Every test-client thread comes from 127.0.0.1: lift the per-address limits that
    would otherwise (rightly) throttle and flag them."""
    app.config["RESPOND_RATE_LIMIT"] = "100000 per minute"
    app.config["RESPOND_IP_BURST_PER_HOUR"] = 100000


def _at_final_page(client, token: str) -> tuple[str, dict]:
    path = start(client, token)
    while not path.endswith("/final"):
        path = location(send_page(client, path))
    form = only_form(client.get(path).get_data(as_text=True))
    return form.action, form.data(fill_all(form))


def _run_together(work: list[Callable[[], object]]) -> list[object]:
    """Run each callable in its own thread, all released at once; re-raise any error."""
    barrier = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work[index]()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _twin(app, client):
    """A second client with the same cookies: the same phone sending twice."""
    twin = app.test_client()
    twin._cookies.update(client._cookies)
    return twin


def test_fifty_phones_submitting_at_once_are_each_stored_exactly_once(app):
    _many_phones_one_address(app)
    token = make_wave(app)
    clients = [app.test_client() for _ in range(THREADS)]
    prepared = [_at_final_page(client, token) for client in clients]

    def submit(client, action: str, data: dict) -> tuple[int, str, int, str]:
        first = client.post(action, data=data)
        retry = client.post(action, data=data)  # the browser retries on a flaky network
        return first.status_code, location(first), retry.status_code, location(retry)

    results = _run_together(
        [
            (lambda client=client, action=action, data=data: submit(client, action, data))
            for client, (action, data) in zip(clients, prepared)
        ]
    )
    thanks = f"/s/{token}/thanks"
    assert all(result == (303, thanks, 303, thanks) for result in results), results

    stored = responses(app)
    assert len(stored) == THREADS
    assert all(response.state == "submitted" and response.flags == "" for response in stored)
    assert len({response.uid for response in stored}) == THREADS
    with app.app_context():
        session = get_session()
        per_response = session.execute(
            select(AnswerSet.response_id, func.count()).group_by(AnswerSet.response_id)
        ).all()
        assert len(per_response) == THREADS and {n for _, n in per_response} == {2}  # healthcare + common
        unused_final = session.scalar(
            select(func.count())
            .select_from(SubmissionKey)
            .where(SubmissionKey.page == "final", SubmissionKey.used_at.is_(None))
        )
        assert unused_final == 0


def test_racing_repeats_of_one_key_submit_each_response_once(app):
    _many_phones_one_address(app)
    token = make_wave(app)
    pairs = []
    for _ in range(THREADS // 2):
        client = app.test_client()
        action, data = _at_final_page(client, token)
        pairs.append((client, _twin(app, client), action, data))
    work = []
    for client, twin, action, data in pairs:
        work.append(lambda c=client, a=action, d=data: c.post(a, data=d))
        work.append(lambda c=twin, a=action, d=data: c.post(a, data=d))
    results = _run_together(work)
    assert {(r.status_code, location(r)) for r in results} == {(303, f"/s/{token}/thanks")}

    stored = responses(app)
    assert len(stored) == THREADS // 2
    assert all(response.state == "submitted" for response in stored)
    assert all(response.flags == "" for response in stored)  # one response each: no duplicate flag
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(AnswerSet)) == THREADS  # 2 per response


def test_racing_start_taps_create_one_draft_each(app):
    _many_phones_one_address(app)
    token = make_wave(app)
    work = []
    for _ in range(THREADS // 2):
        client = app.test_client()
        form = only_form(client.get(f"/s/{token}").get_data(as_text=True))
        twin = _twin(app, client)
        data = form.data()
        work.append(lambda c=client, d=data, a=form.action: c.post(a, data=d))
        work.append(lambda c=twin, d=data, a=form.action: c.post(a, data=d))
    results = _run_together(work)
    assert {(r.status_code, location(r)) for r in results} == {(303, f"/s/{token}/services")}
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Response)) == THREADS // 2
