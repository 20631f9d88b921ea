"""The respondent journey through the test client, step by step, and its data-safety promises."""

from __future__ import annotations

import sqlalchemy as sa

from assessment import db
from assessment.models import Answer, Comment, Invitation, InvitationStatus, Response

from .conftest import count, csrf_token, make_assessment, make_tokens


def start(client, token: str):  # type: ignore[no-untyped-def]
    return client.post(f"/s/{token}/start", data={"csrf_token": csrf_token(client, f"/s/{token}")})


def answer_page(client, token: str, page: int, answers: dict[str, str], **extra):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_token(client, f"/s/{token}/p/{page}")}
    data.update({f"q-{k}": v for k, v in answers.items()})
    data.update(extra)
    return client.post(f"/s/{token}/p/{page}", data=data)


def page_questions(app, page: int) -> list[str]:
    from assessment.services.banks import bank_of, find_bank

    with app.app_context():
        bank = bank_of(find_bank(db.session(), "alignment"))
        return [q.id for q in bank.questions_in(bank.dimensions[page - 1].id)]


def stored(app) -> dict[str, float | None]:
    with app.app_context():
        return {k: v for k, v in db.session().execute(sa.select(Answer.question_id, Answer.value))}


def complete(client, app, token: str) -> None:
    start(client, token)
    for page in range(1, 6):
        qs = page_questions(app, page)
        answer_page(client, token, page, {q: "4" for q in qs})


def test_intro_says_who_sees_what(app, client) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, min_group_size=7)
    token = make_tokens(app, aid)[0]
    page = client.get(f"/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "at least 7 people" in html and "Start" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"


def test_a_page_is_an_accessible_radio_group_per_question(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    html = client.get(f"/s/{token}/p/1").get_data(as_text=True)
    qs = page_questions(app, 1)
    assert html.count("<fieldset") == len(qs) and html.count("<legend>") == len(qs)
    assert html.count('type="radio"') == len(qs) * 6  # five scale points and "don't know"
    assert "Strongly disagree" in html and "Don’t know" in html
    assert "Page 1 of 5" in html and "<progress" in html


def test_answers_are_saved_per_page_and_the_link_resumes(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    assert start(client, token).headers["Location"].endswith(f"/s/{token}/p/1")
    q1 = page_questions(app, 1)
    result = answer_page(client, token, 1, {q1[0]: "5", q1[1]: "dk"}, comment="  A note.  ")
    assert result.status_code == 302 and result.headers["Location"].endswith("/p/2")
    values = stored(app)
    assert values[q1[0]] == 5.0
    assert q1[1] in values and values[q1[1]] is None  # "don't know" is stored as null
    with app.app_context():
        assert db.session().scalar(sa.select(Comment.text)) == "A note."
    # Reopening the link offers to continue, and continuing lands on page 2.
    fresh = app.test_client()
    assert "Continue where you left off" in fresh.get(f"/s/{token}").get_data(as_text=True)
    assert start(fresh, token).headers["Location"].endswith("/p/2")
    # Going back shows the saved answers checked.
    html = fresh.get(f"/s/{token}/p/1").get_data(as_text=True)
    assert f'name="q-{q1[0]}" value="5" checked' in html
    assert f'name="q-{q1[1]}" value="dk" checked' in html
    assert "A note." in html


def test_changing_an_answer_updates_it(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    q = page_questions(app, 1)[0]
    answer_page(client, token, 1, {q: "2"})
    answer_page(client, token, 1, {q: "3"}, comment="")
    assert stored(app) == {q: 3.0}
    assert count(app, Answer) == 1


def test_back_button_saves_and_goes_back(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    q = page_questions(app, 2)[0]
    result = answer_page(client, token, 2, {q: "1"}, nav="back")
    assert result.headers["Location"].endswith("/p/1")
    assert stored(app) == {q: 1.0}


def test_review_submit_thanks_and_used_link(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    complete(client, app, token)
    review = client.get(f"/s/{token}/review")
    assert review.status_code == 200 and "Submit my answers" in review.get_data(as_text=True)
    result = client.post(f"/s/{token}/submit",
                         data={"csrf_token": csrf_token(client, f"/s/{token}/review")})
    assert result.status_code == 302 and token not in result.headers["Location"]
    assert "Thank you" in client.get(result.headers["Location"]).get_data(as_text=True)
    used = client.get(f"/s/{token}").get_data(as_text=True)
    assert "already been used" in used and token not in used
    with app.app_context():
        response = db.session().scalar(sa.select(Response))
        assert response.submitted_at is not None and response.invitation_id is not None
    # A page of a used link no longer accepts answers.
    assert "already been used" in client.get(f"/s/{token}/p/1").get_data(as_text=True)


def test_double_submit_yields_one_response(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    complete(client, app, token)
    csrf = csrf_token(client, f"/s/{token}/review")
    first = client.post(f"/s/{token}/submit", data={"csrf_token": csrf})
    second = client.post(f"/s/{token}/submit", data={"csrf_token": csrf})
    assert first.status_code == 302
    assert second.status_code in (200, 409) and "already been used" in second.get_data(as_text=True)
    assert count(app, Response) == 1
    # A replayed page post after submission changes nothing.
    q = page_questions(app, 1)[0]
    before = stored(app)
    replay = client.post(f"/s/{token}/p/1", data={"csrf_token": csrf, f"q-{q}": "1"})
    assert "already been used" in replay.get_data(as_text=True)
    assert stored(app) == before


def test_invalid_posts_change_nothing(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    q1 = page_questions(app, 1)
    answer_page(client, token, 1, {q1[0]: "4"})
    before = stored(app)
    cases = [
        ({q1[0]: "1", q1[1]: "6"}, {}, "not one of the options"),
        ({q1[0]: "1", q1[1]: "0"}, {}, "not one of the options"),
        ({q1[0]: "1", q1[1]: "3.5"}, {}, "not one of the options"),
        ({q1[0]: "1", "NOT-A-QUESTION": "3"}, {}, "is not a question on this page"),
        ({q1[0]: "1", page_questions(app, 2)[0]: "3"}, {}, "is not a question on this page"),
        ({q1[0]: "1"}, {"comment": "x" * 2001}, "the limit is 2000"),
    ]
    for answers, extra, message in cases:
        result = answer_page(client, token, 1, answers, **extra)
        assert result.status_code == 422, answers
        assert message in result.get_data(as_text=True)
        assert stored(app) == before, f"{answers} changed stored answers"
    assert count(app, Comment) == 0


def test_csrf_is_required(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    assert client.post(f"/s/{token}/start").status_code == 400
    start(client, token)
    q = page_questions(app, 1)[0]
    result = client.post(f"/s/{token}/p/1", data={f"q-{q}": "3"})
    assert result.status_code == 400 and "nothing was saved" in result.get_data(as_text=True)
    assert stored(app) == {}
    assert client.post(f"/s/{token}/submit").status_code == 400
    with app.app_context():
        assert db.session().scalar(sa.select(Response.submitted_at)) is None


def test_closed_and_draft_assessments_get_a_polite_page(app, client) -> None:  # type: ignore[no-untyped-def]
    for status in ("draft", "closed"):
        aid = make_assessment(app, status="open")
        token = make_tokens(app, aid)[0]
        from assessment.models import Assessment, AssessmentStatus

        with app.app_context():
            db.session().get(Assessment, aid).status = AssessmentStatus(status)
            db.session().commit()
        page = client.get(f"/s/{token}")
        assert page.status_code == 200
        assert "not open for answers" in page.get_data(as_text=True)
        assert client.post(f"/s/{token}/start", data={"csrf_token": "x"}).status_code in (400, 200)
        assert count(app, Response) == 0


def test_an_assessment_past_its_close_date_stops_accepting(app, client) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from assessment.models import Assessment, utcnow

    aid = make_assessment(app)
    token = make_tokens(app, aid)[0]
    start(client, token)
    with app.app_context():
        db.session().get(Assessment, aid).closes_at = utcnow() - timedelta(minutes=1)
        db.session().commit()
    q = page_questions(app, 1)[0]
    result = client.post(f"/s/{token}/p/1", data={"csrf_token": csrf_token(client, "/login"),
                                                 f"q-{q}": "3"})
    assert "not open for answers" in result.get_data(as_text=True)
    assert stored(app) == {}


def test_unknown_tokens_get_a_404_that_reveals_nothing(app, client) -> None:  # type: ignore[no-untyped-def]
    make_tokens(app, make_assessment(app))
    for url in ("/s/not-a-token", "/s/not-a-token/p/1", "/s/not-a-token/review", "/s/" + "x" * 500):
        page = client.get(url)
        assert page.status_code == 404
        html = page.get_data(as_text=True)
        assert "Test" not in html and "Sales" not in html and "Traceback" not in html


def test_anonymous_mode_cuts_the_link_on_submission(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app, anonymous=True))[0]
    complete(client, app, token)
    with app.app_context():
        assert db.session().scalar(sa.select(Response.invitation_id)) is not None
    client.post(f"/s/{token}/submit", data={"csrf_token": csrf_token(client, f"/s/{token}/review")})
    with app.app_context():
        session = db.session()
        response = session.scalar(sa.select(Response))
        assert response.submitted_at is not None and response.invitation_id is None
        assert session.scalar(sa.select(Invitation.status)) == InvitationStatus.SUBMITTED
    assert "already been used" in client.get(f"/s/{token}").get_data(as_text=True)


def test_page_out_of_range_is_404(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    assert client.get(f"/s/{token}/p/0").status_code == 404
    assert client.get(f"/s/{token}/p/6").status_code == 404


def test_a_respondents_pages_leave_the_session_cookie_alone(app, client) -> None:  # type: ignore[no-untyped-def]
    """The introduction sets the cookie that carries the form token; after that a page, a save
    and the review neither rewrite it nor clear a login cookie the person never had (loading a
    login for every template used to do both, on every page)."""
    token = make_tokens(app, make_assessment(app))[0]
    first = client.get(f"/s/{token}")
    assert [c.split("=")[0] for c in first.headers.getlist("Set-Cookie")] == [
        "assessment_session"]
    assert start(client, token).status_code == 302
    for path in ("/p/1", "/p/2", "/review"):
        page = client.get(f"/s/{token}{path}")
        assert page.status_code == 200
        assert page.headers.getlist("Set-Cookie") == [], path
    q = page_questions(app, 1)[0]
    saved = answer_page(client, token, 1, {q: "4"})
    assert saved.status_code == 302 and saved.headers.getlist("Set-Cookie") == []


def test_staff_pages_still_know_who_is_logged_in(client, auth) -> None:  # type: ignore[no-untyped-def]
    assert "Log out" not in client.get("/login").get_data(as_text=True)
    auth.login()
    html = client.get("/admin/").get_data(as_text=True)
    assert "Log out" in html and "Users" in html  # the admin's navigation
