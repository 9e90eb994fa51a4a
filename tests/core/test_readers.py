"""Tests of the file-format readers (dlwild.core.readers): IDX, and MNIST through it.

The files are made in tmp; only ``test_load_mnist_from_the_real_mirror`` reads the real mirror,
and only when ``$DLWILD_MIRROR`` points at one.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from dlwild.core import data
from dlwild.core.readers import load_mnist, read_idx

#: The real mirror, if the environment points at one (read before the fixtures clear it).
REAL_MIRROR = os.environ.get("DLWILD_MIRROR")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache, no mirror, offline: a reader test never downloads."""
    monkeypatch.setenv("DLWILD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLWILD_MIRROR", raising=False)
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    return tmp_path


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    big = array.astype(array.dtype.newbyteorder(">"))
    dims = np.array(array.shape, dtype=">u4").tobytes()
    return bytes([0, 0, code, array.ndim]) + dims + big.tobytes()


# --------------------------------------------------------------------------------------------
# IDX


def test_read_idx_known_answer(tmp_path):
    images = np.array([[[0, 1], [2, 255]], [[7, 8], [9, 10]], [[3, 3], [3, 3]]], np.uint8)
    (tmp_path / "img.idx").write_bytes(idx_bytes(images, 0x08))
    got = read_idx(tmp_path / "img.idx")
    assert got.dtype == np.uint8 and got.shape == (3, 2, 2)
    np.testing.assert_array_equal(got, images)
    got[0, 0, 0] = 5  # writable

    ints = np.array([-2, 70000, 3], np.int32)
    (tmp_path / "ints.idx.gz").write_bytes(gzip.compress(idx_bytes(ints, 0x0C)))
    got = read_idx(tmp_path / "ints.idx.gz")
    assert got.dtype == np.dtype("int32") and got.dtype.isnative
    np.testing.assert_array_equal(got, ints)

    labels = bytes([0, 0, 8, 1]) + (4).to_bytes(4, "big") + bytes([3, 1, 4, 1])
    (tmp_path / "labels").write_bytes(labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"), [3, 1, 4, 1])


def test_read_idx_refuses_corrupt_files(tmp_path):
    good = idx_bytes(np.zeros((4, 5), np.uint8), 0x08)
    cases = {
        "magic": (b"\x12\x34" + good[2:], "not an IDX file"),
        "dtype": (good[:2] + b"\x42" + good[3:], "not an IDX file"),
        "short": (good[:-3], "disagrees with its header"),
        "long": (good + b"\x00", "disagrees with its header"),
        "header": (good[:6], "truncated IDX header"),
        "empty": (b"", "not an IDX file"),
        "gz": (gzip.compress(good)[:-12], "gzip"),
    }
    for name, (payload, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(ValueError, match=match) as info:
            read_idx(path)
        assert str(path) in str(info.value), name


# --------------------------------------------------------------------------------------------
# MNIST


def test_load_mnist_from_a_tiny_fetched(tmp_path):
    ds = data.get("mnist")
    assert ds.reader == "load_mnist"  # the data set file names this reader
    images = np.random.default_rng(0).integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    labels = (np.arange(60000) % 10).astype(np.uint8)
    (tmp_path / "i").write_bytes(idx_bytes(images, 0x08))
    (tmp_path / "l").write_bytes(idx_bytes(labels, 0x08))
    fetched = data.Fetched(
        ds,
        {
            "train-images-idx3-ubyte.gz": tmp_path / "i",
            "train-labels-idx1-ubyte.gz": tmp_path / "l",
        },
    )
    x, y = load_mnist("train", fetched)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.tolist()[:3] == [0, 1, 2]
    with pytest.raises(ValueError, match="split"):
        load_mnist("valid", fetched)
    with pytest.raises(ValueError, match="expected 10000"):
        load_mnist(
            "test",
            data.Fetched(
                ds,
                {
                    "t10k-images-idx3-ubyte.gz": tmp_path / "i",
                    "t10k-labels-idx1-ubyte.gz": tmp_path / "l",
                },
            ),
        )


def test_load_mnist_without_data_says_how_to_get_it():
    with pytest.raises(data.DataUnavailable, match="DLWILD_MIRROR"):
        load_mnist("test")


@pytest.mark.skipif(not REAL_MIRROR, reason="DLWILD_MIRROR does not point at a real mirror")
def test_load_mnist_from_the_real_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("DLWILD_MIRROR", str(Path(REAL_MIRROR).resolve()))
    x, y = load_mnist("train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert abs(float(x.mean()) / 255 - 0.1307) < 1e-3
    x, y = load_mnist("test")
    assert x.shape == (10000, 28, 28)
    assert np.bincount(y, minlength=10).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]
    assert list((tmp_path / "home").rglob("*.gz")) == []  # read in place from the mirror
