"""The paper's published claims (Amirian, Schwenker and Stadelmann, ANNPR 2018), each beside
its source, and the measurement of each from a run (values from the digest
``shared/papers/adversarial.md``). The absolute numbers were measured on ImageNet with
VGG19 and are not comparable with a small CNN on MNIST; the relations are tested."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from dlwild.core.report import Claim, Measured

PAPER = "amirian2018trace"
TABLE_1 = "ANNPR 2018, Table 1 (ImageNet val, VGG19)"
#: Table 1: success rate, GT and new-class confidence after a successful attack, detection
#: rate at 1 %, 5 %, 10 % false-positive rate.
TABLE_1_ROWS = {
    "fgsm": (0.925, 0.022, 0.588, 0.954, 0.974, 0.983),
    "gradient": (0.499, 0.052, 0.371, 0.922, 0.954, 0.969),
    "one_pixel": (0.620, 0.037, 0.463, 0.917, 0.951, 0.966),
    "deepfool": (0.606, 0.041, 0.446, 0.936, 0.963, 0.976),
    "boundary": (0.940, 0.023, 0.583, 0.934, 0.960, 0.972),
}
NAMES = {"fgsm": "FGSM", "gradient": "the gradient attack", "one_pixel": "the one-pixel attack",
         "deepfool": "DeepFool", "boundary": "the boundary attack"}

ABSOLUTE = [
    *(Claim(f"detect1_{a}", paper=PAPER, source=TABLE_1,
            metric=f"detection rate at 1 % FPR, {NAMES[a]}", paper_value=row[3],
            kind="at_least", tolerance=0.05,
            statement=f"The entropy threshold detects {NAMES[a]} at 1 % false positives")
      for a, row in TABLE_1_ROWS.items()),
    Claim("auc_mean", paper=PAPER, source="ANNPR 2018, Table 2",
          metric="AUC averaged over the five attacks", paper_value=0.990, kind="at_least",
          tolerance=0.02, statement="The detector's mean AUC over the attacks"),
]

RELATIVE = [
    Claim("rel_adv_above_clean", paper=PAPER, source="ANNPR 2018, Sect. 4 and Fig. 4a",
          metric="mean score of successful adversarial images > mean of clean ones, for "
                 "every attack", paper_value=True, kind="holds",
          statement="Adversarial images have more spread-out feature responses"),
    Claim("rel_fgsm_boundary_easiest", paper=PAPER, source=TABLE_1,
          metric="AUC of FGSM and of the boundary attack > AUC of the gradient and the "
                 "one-pixel attack", paper_value=True, kind="holds",
          statement="FGSM and the boundary attack are detected best"),
    Claim("rel_one_pixel_hardest", paper=PAPER, source="ANNPR 2018, Sect. 4 and Fig. 4b",
          metric="the one-pixel attack has the lowest AUC of the five", paper_value=True,
          kind="holds", statement="The one-pixel attack is the hardest to detect"),
    Claim("rel_stronger_easier", paper=PAPER, source="ANNPR 2018, Sect. 4",
          metric="Spearman correlation over attacks of the true-class confidence drop and "
                 "the AUC > 0", paper_value=True, kind="holds",
          statement="Attacks that move the confidences more are easier to detect"),
    Claim("rel_few_classes_larger", paper=PAPER, source="ANNPR 2018, Sect. 5 and Fig. 6",
          metric="median L2 of successful DeepFool perturbations, few-class victim > "
                 "ten-class victim", paper_value=True, kind="holds",
          statement="Few-class tasks need larger perturbations"),
]

CLAIMS = ABSOLUTE + RELATIVE

NOT_COMPARABLE = ("the paper attacked VGG19 on ImageNet (224 x 224 colour, 1,000 classes); "
                  "ours is a small VGG-style CNN on MNIST")


def measure(summaries: Mapping[str, Mapping[str, Any]], table: Any,
            few_class_l2: tuple[float, float], *, data: str, scale: str,
            ablation: Any = None) -> dict[str, Measured]:
    """Our side of every claim from the attack summaries (``AttackResult.summary()`` per
    attack key), the detection table (rows: attack keys; columns as
    :meth:`~dlwild.adversarial.detector.Detection.row`), the median DeepFool L2 of the
    (ten-class, few-class) victims and, optionally, the ablation table (its grey-level row
    is quoted in a note).

    An attack without a single successful image has nothing to detect: the relations are
    then tested on the attacks that have (and say so); the one-pixel claim, which is about
    that attack, is not comparable."""
    out: dict[str, Measured] = {}
    for a in TABLE_1_ROWS:
        out[f"detect1_{a}"] = Measured(float(table.loc[a, "detected @ 1% FPR"]), data, scale,
                                       not_comparable=NOT_COMPARABLE)
    out["auc_mean"] = Measured(float(np.nanmean(table["AUC"].astype(float))), data, scale,
                               not_comparable=NOT_COMPARABLE)
    attacks = list(TABLE_1_ROWS)
    aucs = {a: float(table.loc[a, "AUC"]) for a in attacks}
    have = [a for a in attacks if np.isfinite(aucs[a])]
    missing = [a for a in attacks if a not in have]
    without = (f"; {', '.join(NAMES[a] for a in missing)} succeeded on no image, so it is "
               "left out" if missing else "")
    above = all(table.loc[a, "mean score (adversarial)"] > table.loc[a, "mean score (clean)"]
                for a in have)
    note = f"checked on {len(have)} attacks{without}"
    if ablation is not None:
        grey = [row for row in ablation.index if "grey, 3x3" in row]
        if grey:
            ok = bool((ablation.loc[grey[0]].dropna() > 0.5).all())
            note += (f"; with the grey-level reading every AUC is > 0.5: "
                     f"{'yes' if ok else 'no'}")
    out["rel_adv_above_clean"] = Measured(bool(above) if have else None, data, scale,
                                          note=note)
    if {"fgsm", "boundary"} <= set(have) and set(have) & {"gradient", "one_pixel"}:
        others = [aucs[a] for a in ("gradient", "one_pixel") if a in have]
        easiest = min(aucs["fgsm"], aucs["boundary"]) > max(others)
        out["rel_fgsm_boundary_easiest"] = Measured(bool(easiest), data, scale,
                                                    note=note.split("; with")[0])
    else:
        out["rel_fgsm_boundary_easiest"] = Measured(
            None, data, scale, not_comparable=f"too few attacks succeeded{without}")
    if "one_pixel" in have:
        hardest = aucs["one_pixel"] <= min(aucs[a] for a in have)
        out["rel_one_pixel_hardest"] = Measured(bool(hardest), data, scale)
    else:
        out["rel_one_pixel_hardest"] = Measured(
            None, data, scale, not_comparable="the one-pixel attack succeeded on no image: "
                                              "there is nothing to detect")
    drop = {a: summaries[a]["clean confidence"] - summaries[a]["GT confidence"] for a in have}
    if len(have) >= 3:
        rho = float(spearmanr([drop[a] for a in have], [aucs[a] for a in have]).statistic)
        out["rel_stronger_easier"] = Measured(
            bool(rho > 0), data, scale, note=f"Spearman rho = {rho:.2f} over {len(have)} "
                                             f"attacks{without}")
    else:
        out["rel_stronger_easier"] = Measured(None, data, scale, not_comparable="fewer than "
                                              f"three attacks succeeded{without}")
    ten, few = few_class_l2
    out["rel_few_classes_larger"] = Measured(
        bool(few > ten) if np.isfinite([ten, few]).all() else None, data, scale,
        note=f"median L2 {few:.2f} (few classes) vs {ten:.2f} (ten classes)")
    return out
