"""The admin's email page, the outbox pages and the one-click unsubscribe, through the web."""

from __future__ import annotations

import re

import sqlalchemy as sa

from assessment import db
from assessment.models import Invitation, MailTemplate

from .conftest import LEAD_PASSWORD, csrf_token, make_assessment, run_jobs
from .test_email import KEY, link_in, roster
from .test_email import smtp as smtp  # a fixture


def test_page_previews_the_default_texts_and_is_for_admins_only(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    assert client.get(f"/admin/assessments/{aid}/email").status_code == 302  # to the login
    auth.login("lead@example.org", LEAD_PASSWORD)
    assert client.get(f"/admin/assessments/{aid}/email").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/results/")})
    auth.login()
    page = client.get(f"/admin/assessments/{aid}/email").get_data(as_text=True)
    assert "http://testserver/s/example-personal-link" in page
    assert "groups of at least 5 people" in page
    assert "Emailing links needs TOKEN_KEYS" in page  # no key in this app
    assert client.get(f"/admin/assessments/{aid + 100}/email").status_code == 404


def test_texts_are_validated_saved_and_previewed(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    auth.login()
    url = f"/admin/assessments/{aid}/email"
    data = {"csrf_token": csrf_token(client, url), "invitation_subject": "Hi {assessment.x}",
            "invitation_body": "No link here", "reminder_subject": "Again {assessment}",
            "reminder_body": "Go: {link} <b>", "reminder_days": "3,x", "save": "Save"}
    bad = client.post(url, data=data)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "unknown placeholder" in text and "must contain {link}" in text
    assert "whole numbers" in text
    with app.app_context():
        assert db.session().get(MailTemplate, aid) is None
    data.update(invitation_subject="Survey: {assessment}", invitation_body="Yours: {link}",
                reminder_days="2, 5")
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        row = db.session().get(MailTemplate, aid)
        assert (row.invitation_subject, row.reminder_days) == ("Survey: {assessment}", "2,5")
    page = client.get(url).get_data(as_text=True)
    assert "Survey: Test" in page
    assert "Go: http://testserver/s/example-personal-link &lt;b&gt;" in page


def test_send_buttons_queue_jobs_that_send(app, client, auth, smtp) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    aid = make_assessment(app)
    roster(app, aid, 3)
    auth.login()
    url = f"/admin/assessments/{aid}/email"
    for action in ("invitations", "test"):
        answer = client.post(url + "/send", data={"csrf_token": csrf_token(client, url),
                                                  "action": action})
        assert answer.status_code == 302
    run_jobs(app, ("email", "email_test"))
    to = smtp.to()
    assert sorted(to) == ["admin@example.org", "admin@example.org", "person0@example.org",
                          "person1@example.org", "person2@example.org"]
    tests = [m for m in smtp.messages() if m["To"] == "admin@example.org"]
    assert all(str(m["Subject"]).startswith("[Test] ") for m in tests)
    assert all("example-personal-link" in link_in(m) for m in tests)
    page = client.get(url).get_data(as_text=True)
    assert "Invitations: done, Done: 3 sent, 0 skipped, 0 failed" in page
    # Refusals are listed with the reason.
    smtp.refuse.add("late@example.org")
    with app.app_context():
        from assessment.models import Assessment
        from assessment.services import assessments as svc

        session = db.session()
        svc.import_roster(session, session.get(Assessment, aid), "email,team,role\n"
                          "late@example.org,Sales,Staff", base_url="http://testserver")
    client.post(url + "/send", data={"csrf_token": csrf_token(client, url),
                                     "action": "invitations"})
    run_jobs(app, ("email",))
    page = client.get(url).get_data(as_text=True)
    assert re.search(r"late@example.org</td><td>invitation</td><td>[\d-]+</td>\s*"
                     r"<td>550 5.1.1 No such mailbox here", page)


def test_without_a_key_sending_is_refused(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    auth.login()
    url = f"/admin/assessments/{aid}/email"
    answer = client.post(url + "/send", data={"csrf_token": csrf_token(client, url),
                                              "action": "invitations"}, follow_redirects=True)
    assert "Emailing links needs TOKEN_KEYS" in answer.get_data(as_text=True)
    bad = client.post(url + "/send", data={"csrf_token": csrf_token(client, url),
                                           "action": "everyone"})
    assert bad.status_code == 400
    assert client.post(url + "/send", data={"action": "invitations"}).status_code == 400


def test_unsubscribe_confirms_with_csrf_or_takes_the_one_click_post(app, client) -> None:  # type: ignore[no-untyped-def]
    from assessment.services import mail

    aid = make_assessment(app)
    app.config["TOKEN_KEYS"] = (KEY,)
    roster(app, aid, 2)
    with app.app_context():
        ids = list(db.session().scalars(sa.select(Invitation.id).order_by(Invitation.id)))
        urls = [mail.unsubscribe_url(i).removeprefix("http://testserver") for i in ids]
    page = client.get(urls[0])
    assert page.status_code == 200 and "Send me no more reminders" in page.get_data(as_text=True)
    assert client.post(urls[0], data={}).status_code == 400  # neither CSRF nor one-click
    done = client.post(urls[0], data={"csrf_token": csrf_token(client, urls[0])})
    assert done.status_code == 200 and "no more reminders" in done.get_data(as_text=True)
    # A mail program's RFC 8058 POST: no cookie, no CSRF token.
    fresh = app.test_client()
    assert fresh.post(urls[1], data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        assert all(db.session().scalars(sa.select(Invitation.unsubscribed_on)))
    assert client.get(urls[0][:-3] + "xyz").status_code == 404
    assert fresh.post("/unsubscribe/forged", data={"List-Unsubscribe": "One-Click"}
                      ).status_code == 404


def test_outbox_pages_list_newest_first_and_show_a_message(app, client, auth, runner) -> None:  # type: ignore[no-untyped-def]
    app.config.update(TOKEN_KEYS=(KEY,), MAIL_RATE_PER_MINUTE=100_000, PAGE_SIZE=2)
    aid = make_assessment(app)
    roster(app, aid, 3)
    assert "3 sent" in runner.invoke(args=["email", "invitations", str(aid)]).output
    auth.login()
    first = client.get("/admin/outbox").get_data(as_text=True)
    assert "Page 1 of 2" in first
    names = re.findall(r'/admin/outbox/([^"]+\.eml)', first)
    assert len(names) == 2 and names == sorted(names, reverse=True)
    second = client.get("/admin/outbox?page=2").get_data(as_text=True)
    assert len(re.findall(r'/admin/outbox/([^"]+\.eml)', second)) == 1
    shown = client.get(f"/admin/outbox/{names[0]}").get_data(as_text=True)
    assert "http://testserver/s/" in shown and "person" in shown
    assert client.get("/admin/outbox/..%2f..%2fetc%2fpasswd").status_code == 404
    assert client.get("/admin/outbox/20200101000000-000000-" + "0" * 32 + ".eml"
                      ).status_code == 404
