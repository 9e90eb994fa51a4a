"""Scores, pages and page digests shared by the DeepScores tests (each made once)."""

from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from dlwild.core.cache import ArtifactCache
from dlwild.deepscores.dataset import EngravedDataset, build_dataset
from dlwild.deepscores.engrave import EngravedPage, annotate_svg, corpus_score, page_svgs

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


def digest(engraved) -> str:
    """sha256 over a page's boxes, image and masks."""
    h = hashlib.sha256()
    h.update(repr([(s.cls, s.bbox, s.obbox) for s in engraved.page.symbols]).encode())
    for array in (engraved.image, engraved.class_mask, engraved.instance_mask):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


_ARTIFACTS = tempfile.TemporaryDirectory(prefix="dlwild-deepscores-tests-")


@functools.cache
def engraved_chorale() -> EngravedPage:
    """The chorale's first page in Leipzig at the engraver's 10 px interline (made once)."""
    svg = page_svgs(corpus_score(CHORALE), piece=CHORALE, font="Leipzig")[0]
    return annotate_svg(svg, page_id="chorale-p01", font="Leipzig", piece=CHORALE)


@functools.cache
def small_dataset() -> EngravedDataset:
    """Three one-measure pieces in two fonts, one piece for testing (made once)."""
    return build_dataset(None, ["Leipzig", "Bravura"], 3, sources=SOURCES, test_fraction=0.34,
                         cache=ArtifactCache(Path(_ARTIFACTS.name)))
