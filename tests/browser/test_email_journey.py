"""An admin imports a roster, sends the invitations and reads them in the outbox, in a real
Chromium; the email page and the outbox pass axe at a phone's and a desktop's size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import ADMIN_PASSWORD, make_assessment, run_jobs
from ..test_email import KEY
from .test_accessibility import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    Audit,
    assert_clean,
    go,
    log_in,
    submit,
)
from .test_accessibility import axe_source as axe_source  # a fixture

pytestmark = pytest.mark.browser
ROSTER = b"email,team,role\nana@example.org,Sales,Staff\nbo@example.org,Finance,Manager\n"


def test_admin_imports_a_roster_sends_invitations_and_sees_the_outbox(  # type: ignore[no-untyped-def]
        app, live_server, browser, axe_source) -> None:  # noqa: F811
    app.config.update(TOKEN_KEYS=(KEY,), MAIL_SERVER=None, MAIL_RATE_PER_MINUTE=100_000,
                      BASE_URL=live_server)
    aid = make_assessment(app)
    audits = []
    for number, (size, options) in enumerate({"desktop": DESKTOP, "phone": PHONE}.items()):
        context = browser.new_context(bypass_csp=True, accept_downloads=True, **options)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))  # noqa: B023
        audit = Audit(axe_source, size)
        try:
            log_in(page, live_server, "admin@example.org", ADMIN_PASSWORD)
            go(page, f"{live_server}/admin/assessments/{aid}")
            if number == 0:
                page.set_input_files("#roster", files=[{
                    "name": "staff.csv", "mimeType": "text/csv", "buffer": ROSTER}])
                with page.expect_download() as download:
                    page.get_by_role("button", name="Import and download links").click()
                links_csv = open(download.value.path()).read()  # noqa: SIM115
                assert links_csv.count(f"{live_server}/s/") == 2
            page.get_by_role("link", name="Email invitations and reminders").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Email invitations and reminders")
            audit.check(page, "email page")
            if number == 0:
                submit(page, "Send invitations")
                expect(page.get_by_role("status").filter(has_text="Sending the invitations")
                       ).to_be_visible()
                run_jobs(app, ("email",))  # what the worker does
                page.reload()
                expect(page.get_by_text("Invitations: done, Done: 2 sent, 0 skipped, 0 failed")
                       ).to_be_visible()
            audit.check(page, "email page after sending")
            page.get_by_role("link", name="outbox").click()
            rows = page.locator("tbody tr")
            expect(rows).to_have_count(2)
            audit.check(page, "outbox")
            rows.first.get_by_role("link").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Your view on how we work: Test")
            text = page.locator("pre.mail-text").first.inner_text()
            link = re.search(rf"{re.escape(live_server)}/s/[A-Za-z0-9_-]+", text)
            assert link and link.group(0) in links_csv
            audit.check(page, "an outbox message")
            # The emailed link opens the questionnaire.
            go(page, link.group(0))
            expect(page.get_by_role("heading", name="Who sees what")).to_be_visible()
        finally:
            context.close()
        assert not errors, errors
        audits.append(audit)
    assert_clean(audits, expected_states=4)
