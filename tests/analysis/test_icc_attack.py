"""An inquisitive reader inverts ICC(2) to recover a hidden team: the attack a reviewer ran.

Published per statement: the organisation's n, mean and SD, each shown team's n, mean and SD,
ICC(1) and ICC(2), and the number of teams. Were ICC(2) computed over all teams, it would fix the
between- and within-team sums of squares of all of them; subtracting the shown teams leaves the
hidden ones (here a team of 3 and its complement, the next smallest team); and since answers
are whole numbers, only the true size of the small team makes its answer totals whole numbers on
statement after statement. The attack below recovers that team's size and its exact mean on most
statements from ICC(2) computed over all teams, and nothing from the engine's result, whose
ICC(2) comes from the shown teams alone (so it is a function of figures already shown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assessment.analysis import analyze
from assessment.analysis.agreement import icc
from assessment.analysis.scoring import GroupMoments
from assessment.banks import parse_bank

TEAMS = {"North": 6, "South": 7, "East": 8, "West": 9, "Central": 12, "Tiny": 3}
HIDDEN = "Tiny"


def bank_of_fifty():
    questions = [{"id": f"Q{d}{i}", "dimension": f"d{d}", "text": f"Statement {d}.{i}."}
                 for d in range(5) for i in range(10)]
    return parse_bank({"id": "fifty", "version": 1, "title": "Fifty statements",
                       "scale": {"min": 1, "max": 5},
                       "dimensions": [{"id": f"d{d}", "title": f"Dimension {d}"}
                                      for d in range(5)],
                       "questions": questions})


def survey(seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    groups = pd.Series(np.repeat(list(TEAMS), list(TEAMS.values())))
    shift = groups.map(dict(zip(TEAMS, rng.normal(0, 0.7, len(TEAMS)), strict=True)))
    latent = 3 + shift.to_numpy()[:, None] + rng.normal(0, 1.0, (len(groups), 50))
    answers = pd.DataFrame(np.clip(np.rint(latent), 1, 5), columns=bank_of_fifty().question_ids)
    return answers, groups


def invert(item: dict, icc2: float, n_groups: int) -> dict[int, float]:
    """For each candidate size x of one hidden team, its total on this statement when that total
    is a whole number; from the published figures and an ICC(2) over `n_groups` teams."""
    n, mean, sd = item["n"], item["mean"], item["sd"]
    shown = [c for c in item["groups"].values() if not c.get("suppressed")]
    total_ss = (n - 1) * sd**2
    ratio = 1 - icc2  # MSW / MSB
    ssw = ratio * total_ss / (n_groups - 1) / (1 / (n - n_groups) + ratio / (n_groups - 1))
    ssb = total_ss - ssw
    n_hidden = n - sum(c["n"] for c in shown)
    sum_hidden = n * mean - sum(c["n"] * c["mean"] for c in shown)
    ssb_hidden = ssb - sum(c["n"] * (c["mean"] - mean) ** 2 for c in shown)
    q = ssb_hidden + 2 * mean * sum_hidden - n_hidden * mean**2
    found = {}
    for x in range(1, n_hidden):
        y = n_hidden - x
        a, b, c = 1 / x + 1 / y, -2 * sum_hidden / y, sum_hidden**2 / y - q
        disc = b * b - 4 * a * c
        if disc < -1e-6:
            continue
        half = np.sqrt(max(disc, 0.0))
        for root in ((-b - half) / (2 * a), (-b + half) / (2 * a)):
            if abs(root - round(root)) < 1e-6 and x <= round(root) <= 5 * x:
                found[x] = round(root) / x
                break
    return found


def attack(result: dict, icc2_by_item: dict[str, float]) -> tuple[int | None, dict[str, float]]:
    """The size whose totals come out whole on most statements, and the means found for it."""
    n_groups = result["overall"]["groups"]
    votes: dict[int, dict[str, float]] = {}
    for qid, item in result["items"].items():
        for x, team_mean in invert(item, icc2_by_item[qid], n_groups).items():
            votes.setdefault(x, {})[qid] = team_mean
    if not votes:
        return None, {}
    size = max(votes, key=lambda x: len(votes[x]))
    return size, votes[size]


def test_icc_over_all_teams_gives_the_hidden_team_away_and_the_published_one_does_not():
    bank = bank_of_fifty()
    answers, groups = survey()
    result = analyze(answers, bank, groups=groups).to_json()
    first = next(iter(result["items"].values()))
    assert first["groups"][HIDDEN] == {"suppressed": True}
    assert first["groups"]["North"] == {"suppressed": True}  # its complement
    truth = answers[groups == HIDDEN].mean()

    # ICC(2) as it was published before: over every team, hidden ones included.
    over_all = icc(GroupMoments.of(answers, groups))["icc2"].to_dict()
    size, means = attack(result, over_all)
    assert size == TEAMS[HIDDEN]
    exact = [qid for qid, m in means.items() if m == pytest.approx(truth[qid], abs=1e-9)]
    assert len(exact) >= 30  # the reviewer recovered 36 of 50

    # ICC(2) as the engine publishes it: from the shown teams only.
    published = {qid: item["icc2"] for qid, item in result["items"].items()}
    size, means = attack(result, published)
    exact = [qid for qid, m in means.items() if m == pytest.approx(truth[qid], abs=1e-9)]
    assert size != TEAMS[HIDDEN] or len(means) < 10
    assert len(exact) < 5


def test_published_iccs_are_functions_of_the_shown_teams_alone():
    """Whatever the hidden team answers, every ICC, F and p stays the same."""
    bank = bank_of_fifty()
    answers, groups = survey()
    runs = []
    for value in (1.0, 5.0):
        changed = answers.copy()
        changed.loc[groups == HIDDEN] = value
        runs.append(analyze(changed, bank, groups=groups).to_json())
    for key in ("icc1", "icc2"):
        for qid in runs[0]["items"]:
            assert runs[0]["items"][qid][key] == runs[1]["items"][qid][key]
        for dim in runs[0]["dimensions"]:
            assert runs[0]["dimensions"][dim][key] == runs[1]["dimensions"][dim][key]
    for dim in runs[0]["dimensions"]:
        for key in ("icc_f", "icc_p", "icc1_group_size", "consensus", "rwg_j_mean"):
            assert runs[0]["dimensions"][dim][key] == runs[1]["dimensions"][dim][key]
    assert [e["item"] for e in runs[0]["divergence"]["items"]] == [
        e["item"] for e in runs[1]["divergence"]["items"]]
