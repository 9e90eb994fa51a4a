"""DeepScores the way it was made: real scores engraved by a real engraver, with pixel-exact
annotations (shared/papers/deepscores.md §3.1 and §5).

music21's bundled corpus -> MusicXML -> Verovio -> one SVG per page. Verovio draws every
fixed-shape symbol as a SMuFL glyph (a ``<use>`` of a glyph definition named by its code point)
or, for augmentation dots, an ellipse; composing the SVG transforms with the glyph's box from
Verovio's font table gives each symbol's exact box in page pixels. cairosvg rasterises the page.

Masks: a second SVG holds only the annotated symbols, each filled with its instance id as an
RGB colour and drawn without anti-aliasing, so each mask pixel belongs to one symbol: a pixel
belongs to a symbol when its centre lies inside the glyph outline (the later-drawn symbol wins
where two overlap; staff lines, stems and beams crossing a glyph are not part of it). The class
mask is the instance mask looked up through the instances' class ids (:mod:`.classes`).

Scale: Verovio's default A4 page (2100 x 2970 in 0.1 mm) and staff space (``unit`` 9, half of
a 1.8 mm interline; LilyPond's default 20-pt staff, DeepScores' engraver, has 1.76 mm), drawn
so that the interline is 10 px, DWD's setting for DeepScores: 1167 x 1650 px pages, A4's aspect
ratio like DeepScores' typical 1894 x 2668 px. Page headers (music21's placeholder title and
composer) and Verovio's footer logo are switched off; part labels and lyrics stay.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import math
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dlwild.core.cache import ArtifactCache, code_hash
from dlwild.deepscores.annotations import Box, Page, Symbol
from dlwild.deepscores.classes import (
    CLASS_IDS,
    CLASSES,
    FONTS,
    classify,
    glyph_for,
)

log = logging.getLogger(__name__)

INTERLINE_PX = 10.0
"""Distance between two staff lines in output pixels (DWD's DeepScores setting)."""

PAPER: tuple[int, int] = (2100, 2970)
"""Verovio page size (width, height) in 0.1 mm: A4."""

UNIT = 9.0
"""Verovio's MEI unit in 0.1 mm: half the interline (its default)."""

XML_ID_SEED = 1
"""Verovio's xmlIdSeed: fixed, so the same score gives a byte-identical SVG."""

SCORE_SUFFIXES: tuple[str, ...] = (".mxl", ".xml", ".musicxml", ".krn", ".mei")
"""Corpus files taken as scores (not roman-numeral analyses or multi-tune ABC books)."""

CACHE_NAME = "deepscores-engraved"
DATASET_FORMAT = 1

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Serialised SVGs keep the plain svg/xlink prefixes that cairosvg and browsers expect.
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)

_GLYPH_HREF = re.compile(r"#([0-9A-Fa-f]{4,5})-")
_TRANSFORM = re.compile(r"(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)")

Matrix = tuple[float, float, float, float, float, float]
"""An SVG affine transform (a, b, c, d, e, f): x' = a x + c y + e, y' = b x + d y + f."""

IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class EngraveError(ValueError):
    """A score the engraver cannot handle: names the piece and the reason."""


class EngravedPage(NamedTuple):
    """One rendered page: annotations, greyscale image (uint8, 255 = white), class mask (uint8,
    class id per pixel, 0 = background) and instance mask (uint16, symbol instance id)."""

    page: Page
    image: np.ndarray
    class_mask: np.ndarray
    instance_mask: np.ndarray


# --------------------------------------------------------------------------- SVG geometry


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """The transform ``m`` applied after ``n`` (SVG nesting: parent · child)."""
    a1, b1, c1, d1, e1, f1 = m
    a2, b2, c2, d2, e2, f2 = n
    return (a1 * a2 + c1 * b2, b1 * a2 + d1 * b2, a1 * c2 + c1 * d2, b1 * c2 + d1 * d2,
            a1 * e2 + c1 * f2 + e1, b1 * e2 + d1 * f2 + f1)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    """Point (x, y) mapped by ``m``."""
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def parse_transform(text: str | None) -> Matrix:
    """An SVG ``transform`` attribute as one matrix; ValueError for anything it cannot read."""
    if not text or not text.strip():
        return IDENTITY
    if _TRANSFORM.sub("", text).strip(" ,\t\n"):
        raise ValueError(f"unsupported SVG transform {text!r}")
    m = IDENTITY
    for op, args in _TRANSFORM.findall(text):
        v = [float(t) for t in re.split(r"[\s,]+", args.strip()) if t]
        if op == "matrix" and len(v) == 6:
            n: Matrix = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif op == "translate" and len(v) in (1, 2):
            n = (1.0, 0.0, 0.0, 1.0, v[0], v[1] if len(v) == 2 else 0.0)
        elif op == "scale" and len(v) in (1, 2):
            n = (v[0], 0.0, 0.0, v[1] if len(v) == 2 else v[0], 0.0, 0.0)
        elif op == "rotate" and len(v) in (1, 3):
            r = math.radians(v[0])
            n = (math.cos(r), math.sin(r), -math.sin(r), math.cos(r), 0.0, 0.0)
            if len(v) == 3:
                n = _mul(_mul((1.0, 0.0, 0.0, 1.0, v[1], v[2]), n),
                         (1.0, 0.0, 0.0, 1.0, -v[1], -v[2]))
        elif op == "skewX" and len(v) == 1:
            n = (1.0, 0.0, math.tan(math.radians(v[0])), 1.0, 0.0, 0.0)
        elif op == "skewY" and len(v) == 1:
            n = (1.0, math.tan(math.radians(v[0])), 0.0, 1.0, 0.0, 0.0)
        else:
            raise ValueError(f"unsupported SVG transform {op}({args}) in {text!r}")
        m = _mul(m, n)
    return m


def _length(value: str | None, reference: float, default: float) -> float:
    """An SVG length in user units (px or unitless; % of ``reference``)."""
    if value is None or not value.strip():
        return default
    value = value.strip()
    if value.endswith("%"):
        return reference * float(value[:-1]) / 100
    return float(value.removesuffix("px"))


def _viewport(el: ET.Element, parent: tuple[float, float]) -> tuple[Matrix, tuple[float, float]]:
    """Transform and new viewport size of an ``<svg>`` element (x, y, width, height, viewBox,
    preserveAspectRatio) inside a viewport of size ``parent``."""
    pw, ph = parent
    x, y = _length(el.get("x"), pw, 0.0), _length(el.get("y"), ph, 0.0)
    w, h = _length(el.get("width"), pw, pw), _length(el.get("height"), ph, ph)
    box = el.get("viewBox")
    if not box:
        return (1.0, 0.0, 0.0, 1.0, x, y), (w, h)
    vx, vy, vw, vh = (float(t) for t in re.split(r"[\s,]+", box.strip()))
    align, *rest = (el.get("preserveAspectRatio") or "xMidYMid meet").split()
    if align == "none":
        sx, sy = w / vw, h / vh
    else:
        sx = sy = max(w / vw, h / vh) if rest == ["slice"] else min(w / vw, h / vh)
    tx, ty = x - vx * sx, y - vy * sy
    if align != "none":
        tx += {"xMin": 0.0, "xMid": 0.5, "xMax": 1.0}[align[:4]] * (w - vw * sx)
        ty += {"YMin": 0.0, "YMid": 0.5, "YMax": 1.0}[align[4:]] * (h - vh * sy)
    return (sx, 0.0, 0.0, sy, tx, ty), (vw, vh)


def _local(tag: Any) -> str:
    """Tag name without its namespace ('' for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class _Mark:
    """One annotated glyph of a page SVG: its element and parent, class, glyph code point
    ('ellipse' for a dot), transform from its own coordinates to page pixels, and page box."""

    element: ET.Element
    parent: ET.Element
    cls: str
    code: str
    matrix: Matrix
    box: Box


def _box_of(m: Matrix, x0: float, y0: float, x1: float, y1: float) -> Box:
    """Axis-aligned page box of the local rectangle (x0, y0)-(x1, y1) mapped by ``m``."""
    corners = [_apply(m, x, y) for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def _marks(root: ET.Element, font: str) -> list[_Mark]:
    """Every annotated symbol of a page SVG, in drawing order."""
    size = (_length(root.get("width"), 0, 0), _length(root.get("height"), 0, 0))
    marks: list[_Mark] = []

    def visit(el: ET.Element, parent: ET.Element | None, m: Matrix,
              viewport: tuple[float, float], context: tuple[str, ...]) -> None:
        tag = _local(el.tag)
        if tag in ("defs", "desc", "style", ""):
            return
        if tag == "svg":
            vm, viewport = _viewport(el, viewport)
            m = _mul(m, vm)
        m = _mul(m, parse_transform(el.get("transform")))
        classes = el.get("class")
        if classes:
            context = context + tuple(classes.split())
        if tag == "use" and parent is not None:
            href = el.get(f"{{{XLINK_NS}}}href") or el.get("href") or ""
            hit = _GLYPH_HREF.match(href)
            glyph = glyph_for(hit.group(1).upper(), font) if hit else None
            cls = classify(glyph.name if glyph else None, context)
            if glyph is not None and cls is not None:
                um = _mul(m, (1.0, 0.0, 0.0, 1.0, _length(el.get("x"), 0, 0),
                              _length(el.get("y"), 0, 0)))
                # Glyph paths are drawn with scale(1,-1): font y up -> SVG y down.
                box = _box_of(um, glyph.x, -(glyph.y + glyph.h), glyph.x + glyph.w, -glyph.y)
                marks.append(_Mark(el, parent, cls, glyph.code, um, box))
        elif tag == "ellipse" and parent is not None:
            cls = classify("ellipse", context)
            if cls is not None:
                cx, cy = float(el.get("cx", 0)), float(el.get("cy", 0))
                rx, ry = float(el.get("rx", 0)), float(el.get("ry", 0))
                marks.append(_Mark(el, parent, cls, "ellipse", m,
                                   _box_of(m, cx - rx, cy - ry, cx + rx, cy + ry)))
        for child in el:
            visit(child, el, m, viewport, context)

    visit(root, None, IDENTITY, size, ())
    return marks


# --------------------------------------------------------------------------- rasterising


def _render_rgb(svg: str, background: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB raster of an SVG at its own pixel size (cairosvg, no PNG round
    trip)."""
    from cairosvg.parser import Tree
    from cairosvg.surface import PNGSurface

    surface = PNGSurface(Tree(bytestring=svg.encode("utf-8")), None, 96,
                         background_color=background)
    cairo_surface = surface.cairo
    cairo_surface.flush()
    height, width = cairo_surface.get_height(), cairo_surface.get_width()
    stride = cairo_surface.get_stride()
    data = np.frombuffer(cairo_surface.get_data(), dtype=np.uint8)
    bgra = data.reshape(height, stride // 4, 4)[:, :width]
    rgb = bgra[..., 2::-1].copy()  # cairo ARGB32 is B, G, R, A in memory (little endian)
    surface.finish()
    return rgb


def _glyph_defs(root: ET.Element) -> dict[str, ET.Element]:
    """Glyph definitions of a Verovio SVG (``<defs><g id=...>``) by id."""
    defs = root.find(f"{{{SVG_NS}}}defs")
    return {g.get("id"): g for g in (defs if defs is not None else []) if g.get("id")}


def _inline_uses(root: ET.Element) -> None:
    """Replace each ``<use>`` of a glyph definition by a group holding copies of its paths, in
    place: the same drawing, but cairosvg renders it about twice as fast."""
    glyphs = _glyph_defs(root)

    def visit(el: ET.Element) -> None:
        for i, child in enumerate(list(el)):
            if _local(child.tag) == "use":
                href = child.get(f"{{{XLINK_NS}}}href") or child.get("href") or ""
                glyph = glyphs.get(href.removeprefix("#"))
                if glyph is not None:
                    x, y = child.get("x", "0"), child.get("y", "0")
                    attrib = {k: v for k, v in child.attrib.items()
                              if k not in ("x", "y", "href", f"{{{XLINK_NS}}}href")}
                    attrib["transform"] = f"{child.get('transform', '')} translate({x},{y})"
                    group = ET.Element(f"{{{SVG_NS}}}g", attrib)
                    group.extend(copy.deepcopy(list(glyph)))
                    el[i] = group
            elif _local(child.tag) != "defs":
                visit(child)

    visit(root)


def rasterise(svg: str) -> np.ndarray:
    """Greyscale page (uint8, 255 = white) of a page SVG, anti-aliased as printed."""
    root = ET.fromstring(svg)
    _inline_uses(root)
    return _render_rgb(ET.tostring(root, encoding="unicode"), "white")[..., 0].copy()


def unannotated_svg(svg: str, font: str) -> str:
    """The page SVG without its annotated symbols: what DeepScores leaves unannotated (staff
    and ledger lines, stems, beams, bar lines, slurs, ties, brackets, text)."""
    root = ET.fromstring(svg)
    for mark in _marks(root, font):
        mark.parent.remove(mark.element)
    return ET.tostring(root, encoding="unicode")


def _instance_svg(root: ET.Element, marks: Sequence[_Mark], width: int, height: int) -> str:
    """An SVG with only ``marks``, mark i (1-based) filled with colour #i, aliasing off; glyphs
    are inlined as paths (see :func:`_inline_uses`)."""
    glyphs = _glyph_defs(root)
    parts = [f'<svg xmlns="{SVG_NS}" width="{width}px" height="{height}px" '
             'shape-rendering="crispEdges">']
    for i, mark in enumerate(marks, start=1):
        matrix = "matrix(" + ",".join(f"{v:.9g}" for v in mark.matrix) + ")"
        colour = f"#{i:06x}"
        el = mark.element
        if mark.code == "ellipse":
            parts.append(f'<ellipse cx="{el.get("cx")}" cy="{el.get("cy")}" rx="{el.get("rx")}" '
                         f'ry="{el.get("ry")}" transform="{matrix}" fill="{colour}" '
                         'stroke="none"/>')
            continue
        href = (el.get(f"{{{XLINK_NS}}}href") or el.get("href") or "").removeprefix("#")
        if href not in glyphs:
            raise EngraveError(f"glyph definition {href!r} is missing from the page SVG")
        parts.append(f'<g transform="{matrix}" fill="{colour}" stroke="none">')
        parts.extend(ET.tostring(child, encoding="unicode") for child in glyphs[href])
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _oriented_box(instance_mask: np.ndarray, window: tuple[slice, slice] | None, i: int,
                  box: Box) -> tuple[float, ...]:
    """4 corners (x0, y0, ..., x3, y3) of the minimum rotated rectangle of instance ``i``'s
    mask pixels (as unit squares), as DeepScoresV2 does with Shapely; the aligned box's
    corners when the symbol covers no pixel centre."""
    import shapely

    ys = xs = np.empty(0)
    if window is not None:
        ys, xs = np.nonzero(instance_mask[window] == i)
    if len(xs) == 0:
        x0, y0, x1, y1 = box
        return (x0, y0, x1, y0, x1, y1, x0, y1)
    xs = xs + window[1].start
    ys = ys + window[0].start
    corners = np.concatenate([np.stack([xs + dx, ys + dy], axis=1)
                              for dx in (0, 1) for dy in (0, 1)])
    rect = shapely.minimum_rotated_rectangle(shapely.multipoints(corners.astype(float)))
    coords = np.asarray(rect.exterior.coords)[:4]
    return tuple(round(float(v), 3) for v in coords.ravel())


# --------------------------------------------------------------------------- engraving


def _toolkit(font: str, paper: tuple[int, int]):
    """A Verovio toolkit with the book's engraving options."""
    import verovio

    if font not in FONTS:
        raise ValueError(f"unknown music font {font!r}; Verovio ships {', '.join(FONTS)}")
    verovio.enableLog(verovio.LOG_ERROR)
    tk = verovio.toolkit()
    tk.setOptions({
        "font": font, "xmlIdSeed": XML_ID_SEED, "scale": 100, "unit": UNIT,
        "pageWidth": int(paper[0]), "pageHeight": int(paper[1]),
        "adjustPageHeight": False, "header": "none", "footer": "none",
        "breaks": "auto", "smuflTextFont": "none",
    })
    return tk


@functools.cache
def verovio_version() -> str:
    """The Verovio engraver's version string (recorded in pages and cache keys)."""
    import verovio

    return verovio.toolkit().getVersion()


def _check_xml(score: str, piece: str) -> None:
    """Raise EngraveError for XML input (MusicXML, MEI) that is not well-formed: Verovio
    silently engraves truncated XML."""
    if not score.strip():
        raise EngraveError(f"{piece}: the score is empty")
    if score.lstrip().startswith("<"):
        try:
            ET.fromstring(score.encode("utf-8"))
        except ET.ParseError as exc:
            raise EngraveError(f"{piece}: malformed score XML ({exc})") from exc


def _resize(svg: str, interline: float, piece: str) -> str:
    """Verovio's page SVG sized so one interline (2 * UNIT * 10 SVG units) is ``interline``
    pixels: root width/height in whole pixels, the drawing's viewport pinned top-left."""
    root = ET.fromstring(svg)
    scale = interline / (2 * UNIT * 10)
    inner = next((c for c in root if _local(c.tag) == "svg"
                  and "definition-scale" in (c.get("class") or "").split()), None)
    if inner is None or not inner.get("viewBox"):
        raise EngraveError(f"{piece}: Verovio SVG without its definition-scale viewBox")
    _, _, vw, vh = (float(t) for t in re.split(r"[\s,]+", inner.get("viewBox").strip()))
    root.set("width", f"{round(vw * scale)}px")
    root.set("height", f"{round(vh * scale)}px")
    inner.set("width", f"{vw * scale:.6f}")
    inner.set("height", f"{vh * scale:.6f}")
    inner.set("preserveAspectRatio", "xMinYMin meet")
    return ET.tostring(root, encoding="unicode")


def page_svgs(score: str, *, piece: str, font: str = "Leipzig",
              interline: float = INTERLINE_PX, paper: tuple[int, int] = PAPER,
              max_pages: int | None = None) -> list[str]:
    """Verovio's SVG of each page of ``score`` (MusicXML or MEI text), sized so the interline
    is ``interline`` px. EngraveError (naming ``piece``) for malformed XML, a score Verovio
    cannot load, or one that gives no page."""
    if not interline > 0:
        raise ValueError(f"interline must be positive, got {interline!r}")
    if max_pages is not None and max_pages < 1:
        raise ValueError(f"max_pages must be at least 1 (or None for all), got {max_pages}")
    _check_xml(score, piece)
    tk = _toolkit(font, paper)
    if not tk.loadData(score):
        raise EngraveError(f"{piece}: Verovio could not load the score")
    count = tk.getPageCount()
    if count < 1:
        raise EngraveError(f"{piece}: Verovio engraved no page")
    last = count if max_pages is None else min(count, max_pages)
    return [_resize(tk.renderToSVG(n), interline, piece) for n in range(1, last + 1)]


def annotate_svg(svg: str, *, page_id: str, font: str, piece: str = "",
                 source: str = "") -> EngravedPage:
    """Annotations, greyscale image and masks of one sized page SVG (from :func:`page_svgs`)."""
    from scipy import ndimage

    root = ET.fromstring(svg)
    width = round(_length(root.get("width"), 0, 0))
    height = round(_length(root.get("height"), 0, 0))
    try:
        found = _marks(root, font)
    except ValueError as exc:  # an SVG construct this reader does not know
        raise EngraveError(f"{page_id}: cannot read Verovio's SVG ({exc})") from exc
    marks = []
    for mark in found:
        x0, y0, x1, y1 = mark.box
        clipped = (max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height)))
        if clipped[0] < clipped[2] and clipped[1] < clipped[3]:
            mark.box = tuple(round(v, 3) for v in clipped)
            marks.append(mark)
        else:
            log.debug("%s: %s at %s lies outside the page", page_id, mark.cls, mark.box)
    if len(marks) > np.iinfo(np.uint16).max:
        raise EngraveError(f"{page_id}: {len(marks)} symbols exceed the uint16 instance mask")
    image = rasterise(svg)
    rgb = _render_rgb(_instance_svg(root, marks, width, height), "black").astype(np.uint32)
    instance_mask = ((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).astype(np.uint16)
    lut = np.zeros(len(marks) + 1, dtype=np.uint8)
    lut[1:] = [CLASS_IDS[m.cls] for m in marks]
    class_mask = lut[instance_mask]
    windows = ndimage.find_objects(instance_mask, max_label=len(marks)) if marks else []
    symbols = [
        Symbol(cls=m.cls, bbox=m.box, instance=i,
               obbox=_oriented_box(instance_mask, windows[i - 1], i, m.box),
               comments=f"glyph:{m.code}")
        for i, m in enumerate(marks, start=1)
    ]
    page = Page(id=page_id, width=width, height=height, symbols=symbols, piece=piece,
                font=font, source=source)
    page.check()
    return EngravedPage(page, image, class_mask, instance_mask)


def _slug(piece: str) -> str:
    """A file-name-safe form of a piece name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", piece).strip("_") or "piece"


def engrave(score: str, *, piece: str, font: str = "Leipzig",
            interline: float = INTERLINE_PX, paper: tuple[int, int] = PAPER,
            max_pages: int | None = None) -> list[EngravedPage]:
    """Engrave ``score`` (MusicXML or MEI text) with Verovio in ``font``: one annotated page
    per engraved page. EngraveError naming ``piece`` when it cannot be engraved or has no
    symbol at all."""
    svgs = page_svgs(score, piece=piece, font=font, interline=interline, paper=paper,
                     max_pages=max_pages)
    source = f"verovio {verovio_version()}; {piece}"
    pages = [annotate_svg(svg, page_id=f"{_slug(piece)}-{font}-p{n:02d}", font=font,
                          piece=piece, source=source)
             for n, svg in enumerate(svgs, start=1)]
    if not any(p.page.symbols for p in pages):
        raise EngraveError(f"{piece}: Verovio engraved {len(pages)} page(s) without a symbol")
    return pages


# --------------------------------------------------------------------------- the corpus


def corpus_pieces(composer: str = "bach") -> list[str]:
    """Scores of ``composer`` in music21's bundled corpus, as corpus-relative paths (e.g.
    'bach/bwv66.6.mxl'), sorted."""
    from music21 import common, corpus

    root = Path(common.getCorpusFilePath())
    paths = corpus.getComposer(composer)
    return sorted(Path(p).relative_to(root).as_posix() for p in paths
                  if Path(p).suffix.lower() in SCORE_SUFFIXES)


def corpus_score(piece: str) -> str:
    """MusicXML text of corpus piece ``piece``, parsed and exported by music21; EngraveError
    naming the piece when music21 cannot."""
    from music21 import corpus
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    try:
        score = corpus.parse(piece)
        return GeneralObjectExporter(score).parse().decode("utf-8")
    except Exception as exc:  # music21 raises many kinds; any of them means: skip the piece
        raise EngraveError(f"{piece}: music21 could not parse or export it "
                           f"({type(exc).__name__}: {exc})") from exc


# --------------------------------------------------------------------------- data sets


@dataclass
class EngravedDataset:
    """Engraved pages split by piece (every font of a piece on the same side), the pieces of
    each side, the pieces skipped (name -> reason) and the build parameters."""

    train: list[EngravedPage]
    test: list[EngravedPage]
    train_pieces: list[str]
    test_pieces: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def pages(self) -> list[EngravedPage]:
        """All pages, train first."""
        return [*self.train, *self.test]


#: How many seeded piece splits :func:`_split` compares (the first is the plain seeded shuffle).
SPLIT_CANDIDATES = 64


def shared_classes(train: Sequence[str], test: Sequence[str],
                   classes: Mapping[str, Iterable[str]]) -> set[str]:
    """The classes that occur on both sides of a piece split (``classes``: piece -> its
    classes): the ones a model can learn from the training pieces *and* be tested on."""
    seen_train = {c for piece in train for c in classes.get(piece, ())}
    seen_test = {c for piece in test for c in classes.get(piece, ())}
    return seen_train & seen_test


def classes_by_piece(pages: Iterable[EngravedPage]) -> dict[str, set[str]]:
    """Piece name -> the symbol classes on its pages (the input of :func:`shared_classes`)."""
    out: dict[str, set[str]] = {}
    for engraved in pages:
        out.setdefault(engraved.page.piece, set()).update(s.cls for s in engraved.page.symbols)
    return out


def _split(pieces: Sequence[str], test_fraction: float, seed: int,
           classes: Mapping[str, Iterable[str]] | None = None,
           candidates: int = SPLIT_CANDIDATES) -> tuple[list[str], list[str]]:
    """Seeded split of piece names into (train, test) -- by piece, never by page, so every font
    of a piece lands on the same side; at least one piece on each side when there are two or
    more pieces and ``test_fraction`` > 0.

    Without ``classes`` the split is one seeded shuffle. With ``classes`` (piece -> the symbol
    classes on its pages), ``candidates`` seeded shuffles of the same sizes are compared and the
    first one whose test pieces hold the most classes that the training pieces hold too
    (:func:`shared_classes`) is kept: a class that occurs in several pieces then gets into the
    test pieces whenever a split of this size can put it there, while a class of a single piece
    stays wherever that piece falls (it cannot be on both sides). The first candidate is the
    plain shuffle; the result depends on ``seed`` (and the pieces) only."""
    order = sorted(pieces)
    n_test = round(test_fraction * len(order))
    if test_fraction > 0 and len(order) >= 2:
        n_test = min(max(n_test, 1), len(order) - 1)
    elif len(order) < 2:
        n_test = 0
        if test_fraction > 0:
            log.warning("only one usable piece (%s): it goes to train, test is empty", order)
    best: tuple[list[str], list[str]] | None = None
    best_score = -1
    for k in range(max(1, candidates) if classes is not None else 1):
        shuffled = list(order)
        random.Random(f"split-{seed}" if k == 0 else f"split-{seed}-{k}").shuffle(shuffled)
        train, test = sorted(shuffled[n_test:]), sorted(shuffled[:n_test])
        score = len(shared_classes(train, test, classes)) if classes is not None else 0
        if score > best_score:
            best, best_score = (train, test), score
    assert best is not None
    return best


def _engrave_pieces(candidates: Sequence[str], n_pieces: int | None, fonts: Sequence[str],
                    sources: Mapping[str, str] | None, interline: float,
                    paper: tuple[int, int], max_pages: int | None,
                    ) -> tuple[dict[str, list[EngravedPage]], dict[str, str]]:
    """Engrave candidates in order in every font until ``n_pieces`` worked; a piece that
    fails in any font is skipped and logged."""
    done: dict[str, list[EngravedPage]] = {}
    skipped: dict[str, str] = {}
    for piece in candidates:
        if n_pieces is not None and len(done) >= n_pieces:
            break
        try:
            score = sources[piece] if sources is not None else corpus_score(piece)
            done[piece] = [page for font in fonts
                           for page in engrave(score, piece=piece, font=font,
                                               interline=interline, paper=paper,
                                               max_pages=max_pages)]
        except EngraveError as exc:
            log.warning("skipping piece %s: %s", piece, exc)
            skipped[piece] = str(exc)
    return done, skipped


def build_dataset(n_pieces: int | None = 8, fonts: Sequence[str] = ("Leipzig",), seed: int = 0,
                  *, composer: str = "bach", sources: Mapping[str, str] | None = None,
                  test_fraction: float = 0.25, interline: float = INTERLINE_PX,
                  paper: tuple[int, int] = PAPER, max_pages_per_piece: int | None = None,
                  cache: ArtifactCache | None = None) -> EngravedDataset:
    """Engrave ``n_pieces`` usable pieces (None: all) in every font of ``fonts`` and split them
    by piece, deterministically for ``seed`` (of :data:`SPLIT_CANDIDATES` seeded splits, the
    first whose test pieces share the most classes with the training pieces: :func:`_split`);
    cached as an artifact keyed by code and
    parameters (``cache``: an ArtifactCache, default the user's).

    Pieces come from music21's corpus for ``composer`` (seeded order), or from ``sources``
    (name -> MusicXML/MEI text). Unusable pieces are skipped and logged; EngraveError when
    none is usable."""
    import music21

    fonts = list(fonts)
    bad = [f for f in fonts if f not in FONTS]
    if not fonts or bad or len(set(fonts)) != len(fonts):
        raise ValueError(f"fonts must be distinct names from {', '.join(FONTS)}, got {fonts}")
    if n_pieces is not None and n_pieces < 1:
        raise ValueError(f"n_pieces must be at least 1 (or None for all), got {n_pieces}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    params = {"n_pieces": n_pieces, "fonts": fonts, "seed": seed, "composer": composer,
              "test_fraction": test_fraction, "interline": interline, "paper": list(paper),
              "unit": UNIT, "max_pages_per_piece": max_pages_per_piece,
              "split_candidates": SPLIT_CANDIDATES}
    if sources is not None:
        data: dict[str, Any] = {"sources": {name: hashlib.sha256(text.encode()).hexdigest()
                                            for name, text in sorted(sources.items())}}
    else:
        data = {"corpus": composer, "music21": music21.__version__}
    data["verovio"] = verovio_version()
    parts = {"code": code_hash("dlwild.deepscores.engrave", "dlwild.deepscores.classes",
                               "dlwild.deepscores.annotations"),
             "params": params, "data": data}

    def build() -> EngravedDataset:
        candidates = sorted(sources) if sources is not None else corpus_pieces(composer)
        random.Random(seed).shuffle(candidates)
        done, skipped = _engrave_pieces(candidates, n_pieces, fonts, sources, interline,
                                        paper, max_pages_per_piece)
        if not done:
            reasons = "; ".join(skipped.values()) or "no candidate pieces"
            raise EngraveError(f"no usable piece for the engraved data set "
                               f"({composer if sources is None else 'given sources'}): {reasons}")
        if n_pieces is not None and len(done) < n_pieces:
            log.warning("only %d of %d pieces could be engraved", len(done), n_pieces)
        piece_classes = classes_by_piece(p for pages in done.values() for p in pages)
        train_pieces, test_pieces = _split(list(done), test_fraction, seed, piece_classes,
                                           SPLIT_CANDIDATES)
        return EngravedDataset(
            train=[p for piece in train_pieces for p in done[piece]],
            test=[p for piece in test_pieces for p in done[piece]],
            train_pieces=train_pieces, test_pieces=test_pieces, skipped=skipped,
            params=params)

    store = cache if cache is not None else ArtifactCache()
    return store.get_or_create(CACHE_NAME, parts, build, write_dataset, read_dataset)


# --------------------------------------------------------------------------- folders


def _page_record(page: Page) -> dict[str, Any]:
    """JSON-able form of a Page."""
    return {"id": page.id, "width": page.width, "height": page.height, "piece": page.piece,
            "font": page.font, "source": page.source,
            "symbols": [{"cls": s.cls, "bbox": list(s.bbox), "instance": s.instance,
                         "obbox": list(s.obbox) if s.obbox is not None else None,
                         "comments": s.comments} for s in page.symbols]}


def _page_from_record(record: Mapping[str, Any]) -> Page:
    """Inverse of :func:`_page_record`."""
    symbols = [Symbol(cls=s["cls"], bbox=tuple(s["bbox"]), instance=s["instance"],
                      obbox=tuple(s["obbox"]) if s["obbox"] is not None else None,
                      comments=s["comments"]) for s in record["symbols"]]
    return Page(id=record["id"], width=record["width"], height=record["height"],
                symbols=symbols, piece=record["piece"], font=record["font"],
                source=record["source"])


def write_dataset(dataset: EngravedDataset, folder: Path) -> None:
    """Write ``dataset`` to ``folder``: index.json (split, skipped pieces, class list, pages
    with symbols) and per page three PNGs: image (8-bit grey), class mask (8-bit), instance
    mask (16-bit)."""
    from PIL import Image

    folder = Path(folder)
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    records = []
    for split, pages in (("train", dataset.train), ("test", dataset.test)):
        for engraved in pages:
            page = engraved.page
            names = {kind: f"pages/{page.id}.{kind}.png"
                     for kind in ("image", "class", "instance")}
            Image.fromarray(engraved.image).save(folder / names["image"])
            Image.fromarray(engraved.class_mask).save(folder / names["class"])
            Image.fromarray(engraved.instance_mask.astype(np.uint16)).save(
                folder / names["instance"])
            records.append({"split": split, "files": names, "page": _page_record(page)})
    index = {"format": DATASET_FORMAT, "classes": list(CLASSES), "params": dataset.params,
             "train_pieces": dataset.train_pieces, "test_pieces": dataset.test_pieces,
             "skipped": dataset.skipped, "pages": records}
    (folder / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


def read_dataset(folder: Path) -> EngravedDataset:
    """Read a folder written by :func:`write_dataset`."""
    from PIL import Image

    folder = Path(folder)
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    if index.get("format") != DATASET_FORMAT or index.get("classes") != list(CLASSES):
        raise ValueError(f"{folder}: not an engraved data set of this dlwild version")
    dataset = EngravedDataset([], [], index["train_pieces"], index["test_pieces"],
                              index["skipped"], index["params"])
    for record in index["pages"]:
        files = record["files"]
        with Image.open(folder / files["image"]) as im:
            image = np.asarray(im, dtype=np.uint8)
        with Image.open(folder / files["class"]) as im:
            class_mask = np.asarray(im, dtype=np.uint8)
        with Image.open(folder / files["instance"]) as im:
            instance_mask = np.asarray(im).astype(np.uint16)
        engraved = EngravedPage(_page_from_record(record["page"]), image, class_mask,
                                instance_mask)
        (dataset.train if record["split"] == "train" else dataset.test).append(engraved)
    return dataset
