"""Invitations and reminders through a real SMTP server (aiosmtpd on a free port): one message
per person with their own working link, reminders only to people who have not submitted, never
twice a day, refusals recorded, a worker killed mid-send resumed without duplicates, the outbox,
the dry run, tokens kept encrypted and keys rotated."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet, InvalidToken

from assessment import db
from assessment.models import (
    Assessment,
    Invitation,
    InvitationStatus,
    Job,
    JobStatus,
    MailKind,
    MailMessage,
)
from assessment.services import assessments as svc
from assessment.services import mail

from .conftest import ROOT, make_assessment, run_jobs, settle
from .test_survey import complete

KEY = Fernet.generate_key().decode()
LINK = re.compile(r"http://testserver/s/[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler keeping what it accepted; it refuses the addresses in `refuse` for
    good (550) and those in `defer` once (451, try later)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        if address in self.defer:
            self.defer.discard(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self) -> list[str]:
        with self.lock:
            return [rcpt for rcpts, _ in self.received for rcpt in rcpts]

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [m for _, m in self.received]


@pytest.fixture
def smtp(app) -> Iterator[Mailbox]:  # type: ignore[no-untyped-def]
    """A real SMTP server for the test, and the app pointed at it with a key for the links."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_RATE_PER_MINUTE=100_000,
                      TOKEN_KEYS=(KEY,), MAIL_DEFAULT_SENDER="Survey <survey@example.org>",
                      MAIL_REPLY_TO="Change team <change@example.org>")
    try:
        yield box
    finally:
        controller.stop()


def roster(app, aid: int, n: int, *, prefix: str = "person") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Import n people; returns email -> link as the import gave it."""
    rows = ["email,team,role"] + [
        f"{prefix}{i}@example.org,{'Sales' if i % 2 else 'Finance'},Staff" for i in range(n)]
    with app.app_context():
        session = db.session()
        links = svc.import_roster(session, session.get(Assessment, aid), "\n".join(rows),
                                  base_url="http://testserver")
    return {link.email or "": link.url for link in links}


def link_in(message: EmailMessage) -> str:
    found = LINK.findall(mail.text_part(message))
    assert len(set(found)) == 1, mail.text_part(message)
    return found[0]


def rows(app, kind: MailKind | None = None) -> list[tuple[str, str, date, str | None]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stmt = sa.select(Invitation.email, MailMessage.status, MailMessage.day,
                         MailMessage.error).join(Invitation).order_by(MailMessage.id)
        if kind is not None:
            stmt = stmt.where(MailMessage.kind == kind)
        result = [(e, s.value, d, err) for e, s, d, err in db.session().execute(stmt)]
        db.session().commit()
        return result


def on_day(monkeypatch, offset: int) -> date:  # type: ignore[no-untyped-def]
    """Pretend today is `offset` days later (the schedule and the once-a-day rule read it)."""
    day = date.today() + timedelta(days=offset)
    monkeypatch.setattr(mail, "today", lambda: day)
    return day


def test_each_person_gets_one_invitation_with_their_own_working_link(app, client, runner,  # type: ignore[no-untyped-def]
                                                                    smtp) -> None:
    aid = make_assessment(app)
    imported = roster(app, aid, 6)
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert result.exit_code == 0, result.output
    assert "6 sent, 0 skipped, 0 failed" in result.output
    assert sorted(smtp.to()) == sorted(imported)
    links = {}
    for message in smtp.messages():
        to = str(message["To"])
        links[to] = link_in(message)
        assert message["From"] == "Survey <survey@example.org>"
        assert message["Reply-To"] == "Change team <change@example.org>"
        assert "List-Unsubscribe" not in message  # only reminders are list-like
        html = message.get_body(preferencelist=("html",)).get_content()
        assert f'<a href="{links[to]}">' in html
        assert "groups of at least 5 people" in mail.text_part(message)
    # The same link the import gave, different for everyone, and each one opens the survey.
    assert links == imported
    assert len(set(links.values())) == 6
    for url in links.values():
        page = client.get(url.removeprefix("http://testserver"))
        assert page.status_code == 200
        assert "Test" in page.get_data(as_text=True)
    # Running it again sends nobody a second invitation.
    again = runner.invoke(args=["email", "invitations", str(aid)])
    assert "0 sent, 6 skipped, 0 failed" in again.output
    assert len(smtp.to()) == 6
    assert [r[1] for r in rows(app)] == ["sent"] * 6


def test_dry_run_counts_and_sends_nothing(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    roster(app, aid, 4)
    result = runner.invoke(args=["email", "invitations", str(aid), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "4 would be sent, 0 skipped" in result.output
    reminders = runner.invoke(args=["email", "reminders", str(aid), "--dry-run"])
    assert "0 would be sent, 4 skipped" in reminders.output  # nobody invited by email yet
    assert smtp.to() == [] and rows(app) == []


def test_reminders_go_only_to_non_submitters_with_the_same_links_once_a_day(  # type: ignore[no-untyped-def]
        app, client, runner, smtp, monkeypatch) -> None:
    aid = make_assessment(app)
    imported = roster(app, aid, 6)
    runner.invoke(args=["email", "invitations", str(aid)])
    invited = {str(m["To"]): link_in(m) for m in smtp.messages()}
    done = sorted(imported)[:2]
    for email in done:
        complete(client, app, imported[email].rsplit("/", 1)[1])
        client.post(imported[email].removeprefix("http://testserver") + "/submit",
                    data={"csrf_token": _csrf(client, imported[email] + "/review")})
    with app.app_context():
        submitted = set(db.session().scalars(sa.select(Invitation.email).where(
            Invitation.status == InvitationStatus.SUBMITTED)))
    assert submitted == set(done)
    # The same day as the invitation: nobody gets a second email today.
    same_day = runner.invoke(args=["email", "reminders", str(aid)])
    assert "0 sent" in same_day.output and len(smtp.to()) == 6

    on_day(monkeypatch, 1)
    smtp.received.clear()
    result = runner.invoke(args=["email", "reminders", str(aid)])
    assert "4 sent, 2 skipped, 0 failed" in result.output, result.output
    assert sorted(smtp.to()) == sorted(set(imported) - set(done))
    for message in smtp.messages():
        assert link_in(message) == invited[str(message["To"])]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<http://testserver/unsubscribe/[^>]+>",
                            str(message["List-Unsubscribe"]).strip())
    again = runner.invoke(args=["email", "reminders", str(aid)])
    assert "0 sent" in again.output and len(smtp.to()) == 4


def _csrf(client, url: str) -> str:  # type: ignore[no-untyped-def]
    from .conftest import csrf_token

    return csrf_token(client, url.removeprefix("http://testserver"))


def test_the_sweep_follows_the_schedule_and_stops_at_close_and_opt_out(  # type: ignore[no-untyped-def]
        app, client, runner, smtp, monkeypatch) -> None:
    aid = make_assessment(app)
    roster(app, aid, 3)
    runner.invoke(args=["email", "invitations", str(aid)])  # schedule "3,7" by default
    smtp.received.clear()
    reminded: dict[int, list[str]] = {}
    for offset in range(1, 10):
        on_day(monkeypatch, offset)
        before = len(smtp.to())
        settle(app, ("email",))
        reminded[offset] = smtp.to()[before:]
        if offset == 5:  # person0 opts out with the one-click POST of their reminder
            header = next(m for m in smtp.messages() if m["To"] == "person0@example.org")
            url = str(header["List-Unsubscribe"]).strip().strip("<>").removeprefix("http://testserver")
            answer = client.post(url, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
    assert {day: len(to) for day, to in reminded.items()} == {
        1: 0, 2: 0, 3: 3, 4: 0, 5: 0, 6: 0, 7: 2, 8: 0, 9: 0}
    assert "person0@example.org" not in reminded[7]
    # Past the close date: no reminder, whatever the schedule says.
    with app.app_context():
        session = db.session()
        session.get(Assessment, aid).closes_at = mail.utcnow() - timedelta(minutes=1)
        session.commit()
    with app.app_context():
        assert mail.reminders_due(db.session(), db.session().get(Assessment, aid),
                                  scheduled=False) == []
    refused = runner.invoke(args=["email", "reminders", str(aid)])
    assert refused.exit_code == 1 and "not accepting answers" in refused.output


def test_a_refused_address_is_recorded_with_the_reason(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    roster(app, aid, 4)
    smtp.refuse.add("person2@example.org")
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert "3 sent, 0 skipped, 1 failed" in result.output
    assert "person2@example.org: 550 5.1.1 No such mailbox here" in result.output
    failed = [r for r in rows(app) if r[1] == "failed"]
    assert failed == [("person2@example.org", "failed", date.today(),
                       "550 5.1.1 No such mailbox here")]
    # Not tried again: a 5xx is final.
    again = runner.invoke(args=["email", "invitations", str(aid)])
    assert "0 sent, 4 skipped, 0 failed" in again.output


def test_try_later_is_retried_by_the_queue(app, smtp) -> None:  # type: ignore[no-untyped-def]
    app.config["JOB_RETRY_DELAY"] = 0  # before the queue is made: retries come back at once
    aid = make_assessment(app)
    roster(app, aid, 4)
    smtp.defer.add("person1@example.org")
    with app.app_context():
        mail.request_sending(db.session().get(Assessment, aid), MailKind.INVITATION)
    run_jobs(app, ("email",))
    assert sorted(smtp.to()) == [f"person{i}@example.org" for i in range(4)]
    with app.app_context():
        job = db.session().scalars(sa.select(Job).where(Job.kind == "email")).one()
        assert job.status == JobStatus.DONE and job.attempts == 2
    assert [r[1] for r in rows(app)] == ["sent"] * 4


def test_without_a_key_emailing_is_refused_and_old_links_say_so(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    app.config["TOKEN_KEYS"] = ()
    imported = roster(app, aid, 2)
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert result.exit_code == 1
    assert "TOKEN_KEYS" in result.output and "Traceback" not in result.output
    # With a key set later, the hash-only links still work but cannot be sent.
    app.config["TOKEN_KEYS"] = (KEY,)
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert "0 sent, 2 skipped" in result.output and smtp.to() == []
    with app.app_context():
        assert svc.hash_token(imported["person0@example.org"].rsplit("/", 1)[1]) in set(
            db.session().scalars(sa.select(Invitation.token_hash)))


def test_tokens_are_not_readable_from_a_copy_of_the_database(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    imported = roster(app, aid, 3)
    tokens = [url.rsplit("/", 1)[1] for url in imported.values()]
    with app.app_context():
        stored = db.session().execute(sa.select(Invitation.token_hash,
                                                Invitation.token_encrypted)).all()
        db.session().commit()
    assert all(encrypted and encrypted.startswith("gAAAA") for _, encrypted in stored)
    for token in tokens:
        assert not any(token in (h + e) for h, e in stored)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        app.extensions["db_engine"].dispose()  # the last connection checkpoints the WAL
        path = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert raw and not any(token.encode() in raw for token in tokens)
    # Another key (a stolen database without the environment) opens none of them.
    other = Fernet(Fernet.generate_key())
    with pytest.raises(InvalidToken):
        other.decrypt(stored[0][1].encode())
    app.config["TOKEN_KEYS"] = (Fernet.generate_key().decode(),)
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert result.exit_code == 1 and "cannot be decrypted" in result.output
    assert smtp.to() == []


def test_key_rotation_keeps_the_same_links(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    imported = roster(app, aid, 3)
    new = Fernet.generate_key().decode()
    app.config["TOKEN_KEYS"] = (new, KEY)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "Re-encrypted 3 link(s)" in result.output
    app.config["TOKEN_KEYS"] = (new,)  # the old key dropped
    sent = runner.invoke(args=["email", "invitations", str(aid)])
    assert "3 sent" in sent.output, sent.output
    assert {str(m["To"]): link_in(m) for m in smtp.messages()} == imported
    # Dropping a key before rotating is reported, not silently skipped.
    app.config["TOKEN_KEYS"] = (Fernet.generate_key().decode(),)
    refused = runner.invoke(args=["keys", "rotate"])
    assert refused.exit_code == 1 and "no longer in TOKEN_KEYS" in refused.output


def test_outbox_mode_writes_private_eml_files(app, runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app.config.update(TOKEN_KEYS=(KEY,), MAIL_SERVER=None, MAIL_RATE_PER_MINUTE=100_000)
    aid = make_assessment(app)
    imported = roster(app, aid, 3)
    result = runner.invoke(args=["email", "invitations", str(aid)])
    assert "3 sent" in result.output and "outbox" in result.output
    folder = Path(app.config["OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 3
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    found = {}
    for f in files:
        message = BytesParser(policy=policy.default).parsebytes(f.read_bytes())
        found[str(message["To"])] = link_in(message)
    assert found == imported


def test_placeholders_are_filled_safely() -> None:
    assert mail.text_problems("Hello {assessment}, {link} by {closes}") == []
    for bad in ("{assessment.__class__}", "{link:>99999999}", "{0}", "{x}", "{link!r}", "{"):
        assert mail.text_problems(bad), bad
    values = {"assessment": "<b>A & B</b>", "closes": "never", "link": "http://x/s/t"}
    assert mail._render("{assessment.__class__} {link:>9} {", values) == (
        "{assessment.__class__} {link:>9} {")
    html = mail._render("Hi {assessment} <i>{link}</i>", values, html=True)
    assert html == ('Hi &lt;b&gt;A &amp; B&lt;/b&gt; &lt;i&gt;'
                    '<a href="http://x/s/t">http://x/s/t</a>&lt;/i&gt;')


# -- a worker killed in the middle of sending -------------------------------------------------


def _worker(app, tmp_path: Path, port: int, log_name: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test-secret",
           "INSTANCE_PATH": str(tmp_path / "instance"), "QUEUE_PATH": app.config["QUEUE_PATH"],
           "JOB_LEASE_SECONDS": "3", "JOB_RETRY_DELAY": "1", "BASE_URL": "http://testserver",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(port), "TOKEN_KEYS": KEY,
           "MAIL_RATE_PER_MINUTE": "240"}
    env.pop("REDIS_URL", None)
    log = open(tmp_path / log_name, "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def test_a_worker_killed_mid_send_is_resumed_without_duplicates(app, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    aid = make_assessment(app)
    imported = roster(app, aid, 12)
    port = app.config["MAIL_PORT"]
    worker = _worker(app, tmp_path, port, "worker.log")
    try:
        with app.app_context():
            mail.request_sending(db.session().get(Assessment, aid), MailKind.INVITATION)
        deadline = time.monotonic() + 120
        while len(smtp.to()) < 4:  # paced at one every 0.25 s
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    before = len(smtp.to())
    assert 4 <= before < 12
    # The next sweep finds the job's worker gone and sends the job again; it finishes the rest.
    settle(app, ("email",))
    delivered = smtp.to()
    assert len(delivered) == len(set(delivered)), "someone got the invitation twice"
    states = {email: status for email, status, _, _ in rows(app)}
    assert set(states) == set(imported)
    unconfirmed = {e for e, s in states.items() if s == "sending"}
    # At most once: the message being handed over when the worker died is not sent again.
    assert len(unconfirmed) <= 1
    assert set(delivered) | unconfirmed == set(imported)
    assert {e for e, s in states.items() if s == "sent"} <= set(delivered)


def test_starttls_and_auth(app, runner, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this certificate only
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data: Any) -> AuthResult:  # type: ignore[no-untyped-def]
        assert isinstance(auth_data, LoginPassword)
        who = (auth_data.login.decode(), auth_data.password.decode())
        logins.append((who[0], mechanism))
        return AuthResult(success=who == ("mailer", "s3cret-pass"), handled=False)

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=True,
                          MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong",
                          MAIL_RATE_PER_MINUTE=100_000, TOKEN_KEYS=(KEY,))
        aid = make_assessment(app)
        roster(app, aid, 2)
        refused = runner.invoke(args=["email", "invitations", str(aid)])
        assert refused.exit_code == 1 and "refused the login" in refused.output
        assert rows(app) == []  # nothing recorded before the connection was ready
        app.config["MAIL_PASSWORD"] = "s3cret-pass"
        result = runner.invoke(args=["email", "invitations", str(aid)])
        assert "2 sent" in result.output, result.output
        assert sorted(box.to()) == ["person0@example.org", "person1@example.org"]
        assert logins and {who for who, _ in logins} == {"mailer"}  # smtplib tries each mechanism
    finally:
        controller.stop()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, made here with `cryptography`."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_draft_and_closed_assessments_send_nothing(app, runner, smtp) -> None:  # type: ignore[no-untyped-def]
    draft = make_assessment(app, status="draft")
    roster(app, draft, 2)
    result = runner.invoke(args=["email", "invitations", str(draft)])
    assert result.exit_code == 1 and "open it before sending" in result.output
    closed = make_assessment(app, status="closed")
    with app.app_context(), pytest.raises(mail.Conflict, match="not accepting answers"):
        mail.request_sending(db.session().get(Assessment, closed), MailKind.INVITATION)
    assert smtp.to() == [] and rows(app) == []
