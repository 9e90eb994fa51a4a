"""The speaker-clustering experiment, end to end: protocol, training, embeddings, clustering.

The chapter calls these functions; each step is the papers' (digest ``speakers.md``):
disjoint training and test speakers, two "utterances" per test speaker, nets trained on
random snippets of mel spectrograms, utterance embeddings = mean of segment embeddings,
clustered by complete-linkage AHC (MR at the best cut, an oracle as in the papers) and by
dominant sets (no k needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from dlwild.core import cache, config, train
from dlwild.core import data as datasets
from dlwild.speakers import cluster, metrics
from dlwild.speakers.corpora import (
    CORPORA,
    CorpusError,
    Utterance,
    load_corpus,
    speakers_of,
    split_speakers,
    two_utterances,
)
from dlwild.speakers.features import HOP, SR, utterance_features
from dlwild.speakers.losses import pkld_loss_fn
from dlwild.speakers.models import CNN2016, CNN2017, BiLSTM2018

NETWORKS = ("cnn2016", "cnn2017", "bilstm2018")
#: The code a trained network depends on (its artifact key): editing the claims, metrics or
#: clustering retrains nothing.
TRAINING_CODE = ("dlwild.speakers.corpora", "dlwild.speakers.features", "dlwild.speakers.losses",
                 "dlwild.speakers.models", "dlwild.speakers.pipeline",
                 "dlwild.speakers.synthetic", "dlwild.core.train")
#: Seconds between training checkpoints: a full-width CNN's checkpoint (weights and optimiser
#: state, ~460 MB) takes longer to write than a GPU needs for an epoch.
CHECKPOINT_EVERY_S = 60.0


@dataclass(frozen=True)
class Settings:
    """How big one run is. ``full`` follows the papers; ``quick`` is a few CPU minutes."""

    n_train_speakers: int
    n_test_speakers: tuple[int, ...]
    hidden_scale: float
    lstm_units: int
    batches: dict[str, int]
    batch_size: dict[str, int]
    optimizer: dict[str, str]
    sweep_ms: tuple[int, ...]
    sweep_batches: int
    per_speaker: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NETWORKS, 1))
    segment_ms: int = 400
    batches_per_epoch: int = 20
    val_snippets: int = 400
    gmm_components: int = 32
    min_test_s: float = 8.0


SETTINGS = {
    # The papers: 100 training speakers (MLSP 2017, ANNPR 2018), full-width layers,
    # 10k-30k minibatches with the papers' optimisers, the segment sweep of ANNPR 2018 Fig. 4
    # (20-1000 ms: a sweet spot shows only if the sweep reaches below it).
    "full": Settings(
        n_train_speakers=100, n_test_speakers=(40, 80), hidden_scale=1.0, lstm_units=256,
        batches={"cnn2016": 10_000, "cnn2017": 30_000, "bilstm2018": 10_000},
        batch_size={"cnn2016": 128, "cnn2017": 100, "bilstm2018": 100},
        optimizer={"cnn2016": "nesterov", "cnn2017": "adadelta", "bilstm2018": "adam"},
        sweep_ms=(20, 50, 100, 200, 300, 400, 600, 800, 1000), sweep_batches=5_000,
        batches_per_epoch=100, val_snippets=2_000,
    ),
    # A few CPU minutes: the same protocol and data, narrower dense layers (10 % of the
    # papers' widths), smaller LSTMs, far fewer minibatches, Adam for the pairwise nets (the
    # MLSP 2016 net keeps its Nesterov SGD: Adam at 1e-3 kills its ReLUs in the first steps),
    # and CNN minibatches of 32 and 50 (their conv layers cost ~1 s per 64 snippets on 2
    # cores): the CNNs stay barely trained, the chapter says so. Pairwise (PKLD) batches hold 5
    # snippets per speaker: with the papers' i.i.d. draw only ~1 % of the pairs share a
    # speaker, which 10k-30k minibatches make up for and a quick run cannot.
    "quick": Settings(
        n_train_speakers=100, n_test_speakers=(40, 80), hidden_scale=0.1, lstm_units=64,
        batches={"cnn2016": 150, "cnn2017": 150, "bilstm2018": 1200},
        per_speaker={"cnn2016": 1, "cnn2017": 5, "bilstm2018": 5},
        batch_size={"cnn2016": 32, "cnn2017": 50, "bilstm2018": 100},
        optimizer={"cnn2016": "nesterov", "cnn2017": "adam", "bilstm2018": "adam"},
        sweep_ms=(50, 100, 200, 400, 800), sweep_batches=300, gmm_components=8,
    ),
}


# --- corpora ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalCopy:
    """A user's own copy of a corpus (e.g. licensed TIMIT): real data, described by its path."""

    name: str
    path: str
    files: int

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "files": self.files,
                "note": "the user's local copy (not in the data registry)"}


#: The voices the chapter falls back to when no real speech can be had (espeak-ng).
SYNTHETIC_SPEAKERS = 180
SYNTHETIC_GENERATOR = ("espeak-ng synthetic voices (180 speakers: distinct voice variants, "
                       "pitch and rate, 2 utterances of Harvard sentences each)")


def resolve_corpus(spec: str, mode: str, seed: int = 0) -> tuple[list[Utterance], Any]:
    """Utterances of corpus ``spec`` and what they came from: a ``Fetched`` or ``LocalCopy``
    (real) or None (the synthetic voices stood in: ``mode="synthetic"``, or ``"auto"`` when
    the real corpus cannot be reached). ``mode="real"`` never falls back."""
    config.check_choice("data", mode, config.DATA_MODES)
    name, sep, location = spec.partition(":")
    name = name.strip().lower()
    if name not in CORPORA:
        raise CorpusError(f"unknown corpus {spec!r}; use one of {', '.join(CORPORA)}, "
                          "optionally as '<name>:<path>' for a local copy")
    if mode != "synthetic":
        if sep:
            utts = load_corpus(spec)
            return utts, LocalCopy(name, location.strip(), len({u.path for u in utts}))
        if CORPORA[name] is None:
            load_corpus(spec)  # raises: TIMIT needs the path of the user's copy
        fetched = datasets.resolve(CORPORA[name], mode)
        if fetched is not None:
            return load_corpus(spec), fetched
    from dlwild.speakers.synthetic import synthetic_corpus

    root = config.home() / "synthetic-voices" / f"seed{seed}"
    return synthetic_corpus(root, SYNTHETIC_SPEAKERS, 2, seed), None


# --- the protocol ----------------------------------------------------------------------

@dataclass
class Protocol:
    """Disjoint training and test speakers, with spectrograms ready for training and testing."""

    train_speakers: list[str]
    test_speakers: list[str]
    train_specs: list[np.ndarray]
    train_labels: np.ndarray
    val_specs: list[np.ndarray]
    val_labels: np.ndarray
    test_groups: list[tuple[Utterance, ...]]
    test_labels: list[str]
    test_specs: list[np.ndarray]
    notes: list[str] = field(default_factory=list)

    def subset(self, n_speakers: int) -> tuple[list[np.ndarray], list[str], list]:
        """Test spectrograms, labels and groups of the first ``n_speakers`` test speakers."""
        keep = set(self.test_speakers[:n_speakers])
        idx = [i for i, s in enumerate(self.test_labels) if s in keep]
        return ([self.test_specs[i] for i in idx], [self.test_labels[i] for i in idx],
                [self.test_groups[i] for i in idx])


def build_protocol(train_utts: Sequence[Utterance], test_utts: Sequence[Utterance] | None,
                   settings: Settings, seed: int) -> Protocol:
    """The papers' protocol on any corpus: test speakers get two utterances (first ~80 % and
    the rest); training speakers are disjoint from them and keep their last ~20 % for
    validation. With ``test_utts`` None both come from ``train_utts``."""
    notes: list[str] = []
    want_test = max(settings.n_test_speakers)
    test_source = train_utts if test_utts is None else test_utts
    long_enough = {s: x for s, x in speakers_of(test_source).items()
                   if _total_s(test_source, s) >= settings.min_test_s}
    n_test = min(want_test, len(long_enough))
    _, test = split_speakers(long_enough, n_test, seed=seed)
    test = _shuffled(test, seed)
    pool = {s: x for s, x in speakers_of(train_utts).items() if s not in set(test)}
    if n_test < want_test:
        notes.append(f"the test corpus has only {n_test} speakers with at least "
                     f"{settings.min_test_s:g} s of speech: all of them are clustered "
                     f"(the protocol asks for up to {want_test})")
    if n_test < 2:
        raise ValueError(f"clustering needs at least 2 test speakers, the corpus has {n_test}")
    n_train = min(settings.n_train_speakers, len(pool))
    if n_train < settings.n_train_speakers:
        notes.append(f"only {n_train} training speakers are left after the test speakers "
                     f"(the papers train on {settings.n_train_speakers})")
    train_spk, _ = split_speakers(pool, 0, seed=seed, n_train=n_train)
    parts = two_utterances(train_utts, train_spk, min_s=0.0)
    train_specs = utterance_features(parts[0::2])
    val_specs = utterance_features(parts[1::2])
    labels = np.arange(len(train_spk))
    groups = two_utterances(test_source, test, min_s=1.0, on_short="error")
    return Protocol(
        train_speakers=train_spk, test_speakers=test, train_specs=train_specs,
        train_labels=labels, val_specs=val_specs, val_labels=labels.copy(),
        test_groups=groups, test_labels=[g[0].speaker for g in groups],
        test_specs=utterance_features(groups), notes=notes,
    )


def _total_s(utts: Sequence[Utterance], speaker: str) -> float:
    return sum(u.duration_s for u in utts if u.speaker == speaker)


def _shuffled(speakers: list[str], seed: int) -> list[str]:
    """A seeded order of the test speakers, so "the first 40" is a random, sex-mixed subset."""
    order = np.random.default_rng([seed, 40]).permutation(len(speakers))
    return [speakers[i] for i in order]


# --- training data ---------------------------------------------------------------------

class SnippetDataset(Dataset):
    """Random fixed-length snippets of the training spectrograms, as the papers draw them (a
    random recording of a random speaker at a random offset). Epoch e's items are planned at
    once from (seed, e) — which recording, which offset — so every epoch draws fresh snippets,
    a resumed run draws the same ones, and an item costs a slice, not a generator (a seeded
    generator per item made loading the slowest part of a GPU epoch);
    :func:`dlwild.core.train.fit` calls :meth:`set_epoch`."""

    def __init__(self, specs: Sequence[np.ndarray], labels: Sequence[int], frames: int,
                 n_items: int, seed: int, time_major: bool = False,
                 per_speaker: int = 1) -> None:
        keep = [i for i, s in enumerate(specs) if s.shape[1] >= frames]
        if not keep:
            raise ValueError(f"no spectrogram holds a snippet of {frames} frames")
        if per_speaker < 1:
            raise ValueError(f"per_speaker must be >= 1, got {per_speaker}")
        self.specs = [specs[i] for i in keep]
        self.labels = [int(labels[i]) for i in keep]
        self.by_label: dict[int, list[int]] = {}
        for i, label in enumerate(self.labels):
            self.by_label.setdefault(label, []).append(i)
        self.frames, self.n_items, self.seed, self.time_major = frames, n_items, seed, time_major
        self.per_speaker = per_speaker
        self._spans = np.array([s.shape[1] - frames + 1 for s in self.specs])
        # the recordings of each speaker, one after another, for drawing groups
        self._by_label_flat = np.concatenate([np.array(r) for r in self.by_label.values()])
        counts = np.array([len(r) for r in self.by_label.values()])
        self._label_count, self._label_start = counts, np.cumsum(counts) - counts
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the snippets of ``epoch`` (0 keeps a fixed set, e.g. for validation)."""
        self.epoch = epoch
        rng = np.random.default_rng([self.seed, epoch])
        if self.per_speaker == 1:
            which = rng.integers(len(self.specs), size=(self.n_items, 1))
        else:
            speaker = rng.integers(len(self._label_count), size=self.n_items)[:, None]
            pick = (rng.random((self.n_items, self.per_speaker))
                    * self._label_count[speaker]).astype(np.int64)
            which = self._by_label_flat[self._label_start[speaker] + pick]
        starts = (rng.random(which.shape) * self._spans[which]).astype(np.int64)
        self._plan = which, starts

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Any]:
        """One snippet and its speaker; with ``per_speaker > 1`` a group of that many snippets
        of one random speaker, ``([per_speaker, ...], [per_speaker])``
        (see :func:`collate_groups`)."""
        if not 0 <= index < self.n_items:
            raise IndexError(f"snippet {index} of {self.n_items}")
        which, starts = self._plan[0][index], self._plan[1][index]
        label = self.labels[which[0]]
        if self.per_speaker == 1:
            return self._snippet(which[0], starts[0]), label
        group = [self._snippet(w, start) for w, start in zip(which, starts, strict=True)]
        return torch.stack(group), torch.full((self.per_speaker,), label, dtype=torch.long)

    def _snippet(self, which: int, start: int) -> torch.Tensor:
        snippet = self.specs[which][:, start:start + self.frames]
        if self.time_major:
            snippet = snippet.T
        return torch.from_numpy(np.ascontiguousarray(snippet))


def collate_groups(batch: Sequence[tuple[torch.Tensor, Any]]):
    """Join groups of snippets (``SnippetDataset(per_speaker > 1)``) into one minibatch; single
    snippets (e.g. the validation set) are collated as usual."""
    if not torch.is_tensor(batch[0][1]):
        return torch.utils.data.default_collate(batch)
    return torch.cat([x for x, _ in batch]), torch.cat([y for _, y in batch])


def frames_for(ms: int) -> int:
    """Spectrogram frames in ``ms`` milliseconds (10 ms hop)."""
    return int(round(ms * SR / HOP / 1000))


# --- networks --------------------------------------------------------------------------

def make_network(kind: str, n_speakers: int, settings: Settings) -> nn.Module:
    """One of the three embedding networks at the run's width."""
    if kind == "cnn2016":
        return CNN2016(n_speakers, hidden_scale=settings.hidden_scale)
    if kind == "cnn2017":
        return CNN2017(n_speakers, hidden_scale=settings.hidden_scale)
    if kind == "bilstm2018":
        return BiLSTM2018(n_speakers, lstm_units=settings.lstm_units,
                          hidden_scale=settings.hidden_scale)
    raise ValueError(f"unknown network {kind!r}; choose from {NETWORKS}")


def make_optimizer(name: str) -> Callable[[Any], torch.optim.Optimizer]:
    """The papers' optimisers (MLSP 2016: Nesterov; MLSP 2017: Adadelta; ANNPR 2018: Adam)."""
    if name == "nesterov":
        return lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True)
    if name == "adadelta":
        return lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-6)
    if name == "adam":
        return lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    if name == "sgd":
        return lambda p: torch.optim.SGD(p, lr=1e-3)
    raise ValueError(f"unknown optimiser {name!r}")


def _cross_entropy(model: nn.Module, batch: Any) -> torch.Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def _accuracy(model: nn.Module, batch: Any) -> dict[str, float]:
    x, y = batch
    return {"val_accuracy": (model(x).argmax(1) == y).float().mean().item()}


@dataclass
class Trained:
    """A trained network with its learning curve and the settings it was trained with."""

    kind: str
    model: nn.Module
    history: train.History
    segment_ms: int
    params: dict[str, Any]


def train_network(kind: str, protocol: Protocol, settings: Settings, *, seed: int,
                  device: torch.device, segment_ms: int | None = None,
                  batches: int | None = None, data_id: str = "",
                  store: cache.ArtifactCache | None = None, progress: bool = True) -> Trained:
    """Train one embedding network on the protocol's training speakers (identification loss
    for the 2016 CNN, the pairwise KL loss for the 2017 CNN and the BiLSTM). ``batches`` is
    rounded to whole epochs of ``settings.batches_per_epoch``; ``params["batches"]`` is what
    was trained. Cached as an artifact keyed by the code, the parameters and the data."""
    is_rnn = kind == "bilstm2018"
    segment_ms = segment_ms or default_segment_ms(kind, settings)
    batch_size = settings.batch_size[kind]
    epochs = max(1, round((batches or settings.batches[kind]) / settings.batches_per_epoch))
    batches = epochs * settings.batches_per_epoch  # what is trained: whole epochs
    params = {"kind": kind, "segment_ms": segment_ms, "batches": batches,
              "batch_size": batch_size, "epochs": epochs, "optimizer": settings.optimizer[kind],
              "hidden_scale": settings.hidden_scale, "lstm_units": settings.lstm_units,
              "n_train_speakers": len(protocol.train_speakers), "seed": seed,
              "margin": 3.0 if is_rnn else 2.0, "val_snippets": settings.val_snippets,
              "per_speaker": settings.per_speaker[kind]}
    frames = frames_for(segment_ms)
    per_speaker = settings.per_speaker[kind]
    if batch_size % per_speaker:
        raise ValueError(f"{kind}: batch size {batch_size} is not a multiple of "
                         f"{per_speaker} snippets per speaker")
    groups_per_batch = batch_size // per_speaker
    train_set = SnippetDataset(protocol.train_specs, protocol.train_labels, frames,
                               groups_per_batch * settings.batches_per_epoch, seed,
                               time_major=is_rnn, per_speaker=per_speaker)
    val_set = SnippetDataset(protocol.val_specs, protocol.val_labels, frames,
                             settings.val_snippets, seed + 1, time_major=is_rnn)
    n_speakers = len(protocol.train_speakers)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        identification = kind == "cnn2016"
        return train.fit(
            model, train_set, val_data=val_set,
            loss_fn=_cross_entropy if identification else pkld_loss_fn(params["margin"]),
            evaluate=_accuracy if identification else None,
            optimizer=make_optimizer(params["optimizer"]), epochs=epochs,
            batch_size=groups_per_batch, device=device, seed=seed, config=params,
            collate_fn=collate_groups if per_speaker > 1 else None, checkpoint=checkpoint,
            checkpoint_every_s=CHECKPOINT_EVERY_S, progress=progress,
            desc=f"{kind} ({segment_ms} ms)")

    parts = {"code": cache.code_hash(*TRAINING_CODE),
             "params": params, "data": data_id}
    model, history = train.cached_training(
        f"speakers-{kind}-{segment_ms}ms", parts,
        lambda: make_network(kind, n_speakers, settings), fit, seed=seed, store=store)
    model.to(device).eval()
    return Trained(kind, model, history, segment_ms, params)


def default_segment_ms(kind: str, settings: Settings) -> int:
    """The input length a network trains on unless told: 1 s for the CNNs (MLSP 2016/2017),
    the settings' segment length for the BiLSTM."""
    return settings.segment_ms if kind == "bilstm2018" else 1000


def run_data_id(train_corpus: str, test_corpus: str, data: str, protocol: Protocol) -> str:
    """What the trained networks' artifact keys say about their data (corpora, data mode and
    the protocol's speaker counts)."""
    return (f"{train_corpus}|{test_corpus}|{data}|{len(protocol.train_speakers)}|"
            f"{len(protocol.test_speakers)}")


def chapter_networks(settings: Settings) -> list[tuple[str, int | None, int | None]]:
    """Every network the chapter trains, as ``(kind, segment_ms, batches)`` for
    :func:`train_network` (None: the settings' default): the three embedding networks, then
    the BiLSTM once per segment length of the sweep."""
    return ([(kind, None, None) for kind in NETWORKS]
            + [("bilstm2018", ms, settings.sweep_batches) for ms in settings.sweep_ms])


def _train_one(job: tuple[str, int | None, int | None], protocol: Protocol, settings: Settings,
               seed: int, device: str, data_id: str, store: cache.ArtifactCache | None,
               threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    kind, segment_ms, batches = job
    trained = train_network(kind, protocol, settings, seed=seed,
                            device=config.select_device(device), segment_ms=segment_ms,
                            batches=batches, data_id=data_id, store=store, progress=False)
    last = trained.history.epochs[-1]
    return {"kind": kind, "segment_ms": trained.segment_ms, "epochs": len(trained.history),
            "hardware": trained.history.hardware,
            **{k: v for k, v in last.items() if k.startswith(("train_", "val_"))}}


def train_all(protocol: Protocol, settings: Settings, *, seed: int, data_id: str,
              device: str = "auto", jobs: int = 4,
              store: cache.ArtifactCache | None = None) -> list[dict[str, Any]]:
    """Train every network of :func:`chapter_networks` in ``jobs`` parallel processes into the
    artifact cache, so that the chapter then loads them instead of training one after another:
    on a GPU, a full-scale run's networks share the card (small nets leave most of it idle).
    Returns one summary per network (its final losses and hardware) as each finishes."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise config.ConfigError(f"jobs must be an integer >= 1, got {jobs!r}")
    config.select_device(device)  # a missing GPU is refused before any process starts
    todo = chapter_networks(settings)
    jobs = min(jobs, len(todo))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    done = []
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_train_one, job, protocol, settings, seed, device, data_id, store,
                               threads) for job in todo]
        for future in train.progress_bar(as_completed(futures), total=len(futures),
                                         desc="networks", unit="net"):
            done.append(future.result())
    return done


# --- embeddings and clustering ---------------------------------------------------------

@torch.no_grad()
def segment_embeddings(trained: Trained, specs: Sequence[np.ndarray], layer: str,
                       device: torch.device, batch: int = 256) -> list[np.ndarray]:
    """Per utterance, the ``layer`` activations of each non-overlapping segment."""
    from dlwild.speakers.features import segments

    model, is_rnn = trained.model.eval(), trained.kind == "bilstm2018"
    out = []
    for spec in specs:
        segs = segments(spec, frames_for(trained.segment_ms), time_major=is_rnn)
        parts = [model.embed(torch.from_numpy(segs[i:i + batch]).to(device), layer).cpu()
                 for i in range(0, len(segs), batch)]
        out.append(torch.cat(parts).numpy().astype(np.float64))
    return out


def utterance_embeddings(trained: Trained, specs: Sequence[np.ndarray], layer: str,
                         device: torch.device) -> np.ndarray:
    """One embedding per utterance: the mean of its segment embeddings (MLSP 2016 Sect. 3)."""
    return np.stack([e.mean(axis=0) for e in segment_embeddings(trained, specs, layer, device)])


def evaluate_clustering(X: np.ndarray, true: Sequence[str],
                        best_cut_metric: Callable = metrics.mr_legacy) -> dict[str, Any]:
    """AHC (complete linkage, cosine) at the best cut and at the true k, and dominant sets,
    each with every MR definition, ARI and ACP."""
    linkage = cluster.agglomerative(X)
    k_best, best, _ = cluster.best_cut(linkage, true, metric=best_cut_metric)
    k_true, at_k, _ = cluster.at_true_k(linkage, true)
    ds = cluster.dominant_sets(X)
    return {
        "ahc_best_cut": {**metrics.cluster_metrics(true, best), "k": k_best},
        "ahc_true_k": {**metrics.cluster_metrics(true, at_k), "k": k_true},
        "dominant_sets": {**metrics.cluster_metrics(true, ds), "k": int(len(set(ds)))},
        "linkage": linkage,
    }


def gmm_baseline(groups: Sequence[tuple[Utterance, ...]], true: Sequence[str],
                 n_components: int, seed: int) -> dict[str, Any]:
    """ACM MM 2009 baseline: one MFCC/GMM per utterance, the model distance, complete-linkage
    AHC; MR at the best cut (the paper tuned its stopping threshold on ground truth)."""
    from scipy.cluster.hierarchy import linkage as scipy_linkage
    from scipy.spatial.distance import squareform

    from dlwild.speakers.corpora import load_audio
    from dlwild.speakers.models import fit_gmm, gmm_distance_matrix, mfcc_features

    gmms = [fit_gmm(mfcc_features(load_audio(g, SR)), n_components=n_components,
                    random_state=seed) for g in groups]
    distances = gmm_distance_matrix(gmms)
    linkage = scipy_linkage(squareform(distances, checks=False), method="complete")
    k, labels, _ = cluster.best_cut(linkage, true, metric=metrics.mr_legacy)
    return {"ahc_best_cut": {**metrics.cluster_metrics(true, labels), "k": k},
            "linkage": linkage}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """A JSON-able copy of an evaluation (the linkage matrix left out)."""
    return {k: v for k, v in result.items() if k != "linkage"}


def settings_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, for the results' provenance."""
    return asdict(settings)
