"""Training through the book's loop and artifact cache: a tiny network learns, is cached
under a key holding the data as resolved, and loads back identical."""

from __future__ import annotations

import numpy as np
import torch

from dlwild.core import cache
from dlwild.l2c.data import PointsData
from dlwild.l2c.evaluation import count_confusion, predict, score_sets
from dlwild.l2c.settings import Net
from dlwild.l2c.training import train_net

TINY = Net(n=12, m=1, sets_per_batch=8, batches=20, batches_per_epoch=10, width=16,
           count_units=4, optimizer="adam", lr=5e-3, val_sets=8)


def test_train_cache_and_reload(tmp_path):
    store = cache.ArtifactCache(tmp_path)
    first = train_net("points", PointsData(), TINY, k_max=3, lam=5.0, max_n=100, seed=0,
                      progress=False, store=store)
    frame = first.history.to_frame()
    assert len(frame) == 2 and {"count_acc", "pair_acc", "val_loss"} <= set(frame.columns)
    assert first.data["source"] == "synthetic" and len(first.data["sha256"]) == 64
    again = train_net("points", PointsData(), TINY, k_max=3, lam=5.0, max_n=100, seed=0,
                      progress=False, store=store)
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    x = PointsData().sets("test", 4, 12, 3, seed=0).x
    assert np.array_equal(predict(first.model, x)[0], predict(again.model, x)[0])


def test_scores_and_count_confusion_by_hand():
    true = np.array([[0, 0, 1, 1], [0, 0, 0, 0]])
    pred = [np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1])]
    s = score_sets(true, pred, np.array([2, 1]), np.array([2, 2]))
    assert s.mr.tolist() == [0.0, 0.5]
    assert s.summary()["count_acc"] == 0.5
    assert s.accuracy_by_k(3)[1] == 0.0 and s.accuracy_by_k(3)[2] == 1.0
    table = count_confusion(np.array([1, 2, 2, 3]), np.array([1, 2, 3, 7]), 3)
    assert table.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_patience_reaches_the_loops_early_stopping(tmp_path, monkeypatch):
    """A net's ``patience`` is the book loop's early stopping (best epoch's weights kept),
    and a net without one trains every epoch."""
    from dataclasses import replace

    from dlwild.core import train

    seen, fit = [], train.fit

    def spy(*args, **kwargs):
        seen.append(kwargs["early_stopping"])
        return fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", spy)
    store = cache.ArtifactCache(tmp_path)
    for net in (TINY, replace(TINY, patience=1)):
        train_net("points", PointsData(), net, k_max=3, lam=5.0, max_n=100, seed=0,
                  progress=False, store=store)
    assert seen == [None, 1]
