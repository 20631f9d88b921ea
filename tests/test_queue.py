"""The task queue for real: worker processes (`flask --app app worker`) on the SQLite storage and
on Redis, a worker killed in the middle of a job, retries, and failures shown to admins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from assessment import db
from assessment.models import Assessment, Job, JobStatus, Release, StoredReport
from assessment.services import releases

from .conftest import ROOT, csrf_token, make_assessment, release, run_jobs
from .test_reports import submit

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FORMATS = ("pdf", "xlsx", "html", "csv")
WAIT_SECONDS = 600  # a PDF on a loaded two-core machine can take a minute or two


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")


@pytest.fixture(params=["sqlite", "redis"])
def storage(request, app) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The queue's settings, applied to the test's app and given to the workers it starts.
    On Redis every test gets a queue of its own, so parallel runs never take each other's
    jobs."""
    settings = {"QUEUE_PATH": app.config["QUEUE_PATH"]}
    if request.param == "redis":
        redis_or_skip()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        settings = {"REDIS_URL": REDIS_URL,
                    "QUEUE_NAME": f"assessment-test-{worker}-{uuid.uuid4().hex[:8]}"}
    app.config.update(settings)
    yield settings
    if request.param == "redis":
        from assessment.queue import huey

        huey(app).storage.flush_all()


class Workers:
    """`flask --app app worker` processes against the test's database and queue."""

    def __init__(self, app, settings: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
        self.env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"],
                    "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path / "instance"),
                    "JOB_LEASE_SECONDS": "3", "JOB_RETRY_DELAY": "1", **settings}
        self.env.pop("REDIS_URL", None) if "REDIS_URL" not in settings else None
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.started)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join((self.tmp_path / f"worker-{i}.log").read_text()[-3000:]
                         for i in range(len(self.started)))

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(app, tmp_path, storage) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    started = Workers(app, storage, tmp_path)
    yield started
    started.stop_all()


def wait_for(what: str, check: Callable[[], object], workers: Workers,
             seconds: float = WAIT_SECONDS) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{workers.logs()}")


def stored_kinds(app, release_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        kinds = db.session().scalars(sa.select(StoredReport.kind).where(
            StoredReport.release_id == release_id)).all()
        db.session().commit()
        return sorted(kinds)


def job_rows(app, kind: str | None = None) -> list[Job]:  # type: ignore[no-untyped-def]
    with app.app_context():
        stmt = sa.select(Job).order_by(Job.id)
        if kind:
            stmt = stmt.where(Job.kind == kind)
        rows = db.session().scalars(stmt).all()
        db.session().commit()
        return list(rows)


def organisation(app) -> int:  # type: ignore[no-untyped-def]
    aid = make_assessment(app, teams=("Sales", "Ops"))
    submit(app, aid, "Sales", 6)
    submit(app, aid, "Ops", 6, role="Manager", offset=1)
    return aid


@pytest.mark.long
def test_a_release_and_its_reports_are_made_by_a_worker(app, client, auth, workers) -> None:  # type: ignore[no-untyped-def]
    """An admin's "release now" claims the release and returns at once; a worker process
    computes it, then builds every report file, and the downloads serve the stored files."""
    aid = organisation(app)
    workers.start()
    auth.login()
    token = csrf_token(client, f"/results/{aid}/")
    answer = client.post(f"/results/{aid}/release", data={"csrf_token": token})
    assert answer.status_code == 302
    page = client.get(f"/results/{aid}/").get_data(as_text=True)
    assert "is being prepared" in page

    def computed() -> Release | None:
        with app.app_context():
            found = releases.latest(db.session(), db.session().get(Assessment, aid))
            db.session().commit()
            return found

    made = wait_for("the release", computed, workers)
    assert made.n_respondents == 12
    wait_for("every report file",
             lambda: set(FORMATS) <= set(stored_kinds(app, made.id)), workers)
    wait_for("the jobs to be marked done",
             lambda: {j.status for j in job_rows(app)} == {JobStatus.DONE}, workers)
    assert stored_kinds(app, made.id) == sorted([*FORMATS, "charts"])
    for fmt in FORMATS:
        response = client.get(f"/results/{aid}/download/{fmt}")
        assert response.status_code == 200, fmt
        assert response.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/results/{aid}/download/pdf").data.startswith(b"%PDF")
    assert "Traceback" not in workers.logs()


@pytest.mark.long
def test_a_worker_killed_mid_job_loses_nothing(app, workers, storage) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL a worker while it lays out the PDF: the queue has forgotten the message, but the
    ledger has not. Another worker takes the job over, and the report appears once."""
    aid = organisation(app)
    release(app, aid)  # in the foreground: its report files are queued for the workers
    with app.app_context():
        made = releases.latest(db.session(), db.session().get(Assessment, aid))
        db.session().commit()
    first = workers.start()

    def pdf_running() -> bool:
        jobs = job_rows(app, "pdf")
        return bool(jobs) and jobs[0].status == JobStatus.RUNNING and jobs[0].progress_step > 0

    wait_for("the PDF job to start", pdf_running, workers)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert "pdf" not in stored_kinds(app, made.id)
    assert job_rows(app, "pdf")[0].status == JobStatus.RUNNING  # as the dead worker left it
    workers.start()
    wait_for("the PDF, built by the second worker",
             lambda: "pdf" in stored_kinds(app, made.id), workers)
    wait_for("every report file", lambda: set(FORMATS) <= set(stored_kinds(app, made.id)),
             workers)
    wait_for("the jobs to be marked done",
             lambda: {j.status for j in job_rows(app)} == {JobStatus.DONE}, workers)
    assert stored_kinds(app, made.id) == sorted([*FORMATS, "charts"])  # each exactly once
    pdf_jobs = job_rows(app, "pdf")
    assert len(pdf_jobs) == 1
    assert pdf_jobs[0].status == JobStatus.DONE and pdf_jobs[0].attempts == 2
    assert pdf_jobs[0].worker.endswith(f":{workers.started[1].pid}")


@pytest.mark.long
def test_a_worker_told_to_stop_now_hands_its_job_back(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM (a service manager stopping the worker) interrupts the job: the worker puts it
    back in the queue before it exits, so the next worker starts it at once, with no lease
    to wait out."""
    settings = {"QUEUE_PATH": app.config["QUEUE_PATH"]}
    pool = Workers(app, settings, tmp_path)
    pool.env["JOB_LEASE_SECONDS"] = "3600"  # only the hand-back can bring the job back soon
    try:
        aid = organisation(app)
        release(app, aid)
        with app.app_context():
            made = releases.latest(db.session(), db.session().get(Assessment, aid))
            db.session().commit()
        first = pool.start()

        def pdf_running() -> bool:
            jobs = job_rows(app, "pdf")
            return bool(jobs) and jobs[0].status == JobStatus.RUNNING

        wait_for("the PDF job to start", pdf_running, pool)
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)
        [pdf] = job_rows(app, "pdf")
        assert pdf.status == JobStatus.QUEUED, pool.logs()
        pool.start()
        wait_for("the PDF, built by the next worker",
                 lambda: "pdf" in stored_kinds(app, made.id), pool)
        assert job_rows(app, "pdf")[0].attempts == 2
    finally:
        pool.stop_all()


@pytest.mark.long
def test_two_workers_share_the_work_through_redis(app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis_or_skip()
    settings = {"REDIS_URL": REDIS_URL,
                "QUEUE_NAME": f"assessment-test-share-{uuid.uuid4().hex[:8]}"}
    app.config.update(settings)
    pool = Workers(app, settings, tmp_path)
    try:
        ids = [organisation(app) for _ in range(2)]
        for aid in ids:
            release(app, aid)
        pool.start()
        pool.start()
        with app.app_context():
            made = [releases.latest(db.session(), db.session().get(Assessment, aid)).id
                    for aid in ids]
            db.session().commit()
        for release_id in made:
            wait_for("every report file",
                     lambda r=release_id: set(FORMATS) <= set(stored_kinds(app, r)), pool)
        names = {job.worker.rsplit(":", 1)[1] for job in job_rows(app) if job.worker}
        assert names == {str(p.pid) for p in pool.started}, names  # both took jobs
    finally:
        pool.stop_all()
        from assessment.queue import huey

        huey(app).storage.flush_all()


def test_a_failing_job_is_retried_then_shown_to_admins(app, client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A job that raises is retried by the queue; one that keeps failing is marked failed with
    its error, listed for admins, and can be queued again."""
    from assessment.reporting import reports

    app.config.update(JOB_RETRIES=1, JOB_RETRY_DELAY=0)
    calls = {"n": 0}
    original = reports.build_report

    def flaky(context, fmt, progress=None):  # type: ignore[no-untyped-def]
        if fmt == "xlsx":
            calls["n"] += 1
            raise RuntimeError(f"disk full (attempt {calls['n']})")
        return original(context, fmt, progress)

    monkeypatch.setattr(reports, "build_report", flaky)
    aid = organisation(app)
    release(app, aid)
    run_jobs(app, kinds=("xlsx",))
    assert calls["n"] == 2  # the first try and one retry
    [job] = job_rows(app, "xlsx")
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error == "RuntimeError: disk full (attempt 2)"
    auth.login()
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "1 job(s) failed" in page and "disk full (attempt 2)" in page
    # The lead's download says it could not be prepared (and does not retry by itself).
    status = client.get(f"/results/{aid}/download/xlsx", follow_redirects=True)
    assert "could not be prepared" in status.get_data(as_text=True)
    assert "Refresh" not in status.headers and "http-equiv" not in status.get_data(as_text=True)
    # Fixed, an admin retries it.
    monkeypatch.setattr(reports, "build_report", original)
    token = csrf_token(client, "/admin/jobs")
    assert client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": token}).status_code == 302
    run_jobs(app, kinds=("xlsx",))
    assert client.get(f"/results/{aid}/download/xlsx").status_code == 200
    assert client.get("/admin/jobs").status_code == 200
    auth_lead = app.test_client()
    from .conftest import LEAD_PASSWORD, Auth

    Auth(auth_lead).login("lead@example.org", LEAD_PASSWORD)
    assert auth_lead.get("/admin/jobs").status_code == 403
