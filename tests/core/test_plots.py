"""Tests of dlwild.core.plots: the learning-curve legends name the held-out data."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from dlwild.core import plots

HISTORY = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [1.0, 0.7],
                        "val_accuracy": [0.5, 0.9]})


def legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_learning_curves_label_validation_data_by_default():
    fig = plots.learning_curves(HISTORY)
    loss, metrics = fig.axes
    assert legend(loss) == ["train loss", "val loss"]
    assert legend(metrics) == ["val accuracy"] and metrics.get_title() == "Validation metrics"
    plt.close(fig)


def test_learning_curves_name_other_held_out_data():
    fig = plots.learning_curves(HISTORY, held_out="test", metrics_title="on the test patches")
    loss, metrics = fig.axes
    assert legend(loss) == ["train loss", "test loss"]
    assert legend(metrics) == ["test accuracy"] and metrics.get_title() == "on the test patches"
    plt.close(fig)
