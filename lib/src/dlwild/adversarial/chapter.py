"""The adversarial chapter's declaration (see :mod:`dlwild.core.chapter`)."""

from __future__ import annotations

from dlwild.adversarial.settings import READINGS, SETTINGS, TRAINING_CODE
from dlwild.core.chapter import Chapter, Param, TryThis


def _odd(window: int) -> None:
    if window % 2 == 0:
        raise ValueError("the window must be odd (3, 5, 7, ...)")

CHAPTER = Chapter(
    name="adversarial",
    title="Trace and detect adversarial attacks with feature response maps",
    topic="Adversarial examples leave a trace in where a network looks",
    summary="five attacks from Foolbox and ART on a VGG-style CNN, guided-backpropagation "
            "maps, and a threshold on their local spatial entropy that flags attacks",
    papers=("amirian2018trace",),
    params={
        "window": Param(3, int, "side of the square patches of the local entropy (odd)",
                        between=(1, 15), check=_odd),
        "reading": Param("intensity", str, "what 'normalised 2-D histogram' means: the "
                         "literal intensity reading, grey levels, or co-occurrences",
                         choices=READINGS),
    },
    settings=SETTINGS,
    data=("mnist", "coil20_32x32_mat"),
    data_modes=("auto", "real"),
    data_help="MNIST from the data layer (cache, mirror, download); the chapter has no "
              "generator, so auto and real are the same",
    training_code=TRAINING_CODE,
    goals=(
        "explain what an adversarial example is and run five attacks (gradient-based, "
        "decision-based and evolutionary) through maintained libraries",
        "compute guided-backpropagation feature response maps and their local spatial "
        "entropy, and say why the paper's literal definition cannot exceed log2 9 bits",
        "set a detection threshold on clean calibration images and read detection rates at "
        "fixed false-positive rates, ROC curves and AUC",
        "judge which claims of the paper carry over from ImageNet/VGG19 to a small CNN on "
        "MNIST, and what an attacker who knows the detector could do",
    ),
    prerequisites=(
        "Convolutional neural networks (convolution, ReLU, max-pooling, softmax)",
        "Gradients and backpropagation",
        "ROC curves and false-positive rates",
    ),
    try_this=(
        TryThis("seed=1", watch="the detection table and the paper-vs-ours verdicts",
                expect="another victim and other images: the AUCs move by a few "
                       "hundredths; whether the ranking of the attacks holds is what to "
                       "watch"),
        TryThis("reading=grey", watch="the score histograms and the AUC column",
                expect="a constant window now scores 0 instead of log2 9: the clean "
                       "scores drop, and whether the attacks separate better shows in the "
                       "AUCs"),
        TryThis("window=7", watch="the score histograms and the detection rates",
                expect="larger patches average more of the spread-out response: higher "
                       "scores for all images; the separation may rise or fall"),
        TryThis("scale=full", watch="the image counts, the ablation table and the run time",
                expect="thousands of attacked images and a wider victim: narrower "
                       "uncertainty on every rate, at hours instead of minutes"),
    ),
)
