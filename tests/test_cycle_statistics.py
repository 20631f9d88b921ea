"""The change between cycles (Welch's p-value and Cohen's d in `analysis/cycles.py`) against R.

scipy is the implementation, so the reference is R (4.x, with psych), run on the raw samples
whose summary statistics the comparison receives; each call is recorded beside its value.
"""

from __future__ import annotations

import pytest

from assessment.analysis.cycles import CycleFigures, compare_cycles
from assessment.analysis.result import Stats

# R:
#   x <- c(3.2,3.8,2.9,4.1,3.5,3.0,3.7,2.6)   # the previous cycle's respondent scores
#   y <- c(3.9,4.4,3.6,4.8,4.0,4.6,3.8,4.2)   # the current cycle's
#   c(mean(x), sd(x), mean(y), sd(y))
#     3.35 0.509901951359278 4.1625 0.413823633931171
#   t.test(y, x)$p.value                      # Welch by default (var.equal = FALSE)
#     0.0037450247888969
#   sp <- sqrt((7 * var(x) + 7 * var(y)) / 14); (mean(y) - mean(x)) / sp
#     1.74974118168904                        # Cohen's d, pooled SD on n1 + n2 - 2
#   library(psych); cohen.d(c(x, y), rep(1:2, each = 8))$cohen.d[, "effect"] * sqrt(14 / 16)
#     1.74974118168904                        # psych divides by n1 + n2 (1.87055200497410)
EQUAL_N = dict(prev=(3.35, 0.509901951359278, 8), cur=(4.1625, 0.413823633931171, 8),
               p=0.0037450247888969, d=1.74974118168904)

# R:
#   x <- c(2.0,2.4,3.1,2.2,2.8,1.9,2.5,3.3,2.7,2.1,2.6,2.9)
#   y <- c(2.6,3.9,1.8,3.4,4.2)
#   sprintf("%.15f", c(mean(x), sd(x), mean(y), sd(y)))
#     2.541666666666667 0.442016728053122 3.180000000000000 0.980815986819138
#   t.test(y, x)$p.value                      # Welch, df = 4.69341085731728
#     0.224766523413935
#   sp <- sqrt((11 * var(x) + 4 * var(y)) / 15); sprintf("%.15f", (mean(y) - mean(x)) / sp)
#     1.009532009741503                       # Cohen's d, pooled SD on n1 + n2 - 2
#   (the root mean variance, sqrt((var(x) + var(y)) / 2), would give 0.839121332753073:
#   d_av, which ignores the unequal sizes; the product names and uses the pooled d)
UNEQUAL = dict(prev=(2.541666666666667, 0.442016728053122, 12),
               cur=(3.18, 0.980815986819138, 5), p=0.224766523413935, d=1.009532009741503)


def _result(summary: tuple[float, float, int]) -> Stats:
    mean, sd, n = summary
    return Stats(n=n, mean=mean, sd=sd, ci95=(None, None), score=(mean - 1) / 4 * 100)


def _cycle(dim: Stats, team: Stats) -> CycleFigures:
    return CycleFigures(4.0, {"handoffs": dim}, {"Sales": {"handoffs": team}})


@pytest.mark.parametrize("case", [EQUAL_N, UNEQUAL], ids=["equal-n", "unequal-n-and-variance"])
def test_welch_p_and_cohens_d_match_r(case: dict) -> None:
    previous = _cycle(_result(case["prev"]), _result(case["prev"]))
    current = _cycle(_result(case["cur"]), _result(case["cur"]))
    out = compare_cycles(previous, current, min_group_size=5)
    for entry in (out["dimensions"]["handoffs"], out["teams"]["Sales"]["handoffs"]):
        assert entry["p_value"] == pytest.approx(case["p"], rel=1e-9)
        assert entry["effect_size"] == pytest.approx(case["d"], rel=1e-9)
        assert entry["significant"] is (case["p"] < 0.05)
        # Change in points on the 0-100 scale: the mean difference over the scale's range.
        assert entry["change"] == pytest.approx((case["cur"][0] - case["prev"][0]) / 4 * 100)


def test_direction_a_decline_is_negative() -> None:
    previous = _cycle(_result(EQUAL_N["cur"]), _result(EQUAL_N["cur"]))
    current = _cycle(_result(EQUAL_N["prev"]), _result(EQUAL_N["prev"]))
    entry = compare_cycles(previous, current)["dimensions"]["handoffs"]
    assert entry["effect_size"] == pytest.approx(-EQUAL_N["d"], rel=1e-9)
    assert entry["p_value"] == pytest.approx(EQUAL_N["p"], rel=1e-9)
    assert entry["change"] < 0
