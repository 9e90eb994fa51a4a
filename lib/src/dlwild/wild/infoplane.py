"""The information plane (Shwartz-Ziv & Tishby 2017) re-implemented: the 12-bit task, the
12-10-7-5-4-3-2 network, and mutual information by binning.

Task: all 4,096 12-bit inputs, label 1 where a fixed random weighted sum of the bits exceeds
its median (a linearly separable threshold rule like the published labels; regenerated,
not copied), 80 % for training. Network: tanh (or ReLU) hidden layers, a 2-way softmax,
truncated-normal initialisation with std 1/sqrt(fan_in), Adam lr 4e-4, batch 512 (the
authors' code). MI: each unit's activation binned into 30 equal bins (on [-1, 1] for tanh;
on [0, the layer's maximum at that epoch] for ReLU, Saxe et al.'s adaptive bins), the binned
layer vector one symbol T; with X uniform over all 4,096 inputs, I(X;T) = H(T) and
I(T;Y) = H(T) - H(T|Y), plug-in entropies in bits."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlwild.core import train
from dlwild.wild.nets import one_thread

LAYERS = (12, 10, 7, 5, 4, 3, 2)
ACTIVATIONS = ("tanh", "relu")


def twelve_bit_task(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """All 4,096 inputs (as +-1 bits, (4096, 12)) and their binary labels (half ones)."""
    bits = ((np.arange(4096)[:, None] >> np.arange(12)) & 1).astype(np.float32)
    w = np.random.default_rng(seed).normal(size=12)
    s = bits @ w
    return 2 * bits - 1, (s > np.median(s)).astype(np.int64)


def entropy(symbols: np.ndarray) -> float:
    """Plug-in entropy in bits of the rows of ``symbols`` (each row one symbol)."""
    if len(symbols) == 0:
        raise ValueError("entropy of no sample")
    _, counts = np.unique(np.ascontiguousarray(symbols).reshape(len(symbols), -1), axis=0,
                          return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def discretise(t: np.ndarray, bins: int = 30, low: float = -1.0,
               high: float | None = 1.0) -> np.ndarray:
    """Each activation's bin index among ``bins`` equal bins on [low, high] (high None: the
    array's maximum; values outside go to the end bins)."""
    high = float(t.max()) if high is None else high
    if high <= low:
        return np.zeros_like(t, dtype=np.int16)
    edges = np.linspace(low, high, bins + 1)[1:-1]
    return np.digitize(t, edges).astype(np.int16)


def mutual_information(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(I(X;T), I(T;Y)) in bits of a discrete layer ``t`` (N, units) computed from uniform X
    (T a function of X, so I(X;T) = H(T)) and labels ``y``."""
    h_t = entropy(t)
    h_t_given_y = sum((y == c).mean() * entropy(t[y == c]) for c in np.unique(y))
    return h_t, h_t - h_t_given_y


class IBNet(nn.Module):
    """12-10-7-5-4-3 hidden layers and a 2-unit output; ``forward`` gives the logits,
    ``hidden`` every hidden layer's activations."""

    def __init__(self, activation: str = "tanh", sizes: Sequence[int] = LAYERS) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.act = torch.tanh if activation == "tanh" else F.relu
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:],
                                                                      strict=True))
        for layer in self.layers:
            nn.init.trunc_normal_(layer.weight, std=layer.in_features ** -0.5,
                                  a=-2 * layer.in_features ** -0.5,
                                  b=2 * layer.in_features ** -0.5)
            nn.init.zeros_(layer.bias)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[-1](self.hidden(x)[-1])


def log_epochs(epochs: int, points: int) -> list[int]:
    """About ``points`` distinct epochs from 1 to ``epochs``, spaced evenly on a log axis."""
    return sorted({int(e) for e in np.rint(np.geomspace(1, epochs, points))})


def layer_information(model: IBNet, x: np.ndarray, y: np.ndarray, activation: str,
                      bins: int = 30) -> list[tuple[float, float]]:
    """(I(X;T), I(T;Y)) of every hidden layer on all inputs ``x``."""
    with torch.no_grad():
        hidden = [h.numpy() for h in model.hidden(torch.as_tensor(x))]
    if activation == "tanh":
        binned = [discretise(h, bins) for h in hidden]
    else:
        binned = [discretise(h, bins, 0.0, None) for h in hidden]
    return [mutual_information(b, y) for b in binned]


def fit_ib(model: IBNet, x: np.ndarray, y: np.ndarray, train_idx: np.ndarray,
           *, epochs: int, points: int, activation: str, seed: int,
           batch_size: int = 512, lr: float = 4e-4) -> train.History:
    """Train on ``train_idx`` (Adam, cross-entropy; the authors' lr 4e-4 and batch 512 by
    default; minibatches shuffled per epoch from a generator seeded by ``seed``); at each
    log-spaced epoch record the loss on
    the held-out inputs and every layer's I(X;T) and I(T;Y) (on all 4,096 inputs), so the
    plane travels with the History in the artifact cache.

    A plain loop rather than :func:`dlwild.core.train.fit`: thousands of epochs of seven
    tiny minibatches, where the shared loop's per-epoch bookkeeping (loaders, validation,
    checkpoints) costs some 40 times the arithmetic; a run takes seconds, so it needs no
    checkpoint to resume from."""
    with one_thread():
        return _fit_ib(model, x, y, train_idx, epochs=epochs, points=points,
                       activation=activation, seed=seed, batch_size=batch_size, lr=lr)


def _fit_ib(model: IBNet, x: np.ndarray, y: np.ndarray, train_idx: np.ndarray, *, epochs: int,
            points: int, activation: str, seed: int, batch_size: int,
            lr: float) -> train.History:
    wanted = set(log_epochs(epochs, points))
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    held_out = np.setdiff1d(np.arange(len(x)), train_idx)
    xt, yt = torch.as_tensor(x[train_idx]), torch.as_tensor(y[train_idx])
    xv, yv = torch.as_tensor(x[held_out]), torch.as_tensor(y[held_out])
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = train.History(hardware=train.hardware_name(torch.device("cpu")))
    began = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(xt), batch_size):
            b = order[i:i + batch_size]
            loss = F.cross_entropy(model(xt[b]), yt[b])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(b)
        if epoch in wanted:
            model.eval()
            with torch.no_grad():
                logits = model(xv)
            info = layer_information(model, x, y, activation)
            history.epochs.append({
                "epoch": epoch, "train_loss": total / len(xt),
                "val_loss": float(F.cross_entropy(logits, yv)),
                "val_accuracy": float((logits.argmax(1) == yv).float().mean()),
                "ixt": [a for a, _ in info], "ity": [b for _, b in info],
                "seconds": time.perf_counter() - began})
            began = time.perf_counter()
    model.eval()
    return history


def plane(history: train.History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epochs, I(X;T), I(T;Y)) of one run: arrays (E,), (E, layers), (E, layers)."""
    rows = [r for r in history.epochs if "ixt" in r]
    return (np.array([r["epoch"] for r in rows]), np.array([r["ixt"] for r in rows]),
            np.array([r["ity"] for r in rows]))


def compression(ixt: np.ndarray) -> np.ndarray:
    """Per layer: how far I(X;T) fell from its peak by the last epoch (bits, >= 0), for
    (E, layers) or (seeds, E, layers) arrays."""
    return ixt.max(axis=-2) - ixt[..., -1, :]
