"""Benchmark of the analysis core on synthetic answers.

For each size (default 1,000, 10,000 and 100,000 respondents x 50 questions in 20 groups and 4
roles) prints the seconds of each stage, the end-to-end time, the peak memory, and as the baseline
the time pandas takes to read the same answers from CSV, with the analysis time as a multiple of it.

    .venv/bin/python bench/analysis.py                 # all three sizes
    .venv/bin/python bench/analysis.py --sizes 1000    # a quick run

Each size runs in a fresh process so that peak memory (the process's maximum resident set, and the
peak of Python/numpy allocations during the analysis from tracemalloc) belongs to that size alone.
The timed run and the tracemalloc run are separate, because tracing slows allocation down.
Targets on a 2-core machine: 10,000 respondents under 2 s, 100,000 under 20 s and under 2 GB.

    .venv/bin/python bench/analysis.py --sizes 1000,10000 --baseline HEAD~3 --repeat 2

With `--baseline REV` each size is also run on the analysis of git revision REV, alternating
baseline and current runs `--repeat` times so that both meet the same machine load, and the
ratios current / baseline of the cluster stage and of the end-to-end time are printed (the
median of the repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

# The code measured: this checkout, or (for `--baseline`) another revision's `assessment` package
# exported to a temporary directory and named in BENCH_ROOT.
sys.path.insert(0, os.environ.get("BENCH_ROOT") or str(Path(__file__).resolve().parents[1]))

from assessment.analysis import AnalysisInput, read_answers_csv  # noqa: E402
from assessment.analysis.engine import Settings, run_stages  # noqa: E402
from assessment.banks import Bank, parse_bank  # noqa: E402

DIMENSIONS = ("ownership", "governance", "data", "handoffs", "manual_checkpoints")
QUESTIONS_PER_DIMENSION = 10
GROUPS = 20
ROLES = ("Manager", "Specialist", "Agent", "Engineer")
MIN_GROUP_SIZE = 5


def bench_bank() -> Bank:
    """50 questions: 10 per dimension, half per lens, one reverse item each."""
    questions = []
    for dim in DIMENSIONS:
        for i in range(QUESTIONS_PER_DIMENSION):
            questions.append({
                "id": f"{dim[:3].upper()}-{i + 1}",
                "dimension": dim,
                "lens": "architecture" if i % 2 == 0 else "operating_model",
                "text": f"Statement {i + 1} about {dim}.",
                "reverse": i == QUESTIONS_PER_DIMENSION - 1,
            })
    return parse_bank({
        "id": "bench", "version": 1, "title": "Benchmark bank",
        "scale": {"min": 1, "max": 5},
        "dimensions": [{"id": d, "title": d.replace("_", " ").title()} for d in DIMENSIONS],
        "questions": questions,
        "recommendations": [{
            "id": "platform-lags", "priority": "high", "title": "Platform lags",
            "when": {"fact": "lens_gap", "dimension": "*", "op": "<", "value": -5},
            "text": "{dimension_title}: gap {lens_gap:.0f} points.",
        }],
        "readiness": [{
            "id": "consensus", "severity": "block", "reason": "Teams disagree.",
            "require": {"fact": "consensus", "dimension": "*", "op": ">=", "value": 0.7},
        }],
    })


def synthetic(bank: Bank, n: int, seed: int = 0) -> pd.DataFrame:
    """Answers with group effects and three perception profiles, 5% don't know."""
    rng = np.random.default_rng(seed)
    q = len(bank.questions)
    group = rng.integers(0, GROUPS, n)
    profile = rng.integers(0, 3, n)
    group_shift = rng.normal(0, 0.4, (GROUPS, q))
    profile_shift = rng.normal(0, 0.8, (3, q))
    latent = 3 + group_shift[group] + profile_shift[profile] + rng.normal(0, 0.9, (n, q))
    values = np.clip(np.rint(latent), 1, 5)
    values[rng.random((n, q)) < 0.05] = np.nan
    frame = pd.DataFrame(values, columns=bank.question_ids)
    frame.insert(0, "team", [f"Team {g + 1:02d}" for g in group])
    frame.insert(1, "role", np.array(ROLES)[rng.integers(0, len(ROLES), n)])
    return frame


def run_one(n: int) -> dict:
    bank = bench_bank()
    frame = synthetic(bank, n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.csv"
        frame.to_csv(path, index=False)
        start = time.perf_counter()
        pd.read_csv(path)
        csv_seconds = time.perf_counter() - start
        start = time.perf_counter()
        answers, groups, roles = read_answers_csv(path, bank, "team", "role")
        checked_read_seconds = time.perf_counter() - start

    stages: dict[str, float] = {}
    start = time.perf_counter()
    data = AnalysisInput.prepare(answers, bank, groups=groups, roles=roles)
    stages["prepare"] = time.perf_counter() - start
    settings = Settings.of(data, MIN_GROUP_SIZE, None, 0)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    result = run_stages(data, settings, {}, timings)
    run_seconds = time.perf_counter() - start
    stages.update(timings)
    # Facts and the typed result (each part checked against its model as it is built).
    stages["assembly"] = run_seconds - sum(timings.values())
    start = time.perf_counter()
    document = result.to_json()
    stages["to_json"] = time.perf_counter() - start
    start = time.perf_counter()
    json.dumps(document)
    stages["json_dumps"] = time.perf_counter() - start
    end_to_end = stages["prepare"] + run_seconds  # what `analyze` does

    tracemalloc.start()
    data = AnalysisInput.prepare(answers, bank, groups=groups, roles=roles)
    run_stages(data, Settings.of(data, MIN_GROUP_SIZE, None, 0), {})
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n": n,
        "stages": stages,
        "end_to_end": end_to_end,
        "csv_read": csv_seconds,
        "checked_csv_read": checked_read_seconds,
        "traced_peak_mb": traced_peak / 2**20,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "clusters": result["divergence"]["clusters"]["k"],
        "cluster_method": result["divergence"]["clusters"]["method"],
    }


def report(figures: dict) -> None:
    n = figures["n"]
    print(f"\n== {n:,} respondents x 50 questions, {GROUPS} groups ==")
    for stage, seconds in figures["stages"].items():
        print(f"  {stage:<18}{seconds:8.3f} s")
    e2e, csv = figures["end_to_end"], figures["csv_read"]
    print(f"  {'end to end':<18}{e2e:8.3f} s   (json_dumps not included)")
    print(f"  baseline: pandas read_csv {csv:.3f} s; analysis = {e2e / csv:.1f} x read_csv")
    print(f"  validating read_answers_csv {figures['checked_csv_read']:.3f} s "
          f"({figures['checked_csv_read'] / csv:.1f} x read_csv)")
    print(f"  peak memory: {figures['traced_peak_mb']:.0f} MB traced during the analysis, "
          f"{figures['max_rss_mb']:.0f} MB max RSS of the process")
    print(f"  clusters found: {figures['clusters']} ({figures['cluster_method']})")


def measure(n: int, root: str | None = None) -> dict:
    """One size in a fresh process, on this checkout or on the package exported at `root`."""
    env = dict(os.environ, BENCH_ROOT=root) if root else None
    out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(revision: str, sizes: list[int], repeat: int) -> None:
    """The same sizes on `revision` and on this checkout, alternating, with ratios."""
    checkout = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(checkout), "archive", revision, "assessment"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for n in sizes:
            runs: dict[str, list[dict]] = {"baseline": [], "current": []}
            for _ in range(repeat):
                runs["baseline"].append(measure(n, tmp))
                runs["current"].append(measure(n))
            print(f"\n== {n:,} respondents: {revision} (baseline) against this checkout, "
                  f"{repeat} runs each, alternating ==")
            for label, key in (("cluster stage", "clusters"), ("end to end", None)):
                base = [r["stages"][key] if key else r["end_to_end"] for r in runs["baseline"]]
                now = [r["stages"][key] if key else r["end_to_end"] for r in runs["current"]]
                print(f"  {label:<14} baseline {float(np.median(base)):6.2f} s  current "
                      f"{float(np.median(now)):6.2f} s  ratio current/baseline "
                      f"{float(np.median(now)) / float(np.median(base)):.2f}")
            print(f"  clusters found: baseline {[r['clusters'] for r in runs['baseline']]}, "
                  f"current {[r['clusters'] for r in runs['current']]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated respondent counts (default: %(default)s)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", help="git revision to compare with (ratios in one run)")
    parser.add_argument("--repeat", type=int, default=2, help="with --baseline: runs of each")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    if args.baseline:
        compare(args.baseline, [int(s) for s in args.sizes.split(",")], args.repeat)
        return
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        figures = measure(n)
        report(figures)
        results.append(figures)
    if len(results) > 1:
        first = results[0]
        print("\ngrowth (time ratio / size ratio):")
        for r in results[1:]:
            print(f"  {first['n']:,} -> {r['n']:,}: "
                  f"{r['end_to_end'] / first['end_to_end']:.1f} x time for "
                  f"{r['n'] / first['n']:.0f} x respondents")


if __name__ == "__main__":
    main()
