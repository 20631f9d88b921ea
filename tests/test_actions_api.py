"""The API's actions and targets: read with any token of a reader, write only with a token made
to write; bodies validated with one message per problem; described in the OpenAPI document."""

from __future__ import annotations

import sqlalchemy as sa

from assessment import db
from assessment.models import Action, Assessment, User
from assessment.services import access, api_tokens

from .conftest import make_assessment

LEAD = "lead@example.org"


def token(app, email: str = LEAD, write: bool = False) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        user = session.scalar(sa.select(User).where(User.email == email))
        clear = api_tokens.create(session, user, "integration", can_write=write)[1]
    return {"Authorization": f"Bearer {clear}"}


BODY = {"title": "Agree one backlog report", "owner": "ann@example.org", "due": "2030-01-31",
        "status": "planned", "dimension": "data", "description": "One report, one definition"}


def test_reading_and_writing_actions_and_targets(app, client) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    reader, writer = token(app), token(app, write=True)
    base = f"/api/v1/assessments/{aid}"
    # Not shared: 404 for every operation, whatever the token may do.
    assert client.get(f"{base}/actions", headers=writer).status_code == 404
    assert client.post(f"{base}/actions", json=BODY, headers=writer).status_code == 404
    assert client.put(f"{base}/targets", json={"targets": []}, headers=writer).status_code == 404
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, aid), LEAD)
    assert client.get(f"{base}/actions", headers=reader).get_json()["total"] == 0
    refused = client.post(f"{base}/actions", json=BODY, headers=reader)
    assert refused.status_code == 403 and "may only read" in refused.get_json()["error"]["message"]
    made = client.post(f"{base}/actions", json=BODY, headers=writer)
    assert made.status_code == 201, made.get_json()
    action = made.get_json()
    assert made.headers["Location"] == f"/api/v1/actions/{action['id']}"
    assert (action["title"], action["status"], action["due"], action["overdue"]) == (
        BODY["title"], "planned", "2030-01-31", False)
    assert action["history"][0]["kind"] == "created"
    assert action["history"][0]["actor"] == "lead@example.org (API token 'integration')"
    # Bad bodies: one message naming each problem, nothing saved.
    for bad, words in [({**BODY, "due": "31/01/2030"}, "due"),
                       ({**BODY, "dimension": "nope"}, "dimension"),
                       ({**BODY, "status": "finished"}, "status"),
                       ({**BODY, "extra": 1}, "extra"),
                       ({**BODY, "teams": ["Nobody"]}, "teams")]:
        response = client.post(f"{base}/actions", json=bad, headers=writer)
        assert response.status_code == 422, bad
        assert words in response.get_json()["error"]["message"]
    assert client.post(f"{base}/actions", data="x", headers=writer).status_code == 400
    url = f"/api/v1/actions/{action['id']}"
    assert client.patch(url, json={"status": "done"}, headers=reader).status_code == 403
    changed = client.patch(url, json={"status": "done"}, headers=writer)
    assert changed.status_code == 200
    assert changed.get_json()["history"][-1]["changes"] == {"status": ["planned", "done"]}
    assert client.patch(url, json={"title": None}, headers=writer).status_code == 422
    listed = client.get(f"{base}/actions?status=done", headers=reader).get_json()
    assert [a["id"] for a in listed["actions"]] == [action["id"]]
    assert client.get(f"{base}/actions?status=planned", headers=reader).get_json()["total"] == 0
    # Targets: replaced as a whole, validated against the bank, inherited by nobody here.
    put = client.put(f"{base}/targets", headers=writer, json={"targets": [
        {"dimension": "data", "value": 70}, {"dimension": "handoffs", "lens": "architecture",
                                             "value": 55.5}]})
    assert put.status_code == 200, put.get_json()
    got = client.get(f"{base}/targets", headers=reader).get_json()
    assert got["inherited_from"] is None
    assert {(t["dimension"], t["lens"], t["value"]) for t in got["targets"]} == {
        ("data", None, 70.0), ("handoffs", "architecture", 55.5)}
    for bad in ({"targets": [{"dimension": "data", "value": 101}]},
                {"targets": [{"dimension": "nope", "value": 1}]},
                {"targets": [{"dimension": "data", "value": 1}, {"dimension": "data",
                                                                  "value": 2}]}):
        assert client.put(f"{base}/targets", json=bad, headers=writer).status_code == 422
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Action)) == 1


def test_the_openapi_document_describes_the_new_operations(client) -> None:  # type: ignore[no-untyped-def]
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"listActions", "createAction", "updateAction", "getTargets", "putTargets"} <= ops
    assert doc["components"]["schemas"]["ActionIn"]["required"] == [
        "title", "owner", "due", "dimension"]
