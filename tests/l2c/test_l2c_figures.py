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


def test_a_committed_sweep_over_seeds_draws_error_bars_on_the_relative_claims(tmp_path):
    """The l2c sweep record's spread (dlwild sweep) becomes mean ± std error bars beside the
    run: count accuracy per k, MR per number of training classes, MR per n."""
    import json

    from dlwild.l2c.pipeline import seed_spread

    assert seed_spread(tmp_path) is None
    metrics = {"points/count_acc_by_k/1": {"values": [0.5, 0.7], "mean": 0.6, "std": 0.14},
               "points/count_acc_by_k/2": {"values": [0.1, 0.3], "mean": 0.2, "std": 0.14},
               "class_sweep/5/mr": {"values": [0.3, 0.4], "mean": 0.35, "std": 0.07},
               "large_n/72/mr": {"values": [0.2, 0.2], "mean": 0.2, "std": 0.0},
               "large_n/300/mr": {"values": [0.3, 0.5], "mean": 0.4, "std": 0.14}}
    (tmp_path / "learning_to_cluster.sweep.json").write_text(json.dumps(
        {"format": 1, "chapter": "learning_to_cluster", "scale": "quick", "seeds": [0, 1],
         "claims": [], "metrics": metrics}))
    seeds = seed_spread(tmp_path)
    assert seeds["seeds"] == 2 and seeds["scale"] == "quick"
    fig = figures.relative_claims({"points": {k: 1 / k for k in range(1, 6)}},
                                  {5: {"mr": 0.3}, 10: {"mr": 0.2}},
                                  {72: {"mr": 0.1}, 300: {"mr": 0.2}}, seeds=seeds)
    count, classes, large = fig.axes
    assert list(count.containers[0].lines[0].get_xdata()) == [1, 2]
    assert list(classes.containers[0].lines[0].get_ydata()) == [0.35]  # 10 was not swept
    assert list(large.containers[0].lines[0].get_ydata()) == [0.2, 0.4]
    assert any("2 seeds (quick)" in t.get_text() for t in large.get_legend().get_texts())
    assert "points, 2 seeds (quick): mean ± std" in [t.get_text()
                                                     for t in count.get_legend().get_texts()]
    plt.close("all")
