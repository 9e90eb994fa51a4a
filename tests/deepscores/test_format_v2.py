"""DeepScoresV2: round trips with oriented boxes and instance PNGs, a hand-written file in
the sample's style, validation errors naming file and field, atomic writes, and conversion
between v1 and V2."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image
from sample_pages import CLASSES, H, W, assert_message, make_page

from dlwild.deepscores import format_files, format_v1, format_v2
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol


def test_v2_round_trip_exact_with_oriented_boxes_and_instance_png(tmp_path):
    page, image = make_page()
    second, image2 = make_page("plain-page")
    json_path = format_v2.write_v2([page, second], tmp_path, CLASSES, images=[image, image2])
    data = format_v2.read_v2(json_path)
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

    inst_rgb = format_files.read_png(data.instances[page.id])
    assert inst_rgb.shape == (H, W, 3)
    assert (inst_rgb[20:60, 10:24] == (0, 0, 1)).all()      # instance 1 = #000001
    assert (inst_rgb[90:110, 100:106] == (0, 0, 7)).all()   # instance 7 = #000007
    assert (inst_rgb[150] == 0).all()                        # unannotated ink = background
    seg = format_files.read_png(data.segmentations[page.id])
    assert seg.ndim == 2 and (seg[70:78, 50:61] == CLASSES.index("noteheadBlack") + 1).all()
    assert (seg[0] == 0).all()


def test_v2_given_instance_map_is_written_pixel_for_pixel(tmp_path):
    page = Page("p", 300, 4, [Symbol("brace", (0, 0, 1, 1), 1),
                              Symbol("gClef", (1, 0, 2, 1), 258),
                              Symbol("slur", (2, 0, 3, 1), 70000)])
    image = np.zeros((4, 300), np.uint8)
    inst = np.zeros((4, 300), np.int32)
    inst[0, 0], inst[0, 1], inst[0, 2] = 1, 258, 70000
    format_v2.write_v2([page], tmp_path, CLASSES, images=[image], instances=[inst])
    rgb = format_files.read_png(tmp_path / "instance" / "p_inst.png")
    assert tuple(rgb[0, 0]) == (0x00, 0x00, 0x01)
    assert tuple(rgb[0, 1]) == (0x00, 0x01, 0x02)
    assert tuple(rgb[0, 2]) == (0x01, 0x11, 0x70)
    read_back = format_files.read_instance_png(tmp_path / "instance" / "p_inst.png")
    assert np.array_equal(read_back, inst)
    bad = inst.copy()
    bad[3, 3] = 5
    with pytest.raises(AnnotationError) as exc:
        format_v2.write_v2([page], tmp_path, CLASSES, images=[image], instances=[bad])
    assert_message(exc, "p", "instance map", "[5]")



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
    data = format_v2.read_v2(path)
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
        format_v2.read_v2(path, annotation_set="muscima++")
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
        format_v2.read_v2(path)
    assert_message(exc, "bad_set.json", field)


def test_v2_malformed_json_and_orphan_annotation(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(sample_json())[:-20])
    with pytest.raises(AnnotationError) as exc:
        format_v2.read_v2(path)
    assert_message(exc, "broken.json", "malformed JSON")
    doc = sample_json()
    doc["annotations"]["99"] = dict(doc["annotations"]["17"], img_id="5")
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError) as exc:
        format_v2.read_v2(path)
    assert_message(exc, "broken.json", "annotation 99 img_id")


def test_v2_image_size_disagreeing_with_json(tmp_path):
    page, image = make_page()
    json_path = format_v2.write_v2([page], tmp_path, CLASSES, images=[image])
    Image.fromarray(image[:, :-2]).save(tmp_path / "images" / f"{page.id}.png")
    with pytest.raises(AnnotationError) as exc:
        format_v2.read_v2(json_path)
    assert_message(exc, f"{page.id}.png", json_path.name, "width=240")
    assert format_v2.read_v2(json_path, check_images=False).pages[0].id == page.id
    inst = tmp_path / "instance" / f"{page.id}_inst.png"
    Image.fromarray(image).save(tmp_path / "images" / f"{page.id}.png")
    Image.fromarray(np.zeros((H + 1, W, 3), np.uint8)).save(inst)
    with pytest.raises(AnnotationError) as exc:
        format_v2.read_v2(json_path)
    assert_message(exc, inst.name, "height=180")


def test_v2_write_is_atomic_under_interrupt(tmp_path, monkeypatch):
    page, image = make_page()
    json_path = format_v2.write_v2([page], tmp_path, CLASSES)
    before = json_path.read_bytes()
    changed = Page(page.id, W, H, page.symbols[:1])

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        format_v2.write_v2([changed], tmp_path, CLASSES)
    monkeypatch.undo()
    assert json_path.read_bytes() == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert len(format_v2.read_v2(json_path).pages[0].symbols) == 4


def test_v2_writer_refuses_bad_input(tmp_path):
    page, image = make_page()
    twice = Page("p", W, H, [Symbol("gClef", (1, 1, 5, 5), 3), Symbol("gClef", (6, 1, 9, 5), 3)])
    with pytest.raises(AnnotationError) as exc:
        format_v2.write_v2([twice], tmp_path, CLASSES)
    assert_message(exc, "p", "instance id")
    with pytest.raises(AnnotationError) as exc:
        format_v2.write_v2([page], tmp_path, CLASSES, images=[image, image])
    assert_message(exc, "2 images", "1 pages")
    bad_obb = Page("q", W, H, [Symbol("gClef", (1, 1, 5, 5), 1, obbox=(1.0, 2.0))])
    with pytest.raises(AnnotationError) as exc:
        format_v2.write_v2([bad_obb], tmp_path, CLASSES)
    assert_message(exc, "q", "obbox")
    escape = Page("../outside", W, H, [])
    with pytest.raises(AnnotationError) as exc:
        format_v2.write_v2([escape], tmp_path, CLASSES)
    assert_message(exc, "../outside", "page id")
    assert not (tmp_path / "deepscores.json").exists()


# --------------------------------------------------------------------------- conversion


def test_v1_to_v2_and_back_is_consistent(tmp_path):
    page, image = make_page()
    other, image2 = make_page("lg-77-aug-lilyjazz--page-1")
    plain = [Page(p.id, W, H, [Symbol(s.cls, s.bbox, i) for i, s in enumerate(p.symbols, 1)])
             for p in (page, other)]
    for p, img in zip(plain, (image, image2), strict=True):
        format_v1.write_v1(p, img, tmp_path / "v1", CLASSES)
    v1_pages = format_v1.read_v1_dataset(tmp_path / "v1")

    json_path = format_v2.convert_v1_to_v2(tmp_path / "v1", tmp_path / "v2")
    v2 = format_v2.read_v2(json_path)
    assert [p.id for p in v2.pages] == [p.id for p in v1_pages]
    for a, b in zip(v1_pages, v2.pages, strict=True):
        assert [(s.cls, s.bbox, s.instance) for s in a.symbols] == [
            (s.cls, s.bbox, s.instance) for s in b.symbols]
        assert all(s.obbox is not None for s in b.symbols)
    assert np.array_equal(format_files.read_png(v2.images[page.id]), image)

    format_v2.convert_v2_to_v1(json_path, tmp_path / "v1_again")
    again = format_v1.read_v1_dataset(tmp_path / "v1_again")
    for a, b in zip(again, plain, strict=True):
        assert a.classes() == b.classes()
        for s, t in zip(a.symbols, b.symbols, strict=True):
            assert np.allclose(s.bbox, t.bbox, atol=0.5)
    for p in plain:
        first = format_files.read_png(tmp_path / "v1" / "pix_annotations_png" / f"{p.id}.png")
        second = format_files.read_png(
            tmp_path / "v1_again" / "pix_annotations_png" / f"{p.id}.png")
        assert np.array_equal(first, second)


# --------------------------------------------------------------------------- geometry
