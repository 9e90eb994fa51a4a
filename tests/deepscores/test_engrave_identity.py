"""The engraver's quick path draws the same bytes as the slow one it replaced: the page raster
and the instance mask against plain cairosvg on the unsimplified SVGs, the oriented boxes against
all pixel corners. (No pinned digest of a page: the page's text is drawn in whatever system
font fontconfig picks, so its bytes change when fonts are installed.)"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scores import CHORALE

from dlwild.deepscores import geometry
from dlwild.deepscores.classes import FONTS
from dlwild.deepscores.engrave import (
    INTERLINE_PX,
    UNIT,
    EngraveError,
    _instance_fills,
    _instance_raster,
    _instance_svg,
    _resize,
    _toolkit,
    annotate_svg,
    corpus_score,
    page_svgs,
    rasterise,
)
from dlwild.deepscores.geometry import oriented_box
from dlwild.deepscores.raster import Fill, render_argb, render_fills, render_rgb
from dlwild.deepscores.svg import SVG_NS, XLINK_NS, annotated_marks, glyph_defs, local_name


@pytest.fixture(scope="module")
def chorale_svg() -> str:
    """The chorale's first page SVG in Leipzig."""
    return page_svgs(corpus_score(CHORALE), piece=CHORALE, font="Leipzig")[0]


def _slow_rasterise(svg: str) -> np.ndarray:
    """The raster as first written: each glyph use inlined as a group of copied paths, every
    group kept, plain cairosvg."""
    root = ET.fromstring(svg)
    glyphs = glyph_defs(root)

    def visit(el: ET.Element) -> None:
        for i, child in enumerate(list(el)):
            if local_name(child.tag) == "use":
                href = child.get(f"{{{XLINK_NS}}}href") or child.get("href") or ""
                glyph = glyphs.get(href.removeprefix("#"))
                if glyph is not None:
                    attrib = {k: v for k, v in child.attrib.items()
                              if k not in ("x", "y", "href", f"{{{XLINK_NS}}}href")}
                    x, y = child.get("x", "0"), child.get("y", "0")
                    attrib["transform"] = f"{child.get('transform', '')} translate({x},{y})"
                    group = ET.Element(f"{{{SVG_NS}}}g", attrib)
                    group.extend(copy.deepcopy(list(glyph)))
                    el[i] = group
            elif local_name(child.tag) != "defs":
                visit(child)

    visit(root)
    return render_rgb(ET.tostring(root, encoding="unicode"), "white", quick=False)[..., 0]


def _slow_instance_mask(svg: str) -> np.ndarray:
    """The instance mask as first written: a group per glyph around its serialised paths,
    plain cairosvg (on the marks annotate_svg keeps: all of the chorale's lie on the page)."""
    root = ET.fromstring(svg)
    marks = annotated_marks(root, "Leipzig")
    glyphs = glyph_defs(root)
    parts = [f'<svg xmlns="{SVG_NS}" width="1167px" height="1650px" shape-rendering="crispEdges">']
    for i, mark in enumerate(marks, start=1):
        matrix = "matrix(" + ",".join(f"{v:.9g}" for v in mark.matrix) + ")"
        el = mark.element
        if mark.code == "ellipse":
            parts.append(f'<ellipse cx="{el.get("cx")}" cy="{el.get("cy")}" rx="{el.get("rx")}" '
                         f'ry="{el.get("ry")}" transform="{matrix}" fill="#{i:06x}" '
                         'stroke="none"/>')
            continue
        href = (el.get(f"{{{XLINK_NS}}}href") or "").removeprefix("#")
        parts.append(f'<g transform="{matrix}" fill="#{i:06x}" stroke="none">')
        parts.extend(ET.tostring(child, encoding="unicode") for child in glyphs[href])
        parts.append("</g>")
    parts.append("</svg>")
    rgb = render_rgb("".join(parts), "black", quick=False).astype(np.uint32)
    return ((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]).astype(np.uint16)


def test_page_raster_is_the_slow_paths_bytes(chorale_svg):
    assert np.array_equal(rasterise(chorale_svg), _slow_rasterise(chorale_svg))


def test_instance_mask_is_the_slow_paths_bytes(chorale_svg):
    page = annotate_svg(chorale_svg, page_id="chorale-p01", font="Leipzig", piece=CHORALE)
    assert len(page.page.symbols) == len(annotated_marks(ET.fromstring(chorale_svg), "Leipzig"))
    assert np.array_equal(page.instance_mask, _slow_instance_mask(chorale_svg))


@pytest.mark.parametrize("font", FONTS)
def test_instance_fills_draw_the_instance_svgs_bytes(font):
    # The instance raster drawn from its list of shapes is the one cairosvg draws from the
    # instance SVG, in every font (glyph outlines, and ellipses: this chorale's first page has
    # three).
    piece = "bach/bwv10.7.mxl"
    svg = page_svgs(corpus_score(piece), piece=piece, font=font, max_pages=1)[0]
    root = ET.fromstring(svg)
    marks = annotated_marks(root, font)
    fills = _instance_fills(root, marks)
    assert fills is not None and len(fills) == len(marks)
    assert {f.d is None for f in fills} == {False, True}  # glyphs and ellipses both drawn
    width, height = int(root.get("width")[:-2]), int(root.get("height")[:-2])
    direct = render_fills(width, height, fills, "black")
    assert np.array_equal(direct, render_argb(_instance_svg(root, marks, width, height), "black"))
    assert len(np.unique(direct)) == len(marks) + 1  # every mark drew pixels of its own


def test_render_fills_is_render_argb_of_the_shapes_svg():
    fills = [Fill("matrix(1,0,0,1,3.5,2)", "#000001", d="M0 0 L20 0 L20 9 Z"),
             Fill("matrix(0.7,0.3,-0.3,0.7,30,20) scale(1,-1)", "#0000ff",
                  d="M0 0 C10 -15 20 5 12 -12 Z"),
             Fill("matrix(1,0,0,1,0,0)", "#00ff00", ellipse=("45", "10", "6.5", "3.25"))]
    body = "".join(
        f'<path transform="{f.transform}" fill="{f.colour}" stroke="none" d="{f.d}"/>'
        if f.d is not None else
        '<ellipse cx="{}" cy="{}" rx="{}" ry="{}" '.format(*f.ellipse)
        + f'transform="{f.transform}" fill="{f.colour}" stroke="none"/>' for f in fills)
    svg = (f'<svg xmlns="{SVG_NS}" width="60px" height="40px" shape-rendering="crispEdges">'
           f"{body}</svg>")
    for background in ("black", "white"):
        direct = render_fills(60, 40, fills, background)
        assert np.array_equal(direct, render_argb(svg, background))
        assert set(np.unique(direct).tolist()) >= {0xFF000001, 0xFF0000FF, 0xFF00FF00}
    with pytest.raises(ValueError, match="either a path"):
        Fill("matrix(1,0,0,1,0,0)", "#000001")
    with pytest.raises(ValueError, match="cannot draw"):
        render_fills(10, 10, [Fill("matrix(1,0,0,1,0,0)", "#000001", d="l 3 3")], "black")


def test_a_glyph_of_several_paths_takes_the_svg_route(chorale_svg):
    # A glyph that is not one bare path has no Fill: its page's instances are drawn from the
    # instance SVG, the same pixels as before.
    root = ET.fromstring(chorale_svg)
    marks = annotated_marks(root, "Leipzig")
    href = (marks[0].element.get(f"{{{XLINK_NS}}}href") or "").removeprefix("#")
    glyph = glyph_defs(root)[href]
    glyph.append(copy.deepcopy(glyph[0]))
    assert _instance_fills(root, marks) is None
    assert np.array_equal(_instance_raster(root, marks, 1167, 1650),
                          render_argb(_instance_svg(root, marks, 1167, 1650), "black"))


def _parsed_resize(svg: str, interline: float) -> str:
    """The page sizing as first written: parse the page, set the attributes, write it out."""
    root = ET.fromstring(svg)
    inner = next(c for c in root if local_name(c.tag) == "svg")
    _, _, vw, vh = (float(t) for t in inner.get("viewBox").split())
    scale = interline / (2 * UNIT * 10)  # an interline is 2 * UNIT * 10 SVG units
    root.set("width", f"{round(vw * scale)}px")
    root.set("height", f"{round(vh * scale)}px")
    inner.set("width", f"{vw * scale:.6f}")
    inner.set("height", f"{vh * scale:.6f}")
    inner.set("preserveAspectRatio", "xMinYMin meet")
    return ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("font", ["Leipzig", "Bravura"])
def test_sizing_in_the_text_gives_the_parsed_pages_pixels_and_symbols(font):
    piece = "bach/bwv10.7.mxl"
    toolkit = _toolkit(font, (2100, 2970))
    toolkit.loadData(corpus_score(piece))
    raw = toolkit.renderToSVG(1)
    quick = annotate_svg(_resize(raw, INTERLINE_PX, piece), page_id="p", font=font)
    slow = annotate_svg(_parsed_resize(raw, INTERLINE_PX), page_id="p", font=font)
    assert quick.page.symbols == slow.page.symbols and quick.page.width == slow.page.width
    assert np.array_equal(quick.image, slow.image)
    assert np.array_equal(quick.instance_mask, slow.instance_mask)


def test_sizing_sets_only_the_two_viewports():
    svg = ('<svg width="2100px" height="2970px" xmlns="http://www.w3.org/2000/svg" id="a">'
           '<desc>x</desc><svg class="page-margin definition-scale" viewBox="0 0 21000 29700" '
           'stroke-width="3"><path d="M0 0"/><svg class="other" width="7"/></svg></svg>')
    sized = ET.fromstring(_resize(svg, 10.0, "piece"))  # 1 px = 18 units (UNIT = 9)
    assert (sized.get("width"), sized.get("height"), sized.get("id")) == ("1167px", "1650px", "a")
    inner = sized[1]
    assert (inner.get("width"), inner.get("height")) == ("1166.666667", "1650.000000")
    assert inner.get("preserveAspectRatio") == "xMinYMin meet"
    assert inner.get("stroke-width") == "3" and inner[1].get("width") == "7"
    with pytest.raises(EngraveError, match="piece: Verovio SVG without"):
        _resize(svg.replace(' viewBox="0 0 21000 29700"', ""), 10.0, "piece")
    with pytest.raises(EngraveError, match="without its definition-scale"):
        _resize("<svg><g/></svg>", 10.0, "piece")


def test_quick_renderer_draws_what_cairosvg_draws():
    svg = (f'<svg xmlns="{SVG_NS}" width="60px" height="40px"><g stroke="red" stroke-width="2">'
           '<path d="M5 5 L50 30 Q20 35 10 20 z" fill="blue" opacity="0.5"/>'
           '<path d="m30 5 h20 v10 a5 5 0 0 1 -20 0z" stroke-linejoin="round" fill="none"/>'
           '<path d="M2 38 L58 38" stroke-dasharray="3 2"/>'
           '<path d="M40 30 C45 40 55 20 58 35" fill-rule="evenodd" visibility="hidden"/>'
           '</g><text x="5" y="38" font-size="9">ok</text></svg>')
    for background in ("white", "black"):
        quick = render_rgb(svg, background)
        assert np.array_equal(quick, render_rgb(svg, background, quick=False))
        assert (quick != quick[0, 0]).any()


def test_replayed_calls_check_cairos_status_once_at_the_end():
    # the C calls without cairocffi's check after each: an error on the way still raises
    import cairocffi
    from cairocffi import cairo as lib

    from dlwild.deepscores.raster import _native_calls, _replay

    context = cairocffi.Context(cairocffi.ImageSurface(cairocffi.FORMAT_ARGB32, 8, 8))
    _replay(context, _native_calls("M1 1 L6 6 z"))
    assert context.copy_path() == [(0, (1.0, 1.0)), (1, (6.0, 6.0)), (3, ()), (0, (1.0, 1.0))]
    with pytest.raises(cairocffi.CairoError, match="RESTORE"):
        _replay(context, ((lib.cairo_restore, ()), (lib.cairo_line_to, (2.0, 2.0))))


def _all_corners(mask: np.ndarray) -> np.ndarray:
    """Every corner of every pixel square of ``mask``: what oriented_box first took."""
    rows, cols = np.nonzero(mask)
    return np.concatenate([np.stack([cols + dx, rows + dy], axis=1)
                           for dx in (0, 1) for dy in (0, 1)])


def test_oriented_box_from_row_ends_is_the_box_from_all_corners(monkeypatch):
    rng = np.random.default_rng(0)
    masks = [rng.random((rng.integers(1, 14), rng.integers(1, 14))) < rng.random()
             for _ in range(300)]
    masks = [m for m in masks if m.any()]
    quick = [oriented_box(m, offset=(3.0, 7.5)) for m in masks]
    assert geometry.oriented_boxes([geometry.mask_points(m, (3.0, 7.5)) for m in masks]) == quick
    monkeypatch.setattr(geometry, "_outer_corners", _all_corners)
    assert quick == [oriented_box(m, offset=(3.0, 7.5)) for m in masks]

