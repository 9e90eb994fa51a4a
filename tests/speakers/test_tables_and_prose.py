"""The chapter's tables and the values its prose glues, on hand-made results with known
answers (no training)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from speaker_fixtures import TINY

from conftest import ROOT
from dlwild.core.train import History
from dlwild.speakers import claims, prose, tables
from dlwild.speakers.audio import Utterance
from dlwild.speakers.embeddings import Trained, make_network, training_set
from dlwild.speakers.evaluation import ClusterKey, Evaluation
from dlwild.speakers.pipeline import Corpora, Protocol, Sweep
from dlwild.speakers.settings import NETWORKS, SETTINGS

NNBSP = "\u202f"  # the book's thousands separator


def _utt(speaker: str, seconds: float, part: str) -> Utterance:
    return Utterance(Path(f"/x/{speaker}.flac"), speaker, "f", seconds, "librispeech",
                     f"{speaker}{part}")


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    labels = np.arange(2)
    training = training_set([np.zeros((128, 300), np.float32), np.zeros((128, 600), np.float32)],
                            labels, [np.zeros((128, 100), np.float32)] * 2, labels,
                            source="real", corpus="librispeech", n_train_speakers=2)
    groups = [(_utt("a", 8.0, "#a"),), (_utt("a", 2.0, "#b"),),
              (_utt("b", 16.0, "#a"), _utt("b", 4.0, "#a2")), (_utt("b", 5.0, "#b"),)]
    return Protocol(["t1", "t2"], ["a", "b"], training, groups, ["a", "a", "b", "b"],
                    [np.zeros((128, 10))] * 4)


def _scores(legacy: float, annpr: float, hungarian: float, k: int) -> dict:
    return {"mr_legacy": legacy, "mr_annpr2018": annpr, "mr_acm2009": annpr,
            "mr_hungarian": hungarian, "ari": 0.5, "acp": 0.75, "k": k}


def _evaluation(legacy: float, *, ds_k: int = 40, converged: bool | None = True,
                hungarian: float | None = None) -> Evaluation:
    h = legacy / 2 if hungarian is None else hungarian
    return Evaluation({"ahc_best_cut": _scores(legacy, legacy * 0.75, h, 38),
                       "ahc_true_k": _scores(legacy, legacy * 0.75, h, 40),
                       "dominant_sets": _scores(legacy, legacy * 0.75, h, ds_k)},
                      None, converged)


@pytest.fixture(scope="module")
def clustering() -> dict:
    out = {}
    for n in (40, 80):
        out[ClusterKey("cnn2016", "L7", n)] = _evaluation(0.5)
        out[ClusterKey("cnn2016", "L8", n)] = _evaluation(0.75, ds_k=2 * n)
        out[ClusterKey("cnn2017", "L7", n)] = _evaluation(0.25, converged=n == 40)
        out[ClusterKey("bilstm2018", "L3", n)] = _evaluation(0.125, hungarian=0.0)
        out[ClusterKey("gmm", None, n)] = Evaluation(
            {"ahc_best_cut": _scores(0.2, 0.15, 0.1, 41)})
    return out


@pytest.fixture(scope="module")
def nets() -> dict:
    out = {}
    for kind in NETWORKS:
        model = make_network(kind, 4, TINY)
        rows = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "lr": 0.001, "seconds": 2.0,
                 **({"val_accuracy": 0.0625} if kind == "cnn2016" else {})}]
        ms = 400 if kind == "bilstm2018" else 1000
        params = {"kind": kind, "batches": 1200, "epochs": 60, "batch_size": 100,
                  "per_speaker": 5, "optimizer": "adam", "segment_ms": ms}
        out[kind] = Trained(kind, model, History(epochs=rows), ms, params, {"source": "real"})
    return out


SWEEP = Sweep({50: 0.3, 100: 0.1, 200: 0.05, 400: 0.0875}, {}, 40, 300)


def test_utterance_lengths_sum_each_utterances_parts(protocol):
    table = tables.utterance_lengths(protocol)
    assert list(table.index) == list(tables.PARTS)
    assert table.loc[tables.PARTS[0]].tolist() == [14.0, 8.0, 20.0]  # a: 8; b: 16 + 4
    assert table.loc[tables.PARTS[1]].tolist() == [3.5, 2.0, 5.0]


def test_the_mr_definitions_table_lists_every_definition():
    from dlwild.speakers.metrics import MR_DEFINITIONS

    table = tables.mr_definitions()
    assert table["name"].tolist() == list(MR_DEFINITIONS)
    assert list(table.columns) == ["name", "used by", "definition"]


def test_the_networks_table_reads_each_networks_training(nets):
    table = tables.networks(nets)
    assert list(table.index) == list(NETWORKS)
    assert table.loc["cnn2016", "loss"] == "identification (cross-entropy)"
    assert table.loc["bilstm2018", "segment (ms)"] == 400
    assert table.loc["bilstm2018", "embedding units (the clustered layer)"] == 16
    assert table.loc["cnn2017", "parameters"] == sum(p.numel()
                                                    for p in nets["cnn2017"].model.parameters())


def test_the_scaled_down_table_sets_the_run_beside_the_papers(nets):
    table = tables.scaled_down(SETTINGS["quick"], nets)
    row = table.loc["minibatches (2016 CNN / 2017 CNN / BiLSTM)"]
    assert row["papers (full)"] == "10,000 / 30,000 / 10,000"
    assert row["this run"] == "1,200 / 1,200 / 1,200"
    assert table.loc["width of the dense layers (share of the papers')"].tolist() == [
        "100%", f"{SETTINGS['quick'].hidden_scale:.0%}"]
    assert table.loc["segment lengths swept", "papers (full)"] == (
        "20, 50, 100, 200, 300, 400, 600, 800, 1000")


def test_the_clustering_table_has_a_row_per_system_size_and_method(clustering):
    table = tables.clustering_table(clustering)
    assert len(table) == 2 * (4 * 3 + 1)
    row = table.loc[("MLSP 2016 CNN, L8 softmax", 80, "dominant_sets")]
    assert row["k"] == 160 and row["MR legacy"] == 0.75 and row["MR Hungarian"] == 0.375
    assert table.loc[("ACM MM 2009 MFCC/GMM", 40, "ahc_best_cut"), "MR ACM 2009"] == 0.15
    html = tables.styled(table).to_html()
    assert "0.750" in html


def test_the_clustering_notes_name_unconverged_runs_and_the_softmax_singletons(clustering):
    text = prose.clustering_notes(clustering)
    assert "every one of the 80 utterances in a cluster of its own" in text
    assert ("In 1 of the 8 dominant-sets clusterings (MLSP 2017 CNN (PKLD), L7 (80 speakers)) "
            "the replicator dynamics") in text
    calm = {k: Evaluation(e.scores, None, None if k.system == "gmm" else True)
            for k, e in clustering.items()}
    calm[ClusterKey("cnn2016", "L8", 40)] = _evaluation(0.75, ds_k=12)
    text = prose.clustering_notes(calm)
    assert "dominant sets find 12 clusters for 40 speakers" in text
    assert "In all 8 dominant-sets clusterings the replicator dynamics converged" in text


def test_the_prose_quotes_the_papers_values():
    values = prose.paper_values()
    assert values == {"paper_net590_l7": "0.0500", "paper_net590_l8": "0.4500",
                      "paper_sweep_range": "20–1000", "paper_sweep_best": "400"}


def test_the_data_values_describe_the_protocol(protocol):
    corpora = Corpora("librispeech", "librispeech", [], object())
    values = prose.data_values(protocol, corpora)
    # 900 frames of training speech = 9 s
    assert values == {"spk_n_train": "2", "spk_n_test": "2", "spk_train_min": "0.1",
                      "spk_train_s": "4", "spk_corpus": "librispeech"}
    assert prose.data_values(protocol, Corpora("fsdd", "fsdd", [], None))["spk_corpus"] == (
        "synthetic voices")
    assert prose.training_values(SETTINGS["full"]) == {"spk_batches_per_epoch": "100"}


def test_the_findings_quote_the_40_speaker_set(clustering, nets, protocol):
    values = prose.findings(clustering, SWEEP, nets, protocol, SETTINGS["quick"],
                            scale="quick", test_kind="librispeech")
    assert (values["spk_l7"], values["spk_l8"], values["spk_pkld"]) == ("0.5000", "0.7500",
                                                                      "0.2500")
    assert values["spk_rnn"] == "0.0938" and values["spk_rnn_ds"] == "0.0000"
    assert (values["spk_gmm"], values["spk_gmm_legacy"]) == ("0.1500", "0.2000")
    assert values["spk_rnn_vs_gmm"] == "beats" and values["spk_n40"] == "40"
    assert values["spk_cnn_acc"] == "0.062" and values["spk_chance"] == "0.500"
    assert values["spk_mr_ratio"] == "2.0"  # legacy 0.2 vs Hungarian 0.1 (the GMM)
    assert values["spk_paper_batches"] == f"10{NNBSP}000–30{NNBSP}000"
    assert values["spk_cnn2016_batches"] == f"1{NNBSP}200"
    assert values["spk_flat_features"] == format(nets["cnn2016"].model.flat_features,
                                                 ",d").replace(",", NNBSP)
    assert values["spk_training_state"].startswith("barely trained")
    assert values["spk_cnn_claims"] == "marked not comparable"
    assert values["spk_test_voices"].startswith("LibriSpeech speakers")
    assert values["spk_segment_ms"] == "400"
    assert values["spk_step_share"] == "100%"  # 2 s for 1,200 minibatches each
    full = prose.findings(clustering, SWEEP, nets, protocol, SETTINGS["full"], scale="full",
                          test_kind="synthetic")
    assert full["spk_cnn_claims"] == "judged" and full["spk_width_pct"] == "100%"
    assert full["spk_test_voices"].startswith("synthetic espeak-ng voices")


def test_the_sweep_values_count_misclustered_utterances():
    values = prose.sweep_values(SWEEP, SETTINGS["quick"])
    assert values["spk_sweep_range"] == "50–400"
    assert values["spk_sweep_profile"] == "24 at 50 ms, 8 at 100 ms, 4 at 200 ms, 7 at 400 ms"
    assert values["spk_sweep_spread"] == "20" and values["spk_one_utt"] == "0.0125"
    assert values["spk_sweep_shape"] == prose.SWEEP_SHAPE["inside"]
    assert values["spk_sweep_batches"] == "300"
    assert values["spk_full_sweep_range"] == "20–1000"
    assert values["spk_full_max_speakers"] == "80"


def test_step_share_compares_seconds_per_minibatch(nets):
    fast = dataclasses.replace(nets["bilstm2018"], history=History(epochs=[
        {"epoch": 1, "train_loss": 1.0, "seconds": 0.5}]))
    assert prose.step_share(fast, nets["cnn2016"]) == "25%"
    untimed = dataclasses.replace(nets["cnn2016"], history=History(epochs=[{"epoch": 1}]))
    assert prose.step_share(fast, untimed) == "–"


def test_mr_ratio_of_perfect_clusterings_is_one():
    perfect = {ClusterKey("gmm", None, 40): Evaluation(
        {"ahc_best_cut": _scores(0.0, 0.0, 0.0, 40)})}
    assert prose.mr_ratio(perfect) == 1.0


def test_the_committed_records_values_for_the_prose():
    record = json.loads((ROOT / "book/records/speakers.full.json").read_text())
    values = prose.record_values(record)
    summary = claims.record_summary(record)
    assert values["full_mlsp2016_l7_40"] == "0.2000" and values["full_mlsp2016_l8_40"] == "0.6500"
    assert values["full_rel_holding"] == "6" and values["full_rel_total"] == "6"
    assert values["full_n40"] == "40" and values["full_n80"] == "80"
    assert values["full_sweep_best_ms"] == str(summary["sweep_best_ms"]) == "100"
    assert values["full_sweep_where"] == prose.RECORD_SWEEP_SHAPE[summary["sweep_shape"]]
    assert values["full_sweep_same"] == "though not at the same length"
    assert values["full_corpus"] == "librispeech"
    assert values["full_step"] == "0.0125"


def test_glue_outside_a_kernel_does_nothing(capsys):
    prose.glue({"spk_x": "1"})  # no kernel: a no-op, no error, nothing printed
    assert capsys.readouterr().out == ""


def test_every_value_the_page_glues_comes_from_the_library(clustering, nets, protocol):
    """Each ``{glue:text}`` name of the chapter's prose is produced by a function here (or is
    a claim's published value, glued by ``run.glue_paper_values``)."""
    import re

    page = (ROOT / "notebooks" / "speakers.md").read_text(encoding="utf-8")
    wanted = set(re.findall(r"\{glue:text\}`([^`]+)`", page))
    record = json.loads((ROOT / "book/records/speakers.full.json").read_text())
    corpora = Corpora("librispeech", "librispeech", [], object())
    made = {**prose.paper_values(), **prose.data_values(protocol, corpora),
            **prose.training_values(SETTINGS["quick"]), **prose.record_values(record),
            **prose.findings(clustering, SWEEP, nets, protocol, SETTINGS["quick"],
                             scale="quick", test_kind="librispeech")}
    made |= {f"paper_{claim.id}": "" for claim in claims.ABSOLUTE}
    assert sorted(wanted - set(made)) == []


def test_the_utterance_caveat_says_when_both_utterances_are_cut_from_one_recording(protocol):
    whole = replace(protocol, test_groups=[(_utt("a", 8.0, "#a"),), (_utt("a", 2.0, "#b"),)])
    assert prose.utterance_caveat(whole).startswith("All 2 test utterances are distinct")
    cut = [(_utt("a", 10.0, "").part(0, 8, "#a"),), (_utt("a", 10.0, "").part(8, 10, "#b"),),
           (_utt("b", 10.0, "#x"),), (_utt("b", 3.0, "#y"),)]
    text = prose.utterance_caveat(replace(protocol, test_groups=cut))
    assert text.startswith("2 of the 4 test utterances are the two parts")
    assert "flatters" in text and "test_corpus=timit:" in text
