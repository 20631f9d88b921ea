"""The change between two cycles against R: Welch's test and Cohen's d with the pooled SD, the
same effect size as the role gaps."""

from __future__ import annotations

import pytest

from assessment.analysis.cycles import CycleFigures, compare_cycles
from assessment.analysis.divergence import EFFECT_SIZE_NAME
from assessment.analysis.result import Stats

from .conftest import real_data


def _result(values) -> CycleFigures:  # type: ignore[no-untyped-def]
    return CycleFigures(4.0, {"leadership": Stats(n=len(values), mean=values.mean(),
                                                  sd=values.std(ddof=1), ci95=(None, None),
                                                  score=None)})


def test_change_uses_welch_and_pooled_d():
    lq = real_data("lq2002")
    before = lq.loc[lq["COMPID"] <= 10, "LEAD"]
    after = lq.loc[lq["COMPID"] > 40, "LEAD"]
    change = compare_cycles(_result(before), _result(after))
    entry = change["dimensions"]["leadership"]
    # a <- lq2002$LEAD[lq2002$COMPID <= 10]; b <- lq2002$LEAD[lq2002$COMPID > 40]
    # t.test(b, a)$p.value -> 0.8236201637
    assert entry["p_value"] == pytest.approx(0.8236201637, abs=1e-6)
    # sp <- sqrt(((length(a)-1)*var(a) + (length(b)-1)*var(b)) / (length(a)+length(b)-2))
    # (mean(b) - mean(a)) / sp -> -0.01731231341
    assert entry["effect_size"] == pytest.approx(-0.01731231341, abs=1e-8)
    assert change["effect_size"] == EFFECT_SIZE_NAME == "Cohen's d with the pooled SD"
