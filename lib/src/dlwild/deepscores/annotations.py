"""The one data model of the DeepScores chapter: a page and its symbols.

Every part of :mod:`dlwild.deepscores` speaks it: the engraver writes it, the DeepScores v1
and V2 readers and writers convert it, the detector's targets, decoder and evaluation read
it. Coordinates are pixels of the page image, x to the right, y down, boxes
``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1`` (DeepScoresV2's ``a_bbox``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]


class AnnotationError(ValueError):
    """An annotation that cannot be right: names the file (or page) and the field."""


@dataclass(frozen=True)
class Symbol:
    """One annotated symbol: its DeepScores class name (SMuFL-based, e.g. ``noteheadBlack``),
    its axis-aligned box, its oriented box (4 corners, DeepScoresV2's ``o_bbox``; None when
    unknown) and its instance id on the page (1, 2, ...)."""

    cls: str
    bbox: Box
    instance: int
    obbox: tuple[float, ...] | None = None
    comments: str = ""

    @property
    def center(self) -> tuple[float, float]:
        """(x, y) of the box centre."""
        x0, y0, x1, y1 = self.bbox
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def size(self) -> tuple[float, float]:
        """(height, width) of the box in pixels (the DWD box map stores (h, w))."""
        x0, y0, x1, y1 = self.bbox
        return y1 - y0, x1 - x0


@dataclass
class Page:
    """One engraved page: an id, the piece it comes from (splits are by piece), the font, the
    image size and its symbols. The image itself lives beside it (a PNG path or an array)."""

    id: str
    width: int
    height: int
    symbols: list[Symbol] = field(default_factory=list)
    piece: str = ""
    font: str = ""
    source: str = ""

    def check(self, where: str = "") -> None:
        """Raise :class:`AnnotationError` for a box outside the page or an empty box."""
        where = where or self.id
        for s in self.symbols:
            x0, y0, x1, y1 = s.bbox
            if not (x0 < x1 and y0 < y1):
                raise AnnotationError(f"{where}: symbol {s.instance} ({s.cls}): empty box {s.bbox}")
            if x0 < 0 or y0 < 0 or x1 > self.width or y1 > self.height:
                raise AnnotationError(
                    f"{where}: symbol {s.instance} ({s.cls}): box {s.bbox} lies outside the "
                    f"{self.width} x {self.height} page")

    def classes(self) -> list[str]:
        """The class of every symbol, in order."""
        return [s.cls for s in self.symbols]


def class_counts(pages: Sequence[Page]) -> dict[str, int]:
    """Symbols per class over ``pages``, most frequent first."""
    counts: dict[str, int] = {}
    for page in pages:
        for s in page.symbols:
            counts[s.cls] = counts.get(s.cls, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
