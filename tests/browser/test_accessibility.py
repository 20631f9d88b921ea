"""WCAG 2.2 AA in a real browser: axe-core on every page state of the three journeys, at a
phone's and a desktop's size, with every <details> open; plus what axe cannot judge.

axe-core comes from the npm package pinned in package-lock.json (`make test` runs `npm ci`);
it is injected into each page, which needs the CSP bypassed in this browser context only. Any
violation of a rule tagged wcag2a, wcag2aa, wcag21a, wcag21aa or wcag22aa fails, listed with
the page, the size, the rule and the elements.

Beyond axe, on every page state: no sideways scrolling at 320 CSS px (1.4.10), headings that
never skip a level going down, and focus on the error summary wherever a form came back with
errors (3.3.1). On chart pages: every chart's text at least 12 CSS px as drawn at 360 px wide
(1.4.4), and each heatmap number's contrast with its cell, computed from the colours the browser
paints (1.4.3). The survey's buttons are laid out in their tab order on a desktop.

The whole file takes a minute or two; it runs in the SQLite pass only (skipped when
TEST_DATABASE_URL is set), as the pages it checks do not depend on the database engine.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..conftest import ADMIN_PASSWORD, make_assessment, make_tokens
from ..wcag import contrast_ratio, parse_colour
from .conftest import _unavailable
from .test_lead_journey import demo_lead_password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                       reason="pages are checked in the SQLite pass; they do not depend on it"),
]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SIZES = {"phone 360x740": PHONE, "desktop 1280x800": DESKTOP}
NARROWEST = 320
TIMEOUT_MS = 20_000
MIN_CHART_TEXT_PX = 12


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        _unavailable(f"axe-core is not installed at {AXE} (run `npm ci`, as `make test` does)")
    return AXE.read_text(encoding="utf-8")


@dataclass
class Audit:
    """Runs every check on a page state and gathers what fails, so one run lists them all."""

    axe: str = field(repr=False)
    size: str = ""
    failures: list[str] = field(default_factory=list)
    states: int = 0

    def check(self, page, state: str, *, error_summary: bool = False) -> None:  # type: ignore[no-untyped-def]
        self.states += 1
        where = f"[{self.size}] {state} ({page.url})"
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=self.axe)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})", WCAG_TAGS)
        for v in result["violations"]:
            targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:6])
            self.failures.append(f"{where}: axe {v['id']} ({v['impact']}, {len(v['nodes'])} "
                                 f"element(s)): {v['help']} -> {targets}")
        self._heading_levels(page, where)
        if error_summary:
            focused = page.evaluate(
                "document.activeElement && document.activeElement.hasAttribute("
                "'data-error-summary')")
            if not focused:
                self.failures.append(f"{where}: focus is not on the error summary")
        if self.size.startswith("phone"):
            self._no_sideways_scroll(page, where)

    def _heading_levels(self, page, where: str) -> None:  # type: ignore[no-untyped-def]
        levels = page.evaluate(
            "[...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]"
            ".filter(h => h.checkVisibility()).map(h => +h.tagName[1])")
        if not levels or levels[0] != 1:
            self.failures.append(f"{where}: the first heading is not an h1: {levels}")
        for before, after in zip(levels, levels[1:], strict=False):
            if after > before + 1:
                self.failures.append(f"{where}: heading levels jump from h{before} to h{after}")
                break

    def _no_sideways_scroll(self, page, where: str) -> None:  # type: ignore[no-untyped-def]
        original = page.viewport_size
        page.set_viewport_size({"width": NARROWEST, "height": original["height"]})
        try:
            widths = page.evaluate("({scroll: document.documentElement.scrollWidth,"
                                   " inner: window.innerWidth})")
            # A phone widens its layout viewport to fit content that overflows, so compare
            # with the width asked for, not with what the page reports.
            if max(widths["scroll"], widths["inner"]) > NARROWEST:
                wide = page.evaluate(
                    "w => [...document.querySelectorAll('body *')].filter(e =>"
                    " e.getBoundingClientRect().right > w + 1).slice(-4).map(e =>"
                    " e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +"
                    " (e.className && e.className.baseVal === undefined ? '.' + e.className : ''))",
                    NARROWEST)
                self.failures.append(f"{where}: sideways scrolling at {NARROWEST} px: "
                                     f"{widths}, e.g. {wide}")
        finally:
            page.set_viewport_size(original)

    def charts(self, page, state: str) -> None:  # type: ignore[no-untyped-def]
        """Chart text as drawn, in CSS px: font size times the SVG's scale on screen (the
        length of the transformed unit vector, so rotated axis labels count too). On a
        desktop every chart also fits its column: only a phone scrolls them."""
        where = f"[{self.size}] {state}"
        sizes = page.evaluate(
            "[...document.querySelectorAll('svg.chart text')].map(t =>"
            " [parseFloat(getComputedStyle(t).fontSize)"
            "  * Math.hypot(t.getScreenCTM().a, t.getScreenCTM().b),"
            "  t.textContent.trim()])")
        assert sizes, f"{where}: no chart text found"
        if self.size.startswith("desktop"):
            wide = page.evaluate(
                "[...document.querySelectorAll('.chart-scroll')].filter(r =>"
                " r.scrollWidth > r.clientWidth + 1).map(r => r.getAttribute('aria-label'))")
            if wide:
                self.failures.append(f"{where}: charts that do not fit a desktop: {wide}")
        small = [(round(px, 1), text) for px, text in sizes if px < MIN_CHART_TEXT_PX - 0.05]
        if small:
            self.failures.append(f"{where}: {len(small)} chart text(s) below "
                                 f"{MIN_CHART_TEXT_PX} px, e.g. {small[:5]}")

    def heatmap_labels(self, page, state: str) -> int:  # type: ignore[no-untyped-def]
        """Each number on the heatmap against the colour of its own cell ("hidden" against
        the plain box drawn behind it), both read from the browser's computed paint."""
        pairs = page.evaluate(
            "[...document.querySelectorAll('g[id*=\"-label-\"]')].map(g => {"
            " const cell = document.getElementById(g.id.replace('-label-', '-cell-'));"
            " const text = g.querySelector('text');"
            " const shape = g.querySelector('path') || (cell && cell.querySelector('path'));"
            " return [g.id, text.textContent.trim(), getComputedStyle(text).fill,"
            "  shape ? getComputedStyle(shape).fill : null]; })")
        assert pairs, f"[{self.size}] {state}: no heatmap labels found"
        for gid, text, ink, paper in pairs:
            assert paper, f"{gid}: no cell drawn under the label"
            ratio = contrast_ratio(parse_colour(ink), parse_colour(paper))
            if ratio < 4.5:
                self.failures.append(f"[{self.size}] {state}: heatmap label {text!r} ({gid}) "
                                     f"is {ratio:.2f}:1 on its cell ({ink} on {paper})")
        return len(pairs)


def run_sizes(browser, axe: str, journey: Callable[[object, Audit], None]) -> list[Audit]:  # type: ignore[no-untyped-def]
    audits = []
    for size, options in SIZES.items():
        context = browser.new_context(bypass_csp=True, **options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        audit = Audit(axe, size)
        try:
            journey(page, audit)
        finally:
            context.close()
        audits.append(audit)
    return audits


def assert_clean(audits: list[Audit], expected_states: int) -> None:
    for audit in audits:
        assert audit.states == expected_states, (audit.size, audit.states)
    failures = [f for a in audits for f in a.failures]
    assert not failures, f"{len(failures)} accessibility failure(s):\n" + "\n".join(failures)


def go(page, url: str) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(url)
    assert response is not None


def submit(page, button_name: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.get_by_role("button", name=button_name, exact=True).click()


def log_in(page, base: str, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    go(page, f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    submit(page, "Log in")
    assert "/login" not in page.url, "login failed"


# --- the respondent -------------------------------------------------------------------------

@pytest.mark.long
def test_respondent_pages_pass_axe_at_both_sizes(app, live_server, browser, axe_source) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    tokens = make_tokens(app, aid, n=2)
    closed = make_tokens(app, make_assessment(app, status="draft"))[0]  # not open yet

    def journey(page, audit: Audit) -> None:  # type: ignore[no-untyped-def]
        token = tokens[0] if audit.size.startswith("phone") else tokens[1]
        base = f"{live_server}/s/{token}"
        go(page, base)
        audit.check(page, "introduction")
        submit(page, "Start")
        audit.check(page, "page 1")

        # An answer outside the scale and an over-long comment, as a tampered post would send.
        page.evaluate("""() => {
            const radio = document.querySelector('fieldset.question input[type=radio]');
            radio.value = '9'; radio.checked = true;
            const comment = document.getElementById('comment');
            comment.removeAttribute('maxlength'); comment.value = 'x'.repeat(2100);
        }""")
        submit(page, "Save and continue")
        audit.check(page, "page 1 with errors", error_summary=True)
        summary = page.locator("[data-error-summary]")
        links = summary.get_by_role("link")
        assert links.count() == 2, summary.inner_text()
        first_question = page.locator("fieldset.question").first
        statement = first_question.locator("legend").inner_text()
        question_id = first_question.get_attribute("id").removeprefix("f-")
        assert question_id not in summary.inner_text(), "the summary names a code, not a statement"
        assert re.sub(r"^\d+\.\s*", "", statement)[:40] in summary.inner_text()
        invalid = first_question.locator("input[aria-invalid=true]")
        assert invalid.count() == first_question.locator("input").count()
        described = first_question.get_attribute("aria-describedby").split()
        message = page.locator(f"#{described[-1]}")
        assert "not one of the options" in message.inner_text()
        assert page.locator("#comment").get_attribute("aria-invalid") == "true"
        # The summary's link takes focus to the question it names.
        links.first.click()
        assert page.evaluate("document.activeElement.name") == \
            first_question.locator("input").first.get_attribute("name")

        for number in range(1, 6):
            go(page, f"{base}/p/{number}")
            for fieldset in page.locator("fieldset.question").all()[:3]:
                fieldset.locator("label.option").nth(3).click()
            if number > 1:
                audit.check(page, f"page {number}")
            if number == 2 and audit.size.startswith("desktop"):
                check_button_order(page)
            if number == 1:
                check_focus_ring_on_radio(page)
            submit(page, "Save and review" if number == 5 else "Save and continue")
        audit.check(page, "review with unanswered statements")
        submit(page, "Submit my answers")
        audit.check(page, "thank-you page")
        go(page, base)
        audit.check(page, "link already used")
        go(page, f"{live_server}/s/{closed}")
        audit.check(page, "assessment closed")
        page.goto(f"{live_server}/s/not-a-real-link-at-all")
        audit.check(page, "unknown link (404)")

    assert_clean(run_sizes(browser, axe_source, journey), expected_states=12)


def check_button_order(page) -> None:  # type: ignore[no-untyped-def]
    """The buttons read, left to right, in the order Tab reaches them."""
    boxes = page.locator(".nav-buttons button").evaluate_all(
        "bs => bs.map(b => [b.textContent.trim(), b.getBoundingClientRect().left,"
        " b.getBoundingClientRect().top])")
    assert [b[0] for b in boxes] == ["Save and continue", "Save and go back"]
    (_, x1, y1), (_, x2, y2) = boxes
    assert abs(y1 - y2) < 10, f"not side by side on a desktop: {boxes}"
    assert x1 < x2, f"shown in the reverse of their tab order: {boxes}"


def check_focus_ring_on_radio(page) -> None:  # type: ignore[no-untyped-def]
    """A radio reached by Tab rings its whole option, at 3:1 or more against the page."""
    page.locator("h1").click()
    page.keyboard.press("Tab")
    ring = page.evaluate("""() => {
        const input = document.activeElement;
        const option = input.closest('.option');
        const style = getComputedStyle(option);
        return [input.type, style.outlineStyle, parseFloat(style.outlineWidth),
                style.outlineColor, getComputedStyle(document.body).backgroundColor];
    }""")
    kind, style, width, colour, background = ring
    assert kind == "radio", ring
    assert style == "solid" and width >= 2, f"no ring around the focused option: {ring}"
    assert contrast_ratio(parse_colour(colour), parse_colour(background)) >= 3, ring


# --- the lead -------------------------------------------------------------------------------

@pytest.mark.long
def test_lead_pages_pass_axe_at_both_sizes(app, settled_demo, live_server, browser,  # type: ignore[no-untyped-def]
                                           axe_source) -> None:
    password = demo_lead_password(settled_demo)
    tabs = ["Overview", "Dimensions", "Heatmap", "Divergence", "Recommendations", "Comments",
            "Readiness"]

    def journey(page, audit: Audit) -> None:  # type: ignore[no-untyped-def]
        go(page, f"{live_server}/login")
        audit.check(page, "login")
        submit(page, "Log in")
        audit.check(page, "login with empty fields", error_summary=True)
        summary = page.locator("[data-error-summary]")
        assert summary.get_by_role("link").count() == 2
        email = page.locator("#email")
        assert email.get_attribute("aria-invalid") == "true"
        assert "email-error" in email.get_attribute("aria-describedby").split()
        page.fill("#email", "lead@demo.example")
        page.fill("#password", "not the password")
        submit(page, "Log in")
        audit.check(page, "login refused")
        log_in(page, live_server, "lead@demo.example", password)
        audit.check(page, "results list")
        with page.expect_navigation():
            page.get_by_role("link", name="Northwind Networks: six months on").click()
        base = page.url
        for tab in tabs:
            if tab != "Overview":
                with page.expect_navigation():
                    page.locator("nav.tabs").get_by_role("link", name=tab, exact=True).click()
            h1 = page.locator("h1").inner_text()
            assert h1.startswith(tab), f"the {tab} tab's h1 reads {h1!r}"
            audit.check(page, f"results: {tab}")
            if tab in ("Overview", "Dimensions", "Heatmap", "Divergence"):
                audit.charts(page, f"results: {tab}")
            if tab == "Heatmap":
                assert audit.heatmap_labels(page, "heatmap by score") >= 25
                go(page, f"{base}heatmap?by=agreement")
                audit.check(page, "results: Heatmap by agreement")
                audit.heatmap_labels(page, "heatmap by agreement")
            if tab == "Dimensions":
                labels = page.locator("#dist-ownership svg text").all_text_contents()
                assert any(re.fullmatch(r"\(OWN-[AO]\d+\)", t.strip()) for t in labels), \
                    "the code is kept as a secondary label"
                assert sum(len(t) > 25 for t in labels) >= 5, \
                    "statements label the distribution chart, not codes alone"
        go(page, f"{base}download/pdf/status")
        audit.check(page, "a report being prepared")
        go(page, f"{live_server}/account/tokens")
        audit.check(page, "API tokens, none yet")
        submit(page, "Create token")
        audit.check(page, "API tokens, name missing", error_summary=True)
        page.fill("#name", "PowerBIRefreshForTheSteeringCommitteeDashboard")  # no place to break
        submit(page, "Create token")
        audit.check(page, "API tokens, a new token shown")

    assert_clean(run_sizes(browser, axe_source, journey), expected_states=16)


# --- the admin ------------------------------------------------------------------------------

@pytest.mark.long
def test_admin_pages_pass_axe_at_both_sizes(app, live_server, browser, axe_source) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, status="draft")

    def journey(page, audit: Audit) -> None:  # type: ignore[no-untyped-def]
        log_in(page, live_server, "admin@example.org", ADMIN_PASSWORD)
        audit.check(page, "assessments")
        go(page, f"{live_server}/admin/assessments/new")
        audit.check(page, "new assessment")
        submit(page, "Create assessment")
        audit.check(page, "new assessment, fields missing", error_summary=True)
        summary = page.locator("[data-error-summary]")
        assert summary.get_by_role("link", name=re.compile("^Name: ")).count() == 1
        assert page.locator("#name").get_attribute("aria-invalid") == "true"
        page.fill("#name", "Spring")
        page.fill("#teams", "Sales, Sales")
        page.fill("#roles", "Staff")
        submit(page, "Create assessment")
        audit.check(page, "new assessment, a team named twice", error_summary=True)
        link = page.locator("[data-error-summary]").get_by_role(
            "link", name=re.compile("^Teams: .*more than once"))
        assert link.count() == 1
        assert page.locator("#teams").get_attribute("aria-invalid") == "true"
        assert "teams-error" in page.locator("#teams").get_attribute("aria-describedby")
        link.click()
        assert page.evaluate("document.activeElement.id") == "teams"
        go(page, f"{live_server}/admin/assessments/{aid}")
        audit.check(page, "an assessment")
        page.fill("#count", "0")
        submit(page, "Generate and download links")
        audit.check(page, "invitation links refused", error_summary=True)
        go(page, f"{live_server}/admin/assessments/{aid}")
        page.set_input_files("#roster", files=[{
            "name": "roster.csv", "mimeType": "text/csv",
            "buffer": b"email,team,role\nnot-an-email,Nowhere,Staff\n"}])
        submit(page, "Import and download links")
        audit.check(page, "roster refused", error_summary=True)
        go(page, f"{live_server}/admin/users")
        audit.check(page, "users")
        page.fill("#email", "lead@example.org")
        page.fill("#password", "short")
        submit(page, "Create user")
        audit.check(page, "users with errors", error_summary=True)
        go(page, f"{live_server}/results/{aid}/")
        audit.check(page, "results overview with no responses")
        go(page, f"{live_server}/results/{aid}/dimensions")
        audit.check(page, "results page with no responses")

    assert_clean(run_sizes(browser, axe_source, journey), expected_states=11)


# --- time limits ----------------------------------------------------------------------------

@pytest.fixture
def short_sessions(app) -> Iterator[float]:  # type: ignore[no-untyped-def]
    """Sessions that end after 12 idle seconds, so the warning comes after about 6."""
    app.config["SESSION_IDLE_MINUTES"] = 0.2
    yield 12.0


@pytest.mark.long
def test_a_warning_before_the_session_ends_lets_the_admin_stay(  # type: ignore[no-untyped-def]
        app, live_server, browser, short_sessions) -> None:
    """Typing extends the session quietly once; then, away from the keyboard, the warning comes,
    "Stay logged in" extends the session on the server, and when a session does end, what was
    typed is put back after logging in again."""
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    dialog = page.locator("#session-warning")
    try:
        log_in(page, live_server, "admin@example.org", ADMIN_PASSWORD)
        go(page, f"{live_server}/admin/assessments/new")
        page.fill("#name", "Half-filled")
        dialog.wait_for(state="visible", timeout=30_000)
        assert page.evaluate("document.getElementById('session-warning').open")
        stay = dialog.get_by_role("button", name="Stay logged in")
        assert stay.is_visible()
        assert page.evaluate("document.activeElement.textContent.trim()") == "Stay logged in"
        assert re.search(r"logged out at \d", dialog.inner_text()), dialog.inner_text()
        stay.click()
        dialog.wait_for(state="hidden")
        assert page.locator("#name").input_value() == "Half-filled"
        # Past the moment the session would have ended without the click, it still holds.
        page.wait_for_timeout(7_000)
        page.reload()
        assert page.url.endswith("/admin/assessments/new"), "staying did not extend the session"

        # Away for good: the session ends, the typed text is kept and put back after login.
        page.fill("#name", "Half-filled again")
        again = dialog.get_by_role("link", name="Log in again")
        again.wait_for(state="visible", timeout=40_000)
        assert "has ended" in dialog.inner_text()
        with page.expect_navigation():
            again.click()
        assert "/login" in page.url, page.url
        page.fill("#email", "admin@example.org")
        page.fill("#password", ADMIN_PASSWORD)
        submit(page, "Log in")
        assert page.url.endswith("/admin/assessments/new"), page.url
        assert page.locator("#name").input_value() == "Half-filled again"
        assert page.locator("#draft-restored").is_visible()
    finally:
        context.close()


@pytest.mark.long
def test_typing_counts_as_activity(app, live_server, browser, short_sessions) -> None:  # type: ignore[no-untyped-def]
    """Someone filling a form is not idle: the session is extended without interrupting."""
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        log_in(page, live_server, "admin@example.org", ADMIN_PASSWORD)
        go(page, f"{live_server}/admin/users")
        for i in range(16):  # 16 s of typing, longer than the 12 s idle limit
            page.locator("#email").type(str(i % 10))
            page.wait_for_timeout(1_000)
            assert not page.evaluate("document.getElementById('session-warning').open")
        submit(page, "Create user")
        assert "/login" not in page.url, "the session ended while the admin was typing"
    finally:
        context.close()


def test_extending_answers_how_long_is_left(client, auth) -> None:  # type: ignore[no-untyped-def]
    from ..conftest import csrf_token

    auth.login()
    token = csrf_token(client, "/admin/")
    reply = client.post("/account/session", headers={"X-CSRFToken": token})
    assert reply.status_code == 200
    state = json.loads(reply.get_data(as_text=True))
    assert state["idle_seconds"] == 30 * 60
    assert 12 * 3600 - 60 < state["absolute_seconds_left"] <= 12 * 3600
    assert client.post("/account/session").status_code == 400  # CSRF still applies



@pytest.mark.long
def test_action_pages_pass_axe_at_both_sizes(app, settled_demo, live_server, browser,  # type: ignore[no-untyped-def]
                                             axe_source) -> None:
    """The actions list with its effect section, a new action (filled from a recommendation
    and with errors), an action with its history, the targets form, and the calendar address."""
    password = demo_lead_password(settled_demo)

    def journey(page, audit: Audit) -> None:  # type: ignore[no-untyped-def]
        log_in(page, live_server, "lead@demo.example", password)
        with page.expect_navigation():
            page.get_by_role("link", name="Northwind Networks: six months on").click()
        base = page.url
        go(page, f"{base}actions")
        audit.check(page, "actions with the earlier cycle's effect")
        go(page, f"{base}recommendations")
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("^Turn into an action")).first.click()
        audit.check(page, "new action from a recommendation")
        page.fill("#owner", "")
        page.fill("#title", "")
        submit(page, "Save action")
        audit.check(page, "new action with errors", error_summary=True)
        page.fill("#owner", "Ann")
        page.fill("#title", "Agree who decides exceptions")
        submit(page, "Save action")
        audit.check(page, "an action with its history")
        go(page, f"{base}targets")
        audit.check(page, "targets")
        go(page, f"{base}actions")
        with page.expect_navigation():  # "Revoke and make a new address" on the second size
            page.get_by_role("button", name=re.compile("make a (new )?(calendar )?address",
                                                       re.I)).click()
        audit.check(page, "calendar address shown")

    assert_clean(run_sizes(browser, axe_source, journey), expected_states=6)
