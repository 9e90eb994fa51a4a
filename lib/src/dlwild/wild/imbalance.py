"""Class imbalance (the lesson "imbalance is the rule"): MNIST subsampled to an exponential
long tail, five ways of training on it, and the metrics that see the rare classes.

Methods: plain cross-entropy (``ce``), class-weighted cross-entropy (``weighted``, weights
N / (C n_c)), focal loss (``focal``, Lin et al. 2017, gamma 2), re-sampling to balanced
classes each epoch (``resample``), and an "unorthodox" augmentation of the rare classes
(``augment``: every class topped up to the head's count with jittered copies of its own
images, the WoRMS idea of pasting more rare symbols into the training data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import (
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    recall_score,
)
from torch.utils.data import Dataset

from dlwild.wild.nets import jitter
from dlwild.wild.settings import IMBALANCE_METHODS


def long_tail_counts(head: int, ratio: float, classes: int = 10) -> np.ndarray:
    """Images per class of an exponential long tail: n_c = round(head * ratio^(-c/(C-1))),
    from ``head`` (class 0) down to head / ratio (the last class). A ratio below 1 or a
    class left with no image is a ValueError, never a silent empty class."""
    if ratio < 1:
        raise ValueError(f"the imbalance ratio must be >= 1 (head / tail), got {ratio}")
    if classes < 2 or head < 1:
        raise ValueError(f"need >= 2 classes and a head >= 1, got {classes} and {head}")
    counts = np.rint(head * float(ratio) ** (-np.arange(classes) / (classes - 1))).astype(int)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(f"a head of {head} at imbalance ratio {ratio} leaves classes "
                         f"{empty.tolist()} with no sample; raise the head or lower the ratio")
    return counts


def subsample(y: np.ndarray, counts: np.ndarray, seed: int) -> np.ndarray:
    """Indices of ``counts[c]`` images of each class c, drawn without replacement (seeded)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c, n in enumerate(counts):
        pool = np.flatnonzero(y == c)
        if len(pool) < n:
            raise ValueError(f"class {c} has {len(pool)} images, the long tail wants {n}")
        chosen.append(rng.choice(pool, size=int(n), replace=False))
    return np.sort(np.concatenate(chosen))


def class_weights(y: np.ndarray, classes: int) -> torch.Tensor:
    """Inverse-frequency weights N / (C n_c) (1 for every class when balanced)."""
    counts = np.bincount(y, minlength=classes).astype(float)
    if (counts == 0).any():
        raise ValueError(f"classes {np.flatnonzero(counts == 0).tolist()} have no sample")
    return torch.as_tensor(len(y) / (classes * counts), dtype=torch.float32)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean focal loss -w_t (1 - p_t)^gamma log p_t (Lin et al. 2017); gamma 0 is CE."""
    logp = F.log_softmax(logits, 1).gather(1, target[:, None])[:, 0]
    loss = -((1 - logp.exp()) ** gamma) * logp
    if weight is not None:
        loss = loss * weight[target]
    return loss.mean()


class Resampled(Dataset):
    """Each epoch ``len(x)`` draws: a class uniformly, then one of its images (seeded)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, seed: int, augment: bool = False):
        self.x, self.y, self.seed, self.augment = x, y, seed, augment
        self.pools = [torch.nonzero(y == c)[:, 0] for c in range(int(y.max()) + 1)]
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        if self.augment:  # keep every image, top each class up with jittered copies
            top = max(len(p) for p in self.pools)
            extra = [p[torch.randint(len(p), (top - len(p),), generator=g)] for p in self.pools]
            extra = torch.cat(extra)
            self.index = torch.cat([torch.arange(len(self.y)), extra])
            self.images = torch.cat([self.x, jitter(self.x[extra], g)])
            return
        cls = torch.randint(len(self.pools), (len(self.y),), generator=g)
        pick = torch.rand(len(self.y), generator=g)
        self.index = torch.stack([self.pools[c][int(u * len(self.pools[c]))]
                                  for c, u in zip(cls.tolist(), pick.tolist(), strict=True)])
        self.images = self.x[self.index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        return self.images[i], self.y[self.index[i]]


def training_set(method: str, x: torch.Tensor, y: torch.Tensor, seed: int) -> Dataset:
    """The data a method trains on: the long tail as it is, resampled or augmented."""
    check_method(method)
    if method == "resample":
        return Resampled(x, y, seed)
    if method == "augment":
        return Resampled(x, y, seed, augment=True)
    return torch.utils.data.TensorDataset(x, y)


def loss_for(method: str, y: torch.Tensor, classes: int = 10, gamma: float = 2.0):
    """The loss a method trains with (weighted CE, focal, else plain CE)."""
    check_method(method)
    if method == "weighted":
        w = class_weights(y.numpy(), classes)
        return lambda logits, t: F.cross_entropy(logits, t, weight=w)
    if method == "focal":
        return lambda logits, t: focal_loss(logits, t, gamma)
    return F.cross_entropy


def check_method(method: str) -> None:
    if method not in IMBALANCE_METHODS:
        raise ValueError(f"method must be one of {IMBALANCE_METHODS}, got {method!r}")


def recall_at_precision(y_true: np.ndarray, score: np.ndarray, precision: float) -> float:
    """The risk operating point: the highest recall of the positives (``y_true`` 1) at a
    threshold on ``score`` whose precision is at least ``precision`` (0 if none is)."""
    if not 0 < precision <= 1:
        raise ValueError(f"precision must be in (0, 1], got {precision}")
    if y_true.sum() == 0:
        raise ValueError("no positive sample: the operating point is undefined")
    p, r, _ = precision_recall_curve(y_true, score)
    ok = p >= precision
    return float(r[ok].max()) if ok.any() else 0.0


@dataclass(frozen=True)
class Scores:
    """What a classifier does on each class: per-class recall, balanced accuracy, macro F1,
    the confusion (rows true, columns predicted) and the rarest class's recall at a fixed
    precision (the risk operating point)."""

    recall: np.ndarray
    balanced_accuracy: float
    macro_f1: float
    accuracy: float
    confusion: np.ndarray
    rare_recall_at_precision: float

    @classmethod
    def of(cls, y_true: np.ndarray, proba: np.ndarray, *, rare: int,
           precision: float = 0.9) -> Scores:
        """Scores of class probabilities ``proba`` (N, C) against ``y_true``."""
        labels = np.arange(proba.shape[1])
        pred = proba.argmax(1)
        return cls(recall=recall_score(y_true, pred, labels=labels, average=None,
                                       zero_division=0),
                   balanced_accuracy=float(balanced_accuracy_score(y_true, pred)),
                   macro_f1=float(f1_score(y_true, pred, labels=labels, average="macro",
                                           zero_division=0)),
                   accuracy=float((pred == y_true).mean()),
                   confusion=confusion_matrix(y_true, pred, labels=labels),
                   rare_recall_at_precision=recall_at_precision(
                       (y_true == rare).astype(int), proba[:, rare], precision))

    def record(self) -> dict[str, Any]:
        return {"recall": self.recall.round(4).tolist(),
                "balanced_accuracy": self.balanced_accuracy, "macro_f1": self.macro_f1,
                "accuracy": self.accuracy, "confusion": self.confusion.tolist(),
                "rare_recall_at_precision": self.rare_recall_at_precision}


def weighting_helps_little(table: dict[tuple[int, str], Scores], ratio: int) -> dict[str, float]:
    """At ``ratio``: the balanced-accuracy gains over plain CE of weighting alone and of the
    best data-side remedy (re-sampling or augmentation)."""
    base = table[(ratio, "ce")].balanced_accuracy
    data_side = max(table[(ratio, m)].balanced_accuracy for m in ("resample", "augment"))
    return {"weighted_gain": table[(ratio, "weighted")].balanced_accuracy - base,
            "data_gain": data_side - base}
