"""Fixtures for the analysis tests: small banks, the real survey data, synthetic answers.

Nothing here needs the web application or a database.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assessment.banks import Bank, parse_bank, read_bank_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The CI checkout has ../shared beside the repository.
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def bank_fixture(name: str) -> Bank:
    bank, _ = read_bank_file(FIXTURES / f"{name}.yaml")
    return bank


def real_data(name: str) -> pd.DataFrame:
    """One of Bliese's data sets from ../shared/data; skipped locally when absent, fails in CI."""
    path = DATA / f"{name}.csv"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must check out ../shared beside the repository")
        pytest.skip(f"real survey data not found at {path.resolve()} (../shared/data)")
    return pd.read_csv(path)


@pytest.fixture
def small_bank() -> Bank:
    return bank_fixture("small")


def synthetic(bank: Bank, group_sizes: dict[str, int], *, seed: int = 0,
              roles: tuple[str, ...] = ("Manager", "Staff"), missing: float = 0.05,
              ) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Random answers on the bank's scale for groups of the given sizes, with some don't-knows."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(list(group_sizes), list(group_sizes.values()))
    n = len(labels)
    index = pd.Index([f"r{i}" for i in range(n)], name="respondent")
    values = rng.integers(bank.scale.min, bank.scale.max + 1, (n, len(bank.questions)))
    answers = pd.DataFrame(values.astype(float), index=index, columns=bank.question_ids)
    answers = answers.mask(rng.random(answers.shape) < missing)
    groups = pd.Series(labels, index=index)
    role = pd.Series(rng.choice(list(roles), n), index=index)
    return answers, groups, role


def wide_bank(dimensions: int = 3, per_lens: int = 4) -> Bank:
    """A generated bank: `dimensions` dimensions with `per_lens` questions in each lens."""
    questions = []
    for d in range(dimensions):
        for lens in ("architecture", "operating_model"):
            for i in range(per_lens):
                questions.append({"id": f"D{d}-{lens[0].upper()}{i}", "dimension": f"dim{d}",
                                  "lens": lens, "text": f"Statement {i} of dimension {d}."})
    return parse_bank({
        "id": "wide", "version": 1, "title": "Generated bank",
        "scale": {"min": 1, "max": 5},
        "dimensions": [{"id": f"dim{d}", "title": f"Dimension {d}"} for d in range(dimensions)],
        "questions": questions,
    })


def planted(bank: Bank, sizes: list[int], *, seed: int = 0, separation: float = 1.5,
            noise: float = 0.7) -> tuple[pd.DataFrame, np.ndarray]:
    """Answers from len(sizes) perception profiles that differ by about `separation` scale points
    on every item, with respondent noise; returns the answers and the true profile of each."""
    rng = np.random.default_rng(seed)
    q = len(bank.questions)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    profiles = 3 + rng.choice([-1, 1], (len(sizes), q)) * separation / 2
    values = np.clip(np.rint(profiles[truth] + rng.normal(0, noise, (len(truth), q))), 1, 5)
    index = pd.Index([f"p{i}" for i in range(len(truth))], name="respondent")
    return pd.DataFrame(values, index=index, columns=bank.question_ids), truth
