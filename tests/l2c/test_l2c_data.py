"""The data adapters: the 2-D generator, COIL-20 and MNIST from the registry (when the
mirror has them), the bundled digits standing in, speech windows from the speaker
chapter's features, bad image-set names."""

from __future__ import annotations

import os

import numpy as np
import pytest

from dlwild.l2c.data import PointsData, check_image_set, load_images, load_speech, points_set

MIRROR = os.environ.get("DLWILD_MIRROR")
needs_mirror = pytest.mark.skipif(not MIRROR, reason="needs DLWILD_MIRROR (the data mirror)")


def test_points_sets_hold_k_clusters_in_the_unit_box():
    rng = np.random.default_rng(0)
    for k in range(1, 6):
        x, labels = points_set(72, k, rng)
        assert x.shape == (72, 2) and x.dtype == np.float32
        assert x.min() >= 0.25 - 1e-6 and x.max() <= 0.75 + 1e-6
        assert len(set(labels.tolist())) == k and np.bincount(labels).min() >= 2


def test_points_sets_are_seeded_and_splits_differ():
    data = PointsData()
    a = data.sets("test", 5, 20, 5, seed=(3,))
    b = data.sets("test", 5, 20, 5, seed=(3,))
    c = data.sets("train", 5, 20, 5, seed=(3,))
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    assert data.digest(5, 72) == data.digest(5, 72)


def test_image_set_names():
    assert check_image_set("COIL20") == ("coil20", None)
    with pytest.raises(ValueError, match="expected one of coil20, mnist"):
        check_image_set("imagenet")
    with pytest.raises(ValueError, match="not a folder"):
        check_image_set("coil100:/no/such/folder")


def test_bundled_digits_stand_in_without_real_images():
    data = load_images("coil20", "synthetic", (10, 5, 5), seed=0)
    assert data.source == "synthetic" and data.generator and data.input_shape == (8, 8)
    sets = data.sets("test", 4, 20, 5, seed=0)
    assert set(np.unique(data.labels[np.isin(data.labels, [5, 6, 7, 8, 9])])) <= {5, 6, 7, 8, 9}
    assert sets.x.shape == (4, 20, 8, 8)


@needs_mirror
def test_coil20_classes_are_split_disjointly(isolated_home):
    data = load_images("coil20", "real", (10, 5, 5), seed=0)
    assert data.source == "real" and data.x.shape == (1440, 32, 32)
    assert 0.0 <= data.x.min() and data.x.max() <= 1.0
    split = data.split
    assert len(split["train"]) == 10 and not set(split["train"]) & set(split["test"])
    sets = data.sets("test", 3, 20, 5, seed=1)
    assert sets.x.shape == (3, 20, 32, 32)


@needs_mirror
def test_speech_windows_come_from_disjoint_speakers(isolated_home):
    data = load_speech("librispeech", "real", (5, 5, 5), per_speaker=3, pool=2, seed=0)
    assert data.x.shape == (45, 64, 64) and np.isfinite(data.x).all()
    assert data.source == "real"
    assert not set(data.split["train"]) & set(data.split["test"])
    assert len(data.split["val"]) == 5


def test_a_local_coil100_copy_is_read_and_split(tmp_path):
    import matplotlib.image as mpimg

    rng = np.random.default_rng(0)
    for obj in range(1, 21):
        for angle in (0, 5, 10):
            mpimg.imsave(tmp_path / f"obj{obj}__{angle}.png", rng.random((128, 128, 3)))
    data = load_images(f"coil100:{tmp_path}", "auto", (10, 5, 5), seed=0)
    assert data.kind == "coil100" and data.source == "real"
    assert data.x.shape == (60, 32, 32) and set(data.labels.tolist()) == set(range(1, 21))
    assert not set(data.split["train"]) & set(data.split["test"])


@needs_mirror
def test_mnist_trains_on_digits_0_to_4_and_tests_on_5_to_9(isolated_home):
    data = load_images("mnist", "real", (10, 5, 5), seed=0, per_class=50)
    assert data.split["test"] == [5, 6, 7, 8, 9] and data.input_shape == (28, 28)
    test_items = data.labels[np.isin(data.labels, data.split["test"])]
    assert len(test_items) == 500
    assert data.notes and "5-9" in data.notes[0]
