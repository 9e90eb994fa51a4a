"""The speaker-clustering chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.speakers.corpora import check_corpus_spec
from dlwild.speakers.settings import SETTINGS, TRAINING_CODE

CHAPTER = Chapter(
    name="speakers",
    title="Speaker clustering",
    topic="Speaker clustering, exploiting time information",
    summary="CNN and BiLSTM speaker embeddings, the pairwise KL loss, dominant sets, "
            "misclassification rate on unseen speakers",
    papers=("stadelmann2009unfolding", "lukic2016speaker", "lukic2017learning",
            "stadelmann2018capturing", "hibraj2018speaker"),
    params={
        "train_corpus": Param("librispeech", str, "the speakers the networks train on: "
                              "librispeech, timit, fsdd, or <name>:<path> for a local copy",
                              check=check_corpus_spec),
        "test_corpus": Param("librispeech", str, "the unseen speakers clustered (as "
                             "train_corpus)", check=check_corpus_spec),
        "segment_ms": Param(400, int, "the BiLSTM's input length in ms (ANNPR 2018)",
                            between=(20, 2000)),
        "jobs": Param(2, int, "networks trained side by side as Dask tasks, each with its "
                      "share of the cores (2 on the 2-core book machine: the small networks "
                      "use one core each better than two together; 12 on a GPU)",
                      between=(1, 64)),
    },
    settings=SETTINGS,
    data=("librispeech_resemblyzer", "fsdd"),
    training_code=TRAINING_CODE,
    goals=(
        "explain speaker clustering on voices never heard in training, and score a "
        "clustering by the papers' misclassification rate (MR)",
        "train the papers' CNN and BiLSTM embedding networks with the identification and "
        "the pairwise Kullback-Leibler loss, and read their learning curves",
        "cluster utterance embeddings by agglomerative clustering and by dominant sets, "
        "which need no number of speakers",
        "judge which of the papers' claims carry over from TIMIT to LibriSpeech, and why "
        "quick-scale numbers differ from full-scale ones",
    ),
    prerequisites=(
        "Neural networks trained with a loss and an optimiser (a first deep-learning course)",
        "Spectrograms: a time-frequency picture of speech",
        "Hierarchical (agglomerative) clustering and its dendrogram",
    ),
    try_this=(
        TryThis("segment_ms=100", watch="the BiLSTM's MR in the paper-vs-ours table",
                expect="a shorter input holds less of a voice's prosody; at quick scale the "
                       "MR moves by a few utterances, the full-scale record's sweep shows "
                       "the whole curve"),
        TryThis("seed=1", watch="the paper-vs-ours table",
                expect="quick-scale MRs move by one or two utterances (each one is 1/80 of "
                       "the MR on 40 speakers): read a single quick number with that spread "
                       "in mind"),
        TryThis("data=synthetic", watch="the banner at the top and the MRs",
                expect="the chapter runs on synthetic espeak-ng voices: a banner at the top "
                       "says so, and the papers' absolute values are marked not comparable"),
    ),
)
