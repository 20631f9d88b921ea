"""Confidentiality across linked breakdowns: an inquisitive reader combines the team table, the
role table, the team x role table and the totals. Whatever the people of a hidden team answer,
nothing shown apart from the organisation-wide figures may move.

The case is the one where separate suppression of each table fails: Sales has 5 staff and 1
manager, Ops 5 managers, Finance 2 staff, with a minimum group size of 5. Finance is hidden, and
Ops with it as its complement. Were Finance's 2 people counted in the role "Staff", then
Staff - Sales + (the one Sales manager) would give Finance's total to within one person's answer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from assessment.analysis import analyze
from assessment.banks import read_bank_file

BANK, _ = read_bank_file(Path(__file__).parent / "fixtures" / "small.yaml")
PEOPLE = ([("Sales", "Staff")] * 5 + [("Sales", "Manager")] + [("Ops", "Manager")] * 5
          + [("Finance", "Staff")] * 2)


def _run(finance_value: float, ops_value: float = 3.0) -> dict:
    rng = np.random.default_rng(4)
    values = rng.integers(1, 6, (len(PEOPLE), len(BANK.question_ids))).astype(float)
    teams = np.array([t for t, _ in PEOPLE])
    values[teams == "Finance"] = finance_value
    values[teams == "Ops"] = ops_value
    index = pd.RangeIndex(len(PEOPLE), name="respondent")
    answers = pd.DataFrame(values, index=index, columns=BANK.question_ids)
    return analyze(answers, BANK, groups=pd.Series(teams, index=index),
                   roles=pd.Series([r for _, r in PEOPLE], index=index), min_group_size=5).to_json()


def _breakdowns(result: dict) -> dict:
    """Everything below the organisation-wide level: per team, role and team x role."""
    return {
        "dimensions": {d: {k: v[k] for k in ("groups", "roles", "group_roles") if k in v}
                       for d, v in result["dimensions"].items()},
        "items": {q: {k: v[k] for k in ("groups", "roles") if k in v}
                  for q, v in result["items"].items()},
    }


def test_a_hidden_teams_answers_move_no_breakdown() -> None:
    low, high = _run(finance_value=1.0), _run(finance_value=5.0)
    assert low["dimensions"]["handoffs"]["groups"]["Finance"] == {"suppressed": True}
    assert low["dimensions"]["handoffs"]["groups"]["Ops"] == {"suppressed": True}
    assert low["dimensions"]["handoffs"]["mean"] != high["dimensions"]["handoffs"]["mean"]
    assert _breakdowns(low) == _breakdowns(high)


def test_a_complement_teams_answers_move_no_breakdown_either() -> None:
    assert _breakdowns(_run(3.0, ops_value=1.0)) == _breakdowns(_run(3.0, ops_value=5.0))


def test_role_figures_count_only_people_in_shown_teams() -> None:
    roles = _run(3.0)["dimensions"]["handoffs"]["roles"]
    # Only Sales is shown: 5 staff (shown) and 1 manager (hidden, which hides Staff as its
    # complement too): no role figure can carry Finance or Ops.
    assert all(cell == {"suppressed": True} or cell.get("n", 0) <= 6 for cell in roles.values())
