"""DWD's training targets (ISMIR 2018, digest section 3.2): per output pixel an energy level
(a quantised cone on every symbol centre), the class and the box size of the symbol whose cone
covers it; and random crops of pages with their targets (:class:`DWDCrops`) for training.

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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from dlwild.deepscores.annotations import Page, Symbol


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
    ``per_epoch``: an epoch of only this many crops, the epochs taking turns through the
    passes over all pages' crops (a pass draws its crops as an epoch would without it), so a
    run on many pages still has a learning curve and a checkpoint every ``per_epoch`` steps.
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
        per_epoch: int | None = None,
    ) -> None:
        if not items:
            raise ValueError("DWDCrops needs at least one (image, page) pair")
        if not 0.0 <= focus <= 1.0:
            raise ValueError(f"focus must lie in [0, 1], got {focus!r}")
        if crops_per_page < 1:
            raise ValueError(f"crops_per_page must be >= 1, got {crops_per_page!r}")
        if per_epoch is not None and per_epoch < 1:
            raise ValueError(f"per_epoch must be >= 1 (or None), got {per_epoch!r}")
        self.items = list(items)
        self.class_ids = dict(class_ids)
        self.crop = crop
        self.config = config
        self.crops_per_page = crops_per_page
        self.seed = seed
        self.focus = focus
        self.per_epoch = per_epoch
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

    @property
    def per_pass(self) -> int:
        """Crops in one pass over the pages: ``crops_per_page`` of each."""
        return len(self.items) * self.crops_per_page

    def __len__(self) -> int:
        return self.per_pass if self.per_epoch is None else min(self.per_epoch, self.per_pass)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(f"crop {index} of an epoch of {len(self)}")
        passes, index = divmod(self.epoch * len(self) + index, self.per_pass)
        image, page = self.items[index % len(self.items)]
        centres = self._centres[index % len(self.items)]
        rng = np.random.default_rng([self.seed, passes, index])
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
