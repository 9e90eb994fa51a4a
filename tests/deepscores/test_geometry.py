"""Oriented boxes, background shares and instance maps on shapes whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from dlwild.deepscores import geometry
from dlwild.deepscores.annotations import Page, Symbol


def test_encode_decode_instances_round_trip():
    ids = np.array([[0, 1, 255], [256, 65535, (1 << 24) - 1]])
    rgb = geometry.encode_instances(ids)
    assert rgb.dtype == np.uint8 and tuple(rgb[0, 1]) == (0, 0, 1)
    assert np.array_equal(geometry.decode_instances(rgb), ids)
    with pytest.raises(ValueError):
        geometry.encode_instances(np.array([1 << 24]))



def rotated_bar(length: float, width: float, degrees: float, centre=(100.0, 100.0),
                size=(200, 200)) -> tuple[np.ndarray, shapely.Polygon]:
    """A bar rasterised by pixel centres, and its exact polygon."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    half = np.array([[-length / 2, -width / 2], [length / 2, -width / 2],
                     [length / 2, width / 2], [-length / 2, width / 2]])
    corners = half @ np.array([[c, s], [-s, c]]) + np.asarray(centre)
    poly = shapely.Polygon(corners)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    mask = shapely.intersects_xy(poly, xx + 0.5, yy + 0.5)
    return mask, poly


def side_lengths(obbox) -> list[float]:
    pts = np.asarray(obbox).reshape(4, 2)
    return sorted(float(np.linalg.norm(pts[i] - pts[(i + 1) % 4])) for i in range(2))


def test_oriented_box_of_masks_and_points():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:10] = True
    box = geometry.oriented_box(mask)
    assert sorted(box[0::2]) == [3, 3, 10, 10] and sorted(box[1::2]) == [2, 2, 5, 5]
    shifted = geometry.oriented_box(mask, offset=(100, 50))
    assert np.allclose(np.asarray(shifted) - np.asarray(box), [100, 50] * 4)
    stem = np.zeros((20, 3), bool)
    stem[:, 1] = True
    assert side_lengths(geometry.oriented_box(stem)) == [1.0, 20.0]
    bar, poly = rotated_bar(100, 10, 45)
    lengths = side_lengths(geometry.oriented_box(bar))
    assert lengths[0] == pytest.approx(10, abs=1.5) and lengths[1] == pytest.approx(100, abs=1.5)
    pts = np.asarray(geometry.oriented_box(np.asarray(poly.exterior.coords)[:4])).reshape(4, 2)
    edge = pts[1] - pts[0]
    assert abs(math.degrees(math.atan2(edge[1], edge[0]))) % 90 == pytest.approx(45, abs=1e-6)
    assert len(geometry.oriented_box(np.array([[0.0, 0.0], [2.0, 2.0]]))) == 8
    with pytest.raises(ValueError):
        geometry.oriented_box(np.zeros((4, 4), bool))


def test_background_ratio_on_a_rotated_bar():
    # 100 x 10 bar at 45 degrees: the aligned box is a square of side 110 / sqrt 2, so the
    # background inside it is 1 - 1000 / 6050; the exact oriented box holds only the bar.
    mask, poly = rotated_bar(100, 10, 45)
    x0, y0, x1, y1 = poly.bounds
    obbox = tuple(np.asarray(poly.exterior.coords)[:4].ravel())
    page = np.where(mask, 0, 255).astype(np.uint8)
    aligned, oriented = geometry.background_ratio(page, (x0, y0, x1, y1), obbox)
    assert aligned == pytest.approx(1 - 1000 / 6050, abs=0.01)
    assert oriented == pytest.approx(0.0, abs=0.02)
    # the same with the symbol's own mask and the box taken from its pixels: the hull of the
    # pixel squares of a 45-degree staircase is about one pixel diagonal wider (~11.4 x 101.4),
    # so about 1 - 1000 / 1156 = 13.5 % background remains
    a2, o2 = geometry.background_ratio(mask, (x0, y0, x1, y1), geometry.oriented_box(mask))
    assert a2 == pytest.approx(aligned, abs=0.01)
    assert o2 == pytest.approx(1 - 1000 / (11.4 * 101.4), abs=0.03)
    # an axis-aligned bar fills both boxes
    flat, _ = rotated_bar(100, 10, 0)
    rows, cols = np.nonzero(flat)
    box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    assert geometry.background_ratio(flat, box, geometry.oriented_box(flat)) == (0.0, 0.0)


def test_ink_instances_smaller_box_wins():
    image = np.full((20, 20), 255, np.uint8)
    image[5:15, 5:15] = 0
    page = Page("p", 20, 20, [Symbol("slur", (0, 0, 20, 20), 1),
                              Symbol("noteheadBlack", (8, 8, 12, 12), 2)])
    inst = geometry.ink_instances(page, image)
    assert (inst[8:12, 8:12] == 2).all()
    assert int((inst == 1).sum()) == 100 - 16 and int((inst == 0).sum()) == 400 - 100
