"""The public entry points: cluster() on good and bad sets, load_trained's refusals, and the
chapter's refusal of unknown data set names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlwild.core import config
from dlwild.l2c import cluster, load_trained
from dlwild.l2c.chapter import CHAPTER
from dlwild.l2c.model import L2C


@pytest.fixture(scope="module")
def points_model():
    torch.manual_seed(0)
    return L2C((2,), m=1, width=16, count_units=4, max_n=50).eval()


def test_cluster_returns_labels_numbered_by_first_appearance_and_k(points_model):
    x = np.random.default_rng(0).random((12, 2))
    labels, k = cluster(points_model, x)
    assert labels.shape == (12,) and labels.dtype == np.int64 and 1 <= k <= 5
    assert labels[0] == 0 and set(labels.tolist()) == set(range(len(set(labels.tolist()))))
    assert len(set(labels.tolist())) <= k


@pytest.mark.parametrize(("x", "message"), [
    (np.zeros((0, 2)), "the set is empty"),
    ([], "the set is empty"),
    (np.zeros((1, 2)), "at least 2 items"),
    (np.zeros((60, 2)), "max_n=50"),
    (np.zeros((10, 3)), r"shape \(n, 2\)"),
    (np.zeros((10,)), r"shape \(n, 2\)"),
    (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, np.inf]]), "NaN or infinite values in 2"),
    ([["a", "b"], ["c", "d"]], "numeric array"),
])
def test_bad_sets_are_refused_with_what_was_expected(points_model, x, message):
    with pytest.raises(ValueError, match=message):
        cluster(points_model, x)


def test_an_image_model_wants_its_embedding_nets_input():
    model = L2C((32, 32), m=1, width=16, count_units=4, cnn_scale=0.25).eval()
    labels, k = cluster(model, np.random.default_rng(0).random((6, 32, 32)))
    assert labels.shape == (6,)
    with pytest.raises(ValueError, match=r"shape \(n, 32, 32\)"):
        cluster(model, np.zeros((6, 28, 28)))


def test_load_trained_refuses_unknown_names():
    with pytest.raises(ValueError, match="expected one of points, speech, images"):
        load_trained("faces")
    with pytest.raises(ValueError, match="unknown scale"):
        load_trained("points", scale="huge")


def test_the_chapter_refuses_unknown_data_sets():
    with pytest.raises(config.ConfigError, match="unknown image set"):
        CHAPTER.validate({"image_set": "cifar10"})
    with pytest.raises(config.ConfigError, match="speech_corpus"):
        CHAPTER.validate({"speech_corpus": "voxceleb"})
    assert CHAPTER.validate({"image_set": "mnist"})["image_set"] == "mnist"
