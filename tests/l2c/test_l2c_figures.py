"""The chapter's pictures draw from the shapes the pipeline gives them."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from dlwild.core.train import History
from dlwild.l2c import figures
from dlwild.l2c.data import PointsData
from dlwild.l2c.training import Trained


def test_every_figure_draws():
    sets = PointsData().sets("test", 6, 20, 5, seed=0)
    fig = figures.sets_vs_kmeans(sets.x, sets.labels, sets.labels, sets.k, sets.k)
    assert len(fig.axes) == 12 and "k-means" in figures.plots.describe(fig)
    assert len(figures.generator_sets(sets).axes) == 6
    imgs = np.random.default_rng(0).random((20, 32, 32))
    assert len(figures.example_sets(imgs, np.zeros(20, int), np.zeros(20, int), "t",
                                    spectrogram=True).axes) == 10
    history = History.from_dict({"epochs": [
        {"epoch": e, "train_loss": 5.0 - e, "val_loss": 5.2 - e, "count_acc": 0.2 * e,
         "pair_acc": 0.5, "lr": 1e-3, "seconds": 1.0} for e in (1, 2)]})
    trained = {"points": Trained("points", None, history, None, {})}
    assert len(figures.learning_curves(trained).axes) == 2
    table = np.arange(25).reshape(5, 5)
    assert len(figures.count_confusion({"a": table, "b": table}).axes) == 2
    fig = figures.relative_claims({"points": {k: 1 / k for k in range(1, 6)}},
                                  {5: {"mr": 0.3}, 10: {"mr": 0.2}},
                                  {72: {"mr": 0.1}, 300: {"mr": 0.2}})
    assert [len(ax.lines) for ax in fig.axes] == [1, 1, 1]
    plt.close("all")
