"""What the speaker chapter runs, declared once and light to import (no torch): the
networks it trains (:data:`NETWORKS`), how big a run is per scale (:data:`SETTINGS`) and the
code its trained networks' artifact keys hash (:data:`TRAINING_CODE`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Network:
    """One of the papers' embedding networks: where it comes from, how the page names it, and
    which layers are clustered (the paper's embedding layer first)."""

    kind: str
    paper: str
    name: str
    loss: str
    layers: tuple[str, ...]
    title: str
    softmax_layer: str | None = None

    @property
    def embedding_layer(self) -> str:
        """The layer the paper clusters (its embedding)."""
        return self.layers[0]

    def system(self, layer: str) -> str:
        """The page's name of this network clustered at ``layer`` (tables, notes)."""
        return f"{self.name}, {layer}" + (" softmax" if layer == self.softmax_layer else "")


#: The chapter's network catalogue, in the page's order.
NETWORKS: dict[str, Network] = {
    "cnn2016": Network("cnn2016", "lukic2016speaker", "MLSP 2016 CNN",
                       "identification (cross-entropy)", ("L7", "L8"),
                       "MLSP 2016 CNN, speaker identification (cross-entropy)",
                       softmax_layer="L8"),
    "cnn2017": Network("cnn2017", "lukic2017learning", "MLSP 2017 CNN (PKLD)", "pairwise KL",
                       ("L7",), "MLSP 2017 CNN, pairwise KL loss"),
    "bilstm2018": Network("bilstm2018", "stadelmann2018capturing", "ANNPR 2018 BiLSTM",
                          "pairwise KL", ("L3",), "ANNPR 2018 BiLSTM, pairwise KL loss"),
}
#: The MFCC/GMM baseline's name on the page (ACM MM 2009); it trains nothing.
GMM = "gmm"
GMM_SYSTEM = "ACM MM 2009 MFCC/GMM"

#: The code a trained network depends on (its artifact key): editing the claims, metrics,
#: clustering, figures or the chapter's orchestration retrains nothing.
TRAINING_CODE = ("dlwild.speakers.corpora", "dlwild.speakers.features", "dlwild.speakers.losses",
                 "dlwild.speakers.models", "dlwild.speakers.embeddings",
                 "dlwild.speakers.synthetic", "dlwild.core.train")


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

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain data, for the results' provenance."""
        return asdict(self)


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
    # About four minutes on a 2-core CPU with a cold cache: the same protocol and data,
    # narrower dense layers (10 % of the papers' widths), smaller LSTMs, far fewer
    # minibatches (epochs of 10, validated on 160 snippets), Adam for the pairwise nets (the
    # MLSP 2016 net keeps its Nesterov SGD: Adam at 1e-3 kills its ReLUs in the first steps),
    # CNN minibatches of 32 and 50. The CNNs' conv layers cost ~1 s per 64 snippets on 2
    # cores, so they get 30 minibatches (3 epochs): barely trained, the chapter says so; the
    # BiLSTM gets 600, and each swept length 120. With jobs=2 (the default) two networks train
    # at a time on a core each. Pairwise (PKLD) batches hold 5 snippets per
    # speaker: with the papers' i.i.d. draw only ~1 % of the pairs share a speaker, which
    # 10k-30k minibatches make up for and a quick run cannot.
    "quick": Settings(
        n_train_speakers=100, n_test_speakers=(40, 80), hidden_scale=0.1, lstm_units=64,
        batches={"cnn2016": 30, "cnn2017": 30, "bilstm2018": 600},
        per_speaker={"cnn2016": 1, "cnn2017": 5, "bilstm2018": 5},
        batch_size={"cnn2016": 32, "cnn2017": 50, "bilstm2018": 100},
        optimizer={"cnn2016": "nesterov", "cnn2017": "adam", "bilstm2018": "adam"},
        sweep_ms=(50, 100, 200, 400, 800), sweep_batches=120, gmm_components=8,
        batches_per_epoch=10, val_snippets=160,
    ),
}


def default_segment_ms(kind: str, settings: Settings) -> int:
    """The input length a network trains on unless told: 1 s for the CNNs (MLSP 2016/2017),
    the settings' segment length for the BiLSTM."""
    return settings.segment_ms if kind == "bilstm2018" else 1000


def chapter_networks(settings: Settings) -> list[tuple[str, int | None, int | None]]:
    """Every network the chapter trains as ``(kind, segment_ms, batches)`` (None: the default):
    the three embedding networks, then the BiLSTM per swept segment length."""
    return ([(kind, None, None) for kind in NETWORKS]
            + [("bilstm2018", ms, settings.sweep_batches) for ms in settings.sweep_ms])
