"""The JSON API and its tokens: authentication, access rules, suppression, errors, the OpenAPI
description, the tokens page and the `api-token` commands."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import (
    ApiToken,
    Assessment,
    Invitation,
    InvitationStatus,
    Response,
    User,
    utcnow,
)
from assessment.services import access, api_tokens
from assessment.services.errors import NotFound

from .conftest import (
    LEAD_PASSWORD,
    Template,
    build_template,
    csrf_token,
    make_assessment,
    make_tokens,
    release,
)
from .test_survey import answer_page, page_questions, start

SUPPRESSED = {"suppressed": True}
ANALYSIS_KEYS = {"bank", "n_respondents", "dimensions", "items", "divergence",
                 "recommendations", "readiness"}


def user(email: str) -> User:
    return db.session().scalar(sa.select(User).where(User.email == email))


def token_for(app, email: str = "lead@example.org", name: str = "test") -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return api_tokens.create(db.session(), user(email), name)[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def share(app, assessment_id: int, email: str = "lead@example.org") -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, assessment_id), email)


def submit(app, token: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """One respondent answers every question with `value` and submits, in their own browser."""
    browser = app.test_client()
    start(browser, token)
    for page in range(1, 6):
        answer_page(browser, token, page, {q: value for q in page_questions(app, page)})
    result = browser.post(f"/s/{token}/submit",
                          data={"csrf_token": csrf_token(browser, f"/s/{token}/review")})
    assert result.status_code == 302


def assert_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert response.headers["Cache-Control"] == "no-store"
    return body


def walk(node: Any, path: tuple = ()):  # type: ignore[no-untyped-def]
    """Every (path, key, value) in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield path, i, value
            yield from walk(value, (*path, i))


def spec_path(rule: str) -> str:
    """`/a/<int(max=9):b_id>/c` as an OpenAPI path: `/a/{b_id}/c`."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


# -- tokens -----------------------------------------------------------------------------------


def test_tokens_are_long_prefixed_and_stored_only_as_a_hash(app) -> None:  # type: ignore[no-untyped-def]
    clear = token_for(app)
    assert clear.startswith("aat_") and len(clear) >= 40
    with app.app_context():
        row = db.session().scalar(sa.select(ApiToken))
        assert row.token_hash == hashlib.sha256(clear.encode()).hexdigest()
        stored = db.session().execute(sa.text("SELECT * FROM api_tokens")).one()
        assert not any(clear in str(value) for value in stored)
        assert api_tokens.authenticate(db.session(), clear).email == "lead@example.org"
    assert token_for(app) != clear


def test_a_valid_token_reads_the_api_and_records_its_use(app, client) -> None:  # type: ignore[no-untyped-def]
    clear = token_for(app)
    response = client.get("/api/v1/assessments", headers=bearer(clear))
    assert response.status_code == 200 and response.is_json
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        assert db.session().scalar(sa.select(ApiToken.last_used_at)) is not None


@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Basic bGVhZEBleGFtcGxlLm9yZzpwYXNzd29yZA==",
    "Bearer aat_not-a-real-token-but-long-enough-to-look-like-one",
    "Bearer not-even-the-prefix",
])
def test_missing_or_bad_tokens_are_refused_with_401(app, client, header, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING)
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/assessments", headers=headers)
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert '"event": "api_token_' in caplog.text
    if header and " " in header:
        assert header.split(" ", 1)[1] not in caplog.text  # the token is never logged


def test_a_revoked_token_is_refused(app, client, caplog) -> None:  # type: ignore[no-untyped-def]
    clear = token_for(app)
    assert client.get("/api/v1/assessments", headers=bearer(clear)).status_code == 200
    with app.app_context():
        token = db.session().scalar(sa.select(ApiToken))
        api_tokens.revoke(db.session(), token.id, actor=user("lead@example.org"))
        assert db.session().get(ApiToken, token.id).revoked_at is not None
    caplog.set_level(logging.WARNING)
    response = client.get("/api/v1/assessments", headers=bearer(clear))
    body = assert_error(response, 401)
    assert "revoked" in body["error"]["message"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert clear not in caplog.text


def test_a_logged_in_browser_session_is_not_enough(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    assert_error(client.get("/api/v1/assessments"), 401)


def test_only_the_owner_or_an_admin_may_revoke(app) -> None:  # type: ignore[no-untyped-def]
    token_for(app, "admin@example.org")
    token_for(app, "lead@example.org")
    with app.app_context():
        session = db.session()
        admin_token, lead_token = session.scalars(sa.select(ApiToken).order_by(ApiToken.id))
        with pytest.raises(NotFound):
            api_tokens.revoke(session, admin_token.id, actor=user("lead@example.org"))
        assert session.get(ApiToken, admin_token.id).revoked_at is None
        api_tokens.revoke(session, lead_token.id, actor=user("admin@example.org"))
        assert session.get(ApiToken, lead_token.id).revoked_at is not None


# -- access rules -----------------------------------------------------------------------------


def test_a_lead_sees_only_what_is_shared_and_an_admin_sees_all(app, client) -> None:  # type: ignore[no-untyped-def]
    shared, private = make_assessment(app), make_assessment(app)
    lead, admin = bearer(token_for(app)), bearer(token_for(app, "admin@example.org"))

    assert client.get("/api/v1/assessments", headers=lead).get_json()["assessments"] == []
    for path in ("results", "response-rates"):
        refused = assert_error(client.get(f"/api/v1/assessments/{shared}/{path}", headers=lead),
                               404)
        unknown = assert_error(client.get(f"/api/v1/assessments/9999/{path}", headers=lead), 404)
        # Not shared and nonexistent read alike, up to the id in the message.
        assert refused["error"]["message"].replace(str(shared), "9999") == \
            unknown["error"]["message"]

    share(app, shared)
    listing = client.get("/api/v1/assessments", headers=lead).get_json()
    assert [a["id"] for a in listing["assessments"]] == [shared] and listing["total"] == 1
    entry = listing["assessments"][0]
    assert {"id", "name", "bank", "bank_version", "status", "submitted", "links"} <= set(entry)
    assert entry["bank"] == "alignment" and entry["status"] == "open"
    assert entry["submitted"] == 0 and entry["released_at"] is None
    for path in ("results", "response-rates"):
        # Shared but not released yet: 409, not the 404 of an unshared one.
        assert_error(client.get(f"/api/v1/assessments/{shared}/{path}", headers=lead), 409)
        assert_error(client.get(f"/api/v1/assessments/{private}/{path}", headers=lead), 404)
    assert_error(client.get(entry["links"]["results"], headers=lead), 409)

    every = client.get("/api/v1/assessments", headers=admin).get_json()
    assert [a["id"] for a in every["assessments"]] == [private, shared]
    assert_error(client.get(f"/api/v1/assessments/{private}/results", headers=admin), 409)


def test_the_list_is_paged(app, client) -> None:  # type: ignore[no-untyped-def]
    ids = [make_assessment(app) for _ in range(3)]
    admin = bearer(token_for(app, "admin@example.org"))
    page = client.get("/api/v1/assessments?per_page=2&page=2", headers=admin).get_json()
    assert [a["id"] for a in page["assessments"]] == [ids[0]]
    assert page["total"] == 3 and page["page"] == 2 and page["per_page"] == 2
    for bad in ("page=0", "per_page=501", "page=x", "per_page=-1"):
        assert_error(client.get(f"/api/v1/assessments?{bad}", headers=admin), 400)


def test_the_list_reads_every_latest_release_in_one_statement(app, client) -> None:  # type: ignore[no-untyped-def]
    """Each assessment of a page shows its newest computed release; they are read for the whole
    page at once, without the stored analyses (a statement per row used to load each one)."""
    from datetime import datetime

    from assessment.models import Release

    ids = [make_assessment(app) for _ in range(4)]
    with app.app_context():
        session = db.session()
        for n, aid in enumerate(ids[:3]):  # the fourth has no release
            for seq, shown in ((1, 10 + n), (2, 20 + n), (3, 0)):  # seq 3: not computed yet
                session.add(Release(assessment_id=aid, seq=seq, reason="manual",
                                    released_at=datetime(2026, 3, seq, 9), n_respondents=shown,
                                    min_group_size=5, result={}, rates={}, comments={},
                                    hidden={}))
        session.commit()
    statements: list[str] = []

    def seen(_conn, _cursor, sql: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(sql)

    headers = bearer(token_for(app, "admin@example.org"))
    with app.app_context():
        engine = db.engine()
    sa.event.listen(engine, "before_cursor_execute", seen)
    listing = client.get("/api/v1/assessments", headers=headers).get_json()
    sa.event.remove(engine, "before_cursor_execute", seen)
    by_id = {a["id"]: a for a in listing["assessments"]}
    for n, aid in enumerate(ids[:3]):
        assert by_id[aid]["released_respondents"] == 20 + n
        assert by_id[aid]["released_at"].startswith("2026-03-02T09:00:00")
    assert by_id[ids[3]]["released_respondents"] is None
    assert sum(1 for sql in statements if "FROM releases" in sql) == 1, statements


# -- results, response rates and suppression -------------------------------------------------


@pytest.fixture
def answered(app, answered_template: Template) -> int:  # type: ignore[no-untyped-def]
    """Sales: 6 of 6 submitted (answering 4); Ops: 5 of 7 (answering 3), hidden as the
    complement of Finance: 2 of 4 (answering 1). Shared with the lead, released."""
    return int(answered_template.value)


@pytest.fixture(scope="session")
def answered_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, _answered)


def _answered(app) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Ops", "Finance"), min_group_size=5)
    for team, invited, submitted, value in (("Sales", 6, 6, "4"), ("Ops", 7, 5, "3"),
                                             ("Finance", 4, 2, "1")):
        for token in make_tokens(app, aid, invited, team=team)[:submitted]:
            submit(app, token, value)
    share(app, aid)
    release(app, aid)
    return aid


def test_results_carry_the_analysis_and_never_a_small_team(app, client, answered) -> None:  # type: ignore[no-untyped-def]
    lead = bearer(token_for(app))
    response = client.get(f"/api/v1/assessments/{answered}/results", headers=lead)
    assert response.status_code == 200
    body = response.get_json()
    # Live counts are rounded down to the minimum group size; the release says how many it shows.
    assert body["assessment"]["id"] == answered and body["assessment"]["submitted"] == 10
    assert body["n_respondents"] == 13 and body["assessment"]["released_respondents"] == 13
    assert body["computed_at"] is not None and body["released_at"] == body["computed_at"]
    analysis = body["results"]
    assert set(analysis) >= ANALYSIS_KEYS
    assert analysis["n_respondents"] == 13
    # The same structure the analysis produces, unchanged by the API.
    with app.app_context():
        from assessment.services.results import results
        stored = results(db.session(), db.session().get(Assessment, answered)).analysis.to_json()
    assert json.loads(json.dumps(stored)) == analysis

    dims = analysis["dimensions"]
    assert all(d["groups"]["Sales"]["n"] == 6 for d in dims.values())
    for team in ("Finance", "Ops"):  # Ops (5) is hidden too: else Finance = total - shown
        assert all(d["groups"][team] == SUPPRESSED for d in dims.values())
        assert all(i["groups"][team] == SUPPRESSED for i in analysis["items"].values())
    finance_means = {1.0, 5.0}  # everyone in Finance answered 1 (5 once reverse-scored)
    for path, key, value in walk(analysis):
        if key in ("Finance", "Ops") and value != SUPPRESSED:
            assert "group_roles" in path[-1:], (path, key)
            assert all(v == SUPPRESSED for v in value.values()), (path, key)
        if isinstance(value, str):
            assert "Finance" not in value, (path, key)
        if key == "n":
            assert value not in (2, 5), (path, value)
        if key == "mean":
            assert value not in finance_means, (path, value)
    text = response.get_data(as_text=True)
    assert '"n":2,' not in text.replace(" ", "") and '"n":2}' not in text.replace(" ", "")


def test_response_rates_hide_small_teams(app, client, answered) -> None:  # type: ignore[no-untyped-def]
    lead = bearer(token_for(app))
    response = client.get(f"/api/v1/assessments/{answered}/response-rates", headers=lead)
    assert response.status_code == 200
    body = response.get_json()
    teams = {t["team"]: t for t in body["teams"]}
    assert teams["Finance"] == {"team": "Finance", "suppressed": True}
    assert teams["Ops"] == {"team": "Ops", "suppressed": True}
    assert teams["Sales"] == {"team": "Sales", "invited": 6, "submitted": 6, "rate": 1.0,
                              "suppressed": False}
    assert body["total_submitted"] == 13 and body["total_invited"] == 17
    for _path, key, value in walk(body):
        assert not (key == "submitted" and value in (2, 5))


def test_hidden_teams_cannot_be_recovered_when_all_of_them_answered(app, client) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Finance"), min_group_size=5)
    make_tokens(app, aid, 6, team="Sales")
    make_tokens(app, aid, 2, team="Finance")
    with app.app_context():  # submissions without answers are enough for the counts
        session = db.session()
        for invitation in session.scalars(sa.select(Invitation)):
            invitation.status = InvitationStatus.SUBMITTED
            session.add(Response(assessment_id=aid, invitation_id=invitation.id,
                                 team_id=invitation.team_id, role_id=invitation.role_id,
                                 submitted_at=utcnow()))
        session.commit()
    share(app, aid)
    release(app, aid)
    body = client.get(f"/api/v1/assessments/{aid}/response-rates",
                      headers=bearer(token_for(app))).get_json()
    hidden = [t for t in body["teams"] if t["suppressed"]]
    assert {t["team"] for t in hidden} == {"Sales", "Finance"}  # Finance, and its complement
    # A hidden team shows no count at all: with its invitations known, "everyone answered"
    # would give its submitted count away.
    assert all(set(t) == {"team", "suppressed"} for t in hidden)


# -- errors -----------------------------------------------------------------------------------


def test_errors_inside_the_api_are_json(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lead = bearer(token_for(app))
    assert_error(client.get("/api/v1/nothing-here", headers=lead), 404)
    assert_error(client.get("/api/v1/nothing-here"), 404)
    assert_error(client.get("/api/v1", headers=lead), 404)
    assert_error(client.get("/api/v1/assessments/abc/results", headers=lead), 404)
    assert_error(client.get("/api/v1/assessments/99999999999999999999/results", headers=lead),
                 404)
    not_allowed = client.post("/api/v1/assessments", headers=lead)
    assert_error(not_allowed, 405)
    assert "GET" in not_allowed.headers["Allow"]
    assert_error(client.delete("/api/v1/openapi.json"), 405)

    aid = make_assessment(app)
    share(app, aid)

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr("assessment.services.results.results", broken)
    failed = client.get(f"/api/v1/assessments/{aid}/results", headers=lead)
    body = assert_error(failed, 500)
    assert "secret internals" not in failed.get_data(as_text=True)
    assert "Traceback" not in body["error"]["message"]
    # Outside the API, errors keep their HTML pages.
    page = client.get("/no-such-page")
    assert page.status_code == 404 and not page.is_json


# -- the OpenAPI description -------------------------------------------------------------------


def test_openapi_describes_every_route_and_is_public(app, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    served = {spec_path(rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1")}
    assert served and served <= set(spec["paths"]), served - set(spec["paths"])
    assert set(spec["paths"]) <= served  # nothing described that is not served
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["status", "message"]
    for path, item in spec["paths"].items():
        for operation in item.values():
            if path.endswith("openapi.json"):
                assert operation["security"] == []
            else:
                assert "401" in operation["responses"] and "404" in operation["responses"] \
                    or path.endswith("/assessments")


def test_openapi_is_a_valid_document(client) -> None:  # type: ignore[no-untyped-def]
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(client.get("/api/v1/openapi.json").get_json())


def test_responses_match_their_schemas(app, client, answered) -> None:  # type: ignore[no-untyped-def]
    oas = pytest.importorskip("openapi_schema_validator")
    spec = client.get("/api/v1/openapi.json").get_json()

    def conforms(body: Any, schema: str) -> None:
        oas.validate(body, {"$ref": f"#/components/schemas/{schema}",
                            "components": spec["components"]}, cls=oas.OAS31Validator)

    lead = bearer(token_for(app))
    conforms(client.get("/api/v1/assessments", headers=lead).get_json(), "AssessmentList")
    conforms(client.get(f"/api/v1/assessments/{answered}/results", headers=lead).get_json(),
             "Results")
    conforms(client.get(f"/api/v1/assessments/{answered}/response-rates",
                        headers=lead).get_json(), "ResponseRates")
    conforms(client.get("/api/v1/assessments").get_json(), "Error")


# -- the tokens page --------------------------------------------------------------------------


def test_the_tokens_page_needs_a_login(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/account/tokens")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/account/tokens", data={"name": "x"}).status_code in (302, 400)


def test_a_lead_creates_sees_once_uses_and_revokes_a_token(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("lead@example.org", LEAD_PASSWORD)
    page = client.get("/account/tokens")
    assert page.status_code == 200 and "You have no tokens yet" in page.get_data(as_text=True)
    assert 'href="/account/tokens"' in page.get_data(as_text=True)  # in the navigation

    # No CSRF token, no token.
    assert client.post("/account/tokens", data={"name": "BI"}).status_code == 400
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0

    created = client.post("/account/tokens", data={
        "name": "Power BI", "csrf_token": csrf_token(client, "/account/tokens")})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "will not be shown again" in html
    assert created.headers["Cache-Control"] == "no-store"
    clear = re.search(r'<code id="new-token">([^<]+)</code>', html).group(1)
    assert clear.startswith("aat_")
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "Power BI" in listing and clear not in listing and "never" in listing
    assert client.get("/api/v1/assessments", headers=bearer(clear)).status_code == 200

    with app.app_context():
        token_id = db.session().scalar(sa.select(ApiToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    revoked = client.post(f"/account/tokens/{token_id}/revoke",
                          data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert revoked.status_code == 302
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    assert_error(client.get("/api/v1/assessments", headers=bearer(clear)), 401)


def test_an_empty_name_is_refused_on_the_page(client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login("lead@example.org", LEAD_PASSWORD)
    response = client.post("/account/tokens", data={
        "name": "", "csrf_token": csrf_token(client, "/account/tokens")})
    assert response.status_code == 422 and "aat_" not in response.get_data(as_text=True)


def test_a_lead_cannot_revoke_anothers_token_from_the_page(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    clear = token_for(app, "admin@example.org")
    with app.app_context():
        token_id = db.session().scalar(sa.select(ApiToken.id))
    auth.login("lead@example.org", LEAD_PASSWORD)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "You have no tokens yet" in page  # the admin's token is not listed
    response = client.post(f"/account/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert response.status_code == 404
    assert client.get("/api/v1/assessments", headers=bearer(clear)).status_code == 200


# -- the command line -------------------------------------------------------------------------


def test_cli_creates_lists_and_revokes(app, client, runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["api-token", "create", "Lead@Example.org", "--name", "nightly"])
    assert result.exit_code == 0, result.output
    clear = result.output.strip().splitlines()[-1]
    assert clear.startswith("aat_") and " " not in clear
    assert client.get("/api/v1/assessments", headers=bearer(clear)).status_code == 200

    listing = runner.invoke(args=["api-token", "list", "lead@example.org"])
    assert listing.exit_code == 0 and "nightly" in listing.output and "active" in listing.output
    assert clear not in listing.output
    token_id = listing.output.split("\t", 1)[0]

    revoked = runner.invoke(args=["api-token", "revoke", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert "revoked" in runner.invoke(args=["api-token", "list", "lead@example.org"]).output
    assert client.get("/api/v1/assessments", headers=bearer(clear)).status_code == 401
    empty = runner.invoke(args=["api-token", "list", "admin@example.org"])
    assert empty.exit_code == 0 and "no API tokens" in empty.output


@pytest.mark.parametrize("args, message", [
    (["create", "nobody@example.org"], "There is no user nobody@example.org"),
    (["create", "lead@example.org", "--name", " "], "Give the token a name"),
    (["create", "lead@example.org", "--name", "x" * 101], "at most 100 characters"),
    (["list", "nobody@example.org"], "There is no user nobody@example.org"),
    (["revoke", "12345"], "There is no API token 12345"),
])
def test_cli_errors_are_one_clear_line(runner, args, message) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["api-token", *args])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
