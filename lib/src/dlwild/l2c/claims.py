"""The paper's claims (Meier et al., ANNPR 2018), each beside its source, and our
measurement of each from a run's results (:func:`measured`).

Absolute values are Table 1's (MR and NMI averaged over 300 test sets; digest §4); the
relative claims come from the paper's text (§4) and the digest's list of testable claims
(§5). Only the 2-D points are comparable in absolute terms: the speech and image rows ran
on TIMIT and COIL-100, which this book replaces by LibriSpeech and COIL-20/MNIST."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlwild.core.claims import Claim, Measured

PAPER = "meier2018learning"
T1 = "Table 1"

ABSOLUTE = [
    Claim("points_mr", PAPER, T1, "MR, 2-D points", 0.004, tolerance=0.02,
          statement="L2C clusters the 2-D sets almost perfectly (MR)"),
    Claim("points_nmi", PAPER, T1, "NMI, 2-D points", 0.993, tolerance=0.02,
          statement="L2C clusters the 2-D sets almost perfectly (NMI)"),
    Claim("speech_mr", PAPER, T1, "MR, TIMIT", 0.060, tolerance=0.03,
          statement="L2C on 20 speech snippets of 1.28 s (MR)"),
    Claim("speech_nmi", PAPER, T1, "NMI, TIMIT", 0.928, tolerance=0.03,
          statement="L2C on 20 speech snippets of 1.28 s (NMI)"),
    Claim("images_mr", PAPER, T1, "MR, COIL-100", 0.116, tolerance=0.03,
          statement="L2C on 20 images of unseen objects (MR)"),
    Claim("images_nmi", PAPER, T1, "NMI, COIL-100", 0.867, tolerance=0.03,
          statement="L2C on 20 images of unseen objects (NMI)"),
    Claim("random_points_mr", PAPER, T1, "MR, random partition, n = 72", 0.485,
          tolerance=0.015, statement="a random partition with the true k (n = 72), MR"),
    Claim("random_points_nmi", PAPER, T1, "NMI, random partition, n = 72", 0.232,
          tolerance=0.01, statement="a random partition with the true k (n = 72), NMI"),
    Claim("random_n20_mr", PAPER, T1, "MR, random partition, n = 20", 0.435,
          tolerance=0.015, statement="a random partition with the true k (n = 20), MR"),
    Claim("random_n20_nmi", PAPER, T1, "NMI, random partition, n = 20", 0.346,
          tolerance=0.01, statement="a random partition with the true k (n = 20), NMI"),
    Claim("kmeans_points_mr", PAPER, T1, "MR, k-means, 2-D points", 0.178, tolerance=0.05,
          statement="k-means on the 2-D sets (MR)"),
    Claim("dbscan_points_mr", PAPER, T1, "MR, DBSCAN, 2-D points", 0.265, tolerance=0.05,
          statement="DBSCAN on the 2-D sets (MR)"),
]

RELATIVE = [
    Claim("below_random", PAPER, "§4", "L2C MR < random MR, all data", True, kind="holds",
          statement="L2C is far better than a random partition on every data type"),
    Claim("beats_kmeans", PAPER, "§4, Table 1", "L2C MR < k-means MR, 2-D", True,
          kind="holds", statement="L2C beats k-means on the 2-D sets"),
    Claim("beats_dbscan", PAPER, "§4, Table 1", "L2C MR < DBSCAN MR, 2-D", True,
          kind="holds", statement="L2C beats DBSCAN on the 2-D sets"),
    Claim("count_falls_with_k", PAPER, "§4 (authors' draft)", "count accuracy, k <= 2 vs "
          "k >= 4", True, kind="holds",
          statement="the cluster count is less accurate for more clusters"),
    Claim("more_classes_help", PAPER, "§4", "images MR, most vs fewest training classes",
          True, kind="holds", statement="more training classes give better clusterings"),
    Claim("large_n_degrades", PAPER, "§4", "2-D MR at large n vs training n", True,
          kind="holds", statement="much larger sets than in training are clustered worse"),
    Claim("metric_no_help", PAPER, "Table 1", "2-D MR, L2C vs L2C + metric block", True,
          kind="holds", statement="an explicit metric-learning block does not help on 2-D"),
]

CLAIMS = ABSOLUTE + RELATIVE

#: Table 1's rows of L2C with an explicit metric-learning block on the 2-D points, as (MR,
#: NMI), beside plain L2C's (0.004, 0.993): the paper's ablation, which our full scale runs
#: with the paper's N = 50 (digest §4).
METRIC_BLOCKS_POINTS = {"euclidean": ("L2C + Euclidean", 0.177, 0.730),
                        "mahalanobis": ("L2C + Mahalanobis", 0.185, 0.725),
                        "full": ("L2C + Metric Learning", 0.165, 0.740)}

SPEECH_REASON = ("LibriSpeech (one ~12 s recording per speaker, {n} training speakers) "
                 "stands in for TIMIT (430 training speakers, ~30 s each)")
IMAGES_REASON = ("{kind} ({classes} training classes, 32 x 32 grey) stands in for COIL-100 "
                 "(80 training classes, 128 x 128 colour)")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def measured(summary: Mapping[str, Any], *, scale: str, speech_train: int,
             image_kind: str, image_classes: int,
             ablation: Mapping[str, float] | None = None) -> dict[str, Measured]:
    """Our side of every claim from :func:`dlwild.l2c.pipeline.summary`'s output."""
    pts, sp, im = summary["points"], summary["speech"], summary["images"]
    data = {"points": "2-D generator (ours)", "speech": "LibriSpeech", "images": image_kind}
    out: dict[str, Measured] = {}
    out["points_mr"] = Measured(pts["l2c"]["mr"], data["points"], scale)
    out["points_nmi"] = Measured(pts["l2c"]["nmi"], data["points"], scale)
    why_speech = SPEECH_REASON.format(n=speech_train)
    why_images = IMAGES_REASON.format(kind=image_kind, classes=image_classes)
    for key, (row, why) in {"speech": (sp, why_speech), "images": (im, why_images)}.items():
        for metric in ("mr", "nmi"):
            out[f"{key}_{metric}"] = Measured(row["l2c"][metric], data[key], scale,
                                              not_comparable=why)
    out["random_points_mr"] = Measured(pts["random"]["mr"], "simulation", scale,
                                       note="one-to-one (Hungarian) MR")
    out["random_points_nmi"] = Measured(pts["random"]["nmi"], "simulation", scale)
    out["random_n20_mr"] = Measured(im["random"]["mr"], "simulation", scale,
                                    note="one-to-one (Hungarian) MR")
    out["random_n20_nmi"] = Measured(im["random"]["nmi"], "simulation", scale)
    base = pts["baselines"]
    out["kmeans_points_mr"] = Measured(base["k-means (true k)"]["mr"], data["points"], scale,
                                       note="k-means given the true k; our generator")
    out["dbscan_points_mr"] = Measured(base["DBSCAN"]["mr"], data["points"], scale,
                                       note="eps by the k-distance heuristic; our generator")
    below = all(summary[d]["l2c"]["mr"] < summary[d]["random"]["mr"]
                for d in ("points", "speech", "images"))
    out["below_random"] = Measured(below, "all three", scale)
    out["beats_kmeans"] = Measured(pts["l2c"]["mr"] < base["k-means (true k)"]["mr"],
                                   data["points"], scale)
    out["beats_dbscan"] = Measured(pts["l2c"]["mr"] < base["DBSCAN"]["mr"], data["points"],
                                   scale)
    by_k = {int(k): v for k, v in pts["count_acc_by_k"].items()}
    low, high = _mean([by_k[1], by_k[2]]), _mean([by_k[4], by_k[5]])
    out["count_falls_with_k"] = Measured(low > high, data["points"], scale,
                                         note=f"accuracy {low:.2f} (k <= 2) vs {high:.2f} "
                                              "(k >= 4)")
    sweep = {int(c): v for c, v in summary["class_sweep"].items()}
    if len(sweep) >= 2:
        few, most = sweep[min(sweep)], sweep[max(sweep)]
        out["more_classes_help"] = Measured(
            most["mr"] < few["mr"], image_kind, scale,
            note=f"MR {few['mr']:.3f} ({min(sweep)} classes) vs {most['mr']:.3f} "
                 f"({max(sweep)} classes)")
    else:
        out["more_classes_help"] = Measured(None, image_kind, scale, not_comparable=(
            "the image set has too few training classes for a sweep"))
    large = {int(n): v for n, v in summary["large_n"].items()}
    small_n, big_n = min(large), max(large)
    out["large_n_degrades"] = Measured(
        large[big_n]["mr"] > large[small_n]["mr"], data["points"], scale,
        note=f"MR {large[small_n]['mr']:.3f} (n = {small_n}) vs {large[big_n]['mr']:.3f} "
             f"(n = {big_n})")
    blocks = {k: v for k, v in (ablation or {}).items() if k != "plain"}
    if blocks:
        best = min(blocks.values())
        plain = (ablation or {}).get("plain")  # absent: weighed against the chapter's net
        base, alike = (pts["l2c"]["mr"], "") if plain is None else (plain, ", trained alike")
        out["metric_no_help"] = Measured(base <= best, data["points"], scale,
                                         note=f"best metric block MR {best:.3f}, plain L2C "
                                              f"{base:.3f}{alike}")
    else:
        out["metric_no_help"] = Measured(None, data["points"], scale, not_comparable=(
            "the metric-learning variants train at full scale only"))
    return out
