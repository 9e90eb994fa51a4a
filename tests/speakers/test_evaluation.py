"""Typed clustering results: keys, evaluations, the GMM baseline on a distance matrix, and the
results file's JSON shape (read back from the committed full-scale record)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import ROOT
from dlwild.speakers.evaluation import (
    METHODS,
    ClusterKey,
    Evaluation,
    best_cut_mr,
    evaluate_clustering,
    from_json,
    gmm_baseline,
    sizes,
    to_json,
)

RECORD = ROOT / "book" / "records" / "speakers.full.json"


def test_keys_name_their_system_and_round_trip_through_the_results_label():
    key = ClusterKey("cnn2016", "L8", 40)
    assert key.label == "cnn2016/L8/40" and key.name == "MLSP 2016 CNN, L8 softmax"
    assert ClusterKey.parse("cnn2016/L8/40") == key
    gmm = ClusterKey("gmm", None, 80)
    assert gmm.label == "gmm/80" and gmm.name == "ACM MM 2009 MFCC/GMM"
    assert ClusterKey.parse("gmm/80") == gmm
    assert ClusterKey("bilstm2018", "L3", 40).name == "ANNPR 2018 BiLSTM, L3"
    for bad in ("sweep", "resnet/L1/40", "cnn2016/40", "gmm/L1/40"):
        with pytest.raises(ValueError, match="not a clustering key"):
            ClusterKey.parse(bad)


def test_clustering_known_embeddings():
    true = ["a", "a", "b", "b", "c", "c"]
    X = np.array([[1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0.05, 0.99, 0], [0, 0, 1],
                  [0, 0.05, 0.99]], dtype=float)
    result = evaluate_clustering(X, true, device="cpu")
    assert tuple(result.scores) == METHODS and result.ds_converged is True
    for method in METHODS:
        assert result.mr(method, "mr_hungarian") == 0 and result.scores[method]["ari"] == 1
        assert result.scores[method]["k"] == 3
    assert result.linkage.shape == (5, 4)
    assert best_cut_mr(X, true) == 0.0


def test_best_cut_mr_is_the_evaluations_best_cut():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 5))
    true = [s for s in "abcdef" for _ in range(2)]
    full = evaluate_clustering(X, true, device="cpu")
    for definition in ("mr_annpr2018", "mr_legacy", "mr_hungarian"):
        assert best_cut_mr(X, true, definition) == full.mr(definition=definition)


def test_the_gmm_baseline_clusters_a_distance_matrix_at_the_best_cut():
    # two tight pairs far apart: {0, 1} and {2, 3}
    d = np.array([[0, 1, 9, 9], [1, 0, 9, 9], [9, 9, 0, 1], [9, 9, 1, 0]], dtype=float)
    result = gmm_baseline(d, ["x", "x", "y", "y"])
    assert set(result.scores) == {"ahc_best_cut"} and result.ds_converged is None
    assert result.scores["ahc_best_cut"]["k"] == 2 and result.mr() == 0.0


def test_json_round_trip_and_sizes():
    scores = {"ahc_best_cut": {"mr_legacy": 0.25, "k": 3}}
    clustering = {ClusterKey("cnn2017", "L7", 80): Evaluation(scores),
                  ClusterKey("gmm", None, 40): Evaluation(scores)}
    entries = to_json(clustering)
    assert entries == {"cnn2017/L7/80": scores, "gmm/40": scores}
    back = from_json({**entries, "sweep": {"100": 0.1}})
    assert {k: e.scores for k, e in back.items()} == {k: e.scores for k, e in clustering.items()}
    assert sizes(back) == [40, 80]


def test_the_committed_records_clusterings_read_back_typed():
    record = json.loads(RECORD.read_text())
    clustering = from_json(record["metrics"]["clustering"])
    assert sizes(clustering) == [40, 80] and len(clustering) == 10
    assert clustering[ClusterKey("cnn2016", "L7", 40)].mr() == pytest.approx(0.2)
    assert to_json(clustering) == {k: v for k, v in record["metrics"]["clustering"].items()
                                   if k != "sweep"}
