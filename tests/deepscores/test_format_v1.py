"""DeepScores v1: round trips, hand-written files in the documented layouts, class lists,
and validation errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sample_pages import CLASSES, H, W, assert_message, make_page

from dlwild.deepscores import format_files, format_v1
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol


def test_v1_round_trip_boxes_within_half_pixel_and_class_png(tmp_path):
    page, image = make_page()
    paths = format_v1.write_v1(page, image, tmp_path, CLASSES)
    assert {p.parent.name for k, p in paths.items() if k != "classes"} == {
        "images_png", "pix_annotations_png", "xml_annotations"}
    [back] = format_v1.read_v1_dataset(tmp_path)
    assert (back.id, back.width, back.height) == (page.id, W, H)
    assert (back.piece, back.font) == ("lg-123456", "emmentaler")
    assert back.source == str(paths["image"])
    assert back.classes() == page.classes()
    assert [s.instance for s in back.symbols] == [1, 2, 3, 4]  # v1 keeps order, not ids
    for got, want in zip(back.symbols, page.symbols, strict=True):
        assert np.allclose(got.bbox, want.bbox, atol=0.5)
        assert got.obbox is None
    # the class PNG: class index on the symbols' ink, white everywhere else (staff line too)
    pix = format_v1.read_v1_segmentation(paths["pix"], CLASSES)
    assert pix.shape == (H, W) and pix.dtype == np.uint8
    assert (pix[20:60, 10:24] == CLASSES.index("gClef")).all()
    assert (pix[70:78, 50:61] == CLASSES.index("noteheadBlack")).all()
    assert (pix[90:110, 100:106] == CLASSES.index("accidentalSharp")).all()
    assert (pix[150] == 255).all()
    assert int((pix != 255).sum()) == 40 * 14 + 8 * 11 + 20 * 6
    assert np.array_equal(format_files.read_png(paths["image"]), image)
    assert format_v1.read_class_names(paths["classes"]) == CLASSES
    assert paths["classes"].read_text().splitlines()[:2] == ["0,brace", "1,gClef"]


def test_v1_writer_copies_a_png_path_byte_for_byte(tmp_path):
    page, image = make_page()
    source = tmp_path / "page.png"
    Image.fromarray(image).save(source)
    paths = format_v1.write_v1(page, source, tmp_path / "ds", CLASSES)
    assert paths["image"].read_bytes() == source.read_bytes()


HAND_XML = """<?xml version="1.0"?>
<annotation>
  <folder>images_png</folder>
  <filename>lg-42-aug-beethoven--page-5.png</filename>
  <size><width>1000</width><height>2000</height><depth>1</depth></size>
  <object><name>gClef</name>
    <bndbox><xmin>0.1</xmin><xmax>0.15</xmax><ymin>0.25</ymin><ymax>0.26</ymax></bndbox>
  </object>
  <object><name>noteheadBlack</name>
    <bndbox><xmin>0.5</xmin><xmax>0.512</xmax><ymin>0.7</ymin><ymax>0.704</ymax></bndbox>
  </object>
</annotation>
"""


def test_v1_hand_written_xml_in_the_dwd_layout(tmp_path):
    seg = tmp_path / "DeepScores_2017" / "segmentation_detection"
    (seg / "xml_annotations").mkdir(parents=True)
    (seg / "images_png").mkdir()
    (seg / "xml_annotations" / "lg-42-aug-beethoven--page-5.xml").write_text(HAND_XML)
    Image.new("L", (1000, 2000), 255).save(seg / "images_png" / "lg-42-aug-beethoven--page-5.png")
    classes = tmp_path / "DeepScores_2017" / "DeepScores_classification" / "class_names.csv"
    classes.parent.mkdir()
    classes.write_text("0,brace\n1,gClef\n2,noteheadBlack\n")
    [page] = format_v1.read_v1_dataset(tmp_path / "DeepScores_2017")
    assert (page.width, page.height, page.font) == (1000, 2000, "beethoven")
    assert page.symbols[0].cls == "gClef"
    assert np.allclose(page.symbols[0].bbox, (100, 500, 150, 520))
    assert np.allclose(page.symbols[1].bbox, (500, 1400, 512, 1408))


def test_class_list_variants_and_lookup(tmp_path):
    (tmp_path / "a.csv").write_text("brace\ngClef\n")
    (tmp_path / "b.csv").write_text("1,gClef\n0,brace\n")
    (tmp_path / "c.csv").write_text("0,brace,FALSE\n1,gClef,TRUE\n")
    for name in ("a.csv", "b.csv", "c.csv"):
        assert format_v1.read_class_names(tmp_path / name) == ["brace", "gClef"]
    (tmp_path / "d.csv").write_text("1,brace\n2,gClef\n")
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_class_names(tmp_path / "d.csv")
    assert_message(exc, "d.csv", "indices")
    (tmp_path / "e.csv").write_text("0,brace\nx,gClef\n")
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_class_names(tmp_path / "e.csv")
    assert_message(exc, "e.csv", "row 2", "index")
    with pytest.raises(AnnotationError) as exc:
        format_v1.find_class_names(tmp_path / "nowhere")
    assert_message(exc, "nowhere", "class_names.csv")


def write_hand_v1(tmp_path: Path, xml: str, image_size: tuple[int, int] | None = None) -> Path:
    """A one-page v1 folder holding ``xml`` (and a white image of ``image_size``)."""
    (tmp_path / "xml_annotations").mkdir(exist_ok=True)
    xml_path = tmp_path / "xml_annotations" / "lg-42-aug-beethoven--page-5.xml"
    xml_path.write_text(xml)
    if image_size is not None:
        (tmp_path / "images_png").mkdir(exist_ok=True)
        Image.new("L", image_size, 255).save(
            tmp_path / "images_png" / "lg-42-aug-beethoven--page-5.png")
    return xml_path


V1_BAD = [
    ("malformed", HAND_XML.replace("</annotation>", ""), "malformed XML"),
    ("no size", HAND_XML.replace("<size><width>1000</width><height>2000</height>"
                                 "<depth>1</depth></size>", ""), "<size>"),
    ("no width", HAND_XML.replace("<width>1000</width>", ""), "<width>"),
    ("width not a number", HAND_XML.replace("<width>1000</width>", "<width>wide</width>"),
     "<width>"),
    ("xmin not a number", HAND_XML.replace("<xmin>0.1</xmin>", "<xmin>abc</xmin>"), "<xmin>"),
    ("xmax nan", HAND_XML.replace("<xmax>0.15</xmax>", "<xmax>nan</xmax>"), "<xmax>"),
    ("outside", HAND_XML.replace("<ymax>0.26</ymax>", "<ymax>1.3</ymax>"), "<ymax>"),
    ("inverted", HAND_XML.replace("<xmax>0.15</xmax>", "<xmax>0.05</xmax>"), "<bndbox>"),
    ("no bndbox", HAND_XML.replace(
        "<bndbox><xmin>0.1</xmin><xmax>0.15</xmax><ymin>0.25</ymin><ymax>0.26</ymax></bndbox>",
        ""), "<bndbox>"),
    ("no name", HAND_XML.replace("<name>gClef</name>", ""), "<name>"),
    ("unknown class", HAND_XML.replace("<name>gClef</name>", "<name>gClefX</name>"), "<name>"),
    ("pixel coordinates", HAND_XML.replace("<xmin>0.1</xmin>", "<xmin>100</xmin>"), "<xmin>"),
]


@pytest.mark.parametrize("case,xml,field", V1_BAD, ids=[c[0] for c in V1_BAD])
def test_v1_bad_xml_names_file_and_field(tmp_path, case, xml, field):
    xml_path = write_hand_v1(tmp_path, xml)
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_v1_page(xml_path, classes=["gClef", "noteheadBlack"])
    assert_message(exc, xml_path.name, field)


def test_v1_image_size_disagreeing_with_xml(tmp_path):
    xml_path = write_hand_v1(tmp_path, HAND_XML, image_size=(1000, 1999))
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_v1_page(xml_path)
    assert_message(exc, "lg-42-aug-beethoven--page-5.png", xml_path.name, "height=2000")


def test_v1_dataset_requires_images_and_checks_class_png(tmp_path):
    write_hand_v1(tmp_path, HAND_XML)
    (tmp_path / "class_names.csv").write_text("0,gClef\n1,noteheadBlack\n")
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_v1_dataset(tmp_path)
    assert_message(exc, "lg-42-aug-beethoven--page-5.xml", "images_png")
    assert len(format_v1.read_v1_dataset(tmp_path, require_images=False)) == 1
    write_hand_v1(tmp_path, HAND_XML, image_size=(1000, 2000))
    (tmp_path / "pix_annotations_png").mkdir()
    bad_pix = tmp_path / "pix_annotations_png" / "lg-42-aug-beethoven--page-5.png"
    Image.new("L", (999, 2000), 255).save(bad_pix)
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_v1_dataset(tmp_path)
    assert_message(exc, str(bad_pix), "width=1000")
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(tmp_path / "codes.png")
    with pytest.raises(AnnotationError) as exc:
        format_v1.read_v1_segmentation(tmp_path / "codes.png", ["gClef", "noteheadBlack"])
    assert_message(exc, "codes.png", "grey codes [7]")


def test_v1_writer_refuses_bad_pages(tmp_path):
    page, image = make_page()
    with pytest.raises(AnnotationError) as exc:
        format_v1.write_v1(page, image[:, :-1], tmp_path, CLASSES)
    assert_message(exc, page.id, "width=240")
    with pytest.raises(AnnotationError) as exc:
        format_v1.write_v1(page, image, tmp_path, ["gClef"])
    assert_message(exc, page.id, "noteheadBlack")
    outside = Page("p", W, H, [Symbol("gClef", (10, 10, W + 1, 20), 1)])
    with pytest.raises(AnnotationError) as exc:
        format_v1.write_v1(outside, image, tmp_path, CLASSES)
    assert_message(exc, "p", "outside")
    format_v1.write_v1(page, image, tmp_path, CLASSES)
    with pytest.raises(AnnotationError) as exc:
        format_v1.write_v1(page, image, tmp_path, CLASSES[::-1])
    assert_message(exc, "class_names.csv", "different class list")


# --------------------------------------------------------------------------- V2
