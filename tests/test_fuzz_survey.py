"""Property-based tests of the respondent's form posts: arbitrary field names and values, page
numbers and tokens never cause a server error or a stored invalid value, and a post with any
invalid field changes nothing.

Invariants checked after every post: each stored answer is NULL ("don't know") or a scale point
1..5, for a question of the bank on the page it was posted to; each comment is at most 2000
characters; the answers and comments match what the last accepted posts said.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from assessment import db
from assessment.banks import read_bank_file
from assessment.config import PROJECT_ROOT
from assessment.models import Answer, Comment, Response
from assessment.services.banks import bank_of, find_bank
from assessment.services.survey import CONTROL_CHARS

from .conftest import csrf_token, make_assessment, make_tokens
from .test_survey import start

SURVEY = settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow, HealthCheck.data_too_large])
COMMENT_MAX = 2000
SCALE = {str(p) for p in range(1, 6)}


def _bank(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        return bank_of(find_bank(db.session(), "alignment"))


def _alignment_pages() -> dict[str, int]:
    """Question id -> the survey page (1-based dimension) it is asked on."""
    bank, _ = read_bank_file(PROJECT_ROOT / "question_banks" / "alignment.yaml")
    return {q.id: page for page, d in enumerate(bank.dimensions, start=1)
            for q in bank.questions_in(d.id)}


PAGE_OF = _alignment_pages()
QIDS = sorted(PAGE_OF)
# NUL has a test of its own (test_nul_in_a_comment_is_refused).
free_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                    max_size=30)
values = st.one_of(
    st.sampled_from(sorted(SCALE) + ["dk"]),
    st.sampled_from(["0", "6", "-1", "", " 3", "3 ", "3.0", "03", "+3", "DK", "dk ", "null",
                     "None", "NaN", "inf", "1e0", "²", "٣", "３", "𝟑", "9" * 5000, "3\x00",
                     "<script>alert(1)</script>", "' OR 1=1 --"]),
    free_text,
)
field_names = st.one_of(
    st.sampled_from(QIDS).map(lambda q: f"q-{q}"),
    st.sampled_from(["comment", "nav", "q-", "q--", "q-q-OWN-A1", "Q-OWN-A1", "q-own-a1",
                     "q-OWN-A1 ", "q-<script>", "q-" + "A" * 300, "q-\u212a"]),
    free_text.map(lambda t: "q-" + t),
    free_text,
).filter(lambda k: k != "csrf_token")
forms = st.lists(st.tuples(field_names, values | st.sampled_from(["back", "review", "next"])),
                 max_size=12)
comments = st.one_of(st.none(), free_text,
                     st.sampled_from(["x" * COMMENT_MAX, "x" * (COMMENT_MAX + 1),
                                      " " * 5000 + "y", "<b>hi</b>"]))
pages = st.one_of(st.integers(1, 5), st.sampled_from([0, 6, 99, 10**30]))


def _stored(app) -> tuple[dict[str, float | None], dict[str, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        answers = {q: v for q, v in session.execute(sa.select(Answer.question_id, Answer.value))}
        notes = {d: t for d, t in session.execute(sa.select(Comment.dimension_id, Comment.text))}
        return answers, notes


def _check_invariants(app, answers: dict, notes: dict) -> None:  # type: ignore[no-untyped-def]
    bank = _bank(app)
    for qid, value in answers.items():
        assert bank.has_question(qid), qid
        assert value is None or (value in {1.0, 2.0, 3.0, 4.0, 5.0}), (qid, value)
    for dim, text in notes.items():
        assert dim in {d.id for d in bank.dimensions}
        assert 0 < len(text) <= COMMENT_MAX and text == text.strip()
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Response)) <= 1


@pytest.fixture
def respondent(app, client):  # type: ignore[no-untyped-def]
    """An open assessment, one started link, and the CSRF token of the client's session."""
    token = make_tokens(app, make_assessment(app))[0]
    start(client, token)
    return token, csrf_token(client, f"/s/{token}/p/1")


def _expected(page: int, fields: list[tuple[str, str]], comment: str | None,
              page_of: dict[str, int]) -> tuple[bool, dict[str, float | None]]:
    """Whether the post is valid and the answers it stores. Werkzeug's `form.items()` gives the
    first value of a repeated field, so that is the one judged."""
    first: dict[str, str] = {}
    for key, value in fields:
        first.setdefault(key, value)
    if comment is not None:
        first.setdefault("comment", comment)
    parsed: dict[str, float | None] = {}
    valid = True
    for key, value in first.items():
        if not key.startswith("q-"):
            continue
        qid = key[2:]
        if page_of.get(qid) != page:
            valid = False
        elif value == "dk":
            parsed[qid] = None
        elif value in SCALE:  # exactly the options the form offers
            parsed[qid] = float(value)
        else:
            valid = False
    text = CONTROL_CHARS.sub("", first.get("comment") or "").strip()
    if len(text) > COMMENT_MAX:
        valid = False
    return valid, parsed


@SURVEY
@given(page=pages, fields=forms, comment=comments)
@example(page=1, fields=[("q-OWN-A1", "5")], comment=None)
@example(page=1, fields=[("q-OWN-A1", "dk"), ("nav", "back")], comment="  note  ")
@example(page=1, fields=[("q-NOPE", "1")], comment=None)
@example(page=2, fields=[("q-OWN-A1", "3")], comment=None)
@example(page=1, fields=[("q-OWN-A1", "9" * 5000)], comment=None)
@example(page=1, fields=[], comment="x" * (COMMENT_MAX + 1))
@example(page=10**30, fields=[("q-OWN-A1", "1")], comment=None)
def test_any_form_post_is_saved_whole_or_not_at_all(app, client, respondent, page, fields,  # type: ignore[no-untyped-def]
                                                     comment) -> None:
    token, csrf = respondent
    before_answers, before_notes = _stored(app)
    data: list[tuple[str, str]] = [("csrf_token", csrf), *fields]
    if comment is not None:
        data.append(("comment", comment))
    result = client.post(f"/s/{token}/p/{page}", data=MultiDict(data))
    after_answers, after_notes = _stored(app)
    assert result.status_code != 500
    _check_invariants(app, after_answers, after_notes)

    if not 1 <= page <= 5:
        assert result.status_code == 404
        assert (after_answers, after_notes) == (before_answers, before_notes)
        return
    valid, parsed = _expected(page, fields, comment, PAGE_OF)
    if not valid:
        assert result.status_code == 422, result.status_code
        assert (after_answers, after_notes) == (before_answers, before_notes), \
            "a refused post changed the stored answers"
        html = result.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        return
    assert result.status_code == 302, result.status_code
    expected = dict(before_answers)
    expected.update(parsed)
    assert after_answers == expected
    dim = _bank(app).dimensions[page - 1].id
    text = CONTROL_CHARS.sub("", next((v for k, v in data if k == "comment"), "")).strip()
    expected_notes = {k: v for k, v in before_notes.items() if k != dim}
    if text:
        expected_notes[dim] = text
    assert after_notes == expected_notes


@settings(SURVEY, max_examples=40)
@given(token=st.one_of(st.text(max_size=200), st.sampled_from(
           ["", " ", "..", "%2e%2e", "x" * 129, "x" * 10_000, "\x00", "<script>", "' OR 1=1"])),
       page=st.integers(-5, 10**20), method=st.sampled_from(["get", "post"]),
       address=st.integers(1, 250))
def test_unknown_tokens_and_pages_are_refused_without_error(app, client, token, page, method,  # type: ignore[no-untyped-def]
                                                            address) -> None:
    """Any token and page in the URL: 404 (or 405/429), never a server error, nothing stored.
    Each example comes from one of many addresses so the unknown-link limit is not what is
    tested here (see test_a_working_link_is_never_rate_limited)."""
    environ = {"REMOTE_ADDR": f"10.9.{address}.1"}
    urls = [f"/s/{token}", f"/s/{token}/p/{page}", f"/s/{token}/review",
            f"/s/{token}/start", f"/s/{token}/submit"]
    for url in urls:
        response = getattr(client, method)(url, data={"q-OWN-A1": "1"}, environ_base=environ)
        assert response.status_code in (302, 308, 400, 404, 405, 429), (url, response.status_code)
    answers, notes = _stored(app)
    assert not answers and not notes


def test_a_working_link_is_never_rate_limited(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    environ = {"REMOTE_ADDR": "10.1.2.3"}
    for i in range(31):
        assert client.get(f"/s/unknown-{i}", environ_base=environ).status_code in (404, 429)
    assert client.get(f"/s/{token}", environ_base=environ).status_code == 200


def test_only_the_first_of_repeated_fields_counts(app, client, respondent) -> None:  # type: ignore[no-untyped-def]
    """A repeated field (not something a browser sends for a radio group): the first value is
    judged and stored, the rest are ignored; an invalid first value refuses the post."""
    token, csrf = respondent
    ok = client.post(f"/s/{token}/p/1", data=MultiDict([("csrf_token", csrf), ("q-OWN-A1", "3"),
                                              ("q-OWN-A1", "junk")]))
    assert ok.status_code == 302
    assert _stored(app)[0] == {"OWN-A1": 3.0}
    bad = client.post(f"/s/{token}/p/1", data=MultiDict([("csrf_token", csrf), ("q-OWN-A1", "junk"),
                                               ("q-OWN-A1", "4")]))
    assert bad.status_code == 422
    assert _stored(app)[0] == {"OWN-A1": 3.0}


@pytest.mark.parametrize("value", ["٣", "３", "𝟑", "03"])
def test_only_ascii_digits_of_the_scale_are_accepted(app, client, respondent, value) -> None:  # type: ignore[no-untyped-def]
    token, csrf = respondent
    result = client.post(f"/s/{token}/p/1", data={"csrf_token": csrf, "q-OWN-A1": value})
    assert result.status_code == 422


def test_nul_in_a_comment_is_refused(app, client, respondent) -> None:  # type: ignore[no-untyped-def]
    token, csrf = respondent
    result = client.post(f"/s/{token}/p/1", data={"csrf_token": csrf, "comment": "a\x00b"})
    assert result.status_code != 500
    assert all("\x00" not in text for text in _stored(app)[1].values())


def test_posts_without_a_valid_csrf_token_change_nothing(app, client, respondent) -> None:  # type: ignore[no-untyped-def]
    token, _ = respondent
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 5000},
                 {"csrf_token": "<script>", "q-OWN-A1": "5"}):
        result = client.post(f"/s/{token}/p/1", data={**data, "q-OWN-A1": "5"})
        assert result.status_code == 400
    assert _stored(app) == ({}, {})
