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


def test_fresh_points_are_seeded_and_none_of_the_chapters_test_sets():
    from dlwild.l2c import fresh_points
    from dlwild.l2c import pipeline as lp
    from dlwild.l2c.data import PointsData

    a, b = fresh_points(5, n=20, seed=3), fresh_points(5, n=20, seed=3)
    assert a.x.shape == (5, 20, 2) and np.array_equal(a.x, b.x)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.k, b.k)
    assert not np.array_equal(a.x, fresh_points(5, n=20, seed=4).x)
    test = PointsData().sets("test", 5, 20, 5, seed=(3, lp.TEST_SEED))
    assert not np.isclose(a.x[:, None], test.x[None]).all(axis=(2, 3)).any()
    with pytest.raises(ValueError, match="two points per cluster"):
        fresh_points(3, n=8, k_max=5)


def test_cluster_sets_calls_cluster_on_each_set_and_scores_it(points_model, monkeypatch):
    from dlwild.l2c import api, fresh_points

    sets = fresh_points(4, n=12, seed=0)
    labels, ks, scores = api.cluster_sets(points_model, sets)
    for x, got, k in zip(sets.x, labels, ks, strict=True):
        want, want_k = cluster(points_model, x)
        assert np.array_equal(got, want) and k == want_k
    assert scores.mr.shape == (4,) and np.array_equal(scores.k_pred, ks)
    # a clusterer that returns the truth scores MR 0, NMI 1 and every count right
    truth = iter(zip(sets.labels, sets.k, strict=True))
    monkeypatch.setattr(api, "cluster", lambda model, x: tuple(next(truth)))
    _, _, perfect = api.cluster_sets(points_model, sets)
    assert perfect.summary()["mr"] == 0.0 and perfect.summary()["count_acc"] == 1.0
    assert perfect.summary()["nmi"] == pytest.approx(1.0)


def test_load_trained_trains_once_then_loads_the_cached_network(isolated_home, monkeypatch):
    from dataclasses import replace

    from dlwild.core import train
    from dlwild.l2c import api
    from dlwild.l2c.settings import QUICK, Net

    tiny = Net(n=12, m=1, sets_per_batch=4, batches=2, batches_per_epoch=2, width=8,
               count_units=4, optimizer="adam", lr=1e-3, val_sets=4)
    monkeypatch.setitem(api.SETTINGS, "quick", replace(QUICK, nets={**QUICK.nets,
                                                                     "points": tiny}))
    first = load_trained("points", points_n=12)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("trained a second time"))
    again = load_trained("points", points_n=12)
    assert first.input_shape == (2,) and not again.training
    assert any(isolated_home.rglob("*")), "nothing was cached under DLWILD_HOME"
    for (name, p), (_, q) in zip(first.state_dict().items(), again.state_dict().items(),
                                 strict=True):
        assert torch.equal(p, q), name
