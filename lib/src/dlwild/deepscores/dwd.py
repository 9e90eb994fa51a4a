"""The Deep Watershed Detector (Tuggener et al., ISMIR 2018) in plain PyTorch and numpy.

DWD detects all symbols of a page in one pass of a fully convolutional net.  Per pixel it
predicts three maps (digest section 3.2):

* an *energy* map: a cone of height ``E_max`` and radius ``r`` at every object centre,
  quantised into ``E_max`` levels and learnt as classification (``loss_e``, all pixels);
* a *class* map: the class of the nearest centre, learnt where the energy is > 0 (``loss_c``);
* a *box* map: the (height, width) of that object, learnt where the energy is > 0 (``loss_b``).

Detections are read off by cutting the predicted energy level map, labelling connected
components and summarising each component (centre = mean pixel, class = majority vote, size =
mean of the box map): :mod:`.watershed`.

This module holds, in that order: the targets (:func:`make_targets`, :class:`DWDCrops`),
the network (:class:`DWDNet`), and the losses and the staged schedule (:func:`dwd_losses`,
:class:`Schedule`, :class:`DWDLoss`, :func:`rmsprop`).  Training goes through
:func:`dlwild.core.train.fit`:
``fit(net, DWDCrops(...), loss_fn=DWDLoss(schedule), optimizer=rmsprop, batch_size=1, ...)``.

Choices where the paper is silent (each one is documented where it is made):

* ``E_max = 10`` levels (authors' code 20; the digest's quick scale 8-10).
* Marker radius ``r = max(min_radius, 0.8 * min(h, w) / 2)`` with ``min_radius = 4`` output px:
  a circular cone as in the paper's formula (Euclidean distance / r), scaled like the code's
  ellipse of 0.8 x the box but from the smaller side, so the marker stays inside the box
  across its thin direction; the floor gives tiny symbols (dots) a learnable marker.  The
  code's fixed 17 x 17 marker corresponds to ``r = 8.5``.
* Levels: pixel at distance ``d < r`` from the centre gets ``ceil((E_max - 1) * (1 - d / r))``
  in 1..E_max-1, else 0: the open interval ``(0, E_max]`` of cone heights is split into
  ``E_max - 1`` equal bins; level 0 is "no energy".
* Class/box map where markers overlap: the nearest centre among the objects whose marker
  covers the pixel (ties: the first symbol).
* Box regression on log sizes (the paper: MSE on pixel sizes) -- sizes span ~2-200 px, and on
  pixels the big symbols would dominate the loss.
* Training: RMSProp lr 1e-3 with "decay 0.995" read as RMSProp's squared-gradient discount
  (the authors' code passes it as TensorFlow's ``decay``); loss weights (2, 1, 1) and a running
  mean over the last 5 values (code); group norm instead of batch norm (batch size 1); no
  pre-training (the paper pre-trains on symbol classification and segmentation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .annotations import Page, Symbol

__all__ = [
    "DWDCrops",
    "DWDLoss",
    "DWDNet",
    "DWDOutput",
    "DWDTargets",
    "LossMemory",
    "STAGES",
    "Schedule",
    "TargetConfig",
    "class_box_sizes",
    "class_index",
    "dwd_losses",
    "image_to_input",
    "make_targets",
    "marker_radius",
    "rmsprop",
]

# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetConfig:
    """How objects become energy markers; shared by targets and decoding (which reads e_max).

    ``e_max``: number of energy levels (0 = background .. e_max - 1 = cone top; the net's
    energy head has e_max logits).  ``marker_scale`` and ``min_radius`` set the cone radius
    (see :func:`marker_radius`), in output pixels.
    """

    e_max: int = 10
    marker_scale: float = 0.8
    min_radius: float = 4.0

    def __post_init__(self) -> None:
        if not isinstance(self.e_max, int) or self.e_max < 2:
            raise ValueError(f"e_max must be an integer >= 2, got {self.e_max!r}")
        if not self.marker_scale > 0 or not self.min_radius > 0:
            raise ValueError(
                f"marker_scale and min_radius must be positive, got {self.marker_scale!r}, "
                f"{self.min_radius!r}")


def marker_radius(height: float, width: float, config: TargetConfig = TargetConfig()) -> float:
    """Cone radius of an object of box ``height`` x ``width`` (output px):
    ``max(min_radius, marker_scale * min(height, width) / 2)``."""
    return max(config.min_radius, config.marker_scale * min(height, width) / 2)


def class_index(classes: Sequence[str]) -> dict[str, int]:
    """Class name -> id of the class map: 1, 2, ... in the given order (0 is background)."""
    if len(set(classes)) != len(classes):
        raise ValueError("class names must be unique")
    return {name: i for i, name in enumerate(classes, start=1)}


@dataclass
class DWDTargets:
    """Training targets of one image (all maps are ``size`` = (H, W) of the net's output).

    ``energy``: int64 levels 0..e_max-1; ``cls``: int64 class ids (0 = background where the
    energy is 0); ``box``: float32 (2, H, W) box (height, width) in output pixels where the
    energy is > 0, else 0; ``symbols``: the objects that got a marker, in output coordinates.
    """

    energy: np.ndarray
    cls: np.ndarray
    box: np.ndarray
    symbols: list[Symbol] = field(default_factory=list)

    def as_tensors(self) -> dict[str, torch.Tensor]:
        """The maps as tensors under the batch keys :class:`DWDLoss` reads."""
        return {
            "energy": torch.from_numpy(self.energy),
            "cls": torch.from_numpy(self.cls),
            "box": torch.from_numpy(self.box),
        }


def _to_output(symbol: Symbol, scale: float, offset: tuple[float, float]) -> Symbol:
    """``symbol`` with its boxes mapped to output coordinates: ``page * scale - offset``."""
    ox, oy = offset
    x0, y0, x1, y1 = symbol.bbox
    bbox = (x0 * scale - ox, y0 * scale - oy, x1 * scale - ox, y1 * scale - oy)
    obbox = None
    if symbol.obbox is not None:
        obbox = tuple(v * scale - (ox if i % 2 == 0 else oy) for i, v in enumerate(symbol.obbox))
    return Symbol(symbol.cls, bbox, symbol.instance, obbox, symbol.comments)


def make_targets(
    symbols: Page | Sequence[Symbol],
    size: tuple[int, int],
    class_ids: Mapping[str, int],
    config: TargetConfig = TargetConfig(),
    *,
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> DWDTargets:
    """Energy, class and box targets of the objects in ``symbols`` for an output of ``size``.

    Page coordinates map to output pixels as ``page * scale - offset`` (``scale`` resizes, e.g.
    to an interline of 10 px or the original DWD's 0.5; ``offset`` = (x, y) of a crop's top-left
    corner in scaled coordinates).  Output pixel (i, j) has its centre at (j + 0.5, i + 0.5).

    Crops: an object gets a marker iff its centre lies inside the output; its marker is clipped
    at the border, and its box map keeps the full (unclipped) box size.  Objects whose centre
    is outside get no marker even if part of them is visible (consistently, evaluation on
    crops should count the same objects: ``DWDTargets.symbols``).  Symbols whose class is not in
    ``class_ids`` are ignored (as V2 switched staff and ledger lines off for DWD).
    """
    height, width = size
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (H, W), got {size!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    items = symbols.symbols if isinstance(symbols, Page) else symbols
    levels_top = config.e_max - 1
    energy = np.zeros((height, width), dtype=np.int64)
    nearest = np.full((height, width), np.inf)
    cls = np.zeros((height, width), dtype=np.int64)
    box = np.zeros((2, height, width), dtype=np.float32)
    kept: list[Symbol] = []
    for symbol in items:
        cid = class_ids.get(symbol.cls)
        if cid is None:
            continue
        out = _to_output(symbol, scale, offset)
        cx, cy = out.center
        if not (0 <= cx < width and 0 <= cy < height):
            continue
        kept.append(out)
        h, w = out.size
        r = marker_radius(h, w, config)
        i0, i1 = max(0, math.floor(cy - r)), min(height, math.ceil(cy + r) + 1)
        j0, j1 = max(0, math.floor(cx - r)), min(width, math.ceil(cx + r) + 1)
        ii = np.arange(i0, i1)[:, None] + 0.5
        jj = np.arange(j0, j1)[None, :] + 0.5
        d = np.hypot(ii - cy, jj - cx)
        inside = d < r
        level = np.where(inside, np.ceil(levels_top * (1.0 - d / r)), 0).astype(np.int64)
        window = (slice(i0, i1), slice(j0, j1))
        np.maximum(energy[window], level, out=energy[window])
        closer = inside & (d < nearest[window])
        nearest[window][closer] = d[closer]
        cls[window][closer] = cid
        box[0][window][closer] = h
        box[1][window][closer] = w
    return DWDTargets(energy, cls, box, kept)


def image_to_input(image: np.ndarray) -> torch.Tensor:
    """A grey page image (H, W; uint8 0..255 or float 0..1, white paper) as the net's input:
    float32 (1, H, W) with ink = 1 and paper = 0, so zero padding equals blank paper."""
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"expected a grey (H, W) image, got shape {array.shape}")
    grey = array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(
        np.float32)
    return torch.from_numpy(1.0 - grey)[None]


class DWDCrops(Dataset):
    """Random crops of pages with their DWD targets, as dicts of tensors for :func:`fit`.

    ``items``: (image, page) pairs, the grey image already at the working scale (e.g. the
    engraver's interline of 10 px) with the page's boxes in its pixels.  Each index gives one
    ``crop`` = (H, W) crop of page ``index % len(items)``; pages smaller than the crop are
    padded with blank paper.  The crop position is drawn from ``(seed, epoch, index)``, so an
    epoch is reproducible and :func:`fit` draws new crops each epoch via ``set_epoch``.
    Samples: ``image`` (1, H, W) float, ``energy`` and ``cls`` (H, W) int64, ``box`` (2, H, W).

    ``focus``: the share of crops placed around a symbol of a class drawn uniformly from the
    learnt classes on the page (then a symbol of it at random, the crop shifted by up to a
    quarter of its size) instead of uniformly on the page -- class-balanced crops in the
    spirit of WoRMS 2018's rare-symbol crops, so rare classes are seen in training at all.
    """

    def __init__(
        self,
        items: Sequence[tuple[np.ndarray, Page]],
        class_ids: Mapping[str, int],
        crop: tuple[int, int] = (256, 256),
        config: TargetConfig = TargetConfig(),
        *,
        crops_per_page: int = 1,
        seed: int = 0,
        focus: float = 0.0,
    ) -> None:
        if not items:
            raise ValueError("DWDCrops needs at least one (image, page) pair")
        if not 0.0 <= focus <= 1.0:
            raise ValueError(f"focus must lie in [0, 1], got {focus!r}")
        if crops_per_page < 1:
            raise ValueError(f"crops_per_page must be >= 1, got {crops_per_page!r}")
        self.items = list(items)
        self.class_ids = dict(class_ids)
        self.crop = crop
        self.config = config
        self.crops_per_page = crops_per_page
        self.seed = seed
        self.focus = focus
        self.epoch = 0
        # per page: class -> centres (x, y) of its symbols, for focused crops
        self._centres = []
        for _, page in self.items:
            by_class: dict[str, list[tuple[float, float]]] = {}
            for symbol in page.symbols:
                if symbol.cls in self.class_ids:
                    by_class.setdefault(symbol.cls, []).append(symbol.center)
            self._centres.append({c: by_class[c] for c in sorted(by_class)})

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crops (called by :func:`fit` before each epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items) * self.crops_per_page

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, page = self.items[index % len(self.items)]
        centres = self._centres[index % len(self.items)]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        ch, cw = self.crop
        h, w = image.shape[:2]
        if self.focus > 0 and centres and rng.random() < self.focus:
            points = list(centres.values())[int(rng.integers(len(centres)))]
            cx, cy = points[int(rng.integers(len(points)))]
            cx += rng.uniform(-cw / 4, cw / 4)
            cy += rng.uniform(-ch / 4, ch / 4)
            y0 = int(np.clip(round(cy - ch / 2), 0, max(h - ch, 0)))
            x0 = int(np.clip(round(cx - cw / 2), 0, max(w - cw, 0)))
        else:
            y0 = int(rng.integers(0, max(h - ch, 0) + 1))
            x0 = int(rng.integers(0, max(w - cw, 0) + 1))
        x = torch.zeros((1, ch, cw), dtype=torch.float32)
        part = image_to_input(image)[:, y0:y0 + ch, x0:x0 + cw]
        x[:, :part.shape[1], :part.shape[2]] = part
        targets = make_targets(page, (ch, cw), self.class_ids, self.config,
                               offset=(float(x0), float(y0)))
        return {"image": x, **targets.as_tensors()}


def class_box_sizes(
    pages: Iterable[Page | Sequence[Symbol]], scale: float = 1.0
) -> dict[str, tuple[float, float]]:
    """Cached per-class box size (WoRMS 2018's stop-gap for poor box regression): the median
    (height, width) of each class's boxes, times ``scale`` (output pixels)."""
    sizes: dict[str, list[tuple[float, float]]] = {}
    for page in pages:
        for s in page.symbols if isinstance(page, Page) else page:
            sizes.setdefault(s.cls, []).append(s.size)
    return {
        name: (float(np.median([v[0] for v in values])) * scale,
               float(np.median([v[1] for v in values])) * scale)
        for name, values in sizes.items()
    }


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Losses and schedule
# --------------------------------------------------------------------------------------------

STAGES = ("e", "c", "b", "tot")
_MIN_SIZE = 0.25  # px; box sizes are clamped here before the log (no -inf)


def dwd_losses(
    output: DWDOutput, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(loss_e, loss_c, loss_b) of a batch.

    loss_e: cross-entropy of the energy levels, mean over all pixels.  loss_c: cross-entropy of
    the class map, mean over pixels whose target energy is > 0.  loss_b: MSE between predicted
    and target log (height, width), mean over those pixels and both channels.  loss_c and
    loss_b are None when the batch has no pixel with energy > 0 (e.g. a blank crop).
    """
    energy, cls, box = batch["energy"], batch["cls"], batch["box"]
    loss_e = F.cross_entropy(output.energy, energy)
    mask = energy > 0
    if not bool(mask.any()):
        return loss_e, None, None
    class_logits = output.cls.permute(0, 2, 3, 1)[mask]
    loss_c = F.cross_entropy(class_logits, cls[mask])
    pred = output.box.permute(0, 2, 3, 1)[mask]
    target = torch.log(box.permute(0, 2, 3, 1)[mask].clamp_min(_MIN_SIZE))
    loss_b = F.mse_loss(pred, target)
    return loss_e, loss_c, loss_b


@dataclass(frozen=True)
class Schedule:
    """The staged training of DWD: which loss is optimised at each training iteration.

    ``Schedule([("e", n1), ("c", n2), ("b", n3), ("e", n4), ("tot", n5)])``: ``n1`` iterations on
    loss_e, then ``n2`` on loss_c, and so on (stage names in :data:`STAGES`; 0-length stages are
    allowed for ablations).  Iterations past the end stay in the last stage.
    """

    stages: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        stages = tuple((str(name), int(n)) for name, n in self.stages)
        if not stages:
            raise ValueError("a schedule needs at least one stage")
        for name, n in stages:
            if name not in STAGES:
                raise ValueError(f"unknown stage {name!r}; use one of {', '.join(STAGES)}")
            if n < 0:
                raise ValueError(f"stage {name!r} has a negative length {n}")
        object.__setattr__(self, "stages", stages)

    @classmethod
    def staged(
        cls, total: int, fractions: Sequence[float] = (0.3, 0.15, 0.15, 0.1, 0.3)
    ) -> Schedule:
        """The paper's order e, c, b, e, tot over ``total`` iterations split by ``fractions``
        (our split: the paper gives no iteration counts).  The last stage gets the rest."""
        if len(fractions) != 5 or any(f < 0 for f in fractions) or not sum(fractions) > 0:
            raise ValueError("fractions must be 5 non-negative numbers, not all zero")
        share = [f / sum(fractions) for f in fractions]
        counts = [math.floor(total * f) for f in share[:-1]]
        counts.append(total - sum(counts))
        return cls(tuple(zip(("e", "c", "b", "e", "tot"), counts, strict=True)))

    @property
    def total(self) -> int:
        """Iterations of all stages together."""
        return sum(n for _, n in self.stages)

    def stage(self, step: int) -> str:
        """The active loss at training iteration ``step`` (counted from 0)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        end = 0
        for name, n in self.stages:
            end += n
            if step < end:
                return name
        return self.stages[-1][0]


class DWDLoss:
    """``loss_fn(model, batch)`` for :func:`dlwild.core.train.fit`, following a :class:`Schedule`.

    In training mode each call is one iteration: it computes loss_e, loss_c and loss_b, records
    all three in the model's :class:`LossMemory` (running means; so they are warm when the
    ``tot`` stage begins), advances the step and returns the active stage's loss.  ``tot`` is
    ``sum w_i * loss_i / running_mean_i`` with ``weights`` (2, 1, 1) and window 5 as in the
    authors' code; the running mean includes the current value and is not differentiated.
    A loss that is undefined in a batch (no foreground pixel) is left out (zero, no gradient).

    In eval mode (fit's validation) nothing is recorded and the plain weighted sum
    ``w_e * loss_e + w_c * loss_c + w_b * loss_b`` is returned, so that val_loss is comparable
    across stages.  The last components are kept in ``self.last`` (detached tensors).

    A model without a ``loss_memory`` (not a :class:`DWDNet`) gets one held by this object: it
    works, but fit's checkpoints then do not carry the schedule position.
    """

    def __init__(
        self, schedule: Schedule, weights: tuple[float, float, float] = (2.0, 1.0, 1.0)
    ) -> None:
        self.schedule = schedule
        self.weights = tuple(float(w) for w in weights)
        self.last: dict[str, torch.Tensor] = {}
        self._memory: LossMemory | None = None

    def _memory_of(self, model: nn.Module) -> LossMemory:
        memory = getattr(model, "loss_memory", None)
        if isinstance(memory, LossMemory):
            return memory
        if self._memory is None:
            self._memory = LossMemory()
        return self._memory

    def __call__(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        output = model(batch["image"])
        losses = dwd_losses(output, batch)
        zero = output.energy.sum() * 0.0
        parts = [loss if loss is not None else zero for loss in losses]
        self.last = dict(zip(("loss_e", "loss_c", "loss_b"), (p.detach() for p in parts),
                             strict=True))
        if not model.training:
            return sum((w * p for w, p in zip(self.weights, parts, strict=True)), zero)
        memory = self._memory_of(model)
        stage = self.schedule.stage(int(memory.step))
        for index, loss in enumerate(losses):
            if loss is not None:
                memory.push(index, loss)
        memory.step += 1
        if stage != "tot":
            return parts["ecb".index(stage)]
        total = zero
        for index, (w, loss) in enumerate(zip(self.weights, losses, strict=True)):
            if loss is None:
                continue
            mean = memory.mean(index)
            total = total + w * loss / mean.clamp_min(1e-12)
        return total

    def metrics(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """loss_e, loss_c, loss_b of a batch (NaN when undefined): an ``evaluate`` for fit."""
        with torch.no_grad():
            losses = dwd_losses(model(batch["image"]), batch)
        return {name: float("nan") if loss is None else float(loss)
                for name, loss in zip(("loss_e", "loss_c", "loss_b"), losses, strict=True)}


def rmsprop(
    params: Iterable[nn.Parameter],
    lr: float = 1e-3,
    decay: float = 0.995,
    *,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    tf_init: bool = False,
) -> torch.optim.RMSprop:
    """The paper's optimiser: RMSProp, learning rate 1e-3, decay 0.995 (an ``optimizer``
    factory for fit; bind other values with a lambda).

    "decay" is RMSProp's discount of the squared-gradient average (TensorFlow's
    ``RMSPropOptimizer(decay=...)`` in the authors' code = PyTorch's ``alpha``), not a
    learning-rate decay.  TensorFlow 1 starts that average at 1, PyTorch at 0; ``tf_init=True``
    starts it at 1 (early steps are then ~lr * gradient, i.e. a long warm-up with decay 0.995);
    the default keeps PyTorch's start.  ``weight_decay`` adds L2 regularisation (WoRMS 2018).
    """
    optimizer = torch.optim.RMSprop(params, lr=lr, alpha=decay, eps=eps,
                                    weight_decay=weight_decay)
    if tf_init:
        for group in optimizer.param_groups:
            for p in group["params"]:
                optimizer.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32),
                    "square_avg": torch.ones_like(p, memory_format=torch.preserve_format),
                }
    return optimizer
