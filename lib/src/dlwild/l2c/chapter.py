"""The learning-to-cluster chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.l2c.data import check_image_set
from dlwild.l2c.settings import SETTINGS, TRAINING_CODE
from dlwild.speakers.corpora import check_corpus_spec

CHAPTER = Chapter(
    name="learning_to_cluster",
    title="Learning to cluster end to end",
    topic="Learning to cluster: one network outputs the number of clusters and the partition",
    summary="a residual BiLSTM network trained on sets of other classes clusters 2-D points, "
            "speech snippets and images of unseen classes in one forward pass",
    papers=("meier2018learning",),
    params={
        "speech_corpus": Param("librispeech", str, "the speakers of the speech sets: "
                               "librispeech, or timit:<path> for a local TIMIT copy",
                               check=check_corpus_spec),
        "image_set": Param("coil20", str, "the images: coil20, mnist, or coil100:<folder> "
                           "for a local COIL-100 copy", check=check_image_set),
        "points_n": Param(72, int, "points per 2-D training and test set (the paper's 72)",
                          between=(10, 200)),
    },
    settings=SETTINGS,
    data=("librispeech_resemblyzer", "coil20_32x32_mat", "mnist"),
    training_code=TRAINING_CODE,
    goals=(
        "explain how one network can output both the number of clusters and a partition "
        "of a set, and why it is trained on sets of classes it will never be tested on",
        "derive the pairwise loss from P_ij and compute its weights phi for a given set "
        "generator",
        "score clusterings by the one-to-one misclassification rate and NMI, against "
        "k-means, agglomerative clustering, DBSCAN, HDBSCAN and the random-partition row",
        "judge which of the paper's claims carry over from its 2-D sets, TIMIT and COIL-100 "
        "to this book's generator, LibriSpeech and COIL-20",
    ),
    prerequisites=(
        "Recurrent networks (LSTMs) and a softmax classifier trained by cross-entropy",
        "k-means and hierarchical clustering",
        "The {doc}`speakers` chapter's spectrograms and misclassification rate (helpful)",
    ),
    try_this=(
        TryThis("points_n=150", watch="the 2-D MR and the count accuracy",
                expect="larger sets than at training time are harder; the network trains "
                       "and tests on the new n, and MR rises at equal training time"),
        TryThis("image_set=mnist", watch="the images row of the results table",
                expect="digits 0-4 train, 5-9 are clustered; only five test classes, so "
                       "every k = 5 set holds all of them"),
        TryThis("seed=1", watch="the paper-vs-ours table",
                expect="quick-scale numbers move by a few hundredths: read one quick run "
                       "with that spread in mind"),
    ),
)
