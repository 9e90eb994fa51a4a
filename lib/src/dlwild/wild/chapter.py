"""The wild chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.wild.settings import NORMAL_RATES, SETTINGS, TRAINING_CODE

CHAPTER = Chapter(
    name="wild",
    title="Deep Learning in the Wild: its lessons as experiments",
    topic="Lessons from industrial deep learning, each a small experiment",
    summary="class imbalance on an MNIST long tail, condition monitoring on CWRU bearings "
            "trained on normal vibration only, the information plane, learning curves with "
            "and without augmentation, feature visualisation and loss shaping",
    papers=("stadelmann2018wild", "stadelmann2019beyond", "stockinger2019lessons",
            "shwartzziv2017opening", "saxe2018information", "meier2017fully"),
    params={
        "normal_rate": Param(48_000, int, "the sampling rate file 97 (the normal baseline) is "
                             "read at before it is resampled to 12 kHz", choices=NORMAL_RATES),
        "focal_gamma": Param(2.0, float, "the focal loss's focusing exponent (0: plain CE)",
                             between=(0.0, 5.0)),
    },
    settings=SETTINGS,
    data=("mnist", "cwru_bearing"),
    data_modes=("auto", "real"),
    data_help="MNIST and the CWRU bearings are real data sets from the registry; the chapter "
              "has no generator, so auto and real are the same",
    training_code=TRAINING_CODE,
    goals=(
        "measure what class imbalance does to per-class recall, balanced accuracy and macro "
        "F1, and compare loss weighting, focal loss, re-sampling and augmentation",
        "set up novelty detection trained on normal data only and choose a threshold by risk "
        "(catch every fault) rather than by error",
        "compute mutual information by binning and draw a network's information plane",
        "read learning curves to diagnose over- and under-fitting, and show what a CNN "
        "looks at with guided backpropagation",
    ),
    prerequisites=(
        "Training a small CNN classifier (cross-entropy, Adam, validation split)",
        "Precision, recall and ROC curves",
        "Entropy and mutual information of discrete variables",
        "the {doc}`deepscores` chapter (for the loss-shaping lesson)",
    ),
    try_this=(
        TryThis("normal_rate=12000", watch="the condition-monitoring AUC table",
                expect="file 97 is taken as it is, without resampling: compare the AUCs and "
                       "the zero-miss precision with this page's (the rate decides what "
                       "'normal' looks like)"),
        TryThis("focal_gamma=0", watch="the focal row of the imbalance table",
                expect="with gamma 0 the focal loss is cross-entropy: its row matches plain CE"),
        TryThis("seed=1", watch="the imbalance table and the paper-vs-ours table",
                expect="another long tail and other initialisations: the last digits move, "
                       "the verdicts should not"),
    ),
)
