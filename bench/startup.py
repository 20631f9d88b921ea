"""Start-up figures: how fast a command and a fresh web worker start, and what a web worker
that has served only survey pages holds in memory.

Everything is measured in one run against a baseline measured in the same run, `python -c
"import flask"`, since machines are shared and noisy:

- a trivial command (`flask --app app assessment list`), as a ratio to the baseline;
- a fresh `gunicorn 'app:app'` (one worker), started `--repeat` times: median seconds from
  start to its first respondent page, and the next page's own time;
- the resident memory (VmRSS) of that worker after it has served only survey pages, beside a
  process that has imported the analysis, charting and PDF stack (what every worker used to
  load at start).

Usage: .venv/bin/python bench/startup.py [--repeat 5] [--pages 60]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def seconds(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    """Median wall time of a command, run `repeat` times."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def flask(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", type=int, default=60, help="survey pages the worker serves")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {**os.environ, "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder),
           "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "QUEUE_PATH": str(folder / "q.db")}
    env.pop("REDIS_URL", None)
    flask(env, "init-db")
    aid = flask(env, "assessment", "create", "--bank", "alignment", "--name", "Bench",
                "--teams", "Sales,Ops", "--roles", "Staff").strip().splitlines()[-1]
    flask(env, "assessment", "open", aid)
    links = flask(env, "invite", aid, "--team", "Sales", "--role", "Staff", "--count",
                  str(max(args.pages // 7, 1) + 1)).strip().splitlines()[1:]
    tokens = [line.split(",")[0].rsplit("/", 1)[1] for line in links]

    baseline = seconds([sys.executable, "-c", "import flask"], env, args.repeat)
    floor = seconds([sys.executable, "-c", "import flask.cli, sqlalchemy.orm"], env, args.repeat)
    command = seconds([str(BIN / "flask"), "--app", "app", "assessment", "list"], env,
                      args.repeat)
    print(f"python -c 'import flask' (baseline)        {baseline:.3f} s   x 1.00")
    print(f"python -c 'import flask.cli, sqlalchemy.orm' {floor:.3f} s   "
          f"x {floor / baseline:.2f}  (what any database command imports)")
    print(f"flask --app app assessment list            {command:.3f} s   "
          f"x {command / baseline:.2f}")

    starts = []
    for run in range(args.repeat):
        # Only the last start goes on to serve the survey pages that the memory figure needs.
        ready, warm = serve(env, tokens, pages=args.pages if run == args.repeat - 1 else 0)
        starts.append((ready, warm))
    ready = statistics.median(r for r, _ in starts)
    warm = statistics.median(w for _, w in starts)
    print(f"fresh gunicorn: start to first respondent page {ready:.3f} s   "
          f"x {ready / baseline:.2f}  (median of {args.repeat}; "
          f"{min(r for r, _ in starts):.3f} to {max(r for r, _ in starts):.3f} s)")
    print(f"  the next respondent page                  {warm:.3f} s   x {warm / baseline:.2f}")


def serve(env: dict[str, str], tokens: list[str], pages: int) -> tuple[float, float]:
    """Start a one-worker gunicorn and time its first and second respondent page; with
    `pages`, then serve that many survey pages and print the worker's resident memory."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "app:app", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        served_first = False
        while not served_first:
            if server.poll() is not None:
                raise SystemExit("gunicorn stopped")
            try:
                status, _ = get(f"http://127.0.0.1:{port}/s/{tokens[0]}")
                served_first = status == 200
            except OSError:
                time.sleep(0.01)
        ready = time.perf_counter() - started
        asked = time.perf_counter()
        get(f"http://127.0.0.1:{port}/s/{tokens[0]}")
        warm = time.perf_counter() - asked
        if not pages:
            return ready, warm
        served = 0
        while served < pages:
            for token in tokens:
                for path in ("", "/p/1", "/p/2", "/p/3", "/p/4", "/p/5", "/review"):
                    get(f"http://127.0.0.1:{port}/s/{token}{path}")
                    served += 1
        [worker] = children(server.pid)
        web = rss_mb(worker)
        loaded = subprocess.run(
            [sys.executable, "-c", "import re, assessment.analysis, assessment.reporting.reports;"
             "print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        stack = int(loaded.stdout.strip()) / 1024
        print(f"web worker RSS after {served} survey pages       {web:.0f} MB")
        print(f"a process with the analysis + PDF stack     {stack:.0f} MB   "
              f"(web worker x {web / stack:.2f})")
        return ready, warm
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
