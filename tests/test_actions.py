"""Targets and actions on the results pages: who may see and change them, validation, the
history of every change, the list's filters and pages, the readiness one-pager, the calendar
feed (checked against the rules of RFC 5545 by hand, not through the library that wrote it),
and the effect of the earlier cycle's actions in the next one on the demo."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Action, ActionEvent, Assessment, Target
from assessment.services import access
from assessment.services import actions as svc

from .conftest import LEAD_PASSWORD, Auth, Template, build_template, csrf_token
from .test_results import released_small_teams

LEAD = "lead@example.org"


@pytest.fixture
def assessed(app, assessed_template: Template) -> int:  # type: ignore[no-untyped-def]
    """Released: Sales 6 and Ops 5 shown, Finance (2) hidden, as in the results tests."""
    return int(assessed_template.value)


@pytest.fixture(scope="session")
def assessed_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, released_small_teams)


def share(app, aid: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, aid), LEAD)


def new_action(app, aid: int, **fields) -> int:  # type: ignore[no-untyped-def]
    data = {"title": "Fix it", "owner": "Ann", "due": date.today() + timedelta(days=30),
            "status": "planned", "dimension": "data", "lens": None, "statements": [],
            "teams": [], "description": "", "recommendation": None, **fields}
    with app.app_context():
        session = db.session()
        return svc.create(session, session.get(Assessment, aid), data, "test@example.org").id


def post_action(client, aid: int, url: str | None = None, **fields):  # type: ignore[no-untyped-def]
    url = url or f"/results/{aid}/actions/new"
    data = {"csrf_token": csrf_token(client, url), "title": "Agree one backlog report",
            "description": "One report", "owner": "Ann Example", "due": "2030-01-31",
            "status": "planned", "dimension": "data", "lens": "", **fields}
    return client.post(url, data=data)


def test_only_readers_of_the_assessment_see_or_change_actions(app, client, auth,  # type: ignore[no-untyped-def]
                                                               assessed) -> None:
    aid = assessed
    action_id = new_action(app, aid)
    auth.login(LEAD, LEAD_PASSWORD)
    urls = [f"/results/{aid}/actions", f"/results/{aid}/actions/new",
            f"/results/{aid}/actions/{action_id}", f"/results/{aid}/targets"]
    for url in urls:
        assert client.get(url).status_code == 404, url
    token = csrf_token(client, "/account/tokens")
    for url in (f"/results/{aid}/actions/{action_id}", f"/results/{aid}/actions/calendar",
                f"/results/{aid}/targets", f"/results/{aid}/actions/new"):
        assert client.post(url, data={"csrf_token": token, "title": "x", "owner": "y",
                                      "due": "2030-01-01", "dimension": "data",
                                      "status": "done"}).status_code == 404, url
    with app.app_context():
        assert db.session().get(Action, action_id).status.value == "planned"
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Target)) == 0
    share(app, aid)
    for url in urls:
        assert client.get(url).status_code == 200, url
    # An action is reached only under its own assessment.
    other = new_action(app, aid)
    assert client.get(f"/results/{aid + 100}/actions/{other}").status_code == 404


def test_forms_need_their_csrf_token(app, client, auth, assessed) -> None:  # type: ignore[no-untyped-def]
    aid = assessed
    auth.login()
    response = client.post(f"/results/{aid}/actions/new", data={
        "title": "x", "owner": "y", "due": "2030-01-01", "dimension": "data",
        "status": "planned"})
    assert response.status_code == 400
    assert client.post(f"/results/{aid}/targets", data={}).status_code == 400
    assert client.post(f"/results/{aid}/actions/calendar", data={}).status_code == 400
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Action)) == 0


def test_validation_names_each_problem(app, client, auth, assessed) -> None:  # type: ignore[no-untyped-def]
    aid = assessed
    auth.login()
    response = post_action(client, aid, owner="", due="next week", title="x" * 201)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#owner"' in html and 'href="#due"' in html and 'href="#title"' in html
    assert 'aria-invalid="true"' in html
    # A team hidden in the release (Finance has 2 respondents) cannot be named: it is not even
    # offered, and sending it anyway is refused.
    form = client.get(f"/results/{aid}/actions/new").get_data(as_text=True)
    assert 'value="Sales"' in form and 'value="Finance"' not in form
    response = post_action(client, aid, teams=["Finance"])
    assert response.status_code == 422
    response = post_action(client, aid, lens="nonsense")
    assert response.status_code == 422
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Action)) == 0
        session = db.session()
        with pytest.raises(svc.InvalidInput) as refused:
            svc.clean(session, session.get(Assessment, aid),
                      {"title": "t", "owner": "o", "due": "2030-01-01", "dimension": "data",
                       "teams": ["Finance", "Ops"], "statements": ["NOPE-1"]})
        assert set(refused.value.fields) == {"teams", "statements"}


def test_every_change_is_kept_with_who_and_when(app, client, auth,  # type: ignore[no-untyped-def]
                                                assessed) -> None:
    aid = assessed
    auth.login()
    response = post_action(client, aid, teams=["Sales"])
    assert response.status_code == 302
    url = response.headers["Location"]
    response = post_action(client, aid, url=url, status="in_progress", owner="Bo Example",
                           teams=["Sales"])
    assert response.status_code == 302
    post_action(client, aid, url=url, status="in_progress", owner="Bo Example", teams=["Sales"])
    html = client.get(url).get_data(as_text=True)
    assert "admin@example.org: created the action" in html
    assert "status: planned → in_progress" in html and "owner: Ann Example → Bo Example" in html
    with app.app_context():
        events = db.session().scalars(sa.select(ActionEvent).order_by(ActionEvent.id)).all()
        # Saving without a change records nothing.
        assert [e.kind for e in events] == ["created", "changed"]
        assert events[1].changes == {"status": ["planned", "in_progress"],
                                     "owner": ["Ann Example", "Bo Example"]}
        assert events[1].actor == "admin@example.org"


def test_the_list_filters_pages_and_marks_overdue(app, client, auth,  # type: ignore[no-untyped-def]
                                                  assessed) -> None:
    aid = assessed
    late = new_action(app, aid, title="Late one", due=date.today() - timedelta(days=3))
    new_action(app, aid, title="Late but done", due=date.today() - timedelta(days=3),
               status="done")
    for i in range(app.config["PAGE_SIZE"]):
        new_action(app, aid, title=f"Handoff step {i:02d}", dimension="handoffs",
                   due=date.today() + timedelta(days=10 + i))
    auth.login()
    first = client.get(f"/results/{aid}/actions").get_data(as_text=True)
    assert f"Actions of this cycle ({app.config['PAGE_SIZE'] + 2})" in first
    row = re.search(rf'<tr class="is-overdue"><th scope="row"><a href="[^"]+/{late}">', first)
    assert row and first.count('class="overdue"') == 1  # the done one is not overdue
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get(f"/results/{aid}/actions?page=2").get_data(as_text=True)
    assert "Handoff step" in second and "Late one" not in second
    done = client.get(f"/results/{aid}/actions?status=done").get_data(as_text=True)
    assert "Late but done" in done and "Late one" not in done
    data = client.get(f"/results/{aid}/actions?dimension=data&status=planned").get_data(
        as_text=True)
    assert "Late one" in data and "Handoff step" not in data
    # Nonsense filters and pages fall back to everything, page 1.
    assert client.get(f"/results/{aid}/actions?status=x&dimension=y&page=-4").status_code == 200


def test_targets_show_the_gap_and_are_inherited(app, client, auth,  # type: ignore[no-untyped-def]
                                                assessed) -> None:
    aid = assessed
    auth.login()
    url = f"/results/{aid}/targets"
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "t_data_all-value": "150"})
    assert response.status_code == 422 and "From 0 to 100." in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "t_data_all-value": "90",
                                      "t_handoffs_architecture-value": "80"})
    assert response.status_code == 302
    with app.app_context():
        session = db.session()
        a = session.get(Assessment, aid)
        current = svc.releases.latest(session, a).result["dimensions"]["data"]["score"]
        # A next cycle reads these targets until it sets its own.
        from assessment.services.assessments import create_assessment

        nxt = create_assessment(session, bank=a.bank, name="Next", teams=["Sales"],
                                roles=["Staff"], min_group_size=5, previous=a)
        inherited = svc.targets(session, nxt)
        assert inherited.inherited and inherited.source.id == aid
        assert inherited.get("data") == 90 and inherited.get("handoffs", "architecture") == 80
    overview = client.get(f"/results/{aid}/").get_data(as_text=True)
    section = overview[overview.index("Against the targets"):]
    assert re.search(r"Data people trust</th><td>Whole dimension</td>\s*<td class=\"num\">"
                     rf"{current:.0f}</td><td class=\"num\">90</td>\s*<td class=\"num\">"
                     rf"{90 - current:.0f} to go", section)
    dims = client.get(f"/results/{aid}/dimensions").get_data(as_text=True)
    assert "90 for the dimension" in dims and "80 for the architecture lens" in dims


def _unfold(ics: bytes) -> list[str]:
    return ics.decode("utf-8").replace("\r\n ", "").split("\r\n")


def test_the_calendar_feed_follows_rfc_5545_and_can_be_revoked(app, client, auth,  # type: ignore[no-untyped-def]
                                                                assessed) -> None:
    aid = assessed
    long_title = "Retire the weekly reconciliation, re-keying; and the chasing " * 3
    action_id = new_action(app, aid, title=long_title[:200], owner="Zoë Ünal",
                           due=date(2030, 3, 31), description="Line one\nLine two")
    auth.login()
    url = f"/results/{aid}/actions"
    html = client.post(f"/results/{aid}/actions/calendar",
                       data={"csrf_token": csrf_token(client, url)}).get_data(as_text=True)
    feed = re.search(r'value="(http://[^"]+\.ics)"', html).group(1)
    assert feed.startswith("http://testserver/calendar/")  # on the configured BASE_URL
    path = feed.split("testserver", 1)[1]
    assert "cal_" in path and feed not in client.get(url).get_data(as_text=True)  # shown once
    anonymous = app.test_client()
    response = anonymous.get(path)  # no login: the secret is the key
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    raw = response.data
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends in CRLF
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets
    assert any(line.startswith(b" ") for line in raw.split(b"\r\n"))  # and folding happened
    lines = _unfold(raw)
    assert "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)
    assert f"UID:action-{action_id}@testserver" in lines
    assert re.search(r"^DTSTAMP:\d{8}T\d{6}Z$", "\n".join(lines), re.M)
    assert "DTSTART;VALUE=DATE:20300331" in lines
    summary = next(x for x in lines if x.startswith("SUMMARY:"))
    assert "reconciliation\\, re-keying\\; and" in summary  # TEXT escaping
    description = next(x for x in lines if x.startswith("DESCRIPTION:"))
    assert "Owner: Zoë Ünal\\n" in description and "Line one\\nLine two" in description
    with app.app_context():
        stored = db.session().scalar(sa.text("SELECT secret_hash FROM action_feeds"))
        assert path.split("/")[-1][:-4] not in stored and len(stored) == 64
    # Revoking makes a new address and the old one stops at once.
    html = client.post(f"/results/{aid}/actions/calendar",
                       data={"csrf_token": csrf_token(client, url)}).get_data(as_text=True)
    renewed = re.search(r'value="(http://[^"]+\.ics)"', html).group(1)
    assert renewed != feed
    assert anonymous.get(path).status_code == 404
    assert anonymous.get(renewed.split("testserver", 1)[1]).status_code == 200
    assert anonymous.get("/calendar/cal_guess.ics").status_code == 404


def test_the_next_cycle_shows_what_happened_to_what_was_acted_on(app, client,  # type: ignore[no-untyped-def]
                                                                  settled_demo, auth) -> None:
    """The demo's baseline actions: the handoffs architecture lens rose (planted +0.6 on the
    scale), data did not move. The effect is the cycle comparison's Welch test; the reference
    here is scipy's t-test on the two releases' lens summaries, computed in the test."""
    from scipy import stats

    with app.app_context():
        session = db.session()
        baseline, current = session.scalars(sa.select(Assessment).order_by(Assessment.id)).all()
        before = svc.releases.latest(session, baseline).result["dimensions"]
        after = svc.releases.latest(session, current).result["dimensions"]
        bid, cid = baseline.id, current.id
        after_recs = svc.releases.latest(session, current).result["recommendations"]
    prev, cur = before["handoffs"]["lens_stats"]["architecture"], \
        after["handoffs"]["lens_stats"]["architecture"]
    p_handoffs = stats.ttest_ind_from_stats(cur["mean"], cur["sd"], cur["n"], prev["mean"],
                                            prev["sd"], prev["n"], equal_var=False).pvalue
    assert p_handoffs < 0.05
    auth.login()
    html = client.get(f"/results/{cid}/").get_data(as_text=True)
    section = html[html.index("Did what we decided work?"):]
    section = section[:section.index("</section>")]
    handoffs = re.search(r"Show the status of every handoff.*?</tr>", section, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]+)</td>', handoffs)
    # The change is in points of the 0-100 scale, from the means (scale 1-5), as the cycle
    # comparison reports it.
    assert cells[:3] == [f"{prev['score']:.0f}", f"{cur['score']:.0f}",
                         f"{(cur['mean'] - prev['mean']) / 4 * 100:+.0f}"]
    assert "Done" in handoffs and "architecture lens" in handoffs and "yes (p" in handoffs
    data = re.search(r"One backlog report instead of three.*?</tr>", section, re.S).group(0)
    assert "no (p" in data and "In progress" in data
    assert "not proof" in section and "Welch" in section
    # A recommendation becomes an action in two steps: its link opens the form filled in from
    # it (title, dimension, statements, the reader as owner, a due date), and saving it as it
    # is makes the action.
    page = client.get(f"/results/{cid}/recommendations").get_data(as_text=True)
    link = re.search(r'href="(/results/\d+/actions/new\?recommendation=team-without-agreement'
                     r'&amp;dimension=data)"', page).group(1).replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    rec = next(r for r in after_recs if r["id"] == "team-without-agreement")
    assert f'value="{rec["title"]}"' in form and 'value="admin@demo.example"' not in form
    assert re.search(r'<option selected value="data"|<option value="data" selected', form)
    fields = dict(re.findall(r'<input[^>]*name="(title|owner|due|recommendation)"[^>]*'
                             r'value="([^"]*)"', form))
    assert fields["recommendation"] == "team-without-agreement" and fields["owner"]
    response = client.post(link, data={**fields, "csrf_token": csrf_token(client, link),
                                       "status": "planned", "dimension": "data", "lens": ""})
    assert response.status_code == 302
    with app.app_context():
        made = db.session().scalar(sa.select(Action).order_by(Action.id.desc()))
        assert (made.title, made.dimension, made.recommendation, made.assessment_id) == (
            rec["title"], "data", "team-without-agreement", cid)
    # The one-pager of the next cycle lists its action under the failed checkpoint gate.
    readiness = client.get(f"/results/{cid}/readiness").get_data(as_text=True)
    assert "Retire the weekly reconciliation with finance" in readiness
    # A lead shared the next cycle only is told the earlier one is not shared, nothing more.
    with app.app_context():
        session = db.session()
        current = session.get(Assessment, cid)
        current.leads.append(session.scalar(sa.select(access.User).where(
            access.User.email == LEAD)))
        session.commit()
    lead = app.test_client()
    Auth(lead).login(LEAD, LEAD_PASSWORD)
    html = lead.get(f"/results/{cid}/").get_data(as_text=True)
    assert "previous cycle is not shared with you" in html
    assert "Show the status of every handoff" not in html
    assert lead.get(f"/results/{bid}/actions").status_code == 404
