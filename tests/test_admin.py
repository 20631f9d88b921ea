"""The admin's pages through the test client: login, create, open/close, links, roster, users,
counts only, and refusal of anonymous users, leads and forged forms."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment, Invitation

from .conftest import LEAD_PASSWORD, count, csrf_token, make_assessment, make_tokens
from .test_survey import complete


def test_login_logout_and_wrong_password(client, auth) -> None:  # type: ignore[no-untyped-def]
    bad = auth.login(password="not-the-password")
    assert bad.status_code == 401 and "not right" in bad.get_data(as_text=True)
    good = auth.login()
    assert good.status_code == 302 and good.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    assert client.get("/admin/").status_code == 302


def test_login_does_not_redirect_off_site(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/login")
    result = client.post("/login?next=//evil.example/x", data={
        "email": "admin@example.org", "password": "admin-password-123", "csrf_token": token})
    assert result.headers["Location"] == "/admin/"


def test_admin_pages_refuse_anonymous_and_leads(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    urls = ["/admin/assessments/new", f"/admin/assessments/{aid}", "/admin/users"]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    auth.login("lead@example.org", LEAD_PASSWORD)
    for url in urls:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/results/")
    for url in (f"/admin/assessments/{aid}/invitations", f"/admin/assessments/{aid}/status"):
        assert client.post(url, data={"csrf_token": token, "team": "Sales", "role": "Staff",
                                      "count": 3, "action": "close"}).status_code == 403
    assert count(app, Invitation) == 0


def test_create_assessment_through_the_form(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    page = client.get("/admin/assessments/new")
    assert "alignment v3" in page.get_data(as_text=True)
    with app.app_context():
        from assessment.services.banks import find_bank

        bank_pk = find_bank(db.session(), "alignment").id
    form = {"csrf_token": csrf_token(client, "/admin/assessments/new"), "name": "Spring",
            "bank": bank_pk, "teams": "Sales\nFinance\n", "roles": "Manager, Staff",
            "min_group_size": "6", "anonymous": "y"}
    result = client.post("/admin/assessments/new", data=form)
    assert result.status_code == 302
    with app.app_context():
        a = db.session().scalar(sa.select(Assessment))
        assert [t.name for t in a.teams] == ["Finance", "Sales"]
        assert a.min_group_size == 6 and a.anonymous and a.status.value == "draft"
    # Bad input is refused with messages and creates nothing.
    form.update(name="", min_group_size="1", teams="A,A")
    result = client.post("/admin/assessments/new", data=form)
    assert result.status_code == 422
    assert count(app, Assessment) == 1


def test_open_close_invite_and_counts(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, status="draft")
    auth.login()
    url = f"/admin/assessments/{aid}"
    client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": "open"})
    assert "Close" in client.get(url).get_data(as_text=True)
    result = client.post(f"{url}/invitations", data={
        "csrf_token": csrf_token(client, url), "team": "Finance", "role": "Manager", "count": 4})
    assert result.status_code == 200 and result.mimetype == "text/csv"
    assert "attachment" in result.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(result.get_data(as_text=True))))
    assert len(rows) == 4 and rows[0]["url"].startswith("http://testserver/s/")
    token = rows[0]["url"].rsplit("/", 1)[1]
    complete(app.test_client(), app, token)
    submitter = app.test_client()
    submitter.post(f"/s/{token}/submit",
                   data={"csrf_token": csrf_token(submitter, f"/s/{token}/review")})
    html = client.get(url).get_data(as_text=True)
    # Invitations exactly; started and submitted only in bands of the minimum group size.
    cells = ('<td class="num">4</td><td class="num">fewer than 5</td>'
             '<td class="num">fewer than 5</td>')
    assert f'<th scope="row">Finance</th>{cells}' in html
    # Counts only: no answer text or values on the admin page.
    assert "Strongly" not in html
    client.post(f"{url}/status", data={"csrf_token": csrf_token(client, url), "action": "close"})
    with app.app_context():
        assert db.session().get(Assessment, aid).status.value == "closed"


def test_forged_admin_posts_are_refused(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    auth.login()
    result = client.post(f"/admin/assessments/{aid}/invitations",
                         data={"team": "Sales", "role": "Staff", "count": 3})
    assert result.status_code == 400
    assert count(app, Invitation) == 0


def test_roster_import_is_all_or_nothing_with_row_numbers(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    auth.login()
    url = f"/admin/assessments/{aid}"
    bad = ("email,team,role\n"
           "ann@example.org,Sales,Staff\n"
           "not-an-email,Sales,Staff\n"
           "bob@example.org,Marketing,Staff\n"
           "ann@example.org,Finance,Manager\n"
           "cy@example.org,Sales\n")
    result = client.post(f"{url}/roster", data={
        "csrf_token": csrf_token(client, url),
        "roster": (io.BytesIO(bad.encode()), "roster.csv")}, content_type="multipart/form-data")
    html = result.get_data(as_text=True)
    assert result.status_code == 422
    assert "row 3: &#39;not-an-email&#39; is not an email address" in html
    assert "row 4: unknown team &#39;Marketing&#39;" in html
    assert "row 5: ann@example.org appears twice" in html
    assert "row 6: expected 3 columns" in html
    assert count(app, Invitation) == 0
    good = "email,team,role\nann@example.org,sales,staff\n=cmd@example.org,Finance,Manager\n"
    result = client.post(f"{url}/roster", data={
        "csrf_token": csrf_token(client, url),
        "roster": (io.BytesIO(good.encode()), "roster.csv")}, content_type="multipart/form-data")
    assert result.status_code == 200, result.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(result.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["ann@example.org", "'=cmd@example.org"]
    assert rows[0]["team"] == "Sales" and rows[0]["role"] == "Staff"
    with app.app_context():
        emails = set(db.session().scalars(sa.select(Invitation.email)))
    assert emails == {"ann@example.org", "=cmd@example.org"}


def test_users_page_creates_users_with_hashed_passwords(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    token = csrf_token(client, "/admin/users")
    short = client.post("/admin/users", data={"csrf_token": token, "email": "x@example.org",
                                              "role": "lead", "password": "short"})
    assert short.status_code == 422
    ok = client.post("/admin/users", data={"csrf_token": token, "email": "x@example.org",
                                           "role": "lead", "password": "long-enough-password"})
    assert ok.status_code == 302
    fresh = app.test_client()
    from .conftest import Auth

    assert Auth(fresh).login("x@example.org", "long-enough-password").status_code == 302


def test_assessment_list_paginates(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    app.config["PAGE_SIZE"] = 2
    for _ in range(5):
        make_assessment(app)
    auth.login()
    first = client.get("/admin/").get_data(as_text=True)
    assert "Page 1 of 3" in first and first.count("/admin/assessments/") - first.count(
        "/admin/assessments/new") == 2
    assert "Page 3 of 3" in client.get("/admin/?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in client.get("/admin/?page=99").get_data(as_text=True)


def test_tokens_are_not_shown_after_generation(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    tokens = make_tokens(app, aid, 3)
    auth.login()
    html = client.get(f"/admin/assessments/{aid}").get_data(as_text=True)
    assert not any(t in html for t in tokens)


def test_sharing_through_the_admin_page(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    """Share with a lead, who then reads the results; unshare, and they cannot any more. Only
    leads can be chosen, and a lead already shared with is not offered again."""
    import re

    from .conftest import Auth

    aid = make_assessment(app)
    lead = app.test_client()
    Auth(lead).login("lead@example.org", LEAD_PASSWORD)
    assert lead.get(f"/results/{aid}/").status_code == 404
    assert f"/results/{aid}/" not in lead.get("/results/").get_data(as_text=True)

    auth.login()
    page_url = f"/admin/assessments/{aid}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Not shared with any lead yet" in page
    assert '<option value="lead@example.org">' in page
    assert '<option value="admin@example.org">' not in page  # admins are not offered

    refused = client.post(f"{page_url}/shares", data={
        "lead": "admin@example.org", "csrf_token": csrf_token(client, page_url)},
        follow_redirects=True)
    assert "Choose a lead to share with." in refused.get_data(as_text=True)
    assert lead.get(f"/results/{aid}/").status_code == 404

    shared = client.post(f"{page_url}/shares", data={
        "lead": "lead@example.org", "csrf_token": csrf_token(client, page_url)},
        follow_redirects=True)
    html = shared.get_data(as_text=True)
    assert "lead@example.org can now read the results." in html
    assert '<option value="lead@example.org">' not in html  # not offered twice
    assert lead.get(f"/results/{aid}/").status_code == 200
    assert f"/results/{aid}/" in lead.get("/results/").get_data(as_text=True)

    remove = re.search(rf'action="(/admin/assessments/{aid}/shares/\d+/delete)"', html)
    assert remove, "no Remove button for the lead"
    forged = client.post(remove.group(1), data={})
    assert forged.status_code == 400
    assert lead.get(f"/results/{aid}/").status_code == 200
    unshared = client.post(remove.group(1), data={"csrf_token": csrf_token(client, page_url)},
                           follow_redirects=True)
    assert "Sharing removed." in unshared.get_data(as_text=True)
    assert "Not shared with any lead yet" in unshared.get_data(as_text=True)
    assert lead.get(f"/results/{aid}/").status_code == 404
    assert f"/results/{aid}/" not in lead.get("/results/").get_data(as_text=True)
