"""DeepScoresV2 (ICPR 2020) in the OBBAnns layout, read and written, and conversion between
v1 and V2.

``images/`` and ``segmentation/*_seg.png`` as in the toolkit's README and public sample;
``instance/*_inst.png`` as we recall the dense release, unverified here. The JSON is written
last, so a folder without it was never finished::

    <root>/<name>.json                info, annotation_sets, categories, images, annotations
    <root>/images/<filename>          the rendered page
    <root>/segmentation/<stem>_seg.png  8-bit grey; our writer: deepscores cat id, 0 background
    <root>/instance/<stem>_inst.png   RGB; instance id as a 24-bit colour (1 = #000001)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from dlwild.core.config import atomic_write_bytes, atomic_write_text
from dlwild.deepscores import format_files as files
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol
from dlwild.deepscores.format_v1 import (
    V1_CLASSES,
    find_class_names,
    read_class_names,
    read_v1_dataset,
    v1_folder,
    write_class_names,
    write_v1,
)
from dlwild.deepscores.geometry import encode_instances, oriented_box

V2_IMAGES = "images"
V2_SEGMENTATION = "segmentation"
V2_INSTANCE = "instance"
V2_SETS = ("deepscores", "muscima++")
_INSTANCE_COMMENT = re.compile(r"instance:#([0-9a-fA-F]{1,6});?")


@dataclass
class V2Dataset:
    """What :func:`read_v2` returns: the pages (``Page.source`` = image path or ""), the image,
    segmentation and instance PNG paths by page id (None when absent), and the category names
    of the chosen annotation set by id."""

    pages: list[Page]
    images: dict[str, Path | None] = field(default_factory=dict)
    segmentations: dict[str, Path | None] = field(default_factory=dict)
    instances: dict[str, Path | None] = field(default_factory=dict)
    classes: dict[int, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def _v2_paths(folder: Path, filename: str) -> tuple[Path, Path, Path]:
    """(image, segmentation, instance) paths of a V2 page."""
    stem = Path(filename).stem
    return (folder / V2_IMAGES / filename, folder / V2_SEGMENTATION / f"{stem}_seg.png",
            folder / V2_INSTANCE / f"{stem}_inst.png")


def _compose_comments(symbol: Symbol) -> str:
    """V2 comments: ``instance:#hex;`` first, then the symbol's other entries."""
    rest = _INSTANCE_COMMENT.sub("", symbol.comments)
    return f"instance:#{symbol.instance:06x};{rest}"


def write_v2(pages: Sequence[Page], folder: str | Path, classes: Sequence[str],
             images: Sequence[files.ImageLike | None] | Mapping[str, files.ImageLike] | None = None,
             instances: Sequence[np.ndarray | None] | Mapping[str, np.ndarray] | None = None,
             json_name: str = "deepscores.json", info: Mapping[str, Any] | None = None) -> Path:
    """Write pages in DeepScoresV2 form under ``folder``; returns the JSON path.

    Categories: ``classes`` get ids 1..N in the "deepscores" set (colour = id = grey code in
    the segmentation PNG); no muscima++ categories, so every ``cat_id`` is [id, null].
    With an image per page (by position or page id) the image, segmentation and instance PNGs
    are written too; the instance map is the one given or derived from ink inside the boxes.
    ``area`` is the instance's pixel count when a map exists, else the aligned box area.
    ``o_bbox`` is the symbol's own, else the map's minimum-area rectangle, else the aligned
    box's corners. The JSON is written last, so a folder without it was never finished."""
    folder = Path(folder)
    names = list(classes)
    if len(names) > 255:
        raise AnnotationError(f"{folder}: {len(names)} classes do not fit 8-bit grey codes")
    cat_of = {n: i for i, n in enumerate(names, 1)}

    def pick(source: Any, index: int, page: Page) -> Any:
        if source is None:
            return None
        if isinstance(source, Mapping):
            return source.get(page.id)
        if len(source) != len(pages):
            raise AnnotationError(f"{folder}: {len(source)} images/instance maps for "
                                  f"{len(pages)} pages")
        return source[index]

    ids = [p.id for p in pages]
    if len(set(ids)) != len(ids):
        raise AnnotationError(f"{folder}: page ids must be unique (they name the files)")
    categories = {str(i): {"name": n, "annotation_set": V2_SETS[0], "color": i}
                  for n, i in cat_of.items()}
    images_json, annotations = [], {}
    next_ann = 1
    for index, page in enumerate(pages):
        where = f"{page.id} (V2 writer)"
        files.check_symbols(page, where, names)
        filename = f"{page.id}.png"
        image_path, seg_path, inst_path = _v2_paths(folder, filename)
        image = pick(images, index, page)
        inst = None
        if image is not None:
            pixels = files.write_page_image(image, image_path, page)
            inst = files.instances_for(page, pixels, pick(instances, index, page))
            lookup = np.zeros(max([s.instance for s in page.symbols], default=0) + 1,
                              dtype=np.uint8)
            for s in page.symbols:
                lookup[s.instance] = cat_of[s.cls]
            atomic_write_bytes(seg_path, files.png_bytes(lookup[inst]))
            atomic_write_bytes(inst_path, files.png_bytes(encode_instances(inst)))
        elif pick(instances, index, page) is not None:
            raise AnnotationError(f"{where}: an instance map needs the page image too")
        counts = (np.bincount(inst.ravel(), minlength=max([s.instance for s in page.symbols],
                                                           default=0) + 1)
                  if inst is not None else None)
        ann_ids = []
        for s in page.symbols:
            x0, y0, x1, y1 = (float(v) for v in s.bbox)
            if s.obbox is not None:
                obbox = [float(v) for v in s.obbox]
            elif inst is not None and counts[s.instance] > 0:
                obbox = list(oriented_box(inst == s.instance))
            else:
                obbox = [x0, y0, x1, y0, x1, y1, x0, y1]
            area = int(counts[s.instance]) if counts is not None else round((x1 - x0) * (y1 - y0))
            ann_id = str(next_ann)
            next_ann += 1
            annotations[ann_id] = {"a_bbox": [x0, y0, x1, y1], "o_bbox": obbox,
                                   "cat_id": [str(cat_of[s.cls]), None], "area": area,
                                   "img_id": str(index + 1), "comments": _compose_comments(s)}
            ann_ids.append(ann_id)
        images_json.append({"id": index + 1, "filename": filename, "width": int(page.width),
                            "height": int(page.height), "ann_ids": ann_ids})
    document = {"info": dict(info) if info else {"description": "DeepScoresV2-format pages "
                                                                "written by dlwild",
                                                 "version": "2.0"},
                "annotation_sets": list(V2_SETS), "categories": categories,
                "images": images_json, "annotations": annotations}
    return atomic_write_text(folder / json_name, json.dumps(document, indent=1) + "\n")


def _field(entry: Mapping[str, Any], key: str, where: str) -> Any:
    """``entry[key]`` or an error naming the entry and the missing field."""
    if not isinstance(entry, Mapping):
        raise AnnotationError(f"{where}: expected an object, got {type(entry).__name__}")
    if key not in entry:
        raise AnnotationError(f"{where} has no {key}")
    return entry[key]


def _numbers(value: Any, count: int, where: str) -> list[float]:
    """A list of exactly ``count`` finite JSON numbers (strings are not numbers here)."""
    if not isinstance(value, list) or len(value) != count:
        raise AnnotationError(f"{where}: expected a list of {count} numbers, got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise AnnotationError(f"{where}: {v!r} is not a number")
        out.append(files.as_float(v, where))
    return out


def _parse_instance(comments: str, where: str) -> int | None:
    """The instance id from ``instance:#hex;`` in a V2 comment, if there is one."""
    match = _INSTANCE_COMMENT.search(comments)
    if match is None:
        return None
    value = int(match.group(1), 16)
    if value < 1:
        raise AnnotationError(f"{where}: comments instance #{match.group(1)} is not >= 1")
    return value


def read_v2(json_path: str | Path, annotation_set: str = "deepscores",
            check_images: bool = True) -> V2Dataset:
    """Read a DeepScoresV2 JSON into pages of the chosen annotation set.

    Validates the structure field by field (missing keys, non-numeric or out-of-page boxes,
    unknown or mismatched category ids, images listing annotations that do not exist or
    belong elsewhere). With ``check_images`` every existing image / segmentation / instance
    PNG must match the image entry's width and height. ``a_bbox`` must lie on the page;
    ``o_bbox`` may overhang it by 1 px (pixel-corner vs pixel-centre conventions differ by that
    much in the public sample). Symbols keep JSON order; their instance id comes from
    ``comments`` ("instance:#hex;"), else their position (1, 2, ...)."""
    json_path = Path(json_path)
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{json_path}: malformed JSON ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{json_path}: cannot read ({exc})") from exc
    where = str(json_path)
    sets = _field(document, "annotation_sets", where)
    categories = _field(document, "categories", where)
    images = _field(document, "images", where)
    annotations = _field(document, "annotations", where)
    if not isinstance(sets, list) or annotation_set not in sets:
        raise AnnotationError(f"{where}: annotation_sets {sets!r} lacks {annotation_set!r}")
    if not isinstance(categories, Mapping) or not isinstance(annotations, Mapping):
        raise AnnotationError(f"{where}: categories and annotations must be objects keyed by id")
    if not isinstance(images, list):
        raise AnnotationError(f"{where}: images must be a list")
    slot = sets.index(annotation_set)
    names: dict[int, str] = {}
    for cat_key, cat in categories.items():
        cw = f"{where}: category {cat_key}"
        name = _field(cat, "name", cw)
        if not isinstance(name, str) or not name:
            raise AnnotationError(f"{cw}: name {name!r} is not a class name")
        if _field(cat, "annotation_set", cw) == annotation_set:
            try:
                names[int(cat_key)] = name
            except ValueError as exc:
                raise AnnotationError(f"{cw}: id {cat_key!r} is not an integer") from exc
    info = document.get("info", {})
    result = V2Dataset(pages=[], classes=dict(sorted(names.items())),
                       info=info if isinstance(info, dict) else {})
    owner: dict[str, str] = {}
    image_ids: set[str] = set()
    for number, entry in enumerate(images):
        iw = f"{where}: images[{number}]"
        img_id = str(_field(entry, "id", iw))
        iw = f"{where}: image {img_id}"
        filename = _field(entry, "filename", iw)
        if not isinstance(filename, str) or not filename or Path(filename).name != filename:
            raise AnnotationError(f"{iw}: filename {filename!r} is not a plain file name")
        width = files.as_size(_field(entry, "width", iw), f"{iw} width")
        height = files.as_size(_field(entry, "height", iw), f"{iw} height")
        ann_ids = _field(entry, "ann_ids", iw)
        if not isinstance(ann_ids, list):
            raise AnnotationError(f"{iw}: ann_ids must be a list")
        if img_id in image_ids:
            raise AnnotationError(f"{iw}: duplicate image id")
        image_ids.add(img_id)
        symbols, used = [], set()
        for position, ann_key in enumerate(ann_ids, 1):
            ann_key = str(ann_key)
            aw = f"{where}: annotation {ann_key}"
            if ann_key not in annotations:
                raise AnnotationError(f"{iw} ({filename}): ann_ids lists annotation {ann_key}, "
                                      "which is not in annotations")
            if ann_key in owner:
                raise AnnotationError(f"{aw}: listed by image {owner[ann_key]} and {img_id}")
            owner[ann_key] = img_id
            ann = annotations[ann_key]
            a_bbox = tuple(_numbers(_field(ann, "a_bbox", aw), 4, f"{aw} a_bbox"))
            o_bbox = tuple(_numbers(_field(ann, "o_bbox", aw), 8, f"{aw} o_bbox"))
            cat_ids = _field(ann, "cat_id", aw)
            if not isinstance(cat_ids, list) or len(cat_ids) != len(sets):
                raise AnnotationError(f"{aw} cat_id: expected one id per annotation set "
                                      f"{sets}, got {cat_ids!r}")
            cat = cat_ids[slot]
            if cat is None:
                raise AnnotationError(f"{aw} cat_id: no {annotation_set!r} category (null)")
            try:
                cat_int = int(cat)
            except (TypeError, ValueError) as exc:
                raise AnnotationError(f"{aw} cat_id: {cat!r} is not an integer id") from exc
            if cat_int not in names:
                raise AnnotationError(f"{aw} cat_id: {cat!r} is not a {annotation_set!r} "
                                      "category")
            ann_img = str(_field(ann, "img_id", aw))
            if ann_img != img_id:
                raise AnnotationError(f"{aw} img_id: {ann_img!r}, but image {img_id} lists it")
            files.check_box(a_bbox, width, height, f"{aw} a_bbox ({filename})")
            xs, ys = o_bbox[0::2], o_bbox[1::2]
            if min(xs) < -1 or min(ys) < -1 or max(xs) > width + 1 or max(ys) > height + 1:
                raise AnnotationError(f"{aw} o_bbox ({filename}): {o_bbox} lies outside the "
                                      f"{width} x {height} page")
            comments = ann.get("comments", "")
            if not isinstance(comments, str):
                raise AnnotationError(f"{aw} comments: {comments!r} is not a string")
            instance = _parse_instance(comments, f"{aw} comments") or position
            if instance in used:
                raise AnnotationError(f"{aw} comments: instance {instance} repeats on the page")
            used.add(instance)
            symbols.append(Symbol(cls=names[cat_int], bbox=a_bbox, instance=instance,
                                  obbox=o_bbox,
                                  comments=_INSTANCE_COMMENT.sub("", comments, count=1)))
        paths = _v2_paths(json_path.parent, filename)
        found = [p if p.is_file() else None for p in paths]
        if check_images:
            for p in found:
                if p is not None:
                    files.check_image_size(p, width, height, f"{iw} ({json_path.name})")
        page_id = Path(filename).stem
        if page_id in result.images:
            raise AnnotationError(f"{iw}: filename {filename!r} repeats")
        piece, font = files.parse_page_name(page_id)
        result.pages.append(Page(id=page_id, width=width, height=height, symbols=symbols,
                                 piece=piece, font=font,
                                 source=str(found[0]) if found[0] else ""))
        result.images[page_id], result.segmentations[page_id] = found[0], found[1]
        result.instances[page_id] = found[2]
    for ann_key, ann in annotations.items():
        if ann_key not in owner:
            img = ann.get("img_id") if isinstance(ann, Mapping) else None
            if str(img) not in image_ids:
                raise AnnotationError(f"{where}: annotation {ann_key} img_id: {img!r} is not "
                                      "an image in this file")
    return result


def convert_v1_to_v2(root: str | Path, folder: str | Path,
                     json_name: str = "deepscores.json") -> Path:
    """A v1 dataset -> one V2 JSON plus images (copied) and masks under ``folder``.

    Class ids are the v1 class list's order + 1. v1 has no oriented boxes or instance masks:
    both are derived from the dark pixels inside each box (see :func:`ink_instances`)."""
    root = Path(root)
    names = read_class_names(find_class_names(v1_folder(root)))
    pages = read_v1_dataset(root, names)
    images = [Path(p.source) for p in pages]
    return write_v2(pages, folder, names, images=images, json_name=json_name,
                    info={"description": f"converted from DeepScores v1 at {root}"})


def convert_v2_to_v1(json_path: str | Path, folder: str | Path) -> Path:
    """A V2 JSON (deepscores set) -> a v1 dataset under ``folder``; returns the class list.

    The class list is the deepscores categories in id order (index = id order, not id).
    Pages whose image is missing are an error, since v1 needs the page PNG; the class PNG is
    built from the V2 instance PNG when it exists."""
    data = read_v2(json_path)
    names = list(data.classes.values())
    folder = Path(folder)
    for page in data.pages:
        image = data.images[page.id]
        if image is None:
            raise AnnotationError(f"{json_path}: page {page.id} has no image to convert")
        inst_path = data.instances[page.id]
        inst = files.read_instance_png(inst_path) if inst_path is not None else None
        plain = replace(page, symbols=[replace(s, obbox=None) for s in page.symbols])
        write_v1(plain, image, folder, names, instances=inst)
    if not data.pages:
        write_class_names(folder / V1_CLASSES, names)
    return folder / V1_CLASSES
