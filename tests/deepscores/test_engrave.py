"""The engraver (shared/papers/deepscores.md §3.1, §5): real scores engraved by Verovio give
boxes tight on the printed ink, masks that agree with the boxes, DeepScores' context classes,
a 10 px interline, deterministic pages, and data sets split by piece across fonts."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pytest
import shapely

from dlwild.core.cache import ArtifactCache
from dlwild.deepscores import engrave as engrave_module
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
    build_dataset,
    corpus_score,
    engrave,
    page_svgs,
    parse_transform,
    rasterise,
    unannotated_svg,
)

CHORALE = "bach/bwv66.6.mxl"  # one page in Leipzig: 4 staves, key signature, fermatas, dots

SNIPPET = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="4.0">
  <part-list><score-part id="P1"><part-name>Test</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes>
        <divisions>2</divisions>
        <key><fifths>2</fifths></key>
        <time><beats>3</beats><beat-type>4</beat-type></time>
        <clef><sign>G</sign><line>2</line></clef>
      </attributes>
      <note><pitch><step>A</step><octave>4</octave></pitch><duration>3</duration>
        <type>quarter</type><dot/></note>
      <note><pitch><step>G</step><alter>1</alter><octave>4</octave></pitch><duration>1</duration>
        <type>eighth</type><accidental>sharp</accidental>
        <notations><articulations><staccato placement="below"/></articulations></notations></note>
      <note><rest/><duration>2</duration><type>quarter</type></note>
    </measure>
  </part>
</score-partwise>
"""


def tiny_piece(fifths: int, steps: str) -> str:
    """A one-measure 4/4 MusicXML piece: key ``fifths``, four quarter notes ``steps``."""
    notes = "".join(
        f"<note><pitch><step>{s}</step><octave>4</octave></pitch><duration>1</duration>"
        "<type>quarter</type></note>" for s in steps)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><score-partwise version="4.0">'
        '<part-list><score-part id="P1"><part-name>T</part-name></score-part></part-list>'
        '<part id="P1"><measure number="1"><attributes><divisions>1</divisions>'
        f"<key><fifths>{fifths}</fifths></key><time><beats>4</beats><beat-type>4</beat-type>"
        f"</time><clef><sign>G</sign><line>2</line></clef></attributes>{notes}</measure>"
        "</part></score-partwise>")


SOURCES = {"tiny-a": tiny_piece(-2, "CDEF"), "tiny-b": tiny_piece(0, "GABG"),
           "tiny-c": tiny_piece(3, "EFGA")}


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


def _digest(engraved) -> str:
    """sha256 over a page's boxes, image and masks."""
    h = hashlib.sha256()
    h.update(repr([(s.cls, s.bbox, s.obbox) for s in engraved.page.symbols]).encode())
    for array in (engraved.image, engraved.class_mask, engraved.instance_mask):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


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
    assert _digest(second) == _digest(first)


# --------------------------------------------------------------------------- bad input


def test_malformed_score_names_the_piece():
    broken = SNIPPET[: len(SNIPPET) // 2]
    with pytest.raises(EngraveError, match="snippet-broken.*malformed"):
        engrave(broken, piece="snippet-broken")
    with pytest.raises(EngraveError, match="nonsense.*could not load"):
        engrave("this is no score", piece="nonsense")


def test_malformed_score_is_skipped_and_logged(tmp_path, caplog):
    sources = {"good": SOURCES["tiny-a"], "broken": SNIPPET[: len(SNIPPET) // 2]}
    with caplog.at_level(logging.WARNING, logger="dlwild.deepscores.engrave"):
        data = build_dataset(None, ["Leipzig"], 0, sources=sources,
                             cache=ArtifactCache(tmp_path))
    assert "broken" in data.skipped and "malformed" in data.skipped["broken"]
    assert any("broken" in r.getMessage() and "malformed" in r.getMessage()
               for r in caplog.records)
    assert data.train_pieces == ["good"] and data.test_pieces == []
    with pytest.raises(EngraveError, match="no usable piece"):
        build_dataset(None, ["Leipzig"], 0, sources={"broken": sources["broken"]},
                      cache=ArtifactCache(tmp_path))


# --------------------------------------------------------------------------- data sets


def test_dataset_split_by_piece_across_fonts_deterministic_and_cached(tmp_path, monkeypatch):
    fonts = ["Leipzig", "Bravura"]
    data = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                         cache=ArtifactCache(tmp_path / "a"))
    assert set(data.train_pieces) | set(data.test_pieces) == set(SOURCES)
    assert not set(data.train_pieces) & set(data.test_pieces) and len(data.test_pieces) == 1
    for side, pieces in ((data.train, data.train_pieces), (data.test, data.test_pieces)):
        assert {p.page.piece for p in side} == set(pieces)
        for piece in pieces:  # every font of a piece on the same side
            assert {p.page.font for p in side if p.page.piece == piece} == set(fonts)
    assert all(p.page.symbols for p in data.pages())
    # Same seed, fresh cache: identical split, boxes and pixels.
    again = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                          cache=ArtifactCache(tmp_path / "b"))
    assert (again.train_pieces, again.test_pieces) == (data.train_pieces, data.test_pieces)
    assert [_digest(p) for p in again.pages()] == [_digest(p) for p in data.pages()]
    # Second call with the same cache: read back from disk, nothing engraved.
    monkeypatch.setattr(engrave_module, "engrave",
                        lambda *a, **k: pytest.fail("engraved again instead of loading"))
    cached = build_dataset(None, fonts, 3, sources=SOURCES, test_fraction=0.34,
                           cache=ArtifactCache(tmp_path / "a"))
    assert [_digest(p) for p in cached.pages()] == [_digest(p) for p in data.pages()]
    assert [p.page for p in cached.pages()] == [p.page for p in data.pages()]


def test_dataset_from_the_corpus(tmp_path):
    data = build_dataset(2, ["Leipzig"], 0, max_pages_per_piece=1,
                         cache=ArtifactCache(tmp_path))
    assert len(data.train_pieces) == len(data.test_pieces) == 1
    assert all(p.startswith("bach/") for p in data.train_pieces + data.test_pieces)
    assert len(data.pages()) == 2 and not data.skipped
    for engraved in data.pages():
        page = engraved.page
        assert engraved.image.shape == (page.height, page.width)
        assert len(page.symbols) > 100 and "noteheadBlack" in page.classes()
        assert page.font == "Leipzig" and page.piece in page.source


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_puts_a_class_of_some_pieces_into_test_when_it_can(seed):
    pieces = [f"piece-{i}" for i in range(8)]
    plain_train, plain_test = engrave_module._split(pieces, 0.25, seed)
    # "rare" occurs only in two pieces that the plain seeded shuffle puts both into train.
    rare = plain_train[:2]
    classes = {p: {"noteheadBlack", *({"keySharp"} if p in rare else ())} for p in pieces}
    assert "keySharp" not in engrave_module.shared_classes(plain_train, plain_test, classes)
    train, test = engrave_module._split(pieces, 0.25, seed, classes)
    assert len(test) == len(plain_test) and sorted(train + test) == sorted(pieces)
    assert engrave_module.shared_classes(train, test, classes) == {"noteheadBlack", "keySharp"}
    assert len(set(rare) & set(test)) == 1  # one in each side: learnt and tested
    assert engrave_module._split(pieces, 0.25, seed, classes) == (train, test)  # deterministic


def test_split_leaves_a_class_of_a_single_piece_alone():
    pieces = [f"piece-{i}" for i in range(6)]
    classes = {p: {"noteheadBlack"} for p in pieces}
    classes["piece-3"] = {"noteheadBlack", "restWhole"}
    # Nothing to gain: every candidate shares the same classes, so the plain shuffle stays.
    assert engrave_module._split(pieces, 0.34, 5, classes) == engrave_module._split(
        pieces, 0.34, 5)
