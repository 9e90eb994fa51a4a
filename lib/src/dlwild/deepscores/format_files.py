"""What both DeepScores file formats share: PNG files (read, written atomically, checked
against the annotation's page size), page names, and the checks of every number read or
written, which raise :class:`~dlwild.deepscores.annotations.AnnotationError` naming the file
and the field."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dlwild.core.config import atomic_write_bytes
from dlwild.deepscores.annotations import AnnotationError, Box, Page
from dlwild.deepscores.geometry import decode_instances, ink_instances

ImageLike = str | Path | np.ndarray
_PAGE_NAME = re.compile(r"^(?P<piece>.+?)-aug-(?P<font>[A-Za-z0-9]+)--page-\d+$")


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


def png_bytes(array: np.ndarray) -> bytes:
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


def write_page_image(image: ImageLike, target: Path, page: Page) -> np.ndarray:
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
        atomic_write_bytes(target, png_bytes(pixels))
    return pixels


def instances_for(page: Page, pixels: np.ndarray, instances: np.ndarray | None) -> np.ndarray:
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


def check_symbols(page: Page, where: str, classes: Sequence[str]) -> None:
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


def as_float(value: Any, where: str) -> float:
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


def as_size(value: Any, where: str) -> int:
    """A positive integral page size."""
    number = as_float(value, where)
    if number <= 0 or number != int(number):
        raise AnnotationError(f"{where}: {value!r} is not a positive whole number of pixels")
    return int(number)


def check_box(box: Box, width: int, height: int, where: str) -> None:
    """Error unless x0 < x1, y0 < y1 and the box lies on the width x height page."""
    x0, y0, x1, y1 = box
    if not (x0 < x1 and y0 < y1):
        raise AnnotationError(f"{where}: empty or inverted box {box}")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise AnnotationError(f"{where}: box {box} lies outside the {width} x {height} page")


def check_image_size(path: Path, width: int, height: int, where: str) -> None:
    """Error when the PNG at ``path`` is not width x height (header only)."""
    actual = png_size(path)
    if actual != (width, height):
        raise AnnotationError(f"{path}: image is {actual[0]} x {actual[1]} px but {where} "
                              f"says width={width}, height={height}")

def parse_page_name(stem: str) -> tuple[str, str]:
    """(piece, font) from a DeepScores page name such as
    ``lg-527907832922209940-aug-beethoven--page-5``; ("", "") when it does not match."""
    match = _PAGE_NAME.match(stem)
    return (match["piece"], match["font"]) if match else ("", "")
