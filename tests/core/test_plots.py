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


def test_a_figure_says_what_it_shows():
    """Known answers for the alt text of a figure: its title and each panel's title and
    axes; a sentence given by set_alt wins; an empty figure says so."""
    from dlwild.core import plots

    fig, axes = plots.figure(1, 2)
    fig.suptitle("Learning curves")
    axes[0].plot([1, 2], [3, 4])
    axes[0].set(title="Loss", xlabel="epoch", ylabel="loss")
    axes[1].plot([1, 2], [0.5, 0.6])
    assert plots.describe(fig) == ("Learning curves. 2 panels: Loss (epoch against loss); "
                                   "a panel.")
    plots.set_alt(fig, "Two curves that fall.")
    assert plots.describe(fig) == "Two curves that fall."
    empty, _ = plots.figure()
    assert plots.describe(empty) == "A figure."


def test_alt_texts_are_found_by_the_images_hash():
    import base64
    import hashlib

    from dlwild.sphinx_alt import alt_texts

    png = b"\x89PNG fake bytes"
    encoded = base64.b64encode(png).decode()
    notebook = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": {"image/png": encoded},
         "metadata": {"image/png": {"alt": "A curve."}}},
        {"output_type": "display_data", "data": {"image/png": encoded[:8]}, "metadata": {}}]}]}
    assert alt_texts(notebook) == {hashlib.sha256(png).hexdigest(): "A curve."}
