"""Security promises: lockout and rate limits (separate for logins and links), session timeouts,
headers, and every protected route refusing the anonymous and the wrong role (a walk of the
whole URL map, objects addressed by id included)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from assessment import db
from assessment.models import RateLimit, User, utcnow

from .conftest import (
    ADMIN_PASSWORD,
    LEAD_PASSWORD,
    Auth,
    csrf_token,
    make_assessment,
    make_tokens,
    release,
)


def _client(app, address: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _flash(response) -> str:  # type: ignore[no-untyped-def]
    """The page's message, which must not tell a known account from an unknown one."""
    found = [m.strip() for m in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>',
                                             response.get_data(as_text=True), re.S)]
    return next((m for m in found if m), "")


def test_five_wrong_passwords_pause_that_account_from_that_address(app) -> None:  # type: ignore[no-untyped-def]
    guesser = Auth(_client(app, "10.0.0.9"))
    for _ in range(5):
        assert guesser.login(password="wrong-password-x").status_code == 401
    # Even the right password is refused there now, with the message every failure gets.
    refused = guesser.login()
    assert refused.status_code == 401 and "wait 15 minutes" in _flash(refused)
    # The admin, anywhere else, is not locked out by someone else's guessing.
    assert Auth(_client(app, "10.0.0.1")).login().status_code == 302
    # ...and the pause ends after 15 minutes.
    with app.app_context():
        session = db.session()
        session.execute(sa.update(RateLimit).where(RateLimit.key.like("lockout:%"))
                        .values(window_start=utcnow() - timedelta(minutes=16)))
        session.commit()
    assert guesser.login().status_code == 302


def test_known_and_unknown_accounts_get_the_same_answers(app) -> None:  # type: ignore[no-untyped-def]
    """Wrong password, unknown account and paused logins: same status, same message."""
    known, unknown = Auth(_client(app, "10.0.1.1")), Auth(_client(app, "10.0.1.2"))
    for attempt in range(7):
        a = known.login(password=f"wrong-password-{attempt}")
        b = unknown.login(email="nobody@example.org", password=f"wrong-password-{attempt}")
        assert (a.status_code, _flash(a)) == (b.status_code, _flash(b)), attempt
        assert a.status_code == 401 and "not right" in _flash(a)


def test_a_wrong_password_takes_as_long_as_an_unknown_account(app) -> None:  # type: ignore[no-untyped-def]
    """An unknown account used to answer ~28 times faster (no password was hashed)."""
    import statistics
    import time

    def median(email: str, address: str) -> float:
        auth = Auth(_client(app, address))
        times = []
        for i in range(4):  # below the pause, so every attempt checks a password
            started = time.perf_counter()
            auth.login(email=email, password=f"wrong-password-{i}")
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    median("warm-up@example.org", "10.0.2.9")  # the first unknown email makes the dummy hash
    known = median("admin@example.org", "10.0.2.1")
    unknown = median("nobody@example.org", "10.0.2.2")
    assert max(known, unknown) / min(known, unknown) < 3, (known, unknown)


def test_logout_ends_every_copy_of_the_session(app, client) -> None:  # type: ignore[no-untyped-def]
    Auth(client).login()
    stolen = client.get_cookie("assessment_session").value
    elsewhere = app.test_client()  # the same person on another device
    Auth(elsewhere).login()
    assert elsewhere.get("/admin/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    replay = _client(app, "203.0.113.7")
    replay.set_cookie("assessment_session", stolen)
    refused = replay.get("/admin/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert elsewhere.get("/admin/").status_code == 302
    assert Auth(client).login().status_code == 302  # logging in again works


def test_a_new_password_ends_open_sessions(app, client, runner) -> None:  # type: ignore[no-untyped-def]
    Auth(client).login()
    assert client.get("/admin/").status_code == 200
    result = runner.invoke(args=["set-password", "admin@example.org", "--password-stdin"],
                           input="a-brand-new-password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    assert Auth(client).login(password="a-brand-new-password").status_code == 302
    short = runner.invoke(args=["set-password", "admin@example.org", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "12 characters" in short.output


def test_a_lockout_ends_open_sessions(app, client) -> None:  # type: ignore[no-untyped-def]
    """Someone guessing may have the password: the sessions already open end (the owner logs
    in again, from anywhere but the guesser's address)."""
    Auth(client).login()
    guesser = Auth(_client(app, "10.0.3.9"))
    for _ in range(5):
        guesser.login(password="wrong-password-x")
    assert client.get("/admin/").status_code == 302
    assert Auth(client).login().status_code == 302


def test_many_failed_logins_from_one_address_are_limited(app, client) -> None:  # type: ignore[no-untyped-def]
    auth = Auth(client)
    for i in range(20):
        auth.login(email=f"nobody{i}@example.org", password="whatever-password")
    limited = auth.login()
    assert limited.status_code == 429 and "Too many failed logins" in limited.get_data(
        as_text=True)


def test_guessing_links_does_not_lock_out_logins_or_real_links(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    for i in range(30):
        assert client.get(f"/s/guess-{i}").status_code == 404
    assert client.get("/s/guess-again").status_code == 429
    # A working link still works from that address (colleagues may share one office address).
    assert client.get(f"/s/{token}").status_code == 200
    # ...but logins have their own counter.
    assert Auth(client).login().status_code == 302


def test_failed_logins_do_not_block_respondents(app, client) -> None:  # type: ignore[no-untyped-def]
    token = make_tokens(app, make_assessment(app))[0]
    auth = Auth(client)
    for i in range(25):
        auth.login(email=f"nobody{i}@example.org", password="whatever-password")
    assert client.get(f"/s/{token}").status_code == 200


def test_sessions_expire_when_idle_and_after_an_absolute_time(app, client) -> None:  # type: ignore[no-untyped-def]
    Auth(client).login()
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as s:
        s["seen_at"] -= 31 * 60
    expired = client.get("/admin/")
    assert expired.status_code == 302 and "/login" in expired.headers["Location"]
    Auth(client).login()
    with client.session_transaction() as s:
        s["login_at"] -= 13 * 3600
    assert client.get("/admin/").status_code == 302


def test_login_rotates_the_session_and_sets_safe_cookies(app, client) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    response = Auth(client).login()
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith("assessment_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as s:
        assert "planted" not in s


def test_security_headers(app, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(
        ";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def _urls(app: Flask, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route, with ids filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: ids.get(arg, 1) if arg != "fmt" and arg != "token" else
                  ("pdf" if arg == "fmt" else "nope") for arg in rule.arguments}
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


PUBLIC = {"auth.login", "auth.home", "survey.intro", "survey.start", "survey.page",
          "survey.review", "survey.submit", "survey.thanks", "api.openapi", "health.healthz",
          "health.readyz",
          # Opting out of reminders: the signed address is the authentication (RFC 8058).
          "unsubscribe.confirm", "unsubscribe.unsubscribe",
          # Calendar clients cannot log in: the revocable secret address is the authentication.
          "calendar.feed"}
LEAD_OK = {"results.", "account.", "auth.logout", "admin.index", "downloads."}


def test_every_route_refuses_the_anonymous_and_the_wrong_role(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    ids = {"assessment_id": aid, "user_id": 1, "token_id": 1, "number": 1}
    routes = _urls(app, ids)
    assert len(routes) > 30
    anonymous = app.test_client()
    # A valid form token: a post must be refused for want of a login, not for want of a token
    # (a route that lost its `@login_required` would otherwise still answer 400 here).
    anonymous_token = csrf_token(anonymous, "/login")
    posts = 0
    for endpoint, method, url in routes:
        if endpoint in PUBLIC:
            continue
        response = anonymous.open(url, method=method, data={"csrf_token": anonymous_token})
        if endpoint.startswith("api."):
            assert response.status_code in (401, 404), (endpoint, response.status_code)
        else:
            assert response.status_code == 302, (endpoint, method, response.status_code)
            assert "/login" in response.headers["Location"], endpoint
            posts += method == "POST"
    assert posts >= 8
    lead = app.test_client()
    Auth(lead).login("lead@example.org", LEAD_PASSWORD)
    token = csrf_token(lead, "/results/")
    for endpoint, method, url in routes:
        if endpoint in PUBLIC or endpoint.startswith("api.") or any(
                endpoint.startswith(p) for p in LEAD_OK):
            continue
        response = lead.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (endpoint, method, response.status_code)
    # Objects addressed by id: a lead reading an assessment not shared with them gets 404.
    for endpoint, method, url in routes:
        if method == "GET" and (endpoint.startswith("results.") or endpoint.startswith(
                "downloads.")) and f"/{aid}" in url:
            assert lead.get(url).status_code == 404, endpoint


def test_errors_never_show_a_traceback(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from assessment.web import admin

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr(admin.svc, "list_assessments", boom)
    Auth(client).login()
    response = client.get("/admin/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in html and "Traceback" not in html
    assert "try again" in html


@pytest.mark.parametrize("password", ["short", "elevenchars"])
def test_passwords_need_twelve_characters(app, runner, password) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["create-user", "x@example.org", "--role", "lead",
                                 "--password-stdin"], input=password + "\n")
    assert result.exit_code == 1 and "12 characters" in result.output


def test_no_default_accounts_after_init(app) -> None:  # type: ignore[no-untyped-def]
    from assessment import create_app, migrations

    fresh = re.sub(r"test\.db$", "fresh.db", app.config["DATABASE_URL"])
    if fresh == app.config["DATABASE_URL"]:
        pytest.skip("SQLite only")
    migrations.upgrade(fresh)
    other = create_app({"TESTING": True, "DATABASE_URL": fresh})
    result = other.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with other.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 0
    # The suite's accounts exist only in the test fixture: its admin login fails here.
    visitor = other.test_client()
    Auth(visitor).login("admin@example.org", ADMIN_PASSWORD)
    page = visitor.get("/admin/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_health_and_readiness(app, client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ok"
    with app.app_context():
        head = db.session().scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session().execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        db.session().commit()
    try:
        pending = client.get("/readyz")
        assert pending.status_code == 503
        assert pending.get_json()["reason"] == "migrations pending"
    finally:  # the PostgreSQL test database is reused by the next test
        with app.app_context():
            db.session().execute(sa.text("UPDATE alembic_version SET version_num = :v"),
                                 {"v": head})
            db.session().commit()


def test_guessing_api_tokens_is_limited_separately(app, client) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        response = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer x{i}"})
        assert response.status_code == 401
    limited = client.get("/api/v1/assessments", headers={"Authorization": "Bearer again"})
    assert limited.status_code == 429 and limited.get_json()["error"]["status"] == 429
    assert Auth(client).login().status_code == 302  # logins keep their own counter


def test_access_logs_never_carry_a_respondents_token(app, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    token = make_tokens(app, make_assessment(app))[0]
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /s/%s/p/1 HTTP/1.1" 200 -', token)
    assert token not in caplog.text and "/s/<token>/p/1" in caplog.text


def test_a_valid_api_token_works_from_an_address_limited_for_bad_ones(app) -> None:  # type: ignore[no-untyped-def]
    """As promised: only invalid tokens are counted and refused."""
    from assessment.services import api_tokens

    with app.app_context():
        session = db.session()
        lead = session.scalar(sa.select(User).where(User.email == "lead@example.org"))
        clear = api_tokens.create(session, lead, "dashboard")[1]
    client = _client(app, "10.0.4.1")
    for i in range(30):
        client.get("/api/v1/assessments", headers={"Authorization": f"Bearer aat_guess{i}"})
    assert client.get("/api/v1/assessments",
                      headers={"Authorization": "Bearer aat_again"}).status_code == 429
    valid = client.get("/api/v1/assessments", headers={"Authorization": f"Bearer {clear}"})
    assert valid.status_code == 200 and "assessments" in valid.get_json()


def test_a_browser_that_logged_in_before_is_not_refused_for_its_address(app) -> None:  # type: ignore[no-untyped-def]
    """Someone behind the same office address guesses until the address is limited: a new
    browser there is refused, but one that has logged in to the account before still logs in
    with the right password (and its own wrong passwords pause only itself)."""
    colleague = _client(app, "198.51.100.7")
    Auth(colleague).login()
    colleague.post("/logout", data={"csrf_token": csrf_token(colleague, "/admin/")})
    guesser = Auth(_client(app, "198.51.100.7"))
    for i in range(20):
        guesser.login(email=f"nobody{i}@example.org", password="whatever-password")
    assert guesser.login().status_code == 429  # a new browser, even with the right password
    assert Auth(colleague).login().status_code == 302
    # A cookie that was not signed by the service counts for nothing.
    forged = _client(app, "198.51.100.7")
    forged.set_cookie("assessment_device", "eyJ1IjoxLCJkIjoiMDAwMCJ9.forged.signature",
                      path="/login")
    assert Auth(forged).login().status_code == 429


HUGE = 10**20


def test_huge_numbers_in_urls_are_a_plain_not_found(app, client, caplog) -> None:  # type: ignore[no-untyped-def]
    """Larger than any id the database can hold: 404 (or the first page), never an overflow
    with a traceback in the log."""
    import logging

    aid = make_assessment(app)
    token = make_tokens(app, aid)[0]
    Auth(client).login()
    csrf = csrf_token(client, "/results/")
    with caplog.at_level(logging.INFO):
        for url in (f"/results/{HUGE}/", f"/results/{HUGE}/dimensions",
                    f"/results/{HUGE}/download/csv", f"/admin/assessments/{HUGE}",
                    f"/s/{token}/p/{HUGE}", f"/results/{-HUGE}/"):
            assert client.get(url).status_code == 404, url
        for url in (f"/results/{HUGE}/refresh", f"/admin/assessments/{HUGE}/status",
                    f"/admin/assessments/{aid}/shares/{HUGE}/delete",
                    f"/account/tokens/{HUGE}/revoke"):
            assert client.post(url, data={"csrf_token": csrf}).status_code == 404, url
        for url in (f"/results/?page={HUGE}", f"/admin/?page={HUGE}", f"/results/?page=-{HUGE}"):
            response = client.get(url)
            assert response.status_code == 200, url
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


def test_releasing_is_limited_per_person(app) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    admin = app.test_client()
    Auth(admin).login()
    token = csrf_token(admin, "/results/")
    for _ in range(5):
        assert admin.post(f"/results/{aid}/release", data={"csrf_token": token}).status_code == 302
    limited = admin.post(f"/results/{aid}/release", data={"csrf_token": token})
    assert limited.status_code == 429
    assert "five times in the last ten minutes" in limited.get_data(as_text=True)
    # Counted per person: another admin can still ask.
    with app.app_context():
        from assessment.models import UserRole
        from assessment.services.users import create_user

        create_user(db.session(), "second@example.org", "second-admin-password", UserRole.ADMIN)
    other = app.test_client()
    Auth(other).login("second@example.org", "second-admin-password")
    assert other.post(f"/results/{aid}/release",
                      data={"csrf_token": csrf_token(other, "/results/")}).status_code == 302


def test_report_builds_are_bounded_whoever_asks(app) -> None:  # type: ignore[no-untyped-def]
    """Report files are built once per release (and per set of earlier cycles a reader may
    read) by a worker: asking again and again adds no work, so no per-person limit is needed."""
    from assessment.models import Job

    from .test_releases import organisation, submit

    aid = organisation(app, interim=False)
    submit(app, aid, "Sales", "Staff", 6)
    release(app, aid)
    admin = app.test_client()
    Auth(admin).login()
    for _ in range(20):
        assert admin.get(f"/results/{aid}/download/pdf").status_code in (200, 302)
    with app.app_context():
        kinds = db.session().scalars(sa.select(Job.kind)).all()
    assert kinds.count("pdf") <= 1, kinds
