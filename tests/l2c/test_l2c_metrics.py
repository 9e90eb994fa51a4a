"""MR (the speaker chapter's one-to-one Hungarian MR) on the authors' seven unit cases, NMI,
and the paper's random-partition row as a known answer for both."""

from __future__ import annotations

import numpy as np
import pytest

from dlwild.l2c.baselines import random_row
from dlwild.l2c.evaluation import nmi
from dlwild.speakers.metrics import mr_hungarian

AUTHORS_CASES = [   # digest §3.5 (learning2cluster's unit tests)
    ([0, 0, 1, 1], [1, 1, 2, 2], 0.0),
    ([1, 1, 1, 1], [2, 2, 1, 1], 0.5),
    ([1, 1, 1, 1], [1, 2, 3, 4], 0.75),
    ([1, 2, 3, 4], [1, 1, 1, 1], 0.75),
    ([1, 2, 2, 4], [1, 1, 1, 1], 0.5),
    ([0, 0, 0, 1, 1, 1, 1, 2, 2], [7, 7, 3, 3, 2, 2, 1, 0, 0], 1 / 3),
    ([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], 5 / 13),
]


@pytest.mark.parametrize(("true", "pred", "expected"), AUTHORS_CASES)
def test_mr_on_the_authors_unit_cases(true, pred, expected):
    assert mr_hungarian(true, pred) == pytest.approx(expected)


def test_nmi_equals_scikit_learns():
    from sklearn.metrics import normalized_mutual_info_score

    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(2, 40))
        a, b = rng.integers(0, rng.integers(1, 6), n), rng.integers(0, rng.integers(1, 6), n)
        assert nmi(a, b) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-12)


def test_nmi_of_identical_and_independent_partitions():
    assert nmi([0, 0, 1, 1, 2], [5, 5, 7, 7, 1]) == pytest.approx(1.0)
    assert nmi([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0)


def test_the_random_partition_row_n72():
    # paper 0.485 / 0.232 (digest's simulation: 0.485 / 0.233); the one-to-one optimal
    # mapping gives about 0.477, never above the authors' greedy (pessimistic) MR
    row = random_row(72, 5, draws_per_k=300, seed=0)
    assert row["nmi"] == pytest.approx(0.233, abs=0.005)
    assert row["mr"] == pytest.approx(0.485, abs=0.014)
    assert row["draws"] == 1500


def test_the_random_partition_row_n20():
    row = random_row(20, 5, draws_per_k=300, seed=1)     # paper 0.435 / 0.346
    assert row["nmi"] == pytest.approx(0.341, abs=0.01)
    assert row["mr"] == pytest.approx(0.41, abs=0.015)
