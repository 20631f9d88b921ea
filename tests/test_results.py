"""Results pages: who may read them, that small groups never show, that the demo's planted
patterns are found, that results are stored and reused, and the comparison of two cycles."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment
from assessment.services import access
from assessment.services.results import results

from .conftest import (
    LEAD_PASSWORD,
    Template,
    build_template,
    csrf_token,
    make_assessment,
    make_tokens,
    release,
    settle,
)
from .test_survey import complete

PAGES = ["", "dimensions", "heatmap", "heatmap?by=agreement", "divergence", "recommendations",
         "comments", "readiness"]


def submit_many(app, aid: int, team: str, n: int, role: str = "Staff") -> None:  # type: ignore[no-untyped-def]
    for token in make_tokens(app, aid, n, team=team, role=role):
        client = app.test_client()
        complete(client, app, token)
        client.post(f"/s/{token}/submit",
                    data={"csrf_token": csrf_token(client, f"/s/{token}/review")})


@pytest.fixture
def small_team_assessment(app, small_team_assessment_template: Template) -> int:  # type: ignore[no-untyped-def]
    """Sales has 6 respondents, Finance 2 (below the minimum of 5), Ops 5, released."""
    return int(small_team_assessment_template.value)


@pytest.fixture(scope="session")
def small_team_assessment_template(request: pytest.FixtureRequest) -> Template:
    return build_template(request, released_small_teams)


def released_small_teams(app) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Finance", "Ops"), min_group_size=5)
    submit_many(app, aid, "Sales", 6)
    submit_many(app, aid, "Finance", 2)
    submit_many(app, aid, "Ops", 5, role="Manager")
    release(app, aid)
    return aid


def test_a_lead_reads_only_what_is_shared(app, client, auth, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    aid = small_team_assessment
    other = make_assessment(app)
    auth.login("lead@example.org", LEAD_PASSWORD)
    assert "No assessment has been shared" in client.get("/results/").get_data(as_text=True)
    for page in PAGES:
        assert client.get(f"/results/{aid}/{page}").status_code == 404, page
    with app.app_context():
        access.share(db.session(), db.session().get(Assessment, aid), "lead@example.org")
    for page in PAGES:
        assert client.get(f"/results/{aid}/{page}").status_code == 200, page
        assert client.get(f"/results/{other}/{page}").status_code == 404, page
    assert client.get("/results/999/").status_code == 404
    listing = client.get("/results/").get_data(as_text=True)
    assert f"/results/{aid}/" in listing and f"/results/{other}/" not in listing


def test_anonymous_visitors_are_sent_to_login(app, client, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    for page in PAGES:
        response = client.get(f"/results/{small_team_assessment}/{page}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_small_groups_never_show_on_any_page(app, client, auth, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    aid = small_team_assessment
    overview = client.get(f"/results/{aid}/").get_data(as_text=True)
    # Finance (2) is hidden, and so is its complement (the next smallest, Ops with 5), so the
    # total (13) cannot reveal Finance's count.
    finance_row = re.search(r"<th scope=\"row\">Finance</th>(.*?)</tr>", overview, re.S).group(1)
    assert "hidden" in finance_row and not re.search(r">\s*\d", finance_row)
    ops_row = re.search(r"<th scope=\"row\">Ops</th>(.*?)</tr>", overview, re.S).group(1)
    assert "hidden" in ops_row
    for page in PAGES[1:]:
        html = client.get(f"/results/{aid}/{page}").get_data(as_text=True)
        for cell in re.findall(r"<th scope=\"row\">Finance</th>(.*?)</tr>", html, re.S):  # noqa: B007
            assert re.search(r">\s*\d", cell) is None, (page, cell)
    with app.app_context():
        analysis = results(db.session(), db.session().get(Assessment, aid)).analysis.to_json()
    for dim in analysis["dimensions"].values():
        assert dim["groups"]["Finance"] == {"suppressed": True}
    for cluster in analysis["divergence"]["clusters"]["clusters"]:
        assert all(g["group"] != "Finance" for g in cluster["groups"])
    for rec in analysis["recommendations"]:
        assert "Finance" not in json.dumps(rec)
    assert not list(_exposed(analysis, "Finance")), list(_exposed(analysis, "Finance"))


def _exposed(node, name: str, path: str = ""):  # type: ignore[no-untyped-def]
    """Paths where `name` is a key whose value is anything but suppressed cells."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name and not _all_suppressed(value):
                yield f"{path}.{key}"
            yield from _exposed(value, name, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _exposed(value, name, f"{path}[{i}]")


def _all_suppressed(value) -> bool:  # type: ignore[no-untyped-def]
    if value == {"suppressed": True}:
        return True
    return isinstance(value, dict) and bool(value) and all(
        _all_suppressed(v) for v in value.values())


def test_comments_need_the_larger_threshold(app, client, auth) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Finance"))
    tokens = {"Sales": make_tokens(app, aid, 10, team="Sales"),
              "Finance": make_tokens(app, aid, 6, team="Finance")}
    from .test_survey import answer_page, page_questions, start

    for team, team_tokens in tokens.items():
        for token in team_tokens:
            c = app.test_client()
            start(c, token)
            for page in range(1, 6):
                answer_page(c, token, page, {q: "3" for q in page_questions(app, page)},
                            comment=f"note from {team}" if page == 1 else "")
            c.post(f"/s/{token}/submit", data={"csrf_token": csrf_token(c, f"/s/{token}/review")})
    release(app, aid)
    auth.login()
    html = client.get(f"/results/{aid}/comments").get_data(as_text=True)
    assert "note from Sales" in html
    assert "note from Finance" not in html and "Finance" not in html


def test_charts_are_accessible_svg_with_tables(app, client, auth, small_team_assessment) -> None:  # type: ignore[no-untyped-def]
    auth.login()
    html = client.get(f"/results/{small_team_assessment}/dimensions").get_data(as_text=True)
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) >= 11  # the lens chart, then distribution and agreement per dimension
    assert all('role="img"' in s and "aria-labelledby" in s for s in svgs)
    assert html.count("The table behind this chart") == len(svgs)
    assert "<script" not in html.split("</main>")[0].split("<main")[1]


def test_the_demo_shows_its_planted_patterns(app, demo) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        baseline, current = session.scalars(sa.select(Assessment).order_by(Assessment.id)).all()
        r = results(session, baseline).analysis.to_json()
        handoffs = r["dimensions"]["handoffs"]["groups"]
        assert (handoffs["IT platform"]["lenses"]["architecture"]
                - handoffs["Order management"]["lenses"]["architecture"]) > 40
        governance_roles = r["dimensions"]["governance"]["roles"]
        assert governance_roles["Leadership"]["mean"] - governance_roles["Staff"]["mean"] > 1
        assert r["dimensions"]["manual_checkpoints"]["lens_gap"] < -25
        data_groups = r["dimensions"]["data"]["groups"]
        assert data_groups["Order management"]["rwg_j"] < 0.7 < data_groups["Sales"]["rwg_j"]
        clusters = r["divergence"]["clusters"]
        assert clusters["k"] >= 2
        smallest = min(clusters["clusters"], key=lambda c: c["size"])
        assert {g["group"] for g in smallest["groups"]} <= {"Order management",
                                                             "Network operations"}
        assert r["readiness"]["verdict"] in ("conditional", "not_ready")
        # What the rules say is what is planted (and the general lag of the platform's lens):
        # the governance role gap, order management answering data as if at random, the team
        # split on handoffs and the front-line camp on checkpoints as divergent statements.
        fired = {(rec["id"], rec["dimension"]) for rec in r["recommendations"]}
        assert {("role-gap", "governance"), ("team-without-agreement", "data"),
                ("platform-lags-manual-checkpoints", "manual_checkpoints"),
                ("many-divergent-items", "handoffs")} <= fired
        assert not {rule for rule, _ in fired} & {"low-consensus", "few-respondents"}
        assert {dim for rule, dim in fired if rule == "role-gap"} == {"governance"}
        assert {dim for rule, dim in fired if rule == "team-without-agreement"} == {"data"}
        without = next(rec for rec in r["recommendations"] if rec["id"] == "team-without-agreement")
        assert without["evidence"]["groups"][0]["group"] == "Order management"
        from assessment.services.cycles import compare_with_previous

        change = compare_with_previous(session, current, results(session, current).analysis, None)
        assert change.previous.id == baseline.id
        assert change.change["dimensions"]["handoffs"]["significant"]
        assert change.change["dimensions"]["handoffs"]["change"] > 5
        assert len(change.trend) == 2
    # (the overview draws the trend chart from these)


def test_each_team_shows_its_own_reliability(app, client, demo, auth) -> None:  # type: ignore[no-untyped-def]
    """Teams of 25 are reliable on handoffs, where teams differ (ICC(1) .45), and not on
    ownership, where they hardly do: the pages mark the second, not the first."""
    with app.app_context():
        baseline = db.session().scalar(sa.select(Assessment).order_by(Assessment.id))
        aid = baseline.id
        r = results(db.session(), baseline).analysis.to_json()
    handoffs = r["dimensions"]["handoffs"]["groups"]["Sales"]
    ownership = r["dimensions"]["ownership"]["groups"]["Sales"]
    assert handoffs["reliable"] is True and handoffs["reliability"] > 0.9
    assert ownership["reliable"] is False
    auth.login()
    heatmap = client.get(f"/results/{aid}/heatmap").get_data(as_text=True)
    assert "† marks a team whose own mean is unreliable" in heatmap
    assert f">{ownership['score']:.0f}†</text>" in heatmap  # on the map
    sales = re.search(r'<th scope="row">Sales</th>(.*?)</tr>', heatmap, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", sales)  # ownership ... checkpoints, unreliable
    assert cells[0] == f"{ownership['score']:.0f}"  # the table keeps numbers in the cells
    assert "Ownership" in cells[-1] and "Handoffs" not in cells[-1]
    dimensions = client.get(f"/results/{aid}/dimensions").get_data(as_text=True)
    assert "Reliability of the mean" in dimensions and "rwg(j) by chance (95%)" in dimensions
    # Teams agreeing moderately pass AD(M)'s c/6 and not rwg's .70: the page says so and why.
    differ = r["dimensions"]["ownership"]["readings_differ"]
    assert "Sales" in differ
    assert f"AD(M) and rwg read {', '.join(differ)} differently" in dimensions


def test_cycle_comparison_on_the_overview(app, client, demo, auth) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        current = db.session().scalar(sa.select(Assessment).order_by(Assessment.id.desc()))
        current_id = current.id
    auth.login()
    html = client.get(f"/results/{current_id}/").get_data(as_text=True)
    # Until a worker has compared the cycles, the overview says so (and waits for nothing).
    assert "comparison with the previous cycle is being prepared" in html
    settle(app)
    html = client.get(f"/results/{current_id}/").get_data(as_text=True)
    assert "Since the previous cycle" in html and "Welch" in html
    handoffs = re.search(r"Handoffs between teams and suppliers</th>(.*?)</tr>", html, re.S)
    assert handoffs and "yes (p" in handoffs.group(1)
    assert "Change per team" in html and 'id="trend"' in html


def test_charts_are_drawn_with_the_release_outside_any_transaction(app, client, auth,  # type: ignore[no-untyped-def]
                                                                   monkeypatch) -> None:
    """The pages' charts are drawn once, when the release is made (in a worker), outside any
    transaction (on SQLite one holds the write lock, and respondents' saves would wait), and
    the pages serve them from storage without drawing anything."""
    from assessment.reporting import charts

    from .test_reports import submit

    seen = []
    original = charts.lens_bars

    def watching(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(db.session().in_transaction())
        return original(*args, **kwargs)

    monkeypatch.setattr(charts, "lens_bars", watching)
    aid = make_assessment(app, teams=("Sales", "Ops"))
    submit(app, aid, "Sales", 6)
    submit(app, aid, "Ops", 6, offset=1)
    release(app, aid)
    assert seen == [False]
    auth.login()
    for page in ("dimensions", "heatmap", "heatmap?by=agreement"):
        response = client.get(f"/results/{aid}/{page}")
        assert response.status_code == 200 and "<svg" in response.get_data(as_text=True)
    assert client.get(f"/results/{aid}/divergence").status_code == 200
    assert seen == [False]  # not drawn again for the pages
