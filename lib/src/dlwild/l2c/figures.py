"""The chapter's pictures, in the book's style (:mod:`dlwild.core.plots`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from dlwild.core import plots

__all__ = ["count_confusion", "example_sets", "generator_sets", "learning_curves",
           "relative_claims", "sets_vs_kmeans"]


def sets_vs_kmeans(x: np.ndarray, l2c: Sequence[np.ndarray], kmeans: Sequence[np.ndarray],
                   k_true: Sequence[int], k_pred: Sequence[int], count: int = 6) -> Figure:
    """2-D test sets coloured by L2C's clusters (top row) and by k-means' given the true k
    (bottom row)."""
    count = min(count, len(x), len(kmeans))
    fig, axes = plots.figure(2, count, figsize=(2.1 * count, 4.6), squeeze=False)
    for j in range(count):
        for row, (labels, name) in enumerate(((l2c[j], f"L2C, k̂ = {k_pred[j]}"),
                                              (kmeans[j], f"k-means, k = {k_true[j]}"))):
            ax = axes[row, j]
            ax.scatter(x[j][:, 0], x[j][:, 1], c=np.asarray(labels) % 10, cmap="tab10",
                       vmin=0, vmax=9, s=9)
            ax.set(xticks=[], yticks=[], title=name, aspect="equal")
            ax.title.set_fontsize(9)
    fig.suptitle("Unseen 2-D test sets: L2C's clusters (top) and k-means' (bottom)")
    return plots.set_alt(fig, f"{count} 2-D test sets, each drawn twice: coloured by the "
                              "clusters L2C found (top row) and by k-means given the true "
                              "number of clusters (bottom row).")


def example_sets(x: np.ndarray, labels: np.ndarray, pred: np.ndarray, title: str,
                 count: int = 10, spectrogram: bool = False) -> Figure:
    """One image or spectrogram set (mel bands upwards, time to the right): each item
    titled by its true and predicted cluster."""
    count = min(count, len(x))
    fig, axes = plots.figure(1, count, figsize=(1.3 * count, 1.9), squeeze=False)
    for j in range(count):
        ax = axes[0, j]
        ax.imshow(x[j], cmap="magma" if spectrogram else "gray",
                  origin="lower" if spectrogram else "upper")
        ax.set(xticks=[], yticks=[])
        ax.set_title(f"true {labels[j]}\nL2C {pred[j]}", fontsize=8)
        ax.grid(False)
    fig.suptitle(title)
    return plots.set_alt(fig, f"{title}: {count} items of one test set, each with its true "
                              "cluster and the one L2C chose.")


def learning_curves(trained: Mapping[str, Any]) -> Figure:
    """Training and validation loss of each data type's network, and its validation count
    and pair accuracy."""
    fig, axes = plots.figure(1, 2, figsize=(10, 3.6), squeeze=False)
    for name, t in trained.items():
        frame = t.history.to_frame()
        if "epoch" not in frame.columns:
            frame = frame.reset_index()
        line = axes[0, 0].plot(frame["epoch"], frame["train_loss"], label=f"{name} train")[0]
        axes[0, 0].plot(frame["epoch"], frame["val_loss"], ls="--", color=line.get_color(),
                        label=f"{name} val")
        axes[0, 1].plot(frame["epoch"], frame["count_acc"], color=line.get_color(),
                        label=f"{name} k correct")
        axes[0, 1].plot(frame["epoch"], frame["pair_acc"], ls=":", color=line.get_color(),
                        label=f"{name} pairs correct")
    axes[0, 0].set(xlabel="epoch", ylabel="loss (count + 5 x pairs)", title="Loss")
    axes[0, 1].set(xlabel="epoch", ylabel="share", title="Validation accuracy",
                   ylim=(0, 1.02))
    for ax in axes[0]:
        ax.legend(fontsize=7)
    fig.suptitle("Learning curves (validation on unseen classes)")
    return fig


def count_confusion(tables: Mapping[str, np.ndarray]) -> Figure:
    """The count head's confusion matrix per data type (rows true k, columns predicted)."""
    fig, axes = plots.figure(1, len(tables), figsize=(3.4 * len(tables), 3.3), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items(), strict=True):
        k_max = table.shape[0]
        ax.imshow(table, cmap="Blues")
        for (i, j), v in np.ndenumerate(table):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if v > table.max() / 2 else "#222222")
        ticks = range(k_max)
        ax.set(xticks=ticks, yticks=ticks, xticklabels=range(1, k_max + 1),
               yticklabels=range(1, k_max + 1), xlabel="predicted k", ylabel="true k",
               title=name)
        ax.grid(False)
    fig.suptitle("Cluster count: true against predicted (test sets)")
    return fig


def relative_claims(by_k: Mapping[str, Mapping[int, float]],
                    sweep: Mapping[int, Mapping[str, float]],
                    large: Mapping[int, Mapping[str, float]],
                    seeds: Mapping[str, Any] | None = None) -> Figure:
    """Count accuracy per true k, MR against the number of training classes, MR against n.
    ``seeds``: a committed sweep over seeds (:func:`dlwild.l2c.pipeline.seed_spread`), drawn
    as mean ± standard deviation beside this run."""
    spread = (seeds or {}).get("metrics", {})
    label = f"{seeds['seeds']} seeds ({seeds['scale']}): mean ± std" if seeds else ""

    def over_seeds(ax, pattern: str, xs: Sequence[int], color: Any = "0.35",
                   name: str = "") -> None:
        """The sweep's metric ``pattern.format(x)`` at each x, as error bars."""
        found = [(x, spread[pattern.format(x)]) for x in xs if pattern.format(x) in spread]
        if found:
            ax.errorbar([x for x, _ in found], [v["mean"] for _, v in found],
                        yerr=[v["std"] or 0.0 for _, v in found], fmt="s--", capsize=3,
                        color=color, alpha=0.8, label=f"{name}, {label}" if name else label)

    fig, axes = plots.figure(1, 3, figsize=(12, 3.4), squeeze=False)
    ax = axes[0, 0]
    for name, acc in by_k.items():
        ks = sorted(acc)
        line, = ax.plot(ks, [acc[k] for k in ks], marker="o", label=name)
        over_seeds(ax, name + "/count_acc_by_k/{}", ks, color=line.get_color(), name=name)
    ax.set(xlabel="true k", ylabel="count accuracy", title="Count accuracy per k",
           ylim=(0, 1.02))
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    cs = sorted(sweep)
    ax.plot(cs, [sweep[c]["mr"] for c in cs], marker="o", label="this run")
    over_seeds(ax, "class_sweep/{}/mr", cs)
    ax.set(xlabel="training classes", ylabel="MR (test sets)",
           title="More training classes (images)")
    ax = axes[0, 2]
    ns = sorted(large)
    ax.plot(ns, [large[n]["mr"] for n in ns], marker="o", label="this run")
    over_seeds(ax, "large_n/{}/mr", ns)
    ax.set(xlabel="n (points per set)", ylabel="MR", title="Larger sets (2-D points)",
           xscale="log")
    if seeds:
        axes[0, 1].legend(fontsize=7)
        axes[0, 2].legend(fontsize=7)
    return fig


def generator_sets(sets: Any, count: int = 6, labels: Sequence[np.ndarray] | None = None,
                   k_pred: Sequence[int] | None = None) -> Figure:
    """Freshly generated 2-D sets coloured by their true clusters, or, given ``labels`` and
    ``k_pred``, by the clusters a network found (titled by its k beside the true one)."""
    count = min(count, len(sets.x))
    found = labels is not None and k_pred is not None
    fig, axes = plots.figure(1, count, figsize=(2.1 * count, 2.5), squeeze=False)
    for j in range(count):
        ax = axes[0, j]
        colour = np.asarray(labels[j]) if found else sets.labels[j]
        ax.scatter(sets.x[j][:, 0], sets.x[j][:, 1], c=colour % 10, cmap="tab10",
                   vmin=0, vmax=9, s=9)
        title = f"k̂ = {k_pred[j]} (true {sets.k[j]})" if found else f"k = {sets.k[j]}"
        ax.set(xticks=[], yticks=[], title=title, aspect="equal")
    if found:
        fig.suptitle("Fresh 2-D sets, coloured by the clusters cluster() returned")
        return plots.set_alt(fig, f"{count} freshly generated 2-D sets of rings, half-moons "
                                  "and blobs, each point coloured by the cluster the trained "
                                  "network gave it, titled by its number of clusters and the "
                                  "true one.")
    fig.suptitle("The 2-D generator: sets coloured by their true clusters")
    return plots.set_alt(fig, f"{count} generated 2-D sets of rings, half-moons and blobs, "
                              "each point coloured by its true cluster.")
