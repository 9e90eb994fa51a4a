"""The small networks and the shared training call of the chapter: a CNN for MNIST digits
(with a ``features`` block of ``nn.ReLU`` modules, as the shared feature-response maps of
:mod:`dlwild.adversarial.maps` need), random affine jitter, and one ``fit`` call for them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from dlwild.core import train


class DigitCNN(nn.Module):
    """conv(width) - pool - conv(2 width) - pool - linear: a few thousand weights, for grey
    images of ``size`` (h, w): MNIST digits, or the DeepScores chapter's symbol patches."""

    def __init__(self, width: int = 8, classes: int = 10,
                 size: tuple[int, int] = (28, 28)) -> None:
        super().__init__()
        if min(size) < 4:
            raise ValueError(f"images must be at least 4 x 4 pixels, got {size}")
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(2 * width * (size[0] // 4) * (size[1] // 4), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class Bottleneck(nn.Module):
    """A deliberately under-fitting model: the image squeezed through ``units`` linear units."""

    def __init__(self, units: int = 2, classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, units), nn.Linear(units, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def images(x: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1]."""
    return torch.as_tensor(np.asarray(x), dtype=torch.float32).div(255.0)[:, None]


def jitter(x: torch.Tensor, generator: torch.Generator, *, degrees: float = 15.0,
           shift: float = 2.0, scale: tuple[float, float] = (0.9, 1.1)) -> torch.Tensor:
    """Each image rotated by U(-degrees, degrees), shifted by U(-shift, shift) px in x and y
    and scaled by U(scale): the HCS recipe (Beyond ImageNet 4.1) adapted to digits (no full
    turn: a 6 turned by 180 degrees is a 9)."""
    n, _, h, w = x.shape
    if n == 0:
        return x
    u = torch.rand(n, 4, generator=generator)
    angle = (2 * u[:, 0] - 1) * math.radians(degrees)
    s = scale[0] + (scale[1] - scale[0]) * u[:, 1]
    tx, ty = (2 * u[:, 2] - 1) * shift * 2 / w, (2 * u[:, 3] - 1) * shift * 2 / h
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


class Jittered(Dataset):
    """``x, y`` jittered afresh each epoch (``set_epoch``, called by ``fit``), seeded by
    (seed, epoch): the same run gives the same images."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, seed: int) -> None:
        self.x, self.y, self.seed = x, y, seed
        self.current = x

    def set_epoch(self, epoch: int) -> None:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        self.current = jitter(self.x, g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        return self.current[i], self.y[i]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one torch thread: the chapter's networks are tiny, and on a shared
    2-core machine a second thread mostly waits for the first (a 512-sample step of the
    information-plane net took 0.3 s on two contended threads, 10 ms on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def accuracy(model: nn.Module, batch) -> dict[str, float]:
    """Validation accuracy of a batch (``fit``'s ``evaluate``)."""
    x, y = batch
    return {"val_accuracy": float((model(x).argmax(1) == y).float().mean())}


def fit_classifier(model: nn.Module, train_data: Dataset, val: tuple[torch.Tensor, torch.Tensor],
                   checkpoint: Path, *, epochs: int, seed: int, desc: str,
                   loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                   batch_size: int = 64, lr: float = 1e-3) -> train.History:
    """Train a classifier with the shared loop (Adam, ``loss`` default cross-entropy), with
    validation loss and accuracy per epoch."""
    loss = loss or F.cross_entropy
    with one_thread():
        return train.fit(model, train_data, val_data=TensorDataset(*val),
                         loss_fn=lambda m, b: loss(m(b[0]), b[1]), evaluate=accuracy,
                         optimizer=lambda p: torch.optim.Adam(p, lr=lr), epochs=epochs,
                         batch_size=batch_size, seed=seed, checkpoint=checkpoint,
                         checkpoint_every_s=30.0, desc=desc, progress=True)


def predict(model: nn.Module, x: torch.Tensor, batch: int = 1024) -> np.ndarray:
    """Class probabilities (N, C) of ``x``."""
    model.eval()
    with torch.no_grad():
        return torch.cat([F.softmax(model(x[i:i + batch]), 1)
                          for i in range(0, len(x), batch)]).numpy()
