"""The services' domain errors answered in one place: a page that is not yours or not there is a
404 that names nothing, a conflict with the assessment's state is said on the page you came from,
the API answers them as JSON; and the login page's rules, kept in the security service."""

from __future__ import annotations

import pytest

from assessment.models import Invitation
from assessment.services import security

from .conftest import count, csrf_token, make_assessment


def test_an_unknown_assessment_is_a_404_that_names_nothing(client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    for url in ("/admin/assessments/999", "/results/999/", "/results/999/divergence"):
        response = client.get(url)
        assert response.status_code == 404, url
        html = response.get_data(as_text=True)
        assert "There is nothing here." in html
        assert "There is no assessment" not in html  # the service's message stays inside


def test_links_for_a_closed_assessment_are_refused_on_its_page(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, status="closed")
    auth.login()
    page = f"/admin/assessments/{aid}"
    response = client.post(f"{page}/invitations", data={
        "csrf_token": csrf_token(client, page), "team": "Sales", "role": "Staff", "count": 3})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(page)
    assert "reopen it before issuing links" in client.get(page).get_data(as_text=True)
    assert count(app, Invitation) == 0


def test_the_api_answers_a_domain_error_as_json(app, client) -> None:  # type: ignore[no-untyped-def]
    from .test_api import bearer, token_for

    response = client.get("/api/v1/assessments/999/results", headers=bearer(token_for(app)))
    assert response.status_code == 404
    assert response.get_json()["error"] == {"status": 404,
                                            "message": "There is no assessment 999 you can see."}


@pytest.mark.parametrize(("target", "kept"), [
    ("/results/3/", True), ("/admin/assessments/2?x=1", True), (None, False), ("", False),
    ("//evil.example/x", False), ("https://evil.example/", False), ("results/3", False),
    ("/\\evil.example", False), ("/results/1\\..\\", False),  # "\\" is "/" to browsers
    ("/\t/evil.example", False),
])
def test_after_login_only_a_path_on_this_site_is_followed(target: str | None,
                                                          kept: bool) -> None:
    assert security.safe_next(target) == (target if kept else None)


def test_the_login_outcome_says_the_same_for_every_refusal_of_a_kind() -> None:
    refused = security.Login(None, user_id=3)
    locked = security.Login(None, user_id=3, locked=True)
    limited = security.Login(None, limited=True)
    assert (refused.status, locked.status, limited.status) == (401, 401, 429)
    assert refused.message == locked.message == security.REFUSED
    assert limited.message == security.LIMITED
    assert (refused.audit_event, locked.audit_event, limited.audit_event) == (
        "login_failed", "login_locked", "login_rate_limited")
