"""The Deep Watershed Detector (Tuggener et al., ISMIR 2018): its network, in plain PyTorch.

DWD detects all symbols of a page in one pass of a fully convolutional net.  Per pixel it
predicts three maps (digest section 3.2): an *energy* map (a cone at every object centre,
quantised into ``E_max`` levels), a *class* map (the class of the nearest centre) and a *box*
map (that object's height and width).  The targets are in :mod:`.dwd_targets`, the losses and
the staged schedule in :mod:`.dwd_loss`, the decoding (cut the energy, label components) in
:mod:`.watershed`.  Training goes through :func:`dlwild.core.train.fit`:
``fit(net, DWDCrops(...), loss_fn=DWDLoss(schedule), optimizer=rmsprop, batch_size=1, ...)``.

Where the paper is silent: group norm instead of batch norm (batch size 1) and no
pre-training (the paper pre-trains on symbol classification and segmentation).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn


def norm_layer(channels: int) -> nn.GroupNorm:
    """GroupNorm (groups = gcd(8, channels)): batch size 1 training, as DWD's, makes batch
    norm statistics noisy and differ between train and eval mode; group norm has neither."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


class ResBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with norm, ReLU, and a (strided) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = norm_layer(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = norm_layer(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          norm_layer(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResidualConvUnit(nn.Module):
    """RefineNet's RCU: ``x + conv(relu(conv(relu(x))))``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class ChainedResidualPool(nn.Module):
    """RefineNet's chained residual pooling: context from repeated 5x5 max-pools + 3x3 convs,
    each stage added to the input."""

    def __init__(self, channels: int, stages: int = 2) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False) for _ in range(stages))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        path = x
        for conv in self.convs:
            path = conv(F.max_pool2d(path, 5, 1, 2))
            x = x + path
        return x


class RefineBlock(nn.Module):
    """One RefineNet-lite fusion step: adapt the skip feature (1x1 conv + RCU), upsample the
    coarser decoder feature to its size, sum, chained residual pooling, output RCU."""

    def __init__(self, skip_channels: int, channels: int, coarse_channels: int | None) -> None:
        super().__init__()
        self.adapt = nn.Conv2d(skip_channels, channels, 1)
        self.rcu_in = ResidualConvUnit(channels)
        self.coarse = (nn.Conv2d(coarse_channels, channels, 3, 1, 1)
                       if coarse_channels is not None else None)
        self.pool = ChainedResidualPool(channels)
        self.rcu_out = ResidualConvUnit(channels)

    def forward(self, skip: torch.Tensor, coarse: torch.Tensor | None) -> torch.Tensor:
        x = self.rcu_in(self.adapt(skip))
        if coarse is not None and self.coarse is not None:
            x = x + F.interpolate(self.coarse(coarse), size=x.shape[-2:], mode="bilinear",
                                  align_corners=False)
        return self.rcu_out(self.pool(x))


class DWDOutput(NamedTuple):
    """The three heads' raw outputs: ``energy`` (B, e_max, H, W) logits, ``cls``
    (B, n_classes + 1, H, W) logits (channel 0 = background), ``box`` (B, 2, H, W) predicted
    log (height, width) in output pixels."""

    energy: torch.Tensor
    cls: torch.Tensor
    box: torch.Tensor


class LossMemory(nn.Module):
    """Training state of the DWD loss kept as buffers of the net, so that :func:`fit`'s
    checkpoints carry it and a resumed run continues the schedule and the running means
    exactly: ``step`` (training iterations so far) and the last ``window`` values of
    loss_e, loss_c, loss_b (window 5 as in the authors' code)."""

    def __init__(self, n_losses: int = 3, window: int = 5) -> None:
        super().__init__()
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window!r}")
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        self.register_buffer("values", torch.zeros((n_losses, window)))
        self.register_buffer("count", torch.zeros(n_losses, dtype=torch.int64))

    @property
    def window(self) -> int:
        return int(self.values.shape[1])

    @torch.no_grad()
    def push(self, index: int, value: torch.Tensor) -> None:
        """Record a new value of loss ``index`` (a ring buffer of the last ``window``)."""
        slot = int(self.count[index]) % self.window
        self.values[index, slot] = value.detach().to(self.values.dtype)
        self.count[index] += 1

    def mean(self, index: int) -> torch.Tensor | None:
        """Running mean of loss ``index`` over its last ``window`` values (None if none yet)."""
        n = min(int(self.count[index]), self.window)
        return self.values[index, :n].mean() if n else None


class DWDNet(nn.Module):
    """A small RefineNet-like encoder-decoder FCN with the three DWD heads (1x1 convs).

    Input (B, 1, H, W) grey (ink = 1, see :func:`image_to_input`); outputs at the input's size
    (any H, W).  Encoder: a 3x3 stem and a residual block at full resolution, then ``levels``
    stages of ``blocks`` residual blocks, each halving the resolution (channels ``width``,
    2x, 4x, 8x, 8x ...).  Decoder: from the coarsest stage up, :class:`RefineBlock` fusions with
    the skip features down to full resolution, each with as many channels as its skip feature
    but at most ``decoder_width`` (default ``4 * width``), so the full-resolution work stays at
    ``width`` channels.  The heads read the full-resolution feature.  The paper used a
    pre-trained ResNet-101 + RefineNet; this is a from-scratch, small stand-in (no torchvision,
    no pre-training).  ``width=16`` (default) has about 1.5 M parameters (20 classes).
    """

    def __init__(
        self,
        n_classes: int,
        e_max: int = 10,
        *,
        width: int = 16,
        levels: int = 4,
        blocks: int = 1,
        decoder_width: int | None = None,
        loss_window: int = 5,
    ) -> None:
        super().__init__()
        if n_classes < 1 or e_max < 2 or width < 1 or levels < 1 or blocks < 1:
            raise ValueError("n_classes, width, levels, blocks must be >= 1 and e_max >= 2")
        self.n_classes = n_classes
        self.e_max = e_max
        dec = decoder_width or 4 * width
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), norm_layer(width),
                                  nn.ReLU(inplace=True), ResBlock(width, width))
        channels = [width]
        self.stages = nn.ModuleList()
        for level in range(levels):
            c_in, c_out = channels[-1], width * 2 ** min(level + 1, 3)
            layers = [ResBlock(c_in, c_out, stride=2)]
            layers += [ResBlock(c_out, c_out) for _ in range(blocks - 1)]
            self.stages.append(nn.Sequential(*layers))
            channels.append(c_out)
        widths = [min(c, dec) for c in channels]  # decoder channels per resolution
        self.refine = nn.ModuleList(
            RefineBlock(c, d, coarse)
            for c, d, coarse in zip(reversed(channels), reversed(widths),
                                    [None, *reversed(widths[1:])], strict=True))
        self.head_energy = nn.Conv2d(widths[0], e_max, 1)
        self.head_class = nn.Conv2d(widths[0], n_classes + 1, 1)
        self.head_box = nn.Conv2d(widths[0], 2, 1)
        self.loss_memory = LossMemory(window=loss_window)

    def forward(self, x: torch.Tensor) -> DWDOutput:
        features = [self.stem(x)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        y: torch.Tensor | None = None
        for block, skip in zip(self.refine, reversed(features), strict=True):
            y = block(skip, y)
        assert y is not None
        return DWDOutput(self.head_energy(y), self.head_class(y), self.head_box(y))
