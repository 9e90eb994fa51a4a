"""The L2C network (paper §3.2, Fig. 3 and 4; digest §3.2).

Per item an embedding network (none for 2-D points; a 3-block CNN for spectrograms and
images), an FC layer (288 units, LeakyReLU 0.3), m residual bidirectional LSTM layers (the
two directions' outputs concatenated and added to the layer's input), then

* the cluster-assignment net: per k = 1..k_max a softmax over k clusters for every item,
  ``P(l | x_i, k)``;
* the cluster-count net: a BiLSTM (``count_units`` per direction) on the second-to-last
  RBDLSTM layer's output, its first and last output vectors concatenated, an FC layer of
  twice ``count_units`` with LeakyReLU and a softmax over k = 1..k_max, ``P(k)``.

The optional metric-learning block (§3.3 of the paper) sits after the FC layer: it gives
each item its squared distances ``d2_A(x_i, x_j) = (x_i - x_j)^T A (x_i - x_j)`` to all
items, which the recurrent layers read beside the item's own vector. ``euclidean`` fixes
A = I, ``mahalanobis`` trains a diagonal A >= 0, ``full`` trains A and projects it onto the
positive semidefinite cone after every step (:meth:`L2C.project_metric`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["METRICS", "EmbeddingCNN", "L2C", "Output", "RBDLSTM"]

SLOPE = 0.3  # LeakyReLU alpha (the paper)
METRICS = (None, "euclidean", "mahalanobis", "full")


class EmbeddingCNN(nn.Module):
    """3 x [conv 3x3 -> LeakyReLU -> BN -> max-pool 2x2] with 32/64/128 filters (times
    ``scale``), then dense 256 -> LeakyReLU -> BN, twice (the authors' code, digest §3.2a).
    Input ``[B, H, W]`` (one channel) or ``[B, C, H, W]``."""

    def __init__(self, input_shape: Sequence[int], scale: float = 1.0) -> None:
        super().__init__()
        shape = tuple(input_shape)
        channels = 1 if len(shape) == 2 else shape[0]
        height, width = shape[-2:]
        if min(height, width) < 8:
            raise ValueError(f"the CNN needs inputs of at least 8 x 8, got {shape}")
        filters = [max(4, round(f * scale)) for f in (32, 64, 128)]
        dense = max(16, round(256 * scale))
        layers: list[nn.Module] = []
        for f in filters:
            layers += [nn.Conv2d(channels, f, 3, padding=1), nn.LeakyReLU(SLOPE),
                       nn.BatchNorm2d(f), nn.MaxPool2d(2)]
            channels = f
        self.features = nn.Sequential(*layers)
        flat = channels * (height // 8) * (width // 8)
        self.head = nn.Sequential(nn.Linear(flat, dense), nn.LeakyReLU(SLOPE),
                                  nn.BatchNorm1d(dense), nn.Linear(dense, dense),
                                  nn.LeakyReLU(SLOPE), nn.BatchNorm1d(dense))
        self.out_features = dense
        self.channels_first = len(shape) == 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.channels_first:
            x = x.unsqueeze(1)
        return self.head(self.features(x).flatten(1))


class RBDLSTM(nn.Module):
    """A residual bidirectional LSTM layer: ``x + [forward(x), backward(x)]`` (Fig. 4)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        if width % 2:
            raise ValueError(f"an RBDLSTM needs an even width, got {width}")
        self.lstm = nn.LSTM(width, width // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.lstm(x)[0]


@dataclass
class Output:
    """What L2C gives for a batch of sets: ``log_pk [B, k_max]`` (log P(k)) and
    ``log_assign[k - 1] [B, n, k]`` (log P(l | x_i, k))."""

    log_pk: torch.Tensor
    log_assign: list[torch.Tensor]


class L2C(nn.Module):
    """The learning-to-cluster network for items of ``input_shape`` (``(2,)`` for points,
    ``(H, W)`` for spectrograms and grey images). 2-D point sets are rescaled per set into
    [0.25, 0.75]^2 (as the generator makes them) before anything else."""

    def __init__(self, input_shape: Sequence[int], *, k_max: int = 5, m: int = 14,
                 width: int = 288, count_units: int = 128, cnn_scale: float = 1.0,
                 metric: str | None = None, max_n: int = 1000) -> None:
        super().__init__()
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        if m < 1 or k_max < 1:
            raise ValueError(f"L2C needs m >= 1 and k_max >= 1, got m={m}, k_max={k_max}")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.k_max, self.m, self.max_n, self.metric = k_max, m, max_n, metric
        self.is_points = self.input_shape == (2,)
        if self.is_points:
            self.embed: nn.Module = nn.Identity()
            embedded = 2
        elif len(self.input_shape) in (2, 3):
            self.embed = EmbeddingCNN(self.input_shape, cnn_scale)
            embedded = self.embed.out_features
        else:
            raise ValueError(f"items must be 2-D points (2,) or images (H, W) / (C, H, W), "
                             f"got input_shape {self.input_shape}")
        self.fc = nn.Sequential(nn.Linear(embedded, width), nn.LeakyReLU(SLOPE))
        if metric is not None:
            self.metric_a = nn.Parameter(torch.ones(width) if metric != "full"
                                         else torch.eye(width),
                                         requires_grad=metric != "euclidean")
            self.metric_in = nn.Sequential(nn.Linear(width + max_n, width), nn.LeakyReLU(SLOPE))
        self.layers = nn.ModuleList(RBDLSTM(width) for _ in range(m))
        self.assign = nn.Linear(width, k_max * (k_max + 1) // 2)
        self.count_lstm = nn.LSTM(width, count_units, batch_first=True, bidirectional=True)
        self.count_head = nn.Sequential(nn.Linear(4 * count_units, 2 * count_units),
                                        nn.LeakyReLU(SLOPE), nn.Linear(2 * count_units, k_max))

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        """Squared distances ``d2_A`` between the items of each set ``z [B, n, w]``."""
        diff = z.unsqueeze(2) - z.unsqueeze(1)
        if self.metric == "full":
            return torch.einsum("bijd,de,bije->bij", diff, self.metric_a, diff)
        return (diff.pow(2) * self.metric_a).sum(-1)

    @torch.no_grad()
    def project_metric(self) -> None:
        """Keep A positive semidefinite (the paper's projection after every step): clip a
        diagonal at 0, or zero a full A's negative eigenvalues."""
        if self.metric == "mahalanobis":
            self.metric_a.clamp_(min=0)
        elif self.metric == "full":
            sym = (self.metric_a + self.metric_a.T) / 2
            values, vectors = torch.linalg.eigh(sym)
            self.metric_a.copy_(vectors @ torch.diag(values.clamp(min=0)) @ vectors.T)

    def forward(self, x: torch.Tensor) -> Output:
        batch, n = x.shape[:2]
        if self.is_points:
            low = x.amin(dim=1, keepdim=True)
            span = (x.amax(dim=1, keepdim=True) - low).amax(dim=2, keepdim=True)
            x = 0.25 + 0.5 * (x - low) / span.clamp(min=1e-9)
        z = self.embed(x.reshape(batch * n, *self.input_shape)).reshape(batch, n, -1)
        h = self.fc(z)
        if self.metric is not None:
            d = F.pad(self.distances(h), (0, self.max_n - n))
            h = self.metric_in(torch.cat([h, d], dim=-1))
        before_last = h
        for i, layer in enumerate(self.layers):
            if i == len(self.layers) - 1:
                before_last = h
            h = layer(h)
        logits = self.assign(h)
        log_assign, start = [], 0
        for k in range(1, self.k_max + 1):
            log_assign.append(F.log_softmax(logits[..., start:start + k], dim=-1))
            start += k
        c = self.count_lstm(before_last)[0]
        log_pk = F.log_softmax(self.count_head(torch.cat([c[:, 0], c[:, -1]], dim=-1)), dim=-1)
        return Output(log_pk, log_assign)

    def describe(self) -> dict[str, object]:
        """The network's shape, for tables."""
        return {"input": self.input_shape, "m": self.m, "k_max": self.k_max,
                "metric": self.metric or "none",
                "parameters": sum(p.numel() for p in self.parameters())}
