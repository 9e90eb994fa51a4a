"""Tests for agglomerative clustering with oracle cuts and ICPR 2018 dominant sets
(digest shared/papers/speakers.md §4.5).  Known answers are derived by hand in comments; the
torch dominant-sets code is checked against a slow NumPy loop written here from the digest."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from dlwild.speakers import cluster_metrics, dominant_sets
from dlwild.speakers.cluster import (
    affinity_matrix,
    agglomerative,
    at_true_k,
    best_cut,
    cut_height,
    dominant_sets_from_affinity,
    labels_at,
    replicator_dynamics,
)
from dlwild.speakers.metrics import MR_DEFINITIONS, mr_hungarian, mr_legacy


def _angles(*degrees: float) -> np.ndarray:
    rad = np.deg2rad(degrees)
    return np.stack([np.cos(rad), np.sin(rad)], axis=1)


def _same_partition(a, b) -> bool:
    return cluster_metrics(a, b)["mr_hungarian"] == 0.0 and len(set(a)) == len(set(b))


# ------------------------------------------------------------------------ hierarchical


def test_complete_linkage_cosine_by_hand():
    # Unit vectors at 0, 10, 90, 100 degrees: the pairs merge at 1 - cos(10deg); complete
    # linkage then joins the pairs at the largest cross distance, 1 - cos(100deg).
    Z = agglomerative(_angles(0, 10, 90, 100))
    assert Z[:2, 2] == pytest.approx([1 - math.cos(math.radians(10))] * 2)
    assert Z[2, 2] == pytest.approx(1 - math.cos(math.radians(100)))
    assert labels_at(Z, 4).tolist() == [0, 1, 2, 3]
    assert labels_at(Z, 2).tolist() == [0, 0, 1, 1]
    assert labels_at(Z, 1).tolist() == [0, 0, 0, 0]
    assert len(set(labels_at(Z, 3).tolist())) == 3  # exactly k even with tied merge heights
    with pytest.raises(ValueError, match="k must be"):
        labels_at(Z, 5)


def test_best_cut_is_the_oracle_minimum_and_true_k():
    # Three speakers, speaker C's utterances far apart (at 170 and 260 deg): the true k = 3 cut
    # is {AB}{C1}{C2}, and the oracle finds the better k = 4 cut by scanning every level.
    X = _angles(0, 5, 60, 65, 170, 260)
    true = list("AABBCC")
    Z = agglomerative(X)
    k, labels, mr = best_cut(Z, true, metric=mr_legacy)
    levels = {kk: mr_legacy(true, labels_at(Z, kk)) for kk in range(1, 7)}
    assert mr == min(levels.values()) and levels[k] == mr
    assert labels.tolist() == labels_at(Z, k).tolist()
    # Merges: {0,5}, {60,65}, then the two pairs (complete linkage 1 - cos 65deg = 0.577)
    # before 170 joins anything (its nearest complete-linkage partner is 260 at
    # 1 - cos 90deg = 1): at k = 4 the clusters are {A}{B}{C1}{C2} -> legacy 2/6 (C singletons).
    # k = 3: {A1A2B1B2}{C1}{C2} -> legacy 1 (mixed cluster, singletons); k = 2 adds {C1C2} -> 4/6;
    # k = 5, 6 contain singletons only besides one pure pair -> 4/6, 1.  So the oracle is k = 4.
    assert levels[4] == pytest.approx(2 / 6) and levels[3] == 1.0
    assert (k, mr) == (4, pytest.approx(1 / 3))
    kt, labels_t, mr_t = at_true_k(Z, true)
    assert kt == 3 and mr_t == pytest.approx(mr_hungarian(true, labels_t))
    with pytest.raises(ValueError, match="labels"):
        best_cut(Z, true[:-1])


def test_best_cut_recovers_blobs():
    X, y = _speaker_embeddings(10, 64, noise=0.3, seed=1)
    k, labels, mr = best_cut(agglomerative(X), y)
    assert (k, mr) == (10, 0.0) and _same_partition(y, labels)


# ------------------------------------------------------------------------ dominant sets


def _speaker_embeddings(n_speakers, dim, noise, seed, shared=0.0, per_speaker=2):
    """Unit-norm speaker centres (optionally sharing a common direction, like ReLU embeddings
    do) plus isotropic within-speaker noise of norm ~noise; labels 0..n_speakers-1."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(dim)
    g /= np.linalg.norm(g)
    c = rng.standard_normal((n_speakers, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    c = shared * g + math.sqrt(1 - shared**2) * c
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    X = np.repeat(c, per_speaker, axis=0)
    X = X + noise * rng.standard_normal(X.shape) / math.sqrt(dim)
    return X, np.repeat(np.arange(n_speakers), per_speaker)


def test_affinity_by_hand():
    # Unit vectors at 0, 90, 180 deg: cosine distances d01 = d12 = 1, d02 = 2.
    X = _angles(0, 90, 180)
    # 1 neighbour: sigma = (1, 1, 1) -> a01 = a12 = e^-1, a02 = e^-2.
    A = affinity_matrix(X, n_neighbours=1, device="cpu").numpy()
    e = math.exp
    assert A == pytest.approx(np.array([[0, e(-1), e(-2)], [e(-1), 0, e(-1)],
                                        [e(-2), e(-1), 0]]))
    # 7 neighbours -> capped at the 2 others: sigma = (1.5, 1, 1.5)
    # -> a01 = a12 = exp(-1/1.5), a02 = exp(-2/2.25).
    A = affinity_matrix(X, device="cpu").numpy()
    assert A[0, 1] == pytest.approx(e(-1 / 1.5)) and A[1, 2] == pytest.approx(e(-1 / 1.5))
    assert A[0, 2] == pytest.approx(e(-2 / 2.25)) and np.all(np.diag(A) == 0)
    # angular distance (authors' code): d01 = 1/2, d02 = 1; 1 neighbour: sigma = 1/2 each.
    A = affinity_matrix(X, "angular", n_neighbours=1, device="cpu").numpy()
    assert A[0, 1] == pytest.approx(e(-0.5 / 0.25)) and A[0, 2] == pytest.approx(e(-1 / 0.25))


def test_replicator_dynamics_triangle_with_pendant():
    # Triangle {0,1,2} of weight 1 plus node 3 tied to node 0 with weight 0.2.
    # x* = (1/3,1/3,1/3,0) has x*Ax* = 2/3 > (Ax*)_3 = 0.2/3, so {0,1,2} is a dominant set.
    # From the barycentre: Ax = (0.55, .5, .5, .05), xAx = 0.4, so x_3 -> 0.25*.05/.4 = 0.03125
    # and keeps shrinking (ratio <= 0.2/(2/3) near x*): x converges to x*.
    A = torch.tensor([[0, 1, 1, 0.2], [1, 0, 1, 0], [1, 1, 0, 0], [0.2, 0, 0, 0]],
                     dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="did not reach"):
        x1, it1 = replicator_dynamics(A, max_iter=1)
    assert x1[3].item() == pytest.approx(0.03125) and it1 == 1
    x, _ = replicator_dynamics(A, epsilon=1e-10)
    assert x[:3].tolist() == pytest.approx([1 / 3] * 3, abs=1e-6) and x[3] < 1e-6
    assert float(x @ A @ x) == pytest.approx(2 / 3, abs=1e-6)
    assert dominant_sets_from_affinity(A).labels.tolist() == [0, 0, 0, 1]


def test_cohesive_small_clique_beats_big_loose_one():
    # A 3-clique of weight 1 and a disjoint 4-clique of weight 0.5.  By symmetry every member of
    # the 3-clique has mass a, of the 4-clique mass b; payoffs are 2a and 1.5b, so a/b is
    # multiplied by 2a/(1.5b) >= 4/3 at every step -> support = the 3-clique, peeled first;
    # the 4-clique is peeled second.
    A = np.zeros((7, 7))
    A[:3, :3] = 1.0
    A[3:, 3:] = 0.5
    np.fill_diagonal(A, 0.0)
    x, _ = replicator_dynamics(torch.tensor(A))
    assert x[:3].tolist() == pytest.approx([1 / 3] * 3, abs=1e-5)
    assert dominant_sets_from_affinity(A).labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    # Zero affinity left: lone nodes become singletons.
    assert dominant_sets_from_affinity(np.zeros((3, 3))).labels.tolist() == [0, 1, 2]


def test_batched_iterations_equal_step_by_step():
    A = affinity_matrix(np.random.default_rng(3).standard_normal((25, 8)), device="cpu")
    xa, na = replicator_dynamics(A, check_every=1)
    xb, nb = replicator_dynamics(A, check_every=64)
    assert na == nb and torch.equal(xa, xb)


def test_recovers_well_separated_blobs_exactly():
    X, y = _speaker_embeddings(8, 32, noise=0.2, seed=0, per_speaker=5)
    labels = dominant_sets(X, device="cpu").labels
    assert _same_partition(y, labels)
    assert labels.tolist() == dominant_sets(X, device="cpu").labels.tolist()  # deterministic


@pytest.mark.parametrize("dim", [512, 1024])
def test_vggvox_shaped_40_speakers_mr0_ari1_acp1(dim):
    # The issue: the official code reports MR 0 / ARI 1 / ACP 1 on VGGVox embeddings of the
    # 40-speaker TIMIT set (ICPR 2018 Table II, CNN-V).  Stand-in: 40 speakers x 2 utterances,
    # unit-norm centres sharing a common direction (between-speaker cosine ~0.3-0.4) and
    # within-speaker cosine ~0.7-0.8.
    X, y = _speaker_embeddings(40, dim, noise=0.6, seed=7, shared=0.6)
    labels = dominant_sets(X, device="cpu").labels
    m = cluster_metrics(y, labels)
    assert all(m[name] == 0.0 for name in MR_DEFINITIONS)
    assert m["ari"] == pytest.approx(1.0) and m["acp"] == 1.0 and m["n_clusters"] == 40


# --- slow reference, straight from the digest §4.5 -------------------------------------


def _reference_dominant_sets(X, theta=0.1, epsilon=1e-6, k=7, max_iter=10_000):
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    d = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                cos = X[i] @ X[j] / (np.linalg.norm(X[i]) * np.linalg.norm(X[j]))
                d[i, j] = max(0.0, 1.0 - min(1.0, max(-1.0, cos)))
    sigma = np.array([np.mean(sorted(np.delete(d[i], i))[: min(k, n - 1)]) for i in range(n)])
    A = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                A[i, j] = math.exp(-d[i, j] / (max(sigma[i], 1e-12) * max(sigma[j], 1e-12)))
    labels = np.full(n, -1)
    left = list(range(n))
    cluster = 0
    while left:
        sub = A[np.ix_(left, left)]
        x = np.full(len(left), 1.0 / len(left))
        if x @ sub @ x <= 0:
            for i in left:
                labels[i] = cluster
                cluster += 1
            break
        for _ in range(max_iter):
            new = x * (sub @ x) / (x @ sub @ x)
            done = np.linalg.norm(new - x) <= epsilon
            x = new
            if done:
                break
        members = [i for i, xi in zip(left, x, strict=True) if xi > theta * x.max()]
        for i in members:
            labels[i] = cluster
        left = [i for i in left if i not in members]
        cluster += 1
    return labels


@pytest.mark.parametrize("seed,theta", [(0, 0.1), (1, 0.1), (2, 0.3), (3, 0.67), (4, 0.0)])
def test_matches_numpy_reference_on_random_data(seed, theta):
    X = np.random.default_rng(seed).standard_normal((30, 12))
    ours = dominant_sets(X, theta=theta, device="cpu").labels
    assert ours.tolist() == _reference_dominant_sets(X, theta=theta).tolist()


def test_matches_reference_on_noisy_speakers():
    X, _ = _speaker_embeddings(10, 16, noise=1.0, seed=5, per_speaker=3)
    assert dominant_sets(X, device="cpu").labels.tolist() == _reference_dominant_sets(X).tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matches_cpu():
    X, _ = _speaker_embeddings(40, 512, noise=0.6, seed=7, shared=0.6)
    on_gpu, on_cpu = dominant_sets(X, device="cuda"), dominant_sets(X, device="cpu")
    assert on_gpu.labels.tolist() == on_cpu.labels.tolist()


@pytest.mark.parametrize(
    "X,match",
    [
        (np.array([[0.0, np.nan], [1.0, 1.0]]), "NaN or inf"),
        (np.array([[0.0, np.inf], [1.0, 1.0]]), "NaN or inf"),
        (np.ones((1, 4)), "at least 2 items"),
        (np.ones(5), "2-D"),
        (np.array([[0.0, 0.0], [1.0, 1.0]]), "all-zero"),
    ],
)
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        dominant_sets(X, device="cpu")
    with pytest.raises(ValueError, match=match):
        agglomerative(X)


def test_bad_parameters():
    X = np.eye(3)
    with pytest.raises(ValueError, match="metric"):
        dominant_sets(X, metric="manhattan", device="cpu")
    with pytest.raises(ValueError, match="theta"):
        dominant_sets(X, theta=1.0, device="cpu")


def test_dominant_sets_say_whether_every_peel_converged():
    X, _ = _speaker_embeddings(8, 32, noise=0.2, seed=0, per_speaker=5)
    done = dominant_sets(X, device="cpu")
    assert done.converged and done.unconverged == 0 and done.peels == done.k == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a result says it: no warning to catch
        stopped = dominant_sets(X, device=torch.device("cpu"), max_iter=1)
    assert not stopped.converged and stopped.unconverged == stopped.peels >= 1
    # the triangle with a pendant: one step peels {0, 1, 2} unconverged (x_3 = 0.03125 is
    # below 0.1 max(x) = 0.034); the lone node left becomes a singleton without dynamics
    A = torch.tensor([[0, 1, 1, 0.2], [1, 0, 1, 0], [1, 1, 0, 0], [0.2, 0, 0, 0]],
                     dtype=torch.float64)
    result = dominant_sets_from_affinity(A, max_iter=1)
    assert result.labels.tolist() == [0, 0, 0, 1]
    assert (result.peels, result.unconverged, result.k) == (1, 1, 2)


def test_cut_height_lies_between_the_merges_that_make_k_clusters():
    from scipy.cluster.hierarchy import fcluster
    from scipy.cluster.hierarchy import linkage as scipy_linkage

    X = np.array([[0.0], [1.0], [10.0], [12.0], [30.0]])
    Z = scipy_linkage(X, "complete")  # merges at heights 1, 2, 12, 30
    assert [cut_height(Z, k) for k in (5, 4, 3, 2, 1)] == [0.5, 1.5, 7.0, 21.0, 30.0]
    for k in (5, 4, 3, 2):
        assert len(set(fcluster(Z, cut_height(Z, k), "distance"))) == k
    for k in (0, 6):
        with pytest.raises(ValueError, match="k must be"):
            cut_height(Z, k)


# --- the implementation before issue 24 (item 12), kept as the benchmarks' baseline ----------


def _baseline():
    """``benchmarks/dominant_sets_baseline.py``: the code before, loaded by path (once)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "dominant_sets_baseline"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # a dataclass needs its module registered
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.parametrize(
    "kind,seed,theta,max_iter",
    [("gauss", 0, 0.1, 10_000), ("gauss", 1, 0.3, 10_000), ("gauss", 2, 0.0, 10_000),
     ("separated", 3, 0.1, 10_000), ("separated", 4, 0.67, 10_000),
     ("noisy", 5, 0.1, 10_000), ("noisy", 6, 0.15, 10_000), ("noisy", 7, 0.1, 50)],
)
def test_same_clusters_as_the_baseline(kind, seed, theta, max_iter):
    # Same labels, peels and convergence flags as the code the benchmark compares against, on
    # unstructured, well-separated and noisy embeddings (the last one stopped at 50 steps).
    if kind == "gauss":
        X = np.random.default_rng(seed).standard_normal((60, 16))
    else:
        X, _ = _speaker_embeddings(30, 64, noise=0.2 if kind == "separated" else 1.0,
                                   seed=seed, shared=0.3, per_speaker=3)
    base = _baseline()
    old = base.dominant_sets(X, theta=theta, max_iter=max_iter, device="cpu")
    new = dominant_sets(X, theta=theta, max_iter=max_iter, device="cpu")
    assert new.labels.tolist() == old.labels.tolist()
    assert (new.peels, new.unconverged) == (old.peels, old.unconverged)
    if max_iter == 50:
        assert new.unconverged > 0  # the case exercises the flag
    # the replicator dynamics themselves: same state and step count
    A = affinity_matrix(X, device="cpu")
    x_new, it_new = replicator_dynamics(A, max_iter=10_000)
    x_old, it_old = base.replicator_dynamics(A, max_iter=10_000)
    assert it_new == it_old
    assert x_new.numpy() == pytest.approx(x_old.numpy(), rel=1e-9, abs=1e-15)


def test_torch_path_matches_compiled_path():
    # A GPU graph runs the dynamics in torch (here the same code on the CPU); the CPU compiled,
    # in the graph's precision: float32 (dominant_sets' default) and float64 agree.
    from dlwild.speakers.cluster import _peel_torch

    X, _ = _speaker_embeddings(10, 32, noise=0.5, seed=8, per_speaker=3)
    A = affinity_matrix(X, device="cpu")
    compiled = dominant_sets_from_affinity(A)
    torch_path = _peel_torch(A.float(), 0.1, 1e-6, 10_000, 64)
    assert compiled.labels.tolist() == torch_path.labels.tolist()
    assert dominant_sets_from_affinity(A.numpy()).labels.tolist() == compiled.labels.tolist()
    for graph in (A.float(), A.numpy().astype(np.float32)):
        assert dominant_sets_from_affinity(graph).labels.tolist() == compiled.labels.tolist()
    in64 = dominant_sets(X, device="cpu", dtype="float64")
    assert dominant_sets(X, device="cpu").labels.tolist() == in64.labels.tolist()
    with pytest.raises(ValueError, match="dtype"):
        dominant_sets(X, device="cpu", dtype="float16")


def test_float32_dynamics_keep_tiny_affinities():
    # After the first pair is peeled, the pair left is tied by 1e-60, below float32's range:
    # the float32 dynamics scale each peel's graph to a largest entry of 1 first.
    A = np.full((4, 4), 1e-80)
    A[0, 1] = A[1, 0] = 1.0
    A[2, 3] = A[3, 2] = 1e-60
    np.fill_diagonal(A, 0.0)
    for dtype in ("float32", "float64", None):
        result = dominant_sets_from_affinity(A, dtype=dtype)
        assert result.labels.tolist() == [0, 0, 1, 1] and result.converged
    # a float32 graph has lost that tie before it arrives: the two are left as singletons
    assert dominant_sets_from_affinity(A.astype(np.float32)).labels.tolist() == [0, 0, 1, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_symmetric_product_equals_the_general_one(dtype):
    # The dynamics' product for symmetric graphs reads the packed upper triangle only, four rows
    # at a time in zero-padded panels: sizes around the blocks of four and the panel width, a
    # non-zero diagonal (added half from each side), against the general product.
    from dlwild.speakers import cluster

    cluster._compile()
    rng = np.random.default_rng(0)
    width = cluster._PANEL_WIDTH
    for m in (1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 32, 33, 64, 101):
        S = rng.random((m, m)).astype(dtype)
        S = (S + S.T) / 2
        v = rng.random(m).astype(dtype)
        general = np.empty(m, dtype)
        cluster._matvec(S, v, general)
        packed = np.full(cluster._packed_size(m), np.nan, dtype)
        cluster._pack_upper(S, packed)
        assert np.isfinite(packed).all()  # every entry written, the padding with zeros
        padded = np.concatenate([v, np.zeros(width, dtype)])
        out = np.full(m + width, np.nan, dtype)
        cluster._symv_packed(packed, m, padded, out)
        symmetric = out[:m]
        assert symmetric == pytest.approx(S.astype(np.float64) @ v, rel=1e-5 if dtype == np.float32
                                          else 1e-12)
        assert symmetric == pytest.approx(general, rel=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("metric", ["cosine", "angular", "euclidean"])
def test_affinity_is_exactly_symmetric(metric):
    # A matrix product rounds d_ij and d_ji apart; the graph must not, for the dynamics read
    # half of it.
    X = np.random.default_rng(1).standard_normal((97, 40))
    A = affinity_matrix(X, metric, device="cpu").numpy()
    assert np.array_equal(A, A.T)


def test_asymmetric_graph_takes_the_general_product():
    # A graph that is not symmetric (a user's own affinities) is multiplied whole: the compiled
    # dynamics agree with the torch ones, which make no such distinction.
    from dlwild.speakers.cluster import _peel_torch

    rng = np.random.default_rng(2)
    A = rng.random((41, 41)) ** 4
    np.fill_diagonal(A, 0.0)
    assert not np.array_equal(A, A.T)
    x_compiled, it_compiled = replicator_dynamics(A)
    x_torch, it_torch = _baseline().replicator_dynamics(torch.tensor(A))
    assert it_compiled == it_torch
    assert x_compiled.numpy() == pytest.approx(x_torch.numpy(), rel=1e-9, abs=1e-15)
    compiled = dominant_sets_from_affinity(A, dtype="float64")
    assert compiled.labels.tolist() == _peel_torch(torch.tensor(A), 0.1, 1e-6, 10_000,
                                                   64).labels.tolist()
