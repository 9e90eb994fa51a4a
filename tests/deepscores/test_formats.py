"""Tests of dlwild.deepscores.formats: DeepScores v1 and V2 round trips, hand-written files in
the documented formats, validation errors naming file and field, atomic writes, conversion,
and the oriented-box helpers on shapes whose answer is known."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from dlwild.deepscores import formats as fmt
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol

CLASSES = ["brace", "gClef", "noteheadBlack", "accidentalSharp", "slur"]
W, H = 240, 180


def make_page(page_id: str = "lg-123456-aug-emmentaler--page-2") -> tuple[Page, np.ndarray]:
    """A small page: dark rectangles as 'symbols' (non-integer boxes around them), one slanted
    bar with a known oriented box, and unannotated ink (a 'staff line')."""
    image = np.full((H, W), 255, dtype=np.uint8)
    image[20:60, 10:24] = 0          # gClef
    image[70:78, 50:61] = 10         # noteheadBlack
    image[90:110, 100:106] = 30      # accidentalSharp
    image[150, :] = 0                # staff line, not annotated (v1 has none)
    symbols = [
        Symbol("gClef", (9.6, 19.75, 24.4, 60.2), 1),
        Symbol("noteheadBlack", (49.5, 69.5, 61.25, 78.0), 2, comments="onset:0.5;"),
        Symbol("accidentalSharp", (99.8, 89.9, 106.1, 110.3), 7,
               obbox=(99.8, 89.9, 106.1, 89.9, 106.1, 110.3, 99.8, 110.3)),
        Symbol("slur", (120.0, 20.0, 200.5, 80.25), 3,
               obbox=(120.0, 70.0, 190.0, 20.0, 200.5, 30.0, 130.5, 80.25)),
    ]
    return Page(page_id, W, H, symbols), image


def assert_message(exc: pytest.ExceptionInfo, *parts: str) -> None:
    """The error names every part (file name, field, ...)."""
    for part in parts:
        assert part in str(exc.value), f"{part!r} not in {str(exc.value)!r}"


# --------------------------------------------------------------------------- v1


def test_v1_round_trip_boxes_within_half_pixel_and_class_png(tmp_path):
    page, image = make_page()
    paths = fmt.write_v1(page, image, tmp_path, CLASSES)
    assert {p.parent.name for k, p in paths.items() if k != "classes"} == {
        "images_png", "pix_annotations_png", "xml_annotations"}
    [back] = fmt.read_v1_dataset(tmp_path)
    assert (back.id, back.width, back.height) == (page.id, W, H)
    assert (back.piece, back.font) == ("lg-123456", "emmentaler")
    assert back.source == str(paths["image"])
    assert back.classes() == page.classes()
    assert [s.instance for s in back.symbols] == [1, 2, 3, 4]  # v1 keeps order, not ids
    for got, want in zip(back.symbols, page.symbols, strict=True):
        assert np.allclose(got.bbox, want.bbox, atol=0.5)
        assert got.obbox is None
    # the class PNG: class index on the symbols' ink, white everywhere else (staff line too)
    pix = fmt.read_v1_segmentation(paths["pix"], CLASSES)
    assert pix.shape == (H, W) and pix.dtype == np.uint8
    assert (pix[20:60, 10:24] == CLASSES.index("gClef")).all()
    assert (pix[70:78, 50:61] == CLASSES.index("noteheadBlack")).all()
    assert (pix[90:110, 100:106] == CLASSES.index("accidentalSharp")).all()
    assert (pix[150] == 255).all()
    assert int((pix != 255).sum()) == 40 * 14 + 8 * 11 + 20 * 6
    assert np.array_equal(fmt.read_png(paths["image"]), image)
    assert fmt.read_class_names(paths["classes"]) == CLASSES
    assert paths["classes"].read_text().splitlines()[:2] == ["0,brace", "1,gClef"]


def test_v1_writer_copies_a_png_path_byte_for_byte(tmp_path):
    page, image = make_page()
    source = tmp_path / "page.png"
    Image.fromarray(image).save(source)
    paths = fmt.write_v1(page, source, tmp_path / "ds", CLASSES)
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
    [page] = fmt.read_v1_dataset(tmp_path / "DeepScores_2017")
    assert (page.width, page.height, page.font) == (1000, 2000, "beethoven")
    assert page.symbols[0].cls == "gClef"
    assert np.allclose(page.symbols[0].bbox, (100, 500, 150, 520))
    assert np.allclose(page.symbols[1].bbox, (500, 1400, 512, 1408))


def test_class_list_variants_and_lookup(tmp_path):
    (tmp_path / "a.csv").write_text("brace\ngClef\n")
    (tmp_path / "b.csv").write_text("1,gClef\n0,brace\n")
    (tmp_path / "c.csv").write_text("0,brace,FALSE\n1,gClef,TRUE\n")
    for name in ("a.csv", "b.csv", "c.csv"):
        assert fmt.read_class_names(tmp_path / name) == ["brace", "gClef"]
    (tmp_path / "d.csv").write_text("1,brace\n2,gClef\n")
    with pytest.raises(AnnotationError) as exc:
        fmt.read_class_names(tmp_path / "d.csv")
    assert_message(exc, "d.csv", "indices")
    (tmp_path / "e.csv").write_text("0,brace\nx,gClef\n")
    with pytest.raises(AnnotationError) as exc:
        fmt.read_class_names(tmp_path / "e.csv")
    assert_message(exc, "e.csv", "row 2", "index")
    with pytest.raises(AnnotationError) as exc:
        fmt.find_class_names(tmp_path / "nowhere")
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
        fmt.read_v1_page(xml_path, classes=["gClef", "noteheadBlack"])
    assert_message(exc, xml_path.name, field)


def test_v1_image_size_disagreeing_with_xml(tmp_path):
    xml_path = write_hand_v1(tmp_path, HAND_XML, image_size=(1000, 1999))
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v1_page(xml_path)
    assert_message(exc, "lg-42-aug-beethoven--page-5.png", xml_path.name, "height=2000")


def test_v1_dataset_requires_images_and_checks_class_png(tmp_path):
    write_hand_v1(tmp_path, HAND_XML)
    (tmp_path / "class_names.csv").write_text("0,gClef\n1,noteheadBlack\n")
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v1_dataset(tmp_path)
    assert_message(exc, "lg-42-aug-beethoven--page-5.xml", "images_png")
    assert len(fmt.read_v1_dataset(tmp_path, require_images=False)) == 1
    write_hand_v1(tmp_path, HAND_XML, image_size=(1000, 2000))
    (tmp_path / "pix_annotations_png").mkdir()
    bad_pix = tmp_path / "pix_annotations_png" / "lg-42-aug-beethoven--page-5.png"
    Image.new("L", (999, 2000), 255).save(bad_pix)
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v1_dataset(tmp_path)
    assert_message(exc, str(bad_pix), "width=1000")
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(tmp_path / "codes.png")
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v1_segmentation(tmp_path / "codes.png", ["gClef", "noteheadBlack"])
    assert_message(exc, "codes.png", "grey codes [7]")


def test_v1_writer_refuses_bad_pages(tmp_path):
    page, image = make_page()
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v1(page, image[:, :-1], tmp_path, CLASSES)
    assert_message(exc, page.id, "width=240")
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v1(page, image, tmp_path, ["gClef"])
    assert_message(exc, page.id, "noteheadBlack")
    outside = Page("p", W, H, [Symbol("gClef", (10, 10, W + 1, 20), 1)])
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v1(outside, image, tmp_path, CLASSES)
    assert_message(exc, "p", "outside")
    fmt.write_v1(page, image, tmp_path, CLASSES)
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v1(page, image, tmp_path, CLASSES[::-1])
    assert_message(exc, "class_names.csv", "different class list")


# --------------------------------------------------------------------------- V2


def test_v2_round_trip_exact_with_oriented_boxes_and_instance_png(tmp_path):
    page, image = make_page()
    second, image2 = make_page("plain-page")
    json_path = fmt.write_v2([page, second], tmp_path, CLASSES, images=[image, image2])
    data = fmt.read_v2(json_path)
    assert [p.id for p in data.pages] == [page.id, "plain-page"]
    assert data.classes == {i: n for i, n in enumerate(CLASSES, 1)}
    back = data.pages[0]
    assert (back.width, back.height, back.piece, back.font) == (W, H, "lg-123456", "emmentaler")
    assert back.source == str(tmp_path / "images" / f"{page.id}.png")
    for got, want in zip(back.symbols, page.symbols, strict=True):
        assert (got.cls, got.bbox, got.instance, got.comments) == (
            want.cls, want.bbox, want.instance, want.comments)
        if want.obbox is not None:
            assert got.obbox == want.obbox
    # symbols without an oriented box get the minimum rectangle of their pixels
    assert np.allclose(sorted(back.symbols[0].obbox[0::2]), [10, 10, 24, 24])
    assert np.allclose(sorted(back.symbols[0].obbox[1::2]), [20, 20, 60, 60])

    raw = json.loads(json_path.read_text())
    assert raw["annotation_sets"] == ["deepscores", "muscima++"]
    assert raw["categories"]["1"] == {"name": "brace", "annotation_set": "deepscores",
                                      "color": 1}
    first = raw["annotations"]["1"]
    assert first["cat_id"] == [str(CLASSES.index("gClef") + 1), None]
    assert first["comments"] == "instance:#000001;"
    assert raw["annotations"]["2"]["comments"] == "instance:#000002;onset:0.5;"
    assert first["area"] == 40 * 14
    assert raw["images"][0]["ann_ids"] == ["1", "2", "3", "4"]

    inst_rgb = fmt.read_png(data.instances[page.id])
    assert inst_rgb.shape == (H, W, 3)
    assert (inst_rgb[20:60, 10:24] == (0, 0, 1)).all()      # instance 1 = #000001
    assert (inst_rgb[90:110, 100:106] == (0, 0, 7)).all()   # instance 7 = #000007
    assert (inst_rgb[150] == 0).all()                        # unannotated ink = background
    seg = fmt.read_png(data.segmentations[page.id])
    assert seg.ndim == 2 and (seg[70:78, 50:61] == CLASSES.index("noteheadBlack") + 1).all()
    assert (seg[0] == 0).all()


def test_v2_given_instance_map_is_written_pixel_for_pixel(tmp_path):
    page = Page("p", 300, 4, [Symbol("brace", (0, 0, 1, 1), 1),
                              Symbol("gClef", (1, 0, 2, 1), 258),
                              Symbol("slur", (2, 0, 3, 1), 70000)])
    image = np.zeros((4, 300), np.uint8)
    inst = np.zeros((4, 300), np.int32)
    inst[0, 0], inst[0, 1], inst[0, 2] = 1, 258, 70000
    fmt.write_v2([page], tmp_path, CLASSES, images=[image], instances=[inst])
    rgb = fmt.read_png(tmp_path / "instance" / "p_inst.png")
    assert tuple(rgb[0, 0]) == (0x00, 0x00, 0x01)
    assert tuple(rgb[0, 1]) == (0x00, 0x01, 0x02)
    assert tuple(rgb[0, 2]) == (0x01, 0x11, 0x70)
    assert np.array_equal(fmt.read_instance_png(tmp_path / "instance" / "p_inst.png"), inst)
    bad = inst.copy()
    bad[3, 3] = 5
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v2([page], tmp_path, CLASSES, images=[image], instances=[bad])
    assert_message(exc, "p", "instance map", "[5]")


def test_encode_decode_instances_round_trip():
    ids = np.array([[0, 1, 255], [256, 65535, (1 << 24) - 1]])
    rgb = fmt.encode_instances(ids)
    assert rgb.dtype == np.uint8 and tuple(rgb[0, 1]) == (0, 0, 1)
    assert np.array_equal(fmt.decode_instances(rgb), ids)
    with pytest.raises(ValueError):
        fmt.encode_instances(np.array([1 << 24]))


def sample_json(**changes) -> dict:
    """A tiny V2 file shaped like the public DeepScoresV2 sample (string ids, int image id)."""
    doc = {
        "info": {"description": "hand-written", "version": "2.0"},
        "annotation_sets": ["deepscores", "muscima++"],
        "categories": {
            "1": {"name": "brace", "annotation_set": "deepscores", "color": 1},
            "137": {"name": "brace", "annotation_set": "muscima++", "color": 1},
            "42": {"name": "stem", "annotation_set": "deepscores", "color": 52},
            "135": {"name": "staff", "annotation_set": "deepscores", "color": 165},
        },
        "images": [{"id": 410, "filename": "lg-5230237-aug-emmentaler--page-2.png",
                    "width": 2707, "height": 3828, "ann_ids": ["16", "17"]}],
        "annotations": {
            "16": {"a_bbox": [128.9027381, 208.62534924, 2578.09496095, 302.2144752],
                   "o_bbox": [2577.90283203125, 301.6253356933594, 2577.90283203125,
                              209.62535095214844, 129.90274047851562, 209.62535095214844,
                              129.90274047851562, 301.6253356933594],
                   "cat_id": ["135", None], "area": 24251, "img_id": "410", "comments": ""},
            "17": {"a_bbox": [100.5, 200.0, 103.0, 260.0],
                   "o_bbox": [100.5, 200.0, 103.0, 200.0, 103.0, 260.0, 100.5, 260.0],
                   "cat_id": ["42", None], "area": 150, "img_id": "410",
                   "comments": "instance:#00002a;onset:1.5;"},
        },
    }
    doc.update(changes)
    return doc


def test_v2_hand_written_sample_style_file(tmp_path):
    path = tmp_path / "deepscores_test.json"
    path.write_text(json.dumps(sample_json()))
    data = fmt.read_v2(path)
    [page] = data.pages
    assert (page.id, page.width, page.height) == ("lg-5230237-aug-emmentaler--page-2", 2707, 3828)
    assert data.classes == {1: "brace", 42: "stem", 135: "staff"}
    staff, stem = page.symbols
    assert staff.cls == "staff" and staff.instance == 1
    assert staff.bbox == (128.9027381, 208.62534924, 2578.09496095, 302.2144752)
    assert stem.cls == "stem" and stem.instance == 42 and stem.comments == "onset:1.5;"
    assert stem.obbox == (100.5, 200.0, 103.0, 200.0, 103.0, 260.0, 100.5, 260.0)
    assert page.source == "" and data.images[page.id] is None
    # the muscima++ slot of annotation 16 is null: it has no class in that set
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(path, annotation_set="muscima++")
    assert_message(exc, "deepscores_test.json", "annotation 16 cat_id")


def mutate(doc: dict, dotted: str, value) -> dict:
    """Set (or with value=KeyError delete) a nested key given as 'annotations.17.a_bbox'."""
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


V2_BAD = [
    ("no a_bbox", "annotations.17.a_bbox", KeyError, "annotation 17 has no a_bbox"),
    ("no o_bbox", "annotations.17.o_bbox", KeyError, "annotation 17 has no o_bbox"),
    ("no cat_id", "annotations.17.cat_id", KeyError, "annotation 17 has no cat_id"),
    ("a_bbox text", "annotations.17.a_bbox", [100.5, "200", 103.0, 260.0], "17 a_bbox"),
    ("a_bbox short", "annotations.17.a_bbox", [100.5, 200.0, 103.0], "17 a_bbox"),
    ("a_bbox outside", "annotations.17.a_bbox", [100.5, 200.0, 2708.0, 260.0], "17 a_bbox"),
    ("a_bbox negative", "annotations.17.a_bbox", [-3.0, 200.0, 103.0, 260.0], "17 a_bbox"),
    ("a_bbox inverted", "annotations.17.a_bbox", [103.0, 200.0, 100.5, 260.0], "17 a_bbox"),
    ("o_bbox outside", "annotations.17.o_bbox", [100.5, 200.0, 103.0, 200.0, 103.0, 3900.0,
                                                 100.5, 260.0], "17 o_bbox"),
    ("o_bbox bool", "annotations.17.o_bbox", [True] * 8, "17 o_bbox"),
    ("unknown cat", "annotations.17.cat_id", ["999", None], "17 cat_id"),
    ("muscima id as deepscores", "annotations.17.cat_id", ["137", None], "17 cat_id"),
    ("null cat", "annotations.17.cat_id", [None, "137"], "17 cat_id"),
    ("cat not a list", "annotations.17.cat_id", "42", "17 cat_id"),
    ("img_id mismatch", "annotations.17.img_id", "411", "17 img_id"),
    ("no width", "images.0.width", KeyError, "image 410 has no width"),
    ("width text", "images.0.width", "wide", "image 410 width"),
    ("no filename", "images.0.filename", KeyError, "image 410 has no filename"),
    ("dangling ann id", "images.0.ann_ids", ["16", "17", "18"], "ann_ids"),
    ("no images", "images", KeyError, "has no images"),
    ("no categories", "categories", KeyError, "has no categories"),
    ("category without name", "categories.42.name", KeyError, "category 42 has no name"),
    ("bad comments instance", "annotations.17.comments", "instance:#000000;", "17 comments"),
]


@pytest.mark.parametrize("case,key,value,field", V2_BAD, ids=[c[0] for c in V2_BAD])
def test_v2_bad_json_names_file_and_field(tmp_path, case, key, value, field):
    path = tmp_path / "bad_set.json"
    path.write_text(json.dumps(mutate(sample_json(), key, value)))
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(path)
    assert_message(exc, "bad_set.json", field)


def test_v2_malformed_json_and_orphan_annotation(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(sample_json())[:-20])
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(path)
    assert_message(exc, "broken.json", "malformed JSON")
    doc = sample_json()
    doc["annotations"]["99"] = dict(doc["annotations"]["17"], img_id="5")
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(path)
    assert_message(exc, "broken.json", "annotation 99 img_id")


def test_v2_image_size_disagreeing_with_json(tmp_path):
    page, image = make_page()
    json_path = fmt.write_v2([page], tmp_path, CLASSES, images=[image])
    Image.fromarray(image[:, :-2]).save(tmp_path / "images" / f"{page.id}.png")
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(json_path)
    assert_message(exc, f"{page.id}.png", json_path.name, "width=240")
    assert fmt.read_v2(json_path, check_images=False).pages[0].id == page.id
    inst = tmp_path / "instance" / f"{page.id}_inst.png"
    Image.fromarray(image).save(tmp_path / "images" / f"{page.id}.png")
    Image.fromarray(np.zeros((H + 1, W, 3), np.uint8)).save(inst)
    with pytest.raises(AnnotationError) as exc:
        fmt.read_v2(json_path)
    assert_message(exc, inst.name, "height=180")


def test_v2_write_is_atomic_under_interrupt(tmp_path, monkeypatch):
    page, image = make_page()
    json_path = fmt.write_v2([page], tmp_path, CLASSES)
    before = json_path.read_bytes()
    changed = Page(page.id, W, H, page.symbols[:1])

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fmt.write_v2([changed], tmp_path, CLASSES)
    monkeypatch.undo()
    assert json_path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert len(fmt.read_v2(json_path).pages[0].symbols) == 4


def test_v2_writer_refuses_bad_input(tmp_path):
    page, image = make_page()
    twice = Page("p", W, H, [Symbol("gClef", (1, 1, 5, 5), 3), Symbol("gClef", (6, 1, 9, 5), 3)])
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v2([twice], tmp_path, CLASSES)
    assert_message(exc, "p", "instance id")
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v2([page], tmp_path, CLASSES, images=[image, image])
    assert_message(exc, "2 images", "1 pages")
    bad_obb = Page("q", W, H, [Symbol("gClef", (1, 1, 5, 5), 1, obbox=(1.0, 2.0))])
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v2([bad_obb], tmp_path, CLASSES)
    assert_message(exc, "q", "obbox")
    escape = Page("../outside", W, H, [])
    with pytest.raises(AnnotationError) as exc:
        fmt.write_v2([escape], tmp_path, CLASSES)
    assert_message(exc, "../outside", "page id")
    assert not (tmp_path / "deepscores.json").exists()


# --------------------------------------------------------------------------- conversion


def test_v1_to_v2_and_back_is_consistent(tmp_path):
    page, image = make_page()
    other, image2 = make_page("lg-77-aug-lilyjazz--page-1")
    plain = [Page(p.id, W, H, [Symbol(s.cls, s.bbox, i) for i, s in enumerate(p.symbols, 1)])
             for p in (page, other)]
    for p, img in zip(plain, (image, image2), strict=True):
        fmt.write_v1(p, img, tmp_path / "v1", CLASSES)
    v1_pages = fmt.read_v1_dataset(tmp_path / "v1")

    json_path = fmt.convert_v1_to_v2(tmp_path / "v1", tmp_path / "v2")
    v2 = fmt.read_v2(json_path)
    assert [p.id for p in v2.pages] == [p.id for p in v1_pages]
    for a, b in zip(v1_pages, v2.pages, strict=True):
        assert [(s.cls, s.bbox, s.instance) for s in a.symbols] == [
            (s.cls, s.bbox, s.instance) for s in b.symbols]
        assert all(s.obbox is not None for s in b.symbols)
    assert np.array_equal(fmt.read_png(v2.images[page.id]), image)

    fmt.convert_v2_to_v1(json_path, tmp_path / "v1_again")
    again = fmt.read_v1_dataset(tmp_path / "v1_again")
    for a, b in zip(again, plain, strict=True):
        assert a.classes() == b.classes()
        for s, t in zip(a.symbols, b.symbols, strict=True):
            assert np.allclose(s.bbox, t.bbox, atol=0.5)
    for p in plain:
        first = fmt.read_png(tmp_path / "v1" / "pix_annotations_png" / f"{p.id}.png")
        second = fmt.read_png(tmp_path / "v1_again" / "pix_annotations_png" / f"{p.id}.png")
        assert np.array_equal(first, second)


# --------------------------------------------------------------------------- geometry


def rotated_bar(length: float, width: float, degrees: float, centre=(100.0, 100.0),
                size=(200, 200)) -> tuple[np.ndarray, shapely.Polygon]:
    """A bar rasterised by pixel centres, and its exact polygon."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    half = np.array([[-length / 2, -width / 2], [length / 2, -width / 2],
                     [length / 2, width / 2], [-length / 2, width / 2]])
    corners = half @ np.array([[c, s], [-s, c]]) + np.asarray(centre)
    poly = shapely.Polygon(corners)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    mask = shapely.intersects_xy(poly, xx + 0.5, yy + 0.5)
    return mask, poly


def side_lengths(obbox) -> list[float]:
    pts = np.asarray(obbox).reshape(4, 2)
    return sorted(float(np.linalg.norm(pts[i] - pts[(i + 1) % 4])) for i in range(2))


def test_oriented_box_of_masks_and_points():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:10] = True
    box = fmt.oriented_box(mask)
    assert sorted(box[0::2]) == [3, 3, 10, 10] and sorted(box[1::2]) == [2, 2, 5, 5]
    shifted = fmt.oriented_box(mask, offset=(100, 50))
    assert np.allclose(np.asarray(shifted) - np.asarray(box), [100, 50] * 4)
    stem = np.zeros((20, 3), bool)
    stem[:, 1] = True
    assert side_lengths(fmt.oriented_box(stem)) == [1.0, 20.0]
    bar, poly = rotated_bar(100, 10, 45)
    lengths = side_lengths(fmt.oriented_box(bar))
    assert lengths[0] == pytest.approx(10, abs=1.5) and lengths[1] == pytest.approx(100, abs=1.5)
    pts = np.asarray(fmt.oriented_box(np.asarray(poly.exterior.coords)[:4])).reshape(4, 2)
    edge = pts[1] - pts[0]
    assert abs(math.degrees(math.atan2(edge[1], edge[0]))) % 90 == pytest.approx(45, abs=1e-6)
    assert len(fmt.oriented_box(np.array([[0.0, 0.0], [2.0, 2.0]]))) == 8
    with pytest.raises(ValueError):
        fmt.oriented_box(np.zeros((4, 4), bool))


def test_background_ratio_on_a_rotated_bar():
    # 100 x 10 bar at 45 degrees: the aligned box is a square of side 110 / sqrt 2, so the
    # background inside it is 1 - 1000 / 6050; the exact oriented box holds only the bar.
    mask, poly = rotated_bar(100, 10, 45)
    x0, y0, x1, y1 = poly.bounds
    obbox = tuple(np.asarray(poly.exterior.coords)[:4].ravel())
    page = np.where(mask, 0, 255).astype(np.uint8)
    aligned, oriented = fmt.background_ratio(page, (x0, y0, x1, y1), obbox)
    assert aligned == pytest.approx(1 - 1000 / 6050, abs=0.01)
    assert oriented == pytest.approx(0.0, abs=0.02)
    # the same with the symbol's own mask and the box taken from its pixels: the hull of the
    # pixel squares of a 45-degree staircase is about one pixel diagonal wider (~11.4 x 101.4),
    # so about 1 - 1000 / 1156 = 13.5 % background remains
    a2, o2 = fmt.background_ratio(mask, (x0, y0, x1, y1), fmt.oriented_box(mask))
    assert a2 == pytest.approx(aligned, abs=0.01)
    assert o2 == pytest.approx(1 - 1000 / (11.4 * 101.4), abs=0.03)
    # an axis-aligned bar fills both boxes
    flat, _ = rotated_bar(100, 10, 0)
    rows, cols = np.nonzero(flat)
    box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    assert fmt.background_ratio(flat, box, fmt.oriented_box(flat)) == (0.0, 0.0)


def test_ink_instances_smaller_box_wins():
    image = np.full((20, 20), 255, np.uint8)
    image[5:15, 5:15] = 0
    page = Page("p", 20, 20, [Symbol("slur", (0, 0, 20, 20), 1),
                              Symbol("noteheadBlack", (8, 8, 12, 12), 2)])
    inst = fmt.ink_instances(page, image)
    assert (inst[8:12, 8:12] == 2).all()
    assert int((inst == 1).sum()) == 100 - 16 and int((inst == 0).sum()) == 400 - 100
