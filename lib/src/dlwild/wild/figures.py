"""The chapter's pictures, each from a library result (no arithmetic in the notebook)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from dlwild.core import plots
from dlwild.wild import infoplane


def long_tails(counts: dict[int, np.ndarray], shaping: dict[str, Any] | None):
    """The MNIST long tails (images per digit, log scale) beside the DeepScores chapter's
    test symbols per detector class."""
    n = 2 if shaping else 1
    fig, axes = plots.figure(1, n, figsize=(5 * n, 3.4), squeeze=False)
    ax = axes[0, 0]
    for ratio, c in counts.items():
        ax.bar(np.arange(10) + (0.2 if ratio == max(counts) else -0.2), c, width=0.4,
               label=f"imbalance ratio {ratio}")
    ax.set(yscale="log", xlabel="digit", ylabel="training images", xticks=range(10),
           title="MNIST long tails")
    ax.legend()
    if shaping:
        ap = shaping["joint"]["ap"]
        ax2 = axes[0, 1]
        ax2.bar(range(len(ap)), [a["count"] for a in ap], color="#888888")
        ax2.set_xticks(range(len(ap)), [a["class"] for a in ap], rotation=60, ha="right",
                       fontsize=8)
        ax2.set(yscale="log", ylabel="test symbols", title="DeepScores chapter: symbols")
    return fig


def confusions(scores: dict[str, Any], title: str):
    """Row-normalised confusion matrices (rows true, columns predicted), one per method."""
    fig, axes = plots.figure(1, len(scores), figsize=(3.2 * len(scores), 3.3), squeeze=False)
    for ax, (name, s) in zip(axes[0], scores.items(), strict=True):
        c = s.confusion / s.confusion.sum(1, keepdims=True)
        ax.imshow(c, cmap="Blues", vmin=0, vmax=1)
        ax.set(title=name, xlabel="predicted", ylabel="true", xticks=range(0, 10, 3),
               yticks=range(0, 10, 3))
        ax.grid(False)
    fig.suptitle(title)
    return fig


def recalls(scores: dict[str, Any], title: str, classes: list[str] | None = None):
    """Recall per class of each method: digits 0 (the head) to 9 (the rarest), or the named
    ``classes`` (most frequent first)."""
    fig, ax = plots.figure(figsize=(6.5, 3.4) if classes is None else (7.5, 4.2))
    n = len(next(iter(scores.values())).recall)
    for name, s in scores.items():
        ax.plot(range(n), s.recall, marker="o", ms=3, label=name)
    ax.set(ylabel="test recall", ylim=(-0.02, 1.02), title=title)
    if classes is None:
        ax.set(xlabel="digit (0 = most frequent, 9 = rarest)", xticks=range(n))
    else:
        ax.set_xticks(range(n), classes, rotation=50, ha="right", fontsize=8)
        ax.set_xlabel("symbol class (most frequent first)")
    ax.legend(fontsize=8)
    return fig


def symbol_tail(tail: Any):
    """Training and test patches per symbol class (log scale): the natural long tail."""
    fig, ax = plots.figure(figsize=(7.5, 3.8))
    n = len(tail.classes)
    ax.bar(np.arange(n) - 0.2, tail.counts, width=0.4, label="training pieces")
    ax.bar(np.arange(n) + 0.2, tail.test_counts, width=0.4, label="test pieces")
    ax.set_xticks(range(n), tail.classes, rotation=50, ha="right", fontsize=8)
    ax.set(yscale="log", ylabel="patches", title="DeepScores symbols: the long tail")
    ax.legend(fontsize=8)
    return fig


def rocs(detections: dict[str, Any]):
    """ROC of every detector: held-out normal windows against all fault windows."""
    fig, ax = plots.figure(figsize=(5, 4))
    for name, d in detections.items():
        f, t = d.roc
        ax.plot(f, t, label=f"{name} (mean AUC {d.mean_auc:.3f})")
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate", xscale="symlog",
           xlim=(0, 1), title="ROC: normal test vs all faults")
    ax.legend(fontsize=7)
    return fig


def information_planes(runs: dict[str, list]):
    """The information plane per activation (seed 0's run; colour = log epoch), one line
    per hidden layer."""
    fig, axes = plots.figure(1, len(runs), figsize=(5.5 * len(runs), 4), squeeze=False)
    for ax, (activation, histories) in zip(axes[0], runs.items(), strict=True):
        epochs, ixt, ity = infoplane.plane(histories[0])
        for layer in range(ixt.shape[1]):
            ax.plot(ixt[:, layer], ity[:, layer], color="#bbbbbb", lw=0.8, zorder=1)
            points = ax.scatter(ixt[:, layer], ity[:, layer], c=np.log10(epochs), s=14,
                                cmap="viridis", zorder=2)
            ax.annotate(f"T{layer + 1}", (ixt[-1, layer], ity[-1, layer]), fontsize=8,
                        xytext=(3, -8), textcoords="offset points")
        ax.set(xlabel="I(X;T) [bits]", ylabel="I(T;Y) [bits]", title=f"{activation} network")
        fig.colorbar(points, ax=ax, label="log10 epoch")
    return plots.set_alt(fig, "Information planes of the tanh and the ReLU network: each "
                              "hidden layer's I(X;T) against I(T;Y) over training epochs.")


def compression_over_epochs(runs: dict[str, list]):
    """I(X;T) of every hidden layer over (log) epochs, mean over seeds."""
    fig, axes = plots.figure(1, len(runs), figsize=(5.5 * len(runs), 3.4), squeeze=False)
    for ax, (activation, histories) in zip(axes[0], runs.items(), strict=True):
        epochs = infoplane.plane(histories[0])[0]
        ixt = np.mean([infoplane.plane(h)[1] for h in histories], 0)
        for layer in range(ixt.shape[1]):
            ax.plot(epochs, ixt[:, layer], label=f"T{layer + 1}")
        ax.set(xscale="log", xlabel="epoch", ylabel="I(X;T) [bits]",
               title=f"{activation}: I(X;T) per layer")
        ax.legend(fontsize=7, ncol=2)
    return fig


def curves(histories: dict[str, Any]):
    """Training and validation loss of each model on one row."""
    fig, axes = plots.figure(1, len(histories), figsize=(4.2 * len(histories), 3.4),
                             squeeze=False, sharey=True)
    for ax, (name, h) in zip(axes[0], histories.items(), strict=True):
        frame = h.to_frame()
        ax.plot(frame.index, frame["train_loss"], label="training loss")
        ax.plot(frame.index, frame["val_loss"], label="validation loss")
        ax.set(xlabel="epoch", ylabel="loss", title=name)
        ax.legend(fontsize=8)
    return fig


def gallery(x: np.ndarray, maps: np.ndarray | None, labels: list[str], title: str):
    """Images (top row) and, if given, their maps (bottom row)."""
    rows = 1 if maps is None else 2
    fig, axes = plots.figure(rows, len(x), figsize=(1.3 * len(x), 1.5 * rows + 0.4),
                             squeeze=False)
    for i in range(len(x)):
        axes[0, i].imshow(x[i].squeeze(), cmap="gray_r")
        axes[0, i].set_title(labels[i], fontsize=8)
        if maps is not None:
            axes[1, i].imshow(maps[i], cmap="hot")
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.suptitle(title)
    return fig


def schedules(shaping: dict[str, Any]):
    """The DeepScores chapter's held-out loss per epoch, joint vs staged schedule."""
    fig, ax = plots.figure(figsize=(6, 3.4))
    for name, label in (("joint", "joint"), ("paper", "staged (the paper's)")):
        rows = (shaping["histories"].get(name) or {}).get("epochs", [])
        ax.plot([r["epoch"] for r in rows], [r.get("val_loss") for r in rows], marker="o",
                ms=3, label=label)
    ax.set(xlabel="epoch", ylabel="held-out loss", yscale="log",
           title="DeepScores detector: joint vs staged losses")
    ax.legend()
    return fig


plt.rcParams.setdefault("figure.max_open_warning", 50)
