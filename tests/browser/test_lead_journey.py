"""A transformation lead reads the demo's results on a tablet, in a real browser.

Covers: logging in by typing and pressing Enter, the results list, the overview's four headline
tiles, the readiness verdict, the cycle comparison (the planted improvement in handoffs, Welch
test), responses per team, moving between the results tabs by keyboard (`aria-current` follows),
accessible SVG charts with their tables on the dimensions page, no sideways scrolling at 1024 px,
the heatmap's "By agreement" view showing order management's planted disagreement on data, the
perception clusters, the failed readiness gates with their reasons, downloading the PDF by its
link, and a 404 for an assessment not shared with the lead. Any console error, uncaught page
error or 5xx response on the way fails the test.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import make_assessment, run_jobs

pytestmark = pytest.mark.browser

TABLET = {"viewport": {"width": 1024, "height": 768}, "has_touch": True}
TIMEOUT_MS = 15_000
DOWNLOAD_TIMEOUT_MS = 60_000
BUILD_TIMEOUT_MS = 600_000
CURRENT = "Northwind Networks: six months on"
LEAD = "lead@demo.example"
VERDICTS = {"Ready", "Ready with conditions", "Not ready"}
TILES = ["Alignment", "Maturity", "Consensus", "Readiness"]
HANDOFFS = "Handoffs between teams and suppliers"
DATA = "Data people trust"
TEAMS = 6


@dataclass
class Watch:
    """Everything that went wrong in the browser. A 404 we navigate to on purpose is expected,
    and so is Chromium's own request for /favicon.ico; nothing else may fail."""

    problems: list[str] = field(default_factory=list)
    expected_404: set[str] = field(default_factory=set)

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("console", lambda m: self._console(page, m))
        page.on("pageerror", lambda e: self.problems.append(f"page error on {page.url}: {e}"))
        page.on("response", lambda r: self._response(r))
        page.on("requestfailed", lambda r: self._failed(r))

    def _response(self, response) -> None:  # type: ignore[no-untyped-def]
        # Any 5xx fails, and so does a 4xx other than the expected ones.
        if response.status >= 500 or (response.status >= 400
                                      and not self._expected(response.url)):
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def _failed(self, request) -> None:  # type: ignore[no-untyped-def]
        # A download is reported as an aborted navigation; that is how Chromium hands it over.
        if "/download/" in request.url:
            return
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _expected(self, url: str) -> bool:
        return url.endswith("/favicon.ico") or url in self.expected_404

    def _console(self, page, message) -> None:  # type: ignore[no-untyped-def]
        if message.type != "error":
            return
        source = message.location.get("url", "")
        if self._expected(source) and "404" in message.text:
            return
        self.problems.append(f"console error on {page.url} ({source}): {message.text}")


def demo_lead_password(output: str) -> str:
    """The lead's password in what `flask demo` printed (the `settled_demo` fixture: the demo
    with a worker's work done after it, all but the PDFs)."""
    match = re.search(rf"^Lead login:\s+{re.escape(LEAD)} / (\S+)$", output, re.M)
    assert match, f"no lead login in the demo's output:\n{output}"
    return match.group(1)


def click_to(page, locator) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        locator.click()


def tabs(page):  # type: ignore[no-untyped-def]
    return page.locator("nav.tabs")


def current_tab(page) -> str:  # type: ignore[no-untyped-def]
    active = tabs(page).locator('a[aria-current="page"]')
    assert active.count() == 1, "exactly one results tab must be marked as the current page"
    return active.inner_text().strip()


def go_to_tab(page, label: str) -> None:  # type: ignore[no-untyped-def]
    click_to(page, tabs(page).get_by_role("link", name=label, exact=True))
    assert current_tab(page) == label


def assert_no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth,"
                           " inner: window.innerWidth})")
    assert widths["inner"] == 1024, f"layout viewport is not the tablet's width: {widths}"
    assert widths["scroll"] <= widths["inner"] + 1, f"sideways scrolling on {page.url}: {widths}"


def open_table_behind(figure):  # type: ignore[no-untyped-def]
    """Open a chart's "The table behind this chart" as a reader would and return its table."""
    details = figure.locator("details")
    details.locator("summary", has_text="The table behind this chart").click()
    assert details.evaluate("d => d.open"), "the chart's details did not open"
    table = details.locator("table")
    assert table.is_visible()
    return table


def table_rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return table.evaluate(
        "t => [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent.trim()))")


def table_headers(table) -> list[str]:  # type: ignore[no-untyped-def]
    return table.evaluate("t => [...t.tHead.rows[0].cells].map(c => c.textContent.trim())")


def check_overview(page) -> None:  # type: ignore[no-untyped-def]
    headline = page.get_by_role("region", name="Headline figures")
    for name in TILES:
        tile = headline.locator(".tile").filter(
            has=page.get_by_role("heading", name=name, exact=True))
        assert tile.count() == 1, f"no {name} tile"
        assert tile.is_visible(), f"the {name} tile is not visible"
        big = tile.locator(".big").inner_text().strip()
        if name == "Readiness":
            badge = tile.locator(".verdict")
            assert badge.is_visible()
            assert badge.inner_text().strip() in VERDICTS, f"odd verdict badge: {big!r}"
            assert re.search(r"\d+ gate\(s\) failed|Every gate passed", tile.inner_text())
        else:
            assert re.fullmatch(r"\d+(\.\d+)?(/100)?", big), f"{name} tile shows {big!r}"

    since = page.locator("section").filter(
        has=page.get_by_role("heading", name=re.compile(r"^Since the previous cycle")))
    assert since.is_visible()
    assert "Northwind Networks: alignment baseline" in since.locator("h2").inner_text()
    assert "Welch" in since.inner_text()
    handoffs = since.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=HANDOFFS, exact=True))
    assert handoffs.count() == 1, "the handoffs dimension is missing from the comparison"
    meaningful = handoffs.locator("td").last.inner_text().strip()
    assert re.fullmatch(r"yes \(p (= 0\.\d{3}|< 0\.001)\)", meaningful), meaningful
    assert handoffs.locator("td").nth(2).inner_text().strip().startswith("+")

    assert page.locator(".rec").count() >= 1, "no top recommendation on the overview"

    per_team = page.locator("section").filter(
        has=page.get_by_role("heading", name="Responses per team in this release", exact=True))
    team_rows = per_team.locator("tbody tr")
    assert team_rows.count() == TEAMS
    submitted = [int(t) for t in per_team.locator("tbody tr td:nth-of-type(2)").all_inner_texts()]
    assert len(submitted) == TEAMS and all(n >= 5 for n in submitted), submitted
    # Leads read releases; only admins may release new responses.
    assert page.get_by_role("button", name="Release new responses now").count() == 0
    assert page.get_by_role("heading", name="Responses so far").is_visible()


def tab_by_keyboard(page, label: str) -> None:  # type: ignore[no-untyped-def]
    """From the current tab, Tab forward to `label` and press Enter, as a keyboard user would."""
    start = current_tab(page)
    tabs(page).get_by_role("link", name=start, exact=True).focus()
    labels = [a.strip() for a in tabs(page).locator("a").all_inner_texts()]
    for _ in range(labels.index(label) - labels.index(start)):
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == label, f"Tab reached {focused!r}, not the {label} tab"
    assert page.evaluate("document.activeElement.matches(':focus-visible')"), \
        "no visible focus on the tab reached by keyboard"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert current_tab(page) == label, "aria-current did not move to the tab opened by keyboard"


def check_dimensions(page) -> None:  # type: ignore[no-untyped-def]
    charts = page.locator('svg[role="img"]')
    assert charts.count() >= 11, f"only {charts.count()} charts on the dimensions page"
    titles = charts.evaluate_all("svgs => svgs.map(s => s.querySelector(':scope > title')"
                                 " ? s.querySelector(':scope > title').textContent.trim() : '')")
    assert all(titles), f"a chart without a title: {titles}"
    descriptions = charts.evaluate_all("svgs => svgs.map(s => (s.querySelector(':scope > desc')"
                                       " || {textContent: ''}).textContent.trim())")
    assert all(descriptions), "a chart without a text description"
    figures = page.locator("figure.chart-block")
    assert figures.count() == charts.count(), "every chart sits in a figure with its table"
    # The chart for one dimension, well down the page: the reader scrolls to it and opens it.
    figure = figures.nth(3)
    figure.scroll_into_view_if_needed()
    rows = table_rows(open_table_behind(figure))
    assert rows and all(len(r) >= 2 and r[0] for r in rows), rows
    assert_no_sideways_scroll(page)


def check_heatmap(page) -> None:  # type: ignore[no-untyped-def]
    toggle = page.get_by_role("navigation", name="Colour the heatmap by")
    assert toggle.locator('a[aria-current="page"]').inner_text().strip() == "By score"
    score_title = page.locator("figure svg > title").text_content()
    assert "agreement" not in score_title.lower()
    click_to(page, toggle.get_by_role("link", name="By agreement", exact=True))
    assert "by=agreement" in page.url
    assert toggle.locator('a[aria-current="page"]').inner_text().strip() == "By agreement"
    assert current_tab(page) == "Heatmap"
    title = page.locator("figure svg > title").text_content()
    assert title != score_title and "agreement" in title.lower(), title
    assert "agreement" in page.locator("figure figcaption").inner_text().lower()
    table = open_table_behind(page.locator("figure.chart-block"))
    headers = table_headers(table)
    rows = {r[0]: r for r in table_rows(table)}
    assert "Order management" in rows, rows.keys()
    cell = rows["Order management"][headers.index(DATA)]
    assert float(cell) < 0.70, f"order management's agreement on data is {cell}"
    # And the contrast the pattern is about: another team agrees far more on the same dimension.
    assert float(rows["Sales"][headers.index(DATA)]) >= float(cell) + 0.3
    assert_no_sideways_scroll(page)


def check_divergence(page) -> None:  # type: ignore[no-untyped-def]
    clusters = page.locator("article.cluster")
    assert clusters.count() >= 2, f"{clusters.count()} perception clusters"
    labels = clusters.locator("h3").all_inner_texts()
    assert any(re.search(r"Order management|Network operations", label) for label in labels), \
        f"no cluster label names the planted teams: {labels}"
    assert page.locator('svg[role="img"] > title', has_text="Perception clusters").count() == 1


def check_readiness(page) -> None:  # type: ignore[no-untyped-def]
    onepager = page.locator("section.onepager")
    verdict = onepager.locator("h2 .verdict").inner_text().strip()
    assert verdict in VERDICTS - {"Ready"}, verdict
    heading = onepager.get_by_role("heading", name=re.compile(r"^Failed gates \(\d+\)$"))
    failed_count = int(re.search(r"\d+", heading.inner_text()).group())
    gates = onepager.locator(".gate")
    assert failed_count >= 1 and gates.count() == failed_count
    for text in gates.all_inner_texts():
        kind, _, reason = text.partition(":")
        assert kind.strip() in ("Blocks", "Warning"), text
        assert len(reason.strip()) > 10, f"a failed gate without a reason: {text!r}"
    if verdict == "Not ready":
        assert onepager.locator(".gate-block").count() >= 1


def download_pdf(app, page, tmp_path: Path, assessment_id: int) -> bytes:  # type: ignore[no-untyped-def]
    """The PDF is not built yet (the worker has done everything else): its link leads to a page
    that says it is being prepared and follows the build (by script, or by reloading itself
    without one) until the worker has built it, then the download starts by itself."""
    link = page.locator("p.downloads").get_by_role("link", name="PDF", exact=True)
    assert link.is_visible()
    assert "being prepared" in page.locator("p.downloads").inner_text()
    click_to(page, link)
    assert page.get_by_role("heading", name="The PDF report", level=1).is_visible()
    expect(page.get_by_role("status")).to_contain_text("is being prepared")
    # Record what the status region is told from now on: the end only, not every poll.
    page.evaluate("""() => {
        window.announced = [];
        const el = document.querySelector('[data-report-status]');
        new MutationObserver(() => window.announced.push(el.textContent.trim()))
            .observe(el, {childList: true, characterData: true, subtree: true});
    }""")
    # The worker lays out the demo's PDFs (seconds each, more on a loaded machine) meanwhile.
    with page.expect_download(timeout=BUILD_TIMEOUT_MS) as info:
        # The worker's part, while the page waits (the earlier cycle's PDF is not asked for).
        assert run_jobs(app, kinds=("pdf",), assessment_id=assessment_id) >= 1
    download = info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    expect(page.get_by_role("status")).to_contain_text("is ready")
    assert page.evaluate("window.announced") == [
        "The PDF report is ready; the download starts by itself."]
    return target.read_bytes()


def pdf_text(pdf: bytes) -> str | None:
    """The PDF's text with whitespace collapsed, or None without pypdf (the reports extra)."""
    try:
        import pypdf
    except ImportError:
        return None
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split())


@pytest.mark.long
def test_a_lead_reads_the_dashboard_on_a_tablet(app, settled_demo, live_server, browser,  # type: ignore[no-untyped-def]
                                                tmp_path) -> None:
    password = demo_lead_password(settled_demo)
    watch = Watch()
    context = browser.new_context(**TABLET)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch.attach(page)
    try:
        # 1. Log in by typing, Enter submits; a lead lands on the list of results.
        page.goto(f"{live_server}/login")
        page.locator("#email").click()
        page.keyboard.type(LEAD)
        page.locator("#password").click()
        page.keyboard.type(password)
        with page.expect_navigation(url=f"{live_server}/results/"):
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", name="Results", exact=True).is_visible()
        listed = page.locator("ul.cards li a").all_inner_texts()
        assert sorted(listed) == sorted([CURRENT, "Northwind Networks: alignment baseline"])
        click_to(page, page.get_by_role("link", name=CURRENT, exact=True))
        assert re.fullmatch(rf"{re.escape(live_server)}/results/\d+/", page.url), page.url
        assessment_url = page.url

        # 2. Overview.
        assert page.get_by_role("heading", name=CURRENT, level=1).is_visible()
        assert current_tab(page) == "Overview"
        check_overview(page)
        assert_no_sideways_scroll(page)

        # 3 and 4. To Dimensions by keyboard.
        tab_by_keyboard(page, "Dimensions")
        assert page.url == f"{assessment_url}dimensions"
        check_dimensions(page)

        # 5. Heatmap, by keyboard again (focus straight on the tab, then Enter).
        tabs(page).get_by_role("link", name="Heatmap", exact=True).focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert current_tab(page) == "Heatmap"
        check_heatmap(page)

        # 6. Divergence.
        go_to_tab(page, "Divergence")
        check_divergence(page)

        # 7. Readiness.
        go_to_tab(page, "Readiness")
        check_readiness(page)
        assert_no_sideways_scroll(page)

        # 8. The PDF, by its link.
        pdf = download_pdf(app, page, tmp_path, int(assessment_url.rstrip("/").rsplit("/", 1)[1]))
        assert pdf.startswith(b"%PDF"), pdf[:20]
        assert len(pdf) > 20_000, f"the PDF is only {len(pdf)} bytes"
        text = pdf_text(pdf)
        if text is not None:
            assert CURRENT in text, "the PDF does not name the assessment"

        # 10. An assessment not shared with the lead is not found, in the browser too.
        other = make_assessment(app)
        other_url = f"{live_server}/results/{other}/"
        watch.expected_404.add(other_url)
        response = page.goto(other_url)
        assert response is not None and response.status == 404
        assert page.get_by_role("heading", name="Not found", level=1).is_visible()
        assert "Test" not in page.locator("main").inner_text()
        assert page.locator("nav.tabs").count() == 0
    finally:
        context.close()

    # 9. Nothing went wrong along the way.
    assert not watch.problems, "\n".join(watch.problems)
