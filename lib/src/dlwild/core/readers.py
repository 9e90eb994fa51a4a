"""Readers of the file formats of the registered data sets (IDX for MNIST), apart from the
fetch machinery: a data set's toml names its reader here (``reader = "load_mnist"``)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from dlwild.core.config import check_choice
from dlwild.core.data import Fetched, fetch

__all__ = ["load_mnist", "read_idx"]


# --------------------------------------------------------------------------------------------
# IDX (MNIST)


_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format; gzip-compressed or not) into a native-endian array;
    a wrong magic number or a size that disagrees with the header is a ValueError."""
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (magic {data[:4].hex() or 'missing'}; expected 0000 + a "
            "type byte 08/09/0b/0c/0d/0e + number of dimensions)"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path}: IDX size disagrees with its header: shape {shape} of {dtype.name} needs "
            f"{expected} bytes, the file has {len(data)} (truncated or corrupt)"
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


_MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}


def load_mnist(
    split: str = "train", fetched: Fetched | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (uint8 [N, 28, 28]) and labels (uint8 [N]) of ``split`` ("train"/"test"),
    read from ``fetched`` or from a fresh :func:`fetch` of just those two files."""
    check_choice("split", split, tuple(_MNIST_SPLITS))
    images_name, labels_name, count = _MNIST_SPLITS[split]
    if fetched is None:
        fetched = fetch("mnist", [images_name, labels_name])
    images, labels = read_idx(fetched[images_name]), read_idx(fetched[labels_name])
    if images.shape != (count, 28, 28) or labels.shape != (count,):
        raise ValueError(
            f"MNIST {split}: expected {count} images of 28x28 and {count} labels, got "
            f"{images.shape} and {labels.shape}"
        )
    return images, labels
