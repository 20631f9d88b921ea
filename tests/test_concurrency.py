"""Concurrent clients against a real database (a SQLite file here; PostgreSQL when the suite runs
with TEST_DATABASE_URL, as CI does): one link submitted many times at once yields one response;
many links answered at once are all stored whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from assessment import db
from assessment.models import Answer, Invitation, InvitationStatus, Response

from .conftest import count, csrf_token, make_assessment, make_tokens
from .test_survey import answer_page, complete, page_questions, start


def test_one_link_submitted_from_many_devices_at_once_yields_one_response(app) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    complete(app.test_client(), app, token)
    devices = 12
    clients = [app.test_client() for _ in range(devices)]
    tokens = [csrf_token(c, f"/s/{token}/review") for c in clients]
    barrier = threading.Barrier(devices)

    def submit(i: int) -> int:
        barrier.wait()
        return clients[i].post(f"/s/{token}/submit", data={"csrf_token": tokens[i]}).status_code

    with ThreadPoolExecutor(devices) as pool:
        codes = list(pool.map(submit, range(devices)))
    assert sorted(codes) == [302] + [409] * (devices - 1), codes
    with app.app_context():
        submitted = db.session().scalars(
            sa.select(Response).where(Response.submitted_at.is_not(None))).all()
    assert len(submitted) == 1
    assert count(app, Response) == 1


def test_one_link_started_and_saved_from_two_devices_at_once(app) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    clients = [app.test_client() for _ in range(6)]
    tokens = [csrf_token(c, f"/s/{token}") for c in clients]
    barrier = threading.Barrier(len(clients))
    q = page_questions(app, 1)[0]

    def go(i: int) -> tuple[int, int]:
        barrier.wait()
        started = clients[i].post(f"/s/{token}/start", data={"csrf_token": tokens[i]})
        saved = clients[i].post(f"/s/{token}/p/1", data={"csrf_token": tokens[i],
                                                          f"q-{q}": str(1 + i % 5)})
        return started.status_code, saved.status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(go, range(len(clients))))
    assert all(r == (302, 302) for r in results), results
    assert count(app, Response) == 1
    assert count(app, Answer) == 1


def test_many_respondents_at_once_are_all_stored_whole(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    n = 24
    tokens = make_tokens(app, aid, n // 2, team="Sales") + make_tokens(app, aid, n // 2,
                                                                      team="Finance")
    pages = {p: page_questions(app, p) for p in range(1, 6)}
    barrier = threading.Barrier(8)

    def respond(i: int) -> int:
        client = app.test_client()
        token = tokens[i]
        if i < 8:
            barrier.wait()
        start(client, token)
        for p, qs in pages.items():
            answer_page(client, token, p, {q: str(1 + (i + j) % 5) for j, q in enumerate(qs)})
        result = client.post(f"/s/{token}/submit",
                             data={"csrf_token": csrf_token(client, f"/s/{token}/review")})
        return result.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(respond, range(n)))
    assert codes == [302] * n
    total_questions = sum(len(qs) for qs in pages.values())
    with app.app_context():
        session = db.session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Response).where(
            Response.submitted_at.is_not(None))) == n
        assert session.scalar(sa.select(sa.func.count()).select_from(Answer)) == (
            n * total_questions)
        assert session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
            Invitation.status == InvitationStatus.SUBMITTED)) == n
        # Each respondent's answers are theirs: spot-check the pattern they posted.
        per_response = session.execute(
            sa.select(Answer.response_id, sa.func.count()).group_by(Answer.response_id)).all()
        assert all(c == total_questions for _, c in per_response)
