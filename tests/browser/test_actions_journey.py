"""A lead closes the loop in a real browser: turns a recommendation of the baseline into an
action in two clicks (the link, then Save), sets a target, and in the next cycle reads whether
the dimensions acted on moved. Any console error, page error or 5xx fails the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .test_lead_journey import TABLET, TIMEOUT_MS, Watch, demo_lead_password

pytestmark = pytest.mark.browser

BASELINE = "Northwind Networks: alignment baseline"
CURRENT = "Northwind Networks: six months on"


def test_a_lead_turns_a_recommendation_into_an_action_and_sees_its_effect(  # type: ignore[no-untyped-def]
        app, settled_demo, live_server, browser) -> None:
    password = demo_lead_password(settled_demo)
    context = browser.new_context(**TABLET)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch()
    watch.attach(page)
    try:
        page.goto(f"{live_server}/login")
        page.fill("#email", "lead@demo.example")
        page.fill("#password", password)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/results/$"))
        with page.expect_navigation():
            page.get_by_role("link", name=BASELINE).click()
        page.locator("nav.tabs").get_by_role("link", name="Recommendations", exact=True).click()
        expect(page.locator("h1")).to_contain_text("Recommendations")
        # Click one: the link under the governance role-gap recommendation.
        link = page.locator("p.rec-action a[href*='recommendation=role-gap']")
        expect(link).to_contain_text("Turn into an action")
        link.click()
        expect(page.locator("#title")).to_have_value("Roles disagree on how this area works")
        expect(page.locator("#dimension")).to_have_value("governance")
        expect(page.locator("#owner")).to_have_value("lead@demo.example")
        # Click two: save it as it came.
        page.get_by_role("button", name="Save action").click()
        expect(page.locator(".history")).to_contain_text("lead@demo.example: created the action")
        expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()
        # Targets: governance as a whole to 70.
        page.locator("nav.tabs").get_by_role("link", name="Targets", exact=True).click()
        field = page.get_by_role("spinbutton", name=re.compile(
            r"Governance and process rules Whole dimension"))
        field.fill("70")
        page.get_by_role("button", name="Save targets").click()
        expect(page.get_by_role("status").filter(has_text="Targets saved")).to_be_visible()
        row = page.locator("tr", has=page.get_by_role(
            "rowheader", name="Governance and process rules")).first
        expect(row).to_contain_text("to go")
        # The next cycle: did what was decided work?
        page.goto(f"{live_server}/results/")
        page.get_by_role("link", name=CURRENT).click()
        section = page.locator("section", has=page.get_by_role(
            "heading", name="Did what we decided work?"))
        expect(section).to_be_visible()
        handoffs = section.locator("tr", has_text="Show the status of every handoff")
        expect(handoffs).to_contain_text("architecture lens")
        expect(handoffs).to_contain_text(re.compile(r"yes \(p"))
        data = section.locator("tr", has_text="One backlog report instead of three")
        expect(data).to_contain_text(re.compile(r"no \(p"))
        expect(section).to_contain_text("not proof")
        expect(section.locator("tr", has_text="Roles disagree")).to_be_visible()
        # The inherited target shows on the next cycle's overview.
        targets = page.locator("section", has=page.get_by_role(
            "heading", name="Against the targets"))
        expect(targets).to_contain_text(f"Targets set on {BASELINE}")
    finally:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)
