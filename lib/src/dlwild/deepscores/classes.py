"""The DeepScores-style class vocabulary (SMuFL glyph names) and the rules that turn a glyph
Verovio draws into a class.

DeepScores v1 names its classes after SMuFL glyphs (gClef, noteheadBlack, accidentalSharp,
rest8th, ...) and lets context decide look-alikes (a sharp in a key signature is keySharp).
We do the same for Verovio's SVG: the glyph's code point gives its SMuFL name (from the glyph
tables Verovio ships, one per font), the classes of its SVG ancestor groups give the context.

Class ids: ``CLASSES[i - 1]`` has id ``i``; id 0 is the background of the masks. The list is
our own (v1's 124-name list is not available offline): every fixed-shape SMuFL glyph that
Verovio draws for common-practice scores, in a fixed order. Append new names at the end so the
ids of existing classes never change. Staff lines, ledger lines, stems, beams, bar lines,
slurs, ties, hairpins, brackets and text are not classes, as in DeepScores v1.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FONTS: tuple[str, ...] = ("Bravura", "Gootville", "Leipzig", "Leland", "Petaluma")
"""Verovio's bundled SMuFL fonts, a stand-in for DeepScores' five LilyPond fonts."""

FALLBACK_FONT = "Leipzig"
"""Verovio draws a glyph missing from the chosen font with this font (its default)."""

BACKGROUND = 0

CLASSES: tuple[str, ...] = (
    # clefs (the *Change glyphs are the smaller clefs of a clef change inside a staff)
    "gClef", "gClef8vb", "gClef8va", "gClef15mb", "gClef15ma", "cClef", "fClef", "fClef8vb",
    "unpitchedPercussionClef1", "gClefChange", "cClefChange", "fClefChange",
    # key signatures (context: an accidental inside a keySig group)
    "keyFlat", "keyNatural", "keySharp",
    # time signatures
    "timeSig0", "timeSig1", "timeSig2", "timeSig3", "timeSig4", "timeSig5", "timeSig6",
    "timeSig7", "timeSig8", "timeSig9", "timeSigCommon", "timeSigCutCommon",
    # noteheads and dots
    "noteheadDoubleWhole", "noteheadWhole", "noteheadHalf", "noteheadBlack", "noteheadXBlack",
    "augmentationDot",
    # flags
    "flag8thUp", "flag8thDown", "flag16thUp", "flag16thDown", "flag32ndUp", "flag32ndDown",
    "flag64thUp", "flag64thDown", "flag128thUp", "flag128thDown",
    # accidentals (context: inside a note's accid group)
    "accidentalFlat", "accidentalNatural", "accidentalSharp", "accidentalDoubleSharp",
    "accidentalDoubleFlat",
    # articulations and fermatas
    "articAccentAbove", "articAccentBelow", "articStaccatoAbove", "articStaccatoBelow",
    "articTenutoAbove", "articTenutoBelow", "articStaccatissimoAbove", "articStaccatissimoBelow",
    "articMarcatoAbove", "articMarcatoBelow", "fermataAbove", "fermataBelow",
    # rests
    "restDoubleWhole", "restWhole", "restHalf", "restQuarter", "rest8th", "rest16th",
    "rest32nd", "rest64th", "rest128th",
    # dynamics (Verovio draws common combinations as one SMuFL glyph, as DeepScores v1 does)
    "dynamicPiano", "dynamicMezzo", "dynamicForte", "dynamicRinforzando", "dynamicSforzando",
    "dynamicZ", "dynamicPPPP", "dynamicPPP", "dynamicPP", "dynamicMP", "dynamicMF",
    "dynamicPF", "dynamicFF", "dynamicFFF", "dynamicFFFF", "dynamicFortePiano",
    "dynamicForzando", "dynamicSforzando1", "dynamicSforzandoPiano", "dynamicSforzato",
    "dynamicSforzatoPiano", "dynamicSforzatoFF", "dynamicRinforzando1", "dynamicRinforzando2",
    # ornaments
    "ornamentTrill", "ornamentTurn", "ornamentTurnInverted", "ornamentShortTrill",
    "ornamentMordent",
    # tuplet numbers (one glyph per digit)
    "tuplet0", "tuplet1", "tuplet2", "tuplet3", "tuplet4", "tuplet5", "tuplet6", "tuplet7",
    "tuplet8", "tuplet9",
    # repeats and navigation
    "repeatDot", "segno", "coda",
    # instrument techniques
    "stringsDownBow", "stringsUpBow", "keyboardPedalPed", "keyboardPedalUp",
)

CLASS_IDS: dict[str, int] = {name: i + 1 for i, name in enumerate(CLASSES)}
"""Class name -> id (1..len(CLASSES)); 0 is the background."""

# SVG group classes whose glyphs are never symbols: a system's bracket (drawn as bracketTop,
# a rectangle and bracketBottom) is one line-like object, like DeepScores' unannotated braces.
_IGNORED_CONTEXTS = frozenset({"grpSym", "mNum", "label", "labelAbbr", "pgHead", "pgFoot"})
_KEY_CONTEXTS = frozenset({"keySig", "keyAccid"})


@dataclass(frozen=True)
class Glyph:
    """One glyph of a font table: SMuFL code point (e.g. 'E050'), name, bounding box in font
    units (1000 per em, y up: x, y is the lower-left corner) and horizontal advance."""

    code: str
    name: str
    x: float
    y: float
    w: float
    h: float
    advance: float


def verovio_data_dir() -> Path:
    """The folder of Verovio's bundled fonts and glyph tables (inside the wheel)."""
    import verovio

    return Path(verovio.__file__).resolve().parent / "data"


@functools.cache
def glyph_table(font: str) -> dict[str, Glyph]:
    """Code point -> :class:`Glyph` for one of Verovio's fonts, read from its ``<font>.xml``."""
    if font not in FONTS:
        raise ValueError(f"unknown music font {font!r}; Verovio ships {', '.join(FONTS)}")
    path = verovio_data_dir() / f"{font}.xml"
    root = ET.parse(path).getroot()
    if root.get("units-per-em") != "1000":
        raise ValueError(f"{path}: expected units-per-em 1000, got {root.get('units-per-em')}")
    table: dict[str, Glyph] = {}
    for g in root.iter("g"):
        code, name = g.get("c"), g.get("n")
        if not code or not name:
            continue
        table[code] = Glyph(code, name, float(g.get("x", 0)), float(g.get("y", 0)),
                            float(g.get("w", 0)), float(g.get("h", 0)),
                            float(g.get("h-a-x", 0)))
    return table


def glyph_for(code: str, font: str) -> Glyph | None:
    """The glyph Verovio draws for ``code`` in ``font``: the font's own, else the fallback's."""
    return glyph_table(font).get(code) or glyph_table(FALLBACK_FONT).get(code)


@functools.cache
def glyph_names() -> dict[str, str]:
    """Code point -> SMuFL glyph name over all bundled fonts (SMuFL fixes the names, so the
    tables agree wherever two fonts have the same code point)."""
    names: dict[str, str] = {}
    for font in FONTS:
        for code, glyph in glyph_table(font).items():
            names.setdefault(code, glyph.name)
    return names


def classify(glyph: str | None, context: Sequence[str]) -> str | None:
    """The DeepScores class of a glyph named ``glyph`` (SMuFL name, or 'ellipse' for an SVG
    ellipse: Verovio draws augmentation dots as ellipses) drawn inside SVG groups with the
    classes ``context`` (outermost first); None when it is no symbol of :data:`CLASSES`.

    Rules: an accidental inside a key signature is keyFlat/keySharp/keyNatural; a dot inside a
    ``dots`` group is an augmentationDot; glyphs of brackets, labels, measure numbers and page
    headers are ignored; every other glyph keeps its SMuFL name (articulation glyphs already
    differ from the augmentation dot, meter-signature digits are timeSig0..9); an ellipse
    outside a ``dots`` group (Verovio's invisible layout placeholders) is no symbol."""
    if glyph is None:
        return None
    groups = set(context)
    if groups & _IGNORED_CONTEXTS:
        return None
    if groups & _KEY_CONTEXTS and glyph.startswith("accidental"):
        name = "key" + glyph.removeprefix("accidental")
    elif "dots" in groups and glyph in ("augmentationDot", "ellipse"):
        name = "augmentationDot"
    else:
        name = glyph
    return name if name in CLASS_IDS else None


def class_id(name: str) -> int:
    """The id of class ``name`` (1..len(CLASSES)); a clear KeyError for an unknown name."""
    try:
        return CLASS_IDS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a DeepScores class of dlwild (see CLASSES)") from None
