"""SVG to pixels with cairosvg, quicker on Verovio's pages: the same cairo calls, fewer Python
steps per path.

cairosvg walks its node tree in Python; for the plain ``<path>`` leaves that make most of a
page (glyph outlines, stems, staff lines) :class:`_QuickSurface` issues exactly the calls that
cairosvg's own ``Surface.draw`` would (same transform, same path segments, same fill and
stroke), and replays a path's segments from a cache when its ``d`` repeats (the same glyph
outline drawn many times). Anything else (text, groups, shapes, clips, markers, gradients,
opacity groups) goes to cairosvg's ``draw``. ``quick=False`` renders with plain cairosvg; the
tests check that both give the same bytes.

:func:`render_fills` goes further for an SVG that is only solid shapes with aliasing off (the
instance masks): it makes cairosvg's calls for each shape straight from a list, with no SVG to
write, parse and walk.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

_FALLBACK_ATTRIBUTES = frozenset((
    "font", "mask", "filter", "clip", "clip-path", "marker", "marker-start", "marker-mid",
    "marker-end", "transform-origin", "stroke-dasharray",
))
"""Attributes whose handling the quick path leaves to cairosvg's own ``draw``."""


class _Recorder:
    """Stands in for a cairo context while cairosvg parses a path's ``d``: notes each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    def has_current_point(self) -> bool:
        return True

    def get_current_point(self) -> tuple[float, float]:
        return (0.0, 0.0)

    def __getattr__(self, name: str):
        def record(*args):
            self.calls.append((name, args))
        return record


class _ParseSurface:
    """The surface cairosvg's ``path`` parser sees while recording: a context, nothing else (a
    length that needs the viewport or font size raises AttributeError: not cached)."""

    def __init__(self) -> None:
        self.context = _Recorder()


class _PathNode(dict):
    """A bare node holding only ``d``, as cairosvg's ``path`` reads it."""

    vertices = None


@functools.lru_cache(maxsize=8192)
def _path_calls(d: str) -> tuple[tuple[str, tuple], ...] | None:
    """The cairo calls cairosvg's ``path`` makes for ``d`` (None when they depend on more than
    ``d``). A ``d`` starting with an absolute moveto does not depend on the current point."""
    from cairosvg.helpers import PointError
    from cairosvg.path import path

    if not d.lstrip().startswith("M"):
        return None
    surface = _ParseSurface()
    try:
        path(surface, _PathNode(d=d))
    except PointError:
        pass  # cairosvg keeps the segments read so far, and so do we
    except AttributeError:
        return None
    return tuple(surface.context.calls)


@functools.lru_cache(maxsize=8192)
def _native_calls(d: str) -> tuple[tuple[object, tuple], ...] | None:
    """:func:`_path_calls` as cairo's own C functions (cairocffi's methods for these segments
    call them and then check the status; :func:`_replay` checks once)."""
    calls = _path_calls(d)
    if calls is None:
        return None
    from cairocffi import cairo as lib

    return tuple((getattr(lib, f"cairo_{name}"), args) for name, args in calls)


def _replay(context, calls: tuple[tuple[object, tuple], ...]) -> None:
    """Make the calls of :func:`_native_calls` on a cairocffi ``context``: the same C calls
    as its methods, with the status checked after the last instead of after each (a cairo
    error is sticky: a context in error ignores later calls and keeps the first error)."""
    pointer = context._pointer
    for function, args in calls:
        function(pointer, *args)
    context._check_status()


def _quick_surface_class():
    """:class:`cairosvg.surface.PNGSurface` with a quick ``draw`` for plain path leaves (made
    on first use: cairosvg is imported lazily)."""
    import cairocffi as cairo
    from cairocffi import cairo as lib
    from cairosvg.helpers import PointError, paint, size, transform
    from cairosvg.path import path
    from cairosvg.surface import SHAPE_ANTIALIAS, PNGSurface

    class QuickSurface(PNGSurface):
        """PNGSurface drawing plain ``<path>`` leaves with cairosvg's calls, minus its detours
        (among them cairocffi's status check after each call: see :func:`_replay`)."""

        def __init__(self, *args, **kwargs) -> None:
            self._paints: dict[tuple[str, str | None], bool] = {}
            self._colours: dict[tuple[str | None, float], tuple[float, ...]] = {}
            self._sizes: dict[str, float] = {}
            super().__init__(*args, **kwargs)  # draws the tree

        def draw(self, node) -> None:
            if not self._plain_path(node):
                super().draw(node)
                return
            if (("width" in node and size(self, node["width"]) == 0)
                    or ("height" in node and size(self, node["height"]) == 0)):
                return
            old_parent, old_font_size = self.parent_node, self.font_size
            self.parent_node = node
            self.font_size = self._font_size(node.get("font-size", "12pt"))
            # cairocffi's methods for these calls are the C call and a status check; the
            # status is checked once at the end (see _replay)
            context = self.context
            cr = context._pointer
            lib.cairo_save(cr)
            transform(self, node.get("transform"))
            opacity = float(node.get("opacity", 1))
            lib.cairo_move_to(cr, size(self, node.get("x"), "x"), size(self, node.get("y"), "y"))
            line_cap = node.get("stroke-linecap")
            if line_cap == "square":
                lib.cairo_set_line_cap(cr, cairo.LINE_CAP_SQUARE)
            if line_cap == "round":
                lib.cairo_set_line_cap(cr, cairo.LINE_CAP_ROUND)
            join = node.get("stroke-linejoin")
            if join == "round":
                lib.cairo_set_line_join(cr, cairo.LINE_JOIN_ROUND)
            if join == "bevel":
                lib.cairo_set_line_join(cr, cairo.LINE_JOIN_BEVEL)
            lib.cairo_set_miter_limit(cr, float(node.get("stroke-miterlimit", 4)))
            self._segments(node)
            stroke_opacity = float(node.get("stroke-opacity", 1))
            fill_opacity = float(node.get("fill-opacity", 1))
            if opacity < 1:
                stroke_opacity *= opacity
                fill_opacity *= opacity
            visible = (node.get("display", "inline") != "none"
                       and node.get("visibility", "visible") != "hidden")
            lib.cairo_set_antialias(cr, SHAPE_ANTIALIAS.get(node.get("shape-rendering"),
                                                            cairo.ANTIALIAS_DEFAULT))
            if visible:
                lib.cairo_save(cr)
                if node.get("fill-rule") == "evenodd":
                    lib.cairo_set_fill_rule(cr, cairo.FILL_RULE_EVEN_ODD)
                lib.cairo_set_source_rgba(cr, *self._rgba(node.get("fill", "black"),
                                                          fill_opacity))
                lib.cairo_fill_preserve(cr)
                lib.cairo_restore(cr)
                lib.cairo_save(cr)
                lib.cairo_set_line_width(cr, size(self, node.get("stroke-width", "1")))
                lib.cairo_set_source_rgba(cr, *self._rgba(node.get("stroke"), stroke_opacity))
                lib.cairo_stroke(cr)
                lib.cairo_restore(cr)
            else:
                lib.cairo_new_path(cr)
            lib.cairo_restore(cr)
            context._check_status()
            self.parent_node, self.font_size = old_parent, old_font_size

        def _plain_path(self, node) -> bool:
            """True for a childless ``<path>`` the quick draw covers (see the module doc)."""
            if node.tag != "path" or node.children or not self.stroke_and_fill:
                return False
            if not _FALLBACK_ATTRIBUTES.isdisjoint(node):
                return False
            return self._plain_paint(node.get("fill", "black"), node.get("stroke"))

        def _plain_paint(self, fill: str, stroke: str | None) -> bool:
            """True when neither paint refers to a gradient or pattern (cached per pair)."""
            key = (fill, stroke)
            if key not in self._paints:
                self._paints[key] = paint(fill)[0] is None and paint(stroke)[0] is None
            return self._paints[key]

        def _rgba(self, value: str | None, opacity: float) -> tuple[float, ...]:
            """cairosvg's colour of a plain paint at ``opacity`` (cached: a pure function)."""
            key = (value, opacity)
            if key not in self._colours:
                self._colours[key] = tuple(self.map_color(paint(value)[1], opacity))
            return self._colours[key]

        def _font_size(self, value: str) -> float:
            """cairosvg's size of a font-size; cached unless it depends on the viewport or the
            current font (%, em, ex, ch)."""
            if any(unit in value for unit in ("%", "em", "ex", "ch")):
                return size(self, value)
            if value not in self._sizes:
                self._sizes[value] = size(self, value)
            return self._sizes[value]

        def _segments(self, node) -> None:
            """The path's segments on the context: replayed from the cache (the status is
            checked by ``draw``), or drawn by cairosvg's ``path`` when its calls depend on
            more than ``d``."""
            calls = _native_calls(node.get("d", ""))
            if calls is None:
                try:
                    path(self, node)
                except PointError:
                    pass
                return
            pointer = self.context._pointer
            for function, args in calls:
                function(pointer, *args)

    return QuickSurface


@functools.cache
def _surface_class(quick: bool):
    """The cairosvg surface class to render with."""
    if quick:
        return _quick_surface_class()
    from cairosvg.surface import PNGSurface

    return PNGSurface


def render_argb(svg: str, background: str, *, quick: bool = True) -> np.ndarray:
    """(H, W) uint32 raster of an SVG at its own pixel size, one 0xAARRGGBB word a pixel
    (cairo's ARGB32, no PNG round trip); ``quick=False``: plain cairosvg, the reference."""
    from cairosvg.parser import Tree

    surface = _surface_class(quick)(Tree(bytestring=svg.encode("utf-8")), None, 96,
                                    background_color=background)
    argb = _words(surface.cairo)
    surface.finish()
    return argb


def _words(cairo_surface) -> np.ndarray:
    """A flushed copy of an ARGB32 cairo image surface's pixels as (H, W) uint32 words."""
    cairo_surface.flush()
    height, width = cairo_surface.get_height(), cairo_surface.get_width()
    words = np.frombuffer(cairo_surface.get_data(), dtype=np.uint32)
    return words.reshape(height, cairo_surface.get_stride() // 4)[:, :width].copy()


def render_rgb(svg: str, background: str, *, quick: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 RGB raster of an SVG at its own pixel size; ``quick=False``: plain
    cairosvg, the reference."""
    argb = render_argb(svg, background, quick=quick)
    return np.stack([(argb >> shift).astype(np.uint8) for shift in (16, 8, 0)], axis=-1)


@dataclass(frozen=True)
class Fill:
    """A solid shape for :func:`render_fills`: the path ``d`` or the ellipse ``(cx, cy, rx,
    ry)`` (SVG attribute values) under the SVG ``transform``, filled with ``colour``."""

    transform: str
    colour: str
    d: str | None = None
    ellipse: tuple[str, str, str, str] | None = None

    def __post_init__(self) -> None:
        if (self.d is None) == (self.ellipse is None):
            raise ValueError("a Fill is either a path (d) or an ellipse, not both or neither")


class _Context:
    """What cairosvg's ``transform`` and ``ellipse`` read of a surface: its cairo context (the
    values they size here are plain numbers, which need nothing else)."""

    def __init__(self, context) -> None:
        self.context = context


def can_fill(d: str) -> bool:
    """Whether :func:`render_fills` can draw the path ``d`` (its segments do not depend on
    more than ``d``; see :func:`_path_calls`)."""
    return _path_calls(d) is not None


def render_fills(width: int, height: int, fills: list[Fill], background: str) -> np.ndarray:
    """(H, W) uint32 raster, as :func:`render_argb` gives for ``<svg width="{width}px"
    height="{height}px" shape-rendering="crispEdges">`` holding one ``<path>`` or
    ``<ellipse>`` per fill (its ``transform``, ``fill`` and ``stroke="none"``), in order: the
    same cairo calls (cairosvg's ``transform`` and ``ellipse``, the path's recorded
    segments) without writing, parsing and walking that SVG. The stroke of ``none`` is left
    out (cairo draws nothing for a clear source over). Tests check the same bytes as
    :func:`render_argb` on engraved pages."""
    import cairocffi as cairo
    from cairosvg.colors import color
    from cairosvg.helpers import transform
    from cairosvg.shapes import ellipse

    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, int(width), int(height))
    context = cairo.Context(surface)
    context.rectangle(0, 0, int(width), int(height))  # cairosvg clips to the viewport
    context.clip()
    context.set_source_rgba(*color(background))
    context.paint()
    context.set_antialias(cairo.ANTIALIAS_NONE)
    holder = _Context(context)
    for fill in fills:
        context.save()
        transform(holder, fill.transform)
        context.move_to(0, 0)
        if fill.d is not None:
            calls = _native_calls(fill.d)
            if calls is None:
                raise ValueError(f"render_fills cannot draw the path {fill.d[:40]!r}")
            _replay(context, calls)
        else:
            cx, cy, rx, ry = fill.ellipse
            ellipse(holder, {"cx": cx, "cy": cy, "rx": rx, "ry": ry})
        context.set_source_rgba(*color(fill.colour))
        context.fill()
        context.restore()
    argb = _words(surface)
    surface.finish()
    return argb
