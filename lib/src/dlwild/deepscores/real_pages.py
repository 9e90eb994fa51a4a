"""Pages at the detector's working scale: our engraved pages rescaled, and real DeepScores
pages a reader has (``eval_pages``), read in either format and brought to the same interline
(estimated from their staff lines) so that the detector trained here can be evaluated on
them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from skimage.transform import rescale

from dlwild.deepscores.annotations import AnnotationError, Page
from dlwild.deepscores.engrave import EngravedPage
from dlwild.deepscores.format_files import read_png
from dlwild.deepscores.format_v1 import read_v1_dataset
from dlwild.deepscores.format_v2 import read_v2
from dlwild.deepscores.settings import parse_eval_pages

#: A grey page image with its annotations in the image's pixels.
Item = tuple[np.ndarray, Page]

_V2_POSITION = re.compile(r"(OnLine|InSpace)$")


def scaled_pair(image: np.ndarray, page: Page, scale: float) -> Item:
    """A grey page image and its annotations at ``scale`` (anti-aliased; boxes scaled alike)."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if scale == 1:
        return image, page
    resized = rescale(image.astype(np.float32) / 255.0, scale, anti_aliasing=True)
    resized = np.clip(np.rint(resized * 255.0), 0, 255).astype(np.uint8)
    symbols = [replace(s, bbox=tuple(v * scale for v in s.bbox),
                       obbox=None if s.obbox is None else tuple(v * scale for v in s.obbox))
               for s in page.symbols]
    return resized, replace(page, width=resized.shape[1], height=resized.shape[0],
                            symbols=symbols)


def scaled(page: EngravedPage, scale: float) -> Item:
    """An engraved page's image and annotations at ``scale`` (see :func:`scaled_pair`)."""
    return scaled_pair(page.image, page.page, scale)


def estimate_interline(image: np.ndarray, threshold: int = 128) -> float:
    """The distance between staff lines (px) of a grey page, from its horizontal ink profile:
    rows inked over at least half the widest row's length are staff-line rows, runs of them
    are lines, and the median gap between neighbouring lines is the interline (four of a
    staff's five gaps are interlines; the larger gaps between staves are the minority)."""
    ink = np.asarray(image) < threshold
    if ink.ndim != 2:
        raise ValueError(f"expected a grey (H, W) image, got shape {ink.shape}")
    profile = ink.sum(axis=1)
    if profile.max() == 0:
        raise ValueError("the image has no ink, so no staff lines")
    rows = np.flatnonzero(profile >= 0.5 * profile.max())
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    centres = np.array([run.mean() for run in runs])
    if len(centres) < 5:
        raise ValueError(f"found {len(centres)} staff lines, need at least one staff of 5")
    return float(np.median(np.diff(centres)))


def at_working_scale(items: Sequence[Item], working_interline: float) -> list[Item]:
    """Pages of any resolution rescaled so that their interline (estimated from the staff
    lines, :func:`estimate_interline`) is ``working_interline`` px, the detector's."""
    return [scaled_pair(image, page, working_interline / estimate_interline(image))
            for image, page in items]


def v1_class(name: str) -> str:
    """A DeepScoresV2 class name in the v1 / SMuFL naming the detector learns: V2 splits
    noteheads by staff position (``noteheadBlackOnLine``, ``noteheadBlackInSpace``), v1 and
    SMuFL do not (``noteheadBlack``)."""
    return _V2_POSITION.sub("", name)


@dataclass(frozen=True)
class RealPages:
    """Real DeepScores pages a user has (``eval_pages``): format, path, and the pages with
    their grey images at the resolution of their annotations."""

    kind: str
    path: str
    items: list[Item]

    def record(self) -> dict[str, Any]:
        """The pages as a data set of the results record (``run.use_data`` takes it)."""
        return {"name": f"DeepScores ({self.kind})", "path": self.path,
                "pages": len(self.items),
                "note": "the user's local copy of DeepScores (not in the data registry)"}


def _grey(path: str | Path, page: Page, where: str) -> np.ndarray:
    """The page image at ``path`` as grey uint8, checked against the annotation's size."""
    image = read_png(path)
    if image.ndim == 3:
        image = (image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114])).astype(
            np.uint8)
    if image.shape[:2] != (page.height, page.width):
        raise AnnotationError(f"{where}: image {path} is {image.shape[1]} x {image.shape[0]} "
                              f"px, its annotation says {page.width} x {page.height}")
    return image


def load_eval_pages(spec: str, limit: int | None = None) -> RealPages:
    """Real DeepScores pages from ``"deepscores_v2:<file.json>"`` (the OBBAnns JSON with its
    ``images/`` folder; a folder holding one JSON also works) or ``"deepscores_v1:<root>"``
    (XML + PNG folders); V2 class names are mapped to v1's (:func:`v1_class`). ``limit``
    keeps the first pages."""
    kind, where = parse_eval_pages(spec)
    items = []
    if kind == "deepscores_v2":
        dataset = read_v2(where)
        for page in dataset.pages[:limit]:
            image_path = dataset.images.get(page.id)
            if image_path is None:
                raise AnnotationError(f"{where}: no image for page {page.id}")
            symbols = [replace(s, cls=v1_class(s.cls)) for s in page.symbols]
            items.append((_grey(image_path, page, str(where)), replace(page, symbols=symbols)))
    else:
        for page in read_v1_dataset(where)[:limit]:
            items.append((_grey(page.source, page, str(where)), page))
    if not items:
        raise AnnotationError(f"{where}: no annotated page found")
    return RealPages(kind.removeprefix("deepscores_"), str(where), items)
