"""The victims: VGG-style CNNs (stacks of 3 x 3 convolutions and max-pools, as VGG19 is),
small enough to train on a CPU, and their cached training through the chapter contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from dlwild.core import cache
from dlwild.core.chapter import training_data
from dlwild.core.train import History, fit


class VGGNet(nn.Module):
    """Two VGG blocks (conv 3x3, ReLU, conv 3x3, ReLU, max-pool 2) and two dense layers.

    ``features`` ends with the last convolutional block's ReLU (before its pool): the
    activations guided backpropagation starts from. ReLUs are modules, not in-place, so
    captum can guide them."""

    def __init__(self, classes: int = 10, width: int = 16, channels: int = 1,
                 size: int = 28) -> None:
        super().__init__()
        if size % 4:
            raise ValueError(f"VGGNet needs an image side divisible by 4, got {size}")
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * w * (size // 4) ** 2, 4 * w),
            nn.ReLU(), nn.Linear(4 * w, classes))
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W) or (N, C, H, W) as float tensors (N, C, H, W) in [0, 1]."""
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 in [0, 255], got {images.dtype}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    return x.unsqueeze(1) if x.ndim == 3 else x


@dataclass
class Victim:
    """A trained victim, its training history and test accuracy."""

    model: VGGNet
    history: History
    test_accuracy: float
    classes: tuple[int, ...]


def _loss(model: nn.Module, batch: Any) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def _accuracy(model: nn.Module, batch: Any) -> dict[str, float]:
    x, y = batch
    return {"accuracy": float((model(x).argmax(1) == y).float().mean())}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Softmax probabilities of ``x`` (N, C, H, W), in batches, in eval mode."""
    model.eval()
    return torch.cat([model(x[i:i + batch]).softmax(1) for i in range(0, len(x), batch)])


def train_victim(chapter: Any, name: str, train: tuple[np.ndarray, np.ndarray],
                 val: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], *,
                 settings: Any, seed: int,
                 source: str, device: torch.device, classes: tuple[int, ...]) -> Victim:
    """Train (or load) a victim on ``train`` (uint8 images, labels already mapped to
    0..len(classes)-1) through ``chapter.train_cached``, watched on ``val`` (held out from
    the training images, never the test set); its accuracy on ``test``."""
    x, y = train
    key = training_data(source, cache.array_digest([x, y, *val]), images=len(x),
                        classes=list(classes))
    params = {"width": settings.width, "epochs": settings.epochs,
              "batch_size": settings.batch_size, "lr": settings.lr}
    channels = 1 if x.ndim == 3 else x.shape[1]
    train_set = TensorDataset(as_tensor(x), torch.from_numpy(y.astype(np.int64)))
    test_x, test_y = as_tensor(test[0]), torch.from_numpy(test[1].astype(np.int64))

    def make() -> VGGNet:
        return VGGNet(classes=len(classes), width=settings.width, channels=channels,
                      size=x.shape[-1])

    val_set = TensorDataset(as_tensor(val[0]), torch.from_numpy(val[1].astype(np.int64)))

    def train_it(model: VGGNet, checkpoint: Any) -> History:
        return fit(model, train_set, loss_fn=_loss, evaluate=_accuracy, val_data=val_set,
                   optimizer=lambda p: torch.optim.Adam(p, lr=settings.lr),
                   epochs=settings.epochs, batch_size=settings.batch_size, seed=seed,
                   device=device, checkpoint=checkpoint, config=params,
                   desc=f"victim {name}")

    model, history = chapter.train_cached(f"victim-{name}", params=params, data=key,
                                          make=make, fit=train_it, seed=seed)
    model = model.to("cpu").eval()
    accuracy = float((predict(model, test_x).argmax(1) == test_y).float().mean())
    return Victim(model, history, accuracy, tuple(classes))
