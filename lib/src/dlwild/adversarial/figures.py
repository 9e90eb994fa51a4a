"""The chapter's pictures: clean vs attacked images with their maps, the score histograms
(the view of the paper's Fig. 4a) and the ROC curves (Fig. 4b)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from dlwild.adversarial.attacks import TITLES
from dlwild.adversarial.detector import roc


def examples(study: Any):
    """Per attack, its first successful image: clean, attacked, and both maps."""
    attacks = list(study.results)
    fig, axes = plt.subplots(4, len(attacks), figsize=(2.2 * len(attacks), 9))
    for col, a in enumerate(attacks):
        r = study.results[a]
        ok = np.flatnonzero(r.success)
        i = int(ok[0]) if len(ok) else 0
        clean_maps, adv_maps = study.maps[a]
        label = int(r.labels[i])
        new = int(r.adv_probs[i].argmax())
        panels = [(r.clean[i, 0], f"clean: {label}"),
                  (r.adversarial[i, 0], f"attacked: {new}" + ("" if r.success[i] else
                                                              " (failed)")),
                  (clean_maps[i], f"map, S̄={study.clean_scores[a][i]:.2f}"),
                  (adv_maps[i], f"map, S̄={study.adv_scores[a][i]:.2f}")]
        for row, (image, title) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, col].set_title(f"{TITLES[a]}\nclean: {label}", fontsize=9)
    fig.suptitle("Clean and attacked images with their guided-backpropagation maps")
    fig.tight_layout()
    return fig


def histograms(study: Any):
    """The mean local spatial entropy of clean calibration images and of successful
    adversarial images, per attack (the view of the paper's Fig. 4a)."""
    attacks = list(study.results)
    fig, axes = plt.subplots(1, len(attacks), figsize=(3 * len(attacks), 3), sharex=True)
    bins = np.linspace(min(study.calibration.min(), *(v.min() for v in study.adv_scores.values())),
                       max(study.calibration.max(), *(v.max() for v in study.adv_scores.values())),
                       30)
    for ax, a in zip(axes, attacks, strict=True):
        cut = study.detections[a].cuts[0.01]
        ax.hist(study.calibration, bins=bins, density=True, alpha=0.6, label="clean")
        successful = study.adv_scores[a][study.results[a].success]
        if len(successful):
            ax.hist(successful, bins=bins, density=True, alpha=0.6, label="adversarial")
        else:
            ax.text(0.5, 0.5, "no successful attack", transform=ax.transAxes, ha="center")
        ax.axvline(cut, color="k", lw=1, ls="--", label="threshold @ 1 % FPR")
        ax.set_title(TITLES[a], fontsize=10)
        ax.set_xlabel("mean local entropy S̄ (bits)")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def roc_curves(study: Any):
    """ROC of clean evaluation images vs successful adversarial ones, per attack."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for a, d in study.detections.items():
        if d.success.any():
            fpr, tpr = roc(d.clean, d.successful)
            ax.plot(fpr, tpr, label=f"{TITLES[a]} (AUC {d.auc():.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set_xlabel("false-positive rate (clean images flagged)")
    ax.set_ylabel("detection rate (successful attacks flagged)")
    ax.legend(fontsize=8)
    ax.set_title("ROC of the entropy detector")
    fig.tight_layout()
    return fig
