"""The committed full-scale record on the adversarial page, drawn from the record file alone
(``book/records/adversarial.full.json``): each victim's attacks beside their detection (the
MNIST victim and the full scale's COIL-20 one), the ablation of maps and entropies, and a
paragraph, so that the page shows the full run without rerunning it. A live run's metrics
(:func:`dlwild.adversarial.pipeline.metrics`) have the same shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dlwild.adversarial.attacks import TITLES
from dlwild.adversarial.pipeline import ablation_images, attacks_and_detection
from dlwild.core.claims import format_value

__all__ = ["frame", "record_tables", "record_text"]


def frame(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """A table as the results record holds it (rows by attack or variant; None where a
    value was not a number) as a frame of floats, NaN for None."""
    return pd.DataFrame.from_dict(rows, orient="index").astype(float)


def _victims(metrics: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The record's victims by name: MNIST, and COIL-20 where the run attacked it."""
    out = {"MNIST": metrics}
    if "coil20" in metrics:
        out["COIL-20"] = metrics["coil20"]
    return out


def record_tables(record: Mapping[str, Any]) -> list[Any]:
    """Each victim's attacks beside their detection, then the ablation's AUCs (where the
    record has them)."""
    metrics = record["metrics"]
    tables = [attacks_and_detection(frame(v["attacks"]), frame(v["detection"]),
                                    v["victim_test_accuracy"], name)
              for name, v in _victims(metrics).items()]
    if "ablation" in metrics:
        scored = ablation_images(metrics["ablation"]["images"],
                                 {a: int(v["images"]) for a, v in metrics["attacks"].items()})
        tables.append(frame(metrics["ablation"]["auc"]).style.format(
            precision=3, na_rep="–").set_caption(f"AUC per attack by map and entropy: {scored}"))
    return tables


def _mean_auc(victim: Mapping[str, Any]) -> tuple[float, str, str]:
    """Mean AUC over the attacks that succeeded somewhere, and the best and worst attack."""
    auc = frame(victim["detection"])["AUC"]
    return float(np.nanmean(auc)), TITLES[auc.idxmax()], TITLES[auc.idxmin()]


def attack_hours(metrics: Mapping[str, Any]) -> float:
    """Hours all attacks of a run took, from each attack's images and seconds per image (both
    victims): the time the chunks took when they ran, in this sitting or an earlier one."""
    victims = [metrics] + ([metrics["coil20"]] if "coil20" in metrics else [])
    return sum(a["images"] * a["s / image"] for v in victims for a in v["attacks"].values()
               ) / 3600


def record_text(record: Mapping[str, Any]) -> str:
    """A paragraph on the record, every number read from it."""
    metrics, scale, prov = record["metrics"], record["scale"], record["provenance"]
    attacks = frame(metrics["attacks"])
    verdicts = {c["id"]: c["verdict"] for c in record["claims"]}

    def f(value: float, fmt: str = ".3f") -> str:
        return format_value(value, fmt)

    mean, best, worst = _mean_auc(metrics)
    text = (f"**What the {scale}-scale run shows.** Its attacks took "
            f"{f(attack_hours(metrics), '.1f')} h on {prov['hardware']['name']}, timed chunk "
            f"by chunk in whichever sitting ran them (a run that is stopped resumes from its "
            f"cached chunks); the sitting that finished it took "
            f"{f(prov['wall_s'] / 3600, '.1f')} h, started {prov['started'][:10]}. The MNIST "
            f"victim classifies {f(metrics['victim_test_accuracy'], '.2%')} of the test "
            f"images; the fast attacks "
            f"ran on {int(attacks.loc['fgsm', 'images']):,} of them, the slow ones on "
            f"{int(attacks.loc['boundary', 'images']):,}. Detection by the threshold on the "
            f"local spatial entropy reaches a mean AUC of {f(mean)}, highest for {best} and "
            f"lowest for {worst} (the paper's ranking, FGSM and the boundary attack easiest: "
            f"{verdicts.get('rel_fgsm_boundary_easiest', 'not tested')}; the one-pixel attack "
            f"hardest: {verdicts.get('rel_one_pixel_hardest', 'not tested')}). DeepFool's "
            f"median L2 is "
            f"{f(metrics['deepfool_median_l2']['ten_classes'], '.2f')} on the ten-class victim "
            f"and {f(metrics['deepfool_median_l2']['few_classes'], '.2f')} on the few-class "
            f"one.")
    if "coil20" in metrics:
        coil_mean, _, _ = _mean_auc(metrics["coil20"])
        text += (f" The COIL-20 victim classifies "
                 f"{f(metrics['coil20']['victim_test_accuracy'], '.2%')} of its test images; "
                 f"the same detector reaches a mean AUC of {f(coil_mean)} on it.")
    if "ablation" in metrics:
        by_variant = frame(metrics["ablation"]["auc"]).mean(axis=1, skipna=True)
        text += (f" Over the ablation's variants the mean AUC goes from "
                 f"{f(by_variant.iloc[0])} (the literal reading, 3x3) to "
                 f"{f(by_variant.max())} ({by_variant.idxmax()}).")
    return text
