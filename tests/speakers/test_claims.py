"""The speaker papers' claims are well formed and traceable to the bibliography."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from dlwild.speakers.claims import CLAIMS
from dlwild.speakers.evaluation import ClusterKey, Evaluation, from_json


def test_claims_are_unique_sourced_and_cited():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "book/references.bib").read_text(), re.M))
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids))
    for claim in CLAIMS:
        assert claim.paper in keys, claim.id
        assert re.search(r"(Table|Fig\.|Sect\.)", claim.source), claim.id
        assert claim.statement and claim.metric
        if claim.kind == "value":
            assert 0 <= claim.paper_value <= 1 and claim.tolerance > 0


def evaluation(legacy: float, annpr: float, hungarian: float) -> Evaluation:
    row = {"mr_legacy": legacy, "mr_annpr2018": annpr, "mr_hungarian": hungarian,
           "mr_acm2009": annpr}
    return Evaluation({"ahc_best_cut": row, "ahc_true_k": row, "dominant_sets": row})


def test_measured_from_maps_every_claim_and_judges_relations():
    from dlwild.core.claims import compare
    from dlwild.speakers.claims import CLAIMS, measured_from

    batches = {"cnn2016": 160, "cnn2017": 160, "bilstm2018": 1200}
    clustering = {
        ClusterKey("cnn2016", "L7", 40): evaluation(0.30, 0.05, 0.05),
        ClusterKey("cnn2016", "L8", 40): evaluation(0.40, 0.30, 0.20),
        ClusterKey("cnn2017", "L7", 40): evaluation(0.05, 0.05, 0.025),
        ClusterKey("cnn2017", "L7", 80): evaluation(0.15, 0.10, 0.10),
        ClusterKey("bilstm2018", "L3", 40): evaluation(0.05, 0.025, 0.025),
        ClusterKey("gmm", None, 40): evaluation(0.20, 0.125, 0.10),
    }
    sweep = {100: 0.3, 200: 0.1, 400: 0.05, 800: 0.2}
    measured = measured_from(clustering, sweep, data="LibriSpeech", scale="quick",
                             test_corpus="librispeech", batches=batches)
    rows = {r["id"]: r for r in compare(CLAIMS, measured)}
    assert rows["mlsp2016_l7_40"]["verdict"] == "not comparable"
    assert "not TIMIT" in rows["mlsp2016_l7_40"]["note"]
    assert rows["mlsp2017_pkld_80"]["ours"] == 0.15
    assert rows["acm2009_gmm_40"]["ours"] == 0.125
    for rel in ("rel_segment_sweet_spot", "rel_mr_definitions_ordered", "rel_ds_without_k",
                "rel_learned_beats_gmm"):
        assert rows[rel]["verdict"] == "holds", rel
    for rel in ("rel_hidden_beats_softmax", "rel_pkld_matches_identification"):
        assert rows[rel]["verdict"] == "not comparable", rel  # quick-scale CNNs
        assert "quick scale: the CNNs get 160 and 160 minibatches" in rows[rel]["note"]
    assert rows["rel_mr_definitions_ordered"]["data"] == "LibriSpeech, 40 and 80 test speakers"
    assert "checked on 18 clusterings" in rows["rel_mr_definitions_ordered"]["note"]
    sweep = {100: 0.3, 200: 0.2, 400: 0.1, 800: 0.05}  # monotone, no sweet spot
    clustering[ClusterKey("gmm", None, 40)] = evaluation(0.01, 0.01, 0.01)
    rows = {r["id"]: r for r in compare(CLAIMS, measured_from(
        clustering, sweep, data="TIMIT", scale="full", test_corpus="timit:/data/TIMIT",
        batches=batches))}
    assert rows["rel_segment_sweet_spot"]["verdict"] == "differs"
    assert "lowest at the longest length tried" in rows["rel_segment_sweet_spot"]["note"]
    assert "100 ms 24, 200 ms 16, 400 ms 8, 800 ms 4" in rows["rel_segment_sweet_spot"]["note"]
    assert rows["rel_learned_beats_gmm"]["verdict"] == "differs"
    assert rows["mlsp2016_l7_40"]["verdict"] == "holds"  # 0.30 within 0.05 of net-100's 0.325
    assert rows["rel_hidden_beats_softmax"]["verdict"] == "holds"
    assert rows["rel_pkld_matches_identification"]["verdict"] == "holds"
    worse = evaluation(0.05, 0.025, 0.025)
    worse.scores["dominant_sets"] = {**worse.scores["dominant_sets"], "mr_hungarian": 0.2}
    clustering[ClusterKey("bilstm2018", "L3", 40)] = worse  # dominant sets lose on the BiLSTM
    rows = {r["id"]: r for r in compare(CLAIMS, measured_from(
        clustering, sweep, data="TIMIT", scale="full", test_corpus="timit:/data/TIMIT",
        batches=batches))}
    assert rows["rel_ds_without_k"]["verdict"] == "differs"
    assert "bilstm2018/L3: dominant sets 0.2000" in rows["rel_ds_without_k"]["note"]


def test_the_committed_record_is_measured_again_to_the_same_claims():
    """The record's clusterings, read back typed, give every value and verdict it holds."""
    from dlwild.core.claims import compare
    from dlwild.speakers.claims import CLAIMS, measured_from

    record = json.loads((ROOT / "book/records/speakers.full.json").read_text())
    metrics = record["metrics"]
    measured = measured_from(
        from_json(metrics["clustering"]), metrics["clustering"]["sweep"], data="librispeech",
        scale=record["scale"], test_corpus="librispeech",
        batches={k: n["params"]["batches"] for k, n in metrics["networks"].items()})
    again = {r["id"]: r for r in compare(CLAIMS, measured)}
    for row in record["claims"]:
        assert again[row["id"]]["ours"] == pytest.approx(row["ours"]), row["id"]
        assert again[row["id"]]["verdict"] == row["verdict"], row["id"]
        assert again[row["id"]]["note"] == row["note"], row["id"]


def test_sweep_shape_tells_a_minimum_inside_the_range_from_one_at_its_ends():
    from dlwild.speakers.claims import sweep_shape

    assert sweep_shape({20: 0.3, 100: 0.1, 400: 0.05, 1000: 0.2}) == "inside"
    assert sweep_shape({50: 0.2, 100: 0.2, 200: 0.3}) == "shortest"  # tie at the short end
    assert sweep_shape({100: 0.3, 200: 0.2, 800: 0.1}) == "longest"
    assert sweep_shape({100: 0.1, 200: 0.2, 800: 0.1}) == "flat"


def test_record_summary_quotes_a_records_values_for_the_prose():
    from dlwild.speakers.claims import record_summary

    record = {
        "claims": [{"id": "mlsp2016_l7_40", "ours": 0.2, "verdict": "not comparable"},
                   {"id": "rel_hidden_beats_softmax", "ours": True, "verdict": "holds"},
                   {"id": "rel_segment_sweet_spot", "ours": False, "verdict": "differs"}],
        "data": {"datasets": [{"name": "librispeech"}, {"name": "timit"}]},
        "metrics": {"settings": {"n_test_speakers": [40, 80]},
                    "protocol": {"test_speakers": 60},  # fewer than 80: the sizes clip
                    "clustering": {"sweep": {"20": 0.1, "100": 0.0125, "300": 0.1625,
                                             "1000": 0.1375}}},
    }
    summary = record_summary(record)
    assert summary["mlsp2016_l7_40"] == 0.2 and "rel_hidden_beats_softmax" not in summary
    assert (summary["rel_holding"], summary["rel_total"]) == (1, 2)
    assert summary["corpus"] == "librispeech, timit"
    assert (summary["n40"], summary["n80"], summary["utterances"]) == (40, 60, 80)
    assert summary["step"] == 1 / 80
    assert (summary["sweep_best_ms"], summary["sweep_best"]) == (100, 0.0125)
    assert (summary["sweep_worst_ms"], summary["sweep_worst"]) == (300, 0.1625)
    assert summary["sweep_shape"] == "inside"
