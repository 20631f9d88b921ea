"""The task queue: heavy and scheduled work runs in worker processes, never in a web request.

huey carries the work: its SQLite storage (a file under the instance folder) by default, Redis
when `REDIS_URL` is set, so that any number of workers on any number of machines share it. It
delivers a job's id to a worker, retries a failed job after a delay (up to `JOB_RETRIES` times)
and runs the periodic sweep. Beside it the job ledger (`services.jobs`) records every job in
the database, because huey forgets a message once a worker takes it: the sweep finds a job whose
worker died mid-job and sends it again, and admins read failures there.

The huey instance is made on first use, so that a process that never queues anything (a
respondent's page, most commands) never imports it or its storage clients.

`flask --app app worker` runs a consumer; `run_pending(app)` runs what is queued, in this
process, through the same storage (the tests use it where they need a job done now).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import db
from .models import Job

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger(__name__)
_lock = threading.Lock()


def huey(app: Flask | None = None) -> Huey:
    """The app's queue, made on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        if "huey" not in app.extensions:
            app.extensions["huey"] = _make(app)
    return app.extensions["huey"]


def _make(app: Flask) -> Huey:
    from huey import RedisHuey, SqliteHuey, crontab
    from huey.signals import SIGNAL_INTERRUPTED

    config = app.config
    name = config["QUEUE_NAME"]
    if config.get("REDIS_URL"):
        queue: Huey = RedisHuey(name, url=config["REDIS_URL"], results=False)
    else:
        queue = SqliteHuey(name, filename=config["QUEUE_PATH"], results=False)

    @queue.task(retries=config["JOB_RETRIES"], retry_delay=config["JOB_RETRY_DELAY"],
                context=True, name="run_job")
    def run_job(job_id: int, task: Any = None) -> None:
        _run(app, job_id, retries_left=task.retries if task is not None else 0)

    @queue.periodic_task(crontab(minute="*"), name="sweep")
    def sweep() -> None:
        _sweep(app)

    @queue.on_startup(name="sweep_on_start")
    def sweep_on_start() -> None:
        # Every worker thread runs startup hooks; one sweep per process is enough.
        with _lock:
            if app.extensions.get("queue_swept"):
                return
            app.extensions["queue_swept"] = True
        _sweep(app)

    @queue.signal(SIGNAL_INTERRUPTED)
    def interrupted(signal: str, task: Any, *args: Any, **kwargs: Any) -> None:
        # A worker told to stop now (SIGTERM) hands its job back instead of dropping it.
        if task.name == "run_job" and task.args:
            with app.app_context():
                from .services import jobs

                jobs.resent(db.session(), int(task.args[0]))
            send(int(task.args[0]), app)

    app.extensions["queue_run_job"] = run_job
    return queue


def send(job_id: int, app: Flask | None = None) -> None:
    """Put a job's id on the queue. A queue that cannot be reached is logged, not raised: the
    job stays queued in the ledger and the next sweep sends it again."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    huey(app)
    try:
        app.extensions["queue_run_job"](job_id)
    except Exception:  # noqa: BLE001 - Redis down, disk full: the ledger keeps the job
        log.exception("could not queue job %s; the sweep will send it again", job_id)


def enqueue(kind: str, key: str, params: dict[str, Any], assessment_id: int | None = None) -> Job:
    """Ask for a job: recorded in the ledger, then sent to a worker (once, however often it is
    asked for while it waits)."""
    from .services import jobs

    job, new = jobs.request(db.session(), kind, key, params, assessment_id)
    if new:
        send(job.id)
    return job


class _Heartbeat:
    """Tells the ledger, from a thread of its own, that the job's worker is alive, and passes
    on the job's progress, so a page can show it and a sweep can tell a dead worker."""

    def __init__(self, app: Flask, job_id: int) -> None:
        self.engine = app.extensions["db_engine"]
        self.job_id = job_id
        self.interval = max(app.config["JOB_LEASE_SECONDS"] / 4, 0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"heartbeat-{job_id}",
                                       daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _loop(self) -> None:
        from .services import jobs

        while not self.stopped.wait(self.interval):
            try:
                jobs.beat(self.engine, self.job_id)
            except Exception:  # noqa: BLE001 - a missed beat only shortens the lease
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)

    def progress(self, step: int, total: int, label: str) -> None:
        from .services import jobs

        try:
            jobs.beat(self.engine, self.job_id, (step, total, label))
        except Exception:  # noqa: BLE001 - progress is for show
            log.warning("progress of job %s not recorded", self.job_id, exc_info=True)


def _run(app: Flask, job_id: int, retries_left: int) -> None:
    """Run one job: claim it in the ledger, do it with a heartbeat, record how it went. An
    error the user can act on (no release yet, no Pango for PDFs) fails the job at once; any
    other is raised again for the queue to retry, until the retries run out."""
    from .reporting.formats import ReportError
    from .services import jobs
    from .services.errors import ServiceError
    from .tasks import perform

    with app.app_context():
        session = db.session()
        if not jobs.claim(session, job_id, app.config["JOB_LEASE_SECONDS"]):
            log.info("job %s is done or taken by another worker", job_id)
            return
        job = session.get(Job, job_id)
        assert job is not None
        key = job.key
        # On SQLite an open transaction holds the write lock, and the heartbeat writes on a
        # connection of its own: never let the job's session sit in one.
        session.commit()
        try:
            with _Heartbeat(app, job_id) as heartbeat:

                def progress(step: int, total: int, label: str) -> None:
                    if session.in_transaction():
                        if session.new or session.dirty or session.deleted:
                            return  # in the middle of a write: report at the next step
                        session.commit()
                    heartbeat.progress(step, total, label)

                perform(session, job, progress)
        except (ServiceError, ReportError) as exc:
            session.rollback()
            log.warning("job %s (%s) failed: %s", job_id, key, exc)
            jobs.fail(session, job_id, str(exc), final=True)
            return
        except Exception as exc:
            session.rollback()
            final = retries_left <= 0
            log.exception("job %s (%s) failed%s", job_id, key,
                          "" if final else "; it will be retried")
            jobs.fail(session, job_id, f"{type(exc).__name__}: {exc}", final=final)
            if not final:
                raise
            return
        jobs.finish(session, job_id)


def _sweep(app: Flask) -> None:
    from .tasks import sweep

    with app.app_context():
        try:
            sweep(db.session(), app.config["JOB_LEASE_SECONDS"])
        except Exception:
            db.session().rollback()
            log.exception("sweep failed")
            raise


def run_pending(app: Flask, limit: int = 1000) -> int:
    """Run the queued jobs in this process, through the queue's own storage, until none is
    left; returns how many ran. Jobs queued by the jobs run too."""
    queue = huey(app)
    done = 0
    while done < limit:
        task = queue.dequeue()
        if task is None:
            break
        queue.execute(task)
        done += 1
    return done


@click.command("worker")
@with_appcontext
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once in this process (run more processes for more).")
@click.option("--no-periodic", is_flag=True,
              help="Leave the minute sweep (close dates, lost jobs, clean-up) to other workers.")
def worker_command(threads: int, no_periodic: bool) -> None:
    """Run a worker: releases, reports and scheduled work from the task queue, until Ctrl-C."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    queue = huey(app)
    # The analysis, charting and PDF libraries load once, now, rather than inside a first job.
    import assessment.analysis.engine  # noqa: F401
    import assessment.reporting.prepared  # noqa: F401
    import assessment.reporting.reports  # noqa: F401

    where = (f"Redis queue '{app.config['QUEUE_NAME']}'" if app.config.get("REDIS_URL")
             else f"SQLite queue {app.config['QUEUE_PATH']}")
    click.echo(f"Worker on the {where}, {threads} thread(s). Ctrl-C stops it.", err=True)
    consumer = queue.create_consumer(workers=threads, worker_type="thread",
                                     periodic=not no_periodic, initial_delay=0.1,
                                     max_delay=1.0, backoff=1.15)
    consumer.run()


jobs_cli = AppGroup("jobs", help="Background jobs: list them, retry a failed one, run the queue.")


@jobs_cli.command("list")
@click.option("--failed", is_flag=True, help="Only the jobs that failed for good.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def jobs_list(failed: bool, limit: int) -> None:
    """The newest jobs: id, status, attempts, what, and the error of a failed one."""
    from .services import jobs

    for job in jobs.recent(db.session(), limit, failed_only=failed):
        line = f"{job.id}\t{job.status.value}\t{job.attempts}\t{job.key}"
        if job.error and job.status != "done":
            line += f"\t{job.error.splitlines()[0]}"
        click.echo(line)


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Queue a failed job again."""
    from .services import jobs

    job = jobs.retry(db.session(), job_id)
    if job is None:
        click.echo(f"Error: job {job_id} has not failed (or does not exist).", err=True)
        raise click.exceptions.Exit(1)
    send(job.id)
    click.echo(f"Job {job_id} queued again as job {job.id}.")


@jobs_cli.command("run")
def jobs_run() -> None:
    """Run every queued job now, in this process, then stop (no worker needed)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _sweep(app)
    click.echo(f"Ran {run_pending(app)} job(s).")
