"""DeepScores-classification: symbol patches with page context, a residual CNN, macro accuracy.

DeepScores (ICPR 2018) ships a classification subset: up to 3,000 patches per class,
220 x 120 px (h x w), centred on the symbol's box with the surrounding page context kept (the
context is what tells a key-signature sharp from an accidental, a duration dot from a
staccato).  Its baseline, a residual CNN (25 conv layers, ~8M parameters, Adam with default
hyper-parameters), reaches a macro-average accuracy above 0.98 after about ten epochs.

This module holds, in that order: the patches (:func:`extract_patches`, :class:`Patches`,
:func:`split_by_piece`, :class:`PatchDataset`), the network (:class:`SymbolResNet`), training
through :func:`dlwild.core.train.fit` (:func:`train_classifier`, :func:`predict`) and the
evaluation (:func:`macro_accuracy`, :func:`confusion_matrix`, :func:`per_class_accuracy`,
:func:`context_confusion`).

Choices where the paper is silent (each one is documented where it is made):

* Patch position: the patch's top-left pixel is ``round(c - size / 2)`` for the box centre
  ``c``, so the box centre falls on the patch centre (exactly, for integer centres and even
  sizes); parts outside the page are white paper.
* Downscaling (``out_size``, e.g. 56 x 32 for the quick scale): area averaging (each output
  pixel is the mean of the input pixels it covers), rounded back to uint8.
* Capping: a class with more than ``per_class`` symbols keeps a random subset drawn from a
  generator seeded by ``(seed, crc32(class name))``, so a class's choice does not depend on
  which other classes are extracted.
* Network: ResNet basic blocks with group norm (not batch norm: the eval-mode statistics of
  batch norm are unreliable after a few small epochs) and an adaptive average pool to a 3 x 3
  grid before the linear layer, which keeps "centre vs. surroundings" (the context) that a
  global pool would lose.  :data:`~dlwild.deepscores.settings.PAPER_LIKE` is a 25-conv-layer
  configuration of ~7.3M parameters (20 classes), close to the paper's.
* Macro accuracy: the mean, over the classes present in the true labels, of per-class recall
  (a class never predicted counts 0; a class absent from the truth does not count).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from dlwild.core.train import History, fit
from dlwild.deepscores.annotations import Page, class_counts
from dlwild.deepscores.dwd import ResBlock, norm_layer

__all__ = [
    "CONTEXT_PAIRS",
    "PATCH_SIZE",
    "PatchDataset",
    "Patches",
    "SymbolResNet",
    "adam",
    "confusion_matrix",
    "context_confusion",
    "extract_patches",
    "macro_accuracy",
    "per_class_accuracy",
    "predict",
    "split_by_piece",
    "top_classes",
    "train_classifier",
]

PATCH_SIZE: tuple[int, int] = (220, 120)
"""DeepScores' classification patches, (height, width) in page pixels."""

WHITE = 255

CONTEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("accidentalSharp", "keySharp"),
    ("accidentalFlat", "keyFlat"),
    ("accidentalNatural", "keyNatural"),
    ("augmentationDot", "articStaccatoAbove"),
    ("augmentationDot", "articStaccatoBelow"),
)
"""Look-alike classes that only the page context tells apart (DeepScores section 3)."""


# --------------------------------------------------------------------------------------------
# Patches
# --------------------------------------------------------------------------------------------


@dataclass
class Patches:
    """Symbol patches and where they came from.

    ``images``: uint8 (N, h, w), white paper = 255 (as the pages); ``labels``: int64 (N,),
    indices into ``classes``; ``records``: one row per patch with ``page``, ``piece`` (the
    page's piece, or its id when it has none), ``font``, ``instance`` (the symbol's id on its
    page), ``cls``, ``x``, ``y`` (box centre, page px) and ``box_h``, ``box_w`` (page px)."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    records: pd.DataFrame

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.ndim != 3 or len(self.images) != n or len(self.records) != n:
            raise ValueError(
                f"images {self.images.shape}, labels ({n},) and records ({len(self.records)}"
                " rows) do not describe the same patches")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray | Sequence[int]) -> Patches:
        """The patches at ``index`` (e.g. one split of :func:`split_by_piece`)."""
        index = np.asarray(index, dtype=np.int64)
        return Patches(self.images[index], self.labels[index], self.classes,
                       self.records.iloc[index].reset_index(drop=True))


def top_classes(pages: Sequence[Page], n: int) -> list[str]:
    """The ``n`` most frequent classes of ``pages`` (ties by name), e.g. the quick scale's 20."""
    return list(class_counts(pages))[:n]


def _as_grey_uint8(image: np.ndarray | str | Path, page: Page) -> np.ndarray:
    """The page image as uint8 (H, W) with white paper = 255; floats are read as 0..1."""
    if isinstance(image, str | Path):
        from PIL import Image

        with Image.open(image) as im:
            array = np.asarray(im.convert("L"))
    else:
        array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"page {page.id!r}: expected a grey (H, W) image, got {array.shape}")
    if array.shape != (page.height, page.width):
        raise ValueError(
            f"page {page.id!r}: the image is {array.shape[1]} x {array.shape[0]} px but the "
            f"page says {page.width} x {page.height}; its boxes would not fit the image")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)
    raise ValueError(f"page {page.id!r}: unsupported image dtype {array.dtype}")


def _cut(image: np.ndarray, cx: float, cy: float, size: tuple[int, int]) -> np.ndarray:
    """The (h, w) window of ``image`` centred on (cx, cy), white where it leaves the page."""
    h, w = size
    top, left = int(round(cy - h / 2)), int(round(cx - w / 2))
    out = np.full((h, w), WHITE, dtype=np.uint8)
    y0, y1 = max(top, 0), min(top + h, image.shape[0])
    x0, x1 = max(left, 0), min(left + w, image.shape[1])
    if y0 < y1 and x0 < x1:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = image[y0:y1, x0:x1]
    return out


def _downscale(images: np.ndarray, out_size: tuple[int, int], chunk: int = 512) -> np.ndarray:
    """Area-average ``images`` (N, h, w) uint8 to (N, *out_size), in chunks to bound memory."""
    out = np.empty((len(images), *out_size), dtype=np.uint8)
    for start in range(0, len(images), chunk):
        part = torch.from_numpy(images[start:start + chunk]).float()[:, None]
        small = F.interpolate(part, size=out_size, mode="area")[:, 0]
        out[start:start + chunk] = small.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


def _check_size(name: str, size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or any(int(v) != v or v < 1 for v in size):
        raise ValueError(f"{name} must be (height, width) of positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def extract_patches(
    pages: Sequence[Page],
    images: Sequence[np.ndarray | str | Path],
    classes: Sequence[str],
    size: tuple[int, int] = PATCH_SIZE,
    out_size: tuple[int, int] | None = None,
    per_class: int | None = 3000,
    seed: int = 0,
) -> Patches:
    """Cut one patch per symbol of ``classes`` from ``pages``, DeepScores-classification style.

    ``images[i]`` is page ``i``'s grey image (uint8 or float 0..1 array, white paper, or a
    path to one), in the pixels of its boxes.  Each patch is ``size`` = (h, w) page pixels
    centred on the symbol's box centre, page context kept, white beyond the page border;
    ``out_size`` downscales it (area average).  A class with more than ``per_class`` symbols
    keeps a random ``per_class`` of them (``None``: all), drawn deterministically from
    ``(seed, class name)``.  Symbols of other classes are skipped.  Patches come in page
    order, symbols in page order within a page; labels index ``classes``."""
    if len(pages) != len(images):
        raise ValueError(f"{len(pages)} pages but {len(images)} images")
    if len(set(classes)) != len(classes) or not classes:
        raise ValueError("classes must be a non-empty list of distinct names")
    size = _check_size("size", size)
    if out_size is not None:
        out_size = _check_size("out_size", out_size)
    if per_class is not None and per_class < 1:
        raise ValueError(f"per_class must be >= 1 or None, got {per_class!r}")
    index = {name: i for i, name in enumerate(classes)}

    # choose the symbols from the annotations alone; images are read once, page by page
    found: dict[str, list[tuple[int, int]]] = {name: [] for name in classes}
    for p, page in enumerate(pages):
        for k, s in enumerate(page.symbols):
            if s.cls in index:
                found[s.cls].append((p, k))
    chosen: list[tuple[int, int]] = []
    for name, items in found.items():
        if per_class is not None and len(items) > per_class:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            keep = np.sort(rng.choice(len(items), size=per_class, replace=False))
            items = [items[i] for i in keep]
        chosen.extend(items)
    chosen.sort()

    # cut page by page and downscale each page's patches at once: memory stays at the output
    shape = out_size if out_size is not None else size
    out = np.empty((len(chosen), *shape), dtype=np.uint8)
    rows = []
    start = 0
    for p, group in itertools.groupby(chosen, key=lambda pk: pk[0]):
        page = pages[p]
        image = _as_grey_uint8(images[p], page)
        symbols = [page.symbols[k] for _, k in group]
        cut = np.empty((len(symbols), *size), dtype=np.uint8)
        for n, s in enumerate(symbols):
            cx, cy = s.center
            cut[n] = _cut(image, cx, cy, size)
            h, w = s.size
            rows.append({"page": page.id, "piece": page.piece or page.id, "font": page.font,
                         "instance": s.instance, "cls": s.cls, "x": cx, "y": cy,
                         "box_h": h, "box_w": w})
        out[start:start + len(symbols)] = _downscale(cut, shape) if shape != size else cut
        start += len(symbols)
    records = pd.DataFrame(rows, columns=["page", "piece", "font", "instance", "cls", "x", "y",
                                          "box_h", "box_w"])
    labels = np.array([index[c] for c in records["cls"]], dtype=np.int64)
    return Patches(out, labels, tuple(classes), records)


def split_by_piece(
    patches: Patches | pd.DataFrame, fractions: Sequence[float] = (0.8, 0.2), seed: int = 0
) -> list[np.ndarray]:
    """Patch indices of each split, every piece (and so every page of it, in every font) in
    exactly one split, so that no piece straddles train and test.

    The pieces are shuffled (``seed``) and each goes to the split that is least filled relative
    to its target share of the patches (count / fraction); so every split gets a piece before
    any gets a second one, and the patch shares approach ``fractions`` as far as whole pieces
    allow.  ``patches``: :class:`Patches` or their ``records``."""
    records = patches.records if isinstance(patches, Patches) else patches
    weights = np.asarray(fractions, dtype=np.float64)
    if weights.ndim != 1 or len(weights) < 1 or not np.all(weights > 0):
        raise ValueError(f"fractions must be positive, got {fractions!r}")
    weights = weights / weights.sum()
    pieces = records["piece"].to_numpy()
    names, counts = np.unique(pieces, return_counts=True)
    if len(names) < len(weights):
        raise ValueError(
            f"{len(names)} pieces cannot fill {len(weights)} splits with whole pieces")
    order = np.random.default_rng(seed).permutation(len(names))
    filled = np.zeros(len(weights))
    split_of: dict[Any, int] = {}
    for i in order:
        target = int(np.argmin(filled / weights))  # ties: the first split
        split_of[names[i]] = target
        filled[target] += counts[i]
    assignment = np.array([split_of[p] for p in pieces], dtype=np.int64)
    return [np.flatnonzero(assignment == k) for k in range(len(weights))]


class PatchDataset(Dataset):
    """:class:`Patches` as ``(image, label)`` samples for :func:`fit`: image float32 (1, h, w)
    with ink = 1 and paper = 0 (as the detector's input), label int64."""

    def __init__(self, patches: Patches) -> None:
        self.images = torch.from_numpy(1.0 - patches.images.astype(np.float32) / 255.0)
        self.labels = torch.from_numpy(patches.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index][None], self.labels[index]


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


class SymbolResNet(nn.Module):
    """A residual CNN that classifies one symbol patch (1, h, w) into ``n_classes`` logits.

    A 3x3 stem conv to ``width`` channels, then one stage per entry of ``blocks`` (that many
    ResNet basic blocks; stage ``i`` has ``width * 2**i`` channels, stages after the first
    start with stride 2), an adaptive average pool to a ``grid`` (3 x 3: centre and
    surroundings stay apart) and a linear layer.  ``in_size`` = (h, w) is the patch size the
    net is built for; other sizes are refused with a clear error (a net trained on 56 x 32
    patches has learnt features of that scale).  Conv layers: ``1 + 2 * sum(blocks)``."""

    def __init__(self, n_classes: int, width: int = 16, blocks: Sequence[int] = (2, 2, 2),
                 in_size: tuple[int, int] = (56, 32), grid: tuple[int, int] = (3, 3)) -> None:
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes!r}")
        if width < 1 or not blocks or any(b < 1 for b in blocks):
            raise ValueError(f"width must be >= 1 and blocks >= 1 each, got {width}, {blocks}")
        self.in_size = _check_size("in_size", in_size)
        reduction = 2 ** (len(blocks) - 1)
        if min(self.in_size[0] // reduction, self.in_size[1] // reduction) < 1:
            raise ValueError(f"in_size {in_size} is too small for {len(blocks)} stages")
        self.n_classes = n_classes
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), norm_layer(width),
                                  nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        c_in = width
        for i, count in enumerate(blocks):
            c_out = width * 2**i
            for j in range(count):
                layers.append(ResBlock(c_in, c_out, stride=2 if i > 0 and j == 0 else 1))
                c_in = c_out
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.head = nn.Linear(c_in * grid[0] * grid[1], n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[2:]) != self.in_size:
            raise ValueError(
                f"SymbolResNet expects (N, 1, {self.in_size[0]}, {self.in_size[1]}) patches, "
                f"got {tuple(x.shape)}")
        return self.head(self.pool(self.stages(self.stem(x))).flatten(1))


# --------------------------------------------------------------------------------------------
# Training and prediction
# --------------------------------------------------------------------------------------------


def _cross_entropy(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    images, labels = batch
    return F.cross_entropy(model(images), labels)


def _accuracy(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
    images, labels = batch
    return {"val_accuracy": float((model(images).argmax(1) == labels).float().mean())}


def adam(params: Any) -> torch.optim.Optimizer:
    """Adam with PyTorch's default hyper-parameters (lr 1e-3, betas 0.9/0.999), as the paper."""
    return torch.optim.Adam(params)


def train_classifier(
    model: nn.Module,
    train: Patches,
    val: Patches | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    optimizer: Callable[[Any], torch.optim.Optimizer] = adam,
    seed: int = 0,
    device: str | torch.device = "cpu",
    checkpoint: str | Path | None = None,
    progress: bool = True,
    config: Mapping[str, Any] | None = None,
) -> History:
    """Train ``model`` on ``train`` with cross-entropy via :func:`dlwild.core.train.fit` (Adam
    defaults unless ``optimizer`` is given); with ``val``, each epoch records ``val_loss`` and
    ``val_accuracy`` (plain accuracy; use :func:`predict` and :func:`macro_accuracy` for the
    paper's macro accuracy)."""
    return fit(
        model, PatchDataset(train),
        val_data=PatchDataset(val) if val is not None else None,
        loss_fn=_cross_entropy, evaluate=_accuracy if val is not None else None,
        optimizer=optimizer, epochs=epochs, batch_size=batch_size, device=device, seed=seed,
        checkpoint=checkpoint, progress=progress, config=config, desc="symbol classifier",
    )


def predict(model: nn.Module, patches: Patches, batch_size: int = 256,
            device: str | torch.device | None = None) -> np.ndarray:
    """Predicted label of every patch (int64 (N,)), in eval mode without gradients."""
    data = PatchDataset(patches)
    if device is None:
        device = next(model.parameters()).device
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            x = data.images[start:start + batch_size, None].to(device)
            out.append(model(x).argmax(1).cpu())
    return torch.cat(out).numpy() if out else np.empty(0, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def confusion_matrix(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                     n_classes: int) -> np.ndarray:
    """int64 (n_classes, n_classes) counts: row = true label, column = predicted label."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred {p.size}")
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.size and (v.min() < 0 or v.max() >= n_classes):
            raise ValueError(f"{name} holds labels outside 0..{n_classes - 1}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(
        n_classes, n_classes)


def macro_accuracy(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                   n_classes: int) -> float:
    """Macro-average accuracy: the mean of per-class recall (correct / true count) over the
    classes present in ``y_true``; a present class never predicted counts 0."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    support = cm.sum(axis=1)
    present = support > 0
    if not present.any():
        raise ValueError("y_true is empty")
    return float(np.mean(np.diag(cm)[present] / support[present]))


def per_class_accuracy(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                       classes: Sequence[str]) -> pd.DataFrame:
    """One row per class (index: name, in ``classes`` order): ``support`` (true count),
    ``correct``, ``accuracy`` (recall; NaN without support), ``predicted`` (how often it was
    predicted) and ``precision`` (NaN when never predicted)."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    support, predicted, correct = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, correct / np.maximum(support, 1), math.nan)
        precision = np.where(predicted > 0, correct / np.maximum(predicted, 1), math.nan)
    return pd.DataFrame({"support": support, "correct": correct, "accuracy": recall,
                         "predicted": predicted, "precision": precision},
                        index=pd.Index(list(classes), name="cls"))


def context_confusion(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray,
                      classes: Sequence[str], names: Sequence[str],
                      other: bool = True) -> pd.DataFrame:
    """The confusion submatrix of ``names`` (rows true, columns predicted), e.g.
    ``["accidentalSharp", "keySharp"]``; with ``other`` a last column counts the patches of
    these classes predicted as any class outside ``names``."""
    index = {name: i for i, name in enumerate(classes)}
    missing = [n for n in names if n not in index]
    if missing:
        raise KeyError(f"not among the classes: {', '.join(missing)}")
    cm = confusion_matrix(y_true, y_pred, len(classes))
    ids = [index[n] for n in names]
    sub = cm[np.ix_(ids, ids)]
    table = pd.DataFrame(sub, index=pd.Index(list(names), name="true"),
                         columns=pd.Index(list(names), name="predicted"))
    if other:
        table["other"] = cm[ids].sum(axis=1) - sub.sum(axis=1)
    return table
