"""Reading Verovio's page SVG: transforms and viewports composed into one matrix per element,
and every annotated glyph (a ``<use>`` of a SMuFL glyph, or a dot's ellipse) with its class
(:mod:`.classes`) and its exact box in page pixels."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from dlwild.deepscores.annotations import Box
from dlwild.deepscores.classes import classify, glyph_for

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


def svg_length(value: str | None, reference: float, default: float) -> float:
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
    x, y = svg_length(el.get("x"), pw, 0.0), svg_length(el.get("y"), ph, 0.0)
    w, h = svg_length(el.get("width"), pw, pw), svg_length(el.get("height"), ph, ph)
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


def local_name(tag: Any) -> str:
    """Tag name without its namespace ('' for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


@dataclass
class Mark:
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


def annotated_marks(root: ET.Element, font: str) -> list[Mark]:
    """Every annotated symbol of a page SVG, in drawing order."""
    size = (svg_length(root.get("width"), 0, 0), svg_length(root.get("height"), 0, 0))
    marks: list[Mark] = []

    def visit(el: ET.Element, parent: ET.Element | None, m: Matrix,
              viewport: tuple[float, float], context: tuple[str, ...]) -> None:
        tag = local_name(el.tag)
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
                um = _mul(m, (1.0, 0.0, 0.0, 1.0, svg_length(el.get("x"), 0, 0),
                              svg_length(el.get("y"), 0, 0)))
                # Glyph paths are drawn with scale(1,-1): font y up -> SVG y down.
                box = _box_of(um, glyph.x, -(glyph.y + glyph.h), glyph.x + glyph.w, -glyph.y)
                marks.append(Mark(el, parent, cls, glyph.code, um, box))
        elif tag == "ellipse" and parent is not None:
            cls = classify("ellipse", context)
            if cls is not None:
                cx, cy = float(el.get("cx", 0)), float(el.get("cy", 0))
                rx, ry = float(el.get("rx", 0)), float(el.get("ry", 0))
                marks.append(Mark(el, parent, cls, "ellipse", m,
                                   _box_of(m, cx - rx, cy - ry, cx + rx, cy + ry)))
        for child in el:
            visit(child, el, m, viewport, context)

    visit(root, None, IDENTITY, size, ())
    return marks



def glyph_defs(root: ET.Element) -> dict[str, ET.Element]:
    """Glyph definitions of a Verovio SVG (``<defs><g id=...>``) by id."""
    defs = root.find(f"{{{SVG_NS}}}defs")
    return {g.get("id"): g for g in (defs if defs is not None else []) if g.get("id")}
