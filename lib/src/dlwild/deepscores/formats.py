"""Readers and writers for the two DeepScores file formats, plus the oriented-box helpers.

Both formats are converted to and from the chapter's one data model
(:class:`~dlwild.deepscores.annotations.Page`); every reader validates what it reads and raises
:class:`~dlwild.deepscores.annotations.AnnotationError` naming the file and the field, so a
broken file never turns into a silently wrong box. Every file is written atomically.

**DeepScores v1** (ICPR 2018), one folder per dataset; our writer makes the flat layout,
the reader also accepts the layout of the authors' DWD repository::

    <root>/class_names.csv            "index,name" per line, index 0..N-1 (no header)
    <root>/images_png/<page>.png      the rendered page
    <root>/xml_annotations/<page>.xml Pascal-VOC-like boxes, coordinates as page FRACTIONS
    <root>/pix_annotations_png/<page>.png  8-bit grey: class index per pixel, 255 background

    DWD repository: <root>/segmentation_detection/{images_png,xml_annotations,
    pix_annotations_png}/ and <root>/DeepScores_classification/class_names.csv

**DeepScoresV2** (ICPR 2020), the OBBAnns layout (``images/`` and ``segmentation/*_seg.png``
as in the toolkit's README and public sample; ``instance/*_inst.png`` as we recall the dense
release, unverified here)::

    <root>/<name>.json                info, annotation_sets, categories, images, annotations
    <root>/images/<filename>          the rendered page
    <root>/segmentation/<stem>_seg.png  8-bit grey; our writer: deepscores cat id, 0 background
    <root>/instance/<stem>_inst.png   RGB; instance id as a 24-bit colour (1 = #000001)
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from PIL import Image, UnidentifiedImageError
from shapely.geometry import MultiPoint

from dlwild.core.config import atomic_write_bytes, atomic_write_text
from dlwild.deepscores.annotations import AnnotationError, Box, Page, Symbol

ImageLike = str | Path | np.ndarray

# DeepScores v1 folder and file names (the real release and the authors' DWD code).
V1_IMAGES = "images_png"
V1_XML = "xml_annotations"
V1_PIX = "pix_annotations_png"
V1_CLASSES = "class_names.csv"
V1_BACKGROUND = 255
# DeepScoresV2 folder names and suffixes (OBBAnns toolkit, DeepScoresV2 release).
V2_IMAGES = "images"
V2_SEGMENTATION = "segmentation"
V2_INSTANCE = "instance"
V2_SETS = ("deepscores", "muscima++")

INK_THRESHOLD = 128
_PAGE_NAME = re.compile(r"^(?P<piece>.+?)-aug-(?P<font>[A-Za-z0-9]+)--page-\d+$")
_INSTANCE_COMMENT = re.compile(r"instance:#([0-9a-fA-F]{1,6});?")


# --------------------------------------------------------------------------- geometry


def oriented_box(mask_or_points: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)
                 ) -> tuple[float, ...]:
    """The minimum-area rectangle (DeepScoresV2's ``o_bbox``: 8 floats x0, y0, ..., x3, y3).

    A boolean 2-D mask is taken as pixel squares (pixel (row r, col c) covers [c, c+1] x
    [r, r+1], shifted by ``offset`` = (x, y) of the mask's corner), so a 1-px stem gets width 1;
    a numeric (N, 2) array is taken as (x, y) points. Computed with Shapely, as DeepScoresV2
    did; corner order is Shapely's. Collinear points give a rectangle of width 0."""
    arr = np.asarray(mask_or_points)
    shift = np.asarray(offset, dtype=float)
    if arr.dtype == bool and arr.ndim == 2:
        rows, cols = np.nonzero(arr)
        corners = np.concatenate([np.stack([cols + dx, rows + dy], axis=1)
                                  for dx in (0, 1) for dy in (0, 1)])
        points = np.unique(corners, axis=0).astype(float) + shift
    elif arr.ndim == 2 and arr.shape[1] == 2 and np.issubdtype(arr.dtype, np.number):
        points = arr.astype(float) + shift
    else:
        raise ValueError("oriented_box: expected a boolean mask (H, W) or numeric (N, 2) points, "
                         f"got {arr.dtype} {arr.shape}")
    if points.shape[0] == 0 or not np.isfinite(points).all():
        raise ValueError("oriented_box: no (finite) points; is the mask empty?")
    rect = shapely.minimum_rotated_rectangle(MultiPoint(points))
    if rect.geom_type == "Polygon":
        coords = list(rect.exterior.coords)[:4]
    elif rect.geom_type == "LineString":
        a, b = rect.coords[0], rect.coords[-1]
        coords = [a, b, b, a]
    else:
        coords = [rect.coords[0]] * 4
    return tuple(float(v) for xy in coords for v in xy)


def _pixel_span(lo: float, hi: float, limit: int) -> slice:
    """Pixels whose centres (i + 0.5) lie in [lo, hi], clipped to 0..limit."""
    start = max(0, math.ceil(lo - 0.5))
    stop = min(limit, math.floor(hi - 0.5) + 1)
    return slice(start, max(start, stop))


def _grey(image: np.ndarray) -> np.ndarray:
    """A 2-D grey view of an image array (RGB or RGBA averaged over colour channels)."""
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = arr[..., :3].mean(axis=2)
    if arr.ndim != 2:
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C), got {arr.shape}")
    return arr


def _ink(image: np.ndarray, threshold: int) -> np.ndarray:
    """True where a pixel is foreground: a boolean mask as given, else grey < threshold."""
    arr = np.asarray(image)
    if arr.dtype == bool and arr.ndim == 2:
        return arr
    return _grey(arr) < threshold


def background_ratio(image: np.ndarray, bbox: Box, obbox: Sequence[float],
                     threshold: int = INK_THRESHOLD) -> tuple[float, float]:
    """Fraction of background pixels inside the aligned box and inside the oriented box.

    DeepScoresV2 Table II compares the two. ``image`` is a grey/RGB page (background = grey
    >= ``threshold``) or a boolean mask of the symbol itself (background = False, which counts
    other symbols' ink as background too). A pixel is inside when its centre is."""
    ink = _ink(image, threshold)
    height, width = ink.shape
    x0, y0, x1, y1 = bbox
    aligned = ink[_pixel_span(y0, y1, height), _pixel_span(x0, x1, width)]
    if aligned.size == 0:
        raise ValueError(f"background_ratio: box {bbox} covers no pixel centre")
    poly = shapely.Polygon(np.asarray(obbox, dtype=float).reshape(4, 2))
    bx0, by0, bx1, by1 = poly.bounds
    rows, cols = _pixel_span(by0, by1, height), _pixel_span(bx0, bx1, width)
    yy, xx = np.mgrid[rows, cols]
    inside = shapely.intersects_xy(poly, xx + 0.5, yy + 0.5)
    if not inside.any():
        raise ValueError(f"background_ratio: oriented box {tuple(obbox)} covers no pixel centre")
    oriented = ink[rows, cols][inside]
    return 1.0 - float(aligned.mean()), 1.0 - float(oriented.mean())


# --------------------------------------------------------------------------- masks and PNGs


def ink_instances(page: Page, image: np.ndarray, threshold: int = INK_THRESHOLD) -> np.ndarray:
    """Instance id per pixel (int32, 0 = none): the dark pixels whose centres lie in a symbol's
    box. Where boxes overlap the smaller box wins, so a notehead inside a slur's box keeps its
    own pixels. Unannotated ink (v1 has no stems or staff lines) stays 0."""
    ink = _ink(image, threshold)
    if ink.shape != (page.height, page.width):
        raise AnnotationError(f"{page.id}: image is {ink.shape[1]} x {ink.shape[0]} px but the "
                              f"page is {page.width} x {page.height}")
    out = np.zeros(ink.shape, dtype=np.int32)
    by_area = sorted(page.symbols, key=lambda s: -(s.size[0] * s.size[1]))
    for s in by_area:
        rows = _pixel_span(s.bbox[1], s.bbox[3], page.height)
        cols = _pixel_span(s.bbox[0], s.bbox[2], page.width)
        region = out[rows, cols]
        region[ink[rows, cols]] = s.instance
    return out


def encode_instances(instances: np.ndarray) -> np.ndarray:
    """Instance ids (H, W) -> RGB (H, W, 3) uint8, id = 0xRRGGBB (instance 1 = #000001)."""
    ids = np.asarray(instances).astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= 1 << 24):
        raise ValueError("instance ids must lie in 0 .. 2**24 - 1")
    return np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)


def decode_instances(rgb: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) -> instance ids (H, W) int32; the inverse of :func:`encode_instances`."""
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"expected an RGB array, got shape {arr.shape}")
    arr = arr[..., :3].astype(np.int32)
    return (arr[..., 0] << 16) | (arr[..., 1] << 8) | arr[..., 2]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header, without decoding the pixels."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, UnidentifiedImageError) as exc:
        raise AnnotationError(f"{path}: not a readable image ({exc})") from exc


def read_png(path: str | Path) -> np.ndarray:
    """A PNG as a numpy array (grey images 2-D, colour images (H, W, C))."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P":
                img = img.convert("RGB")
            return np.asarray(img)
    except (OSError, UnidentifiedImageError) as exc:
        raise AnnotationError(f"{path}: not a readable image ({exc})") from exc


def read_instance_png(path: str | Path) -> np.ndarray:
    """A DeepScoresV2 instance PNG decoded to instance ids (int32, 0 = background)."""
    arr = read_png(path)
    if arr.ndim != 3:
        raise AnnotationError(f"{path}: instance PNG must be RGB, got shape {arr.shape}")
    return decode_instances(arr)


def _png_bytes(array: np.ndarray) -> bytes:
    """Encode an uint8 array (grey or RGB) as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def _load_image(image: ImageLike, where: str) -> np.ndarray:
    """An image path or array as an array (paths are decoded)."""
    if isinstance(image, str | Path):
        return read_png(image)
    arr = np.asarray(image)
    if arr.ndim not in (2, 3):
        raise AnnotationError(f"{where}: image array has shape {arr.shape}, expected (H, W[, C])")
    return arr


def _write_page_image(image: ImageLike, target: Path, page: Page) -> np.ndarray:
    """Write the page image to ``target`` (a PNG path is copied byte for byte, an array is
    encoded) after checking its size against the page; returns the pixels."""
    pixels = _load_image(image, page.id)
    height, width = pixels.shape[:2]
    if (width, height) != (page.width, page.height):
        raise AnnotationError(f"{page.id}: image is {width} x {height} px but the page says "
                              f"width={page.width}, height={page.height}")
    if isinstance(image, str | Path) and Path(image).suffix.lower() == ".png":
        if Path(image).resolve() != target.resolve():
            atomic_write_bytes(target, Path(image).read_bytes())
    else:
        if pixels.dtype != np.uint8:
            raise AnnotationError(f"{page.id}: image array must be uint8, got {pixels.dtype}")
        atomic_write_bytes(target, _png_bytes(pixels))
    return pixels


def _instances_for(page: Page, pixels: np.ndarray, instances: np.ndarray | None) -> np.ndarray:
    """The page's instance map: the one given (checked) or the one derived from ink and boxes."""
    if instances is None:
        return ink_instances(page, pixels)
    inst = np.asarray(instances)
    if inst.shape != (page.height, page.width):
        raise AnnotationError(f"{page.id}: instance map has shape {inst.shape}, expected "
                              f"({page.height}, {page.width})")
    known = {s.instance for s in page.symbols} | {0}
    unknown = set(np.unique(inst).tolist()) - known
    if unknown:
        raise AnnotationError(f"{page.id}: instance map holds ids {sorted(unknown)[:5]} that "
                              "no symbol has")
    return inst.astype(np.int32)


def _check_symbols(page: Page, where: str, classes: Sequence[str]) -> None:
    """Writer-side checks: a plain page id (it names the files), boxes on the page, known
    classes, unique instance ids 1..2**24-1, 8 finite obbox numbers."""
    if not page.id or Path(page.id).name != page.id or page.id in {".", ".."}:
        raise AnnotationError(f"{where}: page id {page.id!r} is not a plain file name")
    page.check(where)
    known = set(classes)
    seen: set[int] = set()
    for s in page.symbols:
        if s.cls not in known:
            raise AnnotationError(f"{where}: symbol {s.instance}: class {s.cls!r} is not in the "
                                  "class list")
        if not 1 <= s.instance < 1 << 24 or s.instance in seen:
            raise AnnotationError(f"{where}: symbol {s.instance} ({s.cls}): instance id must be "
                                  "unique and in 1 .. 2**24 - 1")
        seen.add(s.instance)
        if s.obbox is not None and (len(s.obbox) != 8
                                    or not all(math.isfinite(v) for v in s.obbox)):
            raise AnnotationError(f"{where}: symbol {s.instance} ({s.cls}): obbox must be 8 "
                                  f"finite numbers, got {s.obbox}")


# --------------------------------------------------------------------------- class lists


def write_class_names(path: str | Path, classes: Sequence[str]) -> Path:
    """Write a v1 class list as ``index,name`` lines (no header), as the authors' code reads it
    (``pandas.read_csv(header=None)[1]``); the index is the grey value in the pixel PNGs."""
    names = list(classes)
    if len(set(names)) != len(names) or not all(n and n.strip() == n for n in names):
        raise AnnotationError(f"{path}: class names must be unique, non-empty, unpadded")
    if any("," in n or "\n" in n for n in names):
        raise AnnotationError(f"{path}: class names may not contain ',' or newlines")
    return atomic_write_text(Path(path), "".join(f"{i},{n}\n" for i, n in enumerate(names)))


def read_class_names(path: str | Path) -> list[str]:
    """Read a class list: lines of ``index,name`` (optionally a third blacklist column, as in
    later DeepScores releases; it is ignored, the class keeps its index) or of bare names.
    Indices must be 0..N-1; position = index."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: cannot read the class list ({exc})") from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise AnnotationError(f"{path}: the class list is empty")
    by_index: dict[int, str] = {}
    for line, row in enumerate(rows, 1):
        cells = [c.strip() for c in row]
        if len(cells) == 1:
            index, name = line - 1, cells[0]
        else:
            try:
                index, name = int(cells[0]), cells[1]
            except ValueError as exc:
                raise AnnotationError(f"{path}: row {line}: index {cells[0]!r} is not an "
                                      "integer") from exc
        if not name or index in by_index or name in by_index.values():
            raise AnnotationError(f"{path}: row {line}: empty or duplicate class {name!r} "
                                  f"(index {index})")
        by_index[index] = name
    if sorted(by_index) != list(range(len(by_index))):
        raise AnnotationError(f"{path}: class indices must be 0..{len(by_index) - 1}, got "
                              f"{min(by_index)}..{max(by_index)}")
    return [by_index[i] for i in range(len(by_index))]


def find_class_names(root: str | Path) -> Path:
    """Locate a v1 class list near ``root``: ``class_names.csv`` (or ``.txt``) in ``root``,
    its ``DeepScores_classification`` folder, or the same two places one level up."""
    root = Path(root)
    candidates = [folder / sub / name
                  for folder in (root, root.parent)
                  for sub in ("", "DeepScores_classification")
                  for name in (V1_CLASSES, "class_names.txt")]
    for path in candidates:
        if path.is_file():
            return path
    raise AnnotationError(f"{root}: no class list (looked for {V1_CLASSES} in the dataset "
                          "folder, its DeepScores_classification folder and one level up)")


def parse_page_name(stem: str) -> tuple[str, str]:
    """(piece, font) from a DeepScores page name such as
    ``lg-527907832922209940-aug-beethoven--page-5``; ("", "") when it does not match."""
    match = _PAGE_NAME.match(stem)
    return (match["piece"], match["font"]) if match else ("", "")


# --------------------------------------------------------------------------- v1


def _v1_folder(root: Path) -> Path:
    """The folder holding ``xml_annotations``: ``root`` or ``root/segmentation_detection``."""
    for folder in (root, root / "segmentation_detection"):
        if (folder / V1_XML).is_dir():
            return folder
    raise AnnotationError(f"{root}: no {V1_XML} folder (nor segmentation_detection/{V1_XML})")


def _fraction_text(value: float) -> str:
    """A fraction with full float precision (repr round-trips exactly)."""
    return repr(float(value))


def write_v1(page: Page, image: ImageLike, folder: str | Path, classes: Sequence[str],
             instances: np.ndarray | None = None) -> dict[str, Path]:
    """Write one page in DeepScores v1 form under ``folder`` (flat layout, see the module doc).

    Writes the page PNG, the class-index PNG (from ``instances`` if given, else from the dark
    pixels inside each box), then the XML last, so a page without XML was never finished.
    The class list is written once; an existing different list is an error (its grey codes
    would silently change meaning). Returns the paths by kind."""
    folder = Path(folder)
    where = f"{page.id} (v1 writer)"
    names = list(classes)
    if len(names) >= V1_BACKGROUND:
        raise AnnotationError(f"{where}: {len(names)} classes do not fit grey codes 0..254")
    _check_symbols(page, where, names)
    class_path = folder / V1_CLASSES
    if class_path.exists():
        if read_class_names(class_path) != names:
            raise AnnotationError(f"{class_path}: holds a different class list than the one "
                                  "given; write to a fresh folder")
    else:
        write_class_names(class_path, names)
    paths = {"classes": class_path,
             "image": folder / V1_IMAGES / f"{page.id}.png",
             "pix": folder / V1_PIX / f"{page.id}.png",
             "xml": folder / V1_XML / f"{page.id}.xml"}
    pixels = _write_page_image(image, paths["image"], page)
    inst = _instances_for(page, pixels, instances)
    lookup = np.full(max([s.instance for s in page.symbols], default=0) + 1, V1_BACKGROUND,
                     dtype=np.uint8)
    index = {n: i for i, n in enumerate(names)}
    for s in page.symbols:
        lookup[s.instance] = index[s.cls]
    atomic_write_bytes(paths["pix"], _png_bytes(lookup[inst]))

    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = V1_IMAGES
    ET.SubElement(root, "filename").text = paths["image"].name
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "DeepScores"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(page.width)
    ET.SubElement(size, "height").text = str(page.height)
    ET.SubElement(size, "depth").text = str(1 if pixels.ndim == 2 else pixels.shape[2])
    ET.SubElement(root, "segmented").text = "1"
    for s in page.symbols:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = s.cls
        box = ET.SubElement(obj, "bndbox")
        x0, y0, x1, y1 = s.bbox
        for tag, value in (("xmin", x0 / page.width), ("xmax", x1 / page.width),
                           ("ymin", y0 / page.height), ("ymax", y1 / page.height)):
            ET.SubElement(box, tag).text = _fraction_text(value)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    atomic_write_text(paths["xml"], text)
    return paths


def _xml_text(node: ET.Element, tag: str, where: str) -> str:
    """The stripped text of ``node``'s child ``tag``, or an error naming it."""
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise AnnotationError(f"{where}: missing <{tag}>")
    return child.text.strip()


def _as_float(value: Any, where: str) -> float:
    """A finite number from a JSON number or an XML text; anything else is an error."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise AnnotationError(f"{where}: {value!r} is not a number")
    try:
        number = float(value)
    except ValueError as exc:
        raise AnnotationError(f"{where}: {value!r} is not a number") from exc
    if not math.isfinite(number):
        raise AnnotationError(f"{where}: {value!r} is not a finite number")
    return number


def _as_size(value: Any, where: str) -> int:
    """A positive integral page size."""
    number = _as_float(value, where)
    if number <= 0 or number != int(number):
        raise AnnotationError(f"{where}: {value!r} is not a positive whole number of pixels")
    return int(number)


def _check_box(box: Box, width: int, height: int, where: str) -> None:
    """Error unless x0 < x1, y0 < y1 and the box lies on the width x height page."""
    x0, y0, x1, y1 = box
    if not (x0 < x1 and y0 < y1):
        raise AnnotationError(f"{where}: empty or inverted box {box}")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise AnnotationError(f"{where}: box {box} lies outside the {width} x {height} page")


def _check_image_size(path: Path, width: int, height: int, where: str) -> None:
    """Error when the PNG at ``path`` is not width x height (header only)."""
    actual = png_size(path)
    if actual != (width, height):
        raise AnnotationError(f"{path}: image is {actual[0]} x {actual[1]} px but {where} "
                              f"says width={width}, height={height}")


def read_v1_page(xml_path: str | Path, classes: Sequence[str] | None = None,
                 image_path: str | Path | None = None) -> Page:
    """Read one DeepScores v1 XML into a :class:`Page` (pixel boxes = fraction x size).

    ``classes`` (optional) rejects unknown class names. The image is looked for at
    ``image_path`` or as ``../images_png/<filename>``; when it exists its PNG header must
    agree with <size>, and ``Page.source`` is its path ("" when there is none).
    Boxes are kept as floats (the DWD code floors them to whole pixels)."""
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise AnnotationError(f"{xml_path}: malformed XML ({exc})") from exc
    except OSError as exc:
        raise AnnotationError(f"{xml_path}: cannot read ({exc})") from exc
    if root.tag != "annotation":
        raise AnnotationError(f"{xml_path}: root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    if size is None:
        raise AnnotationError(f"{xml_path}: missing <size>")
    width = _as_size(_xml_text(size, "width", f"{xml_path}: <size>"), f"{xml_path}: <width>")
    height = _as_size(_xml_text(size, "height", f"{xml_path}: <size>"),
                      f"{xml_path}: <height>")
    filename = (root.findtext("filename") or "").strip() or f"{xml_path.stem}.png"
    known = set(classes) if classes is not None else None
    symbols = []
    for number, obj in enumerate(root.findall("object"), 1):
        where = f"{xml_path}: object {number}"
        name = _xml_text(obj, "name", where)
        if known is not None and name not in known:
            raise AnnotationError(f"{where}: <name> {name!r} is not in the class list")
        box = obj.find("bndbox")
        if box is None:
            raise AnnotationError(f"{where} ({name}): missing <bndbox>")
        frac = {tag: _as_float(_xml_text(box, tag, f"{where} ({name})"),
                               f"{where} ({name}) <{tag}>")
                for tag in ("xmin", "ymin", "xmax", "ymax")}
        for tag, value in frac.items():
            if not 0.0 <= value <= 1.0:
                raise AnnotationError(f"{where} ({name}) <{tag}>: {value} is not a fraction of "
                                      "the page (0..1): box outside the page")
        bbox = (frac["xmin"] * width, frac["ymin"] * height,
                frac["xmax"] * width, frac["ymax"] * height)
        _check_box(bbox, width, height, f"{where} ({name}) <bndbox>")
        symbols.append(Symbol(cls=name, bbox=bbox, instance=number))
    images = xml_path.parent.parent / V1_IMAGES
    candidates = ([Path(image_path)] if image_path is not None
                  else [images / Path(filename).name, images / f"{xml_path.stem}.png"])
    source = ""
    for image in candidates:
        if image.is_file():
            _check_image_size(image, width, height, f"{xml_path} <size>")
            source = str(image)
            break
    else:
        if image_path is not None:
            raise AnnotationError(f"{image_path}: the image given for {xml_path} does not exist")
    page_id = xml_path.stem
    piece, font = parse_page_name(page_id)
    return Page(id=page_id, width=width, height=height, symbols=symbols, piece=piece,
                font=font, source=source)


def read_v1_segmentation(path: str | Path, classes: Sequence[str]) -> np.ndarray:
    """A v1 class PNG as uint8 codes (class index, 255 background); other codes are errors."""
    path = Path(path)
    arr = read_png(path)
    if arr.ndim == 3:
        if not (arr[..., 0] == arr[..., 1]).all() or not (arr[..., 0] == arr[..., 2]).all():
            raise AnnotationError(f"{path}: class PNG is coloured, expected grey codes")
        arr = arr[..., 0]
    codes = np.unique(arr)
    bad = [int(c) for c in codes if c >= len(classes) and c != V1_BACKGROUND]
    if bad:
        raise AnnotationError(f"{path}: grey codes {bad[:5]} are neither a class index "
                              f"(0..{len(classes) - 1}) nor background ({V1_BACKGROUND})")
    return arr.astype(np.uint8)


def read_v1_dataset(root: str | Path, classes: Sequence[str] | str | Path | None = None,
                    require_images: bool = True) -> list[Page]:
    """Read every ``xml_annotations/*.xml`` of a v1 dataset (flat or DWD layout), sorted by name.

    ``classes`` is a list, a class-list path, or None to find ``class_names.csv`` (see
    :func:`find_class_names`). Each page's image must exist (unless ``require_images`` is
    False); image and class PNG sizes are checked against the XML."""
    root = Path(root)
    folder = _v1_folder(root)
    if classes is None:
        names = read_class_names(find_class_names(folder))
    elif isinstance(classes, str | Path):
        names = read_class_names(classes)
    else:
        names = list(classes)
    pages = []
    for xml_path in sorted((folder / V1_XML).glob("*.xml")):
        page = read_v1_page(xml_path, names)
        if require_images and not page.source:
            raise AnnotationError(f"{xml_path}: no page image in {folder / V1_IMAGES}")
        for pix in (folder / V1_PIX / f"{page.id}.png", folder / V1_PIX / f"{page.id}_seg.png"):
            if pix.is_file():
                _check_image_size(pix, page.width, page.height, f"{xml_path} <size>")
                break
        pages.append(page)
    return pages


# --------------------------------------------------------------------------- V2


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
             images: Sequence[ImageLike | None] | Mapping[str, ImageLike] | None = None,
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
        _check_symbols(page, where, names)
        filename = f"{page.id}.png"
        image_path, seg_path, inst_path = _v2_paths(folder, filename)
        image = pick(images, index, page)
        inst = None
        if image is not None:
            pixels = _write_page_image(image, image_path, page)
            inst = _instances_for(page, pixels, pick(instances, index, page))
            lookup = np.zeros(max([s.instance for s in page.symbols], default=0) + 1,
                              dtype=np.uint8)
            for s in page.symbols:
                lookup[s.instance] = cat_of[s.cls]
            atomic_write_bytes(seg_path, _png_bytes(lookup[inst]))
            atomic_write_bytes(inst_path, _png_bytes(encode_instances(inst)))
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
        out.append(_as_float(v, where))
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
        width = _as_size(_field(entry, "width", iw), f"{iw} width")
        height = _as_size(_field(entry, "height", iw), f"{iw} height")
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
            _check_box(a_bbox, width, height, f"{aw} a_bbox ({filename})")
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
                    _check_image_size(p, width, height, f"{iw} ({json_path.name})")
        page_id = Path(filename).stem
        if page_id in result.images:
            raise AnnotationError(f"{iw}: filename {filename!r} repeats")
        piece, font = parse_page_name(page_id)
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


# --------------------------------------------------------------------------- conversion


def convert_v1_to_v2(root: str | Path, folder: str | Path,
                     json_name: str = "deepscores.json") -> Path:
    """A v1 dataset -> one V2 JSON plus images (copied) and masks under ``folder``.

    Class ids are the v1 class list's order + 1. v1 has no oriented boxes or instance masks:
    both are derived from the dark pixels inside each box (see :func:`ink_instances`)."""
    root = Path(root)
    names = read_class_names(find_class_names(_v1_folder(root)))
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
        inst = read_instance_png(inst_path) if inst_path is not None else None
        plain = replace(page, symbols=[replace(s, obbox=None) for s in page.symbols])
        write_v1(plain, image, folder, names, instances=inst)
    if not data.pages:
        write_class_names(folder / V1_CLASSES, names)
    return folder / V1_CLASSES


__all__ = [
    "ImageLike", "V1_BACKGROUND", "V1_CLASSES", "V1_IMAGES", "V1_PIX", "V1_XML",
    "V2_IMAGES", "V2_INSTANCE", "V2_SEGMENTATION", "V2_SETS", "V2Dataset",
    "background_ratio", "convert_v1_to_v2", "convert_v2_to_v1", "decode_instances",
    "encode_instances", "find_class_names", "ink_instances", "oriented_box",
    "parse_page_name", "png_size", "read_class_names", "read_instance_png", "read_png",
    "read_v1_dataset", "read_v1_page", "read_v1_segmentation", "read_v2", "write_class_names",
    "write_v1", "write_v2",
]
