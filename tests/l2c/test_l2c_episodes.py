"""Episodes: set composition, the same-cluster prior phi against a hand computation and a
simulation, seeding, disjoint class pools, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dlwild.l2c.episodes import (
    ClassPool,
    cluster_sizes,
    pools,
    same_cluster_prior,
    split_classes,
)


def test_cluster_sizes_sum_to_n_with_two_items_each_at_least():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 6))
        sizes = cluster_sizes(20, k, rng)
        assert sizes.sum() == 20 and len(sizes) == k and sizes.min() >= 2


def test_phi_for_n72_matches_the_hand_computation():
    # E[sum_c s_c (s_c - 1)] per k by hand (s_c = 2 + Multinomial(72 - 2k, 1/k)):
    # k=1: 72*71; k=2: 2*(17 + 34^2 + 3*34 + 2); k=3: 3*(66*2/9 + 22^2 + 66 + 2);
    # k=4: 4*(12 + 16^2 + 48 + 2); k=5: 5*(9.92 + 12.4^2 + 37.2 + 2)
    pairs = 72 * 71
    hand = [pairs, 2 * 1277, 3 * (66 * 2 / 9 + 484 + 68), 4 * 318, 5 * (9.92 + 153.76 + 39.2)]
    assert same_cluster_prior(72, 5) == pytest.approx(np.mean(hand) / pairs, rel=1e-12)
    assert same_cluster_prior(72, 5) == pytest.approx(0.456, abs=5e-4)   # digest §3.3
    # n = 20 by hand: E[m^2] + 3 E[m] + 2 per cluster, m ~ Multinomial(20 - 2k, 1/k)
    hand20 = [380, 188, 3 * (14 * 2 / 9 + (14 / 3) ** 2 + 3 * 14 / 3 + 2), 89, 68]
    assert same_cluster_prior(20, 5) == pytest.approx(np.mean(hand20) / 380, rel=1e-12)
    assert same_cluster_prior(20, 5) == pytest.approx(0.445, abs=1.5e-3)   # digest: ~0.445
    assert same_cluster_prior(10, 1) == 1.0


def test_phi_agrees_with_the_episodes_the_pool_draws():
    labels = np.repeat(np.arange(8), 30)
    pool = ClassPool(labels)
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(12000):
        e = pool.episode(20, 5, rng)
        same = e.labels[:, None] == e.labels[None, :]
        shares.append((same.sum() - 20) / (20 * 19))
    assert np.mean(shares) == pytest.approx(same_cluster_prior(20, 5), abs=0.008)  # 3 sigma


def test_episodes_are_seeded_shuffled_and_from_the_pool_classes():
    labels = np.repeat(np.arange(10), 12)
    pool = ClassPool(labels, classes=[0, 2, 4, 6, 8, 9])
    a = pool.episodes(300, 20, 5, seed=7)
    b = pool.episodes(300, 20, 5, seed=7)
    assert all(np.array_equal(x.index, y.index) for x, y in zip(a, b, strict=True))
    assert {int(labels[i]) for e in a for i in e.index} <= {0, 2, 4, 6, 8, 9}
    assert {e.k for e in a} == {1, 2, 3, 4, 5}
    for e in a:
        assert np.bincount(e.labels).min() >= 2 and len(set(e.labels)) == e.k
    sorted_share = np.mean([np.all(np.diff(e.labels) >= 0) for e in a if e.k > 1])
    assert sorted_share < 0.05   # the order is shuffled


def test_pools_must_be_disjoint_and_bad_input_is_refused():
    labels = np.repeat(np.arange(10), 5)
    with pytest.raises(ValueError, match="disjoint"):
        pools(labels, {"train": [0, 1, 2], "test": [2, 3]})
    with pytest.raises(ValueError, match="at least 2 items"):
        cluster_sizes(1, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cannot hold"):
        cluster_sizes(8, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="needs at least 5 classes"):
        ClassPool(labels, classes=[0, 1]).episode(20, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="needs 25 classes"):
        split_classes(range(20), (10, 10, 5), seed=0)
    train, val, test = split_classes(range(20), (10, 5, 5), seed=0)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
