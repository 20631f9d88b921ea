"""False-positive rates of the analysis on answers with nothing to find, and its power on answers
with something to find.

Null data are generated with a fixed seed each: uniform noise (people answering at random) and
single populations of survey answers (one latent factor, ceiling or floor effects, 5 to 50
items), split into teams and roles at random, so there are no clusters, no team differences, no
role differences and no split teams. For each the script runs the clustering at several seeds and
two row orders and the whole analysis once, and prints:

- clusters: the share of runs that report distinct groups (k > 1);
- items flagged as divergent, per reason, as a share of all items tested;
- teams judged to agree beyond chance, and teams judged split, as a share of team x item cells.

Then the known structures (iris, Old Faithful as written by R, planted profiles, the demo's
front-line cluster) and what is found there.

    .venv/bin/python bench/null_rates.py              # 5 seeds x 2 row orders (a few minutes)
    .venv/bin/python bench/null_rates.py --seeds 2    # a quick look
    .venv/bin/python bench/null_rates.py --grid       # clusters only, many small data sets

`--grid` clusters single populations of six kinds (uniform noise, ceiling- and floor-skewed,
acquiescent, a 3-point lattice, one correlated factor) on 5, 10, 31 and 50 items and 20 to 400
respondents, at `--seeds` data sets x `--seeds` clustering seeds x `--orders` row orders each,
and counts the
runs that report groups under the decision rule (test and practical size) and under the test
alone (what the previous rule did). `--out FILE` writes one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assessment.analysis import analyze  # noqa: E402
from assessment.analysis.clustering import PerceptionClusters  # noqa: E402
from assessment.banks import Bank, parse_bank  # noqa: E402

TEAMS = 6
ROLES = ("Leadership", "Manager", "Staff")
FAITHFUL = ROOT / "tests" / "analysis" / "fixtures" / "faithful.csv"


def bank_of(items: int, points: int = 5) -> Bank:
    dims = max(1, items // 10) if items >= 10 else 1
    questions = [{"id": f"Q{i:02d}", "dimension": f"d{i % dims}",
                  "lens": "architecture" if i % 2 else "operating_model",
                  "text": f"Statement {i}."} for i in range(items)]
    return parse_bank({"id": "null", "version": 1, "title": "Null data",
                       "scale": {"min": 1, "max": points},
                       "dimensions": [{"id": f"d{d}", "title": f"Dimension {d}"}
                                      for d in range(dims)],
                       "questions": questions,
                       # the shipped banks' role-gap rule
                       "recommendations": [{
                           "id": "role-gap", "title": "Roles differ", "text": "Roles differ.",
                           "when": {"all": [
                               {"fact": "role_gap", "dimension": "*", "op": ">", "value": 15},
                               {"fact": "role_gap_p", "dimension": "*", "op": "<",
                                "value": 0.05}]}}]})


def noise(n: int, items: int, seed: int, points: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, points + 1, (n, items)).astype(float)


def population(n: int, items: int, seed: int, *, shift: float, loading: float = 0.8,
               spread: float = 0.8, floor: bool = False) -> np.ndarray:
    """One population: a general factor, item difficulties, noise; answers piled at the top
    (ceiling) for a positive `shift`, at the bottom with `floor`; 5% don't know."""
    rng = np.random.default_rng(seed)
    latent = (3 + shift + rng.normal(0, 0.3, items) + loading * rng.normal(size=(n, 1))
              + rng.normal(0, spread, (n, items)))
    if floor:
        latent = 6 - latent
    values = np.clip(np.rint(latent), 1, 5)
    values[rng.random(values.shape) < 0.05] = np.nan
    return values


def minor_factors(n: int, seed: int) -> np.ndarray:
    """Like real scales: a strong general factor and two minor factors on five items each."""
    rng = np.random.default_rng(seed)
    general, minor_a, minor_b = (rng.normal(size=(n, 1)) for _ in range(3))
    load_a = np.r_[np.full(5, 0.45), np.zeros(9)]
    load_b = np.r_[np.zeros(5), np.full(5, 0.45), np.zeros(4)]
    latent = (3.3 + 0.8 * general + minor_a * load_a + minor_b * load_b
              + rng.normal(0, 0.6, (n, 14)) + rng.normal(0, 0.3, 14))
    return np.clip(np.rint(latent), 1, 5)


NULLS = {
    "noise, 5 items": lambda seed: noise(400, 5, seed),
    "noise, 10 items": lambda seed: noise(400, 10, seed),
    "noise, 31 items": lambda seed: noise(300, 31, seed),
    "noise, 50 items": lambda seed: noise(300, 50, seed),
    "noise, 7 items, 7 points": lambda seed: noise(200, 7, seed, 7),
    "ceiling, 5 items": lambda seed: population(300, 5, seed, shift=1.2),
    "ceiling, 10 items": lambda seed: population(300, 10, seed, shift=1.2),
    "ceiling, 31 items": lambda seed: population(300, 31, seed, shift=1.2),
    "ceiling, 50 items": lambda seed: population(300, 50, seed, shift=1.2),
    "strong ceiling, 31 items": lambda seed: population(500, 31, seed, shift=1.8),
    "strong ceiling, 50 items": lambda seed: population(500, 50, seed, shift=1.8, loading=1.0),
    "floor, 31 items": lambda seed: population(300, 31, seed, shift=1.2, floor=True),
    "floor, 50 items": lambda seed: population(300, 50, seed, shift=1.2, floor=True),
    "no factor, skewed, 31 items": lambda seed: population(300, 31, seed, shift=1.2,
                                                           loading=0.0),
    "general + minor factors, 14 items": lambda seed: minor_factors(2000, seed),
}


def acquiescent(n: int, items: int, seed: int) -> np.ndarray:
    """One population with a response style: everyone leans towards "agree" by their own amount,
    and every third statement is worded the other way round (scored reversed), so the style
    pulls those items down and the rest up."""
    rng = np.random.default_rng(seed)
    latent = (3.3 + rng.normal(0, 0.3, items) + 0.3 * rng.normal(size=(n, 1))
              + rng.normal(0.6, 0.5, (n, 1)) + rng.normal(0, 0.8, (n, items)))
    values = np.clip(np.rint(latent), 1, 5)
    reversed_items = np.arange(items) % 3 == 0
    values[:, reversed_items] = 6 - values[:, reversed_items]
    values[rng.random(values.shape) < 0.05] = np.nan
    return values


GRID_KINDS = {
    "uniform noise": lambda n, items, seed: noise(n, items, seed),
    "ceiling-skewed": lambda n, items, seed: population(n, items, seed, shift=1.2),
    "floor-skewed": lambda n, items, seed: population(n, items, seed, shift=1.2, floor=True),
    "acquiescent": acquiescent,
    "lattice, 3 points": lambda n, items, seed: noise(n, items, seed, 3),
    "single factor": lambda n, items, seed: population(n, items, seed, shift=0.0, loading=1.0),
}
GRID_ITEMS = (5, 10, 31, 50)
GRID_N = (20, 50, 100, 200, 400)


def previous_rule_p(model: PerceptionClusters) -> dict[int, float]:
    """Per k, the p-value of the previous rule (the test alone, against no gain at all) from
    the figures the model keeps; Bonferroni over the k as in the model."""
    from scipy import stats

    out = {}
    for k, gain in model.gain_by_k_.items():
        scale = model.reference_sd_by_k_[k] * np.sqrt(1.0 + 1.0 / model.draws_)
        t = gain / scale if scale > 0 else (np.inf if gain > 0 else -np.inf)
        out[k] = float(min(1.0, stats.t.sf(t, model.draws_ - 1) * len(model.gain_by_k_)))
    return out


def grid(seeds: int, orders: int, out: str | None, kinds: list[str]) -> None:
    """False positives of the cluster decision over many small single populations."""
    from assessment.analysis import clustering

    sink = open(out, "w") if out else None  # noqa: SIM115
    runs = flagged = test_only = 0
    start = time.perf_counter()
    print(f"{'data':<22}{'items':>6}{'n':>5}{'runs':>6}{'groups':>8}{'test alone':>12}"
          f"{'max gain where the test alone passes':>38}")
    for kind in kinds:
        make = GRID_KINDS[kind]
        for items in GRID_ITEMS:
            for n in GRID_N:
                found = passed = 0
                gains: list[float] = []
                for data_seed in range(seeds):
                    frame = pd.DataFrame(make(n, items, data_seed))
                    for seed in range(seeds):
                        for order in range(orders):
                            shuffled = (frame if order == 0
                                        else frame.sample(frac=1, random_state=1000 + order))
                            model = PerceptionClusters(random_state=seed).fit(shuffled)
                            p_values = previous_rule_p(model)
                            passing = [k for k, p in p_values.items()
                                       if p < clustering.SIGNIFICANCE]
                            found += (model.k_ or 1) > 1
                            passed += bool(passing)
                            gains += [model.gain_by_k_[k] for k in passing]
                            if sink:
                                sink.write(json.dumps({
                                    "kind": kind, "items": items, "n": n, "data_seed": data_seed,
                                    "seed": seed, "order": order, "k": model.k_,
                                    "test_passes_at": passing, "p": model.p_value_,
                                    "gain_by_k": model.gain_by_k_, "draws": model.draws_,
                                    "p_by_k": p_values}) + "\n")
                                sink.flush()
                runs += seeds * seeds * orders
                flagged += found
                test_only += passed
                top = f"{max(gains):.3f}" if gains else "-"
                print(f"{kind:<22}{items:>6}{n:>5}{seeds * seeds * orders:>6}{found:>8}"
                      f"{passed:>12}{top:>38}", flush=True)
    print(f"\n{flagged} of {runs} runs report groups (minimum-effect test and practical size); "
          f"{test_only} of {runs} would under the previous rule (the test against no gain, "
          f"alone). {time.perf_counter() - start:.0f} s")


def clusters_found(values: np.ndarray, seeds: int, orders: int) -> list[int]:
    frame = pd.DataFrame(values)
    found = []
    for seed in range(seeds):
        for order in range(orders):
            shuffled = frame if order == 0 else frame.sample(frac=1, random_state=1000 + order)
            found.append(PerceptionClusters(random_state=seed).fit(shuffled).k_)
    return found


def flags(values: np.ndarray, seed: int, points: int = 5) -> dict[str, float]:
    """Share of items flagged per reason, and of cells judged agreeing or split, on one analysis
    with teams and roles drawn at random (so none differs)."""
    rng = np.random.default_rng(seed + 10_000)
    n, items = values.shape
    bank = bank_of(items, points)
    answers = pd.DataFrame(values, columns=bank.question_ids)
    groups = pd.Series(rng.choice([f"Team {t}" for t in range(TEAMS)], n))
    roles = pd.Series(rng.choice(ROLES, n))
    result = analyze(answers, bank, groups=groups, roles=roles, random_state=seed).to_json()
    listed = result["divergence"]["items"]
    out = {reason: sum(reason in e["reasons"] for e in listed) / items
           for reason in ("disagree_within_groups", "groups_differ", "roles_differ")}
    out["any"] = len(listed) / items
    cells = [c for item in result["items"].values() for c in item["groups"].values()
             if not c.get("suppressed") and c.get("agrees") is not None]
    out["cells agreeing"] = float(np.mean([c["agrees"] for c in cells])) if cells else np.nan
    out["cells split"] = float(np.mean([bool(c["split"]) for c in cells])) if cells else np.nan
    teams = [c for d in result["dimensions"].values() for c in d["groups"].values()
             if not c.get("suppressed") and c.get("rwg_j_chance") is not None]
    out["teams beyond chance"] = float(np.mean([c["rwg_j"] > c["rwg_j_chance"] for c in teams]))
    fired = {r["dimension"] for r in result["recommendations"] if r["id"] == "role-gap"}
    out["role rule fired"] = len(fired) / len(result["dimensions"])
    return out


def structures() -> list[tuple[str, pd.DataFrame, np.ndarray | None]]:
    from sklearn.datasets import load_iris

    sys.path.insert(0, str(ROOT / "tests"))
    from analysis.conftest import planted, wide_bank  # type: ignore[import-not-found]

    iris = load_iris(as_frame=True)
    out: list[tuple[str, pd.DataFrame, np.ndarray | None]] = [
        ("iris (2 groups by silhouette: setosa and the rest)", iris.data,
         (iris.target.to_numpy() > 0).astype(int))]
    if FAITHFUL.exists():
        faithful = pd.read_csv(FAITHFUL)
        out.append(("Old Faithful (short and long eruptions)", faithful,
                    (faithful["eruptions"] > 3).to_numpy().astype(int)))
    bank = wide_bank()
    answers, truth = planted(bank, [120, 80, 50])
    out.append(("planted profiles 120/80/50, 24 items", answers, truth))
    answers, truth = planted(bank, [200, 200], separation=1.0, noise=0.8, seed=3)
    out.append(("weak camps 200/200, 24 items", answers, truth))
    out.append(("the demo's baseline (20 of 150 in a front-line camp)", demo_answers(), None))
    return out


def demo_answers() -> pd.DataFrame:
    """The demo's first cycle as `flask demo` makes it, scored."""
    from assessment.analysis.scoring import reverse_score
    from assessment.banks import read_bank_file
    from assessment.services import demo

    bank, _ = read_bank_file(ROOT / "question_banks" / "alignment.yaml")
    people = [(t, r) for t in demo.TEAMS for r, n in demo.PER_TEAM.items() for _ in range(n)]
    values = demo._answers(np.random.default_rng(7), bank, people)
    return reverse_score(pd.DataFrame(values, columns=bank.question_ids), bank)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="data and clustering seeds")
    parser.add_argument("--orders", type=int, default=2, help="row orders per seed")
    parser.add_argument("--grid", action="store_true", help="clusters only, the grid of nulls")
    parser.add_argument("--out", help="with --grid: write one JSON line per run here")
    parser.add_argument("--kinds", help="with --grid: numbers of the kinds of data to run "
                        "(0-5, comma-separated; default all)")
    args = parser.parse_args()
    if args.grid:
        names = list(GRID_KINDS)
        chosen = ([names[int(i)] for i in args.kinds.split(",")] if args.kinds else names)
        grid(args.seeds, args.orders, args.out, chosen)
        return
    start = time.perf_counter()
    print(f"Null data: {args.seeds} data sets x {args.seeds} clustering seeds x {args.orders} "
          "row orders for clusters; one analysis per data set (6 teams, 3 roles at random)")
    print("  k>1: clusterings reporting distinct groups. Items flagged, as a share of items:\n"
          "  within (a team split), teams (team means differ), roles (role means differ), any.\n"
          "  Team x item cells read as agreeing (agree) or split (split); team x dimension\n"
          "  cells beyond chance (chance); the role-gap rule firing on a dimension (rule).\n"
          "  On noise every one of these is a false positive; on a single population, teams\n"
          "  do share its concentrated answers, so agreeing and beyond chance are expected.")
    print(f"{'data':<30}{'k>1':>9}{'within':>8}{'teams':>8}{'roles':>8}{'any':>8}"
          f"{'agree':>8}{'split':>8}{'chance':>8}{'rule':>6}")
    totals: dict[str, list[float]] = {}
    runs = fired = 0
    for name, make in NULLS.items():
        ks: list[int] = []
        rates: list[dict[str, float]] = []
        for data_seed in range(args.seeds):
            values = make(data_seed)
            ks += clusters_found(values, args.seeds, args.orders)
            points = 7 if "7 points" in name else 5
            rates.append(flags(values, data_seed, points))
        share = np.mean([k > 1 for k in ks])
        runs += len(ks)
        fired += sum(k > 1 for k in ks)
        mean = {key: float(np.nanmean([r[key] for r in rates])) for key in rates[0]}
        for key, value in mean.items():
            totals.setdefault(key, []).append(value)
        print(f"{name:<30}{share:>9.1%}{mean['disagree_within_groups']:>8.1%}"
              f"{mean['groups_differ']:>8.1%}{mean['roles_differ']:>8.1%}{mean['any']:>8.1%}"
              f"{mean['cells agreeing']:>8.1%}{mean['cells split']:>8.1%}"
              f"{mean['teams beyond chance']:>8.1%}{mean['role rule fired']:>6.1%}", flush=True)
    print(f"{'all null data':<30}{fired / runs:>9.1%}"
          + "".join(f"{np.mean(totals[key]):>8.1%}" for key in
                    ("disagree_within_groups", "groups_differ", "roles_differ", "any",
                     "cells agreeing", "cells split", "teams beyond chance")))
    print(f"({fired} of {runs} clusterings found k > 1)")
    print("\nKnown structure: k found at each seed and row order (adjusted Rand index)")
    from sklearn.metrics import adjusted_rand_score

    for name, frame, truth in structures():
        found = []
        for seed in range(min(args.seeds, 3)):
            for order in range(args.orders):
                shuffled = frame if order == 0 else frame.sample(frac=1, random_state=1000 + order)
                model = PerceptionClusters(random_state=seed).fit(shuffled)
                labels = model.labels_.reindex(frame.index)
                if truth is not None and labels.notna().all():
                    found.append(f"{model.k_} ({adjusted_rand_score(truth, labels):.2f})")
                else:
                    sizes = "/".join(str(c) for c in model.labels_.value_counts())
                    found.append(f"{model.k_} ({sizes})")
        print(f"  {name:<52} {', '.join(found)}", flush=True)
    print("\nReal survey answers (whether they hold camps is not known): k at each seed and "
          "row order")
    data = ROOT / ".." / "shared" / "data"
    real = {"lq2002 (14 items)": ("lq2002", [f"LEAD{i:02d}" for i in range(1, 12)]
                                  + ["TSIG01", "TSIG02", "TSIG03"]),
            "bhr2000 (11 items)": ("bhr2000", ["AF06", "AF07", "AP12", "AP17", "AP33", "AP34",
                                               "AS14", "AS15", "AS16", "AS17", "AS28"])}
    for name, (file, items) in real.items():
        if (data / f"{file}.csv").exists():
            frame = pd.read_csv(data / f"{file}.csv")[items]
            print(f"  {name:<52} {clusters_found(frame.to_numpy(dtype=float), 3, args.orders)}",
                  flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
