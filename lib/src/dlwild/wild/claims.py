"""The papers' claims this chapter tests or lists, each beside its source.

Values from the digest ``shared/papers/wild.md``: the DLITW full text was not available to
the digest, so the case studies' numbers come from its companions (Beyond ImageNet, ICDAR
2017) and the first author's 2018 talk slides that cite DLITW. The case studies run on data
we do not have, so their numbers are listed as not comparable; the lessons are tested as
relations on the data we have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlwild.core.report import Claim, Measured

#: The case studies that cannot be reproduced here, with the reason.
NOT_REPRODUCIBLE = {
    "hcs_test_accuracy": "the BBBC022 cell images are not in the data registry",
    "newspaper_der_fcn": "ARGUS's newspaper pages are proprietary",
    "catheter_pr_area": "the catheter production images are proprietary (and the numbers "
                        "are preliminary talk-slide values)",
    "face_matching_pipeline": "no face/ID data and no published accuracy",
    "game_reward_shaping": "the game is not named and no number is published",
    "automl": "the AutoML case study's details were not available to us",
}

ABSOLUTE = [
    Claim("hcs_test_accuracy", paper="stadelmann2019beyond", source="Beyond ImageNet 4.1",
          metric="test accuracy, cell phenotypes (4 classes)", paper_value=0.934,
          statement="A CNN classifies cell phenotypes from 5-channel microscopy"),
    Claim("newspaper_der_fcn", paper="meier2017fully", source="ICDAR 2017, Table III",
          metric="average DER, newspaper article segmentation (lower is better)",
          paper_value=0.1378, kind="at_most", fmt=".4f",
          statement="An FCN segments newspaper pages into articles (print media monitoring)"),
    Claim("catheter_pr_area", paper="stadelmann2018wild",
          source="2018 talk slides citing DLITW (128 px patches, validation)",
          metric="area under the precision-recall curve, faulty catheters",
          paper_value=0.995, statement="Quality control of balloon catheters with a weighted "
          "loss and fixed-size defect crops"),
    Claim("face_matching_pipeline", paper="stadelmann2018wild", source="2018 talk slides",
          metric="the deployed system is a pipeline of flanking models", paper_value=True,
          kind="holds", statement="Face matching needs dozens of flanking models"),
    Claim("game_reward_shaping", paper="stadelmann2018wild", source="2018 talk slides",
          metric="a deep Q-network needs reward shaping and heuristics", paper_value=True,
          kind="holds", statement="Strategy game playing needs reward shaping"),
    Claim("automl", paper="stadelmann2018wild", source="DLITW abstract",
          metric="automated machine learning as a case study", paper_value=True, kind="holds",
          statement="AutoML: no details available"),
]

RELATIVE = [
    Claim("rel_weighting_helps_little", paper="stadelmann2018wild",
          source="DLITW lessons (talk slides); WoRMS 2018",
          metric="at the largest imbalance ratio, weighting the loss gains less balanced "
                 "accuracy over plain CE than re-sampling or augmenting the rare classes",
          paper_value=True, kind="holds",
          statement="Under extreme imbalance, weighting alone helps little"),
    Claim("rel_weighting_helps_little_symbols", paper="stadelmann2018wild",
          source="DLITW lessons (talk slides); WoRMS 2018",
          metric="on the music symbols' natural long tail, weighting the loss gains less "
                 "balanced accuracy over plain CE than re-sampling or augmenting the rare "
                 "classes", paper_value=True, kind="holds",
          statement="Under extreme imbalance, weighting alone helps little (real long tail)"),
    Claim("rel_deep_ties_pca", paper="stadelmann2019beyond", source="Beyond ImageNet 4.4",
          metric="no autoencoder beats the PCA reconstruction baseline's mean ROC AUC by "
                 "more than 0.02", paper_value=True, kind="holds",
          statement="On vibration novelty detection, deep models only tie a PCA baseline"),
    Claim("rel_tanh_compresses", paper="shwartzziv2017opening", source="abstract",
          metric="a tanh layer's I(X;T) falls by >= 0.2 bit from its peak (mean over seeds)",
          paper_value=True, kind="holds",
          statement="After a fitting phase, training compresses the representation"),
    Claim("rel_relu_compresses_less", paper="saxe2018information", source="ICLR 2018",
          metric="the largest compression of a ReLU layer is below that of a tanh layer",
          paper_value=True, kind="holds",
          statement="Compression comes from saturating tanh; ReLU nets compress less"),
    Claim("rel_augmentation_removes_overfitting", paper="stadelmann2019beyond",
          source="Beyond ImageNet 4.1", metric="without augmentation the validation loss "
          "rises after its minimum; with it, the rise halves and the final loss is lower",
          paper_value=True, kind="holds",
          statement="Augmentation removes the early over-fitting"),
    Claim("rel_staged_schedule_helps", paper="stadelmann2018wild",
          source="DLITW on loss shaping (talk slide quoting the paper)",
          metric="the staged detector schedule reaches a mean AP@0.5 at least that of joint "
                 "training (DeepScores chapter)", paper_value=True, kind="holds",
          statement="Joint training was unstable; staging the losses is needed"),
]

CLAIMS = ABSOLUTE + RELATIVE


def measured(values: Mapping[str, Any], scale: str) -> dict[str, Measured]:
    """Our side of every claim from the relations the chapter measured (``values`` by claim
    id; a missing relative value or a None is not comparable, with the reason in
    ``values['<id>_why']``)."""
    out = {cid: Measured(None, "none", scale, not_comparable=why)
           for cid, why in NOT_REPRODUCIBLE.items()}
    data = {"rel_weighting_helps_little": "MNIST long tail",
            "rel_weighting_helps_little_symbols": "DeepScores chapter's engraved symbols",
            "rel_deep_ties_pca": "CWRU bearings", "rel_tanh_compresses": "12-bit task",
            "rel_relu_compresses_less": "12-bit task",
            "rel_augmentation_removes_overfitting": "MNIST subset",
            "rel_staged_schedule_helps": "DeepScores chapter's results"}
    for claim in RELATIVE:
        value = values.get(claim.id)
        why = values.get(f"{claim.id}_why") if value is None else None
        out[claim.id] = Measured(None if value is None else bool(value), data[claim.id],
                                 values.get(f"{claim.id}_scale", scale), not_comparable=why)
    return out
