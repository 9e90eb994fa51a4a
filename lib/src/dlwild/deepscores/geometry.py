"""Geometry of DeepScores annotations on the page's pixels: oriented boxes (DeepScoresV2's
minimum-area rectangles), the background share inside a box (V2's Table II) and instance maps
(which pixels belong to which symbol), shared by the engraver and both file formats."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely

from dlwild.deepscores.annotations import AnnotationError, Box, Page

INK_THRESHOLD = 128
"""Grey values below this are ink (foreground), as in DeepScoresV2's background measure."""


def oriented_box(mask_or_points: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)
                 ) -> tuple[float, ...]:
    """The minimum-area rectangle (DeepScoresV2's ``o_bbox``: 8 floats x0, y0, ..., x3, y3).

    A boolean 2-D mask is taken as pixel squares (pixel (row r, col c) covers [c, c+1] x
    [r, r+1], shifted by ``offset`` = (x, y) of the mask's corner), so a 1-px stem gets width 1;
    a numeric (N, 2) array is taken as (x, y) points. Computed with Shapely, as DeepScoresV2
    did; corner order is Shapely's. Collinear points give a rectangle of width 0."""
    arr = np.asarray(mask_or_points)
    if arr.dtype == bool and arr.ndim == 2:
        points = mask_points(arr, offset)
    elif arr.ndim == 2 and arr.shape[1] == 2 and np.issubdtype(arr.dtype, np.number):
        points = arr.astype(float) + np.asarray(offset, dtype=float)
    else:
        raise ValueError("oriented_box: expected a boolean mask (H, W) or numeric (N, 2) points, "
                         f"got {arr.dtype} {arr.shape}")
    return oriented_boxes([points])[0]


def oriented_boxes(point_sets: Sequence[np.ndarray]) -> list[tuple[float, ...]]:
    """:func:`oriented_box` of each (N, 2) float point set, Shapely running over all of them at
    once (a page's symbols: one call instead of one per symbol)."""
    for points in point_sets:
        if points.shape[0] == 0 or not np.isfinite(points).all():
            raise ValueError("oriented_box: no (finite) points; is the mask empty?")
    if not point_sets:
        return []
    counts = [len(points) for points in point_sets]
    groups = shapely.multipoints(np.concatenate(point_sets),
                                 indices=np.repeat(np.arange(len(counts)), counts))
    return [_corners(rect) for rect in shapely.minimum_rotated_rectangle(groups)]


def _corners(rect: shapely.Geometry) -> tuple[float, ...]:
    """The 8 corner coordinates of Shapely's minimum rotated rectangle (a segment or a point
    for collinear or single points: its ends repeated)."""
    if rect.geom_type == "Polygon":
        coords = list(rect.exterior.coords)[:4]
    elif rect.geom_type == "LineString":
        a, b = rect.coords[0], rect.coords[-1]
        coords = [a, b, b, a]
    else:
        coords = [rect.coords[0]] * 4
    return tuple(float(v) for xy in coords for v in xy)


def mask_points(mask: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The points :func:`oriented_box` takes for a non-empty boolean mask: corners of its pixel
    squares, shifted by ``offset``, distinct and sorted by x then y (as ``np.unique`` sorts
    rows); only the corners that can be hull vertices."""
    corners = _outer_corners(mask)
    span = int(corners[:, 1].max()) + 1 if len(corners) else 1
    keys = np.unique(corners[:, 0] * span + corners[:, 1])  # corners are >= 0
    unique = np.stack([keys // span, keys % span], axis=1)
    return unique.astype(float) + np.asarray(offset, dtype=float)


def _outer_corners(mask: np.ndarray) -> np.ndarray:
    """(N, 2) integer (x, y) corners of each row's first and last pixel square: every vertex of
    the hull of all the mask's pixel squares is one of them (any other corner lies on a row's
    segment between two of them), so the hull, and the rectangle, are the same at a fraction
    of the points."""
    rows = np.flatnonzero(mask.any(axis=1))
    band = mask[rows]
    left = band.argmax(axis=1)
    right = mask.shape[1] - band[:, ::-1].argmax(axis=1)  # one past the last pixel
    xs = np.concatenate([left, left, right, right])
    ys = np.concatenate([rows, rows + 1, rows, rows + 1])
    return np.stack([xs, ys], axis=1)


def _pixel_span(lo: float, hi: float, limit: int) -> slice:
    """Pixels whose centres (i + 0.5) lie in [lo, hi], clipped to 0..limit."""
    start = max(0, math.ceil(lo - 0.5))
    stop = min(limit, math.floor(hi - 0.5) + 1)
    return slice(start, max(start, stop))


def _grey(image: np.ndarray) -> np.ndarray:
    """A 2-D grey view of an image array (RGB or RGBA averaged over colour channels)."""
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2)
    if arr.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {arr.shape}")
    return arr


def _ink(image: np.ndarray, threshold: int) -> np.ndarray:
    """True where a pixel is foreground: a boolean mask as given, else grey < threshold."""
    arr = np.asarray(image)
    if arr.dtype == bool and arr.ndim == 2:
        return arr
    return _grey(arr) < threshold


def background_ratio(image: np.ndarray, bbox: Box, obbox: Sequence[float],
                     threshold: int = INK_THRESHOLD) -> tuple[float, float]:
    """Fraction of background pixels inside the aligned box and inside the oriented box.

    DeepScoresV2 Table II compares the two. ``image`` is a grey/RGB page (background = grey
    >= ``threshold``) or a boolean mask of the symbol itself (background = False, which counts
    other symbols' ink as background too). A pixel is inside when its centre is."""
    ink = _ink(image, threshold)
    height, width = ink.shape
    x0, y0, x1, y1 = bbox
    aligned = ink[_pixel_span(y0, y1, height), _pixel_span(x0, x1, width)]
    if aligned.size == 0:
        raise ValueError(f"background_ratio: box {bbox} covers no pixel centre")
    poly = shapely.Polygon(np.asarray(obbox, dtype=float).reshape(4, 2))
    bx0, by0, bx1, by1 = poly.bounds
    rows, cols = _pixel_span(by0, by1, height), _pixel_span(bx0, bx1, width)
    yy, xx = np.mgrid[rows, cols]
    inside = shapely.intersects_xy(poly, xx + 0.5, yy + 0.5)
    if not inside.any():
        raise ValueError(f"background_ratio: oriented box {tuple(obbox)} covers no pixel centre")
    oriented = ink[rows, cols][inside]
    return 1.0 - float(aligned.mean()), 1.0 - float(oriented.mean())


def ink_instances(page: Page, image: np.ndarray, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """Instance id per pixel (int32, 0 = none): the dark pixels whose centres lie in a symbol's
    box. Where boxes overlap the smaller box wins, so a notehead inside a slur's box keeps its
    own pixels. Unannotated ink (v1 has no stems or staff lines) stays 0."""
    ink = _ink(image, threshold)
    if ink.shape != (page.height, page.width):
        raise AnnotationError(f"{page.id}: image is {ink.shape[1]} x {ink.shape[0]} px but the "
                              f"page is {page.width} x {page.height}")
    out = np.zeros(ink.shape, dtype=np.int32)
    by_area = sorted(page.symbols, key=lambda s: -(s.size[0] * s.size[1]))
    for s in by_area:
        rows = _pixel_span(s.bbox[1], s.bbox[3], page.height)
        cols = _pixel_span(s.bbox[0], s.bbox[2], page.width)
        region = out[rows, cols]
        region[ink[rows, cols]] = s.instance
    return out


def encode_instances(instances: np.ndarray) -> np.ndarray:
    """Instance ids (H, W) -> RGB (H, W, 3) uint8, id = 0xRRGGBB (instance 1 = #000001)."""
    ids = np.asarray(instances).astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError("instance ids must lie in 0 .. 2**24 - 1")
    return np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)


def decode_instances(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) -> instance ids (H, W) int32; the inverse of :func:`encode_instances`."""
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"expected an RGB array, got shape {arr.shape}")
    arr = arr[..., :3].astype(np.int32)
    return (arr[..., 0] << 16) | (arr[..., 1] << 8) | arr[..., 2]
