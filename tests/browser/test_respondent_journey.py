"""A person answers the whole survey on a phone, in a real browser, through the app's own pages.

Covers: the intro's promise about who sees what, tapping answers by their visible label text, one
question answered with the keyboard alone, "Page N of 5", no sideways scrolling at 360 px, a
comment, "Save and go back" keeping answers, closing the page and resuming from the link, the
review list, submitting once, and what ends up in the database. Any console error (a CSP refusal
of an inline script or style shows up as one) or uncaught page error fails the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Answer, Comment, Response

from ..conftest import make_assessment, make_tokens

pytestmark = pytest.mark.browser

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DONT_KNOW = "Don’t know"
COMMENT = "Approvals wait for the Tuesday meeting; nobody owns the backlog in between."
KEYBOARD_PAGE = 2
COMMENT_PAGE = 2
TIMEOUT_MS = 10_000


@dataclass
class Bank:
    pages: list[list[tuple[str, str]]]  # per page: (question id, question text)
    labels: dict[str, str]  # posted value -> visible label
    dimension_ids: list[str]

    @property
    def question_count(self) -> int:
        return sum(len(p) for p in self.pages)


@dataclass
class Watch:
    """Everything that went wrong in the browser, gathered from every page we open."""

    problems: list[str] = field(default_factory=list)

    def attach(self, page) -> None:  # type: ignore[no-untyped-def]
        page.on("console", lambda m: self._console(page, m))
        page.on("pageerror", lambda e: self.problems.append(f"page error on {page.url}: {e}"))
        page.on("response", lambda r: r.status >= 400
                and self.problems.append(f"HTTP {r.status} for {r.url}"))

    def _console(self, page, message) -> None:  # type: ignore[no-untyped-def]
        if message.type != "error":
            return
        source = message.location.get("url", "")
        # Chromium asks for /favicon.ico by itself and the app has none; that 404 is the
        # browser's doing, not the page's, and says nothing about the survey.
        if source.endswith("/favicon.ico"):
            return
        self.problems.append(f"console error on {page.url} ({source}): {message.text}")


def load_bank(app) -> Bank:  # type: ignore[no-untyped-def]
    from assessment.services.banks import bank_of, find_bank

    with app.app_context():
        bank = bank_of(find_bank(db.session(), "alignment"))
        pages = [[(q.id, q.text) for q in bank.questions_in(d.id)] for d in bank.dimensions]
        labels = {str(p): bank.scale.labels.get(p, str(p)) for p in bank.scale.points}
        assert bank.scale.not_applicable, "the test expects a “Don’t know” option"
        labels["dk"] = DONT_KNOW
        return Bank(pages, labels, [d.id for d in bank.dimensions])


def plan_answers(bank: Bank) -> dict[str, str]:
    """A spread of scale points with one "don't know" per page."""
    plan: dict[str, str] = {}
    for number, questions in enumerate(bank.pages, start=1):
        for i, (qid, _text) in enumerate(questions):
            plan[qid] = "dk" if i == 2 else str((i + number) % 5 + 1)
    return plan


def radio(page, qid: str, value: str):  # type: ignore[no-untyped-def]
    return page.locator(f'input[type=radio][name="q-{qid}"][value="{value}"]')


def checked_value(page, qid: str) -> str | None:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "name => { const r = document.querySelector(`input[name=\"${name}\"]:checked`);"
        " return r ? r.value : null; }", f"q-{qid}")


def assert_fits_phone(page) -> None:  # type: ignore[no-untyped-def]
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth,"
                           " inner: window.innerWidth})")
    assert widths["inner"] == 360, f"layout viewport is not the phone's width: {widths}"
    assert widths["scroll"] <= widths["inner"], f"sideways scrolling on {page.url}: {widths}"


def assert_on_page(page, base: str, token: str, number: int) -> None:  # type: ignore[no-untyped-def]
    assert page.url == f"{base}/s/{token}/p/{number}"
    progress = page.locator("#progress-label")
    assert progress.inner_text().strip() == f"Page {number} of 5"
    assert progress.is_visible()
    assert page.locator("progress").get_attribute("value") == str(number)
    assert_fits_phone(page)


def tap_answer(page, qid: str, value: str, labels: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Tap the visible text of the option, as a person would, and check it took."""
    page.locator(f'fieldset[id="f-{qid}"]').get_by_text(labels[value], exact=True).tap()
    assert radio(page, qid, value).is_checked(), f"tapping “{labels[value]}” did not answer {qid}"


def answer_by_keyboard(page, qid: str, next_qid: str) -> None:  # type: ignore[no-untyped-def]
    """From the top of a fresh page: Tab past the skip link into the first radio group, arrow to
    the third point; then Tab leaves the group for the next question, as radio groups should."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == [f"q-{qid}", "1"], f"Tab did not reach the first question: {focused}"
    assert page.evaluate("document.activeElement.matches(':focus-visible')"), \
        "no visible focus on the radio reached by keyboard"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert checked_value(page, qid) == "3", "arrow keys did not choose the third point"
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == [f"q-{next_qid}", "1"], f"Tab did not move to the next question: {focused}"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("[document.activeElement.name, document.activeElement.value]") \
        == [f"q-{qid}", "3"], "Shift+Tab did not return to the chosen option"


def press(page, name: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).tap()


def new_phone_page(browser, watch: Watch):  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch.attach(page)
    return context, page


def test_a_person_completes_the_survey_on_a_phone(app, live_server, browser) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, min_group_size=5)
    token = make_tokens(app, aid, team="Sales", role="Staff")[0]
    link = f"{live_server}/s/{token}"
    bank = load_bank(app)
    assert len(bank.pages) == 5
    plan = plan_answers(bank)
    keyboard_qid = bank.pages[KEYBOARD_PAGE - 1][0][0]
    assert plan[keyboard_qid] == "3"
    watch = Watch()

    context, page = new_phone_page(browser, watch)

    # The introduction: who sees what, then Start.
    page.goto(link)
    assert page.get_by_role("heading", name="Who sees what").is_visible()
    promise = page.locator("section.promise").inner_text()
    assert "at least 5 people" in promise
    assert "Sales" in promise and "Staff" in promise
    assert "Nobody running the assessment sees your individual answers" in promise
    assert_fits_phone(page)
    press(page, "Start")

    # Page 1: every answer tapped by its label.
    assert_on_page(page, live_server, token, 1)
    for qid, _text in bank.pages[0]:
        tap_answer(page, qid, plan[qid], bank.labels)
    press(page, "Save and continue")

    # Page 2: the first question by keyboard only, the rest tapped, and a comment.
    assert_on_page(page, live_server, token, 2)
    answer_by_keyboard(page, keyboard_qid, bank.pages[1][1][0])
    for qid, _text in bank.pages[1][1:]:
        tap_answer(page, qid, plan[qid], bank.labels)
    page.get_by_label(re.compile(r"^Anything to add")).fill(COMMENT)
    press(page, "Save and continue")

    # Page 3: answer, then go back; page 2 shows what was saved, and page 3 kept its answers.
    assert_on_page(page, live_server, token, 3)
    for qid, _text in bank.pages[2]:
        tap_answer(page, qid, plan[qid], bank.labels)
    press(page, "Save and go back")
    assert_on_page(page, live_server, token, 2)
    for qid, _text in bank.pages[1]:
        assert checked_value(page, qid) == plan[qid], f"{qid} lost its answer after going back"
    assert page.locator("#comment").input_value() == COMMENT
    press(page, "Save and continue")
    assert_on_page(page, live_server, token, 3)
    for qid, _text in bank.pages[2]:
        assert checked_value(page, qid) == plan[qid], f"{qid} was not saved by going back"
    press(page, "Save and continue")

    # Page 4: start answering, then close the page mid-way.
    assert_on_page(page, live_server, token, 4)
    for qid, _text in bank.pages[3][:3]:
        tap_answer(page, qid, plan[qid], bank.labels)
    context.close()

    # Opening the link again offers to continue, and lands on page 4.
    context, page = new_phone_page(browser, watch)
    page.goto(link)
    assert not page.get_by_role("button", name="Start", exact=True).count()
    press(page, "Continue where you left off")
    assert_on_page(page, live_server, token, 4)
    for qid, _text in bank.pages[3]:
        tap_answer(page, qid, plan[qid], bank.labels)
    press(page, "Save and continue")

    # Page 5, the last: its button leads to the review.
    assert_on_page(page, live_server, token, 5)
    assert not page.get_by_role("button", name="Save and continue", exact=True).count()
    for qid, _text in bank.pages[4]:
        tap_answer(page, qid, plan[qid], bank.labels)
    press(page, "Save and review")

    # Review: every answer listed as chosen, the comment shown, nothing missing; then submit.
    assert page.url == f"{link}/review"
    assert page.get_by_role("heading", name="Review your answers").is_visible()
    assert_fits_phone(page)
    assert not page.get_by_text("have no answer").count()
    listed = page.eval_on_selector_all(
        ".review-dim dl > div",
        "rows => rows.map(r => [r.querySelector('dt').innerText.trim(),"
        " r.querySelector('dd').innerText.trim()])")
    expected: list[list[str]] = []
    for number, questions in enumerate(bank.pages, start=1):
        expected += [[text, bank.labels[plan[qid]]] for qid, text in questions]
        if number == COMMENT_PAGE:
            expected.append(["Your comment", COMMENT])
    assert listed == expected
    press(page, "Submit my answers")

    assert page.url == f"{live_server}/s/thanks"
    assert page.get_by_role("heading", name="Thank you").is_visible()
    assert token not in page.content()
    assert_fits_phone(page)

    page.goto(link)
    assert page.get_by_role("heading", name="This link has already been used").is_visible()
    assert not page.locator("form").count()
    context.close()

    assert not watch.problems, "\n".join(watch.problems)

    # What was stored: one submitted response with every answer as chosen, and the comment.
    with app.app_context():
        session = db.session()
        responses = session.scalars(sa.select(Response)).all()
        assert len(responses) == 1
        response = responses[0]
        assert response.submitted_at is not None
        answers = dict(session.execute(
            sa.select(Answer.question_id, Answer.value).where(Answer.response_id == response.id)
        ).tuples().all())
        assert len(answers) == bank.question_count == 50
        assert answers[keyboard_qid] == 3.0
        dont_knows = {q for q, v in plan.items() if v == "dk"}
        assert len(dont_knows) == 5
        assert all(answers[q] is None for q in dont_knows)
        assert answers == {q: (None if v == "dk" else float(v)) for q, v in plan.items()}
        comments = dict(session.execute(
            sa.select(Comment.dimension_id, Comment.text)
            .where(Comment.response_id == response.id)).tuples().all())
        assert comments == {bank.dimension_ids[COMMENT_PAGE - 1]: COMMENT}
