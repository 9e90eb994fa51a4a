"""DeepScores the way it was made: real scores engraved by a real engraver, with pixel-exact
annotations (shared/papers/deepscores.md §3.1 and §5).

music21's bundled corpus -> MusicXML -> Verovio -> one SVG per page. Verovio draws every
fixed-shape symbol as a SMuFL glyph (a ``<use>`` of a glyph definition named by its code point)
or, for augmentation dots, an ellipse; composing the SVG transforms with the glyph's box from
Verovio's font table gives each symbol's exact box in page pixels. cairosvg rasterises the page
(:mod:`.raster`), after the SVG is simplified to the same drawing with fewer nodes: glyph uses
inlined as paths, groups that only structure the page dropped.

Masks: a second SVG holds only the annotated symbols, each filled with its instance id as an
RGB colour and drawn without anti-aliasing, so each mask pixel belongs to one symbol: a pixel
belongs to a symbol when its centre lies inside the glyph outline (the later-drawn symbol wins
where two overlap; staff lines, stems and beams crossing a glyph are not part of it). The class
mask is the instance mask looked up through the instances' class ids (:mod:`.classes`). Oriented
boxes are the minimum-area rectangles of each instance's mask pixels, one Shapely call a page.

Scale: Verovio's default A4 page (2100 x 2970 in 0.1 mm) and staff space (``unit`` 9, half of
a 1.8 mm interline; LilyPond's default 20-pt staff, DeepScores' engraver, has 1.76 mm), drawn
so that the interline is 10 px, DWD's setting for DeepScores: 1167 x 1650 px pages, A4's aspect
ratio like DeepScores' typical 1894 x 2668 px. Page headers (music21's placeholder title and
composer) and Verovio's footer logo are switched off; part labels and lyrics stay.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

import numpy as np

from dlwild.deepscores.annotations import Box, Page, Symbol
from dlwild.deepscores.classes import CLASS_IDS, FONTS
from dlwild.deepscores.geometry import mask_points, oriented_boxes
from dlwild.deepscores.raster import Fill, can_fill, render_argb, render_fills
from dlwild.deepscores.svg import (
    SVG_NS,
    XLINK_NS,
    Mark,
    annotated_marks,
    glyph_defs,
    local_name,
    svg_length,
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


class EngraveError(ValueError):
    """A score the engraver cannot handle: names the piece and the reason."""


class EngravedPage(NamedTuple):
    """One rendered page: annotations, greyscale image (uint8, 255 = white), class mask (uint8,
    class id per pixel, 0 = background) and instance mask (uint16, symbol instance id)."""

    page: Page
    image: np.ndarray
    class_mask: np.ndarray
    instance_mask: np.ndarray



def _glyph_path(glyph: ET.Element) -> ET.Element | None:
    """The glyph definition's only child when it is a bare path (``d`` and a transform at
    most), which a use can become directly; None otherwise."""
    if len(glyph) != 1:
        return None
    path = glyph[0]
    if local_name(path.tag) != "path" or set(path.attrib) - {"d", "transform"} or len(path):
        return None
    return path


def _inlined(use: ET.Element, glyph: ET.Element) -> ET.Element:
    """What replaces ``use`` of ``glyph``: one path whose transform chains the use's and the
    path's (cairosvg composes both to the same matrix as nested transforms: the path's is
    scale(1,-1), an exact sign flip), or a group of the glyph's copied paths."""
    x, y = use.get("x", "0"), use.get("y", "0")
    attrib = {k: v for k, v in use.attrib.items()
              if k not in ("x", "y", "href", f"{{{XLINK_NS}}}href")}
    transform = f"{use.get('transform', '')} translate({x},{y})"
    path = _glyph_path(glyph)
    if path is not None and set(attrib) <= {"transform"}:
        inner = path.get("transform")
        return ET.Element(f"{{{SVG_NS}}}path", {
            "transform": f"{transform} {inner}" if inner else transform, "d": path.get("d")})
    attrib["transform"] = transform
    group = ET.Element(f"{{{SVG_NS}}}g", attrib)
    group.extend(copy.deepcopy(list(glyph)))
    return group


def _inline_uses(root: ET.Element) -> bool:
    """Replace each ``<use>`` of a glyph definition by a copy of the glyph's path(s), in place:
    the same drawing, but cairosvg renders it about twice as fast. True when no use is left."""
    glyphs = glyph_defs(root)
    left = False

    def visit(el: ET.Element) -> None:
        nonlocal left
        for i, child in enumerate(list(el)):
            if local_name(child.tag) == "use":
                href = child.get(f"{{{XLINK_NS}}}href") or child.get("href") or ""
                glyph = glyphs.get(href.removeprefix("#"))
                if glyph is not None:
                    el[i] = _inlined(child, glyph)
                else:
                    left = True
            elif local_name(child.tag) != "defs":
                visit(child)

    visit(root)
    return not left


def _styled_names(root: ET.Element) -> set[str]:
    """Every class and id name the page's CSS mentions (Verovio's ``<style>``)."""
    text = " ".join(el.text or "" for el in root.iter() if local_name(el.tag) == "style")
    return set(re.findall(r"[.#]([A-Za-z_][\w-]*)", text))


def _referenced_ids(root: ET.Element) -> set[str]:
    """Ids that some attribute refers to (``href="#id"``, ``url(#id)``)."""
    found: set[str] = set()
    for el in root.iter():
        for value in el.attrib.values():
            if "#" in value:
                found.update(re.findall(r"#([^\s)\"',;]+)", value))
    return found


def _flatten_groups(root: ET.Element) -> None:
    """Drop, in place, the groups that only structure the page (class and id attributes no
    style rule or reference names), keeping their children in order, and empty groups: their
    children inherit the same properties, so cairosvg draws the same pixels with far fewer
    nodes to visit."""
    keep = _styled_names(root) | _referenced_ids(root)

    def plain(el: ET.Element) -> bool:
        if local_name(el.tag) != "g":
            return False
        if not len(el):
            return el.get("id") not in keep
        if set(el.attrib) - {"class", "id"} or el.get("id") in keep:
            return False
        return not set((el.get("class") or "").split()) & keep

    def visit(el: ET.Element) -> None:
        children: list[ET.Element] = []
        for child in el:
            if local_name(child.tag) in ("defs", "style", "text"):
                children.append(child)
                continue
            visit(child)
            if plain(child):
                children.extend(child)
            else:
                children.append(child)
        el[:] = children

    visit(root)


def _drop_glyph_defs(root: ET.Element) -> None:
    """Remove the glyph definitions once every use of them is inlined (cairosvg would still
    build a node for each)."""
    for defs in [c for c in root if local_name(c.tag) == "defs"]:
        for glyph in [g for g in defs if local_name(g.tag) == "g"]:
            defs.remove(glyph)


def rasterise(svg: str) -> np.ndarray:
    """Greyscale page (uint8, 255 = white) of a page SVG, anti-aliased as printed."""
    root = ET.fromstring(svg)
    if _inline_uses(root):
        _drop_glyph_defs(root)
    _flatten_groups(root)
    argb = render_argb(ET.tostring(root, encoding="unicode"), "white")
    return (argb >> 16).astype(np.uint8)  # the red byte: the page is grey


def unannotated_svg(svg: str, font: str) -> str:
    """The page SVG without its annotated symbols: what DeepScores leaves unannotated (staff
    and ledger lines, stems, beams, bar lines, slurs, ties, brackets, text)."""
    root = ET.fromstring(svg)
    for mark in annotated_marks(root, font):
        mark.parent.remove(mark.element)
    return ET.tostring(root, encoding="unicode")


def _instance_glyph(glyph: ET.Element, matrix: str, colour: str) -> str:
    """One glyph of the instance SVG filled with ``colour``: a single path when the glyph is
    one bare path (its transform chained after ``matrix``: the same pixels as the nested
    group, one node fewer; see :func:`_inlined`), else a group of its serialised paths."""
    path = _glyph_path(glyph)
    if path is not None:
        inner = path.get("transform")
        chained = f"{matrix} {inner}" if inner else matrix
        return (f'<path transform="{chained}" fill="{colour}" stroke="none" '
                f'd="{escape(path.get("d"), {chr(34): "&quot;"})}" />')
    return "".join([f'<g transform="{matrix}" fill="{colour}" stroke="none">',
                    *(ET.tostring(child, encoding="unicode") for child in glyph), "</g>"])


def _instance_paint(i: int, mark: Mark) -> tuple[str, str]:
    """Mark i's (1-based) placement as an SVG ``matrix(...)`` and its instance colour #i."""
    return "matrix(" + ",".join(f"{v:.9g}" for v in mark.matrix) + ")", f"#{i:06x}"


def _instance_svg(root: ET.Element, marks: Sequence[Mark], width: int, height: int) -> str:
    """An SVG with only ``marks``, mark i (1-based) filled with colour #i, aliasing off; glyphs
    are inlined as paths (see :func:`_inline_uses`).  The reference for
    :func:`_instance_fills`, and the route for a glyph that is not one bare path."""
    glyphs = glyph_defs(root)
    parts = [f'<svg xmlns="{SVG_NS}" width="{width}px" height="{height}px" '
             'shape-rendering="crispEdges">']
    for i, mark in enumerate(marks, start=1):
        matrix, colour = _instance_paint(i, mark)
        el = mark.element
        if mark.code == "ellipse":
            parts.append(f'<ellipse cx="{el.get("cx")}" cy="{el.get("cy")}" rx="{el.get("rx")}" '
                         f'ry="{el.get("ry")}" transform="{matrix}" fill="{colour}" '
                         'stroke="none"/>')
            continue
        parts.append(_instance_glyph(glyphs[_glyph_href(el, glyphs)], matrix, colour))
    parts.append("</svg>")
    return "".join(parts)


def _glyph_href(use: ET.Element, glyphs: dict[str, ET.Element]) -> str:
    """The id of the glyph definition a ``<use>`` draws; EngraveError when it is missing."""
    href = (use.get(f"{{{XLINK_NS}}}href") or use.get("href") or "").removeprefix("#")
    if href not in glyphs:
        raise EngraveError(f"glyph definition {href!r} is missing from the page SVG")
    return href


def _instance_fills(root: ET.Element, marks: Sequence[Mark]) -> list[Fill] | None:
    """The shapes of :func:`_instance_svg` for :func:`~dlwild.deepscores.raster.render_fills`
    (the same pixels, drawn without an SVG: about a third of a page's engraving time); None
    when a glyph is not one bare path that it can draw."""
    glyphs = glyph_defs(root)
    fills = []
    for i, mark in enumerate(marks, start=1):
        matrix, colour = _instance_paint(i, mark)
        el = mark.element
        if mark.code == "ellipse":
            fills.append(Fill(matrix, colour, ellipse=tuple(
                el.get(k) for k in ("cx", "cy", "rx", "ry"))))
            continue
        path = _glyph_path(glyphs[_glyph_href(el, glyphs)])
        if path is None or not can_fill(path.get("d")):
            return None
        inner = path.get("transform")
        fills.append(Fill(f"{matrix} {inner}" if inner else matrix, colour, d=path.get("d")))
    return fills


def _instance_raster(root: ET.Element, marks: Sequence[Mark], width: int,
                     height: int) -> np.ndarray:
    """The instance raster (0xFF000000 + i where mark i is drawn, opaque black elsewhere)."""
    fills = _instance_fills(root, marks)
    if fills is None:
        return render_argb(_instance_svg(root, marks, width, height), "black")
    return render_fills(width, height, fills, "black")


def _oriented_boxes(instance_mask: np.ndarray, windows: Sequence[tuple[slice, slice] | None],
                    boxes: Sequence[Box]) -> list[tuple[float, ...]]:
    """Each instance's oriented box (:func:`~dlwild.deepscores.geometry.oriented_box` of its
    mask pixels, to 1/1000 px; all instances in one Shapely call); the aligned box's corners
    for an instance that covers no pixel centre."""
    out: list[tuple[float, ...]] = []
    points, drawn = [], []
    for i, (window, box) in enumerate(zip(windows, boxes, strict=True), start=1):
        mask = instance_mask[window] == i if window is not None else None
        if mask is None or not mask.any():
            x0, y0, x1, y1 = box
            out.append((x0, y0, x1, y0, x1, y1, x0, y1))
        else:
            points.append(mask_points(mask, offset=(window[1].start, window[0].start)))
            drawn.append(i - 1)
            out.append(())
    for k, corners in zip(drawn, oriented_boxes(points), strict=True):
        out[k] = tuple(round(v, 3) for v in corners)
    return out


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


_SVG_START = re.compile(r"<svg\b[^>]*>")


def _attribute(tag: str, name: str) -> str | None:
    """The value of attribute ``name`` in an XML start tag (double-quoted, as Verovio writes
    them), or None."""
    found = re.search(rf'\s{name}="([^"]*)"', tag)
    return None if found is None else found.group(1)


def _with_attributes(tag: str, values: dict[str, str]) -> str:
    """The start tag with each of ``values`` set: replaced where present, else added."""
    for name, value in values.items():
        if _attribute(tag, name) is None:
            tag = f'{tag[:-1]} {name}="{value}">'
        else:
            tag = re.sub(rf'(\s{name}=)"[^"]*"', lambda m, v=value: f'{m.group(1)}"{v}"', tag,
                         count=1)
    return tag


def _resize(svg: str, interline: float, piece: str) -> str:
    """Verovio's page SVG sized so one interline (2 * UNIT * 10 SVG units) is ``interline``
    pixels: root width/height in whole pixels, the drawing's viewport pinned top-left.  Only
    the two start tags change, in the text (parsing and writing the whole page took about a
    tenth of its engraving time)."""
    tags = _SVG_START.finditer(svg)
    root = next(tags, None)
    inner = next((t for t in tags if "definition-scale" in (
        _attribute(t.group(0), "class") or "").split()), None)
    view_box = None if inner is None else _attribute(inner.group(0), "viewBox")
    if root is None or not view_box:
        raise EngraveError(f"{piece}: Verovio SVG without its definition-scale viewBox")
    scale = interline / (2 * UNIT * 10)
    _, _, vw, vh = (float(t) for t in re.split(r"[\s,]+", view_box.strip()))
    outer = _with_attributes(root.group(0), {"width": f"{round(vw * scale)}px",
                                             "height": f"{round(vh * scale)}px"})
    drawing = _with_attributes(inner.group(0), {
        "width": f"{vw * scale:.6f}", "height": f"{vh * scale:.6f}",
        "preserveAspectRatio": "xMinYMin meet"})
    return "".join([svg[:root.start()], outer, svg[root.end():inner.start()], drawing,
                    svg[inner.end():]])


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
    width = round(svg_length(root.get("width"), 0, 0))
    height = round(svg_length(root.get("height"), 0, 0))
    try:
        found = annotated_marks(root, font)
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
    argb = _instance_raster(root, marks, width, height)
    instance_mask = argb.astype(np.uint16)  # colour #i on opaque black: 0xFF000000 + i
    lut = np.zeros(len(marks) + 1, dtype=np.uint8)
    lut[1:] = [CLASS_IDS[m.cls] for m in marks]
    class_mask = lut[instance_mask]
    windows = ndimage.find_objects(instance_mask, max_label=len(marks)) if marks else []
    obboxes = _oriented_boxes(instance_mask, windows, [m.box for m in marks])
    symbols = [
        Symbol(cls=m.cls, bbox=m.box, instance=i, obbox=obbox, comments=f"glyph:{m.code}")
        for i, (m, obbox) in enumerate(zip(marks, obboxes, strict=True), start=1)
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


def import_music21() -> None:
    """Import music21 without its notebook hook: in a Jupyter kernel, music21 loads an IPython
    extension a second after its import that switches matplotlib's inline figures to 'retina',
    which this IPython cannot show as PNG, so every later figure of the page would be lost."""
    import music21

    timer = getattr(music21.ipython21, "t", None)
    if timer is not None:
        timer.cancel()


def music21_version() -> str:
    """music21's version, read from its installed metadata (recorded with the pages)."""
    from importlib.metadata import version

    return version("music21")


def corpus_pieces(composer: str = "bach") -> list[str]:
    """Scores of ``composer`` in music21's bundled corpus (``"all"``: of every composer), as
    corpus-relative paths (e.g. 'bach/bwv66.6.mxl'), sorted."""
    import_music21()
    from music21 import common, corpus

    root = Path(common.getCorpusFilePath())
    paths = corpus.getPaths() if composer == "all" else corpus.getComposer(composer)
    return sorted(Path(p).relative_to(root).as_posix() for p in paths
                  if Path(p).suffix.lower() in SCORE_SUFFIXES)


def piece_composer(piece: str) -> str:
    """The composer (the corpus folder) of a corpus-relative piece path."""
    return piece.split("/", 1)[0]


def corpus_name(composer: str) -> str:
    """How the page and the records name the pieces of ``composer`` ("all": the corpus)."""
    if composer == "bach":
        return "music21 Bach chorales"
    return "music21 corpus, every composer" if composer == "all" else f"music21 {composer}"


def corpus_score(piece: str) -> str:
    """MusicXML text of corpus piece ``piece``, parsed and exported by music21; EngraveError
    naming the piece when music21 cannot."""
    import_music21()
    from music21 import corpus
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    try:
        score = corpus.parse(piece)
        return GeneralObjectExporter(score).parse().decode("utf-8")
    except Exception as exc:  # music21 raises many kinds; any of them means: skip the piece
        raise EngraveError(f"{piece}: music21 could not parse or export it "
                           f"({type(exc).__name__}: {exc})") from exc
