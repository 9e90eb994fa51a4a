"""The real long tail of the imbalance lesson: music-symbol patches of the DeepScores
chapter's engraved pages, through that chapter's library (the same cached engraving at its
quick scale, the same patch cut), the most frequent symbol classes with their natural
frequencies (only the head capped at quick scale)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dlwild.core import cache


def tail_classes(train: Sequence[str], test: Sequence[str], n: int,
                 min_test: int = 3) -> list[str]:
    """The ``n`` most frequent classes of the training symbols ``train`` (ties by name) among
    those with at least ``min_test`` symbols in the test pieces ``test`` (a class the test
    pieces lack has no recall to measure); a ValueError if fewer than two are left."""
    if n < 2:
        raise ValueError(f"a long tail needs at least 2 classes, got {n}")
    in_test = Counter(test)
    counts = Counter(c for c in train if in_test[c] >= min_test)
    ranked = sorted(counts, key=lambda c: (-counts[c], c))[:n]
    if len(ranked) < 2:
        raise ValueError(f"only {len(ranked)} class(es) have training symbols and at least "
                         f"{min_test} in the test pieces: no long tail to study")
    return ranked


def ink(images: np.ndarray) -> torch.Tensor:
    """uint8 patches (N, h, w), white paper = 255, as float (N, 1, h, w) with ink = 1 (the
    DeepScores classifier's input)."""
    return torch.from_numpy(1.0 - np.asarray(images, dtype=np.float32) / 255.0)[:, None]


@dataclass
class SymbolTail:
    """The symbol long tail as trained and tested: class names (most training patches first,
    ties by name; labels index them), ink patches and labels of the training pieces (split by
    piece into train and validation) and of the test pieces, and what identifies them."""

    classes: tuple[str, ...]
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: np.ndarray
    digest: str
    pages: int
    corpus: Any = None  # what the pages were engraved from (the DeepScores chapter's record)

    @property
    def counts(self) -> np.ndarray:
        """Training patches per class."""
        return np.bincount(self.y_train.numpy(), minlength=len(self.classes))

    @property
    def test_counts(self) -> np.ndarray:
        """Test patches per class."""
        return np.bincount(self.y_test, minlength=len(self.classes))

    @property
    def ratio(self) -> float:
        """The imbalance ratio of the training patches: most over least frequent class."""
        counts = self.counts
        return float(counts.max() / counts.min())

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) of one patch."""
        return tuple(self.x_train.shape[-2:])

    def record(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "train_counts": self.counts.tolist(),
                "test_counts": self.test_counts.tolist(), "ratio": self.ratio,
                "validation_patches": len(self.y_val), "pages": self.pages,
                "patch_size": list(self.size)}


def symbol_long_tail(n_classes: int, head: int, seed: int,
                     store: cache.ArtifactCache | None = None) -> SymbolTail:
    """The ``n_classes`` most frequent symbol classes of the DeepScores chapter's quick-scale
    engraved pages (engraved once and cached by that chapter's library) that the test pieces
    hold too, at most ``head`` patches per class (0: every patch), the training pieces'
    patches split by piece into 85 % training and 15 % validation."""
    if head < 0:
        raise ValueError(f"head must be >= 0 (0: every patch), got {head}")
    from dlwild.deepscores import classify
    from dlwild.deepscores import dataset as engraving
    from dlwild.deepscores.pipeline import dataset_patches
    from dlwild.deepscores.settings import SETTINGS as DEEPSCORES

    settings = DEEPSCORES["quick"]
    dataset = engraving.engraved_dataset(settings, seed=seed, cache=store)
    classes = tail_classes([s.cls for p in dataset.train for s in p.page.symbols],
                           [s.cls for p in dataset.test for s in p.page.symbols], n_classes)
    train, test = dataset_patches(dataset, classes, settings.patch_size, head or None, seed)
    fit, val = classify.split_by_piece(train, (0.85, 0.15), seed)
    # classes renumbered by their training patches, most first (ties by name)
    counts = np.bincount(train.labels[fit], minlength=len(classes))
    order = sorted(range(len(classes)), key=lambda c: (-counts[c], classes[c]))
    relabel = np.argsort(order)
    y_fit, y_val, y_test = (relabel[y] for y in (train.labels[fit], train.labels[val],
                                                 test.labels))
    digest = cache.array_digest([train.images, train.labels, test.images, test.labels])
    return SymbolTail(tuple(classes[c] for c in order), ink(train.images[fit]),
                      torch.from_numpy(y_fit), ink(train.images[val]), torch.from_numpy(y_val),
                      ink(test.images), y_test, digest, len(dataset.pages()),
                      engraving.corpus_record(dataset))
