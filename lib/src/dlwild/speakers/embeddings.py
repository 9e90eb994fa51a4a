"""Speaker embeddings, reusable beyond this chapter: random spectrogram snippets, the papers'
three networks and optimisers, their cached training, and segment and utterance embeddings.

A chapter (this one, or learning to cluster) hands :func:`train_network` a
:class:`TrainingSet`, whose ``data`` names what the networks learn from (source and content
hash, :func:`dlwild.core.chapter.training_data`): the artifact keys follow the data as
resolved, never the corpus asked for. Nothing here imports the chapter's pipeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from dlwild.core import cache, train
from dlwild.core.chapter import training_data
from dlwild.speakers.features import HOP, SR, segments
from dlwild.speakers.losses import pkld_loss_fn
from dlwild.speakers.models import CNN2016, CNN2017, BiLSTM2018
from dlwild.speakers.settings import NETWORKS, Settings, default_segment_ms

if TYPE_CHECKING:  # pragma: no cover
    from dlwild.core.chapter import Chapter

#: Seconds between training checkpoints: a full-width CNN's checkpoint (weights and optimiser
#: state, ~460 MB) takes longer to write than a GPU needs for an epoch.
CHECKPOINT_EVERY_S = 60.0


# --- training data ---------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingSet:
    """Spectrograms of the training speakers (and their held-out validation parts) with the
    description of that data that keys every network trained on it (``data``)."""

    specs: list[np.ndarray]
    labels: np.ndarray
    val_specs: list[np.ndarray]
    val_labels: np.ndarray
    data: dict[str, Any]

    @property
    def n_speakers(self) -> int:
        """Speakers the networks learn to tell apart."""
        return len(set(int(label) for label in self.labels))


def training_set(specs: Sequence[np.ndarray], labels: Sequence[int],
                 val_specs: Sequence[np.ndarray], val_labels: Sequence[int], *, source: str,
                 **described: Any) -> TrainingSet:
    """A :class:`TrainingSet` named by ``source`` (real or synthetic), the sha256 of its arrays
    as resolved and ``described`` (corpus, speaker count), which key the networks trained on it."""
    labels, val_labels = np.asarray(labels, dtype=np.int64), np.asarray(val_labels, np.int64)
    digest = cache.array_digest([*specs, labels, *val_specs, val_labels])
    return TrainingSet(list(specs), labels, list(val_specs), val_labels,
                       training_data(source, digest, **described))


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


def collate_groups(batch: Sequence[tuple[torch.Tensor, Any]]) -> Any:
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
    raise ValueError(f"unknown network {kind!r}; choose from {tuple(NETWORKS)}")


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


def cross_entropy(model: nn.Module, batch: Any) -> torch.Tensor:
    """The identification loss of MLSP 2016 on a ``(snippets, speakers)`` batch."""
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def accuracy(model: nn.Module, batch: Any) -> dict[str, float]:
    """Identification accuracy on a validation batch (the 2016 CNN's learning curve)."""
    x, y = batch
    return {"val_accuracy": (model(x).argmax(1) == y).float().mean().item()}


@dataclass
class Trained:
    """A trained network with its learning curve and the parameters and data it was trained
    with (``data``: the training data as resolved, as in its artifact key)."""

    kind: str
    model: nn.Module
    history: train.History
    segment_ms: int
    params: dict[str, Any]
    data: dict[str, Any]

    @property
    def n_parameters(self) -> int:
        """Trainable weights of the network."""
        return sum(p.numel() for p in self.model.parameters())


def training_params(kind: str, training: TrainingSet, settings: Settings, *, seed: int,
                    segment_ms: int | None = None, batches: int | None = None) -> dict[str, Any]:
    """What a network's training is, as its artifact key's ``params``: ``batches`` (default
    the settings') rounded to whole epochs of ``settings.batches_per_epoch``."""
    if kind not in NETWORKS:
        raise ValueError(f"unknown network {kind!r}; choose from {tuple(NETWORKS)}")
    epochs = max(1, round((batches or settings.batches[kind]) / settings.batches_per_epoch))
    batch_size, per_speaker = settings.batch_size[kind], settings.per_speaker[kind]
    if batch_size % per_speaker:
        raise ValueError(f"{kind}: batch size {batch_size} is not a multiple of "
                         f"{per_speaker} snippets per speaker")
    return {"kind": kind, "segment_ms": segment_ms or default_segment_ms(kind, settings),
            "batches": epochs * settings.batches_per_epoch, "batch_size": batch_size,
            "epochs": epochs, "optimizer": settings.optimizer[kind],
            "hidden_scale": settings.hidden_scale, "lstm_units": settings.lstm_units,
            "n_train_speakers": training.n_speakers, "seed": seed,
            "margin": 3.0 if kind == "bilstm2018" else 2.0,
            "val_snippets": settings.val_snippets, "per_speaker": per_speaker}


def train_network(kind: str, training: TrainingSet, settings: Settings, *, seed: int,
                  device: torch.device, segment_ms: int | None = None,
                  batches: int | None = None, chapter: Chapter | None = None,
                  store: cache.ArtifactCache | None = None, progress: bool = True) -> Trained:
    """One embedding network trained once, then loaded, via ``chapter.train_cached`` (artifact
    ``<chapter>-<kind>-<ms>ms``; default the speakers chapter, another chapter passes its own)."""
    if chapter is None:
        from dlwild.speakers.chapter import CHAPTER as chapter
    params = training_params(kind, training, settings, seed=seed, segment_ms=segment_ms,
                             batches=batches)
    is_rnn, per_speaker = kind == "bilstm2018", params["per_speaker"]
    frames, groups_per_batch = frames_for(params["segment_ms"]), params["batch_size"] // per_speaker
    train_set = SnippetDataset(training.specs, training.labels, frames,
                               groups_per_batch * settings.batches_per_epoch, seed,
                               time_major=is_rnn, per_speaker=per_speaker)
    val_set = SnippetDataset(training.val_specs, training.val_labels, frames,
                             settings.val_snippets, seed + 1, time_major=is_rnn)

    def fit(model: nn.Module, checkpoint: Path) -> train.History:
        identification = kind == "cnn2016"
        return train.fit(
            model, train_set, val_data=val_set,
            loss_fn=cross_entropy if identification else pkld_loss_fn(params["margin"]),
            evaluate=accuracy if identification else None,
            optimizer=make_optimizer(params["optimizer"]), epochs=params["epochs"],
            batch_size=groups_per_batch, device=device, seed=seed, config=params,
            collate_fn=collate_groups if per_speaker > 1 else None, checkpoint=checkpoint,
            checkpoint_every_s=CHECKPOINT_EVERY_S, progress=progress,
            desc=f"{kind} ({params['segment_ms']} ms)")

    model, history = chapter.train_cached(
        f"{kind}-{params['segment_ms']}ms", params=params, data=training.data,
        make=lambda: make_network(kind, training.n_speakers, settings), fit=fit, seed=seed,
        store=store)
    model.to(device).eval()
    return Trained(kind, model, history, params["segment_ms"], params, dict(training.data))


# --- embeddings ------------------------------------------------------------------------

@torch.no_grad()
def segment_embeddings(trained: Trained, specs: Sequence[np.ndarray], layer: str,
                       device: torch.device, batch: int = 256) -> list[np.ndarray]:
    """Per utterance, the ``layer`` activations of each non-overlapping segment."""
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


def embedding_width(trained: Trained, layer: str) -> int:
    """Units of ``layer`` (what is clustered), read off one segment of silence."""
    spec = np.zeros((128, frames_for(trained.segment_ms)), dtype=np.float32)
    device = next(trained.model.parameters()).device
    return int(segment_embeddings(trained, [spec], layer, device)[0].shape[1])

