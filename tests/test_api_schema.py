"""Schemathesis against the JSON API's own OpenAPI document (`/api/v1/openapi.json`).

Every operation is called with generated path and query parameters, with a valid bearer token
and without one, and each response is checked: no server error, a status code, content type,
headers and body that conform to the document.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from assessment import db
from assessment.models import User
from assessment.services import api_tokens

from .conftest import Template, build_template, make_assessment, make_tokens, release

ADMIN = "admin@example.org"


def _token_for(app, email: str) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        user = session.query(User).filter_by(email=email).one()
        return api_tokens.create(session, user, "schemathesis")[1]


def _submitted_responses(app, aid: int, team: str, n: int) -> None:  # type: ignore[no-untyped-def]
    from assessment.services import survey as survey_svc

    for i, token in enumerate(make_tokens(app, aid, n, team=team)):
        with app.app_context():
            session = db.session()
            survey = survey_svc.start(session, token)
            for page in range(1, survey.pages + 1):
                answers = {q.id: str(1 + (i + j) % 5)
                           for j, q in enumerate(survey.questions(page))}
                survey_svc.save_page(session, token, page, answers, None, comment_max=2000)
            survey_svc.submit(session, token)


@pytest.fixture
def api_app(app, api_app_template: Template):  # type: ignore[no-untyped-def]
    """Three assessments (ids 1..3 on a fresh database): an empty draft, an open one with
    released results and a closed one with none, so generated ids reach 200 answers, 409s
    (nothing released) and 404s."""
    app.config["FUZZ_ASSESSMENT_IDS"] = api_app_template.value
    return app


@pytest.fixture(scope="session")
def api_app_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, _three_assessments)


def _three_assessments(app) -> list[int]:  # type: ignore[no-untyped-def]
    ids = [make_assessment(app, status="draft"), make_assessment(app, min_group_size=2)]
    _submitted_responses(app, ids[1], "Sales", 3)
    _submitted_responses(app, ids[1], "Finance", 2)
    release(app, ids[1])
    ids.append(make_assessment(app, status="closed"))
    return ids


@pytest.fixture
def api_schema(api_app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


@pytest.fixture
def bearer(api_app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {_token_for(api_app, ADMIN)}"}


schema = schemathesis.pytest.from_fixture("api_schema")
# What the API promises: no server error, and status code, content type, headers and body as
# documented. Schemathesis' negative-data checks are left out: they count an ignored unknown query
# parameter as a failure, and they drop the Authorization header that these tests set themselves.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.allow_header_conformance,
]
API = settings(max_examples=8, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.filter_too_much])


@schema.parametrize()
@API
def test_api_conforms_to_its_schema_with_a_token(case, bearer) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=bearer, checks=CHECKS)


@schema.parametrize()
@API
def test_api_conforms_to_its_schema_without_a_token(case) -> None:  # type: ignore[no-untyped-def]
    """Anonymous and malformed credentials: 401 as documented, never a server error."""
    response = case.call_and_validate(checks=CHECKS)
    if case.path != "/api/v1/openapi.json":
        # 404/405: a path id that is not an integer or a method the route lacks is refused by
        # routing, before authentication (and reveals nothing either way).
        assert response.status_code in (401, 404, 405), (case.headers, response.status_code)
        assert "assessments" not in (response.json() if response.status_code == 404 else {})


def test_known_ids_answer_200(api_app, client, bearer) -> None:  # type: ignore[no-untyped-def]
    """The generated ids rarely hit the existing ones; check those directly: 200 for the one
    released, 409 for the two with nothing released."""
    for aid, status in zip(api_app.config["FUZZ_ASSESSMENT_IDS"], (409, 200, 409), strict=True):
        for what in ("results", "response-rates"):
            response = client.get(f"/api/v1/assessments/{aid}/{what}", headers=bearer)
            assert response.status_code == status, (aid, what, response.get_data(as_text=True))
            assert response.is_json
            anonymous = client.get(f"/api/v1/assessments/{aid}/{what}")
            assert anonymous.status_code == 401
