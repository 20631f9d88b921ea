"""Load and fault benchmark: simulated respondents against a real gunicorn, then a data check.

What one run does:

1. creates a fresh database (a SQLite file in a temporary folder, or a throw-away PostgreSQL
   database on 127.0.0.1:5432, dropped at the end), runs `flask --app app init-db`, creates an
   assessment on the `alignment` bank with a few teams and roles, opens it and issues N invitation
   links with `flask --app app invite ... --out`;
2. starts `gunicorn 'app:app'` on a free port of 127.0.0.1 (`--workers W --threads 4
   --timeout 60`, `BENCHMARK_ENDPOINTS=1`) and waits for `/readyz`;
3. BASELINE: the same number of requests at the same concurrency against
   `POST /_bench/insert`, which inserts one row in one transaction; baseline and survey run in
   alternating slices (`--rounds`, default 5) so that both meet the same load on a shared
   machine;
4. SURVEY: N respondents, C at a time, each with its own cookie jar (`requests.Session`): load
   the introduction, start, load and save each of the 5 pages, load the review, submit. A request
   that fails with a connection error or a 5xx is retried with backoff, as a person would press
   reload; every attempt's latency and status is recorded. A submit whose earlier attempt was lost
   and whose retry gets 409 ("already used") counts as acknowledged;
5. prints throughput (requests/s, respondents/s), p50/p95/p99 latency, the ratios to the
   baseline, errors by status, then checks the database: the submitted responses are exactly the
   acknowledged ones, each with all 50 answers holding the values that were posted, no invitation
   with two responses, no answer stored twice. PASS/FAIL lines; exit status 1 on any FAIL.

Faults, injected while the survey phase runs:

- `--fault kill-worker`: SIGKILL a gunicorn worker (a child of the master) at 25% and again at
  60% of the respondents; the master starts replacements;
- `--fault restart-postgres` (with `--db postgres`): `pg_ctlcluster 15 main stop`, 2 s down,
  `start`, at 30% of the respondents.

After a fault run the service must answer `/readyz` again by itself, and every acknowledged
response must be stored whole. Usage:

    .venv/bin/python bench/load.py [--db sqlite|postgres] [--respondents 500] [--concurrency 50]
                                   [--fault none|kill-worker|restart-postgres] [--workers 3]
                                   [--rounds 5]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa
import yaml
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.db import make_engine  # noqa: E402
from assessment.services.assessments import hash_token  # noqa: E402

BANK = "alignment"
TEAMS = ["Sales", "Finance", "Operations", "IT"]
ROLES = ["Manager", "Staff"]
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-v", "ON_ERROR_STOP=1"]
PG_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main"]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 90
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- setup


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(cmd)}\n"
                         f"{done.stdout}{done.stderr}")
    return done.stdout


def bank_pages() -> list[list[str]]:
    """Question ids per survey page (dimension order is page order)."""
    bank = yaml.safe_load((ROOT / "question_banks" / f"{BANK}.yaml").read_text())
    return [[q["id"] for q in bank["questions"] if q["dimension"] == d["id"]]
            for d in bank["dimensions"]]


def create_database(kind: str, workdir: Path) -> tuple[str, str | None]:
    """(SQLAlchemy URL, PostgreSQL database name or None)."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'load.db'}", None
    name = f"bench_load_{os.getpid()}_{secrets.token_hex(3)}"
    subprocess.run([*PG_ADMIN, "-c", f'CREATE DATABASE "{name}"'], check=True,
                   capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_database(name: str) -> None:
    for _ in range(10):
        done = subprocess.run([*PG_ADMIN, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                              capture_output=True, text=True)
        if done.returncode == 0:
            return
        time.sleep(1)
    log(f"could not drop database {name}: {done.stderr.strip()}")


def prepare(env: dict[str, str], n: int, workdir: Path) -> tuple[int, list[str]]:
    """Migrate, create and open an assessment, issue n links; returns (id, tokens)."""
    flask = [str(BIN / "flask"), "--app", "app"]
    run([*flask, "init-db"], env)
    out = run([*flask, "assessment", "create", "--bank", BANK, "--name", "Load test",
               "--teams", ",".join(TEAMS), "--roles", ",".join(ROLES)], env)
    assessment_id = int(out.strip().splitlines()[-1])
    run([*flask, "assessment", "open", str(assessment_id)], env)
    groups = [(t, r) for t in TEAMS for r in ROLES]
    jobs = []
    for i, (team, role) in enumerate(groups):
        count = n // len(groups) + (1 if i < n % len(groups) else 0)
        if count:
            jobs.append((workdir / f"links-{i}.csv",
                         [*flask, "invite", str(assessment_id), "--team", team, "--role", role,
                          "--count", str(count), "--out", str(workdir / f"links-{i}.csv")]))
    # Each command spends seconds importing the app: run them side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: run(job[1], env), jobs))
    tokens: list[str] = []
    for out_file, _cmd in jobs:
        for line in out_file.read_text().splitlines()[1:]:
            url = line.split(",")[0]
            tokens.append(url.rstrip("/").rsplit("/", 1)[1])
    assert len(tokens) == n, (len(tokens), n)
    return assessment_id, tokens


class Server:
    """gunicorn 'app:app' as a child process; its log goes to a file."""

    def __init__(self, env: dict[str, str], port: int, workers: int, threads: int,
                 log_path: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "app:app", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--threads", str(threads), "--timeout", "60",
             "--graceful-timeout", "10"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def workers(self) -> list[int]:
        """Worker pids: the processes whose parent is the master."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == self.proc.pid and fields[0] != "Z":
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers alive now have used, in seconds."""
        total = 0
        for pid in self.workers():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
        return total / os.sysconf("SC_CLK_TCK")

    def wait_ready(self, timeout: float) -> float | None:
        """Seconds until /readyz answered 200, or None if it did not within timeout."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                return None
            try:
                if requests.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except requests.RequestException:
                pass
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# --------------------------------------------------------------------------- client


@dataclass
class Attempt:
    step: str
    status: str  # HTTP status as text, or the name of the connection error
    seconds: float
    ok: bool  # counted as a success for latency (a 2xx, 3xx or an expected 409)


@dataclass
class Outcome:
    """What one respondent's client saw."""

    token: str
    answers: dict[str, float | None]
    acknowledged: bool = False
    submit_unknown: bool = False  # submit tried, every attempt lost: outcome unknown to client
    failed_step: str | None = None
    failure: str | None = None
    seconds: float = 0.0
    bad_5xx_pages: int = 0  # 5xx responses without the "try again" page
    attempts: list[Attempt] = field(default_factory=list)


class GaveUp(Exception):
    pass


class Client:
    def __init__(self, base: str, retries: int, backoff: float) -> None:
        self.base = base
        self.retries = retries
        self.backoff = backoff

    def session(self) -> requests.Session:
        s = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        s.mount("http://", adapter)
        return s

    def call(self, s: requests.Session, out: Outcome, step: str, method: str, path: str,
             expect: tuple[int, ...], data: dict[str, str] | None = None,
             accept_409_after_loss: bool = False) -> requests.Response:
        """One request, retried after a connection error or a 5xx. Returns the response with an
        expected status; raises GaveUp otherwise."""
        lost = False
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1) * random.uniform(0.75, 1.25))
            t0 = time.perf_counter()
            try:
                r = s.request(method, self.base + path, data=data, allow_redirects=False,
                              timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            except requests.RequestException as exc:
                out.attempts.append(Attempt(step, type(exc).__name__, time.perf_counter() - t0,
                                            False))
                lost, last = True, type(exc).__name__
                continue
            seconds = time.perf_counter() - t0
            if r.status_code >= 500:
                out.attempts.append(Attempt(step, str(r.status_code), seconds, False))
                if "try again" not in r.text.lower():
                    out.bad_5xx_pages += 1
                lost, last = True, str(r.status_code)
                continue
            ok = r.status_code in expect or (accept_409_after_loss and lost
                                              and r.status_code == 409)
            out.attempts.append(Attempt(step, str(r.status_code), seconds, ok))
            if ok:
                return r
            raise GaveUp(f"{step}: unexpected {r.status_code}")
        raise GaveUp(f"{step}: gave up after {self.retries + 1} attempts ({last})")

    def respondent(self, token: str, pages: list[list[str]], seed: int) -> Outcome:
        rng = random.Random(seed)
        choices = ["1", "2", "3", "4", "5", "dk"]
        posted = [{q: rng.choice(choices) for q in page} for page in pages]
        answers = {q: (None if v == "dk" else float(v)) for page in posted for q, v in page.items()}
        out = Outcome(token, answers)
        root = f"/s/{token}"
        t0 = time.perf_counter()
        step = "intro"
        try:
            with self.session() as s:
                r = self.call(s, out, "intro", "GET", root, (200,))
                step = "start"
                self.call(s, out, "start", "POST", root + "/start", (302,),
                          {"csrf_token": csrf(r)})
                for n, page in enumerate(posted, start=1):
                    step = f"page-{n}"
                    r = self.call(s, out, "page-get", "GET", f"{root}/p/{n}", (200,))
                    form = {f"q-{q}": v for q, v in page.items()}
                    form.update(csrf_token=csrf(r), nav="next")
                    r = self.call(s, out, "page-save", "POST", f"{root}/p/{n}", (302,), form)
                    want = f"{root}/review" if n == len(posted) else f"{root}/p/{n + 1}"
                    if not r.headers.get("Location", "").endswith(want):
                        raise GaveUp(f"{step}: redirected to {r.headers.get('Location')}")
                step = "review"
                r = self.call(s, out, "review", "GET", root + "/review", (200,))
                step = "submit"
                try:
                    r = self.call(s, out, "submit", "POST", root + "/submit", (302,),
                                  {"csrf_token": csrf(r)}, accept_409_after_loss=True)
                except GaveUp:
                    out.submit_unknown = all(not a.ok for a in out.attempts
                                             if a.step == "submit")
                    raise
                if r.status_code == 302 and not r.headers.get("Location", "").endswith(
                        "/s/thanks"):
                    raise GaveUp(f"submit: redirected to {r.headers.get('Location')}")
                out.acknowledged = True
        except GaveUp as exc:
            out.failed_step, out.failure = step, str(exc)
        except Exception as exc:  # noqa: BLE001 - a client bug must not hide the others
            out.failed_step, out.failure = step, f"{type(exc).__name__}: {exc}"
        out.seconds = time.perf_counter() - t0
        return out

    def baseline(self, requests_per_task: int) -> Outcome:
        out = Outcome("", {})
        t0 = time.perf_counter()
        try:
            with self.session() as s:
                for _ in range(requests_per_task):
                    self.call(s, out, "insert", "POST", "/_bench/insert", (200,))
            out.acknowledged = True
        except GaveUp as exc:
            out.failure = str(exc)
        out.seconds = time.perf_counter() - t0
        return out


def csrf(r: requests.Response) -> str:
    match = CSRF.search(r.text)
    if not match:
        raise GaveUp(f"no CSRF token in {r.url} ({r.status_code})")
    return match.group(1)


@dataclass
class Phase:
    name: str
    wall: float
    outcomes: list[Outcome]
    server_cpu: float = 0.0  # seconds of CPU the gunicorn workers used in this phase
    client_cpu: float = 0.0  # and this process (the simulated people)

    @property
    def attempts(self) -> list[Attempt]:
        return [a for o in self.outcomes for a in o.attempts]

    def latencies(self, step: str | None = None) -> list[float]:
        return sorted(a.seconds for a in self.attempts if a.ok and (step is None
                                                                     or a.step == step))

    @property
    def rps(self) -> float:
        return len(self.attempts) / self.wall


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def run_phase(name: str, tasks: int, concurrency: int, fn, progress=None,  # type: ignore[no-untyped-def]
              server: Server | None = None) -> Phase:
    outcomes: list[Outcome] = []
    server_cpu = server.cpu_seconds() if server else 0.0
    client_cpu = time.process_time()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for out in pool.map(fn, range(tasks)):
            outcomes.append(out)
            if progress is not None:
                progress(len(outcomes))
    wall = time.perf_counter() - t0
    return Phase(name, wall, outcomes,
                 (server.cpu_seconds() - server_cpu) if server else 0.0,
                 time.process_time() - client_cpu)


def run_interleaved(rounds: int, tasks: int, concurrency: int, baseline, survey,  # type: ignore[no-untyped-def]
                    progress, server: Server | None = None) -> tuple[Phase, Phase]:
    """The baseline and the survey in alternating slices (baseline slice 1, survey slice 1,
    baseline slice 2, ...), each phase's figures summed over its slices. On a shared machine
    the load drifts during a run; alternating gives both phases the same share of it, so their
    ratio is not decided by which one ran while a neighbour was busy."""
    bounds = [tasks * r // rounds for r in range(rounds + 1)]
    phases: dict[str, list[Phase]] = {"baseline": [], "survey": []}
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if hi == lo:
            continue
        phases["baseline"].append(run_phase("baseline", hi - lo, concurrency,
                                            lambda i, lo=lo: baseline(lo + i), server=server))
        phases["survey"].append(run_phase("survey", hi - lo, concurrency,
                                          lambda i, lo=lo: survey(lo + i),
                                          progress=lambda done, lo=lo: progress(lo + done),
                                          server=server))
    base, surv = (Phase(name, sum(p.wall for p in parts), [o for p in parts for o in p.outcomes],
                        sum(p.server_cpu for p in parts), sum(p.client_cpu for p in parts))
                  for name, parts in phases.items())
    return base, surv


# --------------------------------------------------------------------------- faults


class Faults(threading.Thread):
    """Injects the fault when the survey phase reaches the given fractions of respondents."""

    def __init__(self, kind: str, server: Server, total: int) -> None:
        super().__init__(daemon=True)
        self.kind, self.server, self.total = kind, server, total
        self.done = 0
        self.events: list[str] = []
        self.marks = {"kill-worker": [0.25, 0.60], "restart-postgres": [0.30]}.get(kind, [])
        self._halt = threading.Event()
        self._t0 = time.perf_counter()

    def progress(self, done: int) -> None:
        self.done = done

    def stop(self) -> None:
        self._halt.set()

    def note(self, text: str) -> None:
        self.events.append(f"t={time.perf_counter() - self._t0:6.1f}s {text}")
        log(text)

    def run(self) -> None:
        # Started respondents run ahead of finished ones by about C; finished count is enough.
        for mark in self.marks:
            while self.done < mark * self.total:
                if self._halt.wait(0.05):
                    return
            if self.kind == "kill-worker":
                workers = self.server.workers()
                if not workers:
                    self.note("no worker to kill")
                    continue
                pid = random.choice(workers)
                os.kill(pid, signal.SIGKILL)
                self.note(f"SIGKILL worker {pid} at {self.done}/{self.total} respondents "
                          f"(workers were {workers})")
            elif self.kind == "restart-postgres":
                self.note(f"stopping PostgreSQL at {self.done}/{self.total} respondents")
                subprocess.run([*PG_CLUSTER, "stop"], check=False, capture_output=True)
                time.sleep(2)
                done = subprocess.run([*PG_CLUSTER, "start"], capture_output=True, text=True)
                self.note(f"PostgreSQL started again (exit {done.returncode})")


# --------------------------------------------------------------------------- checks


def check_database(url: str, assessment_id: int, outcomes: list[Outcome],
                   questions: int) -> list[tuple[bool, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            invitations = {h: (i, st) for i, h, st in conn.execute(sa.text(
                "SELECT id, token_hash, status FROM invitations WHERE assessment_id = :a"),
                {"a": assessment_id})}
            responses = conn.execute(sa.text(
                "SELECT id, invitation_id, submitted_at FROM responses "
                "WHERE assessment_id = :a"), {"a": assessment_id}).all()
            answer_rows = conn.execute(sa.text(
                "SELECT an.response_id, an.question_id, an.value FROM answers an "
                "JOIN responses r ON r.id = an.response_id WHERE r.assessment_id = :a"),
                {"a": assessment_id}).all()
    finally:
        engine.dispose()

    by_response: dict[int, dict[str, float | None]] = collections.defaultdict(dict)
    duplicate_answers = 0
    for rid, qid, value in answer_rows:
        if qid in by_response[rid]:
            duplicate_answers += 1
        by_response[rid][qid] = None if value is None else float(value)
    per_invitation = collections.Counter(r.invitation_id for r in responses)
    duplicate_responses = sum(c - 1 for c in per_invitation.values() if c > 1)
    submitted = {r.invitation_id: r.id for r in responses if r.submitted_at is not None}
    submitted_answers = sum(len(by_response[rid]) for rid in submitted.values())

    acked = [o for o in outcomes if o.acknowledged]
    unknown = [o for o in outcomes if o.submit_unknown]
    acked_inv = {invitations[hash_token(o.token)][0] for o in acked}
    unknown_inv = {invitations[hash_token(o.token)][0] for o in unknown}
    missing = acked_inv - set(submitted)
    extra = set(submitted) - acked_inv
    unexplained = extra - unknown_inv
    wrong_values = [o.token[:6] for o in acked
                    if by_response.get(submitted.get(invitations[hash_token(o.token)][0], -1))
                    != o.answers]
    half = [rid for rid in submitted.values() if len(by_response[rid]) != questions]
    status_mismatch = sum(1 for i, st in invitations.values()
                          if (str(st).lower() == "submitted") != (i in submitted))

    print(f"database: {len(responses)} responses ({len(submitted)} submitted), "
          f"{len(answer_rows)} answers ({submitted_answers} in submitted responses); "
          f"clients: {len(acked)} submits acknowledged, {len(unknown)} with unknown outcome")
    checks = [
        (not missing, f"every acknowledged submit is stored ({len(acked_inv) - len(missing)}"
                      f"/{len(acked_inv)}; missing {len(missing)})"),
        (not unexplained, f"stored submitted responses = acknowledged ({len(submitted)} stored, "
                          f"{len(acked)} acknowledged, {len(extra & unknown_inv)} more whose "
                          f"submit reply was lost, {len(unexplained)} unexplained)"),
        (submitted_answers == len(submitted) * questions,
         f"answers in submitted responses = responses x {questions} "
         f"({submitted_answers} = {len(submitted)} x {questions})"),
        (not half, f"no half-saved submitted survey ({len(half)} with fewer or more than "
                   f"{questions} answers)"),
        (not wrong_values, f"stored answers equal the posted values ({len(wrong_values)} differ)"),
        (duplicate_responses == 0, f"one response per invitation ({duplicate_responses} extra)"),
        (duplicate_answers == 0, f"no answer stored twice ({duplicate_answers} duplicates)"),
        (status_mismatch == 0, f"invitation status matches the stored submit "
                               f"({status_mismatch} differ)"),
    ]
    return checks


# --------------------------------------------------------------------------- report


def describe(phase: Phase) -> dict[str, object]:
    lat = phase.latencies()
    statuses = collections.Counter(a.status for a in phase.attempts)
    return {
        "requests": len(phase.attempts),
        "wall_s": round(phase.wall, 2),
        "rps": round(phase.rps, 1),
        "p50_ms": round(pct(lat, 50) * 1000, 1),
        "p95_ms": round(pct(lat, 95) * 1000, 1),
        "p99_ms": round(pct(lat, 99) * 1000, 1),
        "statuses": dict(sorted(statuses.items())),
        # CPU per request: where the time goes, as the machine's load does not change it much
        # (a worker killed by a fault takes its CPU time with it: read these on runs without).
        "server_cpu_ms": round(phase.server_cpu / max(len(phase.attempts), 1) * 1000, 2),
        "client_cpu_ms": round(phase.client_cpu / max(len(phase.attempts), 1) * 1000, 2),
    }


def server_errors(log_path: Path) -> collections.Counter[str]:
    """Exception lines in the gunicorn/app log, by text (first 160 characters)."""
    pattern = re.compile(r"^([\w.]+(Error|Exception|Timeout|Closed)\b.*)$")
    counts: collections.Counter[str] = collections.Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        m = pattern.match(line.strip())
        if m:
            counts[m.group(1)[:160]] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--respondents", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--fault", choices=["none", "kill-worker", "restart-postgres"],
                        default="none")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--retries", type=int, default=6,
                        help="retries of a request after a connection error or a 5xx")
    parser.add_argument("--backoff", type=float, default=0.25,
                        help="first retry delay in seconds, doubled on each retry")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternate baseline and survey in this many slices each")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (database, links, gunicorn log)")
    args = parser.parse_args()
    if args.fault == "restart-postgres" and args.db != "postgres":
        parser.error("--fault restart-postgres needs --db postgres")

    pages = bank_pages()
    questions = sum(len(p) for p in pages)
    workdir = Path(tempfile.mkdtemp(prefix="load-bench-"))
    url, pg_name = create_database(args.db, workdir)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"FLASK_APP", "FLASK_DEBUG"}}
    env.update(SECRET_KEY=secrets.token_hex(32), DATABASE_URL=url,
               BASE_URL=f"http://127.0.0.1:{port}", INSTANCE_PATH=str(workdir / "instance"),
               REPORTS_DIR=str(workdir / "reports"), BENCHMARK_ENDPOINTS="1")
    server: Server | None = None
    failed: list[str] = []
    try:
        log(f"database {args.db}: migrating, creating the assessment, "
            f"issuing {args.respondents} links")
        assessment_id, tokens = prepare(env, args.respondents, workdir)
        server = Server(env, port, args.workers, args.threads, workdir / "gunicorn.log")
        if server.wait_ready(60) is None:
            print((workdir / "gunicorn.log").read_text()[-3000:])
            raise SystemExit("gunicorn did not become ready")
        log(f"gunicorn ready on {server.base}: {args.workers} workers x {args.threads} threads, "
            f"pids {server.workers()}")
        client = Client(server.base, args.retries, args.backoff)
        per_respondent = 2 + 2 * len(pages) + 2

        log(f"baseline: {args.respondents} x {per_respondent} single-insert requests, and "
            f"survey: {args.respondents} respondents, {args.concurrency} at a time, in "
            f"{args.rounds} alternating rounds; fault: {args.fault}")
        # The machine may be shared: the load average says how comparable two runs are.
        load = {"at_start": os.getloadavg()[0]}
        faults = Faults(args.fault, server, args.respondents)
        faults.start()
        base, survey = run_interleaved(
            args.rounds, args.respondents, args.concurrency,
            lambda _i: client.baseline(per_respondent),
            lambda i: client.respondent(tokens[i], pages, seed=i), faults.progress, server)
        load["at_end"] = os.getloadavg()[0]
        faults.stop()
        faults.join(timeout=30)
        ready_after = server.wait_ready(60)
        workers_after = server.workers()

        b, s = describe(base), describe(survey)
        submit_lat = survey.latencies("submit")
        save_lat = survey.latencies("page-save")
        finished = [o for o in survey.outcomes if o.acknowledged]
        gave_up = [o for o in survey.outcomes if not o.acknowledged]
        bad_5xx = sum(o.bad_5xx_pages for o in survey.outcomes)
        retried = sum(1 for o in survey.outcomes
                      if any(not a.ok for a in o.attempts))
        print()
        print(f"== {args.db}, fault {args.fault}, {args.respondents} respondents, "
              f"{args.concurrency} concurrent, gunicorn {args.workers}x{args.threads}")
        for label, d in (("baseline insert", b), ("survey requests", s)):
            print(f"{label:16} {d['requests']:6} requests in {d['wall_s']:7.2f} s = "
                  f"{d['rps']:7.1f} req/s   p50 {d['p50_ms']:7.1f} ms  p95 {d['p95_ms']:7.1f} ms"
                  f"  p99 {d['p99_ms']:7.1f} ms   statuses {d['statuses']}")
        cpu_ratio = float(s["server_cpu_ms"]) / max(float(b["server_cpu_ms"]), 1e-9)  # type: ignore[arg-type]
        print(f"CPU per request: gunicorn workers {b['server_cpu_ms']:.2f} ms (baseline) and "
              f"{s['server_cpu_ms']:.2f} ms (survey), x{cpu_ratio:.2f}; "
              f"this client {b['client_cpu_ms']:.2f} and {s['client_cpu_ms']:.2f} ms")
        for step in ("intro", "start", "page-get", "page-save", "review", "submit"):
            lat = survey.latencies(step)
            print(f"  {step:10} n={len(lat):5}  p50 {pct(lat, 50) * 1000:7.1f} ms  "
                  f"p95 {pct(lat, 95) * 1000:7.1f} ms  p99 {pct(lat, 99) * 1000:7.1f} ms")
        ratios = {
            "throughput": s["rps"] / b["rps"],
            "p50": s["p50_ms"] / b["p50_ms"],
            "p95": s["p95_ms"] / b["p95_ms"],
            "submit_p50": pct(submit_lat, 50) * 1000 / b["p50_ms"],
            "submit_p95": pct(submit_lat, 95) * 1000 / b["p95_ms"],
            "save_p95": pct(save_lat, 95) * 1000 / b["p95_ms"],
        }
        print("load average (1 min): at the start {at_start:.1f}, at the end {at_end:.1f}"
              .format(**load))
        print(f"respondents/s    {len(finished) / survey.wall:.2f} "
              f"({len(finished)} finished in {survey.wall:.1f} s; "
              f"{retried} needed a retry; {len(gave_up)} gave up)")
        print("ratio to baseline: survey req/s x{throughput:.2f}, p50 x{p50:.2f}, "
              "p95 x{p95:.2f}; submit p50 x{submit_p50:.2f}, p95 x{submit_p95:.2f}; "
              "page save p95 x{save_p95:.2f}".format(**ratios))
        for o in gave_up[:10]:
            print(f"  gave up: {o.token[:6]}... at {o.failed_step}: {o.failure}")
        for event in faults.events:
            print(f"fault: {event}")
        errors = server_errors(workdir / "gunicorn.log")
        for text, n in errors.most_common(8):
            print(f"server log: {n} x {text}")
        print()

        checks = check_database(url, assessment_id, survey.outcomes, questions)
        checks += [
            (not gave_up, f"every respondent finished ({len(gave_up)} gave up after retries)"),
            (bad_5xx == 0, f"every 5xx was the 'try again' page ({bad_5xx} were not)"),
            (ready_after is not None,
             "service answers /readyz after the run ("
             + (f"in {ready_after:.1f} s)" if ready_after is not None else "not within 60 s)")),
            (len(workers_after) == args.workers,
             f"gunicorn has {len(workers_after)}/{args.workers} workers after the run"),
            (not base.outcomes or all(o.acknowledged for o in base.outcomes),
             "every baseline request succeeded"),
        ]
        for ok, text in checks:
            print(f"{'PASS' if ok else 'FAIL'} {text}")
            if not ok:
                failed.append(text)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps({
                "db": args.db, "fault": args.fault, "respondents": args.respondents,
                "concurrency": args.concurrency, "workers": args.workers,
                "rounds": args.rounds,
                "threads": args.threads, "baseline": b, "survey": s,
                "respondents_per_s": round(len(finished) / survey.wall, 2),
                "submit_p95_ms": round(pct(submit_lat, 95) * 1000, 1),
                "ratios": {k: round(v, 3) for k, v in ratios.items()},
                "load_average": {k: round(v, 2) for k, v in load.items()},
                "faults": faults.events, "server_errors": dict(errors),
                "checks": [{"ok": ok, "text": t} for ok, t in checks],
            }, indent=2))
    finally:
        if server is not None:
            server.stop()
        if pg_name:
            drop_database(pg_name)
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("RESULT:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
