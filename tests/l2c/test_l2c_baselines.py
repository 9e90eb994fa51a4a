"""The baselines on sets with known answers, noise handling, the random partition."""

from __future__ import annotations

import numpy as np
import pytest

from dlwild.l2c.baselines import BASELINES, baseline_scores, dbscan, random_partition


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    x = np.concatenate([c + rng.normal(0, 0.3, (8, 2)) for c in centres])
    return x, np.repeat(np.arange(3), 8)


def test_every_baseline_separates_far_apart_blobs():
    x, labels = _blobs()
    scores = baseline_scores(x[None], labels[None], np.array([3]), 5)
    assert set(scores) == set(BASELINES)
    for name, s in scores.items():
        assert s.summary()["mr"] == 0.0, name
        assert s.summary()["nmi"] == pytest.approx(1.0), name


def test_dbscan_noise_points_are_clusters_of_their_own():
    x, _ = _blobs()
    x = np.vstack([x, [[50, 50], [-50, 50]]])
    labels = dbscan(x)
    assert labels.min() >= 0 and labels[-1] != labels[-2]
    assert len(set(labels.tolist())) == 5


def test_random_partition_follows_the_size_rule():
    rng = np.random.default_rng(0)
    for k in range(1, 6):
        p = random_partition(20, k, rng)
        assert len(p) == 20 and np.bincount(p).min() >= 2 and len(set(p)) == k
