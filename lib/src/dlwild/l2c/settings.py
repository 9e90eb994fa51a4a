"""What the learning-to-cluster chapter runs, declared once and light to import (no torch):
the three data types' networks and training per scale (:data:`SETTINGS`) and the code the
trained networks' artifact keys hash (:data:`TRAINING_CODE`).

The paper (Meier et al., ANNPR 2018; digest ``shared/papers/learning-to-cluster.md`` §3.4):
k_max = 5, lambda = 5, an FC layer of 288 units, m = 14 residual BiLSTM layers, a count
BiLSTM of 128 units, Adadelta at learning rate 5; 2-D points in sets of n = 72, N = 200 sets
per minibatch; speech and images in sets of n = 20 through a 3-block CNN."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

#: The chapter's three data types, in the page's order.
DATASETS = ("points", "speech", "images")

#: What a trained network depends on (its artifact key): editing claims, baselines,
#: evaluation, figures or the pipeline retrains nothing.
TRAINING_CODE = ("dlwild.l2c.model", "dlwild.l2c.loss", "dlwild.l2c.episodes",
                 "dlwild.l2c.data", "dlwild.l2c.training", "dlwild.speakers.features",
                 "dlwild.speakers.embeddings")


@dataclass(frozen=True)
class Net:
    """One L2C network and how it trains on one data type."""

    n: int                       # items per training set
    m: int                       # residual BiLSTM layers
    sets_per_batch: int          # N, sets per minibatch
    batches: int                 # minibatches (optimiser steps)
    batches_per_epoch: int       # minibatches between validations (one "epoch")
    width: int = 288             # the FC layer (and RBDLSTM) width
    count_units: int = 128       # the count BiLSTM, per direction
    cnn_scale: float = 1.0       # CNN filters 32/64/128 and dense 256 times this
    optimizer: str = "adadelta"  # adadelta (the paper: lr 5.0) | adam
    lr: float = 5.0
    val_sets: int = 64           # validation sets (from validation classes)
    metric: str | None = None    # None | euclidean | mahalanobis | full (the ablation)
    patience: int | None = None  # epochs without a lower validation loss before training
    #                              stops; the best epoch's weights are kept (None: train all)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the artifact key and the provenance."""
        return asdict(self)


@dataclass(frozen=True)
class Settings:
    """How big one run is. ``full`` follows the paper as far as one sitting of a 2-core CPU
    allows (about 2 h); ``quick`` is a few CPU minutes."""

    nets: dict[str, Net]
    k_max: int = 5
    lam: float = 5.0
    test_sets: int = 300         # test sets per data set (the paper's 300 evaluations)
    speech_split: tuple[int, int, int] = (171, 40, 40)   # train / val / test speakers
    snippets_per_speaker: int = 24                       # random 1.28 s windows per speaker
    spectrogram_pool: int = 1    # average-pool the 128 x 128 spectrogram windows by this
    image_split: tuple[int, int, int] = (10, 5, 5)      # COIL-20 classes
    class_sweep: tuple[int, ...] = (5, 10)              # training classes (images)
    sweep_batches: int = 200
    large_n: tuple[int, ...] = (72, 300)                # the points net tested at these n
    ablations: tuple[str, ...] = ()                     # metric blocks trained (points)
    ablation_batches: int = 0
    ablation_sets_per_batch: int = 50                   # the paper's N = 50
    max_n: int = 1000            # the largest set cluster() accepts
    baseline_sets: int = 300     # test sets the baselines cluster
    baselines_other: tuple[str, ...] = ("k-means (true k)", "agglomerative (true k)",
                                        "k-means (silhouette k)", "DBSCAN", "HDBSCAN")

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the results' provenance."""
        return asdict(self)


# About three minutes on a 2-core CPU with a cold cache: the paper's protocol and heads, a
# narrower and shallower network (m = 2, FC 64, count BiLSTM 32), a quarter-width CNN
# on quarter-resolution (32 x 32) spectrogram windows, small minibatches, Adam instead of
# Adadelta (which at lr 5 needs thousands of steps), fewer speakers, a short class sweep.
QUICK = Settings(
    nets={
        "points": Net(n=72, m=2, sets_per_batch=40, batches=350, batches_per_epoch=50,
                      width=64, count_units=32, optimizer="adam", lr=4e-3, val_sets=64),
        "speech": Net(n=20, m=2, sets_per_batch=8, batches=125, batches_per_epoch=25,
                      width=64, count_units=32, cnn_scale=0.25, optimizer="adam", lr=2e-3,
                      val_sets=48),
        "images": Net(n=20, m=2, sets_per_batch=8, batches=175, batches_per_epoch=25,
                      width=64, count_units=32, cnn_scale=0.25, optimizer="adam", lr=2e-3,
                      val_sets=48),
    },
    speech_split=(40, 10, 20), snippets_per_speaker=16, spectrogram_pool=4,
    class_sweep=(5, 10), sweep_batches=75, large_n=(72, 300), baseline_sets=150,
    baselines_other=("k-means (true k)", "DBSCAN"),
)

# The paper's network where one sitting of the 2-core machine allows (below): m = 14
# residual BiLSTM layers of 288 units, the count BiLSTM of 128, the full-width CNN on 128 x
# 128 spectrogram windows and 32 x 32 images, k_max = 5, lambda = 5. Not the paper's
# Adadelta at lr 5: with m = 14 it diverges here within ten steps (measured December 2026 on
# the points net, N = 50: the assignment loss went from 0.68 to 2.95 at step 10 and 7.6 at
# step 80, gradients vanished, count accuracy stayed at chance; with PyTorch's constants and
# with Keras' rho 0.95 / eps 1e-7 alike), while Adam at 3e-4 trains (0.68 -> 0.56 by step
# 90). What does not fit is scaled down: minibatches of N = 50 sets of n = 72 points (the
# paper: 200), 5 sets of 20 windows for speech (a full CNN step on 500 spectrograms takes
# ~25 s here), 25 sets of 20 images (the authors' TIMIT script), and a few thousand steps
# where the paper trains for tens of thousands. Like the authors' script, training stops
# when the validation loss has not improved for a while and keeps the best epoch's weights
# (``patience``, in epochs). The sizes follow the record of 3 December 2026 (2,500 points
# steps, 2,000 images steps, no early stopping): the points net was still improving at its
# last epoch (validation loss 1.97 -> 1.88 over the last three), and on fresh sets reached
# NMI 0.79 to 0.81, while the images net was best after its first 100 steps (validation
# loss 2.90, then 4.3 to 12.8; 8.12 at the end, the weights that were tested), and the
# speech net's validation loss stopped falling after about 750 of its 1,000 steps. So the
# points net now trains 3,500 steps, speech at most 800 and images at most 600; the
# metric-learning variants train with the paper's N = 50 for 300 steps each, beside plain
# L2C trained the same way (a like-for-like ablation), and the class sweep's networks for
# 400: a full record is made in one sitting of the 2-core machine (its disk may start empty
# each time), forecast 2.3 h here by benchmarks/l2c.py (3 December 2026: a points step
# 0.99 s; early stopping can only shorten it).
FULL = Settings(
    nets={
        "points": Net(n=72, m=14, sets_per_batch=50, batches=3500, batches_per_epoch=100,
                      optimizer="adam", lr=3e-4, val_sets=200, patience=8),
        "speech": Net(n=20, m=14, sets_per_batch=5, batches=800, batches_per_epoch=50,
                      optimizer="adam", lr=3e-4, val_sets=50, patience=6),
        "images": Net(n=20, m=14, sets_per_batch=25, batches=600, batches_per_epoch=100,
                      optimizer="adam", lr=3e-4, val_sets=200, patience=3),
    },
    snippets_per_speaker=32, class_sweep=(5, 10), sweep_batches=400,
    large_n=(72, 300, 1000), ablations=("euclidean", "mahalanobis", "full"),
    ablation_batches=300,
)

SETTINGS = {"quick": QUICK, "full": FULL}

#: The paper's points network and training as the page contrasts them with the scales:
#: §3.4 and, for the stopping rule, the authors' TIMIT script (digest §3.4 [C]).
PAPER_TRAINING = {"m": 14, "width": 288, "sets_per_batch": 200, "optimizer": "Adadelta",
                  "lr": 5.0, "patience": 15001}


def sweep_net(settings: Settings) -> Net:
    """The images network of the class-count sweep (fewer minibatches)."""
    return replace(settings.nets["images"], batches=settings.sweep_batches)


def ablation_net(settings: Settings, metric: str | None) -> Net:
    """The points network with a metric-learning block, or none (plain L2C trained as the
    blocks are), at the ablation's budget (the paper's N = 50)."""
    return replace(settings.nets["points"], metric=metric, batches=settings.ablation_batches,
                   sets_per_batch=settings.ablation_sets_per_batch)


