"""Known-answer tests for the speaker-clustering scores (digest shared/papers/speakers.md §3.3).

Digest table (speakers A, B, C; "digest" = the [O] known-answer table of §3.3):
  A: truth AABBCC, clusters {A1A2}{B1}{B2C1C2}; B: AABB in one cluster; C: AABB all singletons;
  D: the authors' own unit test, truth 000111122, pred 7 7 3 3 2 2 1 0 0.
Values for mr_acm2009, mr_max_label, ARI and cases E, F are derived by hand in the comments.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dlwild.speakers import cluster_metrics
from dlwild.speakers.metrics import (
    MR_DEFINITIONS,
    acp,
    ari,
    contingency,
    format_mlsp17,
    mlsp17_errors,
    mr_acm2009,
    mr_annpr2018,
    mr_hungarian,
    mr_legacy,
    mr_max_label,
    purity,
    wilson_interval,
)

CASES = {
    "A": (list("AABBCC"), [0, 0, 1, 2, 2, 2]),
    "B": (list("AABB"), [0, 0, 0, 0]),
    "C": (list("AABB"), [0, 1, 2, 3]),
    "D": ([0, 0, 0, 1, 1, 1, 1, 2, 2], [7, 7, 3, 3, 2, 2, 1, 0, 0]),
    # E [hand]: truth AABBCC, clusters {A1 A2 B1 C1}{B2}{C2}.
    "E": (list("AABBCC"), [0, 0, 0, 1, 0, 2]),
    # F [hand]: truth AAAB, clusters {A1 A2}{A3 B1}.
    "F": (list("AAAB"), [0, 0, 1, 1]),
}

# Expected values: (hungarian, legacy, annpr2018, acm2009, max_label, acp)
EXPECTED = {
    # digest row A; acm: A's {A1A2} pure (0 errors), B's tied biggest {B1} has B as unique
    # plurality (B2 wrong), C has 2 vs 1 in {B2C1C2} (0 errors) -> 1/6.  Max: {A1A2}->A (2),
    # {B1}->B (1), {B2C1C2}->C (2): 5/6 correct -> 1/6.
    "A": (1 / 6, 4 / 6, 1 / 6, 1 / 6, 1 / 6, 0.7778),
    # digest row B; acm: A and B tie 2:2 in the single cluster, neither is unique plurality -> 1.
    # Max: the cluster takes label A (tie -> first seen), 2 correct -> 1/2.
    "B": (1 / 2, 1.0, 1.0, 1.0, 1 / 2, 0.5),
    # digest row C; acm: each speaker's tied biggest singleton is pure -> 1 correct each -> 1/2.
    # Max: {A1}->A, {A2}->A taken (wrong), {B1}->B, {B2} wrong -> 1/2.
    "C": (1 / 2, 1.0, 1 / 2, 1 / 2, 1 / 2, 1.0),
    # digest row D; acm: speaker 0 -> cluster 7 (2 of 3), speaker 1 -> cluster 2 (2 of 4),
    # speaker 2 -> cluster 0 (2 of 2): 6/9 correct.  Max: 7->0 (2), 3->tie 0/1 -> 0 taken (0),
    # 2->1 (2), 1->1 taken (0), 0->2 (2): 6/9 correct -> 1/3.
    "D": (1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 0.8889),
    # E: contingency c0 = {A:2, B:1, C:1}, c1 = {B:1}, c2 = {C:1}.
    #   Hungarian: c0-A 2, c1-B 1, c2-C 1 -> 4/6 correct -> 1/3.
    #   legacy: A sits in a mixed cluster, B2/C2 are singletons -> nothing correct -> 1.
    #   (a)+(b): A has 2 vs 1+1 = 2 others in c0, not fewer -> A wrong; B, C correct in their
    #   tied pure singletons -> 2/6 correct -> 2/3.
    #   acm: A has 2 > 1 of every single other speaker -> A correct; B, C as above -> 1/3.
    #   Max: c0 -> A (2), c1 -> B (1), c2 -> C (1) -> 1/3.
    #   ACP: c0 (2^2+1+1)/4^2 * 4 = 1.5, c1 1, c2 1 -> 3.5/6 = 7/12.
    "E": (1 / 3, 1.0, 2 / 3, 1 / 3, 1 / 3, 7 / 12),
    # F: contingency c0 = {A:2}, c1 = {A:1, B:1}.
    #   Hungarian: c0-A 2, c1-B 1 -> 3/4 correct -> 1/4.
    #   Max: c0 -> A (2); c1 ties A/B -> A (first seen) is taken -> c1 wholly wrong -> 1/2.
    #   legacy / (a)+(b) / acm: A correct in pure c0 (2); B's only cluster c1 has an equal
    #   number of A items, so B is wrong -> 1/2 each.
    #   ACP: c0 1*2 = 2, c1 (1+1)/4*2 = 1 -> 3/4.
    "F": (1 / 4, 1 / 2, 1 / 2, 1 / 2, 1 / 2, 3 / 4),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_known_answers(case):
    true, pred = CASES[case]
    hung, legacy, annpr, acm, maxl, expected_acp = EXPECTED[case]
    assert mr_hungarian(true, pred) == pytest.approx(hung)
    assert mr_legacy(true, pred) == pytest.approx(legacy)
    assert mr_annpr2018(true, pred) == pytest.approx(annpr)
    assert mr_acm2009(true, pred) == pytest.approx(acm)
    assert mr_max_label(true, pred) == pytest.approx(maxl)
    assert acp(true, pred) == pytest.approx(expected_acp, abs=1e-4)


def test_ari_and_purity_by_hand():
    # Case A: 15 pairs; sum_ij C(n_ij, 2) = 1 ({A1A2}) + 1 ({C1C2}) = 2; cluster sizes 2, 1, 3
    # -> 1 + 0 + 3 = 4; speaker sizes 2, 2, 2 -> 3.  Expected 4*3/15 = 0.8, max (4+3)/2 = 3.5,
    # ARI = (2 - 0.8) / (3.5 - 0.8) = 4/9.
    true, pred = CASES["A"]
    assert ari(true, pred) == pytest.approx(4 / 9)
    # purity: majority counts 2 + 1 + 2 = 5 of 6.
    assert purity(true, pred) == pytest.approx(5 / 6)
    assert purity(*CASES["C"]) == 1.0  # singletons are pure
    assert purity(*CASES["B"]) == 0.5


def test_perfect_clustering_scores_zero_and_one():
    true = ["s1", "s1", "s2", "s2", "s3", "s3"]
    pred = [5, 5, "x", "x", None, None]  # any hashables, any names
    m = cluster_metrics(true, pred)
    for name in MR_DEFINITIONS:
        assert m[name] == 0.0
    assert m["ari"] == pytest.approx(1.0)
    assert m["acp"] == 1.0 and m["purity"] == 1.0


def test_cluster_metrics_keys_and_counts():
    true, pred = CASES["D"]
    m = cluster_metrics(true, pred)
    assert set(m) == {*MR_DEFINITIONS, "ari", "acp", "purity", "n_items", "n_speakers",
                      "n_clusters"}
    assert (m["n_items"], m["n_speakers"], m["n_clusters"]) == (9, 3, 5)
    assert m["mr_hungarian"] == pytest.approx(1 / 3)
    for name, (fn, paper, description) in MR_DEFINITIONS.items():
        assert callable(fn) and paper and description
        assert m[name] == pytest.approx(fn(true, pred))


def test_label_names_and_types_do_not_matter():
    true, pred = CASES["E"]
    ints = [{"A": 0, "B": 1, "C": 2}[t] for t in true]
    renamed = [{0: "z", 1: (1, 2), 2: 9.5}[p] for p in pred]
    a = cluster_metrics(true, pred)
    b = cluster_metrics(np.array(ints), renamed)
    assert a == pytest.approx(b)


def test_bad_input():
    with pytest.raises(ValueError, match="same items"):
        cluster_metrics([0, 0, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        cluster_metrics([], [])
    with pytest.raises(ValueError, match="1-D"):
        mr_hungarian(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unhashable"):
        mr_hungarian([[1], [2]], [0, 1])


def _brute_force_hungarian(true, pred):
    table = contingency(true, pred)
    n_c, n_s = table.shape
    best = 0
    if n_c <= n_s:
        for cols in itertools.permutations(range(n_s), n_c):
            best = max(best, sum(table[i, c] for i, c in enumerate(cols)))
    else:
        for rows in itertools.permutations(range(n_c), n_s):
            best = max(best, sum(table[r, j] for j, r in enumerate(rows)))
    return 1 - best / table.sum()


def test_ordering_and_hungarian_optimality_on_random_partitions():
    # digest §5 (5): legacy >= (a)+(b) >= Hungarian; with our readings also (a)+(b) >= acm2009
    # >= Hungarian and Max >= Hungarian.  Hungarian equals a brute-force optimal matching.
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 10))
        true = rng.integers(0, rng.integers(1, 5), n).tolist()
        pred = rng.integers(0, rng.integers(1, 5), n).tolist()
        h = mr_hungarian(true, pred)
        assert h == pytest.approx(_brute_force_hungarian(true, pred))
        legacy, annpr, acm = (mr_legacy(true, pred), mr_annpr2018(true, pred),
                              mr_acm2009(true, pred))
        assert legacy >= annpr - 1e-12 and annpr >= acm - 1e-12 and acm >= h - 1e-12
        assert mr_max_label(true, pred) >= h - 1e-12
        assert 0.0 <= acp(true, pred) <= 1.0


def test_wilson_interval_mlsp17_convention():
    # digest §3.3: MR 0.05 with n = 80 -> Wilson [0.0196, 0.1216], printed +0.102 / -0.03.
    lower, upper = wilson_interval(0.05, 80)
    assert lower == pytest.approx(0.0196, abs=1e-4) and upper == pytest.approx(0.1216, abs=1e-4)
    assert format_mlsp17(0.05, 80) == "0.05 +0.102 -0.03"
    # MLSP17 Table 1/2 entries (digest §4.3), rounded to 2 decimals like the paper:
    # 6/80 printed "0.08 +.12 -.04"; 0.5 "+.21 -.11"; 30/80 "0.38 +.21 -.10" (the "-.01" typo);
    # 0 of 40 utterances (20 speakers) "0 +.09 -0".
    for mr, n, plus, minus in [(6 / 80, 80, 0.12, 0.04), (0.5, 80, 0.21, 0.11),
                               (30 / 80, 80, 0.21, 0.10), (0.0, 40, 0.09, 0.0)]:
        a, b = mlsp17_errors(mr, n)
        assert round(a, 2) == plus and round(b, 2) == minus
    # Hand: p = 0, n = 40: upper = (z^2/n) / (1 + z^2/n) = 0.09604 / 1.09604.
    assert wilson_interval(0.0, 40)[1] == pytest.approx(0.09604 / 1.09604)
    assert math.isclose(sum(wilson_interval(0.5, 80)), 1.0)  # symmetric around 1/2
    with pytest.raises(ValueError):
        wilson_interval(1.5, 80)
    with pytest.raises(ValueError):
        wilson_interval(0.1, 0)
