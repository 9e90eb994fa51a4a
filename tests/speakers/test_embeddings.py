"""Reusable speaker embeddings: snippets, networks, optimisers, cached training keyed by the
training data, segment and utterance embeddings."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from speaker_fixtures import TINY

from dlwild.core import cache
from dlwild.core.chapter import Chapter
from dlwild.speakers import embeddings
from dlwild.speakers.chapter import CHAPTER
from dlwild.speakers.evaluation import evaluate_clustering


def _specs(n: int = 4, frames: int = 300, seed: int = 0) -> list[np.ndarray]:
    """Spectrogram-shaped arrays, each speaker's a different level (learnable voices)."""
    rng = np.random.default_rng(seed)
    return [(s + 0.1 * rng.standard_normal((128, frames))).astype(np.float32)
            for s in range(n)]


@pytest.fixture(scope="module")
def training():
    labels = np.arange(4)
    return embeddings.training_set(_specs(), labels, _specs(seed=1, frames=120), labels,
                                   source="synthetic", corpus="levels", n_train_speakers=4)


def test_the_training_set_hashes_what_it_holds(training):
    assert training.n_speakers == 4
    assert training.data["source"] == "synthetic" and training.data["corpus"] == "levels"
    again = embeddings.training_set(_specs(), np.arange(4), _specs(seed=1, frames=120),
                                    np.arange(4), source="synthetic", corpus="levels")
    assert again.data["sha256"] == training.data["sha256"]
    other = embeddings.training_set(_specs(seed=2), np.arange(4), _specs(seed=1, frames=120),
                                    np.arange(4), source="synthetic")
    assert other.data["sha256"] != training.data["sha256"]
    with pytest.raises(ValueError, match="real' or 'synthetic"):
        embeddings.training_set(_specs(), np.arange(4), _specs(), np.arange(4), source="asked")


def test_snippets_are_deterministic_and_in_range(training):
    data = embeddings.SnippetDataset(training.specs, training.labels, 50, 20, seed=3)
    again = embeddings.SnippetDataset(training.specs, training.labels, 50, 20, seed=3)
    x, y = data[7]
    assert x.shape == (128, 50) and 0 <= y < 4
    assert torch.equal(x, again[7][0])
    again.set_epoch(2)
    assert not torch.equal(x, again[7][0])  # fresh snippets every epoch
    rnn = embeddings.SnippetDataset(training.specs, training.labels, 40, 5, 3, time_major=True)
    assert rnn[0][0].shape == (40, 128)
    grouped = embeddings.SnippetDataset(training.specs, training.labels, 50, 6, 3,
                                        per_speaker=4)
    x, y = embeddings.collate_groups([grouped[0], grouped[1]])
    assert x.shape == (8, 128, 50) and y.shape == (8,)
    assert len(set(y[:4].tolist())) == 1 and len(set(y[4:].tolist())) == 1  # one speaker a group
    x, y = embeddings.collate_groups([data[0], data[1]])  # single snippets: the usual batch
    assert x.shape == (2, 128, 50) and y.tolist() == [data[0][1], data[1][1]]
    with pytest.raises(ValueError, match="no spectrogram"):
        embeddings.SnippetDataset(training.specs, training.labels, 10**6, 5, 0)
    with pytest.raises(ValueError, match="per_speaker"):
        embeddings.SnippetDataset(training.specs, training.labels, 10, 5, 0, per_speaker=0)


def test_snippets_are_exact_slices_that_cover_every_recording_and_offset():
    specs = [np.tile(1000 * r + np.arange(n, dtype=np.float32), (128, 1))
             for r, n in enumerate((12, 15, 20))]
    data = embeddings.SnippetDataset(specs, [0, 1, 1], frames=10, n_items=3000, seed=5)
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
    data = embeddings.SnippetDataset(specs, [0, 0, 0, 1, 2], frames=10, n_items=3000, seed=1,
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


def test_frames_for_counts_10_ms_frames():
    assert embeddings.frames_for(1000) == 100 and embeddings.frames_for(20) == 2
    assert embeddings.frames_for(400) == 40 and embeddings.frames_for(15) == 2  # rounded


def test_training_params_round_to_whole_epochs_and_check_groups(training):
    params = embeddings.training_params("cnn2017", training, TINY, seed=3, batches=5)
    assert (params["epochs"], params["batches"]) == (2, 4)  # 5 minibatches -> 2 epochs of 2
    assert params["segment_ms"] == 1000 and params["margin"] == 2.0 and params["seed"] == 3
    assert params["n_train_speakers"] == 4
    rnn = embeddings.training_params("bilstm2018", training, TINY, seed=0)
    assert rnn["segment_ms"] == TINY.segment_ms and rnn["margin"] == 3.0
    bad = dataclasses.replace(TINY, batch_size={**TINY.batch_size, "bilstm2018": 6})
    with pytest.raises(ValueError, match="not a multiple"):
        embeddings.training_params("bilstm2018", training, bad, seed=0)
    with pytest.raises(ValueError, match="unknown network"):
        embeddings.training_params("transformer", training, TINY, seed=0)


@pytest.mark.parametrize("kind,layer,dim", [("cnn2016", "L7", 2), ("cnn2017", "L7", 4),
                                            ("bilstm2018", "L3", 16)])
def test_train_embed_cluster(training, tmp_path, kind, layer, dim):
    store = cache.ArtifactCache(tmp_path / "artifacts")
    device = torch.device("cpu")
    trained = embeddings.train_network(kind, training, TINY, seed=0, device=device,
                                       store=store, progress=False)
    assert len(trained.history) == 2 and trained.data == training.data
    assert embeddings.embedding_width(trained, layer) == dim
    specs = _specs(3, frames=250, seed=4)
    X = embeddings.utterance_embeddings(trained, specs, layer, device)
    assert X.shape == (3, dim) and np.isfinite(X).all()
    segs = embeddings.segment_embeddings(trained, specs, layer, device)
    assert np.allclose(X, np.stack([s.mean(0) for s in segs]))
    again = embeddings.train_network(kind, training, TINY, seed=0, device=device, store=store,
                                     progress=False)  # from the artifact cache
    assert np.allclose(X, embeddings.utterance_embeddings(again, specs, layer, device))
    [meta] = store.root.glob(f"speakers-{kind}-{trained.segment_ms}ms/*/meta.json")
    parts = json.loads(meta.read_text())["parts"]
    assert parts["data"] == training.data and parts["params"] == trained.params
    assert parts["code"] == CHAPTER.code_hash()
    if np.ptp(X, axis=0).max() > 0 and (np.linalg.norm(X, axis=1) > 0).all():
        result = evaluate_clustering(X, ["a", "b", "c"], device=device)
        assert set(result.scores) == {"ahc_best_cut", "ahc_true_k", "dominant_sets"}


def test_another_chapter_trains_under_its_own_name_and_code(training, tmp_path):
    other = Chapter(name="l2c", title="t", summary="s", papers=(), params={},
                    settings={"quick": TINY, "full": TINY},
                    training_code=("dlwild.speakers.embeddings",))
    store = cache.ArtifactCache(tmp_path)
    embeddings.train_network("cnn2017", training, TINY, seed=0, device=torch.device("cpu"),
                             chapter=other, store=store, progress=False)
    [meta] = store.root.glob("l2c-cnn2017-1000ms/*/meta.json")
    assert json.loads(meta.read_text())["parts"]["code"] == other.code_hash()


def test_unknown_network_and_optimiser():
    with pytest.raises(ValueError, match="unknown network"):
        embeddings.make_network("transformer", 3, TINY)
    with pytest.raises(ValueError, match="unknown optimiser"):
        embeddings.make_optimizer("lion")
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(embeddings.make_optimizer("adadelta")(params), torch.optim.Adadelta)
    sgd = embeddings.make_optimizer("nesterov")(params)
    assert sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9


def test_the_losses_know_their_answers():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return x

    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 0])
    expected = torch.nn.functional.cross_entropy(logits, labels)
    assert torch.isclose(embeddings.cross_entropy(Fixed(), (logits, labels)), expected)
    assert embeddings.accuracy(Fixed(), (logits, labels)) == {"val_accuracy": 0.5}
