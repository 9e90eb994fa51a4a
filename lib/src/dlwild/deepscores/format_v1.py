"""DeepScores v1 (ICPR 2018): one folder per data set, read and written.

Our writer makes the flat layout; the reader also accepts the layout of the authors' DWD
repository. Every file is written atomically; the XML last, so a page without it was never
finished::

    <root>/class_names.csv            "index,name" per line, index 0..N-1 (no header)
    <root>/images_png/<page>.png      the rendered page
    <root>/xml_annotations/<page>.xml Pascal-VOC-like boxes, coordinates as page FRACTIONS
    <root>/pix_annotations_png/<page>.png  8-bit grey: class index per pixel, 255 background

    DWD repository: <root>/segmentation_detection/{images_png,xml_annotations,
    pix_annotations_png}/ and <root>/DeepScores_classification/class_names.csv
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlwild.core.config import atomic_write_bytes, atomic_write_text
from dlwild.deepscores.annotations import AnnotationError, Page, Symbol
from dlwild.deepscores.format_files import (
    ImageLike,
    as_float,
    as_size,
    check_box,
    check_image_size,
    check_symbols,
    instances_for,
    parse_page_name,
    png_bytes,
    read_png,
    write_page_image,
)

V1_IMAGES = "images_png"
V1_XML = "xml_annotations"
V1_PIX = "pix_annotations_png"
V1_CLASSES = "class_names.csv"
V1_BACKGROUND = 255


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

def v1_folder(root: Path) -> Path:
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
    check_symbols(page, where, names)
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
    pixels = write_page_image(image, paths["image"], page)
    inst = instances_for(page, pixels, instances)
    lookup = np.full(max([s.instance for s in page.symbols], default=0) + 1, V1_BACKGROUND,
                     dtype=np.uint8)
    index = {n: i for i, n in enumerate(names)}
    for s in page.symbols:
        lookup[s.instance] = index[s.cls]
    atomic_write_bytes(paths["pix"], png_bytes(lookup[inst]))

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
    width = as_size(_xml_text(size, "width", f"{xml_path}: <size>"), f"{xml_path}: <width>")
    height = as_size(_xml_text(size, "height", f"{xml_path}: <size>"),
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
        frac = {tag: as_float(_xml_text(box, tag, f"{where} ({name})"),
                               f"{where} ({name}) <{tag}>")
                for tag in ("xmin", "ymin", "xmax", "ymax")}
        for tag, value in frac.items():
            if not 0.0 <= value <= 1.0:
                raise AnnotationError(f"{where} ({name}) <{tag}>: {value} is not a fraction of "
                                      "the page (0..1): box outside the page")
        bbox = (frac["xmin"] * width, frac["ymin"] * height,
                frac["xmax"] * width, frac["ymax"] * height)
        check_box(bbox, width, height, f"{where} ({name}) <bndbox>")
        symbols.append(Symbol(cls=name, bbox=bbox, instance=number))
    images = xml_path.parent.parent / V1_IMAGES
    candidates = ([Path(image_path)] if image_path is not None
                  else [images / Path(filename).name, images / f"{xml_path.stem}.png"])
    source = ""
    for image in candidates:
        if image.is_file():
            check_image_size(image, width, height, f"{xml_path} <size>")
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
    folder = v1_folder(root)
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
                check_image_size(pix, page.width, page.height, f"{xml_path} <size>")
                break
        pages.append(page)
    return pages


def _xml_text(node: ET.Element, tag: str, where: str) -> str:
    """The stripped text of ``node``'s child ``tag``, or an error naming it."""
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise AnnotationError(f"{where}: missing <{tag}>")
    return child.text.strip()
