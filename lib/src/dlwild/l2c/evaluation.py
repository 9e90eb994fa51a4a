"""Scoring clusterings of many sets (paper §3.5; digest §3.5): MR is the one-to-one
(Hungarian) misclassification rate of the speaker chapter's library
(:func:`dlwild.speakers.metrics.mr_hungarian`), NMI scikit-learn's
``normalized_mutual_info_score`` (named below), both averaged over the test sets with their
standard deviation; the count head's accuracy, per true k, and its confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from dlwild.speakers.metrics import contingency, mr_hungarian

__all__ = ["NMI_AVERAGE", "Scores", "count_confusion", "nmi", "predict", "score_sets"]

#: scikit-learn's NMI normalisation used throughout (its default since 0.22; the paper's
#: 2018 code used the geometric mean: on these sets the two differ in the third digit).
NMI_AVERAGE = "arithmetic"


def nmi(true: Sequence[int], pred: Sequence[int]) -> float:
    """Normalised mutual information of two labelings, ``I(T; P) / mean(H(T), H(P))``
    (scikit-learn's ``normalized_mutual_info_score`` with ``average_method="arithmetic"``,
    computed from the speaker chapter's contingency table: scikit-learn's checks cost ~50 ms
    a call, and a run scores tens of thousands of sets; the tests hold the two equal)."""
    table = contingency(true, pred).astype(np.float64)
    if table.shape[0] == table.shape[1] == 1:
        return 1.0   # one cluster on both sides: identical partitions (as scikit-learn)
    p = table / table.sum()
    rows, cols = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(rows, cols)[nz])).sum())
    h_rows = float(-(rows * np.log(rows)).sum())
    h_cols = float(-(cols * np.log(cols)).sum())
    mean = (h_rows + h_cols) / 2
    return max(0.0, mi / mean) if mean > 0 else 1.0


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, batch: int = 50) -> tuple[np.ndarray,
                                                                             np.ndarray,
                                                                             np.ndarray]:
    """Hard clusterings of sets ``x [B, n, ...]``: ``k_hat = argmax_k P(k)``, each item's
    label ``argmax_l P(l | x_i, k_hat)`` (digest §3.1). Returns ``(labels [B, n], k [B],
    P(k) [B, k_max])``."""
    model.eval()
    labels, ks, pks = [], [], []
    for start in range(0, len(x), batch):
        out = model(torch.as_tensor(x[start:start + batch], dtype=torch.float32))
        k_hat = out.log_pk.argmax(1)
        assign = torch.stack([out.log_assign[int(k)][i].argmax(-1)
                              for i, k in enumerate(k_hat)])
        labels.append(assign.numpy())
        ks.append(k_hat.numpy() + 1)
        pks.append(out.log_pk.exp().numpy())
    return np.concatenate(labels), np.concatenate(ks), np.concatenate(pks)


@dataclass
class Scores:
    """Per-set MR and NMI (and, where a method predicts it, k) of one method on some sets."""

    mr: np.ndarray
    nmi: np.ndarray
    k_true: np.ndarray
    k_pred: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means and standard deviations over the sets, and the count accuracy."""
        return {"mr": float(self.mr.mean()), "mr_std": float(self.mr.std()),
                "nmi": float(self.nmi.mean()), "nmi_std": float(self.nmi.std()),
                "count_acc": float((self.k_true == self.k_pred).mean()),
                "sets": int(len(self.mr))}

    def accuracy_by_k(self, k_max: int) -> dict[int, float]:
        """The count accuracy per true k (NaN where no set has that k)."""
        return {k: float((self.k_pred[self.k_true == k] == k).mean())
                if (self.k_true == k).any() else float("nan") for k in range(1, k_max + 1)}


def score_sets(true: np.ndarray, pred: Sequence[np.ndarray], k_true: np.ndarray,
               k_pred: np.ndarray | None = None) -> Scores:
    """MR and NMI of each set's clustering ``pred[i]`` against ``true[i]``."""
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labelings but {len(pred)} predicted ones")
    mr = np.array([mr_hungarian(t, p) for t, p in zip(true, pred, strict=True)])
    scores = np.array([nmi(t, p) for t, p in zip(true, pred, strict=True)])
    if k_pred is None:
        k_pred = np.array([len(set(np.asarray(p).tolist())) for p in pred])
    return Scores(mr, scores, np.asarray(k_true), np.asarray(k_pred))


def count_confusion(k_true: np.ndarray, k_pred: np.ndarray, k_max: int) -> np.ndarray:
    """``C[t - 1, p - 1]`` = sets of true count t predicted as p (predictions above k_max
    are clipped into the last column)."""
    table = np.zeros((k_max, k_max), dtype=np.int64)
    np.add.at(table, (np.asarray(k_true) - 1, np.clip(np.asarray(k_pred), 1, k_max) - 1), 1)
    return table
