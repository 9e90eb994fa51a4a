"""The speaker chapter's experiment, end to end, on a validated run (``CHAPTER.start``):
corpora, the papers' protocol, the networks, every clustering, the segment-length sweep.

Each step is the papers' (digest ``speakers.md``): disjoint training and test speakers, two
"utterances" per test speaker, nets trained on random snippets of mel spectrograms
(:mod:`dlwild.speakers.embeddings`), utterance embeddings clustered by complete-linkage AHC
(MR at the best cut, an oracle as in the papers) and by dominant sets (no k needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from dlwild.core import cache, config, tasks
from dlwild.core import data as datasets
from dlwild.speakers.audio import Utterance
from dlwild.speakers.corpora import (
    CORPORA,
    check_corpus_spec,
    load_corpus,
    speakers_of,
    split_speakers,
    two_utterances,
)
from dlwild.speakers.embeddings import (
    Trained,
    TrainingSet,
    train_network,
    training_set,
    utterance_embeddings,
)
from dlwild.speakers.evaluation import (
    Clustering,
    ClusterKey,
    best_cut_mr,
    evaluate_clustering,
    gmm_baseline,
    gmm_distances,
    to_json,
)
from dlwild.speakers.features import utterance_features
from dlwild.speakers.settings import GMM, NETWORKS, Settings, chapter_networks

if TYPE_CHECKING:  # pragma: no cover
    from dlwild.core.run import Run


# --- corpora ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalCopy:
    """A user's own copy of a corpus (e.g. licensed TIMIT): real data, described by its path."""

    name: str
    path: str
    files: int

    def record(self) -> dict[str, Any]:
        """The data set's entry in the results' provenance."""
        return {"name": self.name, "path": self.path, "files": self.files,
                "note": "the user's local copy (not in the data registry)"}


#: The voices the chapter falls back to when no real speech can be had (espeak-ng).
SYNTHETIC_SPEAKERS = 180
SYNTHETIC_GENERATOR = ("espeak-ng synthetic voices (180 speakers: distinct voice variants, "
                       "pitch and rate, 2 utterances of Harvard sentences each)")


def resolve_corpus(spec: str, mode: str, seed: int = 0) -> tuple[list[Utterance], Any]:
    """Utterances of corpus ``spec`` (validated by the declaration) and their source: a
    ``Fetched`` or ``LocalCopy`` (real), or None where the synthetic voices stand in."""
    name, path = check_corpus_spec(spec)
    if mode != "synthetic":
        if path is not None:
            utts = load_corpus(spec)
            return utts, LocalCopy(name, str(path), len({u.path for u in utts}))
        fetched = datasets.resolve(CORPORA[name], mode)
        if fetched is not None:
            return load_corpus(spec), fetched
    from dlwild.speakers.synthetic import synthetic_corpus

    root = config.home() / "synthetic-voices" / f"seed{seed}"
    return synthetic_corpus(root, SYNTHETIC_SPEAKERS, 2, seed), None


@dataclass(frozen=True)
class Corpora:
    """The run's training and test utterances and where they came from (None: synthetic)."""

    train_corpus: str
    test_corpus: str
    train_utts: list[Utterance]
    train_source: Any
    test_utts: list[Utterance] | None = None
    test_source: Any = None

    @property
    def train_name(self) -> str:
        """What the networks learn from: the corpus name, or ``synthetic voices``."""
        if self.train_source is None:
            return "synthetic voices"
        return self.train_corpus.split(":")[0].strip().lower()

    @property
    def test_kind(self) -> str:
        """The test voices' corpus name, or ``synthetic``."""
        source = self.train_source if self.test_utts is None else self.test_source
        return "synthetic" if source is None else self.test_corpus.split(":")[0].strip().lower()


def load_corpora(run: Run) -> Corpora:
    """Resolve the run's corpora (``train_corpus``, ``test_corpus``, in ``run.data`` mode) and
    record each with ``run.use_data`` (a banner if the synthetic voices stand in)."""
    train_spec, test_spec = run.params["train_corpus"], run.params["test_corpus"]
    train_utts, train_source = resolve_corpus(train_spec, run.data, run.seed)
    run.use_data(train_spec.split(":")[0], train_source, generator=SYNTHETIC_GENERATOR)
    if test_spec == train_spec:
        return Corpora(train_spec, test_spec, train_utts, train_source)
    test_utts, test_source = resolve_corpus(test_spec, run.data, run.seed)
    run.use_data(test_spec.split(":")[0], test_source, generator=SYNTHETIC_GENERATOR)
    return Corpora(train_spec, test_spec, train_utts, train_source, test_utts, test_source)


# --- the protocol ----------------------------------------------------------------------

@dataclass
class Protocol:
    """Disjoint training and test speakers, with spectrograms ready for training and testing."""

    train_speakers: list[str]
    test_speakers: list[str]
    training: TrainingSet
    test_groups: list[tuple[Utterance, ...]]
    test_labels: list[str]
    test_specs: list[np.ndarray]
    notes: list[str] = field(default_factory=list)

    def indices(self, n_speakers: int) -> list[int]:
        """Positions of the first ``n_speakers`` test speakers' utterances."""
        keep = set(self.test_speakers[:n_speakers])
        return [i for i, s in enumerate(self.test_labels) if s in keep]

    def subset(self, n_speakers: int) -> tuple[list[np.ndarray], list[str], list]:
        """Test spectrograms, labels and groups of the first ``n_speakers`` test speakers."""
        idx = self.indices(n_speakers)
        return ([self.test_specs[i] for i in idx], [self.test_labels[i] for i in idx],
                [self.test_groups[i] for i in idx])

    def sizes(self, settings: Settings) -> list[int]:
        """The speaker counts clustered: the settings', clipped to the test speakers there are."""
        return sorted({min(n, len(self.test_speakers)) for n in settings.n_test_speakers})

    @property
    def train_seconds(self) -> float:
        """Seconds of training speech the networks learn from (10 ms frames; the held-out
        validation parts not counted)."""
        return sum(s.shape[1] for s in self.training.specs) / 100


def build_protocol(train_utts: Sequence[Utterance], test_utts: Sequence[Utterance] | None,
                   settings: Settings, seed: int, *, source: str, corpus: str) -> Protocol:
    """The papers' protocol on any corpus: test speakers get two utterances (first ~80 % and
    the rest); training speakers are disjoint from them and keep their last ~20 % for
    validation. With ``test_utts`` None both come from ``train_utts``. ``source`` (real or
    synthetic) and ``corpus`` describe the training data in the networks' artifact keys."""
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
    labels = np.arange(len(train_spk))
    training = training_set(utterance_features(parts[0::2]), labels,
                            utterance_features(parts[1::2]), labels, source=source,
                            corpus=corpus, n_train_speakers=len(train_spk))
    groups = two_utterances(test_source, test, min_s=1.0, on_short="error")
    return Protocol(train_speakers=train_spk, test_speakers=test, training=training,
                    test_groups=groups, test_labels=[g[0].speaker for g in groups],
                    test_specs=utterance_features(groups), notes=notes)


def protocol_of(corpora: Corpora, run: Run) -> Protocol:
    """:func:`build_protocol` on a run's corpora, its training data named as resolved."""
    return build_protocol(corpora.train_utts, corpora.test_utts, run.settings, run.seed,
                          source="synthetic" if corpora.train_source is None else "real",
                          corpus=corpora.train_name)


def _total_s(utts: Sequence[Utterance], speaker: str) -> float:
    return sum(u.duration_s for u in utts if u.speaker == speaker)


def _shuffled(speakers: list[str], seed: int) -> list[str]:
    """A seeded order of the test speakers, so "the first 40" is a random, sex-mixed subset."""
    order = np.random.default_rng([seed, 40]).permutation(len(speakers))
    return [speakers[i] for i in order]


# --- training --------------------------------------------------------------------------

def train_networks(protocol: Protocol, run: Run, *,
                   store: cache.ArtifactCache | None = None) -> dict[str, Trained]:
    """The run's three embedding networks, trained once then loaded and recorded with the run;
    with ``jobs > 1``, or in a sweep, all the chapter's networks first train in parallel
    (:func:`train_all`)."""
    settings, jobs = settings_of(run), run.params["jobs"]
    if jobs > 1 or tasks.scheduler_address() is not None:
        train_all(protocol, settings, seed=run.seed, device=run.device, jobs=jobs, store=store)
    nets = {kind: train_network(kind, protocol.training, settings, seed=run.seed,
                                device=run.device, store=store) for kind in NETWORKS}
    for trained in nets.values():
        run.use_training(trained.history)
    return nets


def batches_trained(networks: Mapping[str, Trained]) -> dict[str, int]:
    """Minibatches each network trained (for the claims' reasons)."""
    return {kind: t.params["batches"] for kind, t in networks.items()}


def settings_of(run: Run) -> Settings:
    """The run's settings with its BiLSTM segment length (``segment_ms``) applied."""
    return replace(run.settings, segment_ms=run.params["segment_ms"])


def _train_one(job: tuple[Any, ...], training: TrainingSet) -> dict[str, Any]:
    """One network of :func:`train_all` (a task: ``job`` is plain data)."""
    (kind, segment_ms, batches), settings, seed, device, store, threads = job
    torch.set_num_threads(threads)
    trained = train_network(kind, training, settings, seed=seed, device=device,
                            segment_ms=segment_ms, batches=batches, store=store, progress=False)
    last = trained.history.epochs[-1]
    return {"kind": kind, "segment_ms": trained.segment_ms, "epochs": len(trained.history),
            "hardware": trained.history.hardware,
            **{k: v for k, v in last.items() if k.startswith(("train_", "val_"))}}


def train_all(protocol: Protocol, settings: Settings, *, seed: int, device: torch.device,
              jobs: int, store: cache.ArtifactCache | None = None) -> list[dict[str, Any]]:
    """Train every network of :func:`chapter_networks` into the artifact cache as tasks
    (:func:`dlwild.core.tasks.run_many`: the sweep's cluster, or an embedded one of ``jobs``
    worker processes), so that the chapter then loads them instead of training one after
    another: on a GPU, a full-scale run's networks share the card (small nets leave most of
    it idle). A task whose worker is lost is resubmitted and resumes from the network's
    checkpoint. Returns one summary per network (its final losses and hardware)."""
    import os

    todo = chapter_networks(settings)
    threads = max(1, (os.cpu_count() or 1) // max(1, min(jobs, len(todo))))
    return tasks.run_many(_train_one, [(job, settings, seed, device, store, threads)
                                       for job in todo],
                          workers=jobs, shared=protocol.training, desc="networks", unit="net")


# --- clustering ------------------------------------------------------------------------

def cluster_all(networks: Mapping[str, Trained], protocol: Protocol, run: Run) -> Clustering:
    """Every network at each catalogued layer, and the MFCC/GMM baseline, clustered on each test
    set size; embeddings and GMM distances are computed once, on every test utterance."""
    sizes = protocol.sizes(run.settings)
    biggest = protocol.indices(max(sizes))
    groups = [protocol.test_groups[i] for i in biggest]
    distances = gmm_distances(groups, run.settings.gmm_components, run.seed)
    embedded = {(kind, layer): utterance_embeddings(
        trained, [protocol.test_specs[i] for i in biggest], layer, run.device)
        for kind, trained in networks.items() for layer in NETWORKS[kind].layers}
    clustering: Clustering = {}
    for n in sizes:
        keep = [biggest.index(i) for i in protocol.indices(n)]
        labels = [protocol.test_labels[i] for i in protocol.indices(n)]
        for (kind, layer), X in embedded.items():
            clustering[ClusterKey(kind, layer, n)] = evaluate_clustering(X[keep], labels,
                                                                         device=run.device)
        clustering[ClusterKey(GMM, None, n)] = gmm_baseline(distances[np.ix_(keep, keep)],
                                                            labels)
    return clustering


@dataclass(frozen=True)
class Sweep:
    """The BiLSTM retrained per segment length (ANNPR 2018, Fig. 4): MR (a+b) at the best cut
    on the smallest test set, and each length's network."""

    mr: dict[int, float]
    networks: dict[int, Trained]
    speakers: int
    batches: int


def segment_sweep(protocol: Protocol, run: Run, *,
                  store: cache.ArtifactCache | None = None) -> Sweep:
    """Train the BiLSTM for each of the settings' ``sweep_ms`` with ``sweep_batches`` and
    cluster the smallest test set with each, recording the training with ``run``."""
    settings = settings_of(run)
    n = min(protocol.sizes(settings))
    specs, labels, _ = protocol.subset(n)
    mr, nets = {}, {}
    for ms in settings.sweep_ms:
        trained = train_network("bilstm2018", protocol.training, settings, seed=run.seed,
                                device=run.device, segment_ms=ms,
                                batches=settings.sweep_batches, store=store)
        X = utterance_embeddings(trained, specs, "L3", run.device)
        mr[ms] = best_cut_mr(X, labels, "mr_annpr2018")
        nets[ms] = trained
        run.use_training(trained.history)
    return Sweep(mr, nets, n, nets[settings.sweep_ms[0]].params["batches"])


# --- the results ----------------------------------------------------------------------

def results_metrics(clustering: Clustering, sweep: Sweep, networks: Mapping[str, Trained],
                    protocol: Protocol, run: Run) -> dict[str, Any]:
    """The results file's ``metrics``, in the shape the committed record has (read by
    :func:`dlwild.speakers.figures.record_figures` and :func:`claims.record_summary`)."""
    return {
        "clustering": {**to_json(clustering), "sweep": dict(sweep.mr)},
        "networks": {kind: {"params": t.params, "data": t.data, "history": t.history.to_dict()}
                     for kind, t in networks.items()},
        "sweep_histories": {str(ms): t.history.to_dict() for ms, t in sweep.networks.items()},
        "protocol": {"train_speakers": len(protocol.train_speakers),
                     "test_speakers": len(protocol.test_speakers),
                     "test_utterances": 2 * len(protocol.test_speakers), "notes": protocol.notes},
        "settings": settings_of(run).as_dict(),
    }
