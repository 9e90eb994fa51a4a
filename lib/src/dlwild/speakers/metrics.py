"""Speaker-clustering scores: the misclassification-rate (MR) family, ARI, ACP, purity and the
MLSP 2017 Wilson-interval convention (digest ``shared/papers/speakers.md`` §3.3).

The five papers define MR differently; every definition is a named function here, listed in
:data:`MR_DEFINITIONS`, so a table can always say which one it reports.  All take two equally
long sequences of hashable labels (speakers ``true``, clusters ``pred``); label values and their
types do not matter, only the partition they induce.

Common notation: N items, ``n[c, s]`` = items of speaker ``s`` in cluster ``c`` (the contingency
table), ``MR = (1/N) * (items not in their speaker's correct cluster)``.  Tie rule shared by
``mr_acm2009``, ``mr_legacy`` and ``mr_annpr2018`` [O]: when a speaker has several "biggest"
clusters, the tie is resolved in the speaker's favour — its items there count as correct if *any*
of the tied clusters meets the definition's condition (the digest's case A: ``{B1}`` is chosen
over ``{B2 C1 C2}``).  With this rule, on every clustering
``mr_legacy >= mr_annpr2018 >= mr_acm2009 >= mr_hungarian`` and ``mr_max_label >= mr_hungarian``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MR_DEFINITIONS",
    "acp",
    "ari",
    "cluster_metrics",
    "contingency",
    "format_mlsp17",
    "mlsp17_errors",
    "mr_acm2009",
    "mr_annpr2018",
    "mr_hungarian",
    "mr_legacy",
    "mr_max_label",
    "purity",
    "wilson_interval",
]

Labels = Sequence[Hashable] | np.ndarray


def _codes(labels: Labels, name: str) -> tuple[np.ndarray, int]:
    """Map labels to 0..k-1 in order of first appearance (works for any mix of hashables)."""
    if isinstance(labels, np.ndarray) and labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of labels, got shape {labels.shape}")
    index: dict[Any, int] = {}
    codes = []
    for label in labels:
        if isinstance(label, np.generic):
            label = label.item()
        try:
            codes.append(index.setdefault(label, len(index)))
        except TypeError as err:
            raise ValueError(f"{name} holds an unhashable label {label!r}") from err
    return np.asarray(codes, dtype=np.int64), len(index)


def contingency(true: Labels, pred: Labels) -> np.ndarray:
    """The table ``n[c, s]`` = items of speaker ``s`` (``true``) in cluster ``c`` (``pred``);
    rows and columns in order of first appearance.  Raises ValueError on empty input or
    unequal lengths."""
    t, n_speakers = _codes(true, "true")
    p, n_clusters = _codes(pred, "pred")
    if len(t) != len(p):
        raise ValueError(
            f"true and pred must label the same items: got {len(t)} true labels and "
            f"{len(p)} predicted labels"
        )
    if len(t) == 0:
        raise ValueError("cannot score an empty clustering (no items)")
    table = np.zeros((n_clusters, n_speakers), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    return table


def _biggest_cluster_mr(
    table: np.ndarray, condition: Callable[[np.ndarray, int, int], bool]
) -> float:
    """MR where speaker s's items in its biggest cluster c are correct iff ``condition(table, c,
    s)`` holds for some tied biggest c (ties in the speaker's favour), all others wrong."""
    correct = 0
    for s in range(table.shape[1]):
        column = table[:, s]
        biggest = column.max()
        if any(condition(table, int(c), s) for c in np.flatnonzero(column == biggest)):
            correct += int(biggest)
    return 1.0 - correct / int(table.sum())


def _unique_plurality(table: np.ndarray, c: int, s: int) -> bool:
    row = table[c]
    others = np.delete(row, s)
    return others.size == 0 or row[s] > others.max()


def _strict_majority(table: np.ndarray, c: int, s: int) -> bool:
    row = table[c]
    return row[s] > row.sum() - row[s]


def _pure_non_singleton(table: np.ndarray, c: int, s: int) -> bool:
    row = table[c]
    return row[s] == row.sum() and row[s] >= 2


def mr_acm2009(true: Labels, pred: Labels) -> float:
    """MR of ACM MM 2009 (Stadelmann & Freisleben): a speaker's items are correct in its biggest
    cluster (Kotti et al. 2008).  Implied condition we chose [O]: that cluster must *belong* to the
    speaker, i.e. the speaker has strictly more items there than every other single speaker
    (unique plurality), so one all-in cluster no longer scores 0 (digest §3.3, item 1)."""
    return _biggest_cluster_mr(contingency(true, pred), _unique_plurality)


def mr_legacy(true: Labels, pred: Labels) -> float:
    """Legacy MR of the MLSP 2016/2017 code = ANNPR 2018 conditions (a)-(d): items are correct only
    in the speaker's biggest cluster, if that cluster is pure and not a singleton (digest §3.3,
    item 2; with 2 items per speaker: correct iff in a pure cluster of size >= 2)."""
    return _biggest_cluster_mr(contingency(true, pred), _pure_non_singleton)


def mr_annpr2018(true: Labels, pred: Labels) -> float:
    """ANNPR 2018 "MR", conditions (a)+(b): items are correct in the speaker's biggest cluster if
    the other speakers' items there are fewer *in total* (strict majority; our reading of "their
    number is smaller" [O]); ties in (a) go in the speaker's favour (digest §3.3, item 3)."""
    return _biggest_cluster_mr(contingency(true, pred), _strict_majority)


def mr_hungarian(true: Labels, pred: Labels) -> float:
    """ICPR 2018 (Hibraj et al.) MR: a one-to-one cluster-speaker mapping maximising the matched
    items (Hungarian assignment on ``max(n) - n``); unmatched items are errors (digest §3.3, 4)."""
    from scipy.optimize import linear_sum_assignment

    table = contingency(true, pred)
    rows, cols = linear_sum_assignment(table.max() - table)
    return 1.0 - int(table[rows, cols].sum()) / int(table.sum())


def mr_max_label(true: Labels, pred: Labels) -> float:
    """ICPR 2018 "Max" labelling: each cluster takes the label of its most frequent speaker (ties:
    the speaker seen first in ``true``); clusters are visited in order of first appearance in
    ``pred`` and a cluster whose label was already taken is wholly wrong (digest §3.3, item 4)."""
    table = contingency(true, pred)
    taken: set[int] = set()
    correct = 0
    for row in table:
        speaker = int(np.argmax(row))
        if speaker not in taken:
            taken.add(speaker)
            correct += int(row[speaker])
    return 1.0 - correct / int(table.sum())


MR_DEFINITIONS: dict[str, tuple[Callable[[Labels, Labels], float], str, str]] = {
    "mr_acm2009": (
        mr_acm2009, "ACM MM 2009",
        "items outside the speaker's biggest cluster, which must have the speaker as unique "
        "plurality",
    ),
    "mr_legacy": (
        mr_legacy, "MLSP 2016/2017 code = ANNPR 2018 (a)-(d)",
        "correct only in the speaker's biggest cluster if it is pure and not a singleton",
    ),
    "mr_annpr2018": (
        mr_annpr2018, "ANNPR 2018 (a)+(b)",
        "correct in the speaker's biggest cluster if other speakers' items there are fewer",
    ),
    "mr_hungarian": (
        mr_hungarian, "ICPR 2018 (Hungarian)",
        "items not covered by the best one-to-one cluster-speaker assignment",
    ),
    "mr_max_label": (
        mr_max_label, "ICPR 2018 (Max labelling)",
        "cluster labelled by its majority speaker; a label used twice makes the later cluster "
        "wrong",
    ),
}
"""name -> (function, paper that used it, one-line description)."""


def ari(true: Labels, pred: Labels) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985), as reported by ICPR 2018; 1 = identical."""
    from sklearn.metrics import adjusted_rand_score

    t, _ = _codes(true, "true")
    p, _ = _codes(pred, "pred")
    contingency(true, pred)  # length / emptiness checks
    return float(adjusted_rand_score(t, p))


def acp(true: Labels, pred: Labels) -> float:
    """Average cluster purity (ICPR 2018; Kotti et al.): ``(1/N) sum_i p_i n_i`` with
    ``p_i = sum_j n_ij^2 / n_i^2`` (digest §3.3)."""
    table = contingency(true, pred).astype(np.float64)
    sizes = table.sum(axis=1)
    return float(((table**2).sum(axis=1) / sizes).sum() / sizes.sum())


def purity(true: Labels, pred: Labels) -> float:
    """Cluster purity (Manning et al.): fraction of items belonging to their cluster's most
    frequent speaker; 1 for any clustering into pure clusters (singletons included)."""
    table = contingency(true, pred)
    return float(table.max(axis=1).sum() / table.sum())


def cluster_metrics(true: Labels, pred: Labels) -> dict[str, float | int]:
    """Every score of this module for one clustering: the five MRs (keys of
    :data:`MR_DEFINITIONS`), ``ari``, ``acp``, ``purity`` and the counts ``n_items``,
    ``n_speakers``, ``n_clusters``.  Raises ValueError on empty input or unequal lengths."""
    table = contingency(true, pred)
    out: dict[str, float | int] = {
        name: float(fn(true, pred)) for name, (fn, _, _) in MR_DEFINITIONS.items()
    }
    out["ari"] = ari(true, pred)
    out["acp"] = acp(true, pred)
    out["purity"] = purity(true, pred)
    out["n_items"] = int(table.sum())
    out["n_speakers"] = int(table.shape[1])
    out["n_clusters"] = int(table.shape[0])
    return out


def wilson_interval(mr: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval ``(lower, upper)`` for an error rate ``mr`` observed on ``n`` items
    (MLSP 2017 uses n = number of utterances, e.g. 80 for 40 speakers; digest §3.3)."""
    if not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0.0 <= mr <= 1.0 or math.isnan(mr):
        raise ValueError(f"mr must lie in [0, 1], got {mr!r}")
    if z <= 0:
        raise ValueError(f"z must be positive, got {z!r}")
    z2n = z * z / n
    centre = (mr + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(mr * (1 - mr) / n + z2n / (4 * n)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mlsp17_errors(mr: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The ``(+a, -b)`` MLSP 2017 printed next to an MR: ``b = mr - lower`` but ``a`` is the full
    interval width ``upper - lower``, not ``upper - mr`` (their quirk, digest §3.3)."""
    lower, upper = wilson_interval(mr, n, z)
    return upper - lower, max(0.0, mr - lower)


def format_mlsp17(mr: float, n: int, z: float = 1.96, digits: int = 3) -> str:
    """MR in the MLSP 2017 table style, e.g. ``format_mlsp17(0.05, 80) == "0.05 +0.102 -0.03"``
    (numbers rounded to ``digits`` decimals, trailing zeros dropped)."""
    plus, minus = mlsp17_errors(mr, n, z)

    def fmt(value: float) -> str:
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return text or "0"

    return f"{fmt(mr)} +{fmt(plus)} -{fmt(minus)}"
