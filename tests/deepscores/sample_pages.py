"""A small annotated page with known boxes, shared by the tests of both DeepScores formats."""

from __future__ import annotations

import numpy as np
import pytest

from dlwild.deepscores.annotations import Page, Symbol

CLASSES = ["brace", "gClef", "noteheadBlack", "accidentalSharp", "slur"]
W, H = 240, 180


def make_page(page_id: str = "lg-123456-aug-emmentaler--page-2") -> tuple[Page, np.ndarray]:
    """A small page: dark rectangles as 'symbols' (non-integer boxes around them), one slanted
    bar with a known oriented box, and unannotated ink (a 'staff line')."""
    image = np.full((H, W), 255, dtype=np.uint8)
    image[20:60, 10:24] = 0          # gClef
    image[70:78, 50:61] = 10         # noteheadBlack
    image[90:110, 100:106] = 30      # accidentalSharp
    image[150, :] = 0                # staff line, not annotated (v1 has none)
    symbols = [
        Symbol("gClef", (9.6, 19.75, 24.4, 60.2), 1),
        Symbol("noteheadBlack", (49.5, 69.5, 61.25, 78.0), 2, comments="onset:0.5;"),
        Symbol("accidentalSharp", (99.8, 89.9, 106.1, 110.3), 7,
               obbox=(99.8, 89.9, 106.1, 89.9, 106.1, 110.3, 99.8, 110.3)),
        Symbol("slur", (120.0, 20.0, 200.5, 80.25), 3,
               obbox=(120.0, 70.0, 190.0, 20.0, 200.5, 30.0, 130.5, 80.25)),
    ]
    return Page(page_id, W, H, symbols), image


def assert_message(exc: pytest.ExceptionInfo, *parts: str) -> None:
    """The error names every part (file name, field, ...)."""
    for part in parts:
        assert part in str(exc.value), f"{part!r} not in {str(exc.value)!r}"
