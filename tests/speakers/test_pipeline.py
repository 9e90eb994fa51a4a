"""The experiment's plumbing on tiny inputs: protocol, snippets, training, embeddings."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dlwild.core import cache
from dlwild.speakers import corpora, pipeline

TINY = dataclasses.replace(
    pipeline.SETTINGS["quick"], n_train_speakers=4, n_test_speakers=(2, 3), hidden_scale=0.1,
    lstm_units=8, batches={"cnn2016": 4, "cnn2017": 4, "bilstm2018": 4},
    batch_size={"cnn2016": 8, "cnn2017": 8, "bilstm2018": 8}, batches_per_epoch=2,
    per_speaker={"cnn2016": 1, "cnn2017": 1, "bilstm2018": 4},
    val_snippets=8, min_test_s=5.0)


def tone_corpus(root: Path, n: int, seconds: float = 6.0) -> list[corpora.Utterance]:
    """One recording per speaker, each a different chord with noise (distinct 'voices')."""
    rng = np.random.default_rng(0)
    t = np.arange(int(16000 * seconds)) / 16000
    for s in range(n):
        f0 = 110 * 2 ** (s / 4)
        y = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        y = 0.2 * y + 0.01 * rng.standard_normal(len(t))
        folder = root / f"{100 + s}"
        folder.mkdir(parents=True)
        sf.write(folder / f"{100 + s}-1-0000.flac", y.astype(np.float32), 16000)
    return corpora.read_librispeech(root)


@pytest.fixture(scope="module")
def protocol(tmp_path_factory):
    utts = tone_corpus(tmp_path_factory.mktemp("tones"), 8)
    return pipeline.build_protocol(utts, None, TINY, seed=0)


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


def test_small_test_corpus_is_clustered_whole_and_said_so(tmp_path):
    utts = tone_corpus(tmp_path / "few", 5)
    p = pipeline.build_protocol(utts, None, dataclasses.replace(TINY, n_test_speakers=(40,)), 0)
    assert len(p.test_speakers) == 5 and "only 5 speakers" in p.notes[0]


def test_snippets_are_deterministic_and_in_range(protocol):
    data = pipeline.SnippetDataset(protocol.train_specs, protocol.train_labels, 50, 20, seed=3)
    again = pipeline.SnippetDataset(protocol.train_specs, protocol.train_labels, 50, 20, seed=3)
    x, y = data[7]
    assert x.shape == (128, 50) and 0 <= y < 4
    assert torch.equal(x, again[7][0])
    again.set_epoch(2)
    assert not torch.equal(x, again[7][0])  # fresh snippets every epoch
    rnn = pipeline.SnippetDataset(protocol.train_specs, protocol.train_labels, 40, 5, 3,
                                  time_major=True)
    assert rnn[0][0].shape == (40, 128)
    grouped = pipeline.SnippetDataset(protocol.train_specs, protocol.train_labels, 50, 6, 3,
                                      per_speaker=4)
    x, y = pipeline.collate_groups([grouped[0], grouped[1]])
    assert x.shape == (8, 128, 50) and y.shape == (8,)
    assert len(set(y[:4].tolist())) == 1 and len(set(y[4:].tolist())) == 1  # one speaker a group
    with pytest.raises(ValueError, match="no spectrogram"):
        pipeline.SnippetDataset(protocol.train_specs, protocol.train_labels, 10**6, 5, 0)


def test_snippets_are_exact_slices_that_cover_every_recording_and_offset():
    specs = [np.tile(1000 * r + np.arange(n, dtype=np.float32), (128, 1))
             for r, n in enumerate((12, 15, 20))]
    data = pipeline.SnippetDataset(specs, [0, 1, 1], frames=10, n_items=3000, seed=5)
    seen = {}
    for i in range(len(data)):
        x, y = data[i]
        rec, start = divmod(int(x[0, 0]), 1000)  # the values name their recording and column
        assert torch.equal(x, torch.from_numpy(specs[rec][:, start:start + 10]))
        assert y == [0, 1, 1][rec]
        seen.setdefault(rec, set()).add(start)
    assert seen == {0: set(range(3)), 1: set(range(6)), 2: set(range(11))}  # every offset
    before = data[42][0]
    data.set_epoch(3)
    data.set_epoch(0)
    assert torch.equal(data[42][0], before)  # an epoch is fixed by (seed, epoch): resumable
    with pytest.raises(IndexError):
        data[3000]


def test_groups_draw_speakers_evenly_and_stay_within_one_speaker():
    specs = [np.full((128, 30), r, dtype=np.float32) for r in range(5)]
    data = pipeline.SnippetDataset(specs, [0, 0, 0, 1, 2], frames=10, n_items=3000, seed=1,
                                   per_speaker=3)
    speakers = []
    for i in range(len(data)):
        x, y = data[i]
        recordings = {int(v) for v in x[:, 0, 0]}
        assert {[0, 0, 0, 1, 2][r] for r in recordings} == {int(y[0])}
        assert len(set(y.tolist())) == 1
        speakers.append(int(y[0]))
    counts = np.bincount(speakers)
    assert counts.min() > 900  # each of 3 speakers ~1000 times, not by recordings (3:1:1)


@pytest.mark.parametrize("kind,layer,dim", [("cnn2016", "L7", 2), ("cnn2017", "L7", 4),
                                            ("bilstm2018", "L3", 16)])
def test_train_embed_cluster(protocol, tmp_path, kind, layer, dim):
    store = cache.ArtifactCache(tmp_path / "artifacts")
    device = torch.device("cpu")
    trained = pipeline.train_network(kind, protocol, TINY, seed=0, device=device,
                                     store=store, progress=False)
    assert len(trained.history) == 2
    X = pipeline.utterance_embeddings(trained, protocol.test_specs, layer, device)
    assert X.shape == (6, dim) and np.isfinite(X).all()
    again = pipeline.train_network(kind, protocol, TINY, seed=0, device=device, store=store,
                                   progress=False)  # from the artifact cache
    assert np.allclose(X, pipeline.utterance_embeddings(again, protocol.test_specs, layer,
                                                        device))
    if np.ptp(X, axis=0).max() > 0 and (np.linalg.norm(X, axis=1) > 0).all():
        result = pipeline.evaluate_clustering(X, protocol.test_labels)
        assert set(pipeline.summary(result)) == {"ahc_best_cut", "ahc_true_k", "dominant_sets"}


@pytest.mark.parametrize("ms", [min(pipeline.SETTINGS["full"].sweep_ms),
                                max(pipeline.SETTINGS["full"].sweep_ms)])
def test_the_full_sweeps_shortest_and_longest_segments_train_and_embed(protocol, tmp_path, ms):
    """The full-scale sweep's ends (20 ms is two spectrogram frames) run only in a full run,
    hours in: fail here instead."""
    device = torch.device("cpu")
    trained = pipeline.train_network("bilstm2018", protocol, TINY, seed=0, device=device,
                                     segment_ms=ms, store=cache.ArtifactCache(tmp_path),
                                     progress=False)
    segs = pipeline.segment_embeddings(trained, protocol.test_specs[:1], "L3", device)[0]
    assert trained.segment_ms == ms and np.isfinite(segs).all()
    assert len(segs) == protocol.test_specs[0].shape[1] // pipeline.frames_for(ms)


def test_clustering_known_embeddings():
    true = ["a", "a", "b", "b", "c", "c"]
    X = np.array([[1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0.05, 0.99, 0], [0, 0, 1],
                  [0, 0.05, 0.99]], dtype=float)
    result = pipeline.summary(pipeline.evaluate_clustering(X, true))
    for method in ("ahc_best_cut", "ahc_true_k", "dominant_sets"):
        assert result[method]["mr_hungarian"] == 0 and result[method]["ari"] == 1


def test_unknown_network_and_optimiser():
    with pytest.raises(ValueError, match="unknown network"):
        pipeline.make_network("transformer", 3, TINY)
    with pytest.raises(ValueError, match="unknown optimiser"):
        pipeline.make_optimizer("lion")


def test_train_all_trains_the_chapters_networks_in_parallel_and_the_chapter_then_loads_them(
        protocol, tmp_path, monkeypatch):
    settings = dataclasses.replace(TINY, sweep_ms=(50, 100), sweep_batches=2)
    parallel = cache.ArtifactCache(tmp_path / "parallel")
    done = pipeline.train_all(protocol, settings, seed=0, data_id="tones", device="cpu", jobs=2,
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
        for kind, ms, batches in pipeline.chapter_networks(settings):
            args = dict(seed=0, device=torch.device("cpu"), segment_ms=ms, batches=batches,
                        data_id="tones", progress=False)
            reference = pipeline.train_network(kind, protocol, settings, store=sequential, **args)
            with monkeypatch.context() as patched:
                patched.setattr(pipeline.train, "fit", no_training)
                loaded = pipeline.train_network(kind, protocol, settings, store=parallel, **args)
            for name, value in reference.model.state_dict().items():
                assert torch.allclose(value, loaded.model.state_dict()[name], rtol=0, atol=1e-6)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("jobs", [0, -2, 1.5, True])
def test_train_all_refuses_a_bad_number_of_jobs(protocol, jobs):
    with pytest.raises(pipeline.config.ConfigError, match="jobs"):
        pipeline.train_all(protocol, TINY, seed=0, data_id="x", device="cpu", jobs=jobs)


def test_the_data_id_names_corpora_mode_and_speaker_counts(protocol):
    assert pipeline.run_data_id("librispeech", "timit:/x", "real", protocol) == \
        "librispeech|timit:/x|real|4|3"
