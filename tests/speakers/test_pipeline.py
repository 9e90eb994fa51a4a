"""The chapter's experiment on tiny inputs: corpora, protocol, training keyed by the data as
resolved, clustering, the sweep and the results' shape."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest
import torch
from speaker_fixtures import TINY, tiny_run, tone_corpus

from dlwild.core import cache
from dlwild.core import config as core_config
from dlwild.speakers import claims, embeddings, pipeline, synthetic
from dlwild.speakers.evaluation import ClusterKey
from dlwild.speakers.settings import NETWORKS, SETTINGS, chapter_networks


@pytest.fixture(scope="module")
def protocol(tmp_path_factory):
    utts = tone_corpus(tmp_path_factory.mktemp("tones"), 8)
    return pipeline.build_protocol(utts, None, TINY, seed=0, source="real", corpus="tones")


def test_protocol_is_disjoint_and_shaped_like_the_papers(protocol):
    assert len(protocol.test_speakers) == 3
    assert not set(protocol.train_speakers) & set(protocol.test_speakers)
    assert len(protocol.train_speakers) == 4
    assert len(protocol.test_specs) == 6  # two utterances per test speaker
    assert protocol.test_labels[0::2] == protocol.test_labels[1::2]
    first, rest = protocol.test_specs[0].shape[1], protocol.test_specs[1].shape[1]
    assert 3.5 < first / rest < 4.5  # ~80 % / ~20 %
    specs, labels, groups = protocol.subset(2)
    assert len(specs) == len(labels) == len(groups) == 4
    assert protocol.sizes(TINY) == [2, 3]
    assert protocol.indices(2) == [i for i, s in enumerate(protocol.test_labels)
                                   if s in protocol.test_speakers[:2]]


def test_the_training_set_names_its_source_and_content(protocol):
    data = protocol.training.data
    assert data["source"] == "real" and data["corpus"] == "tones"
    assert data["n_train_speakers"] == 4 and protocol.training.n_speakers == 4
    assert data["sha256"] == cache.array_digest(
        [*protocol.training.specs, protocol.training.labels, *protocol.training.val_specs,
         protocol.training.val_labels])
    # six seconds a speaker, the first ~80 % trains (the rest validates)
    assert protocol.train_seconds == pytest.approx(4 * 4.8, abs=0.5)


def test_small_test_corpus_is_clustered_whole_and_said_so(tmp_path):
    utts = tone_corpus(tmp_path / "few", 5)
    p = pipeline.build_protocol(utts, None, dataclasses.replace(TINY, n_test_speakers=(40,)),
                                0, source="real", corpus="tones")
    assert len(p.test_speakers) == 5 and "only 5 speakers" in p.notes[0]


@pytest.mark.parametrize("ms", [min(SETTINGS["full"].sweep_ms),
                                max(SETTINGS["full"].sweep_ms)])
def test_the_full_sweeps_shortest_and_longest_segments_train_and_embed(protocol, tmp_path, ms):
    """The full-scale sweep's ends (20 ms is two spectrogram frames) run only in a full run,
    hours in: fail here instead."""
    device = torch.device("cpu")
    trained = embeddings.train_network("bilstm2018", protocol.training, TINY, seed=0,
                                       device=device, segment_ms=ms,
                                       store=cache.ArtifactCache(tmp_path), progress=False)
    segs = embeddings.segment_embeddings(trained, protocol.test_specs[:1], "L3", device)[0]
    assert trained.segment_ms == ms and np.isfinite(segs).all()
    assert len(segs) == protocol.test_specs[0].shape[1] // embeddings.frames_for(ms)


def test_train_all_trains_the_chapters_networks_in_parallel_and_the_chapter_then_loads_them(
        protocol, tmp_path, monkeypatch):
    settings = dataclasses.replace(TINY, sweep_ms=(50, 100), sweep_batches=2)
    parallel = cache.ArtifactCache(tmp_path / "parallel")
    done = pipeline.train_all(protocol, settings, seed=0, device=torch.device("cpu"), jobs=2,
                              store=parallel)
    assert sorted((d["kind"], d["segment_ms"]) for d in done) == [
        ("bilstm2018", 50), ("bilstm2018", 100), ("bilstm2018", 400), ("cnn2016", 1000),
        ("cnn2017", 1000)]
    assert all("CPU" in d["hardware"] and np.isfinite(d["val_loss"]) for d in done)

    def no_training(*args, **kwargs):
        raise AssertionError("the network was trained again instead of loaded")

    # the reference trains with the threads of each of train_all's 2 processes: the MLSP 2017
    # net (Adadelta, lr 1) amplifies the last-bit differences of other thread counts
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // 2))
    try:
        sequential = cache.ArtifactCache(tmp_path / "sequential")
        for kind, ms, batches in chapter_networks(settings):
            args = dict(seed=0, device=torch.device("cpu"), segment_ms=ms, batches=batches,
                        progress=False)
            reference = embeddings.train_network(kind, protocol.training, settings,
                                                 store=sequential, **args)
            with monkeypatch.context() as patched:
                patched.setattr(embeddings.train, "fit", no_training)
                loaded = embeddings.train_network(kind, protocol.training, settings,
                                                  store=parallel, **args)
            for name, value in reference.model.state_dict().items():
                assert torch.allclose(value, loaded.model.state_dict()[name], rtol=0, atol=1e-6)
    finally:
        torch.set_num_threads(threads)


# --- artifact keys follow the data as resolved (issue 24, item 0) ---------------------------

class _Reachable:
    """What ``core.data.resolve`` returns for a registered data set it could fetch."""

    def record(self) -> dict:
        return {"name": "librispeech_resemblyzer", "files": 8}


def _artifacts(store: cache.ArtifactCache) -> dict[str, dict]:
    """Every artifact's meta.json parts, by ``<name>/<key>``."""
    return {f"{meta.parent.parent.name}/{meta.parent.name}": json.loads(meta.read_text())["parts"]
            for meta in store.root.glob("*/*/meta.json")}


def _train(store, **params):
    run = tiny_run(**params)
    corpora = pipeline.load_corpora(run)
    protocol = pipeline.protocol_of(corpora, run)
    return run, protocol, pipeline.train_networks(protocol, run, store=store)


def test_networks_trained_on_generated_voices_are_not_reused_when_real_speech_resolves(
        tmp_path, monkeypatch, isolated_home):
    real = tone_corpus(tmp_path / "real", 8)
    generated = tone_corpus(tmp_path / "generated", 8, pitch=150.0)
    monkeypatch.setattr(synthetic, "synthetic_corpus", lambda *args: generated)
    reachable = {"now": False}
    monkeypatch.setattr(pipeline.datasets, "resolve",
                        lambda name, mode: _Reachable() if reachable["now"] else None)
    monkeypatch.setattr(pipeline, "load_corpus", lambda spec: real)
    store = cache.ArtifactCache(tmp_path / "artifacts")

    run, _, first = _train(store, data="auto")  # the mirror is out of reach: generated voices
    assert run.data_source == "synthetic"
    assert {t.data["source"] for t in first.values()} == {"synthetic"}
    assert len(_artifacts(store)) == len(NETWORKS)

    reachable["now"] = True  # the same request, now the real corpus resolves
    run, protocol, second = _train(store, data="auto")
    assert run.data_source == "real"
    metas = _artifacts(store)
    assert len(metas) == 2 * len(NETWORKS)  # every network trained afresh
    for kind, trained in second.items():
        assert trained.data == protocol.training.data and trained.data["source"] == "real"
        assert trained.data["sha256"] != first[kind].data["sha256"]
        assert trained.data["corpus"] == "librispeech"
        ours = [m for m in metas.values() if m["params"]["kind"] == kind
                and m["data"]["source"] == "real"]
        assert len(ours) == 1 and ours[0]["data"] == trained.data
        assert "test_corpus" not in json.dumps(ours[0])


def test_clustering_another_test_corpus_reuses_the_networks(tmp_path, monkeypatch,
                                                            isolated_home):
    real = tone_corpus(tmp_path / "train", 8)
    tone_corpus(tmp_path / "test_a", 4, first=200, pitch=90.0)
    tone_corpus(tmp_path / "test_b", 4, first=300, pitch=130.0)
    monkeypatch.setattr(pipeline.datasets, "resolve", lambda name, mode: _Reachable())
    real_load = pipeline.load_corpus
    monkeypatch.setattr(pipeline, "load_corpus",
                        lambda spec: real if spec == "librispeech" else real_load(spec))
    store = cache.ArtifactCache(tmp_path / "artifacts")
    _, _, first = _train(store, test_corpus=f"librispeech:{tmp_path / 'test_a'}")
    before = _artifacts(store)

    def no_training(*args, **kwargs):
        raise AssertionError("a network was trained again for another test corpus")

    monkeypatch.setattr(embeddings.train, "fit", no_training)
    _, protocol, second = _train(store, test_corpus=f"librispeech:{tmp_path / 'test_b'}")
    assert _artifacts(store) == before
    assert protocol.test_speakers[0].startswith("3")
    for kind, trained in second.items():
        assert trained.data == first[kind].data


# --- the experiment end to end --------------------------------------------------------------

@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """A whole tiny run: corpora, protocol, networks, clusterings, sweep."""
    root = tmp_path_factory.mktemp("experiment")
    tone_corpus(root / "corpus", 8)
    saved = os.environ.get("DLWILD_HOME")
    os.environ["DLWILD_HOME"] = str(root / "home")
    try:
        # a quarter of the papers' widths: at a tenth the tiny 2016 CNN's L7 units all die
        run = tiny_run(dataclasses.replace(TINY, hidden_scale=0.25),
                       train_corpus=f"librispeech:{root / 'corpus'}",
                       test_corpus=f"librispeech:{root / 'corpus'}")
        corpora = pipeline.load_corpora(run)
        protocol = pipeline.protocol_of(corpora, run)
        nets = pipeline.train_networks(protocol, run)
        clustering = pipeline.cluster_all(nets, protocol, run)
        sweep = pipeline.segment_sweep(protocol, run)
    finally:
        if saved is None:
            os.environ.pop("DLWILD_HOME")
        else:
            os.environ["DLWILD_HOME"] = saved
    return run, corpora, protocol, nets, clustering, sweep


def test_the_experiment_clusters_every_system_at_every_size(experiment):
    run, corpora, protocol, nets, clustering, sweep = experiment
    assert corpora.train_name == "librispeech" and corpora.test_kind == "librispeech"
    assert run.data_source == "real" and run.datasets[0]["files"] == 8
    expected = {ClusterKey(kind, layer, n) for n in (2, 3) for kind, network in NETWORKS.items()
                for layer in network.layers} | {ClusterKey("gmm", None, n) for n in (2, 3)}
    assert set(clustering) == expected
    for key, evaluation in clustering.items():
        methods = {"ahc_best_cut"} if key.system == "gmm" else {
            "ahc_best_cut", "ahc_true_k", "dominant_sets"}
        assert set(evaluation.scores) == methods
        assert evaluation.linkage.shape == (2 * key.speakers - 1, 4)
        assert evaluation.ds_converged in ((None,) if key.system == "gmm" else (True, False))
    assert set(sweep.mr) == set(TINY.sweep_ms) and sweep.speakers == 2
    assert sweep.batches == 2 and all(0 <= v <= 1 for v in sweep.mr.values())
    assert run.training_s > 0  # the networks' training time reaches the provenance


def test_the_gmm_baseline_of_a_subset_is_the_subsets_own(experiment):
    """The GMM distances are computed once on every test utterance and shared: the 2-speaker
    baseline equals one fitted on the 2 speakers alone."""
    from dlwild.speakers.evaluation import gmm_baseline, gmm_distances

    run, _, protocol, _, clustering, _ = experiment
    _, labels, groups = protocol.subset(2)
    alone = gmm_baseline(gmm_distances(groups, TINY.gmm_components, run.seed), labels)
    assert alone.scores == clustering[ClusterKey("gmm", None, 2)].scores


def test_the_results_keep_the_records_shape_and_name_the_training_data(experiment):
    from dlwild.core.results import dumps
    from dlwild.speakers import figures

    run, corpora, protocol, nets, clustering, sweep = experiment
    metrics = pipeline.results_metrics(clustering, sweep, nets, protocol, run)
    metrics = json.loads(dumps(metrics))  # as a results file holds it
    assert set(metrics["clustering"]) == {k.label for k in clustering} | {"sweep"}
    assert metrics["clustering"]["cnn2016/L7/2"]["ahc_best_cut"]["k"] >= 1
    for kind in NETWORKS:
        assert metrics["networks"][kind]["data"]["source"] == "real"
        assert metrics["networks"][kind]["params"]["kind"] == kind
    assert metrics["protocol"]["test_speakers"] == 3
    assert metrics["settings"]["segment_ms"] == 400
    assert len(figures.record_figures({"scale": "quick", "metrics": metrics})) == 4
    measured = claims.measured_from(clustering, sweep.mr, data=corpora.train_name,
                                    scale="quick", test_corpus=corpora.test_kind,
                                    batches=pipeline.batches_trained(nets))
    assert set(measured) == {c.id for c in claims.CLAIMS}
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_runs_segment_length_is_the_bilstms(tmp_path):
    utts = tone_corpus(tmp_path / "c", 8)
    run = tiny_run(train_corpus=f"librispeech:{tmp_path / 'c'}", segment_ms=200)
    assert pipeline.settings_of(run).segment_ms == 200
    assert utts  # the corpus the run validated exists


def test_resolve_corpus_uses_a_local_copy_and_says_so(tmp_path):
    tone_corpus(tmp_path / "copy", 3)
    utts, source = pipeline.resolve_corpus(f"librispeech:{tmp_path / 'copy'}", "auto")
    assert len(utts) == 3 and isinstance(source, pipeline.LocalCopy)
    assert source.record()["files"] == 3 and source.name == "librispeech"


def test_a_bad_corpus_is_refused_by_the_declaration_before_any_work():
    with pytest.raises(core_config.ConfigError, match="unknown corpus"):
        tiny_run(train_corpus="voxceleb")
    with pytest.raises(core_config.ConfigError, match="jobs"):
        tiny_run(jobs=0)
