"""The engraver (shared/papers/deepscores.md §3.1, §5): real scores engraved by Verovio give
boxes tight on the printed ink, masks that agree with the boxes, DeepScores' context classes,
a 10 px interline and deterministic pages."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scores import CHORALE, SNIPPET, digest

from dlwild.deepscores.classes import (
    CLASS_IDS,
    CLASSES,
    FONTS,
    class_id,
    classify,
    glyph_for,
    glyph_names,
    glyph_table,
)
from dlwild.deepscores.engrave import (
    EngraveError,
    annotate_svg,
    corpus_score,
    engrave,
    page_svgs,
    rasterise,
    unannotated_svg,
)
from dlwild.deepscores.svg import parse_transform


@pytest.fixture(scope="module")
def chorale():
    """(page svg, engraved page) of the chorale's first page in Leipzig."""
    svg = page_svgs(corpus_score(CHORALE), piece=CHORALE, font="Leipzig")[0]
    return svg, annotate_svg(svg, page_id="chorale-p01", font="Leipzig", piece=CHORALE)


def _window(box, shape, pad=0):
    """Integer slice window of a float box (rounded outwards, padded, clipped)."""
    x0, y0, x1, y1 = box
    return (slice(max(int(np.floor(y0)) - pad, 0), min(int(np.ceil(y1)) + pad, shape[0])),
            slice(max(int(np.floor(x0)) - pad, 0), min(int(np.ceil(x1)) + pad, shape[1])))


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_is_smufl_names_with_stable_ids():
    assert len(CLASSES) == len(set(CLASSES)) < 256  # uint8 class masks
    assert [CLASS_IDS[c] for c in CLASSES] == list(range(1, len(CLASSES) + 1))
    names = set(glyph_names().values())
    not_smufl = {c for c in CLASSES if c not in names}
    assert not_smufl == {"keyFlat", "keyNatural", "keySharp"}  # DeepScores' context classes
    assert glyph_names()["E050"] == "gClef" and glyph_names()["E0A4"] == "noteheadBlack"
    assert glyph_names()["E262"] == "accidentalSharp" and glyph_names()["E4E5"] == "restQuarter"
    assert class_id("noteheadBlack") == CLASSES.index("noteheadBlack") + 1
    with pytest.raises(KeyError, match="clefG"):
        class_id("clefG")


def test_glyph_tables_and_fallback_font():
    for font in FONTS:
        g = glyph_table(font)["E050"]
        assert g.name == "gClef" and g.w > 0 and g.h > 0
    assert "E883" not in glyph_table("Gootville")  # tuplet3: Verovio falls back to Leipzig
    assert glyph_for("E883", "Gootville") == glyph_table("Leipzig")["E883"]
    with pytest.raises(ValueError, match="Verovio ships"):
        glyph_table("Emmentaler")


def test_context_rules():
    key = ("system", "measure", "staff", "keySig", "keyAccid")
    note = ("system", "measure", "staff", "layer", "note", "accid")
    assert classify("accidentalSharp", key) == "keySharp"
    assert classify("accidentalFlat", key) == "keyFlat"
    assert classify("accidentalNatural", key) == "keyNatural"
    assert classify("accidentalSharp", note) == "accidentalSharp"
    assert classify("ellipse", ("layer", "note", "dots")) == "augmentationDot"
    assert classify("ellipse", ("system", "pb", "placeholder")) is None
    assert classify("articStaccatoAbove", ("layer", "note", "artic")) == "articStaccatoAbove"
    assert classify("timeSig4", ("staff", "meterSig")) == "timeSig4"
    assert classify("bracketTop", ("system", "grpSym")) is None
    assert classify("noteheadNull", ("note",)) is None and classify(None, ()) is None


def test_context_classes_on_a_hand_written_score():
    page = engrave(SNIPPET, piece="snippet")[0].page
    by_class: dict[str, list] = {}
    for s in page.symbols:
        by_class.setdefault(s.cls, []).append(s)
    assert len(by_class["keySharp"]) == 2  # D major: F#, C#
    assert len(by_class["accidentalSharp"]) == 1  # the G#
    assert len(by_class["augmentationDot"]) == 1 and len(by_class["articStaccatoBelow"]) == 1
    assert {"gClef", "timeSig3", "timeSig4", "noteheadBlack", "flag8thUp",
            "restQuarter"} <= set(by_class)
    # The key signature sits left of the time signature, the accidental left of its notehead.
    assert max(s.bbox[2] for s in by_class["keySharp"]) < by_class["timeSig3"][0].bbox[0]
    sharp = by_class["accidentalSharp"][0]
    g_sharp = min(by_class["noteheadBlack"], key=lambda s: abs(s.center[1] - sharp.center[1]))
    assert sharp.bbox[2] <= g_sharp.bbox[0] and g_sharp.bbox[0] - sharp.bbox[2] < 10


# --------------------------------------------------------------------------- geometry


def test_svg_transforms_compose_left_to_right():
    a, b, c, d, e, f = parse_transform("translate(10, 20) scale(0.5, 2)")
    assert (a * 4 + c * 3 + e, b * 4 + d * 3 + f) == (12.0, 26.0)
    a, b, c, d, e, f = parse_transform("rotate(90 1 1)")
    assert np.allclose((a * 2 + c * 1 + e, b * 2 + d * 1 + f), (1.0, 2.0))
    assert parse_transform(None) == parse_transform("") == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="unsupported"):
        parse_transform("perspective(3)")


def test_boxes_are_tight_on_the_ink(chorale):
    svg, (page, image, _, instance_mask) = chorale
    assert len(page.symbols) > 150 and set(page.classes()) <= set(CLASSES)
    ink = image < 128
    with_ink = sum(ink[_window(s.bbox, ink.shape)].any() for s in page.symbols)
    assert with_ink >= 0.95 * len(page.symbols)
    # Tight: the symbol's own pixels reach to within 2 px of every side of its box.
    for s in page.symbols:
        ys, xs = np.nonzero(instance_mask == s.instance)
        assert len(xs), s
        x0, y0, x1, y1 = s.bbox
        gaps = (xs.min() - x0, ys.min() - y0, x1 - xs.max() - 1, y1 - ys.max() - 1)
        assert max(gaps) < 2.0, (s.cls, s.bbox, gaps)
    # Ink outside every box is ink of what DeepScores leaves unannotated (staff lines, stems,
    # beams, bar lines, text), i.e. still there when the annotated glyphs are removed.
    inside = np.zeros_like(ink)
    for s in page.symbols:
        inside[_window(s.bbox, ink.shape, pad=1)] = True
    bare = rasterise(unannotated_svg(svg, "Leipzig"))
    outside = ink & ~inside
    assert outside.sum() > 10_000  # staff lines etc. are there
    assert (outside & (bare > 200)).sum() <= 10


def test_masks_agree_with_boxes(chorale):
    _, (page, _, class_mask, instance_mask) = chorale
    assert class_mask.dtype == np.uint8 and instance_mask.dtype == np.uint16
    assert class_mask.shape == instance_mask.shape == (page.height, page.width)
    boxes = np.array([s.bbox for s in page.symbols])
    ys, xs = np.nonzero(instance_mask)
    ids = instance_mask[ys, xs].astype(int) - 1
    cx, cy = xs + 0.5, ys + 0.5  # pixel centres
    tol = 0.1
    assert np.all((cx >= boxes[ids, 0] - tol) & (cx <= boxes[ids, 2] + tol)
                  & (cy >= boxes[ids, 1] - tol) & (cy <= boxes[ids, 3] + tol))
    classes = np.array([class_id(s.cls) for s in page.symbols])
    assert np.array_equal(class_mask[ys, xs], classes[ids])
    assert not class_mask[instance_mask == 0].any()
    # Oriented boxes: 4 corners of a rectangle around the symbol's pixels, no larger than
    # the aligned box (grown by the half pixel the pixel squares reach past the centres).
    for s in page.symbols:
        assert s.obbox is not None and len(s.obbox) == 8
        rect = shapely.Polygon(np.reshape(s.obbox, (4, 2)))
        h, w = s.size
        assert rect.area <= (w + 1) * (h + 1) + 1e-6, s
        py, px = np.nonzero(instance_mask == s.instance)
        assert shapely.contains_xy(rect.buffer(1e-6), px + 0.5, py + 0.5).all(), s


def test_interline_is_10_px(chorale):
    _, (page, image, _, _) = chorale
    darkness = (255 - image.astype(float)).mean(axis=1)
    rows = darkness > 0.4 * darkness.max()  # staff lines span the page width
    lines, y = [], 0
    while y < len(rows):
        if rows[y]:
            start = y
            while y < len(rows) and rows[y]:
                y += 1
            w = darkness[start:y]
            lines.append(float((np.arange(start, y) * w).sum() / w.sum()))
        y += 1
    gaps = np.diff(lines)
    within = gaps[gaps < 20]  # consecutive lines of one staff
    assert len(lines) % 5 == 0 and len(within) == 4 * len(lines) // 5
    assert abs(np.median(within) - 10.0) < 0.25 and np.all(np.abs(within - 10) < 0.75)
    assert (page.width, page.height) == (1167, 1650)


def test_engraving_is_deterministic(chorale):
    svg, first = chorale
    score = corpus_score(CHORALE)
    again = page_svgs(score, piece=CHORALE, font="Leipzig")[0]
    assert again == svg
    second = annotate_svg(again, page_id="chorale-p01", font="Leipzig", piece=CHORALE)
    assert digest(second) == digest(first)


# --------------------------------------------------------------------------- bad input


def test_malformed_score_names_the_piece():
    broken = SNIPPET[: len(SNIPPET) // 2]
    with pytest.raises(EngraveError, match="snippet-broken.*malformed"):
        engrave(broken, piece="snippet-broken")
    with pytest.raises(EngraveError, match="nonsense.*could not load"):
        engrave("this is no score", piece="nonsense")


def test_music21_is_imported_without_its_notebook_hook():
    import music21

    from dlwild.deepscores.engrave import import_music21, music21_version

    import_music21()
    timer = getattr(music21.ipython21, "t", None)  # set only when imported in a notebook
    assert timer is None or not timer.is_alive()
    assert music21_version() == music21.__version__
