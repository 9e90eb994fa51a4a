"""The chapter's three data types, each giving sets the same way (``sets``):

* **points** — the paper's 2-D generator re-implemented from its description (digest §3.4):
  per set, groups of clusters drawn from two rings (scikit-learn's ``make_circles``), one
  ring, two half-moons (``make_moons``), one half-moon or a Gaussian blob, each group
  randomly rotated and scaled, placed apart, and the whole set rescaled into [0.25, 0.75]^2.
  Cluster sizes follow :mod:`dlwild.l2c.episodes` (k uniform, >= 2 items per cluster).
* **speech** — LibriSpeech speakers from the data registry (or the user's TIMIT, or the
  speaker chapter's synthetic voices), read and turned into the speaker chapter's mel
  spectrograms (:mod:`dlwild.speakers.features`), cut into random 1.28 s windows (128
  frames) by its snippet sampler (:class:`dlwild.speakers.embeddings.SnippetDataset`);
  speakers disjoint across training, validation and test.
* **images** — COIL-20 (32 x 32 grey; 10 / 5 / 5 objects), MNIST (digits 0-4 train, 5-9
  test) or the user's COIL-100 (``coil100:<folder>``, 80 / 10 / 10 objects); with no real
  images, scikit-learn's bundled 8 x 8 digits stand in (with a banner)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlwild.core import cache
from dlwild.l2c.episodes import ClassPool, cluster_sizes, split_classes

__all__ = ["IMAGE_SETS", "ItemData", "PointsData", "check_image_set", "load_images",
           "load_speech", "points_set"]

#: The generator's group kinds and how many clusters each holds.
GROUPS = {"two rings": 2, "two moons": 2, "ring": 1, "moon": 1, "blob": 1}
_GROUP_ODDS = {"two rings": 0.2, "two moons": 0.2, "ring": 0.1, "moon": 0.1, "blob": 0.4}


def _group_points(kind: str, sizes: list[int], rng: np.random.Generator) -> np.ndarray:
    """Points of one group, in a disc of radius about 1, stacked cluster after cluster."""
    from sklearn.datasets import make_circles, make_moons

    seed = int(rng.integers(2**31 - 1))
    if kind == "two rings":
        x, y = make_circles(n_samples=(sizes[0], sizes[1]), shuffle=False,
                            noise=rng.uniform(0.02, 0.05), factor=rng.uniform(0.35, 0.55),
                            random_state=seed)
        return x[np.argsort(y, kind="stable")]
    if kind == "two moons":
        x, y = make_moons(n_samples=(sizes[0], sizes[1]), shuffle=False,
                          noise=rng.uniform(0.03, 0.07), random_state=seed)
        x = (x[np.argsort(y, kind="stable")] - [0.5, 0.25]) / 1.5
        return x
    s = sizes[0]
    if kind == "ring":
        angle = rng.uniform(0, 2 * np.pi, s)
        radius = 1 + rng.normal(0, 0.04, s)
        return np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    if kind == "moon":
        angle = rng.uniform(0, np.pi, s)
        return np.c_[np.cos(angle), np.sin(angle) - 0.5] + rng.normal(0, 0.05, (s, 2))
    return rng.normal(0, rng.uniform(0.12, 0.3), (s, 2))


def _rotation(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def _centres(radii: list[float], rng: np.random.Generator) -> np.ndarray:
    """Group centres on random cells of a jittered grid whose cells are wider than two of the
    largest radii, so groups never overlap (a gap of at least 15 % of the largest radius)."""
    count = len(radii)
    side = int(np.ceil(np.sqrt(count))) + (1 if count > 1 else 0)
    cell = 2.3 * max(radii)
    cells = rng.choice(side * side, size=count, replace=False)
    jitter = rng.uniform(-0.075, 0.075, (count, 2)) * max(radii)
    return np.c_[cells % side, cells // side] * cell + jitter


def points_set(n: int, k: int, rng: np.random.Generator,
               min_per_cluster: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """One 2-D set of n points in k clusters: ``(X [n, 2] in [0.25, 0.75]^2, labels [n])``,
    order shuffled."""
    sizes = list(cluster_sizes(n, k, rng, min_per_cluster))
    kinds, left = [], k
    while left:
        allowed = [g for g in GROUPS if GROUPS[g] <= left]
        odds = np.array([_GROUP_ODDS[g] for g in allowed])
        kinds.append(allowed[rng.choice(len(allowed), p=odds / odds.sum())])
        left -= GROUPS[kinds[-1]]
    radii = [float(rng.uniform(0.6, 1.0)) for _ in kinds]
    centres = _centres(radii, rng)
    parts, start = [], 0
    for kind, radius, centre in zip(kinds, radii, centres, strict=True):
        count = GROUPS[kind]
        pts = _group_points(kind, sizes[start:start + count], rng)
        parts.append(radius * pts @ _rotation(rng).T + centre)
        start += count
    x = np.concatenate(parts) @ _rotation(rng).T
    labels = np.repeat(np.arange(k), sizes)
    x = x - x.min(0)
    x = 0.25 + 0.5 * x / x.max()
    order = rng.permutation(n)
    return x[order].astype(np.float32), labels[order]


@dataclass
class Sets:
    """A batch of sets: items ``x [count, n, ...]``, true clusters ``labels [count, n]``
    (0..k-1 per set) and ``k [count]``."""

    x: np.ndarray
    labels: np.ndarray
    k: np.ndarray

    def __len__(self) -> int:
        return len(self.k)

    def take(self, count: int) -> Sets:
        """The first ``count`` sets."""
        return Sets(self.x[:count], self.labels[:count], self.k[:count])


def _seed(split: str, seed: int | tuple) -> list[int]:
    base = list(seed) if isinstance(seed, tuple) else [seed]
    return [*base, {"train": 1, "val": 2, "test": 3}[split]]


@dataclass
class PointsData:
    """The 2-D generator as a data set: no classes, so splits differ only by seed."""

    name: str = "points"
    kind: str = "2-D generator"
    source: str = "synthetic"
    input_shape: tuple[int, ...] = (2,)
    notes: list[str] = field(default_factory=list)

    def sets(self, split: str, count: int, n: int, k_max: int, seed: int | tuple,
             k: int | None = None) -> Sets:
        """``count`` sets of ``n`` points; the same (split, seed) gives the same sets."""
        rng = np.random.default_rng(_seed(split, seed))
        xs, ys, ks = [], [], []
        for _ in range(count):
            kk = int(rng.integers(1, k_max + 1)) if k is None else k
            x, y = points_set(n, kk, rng)
            xs.append(x)
            ys.append(y)
            ks.append(kk)
        return Sets(np.stack(xs), np.stack(ys), np.array(ks))

    def digest(self, k_max: int, n: int) -> str:
        """The data as resolved: the content hash of a fixed sample of the generator."""
        sample = self.sets("val", 16, n, k_max, seed=(0,))
        return cache.array_digest([sample.x, sample.labels])


@dataclass
class ItemData:
    """Items with classes, split into training, validation and test pools."""

    name: str
    kind: str
    x: np.ndarray
    labels: np.ndarray
    split: dict[str, list[int]]
    source: str
    fetched: Any = None
    generator: str = ""
    notes: list[str] = field(default_factory=list)
    same_classes_val: bool = False   # validation items from the training classes (MNIST)

    def __post_init__(self) -> None:
        self.pools = {name: ClassPool(self.labels, classes)
                      for name, classes in self.split.items()}
        self.pools["train"].check_disjoint(self.pools["test"])
        if not self.same_classes_val:
            self.pools["val"].check_disjoint(self.pools["train"], self.pools["test"])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one item."""
        return tuple(self.x.shape[1:])

    def sets(self, split: str, count: int, n: int, k_max: int, seed: int | tuple,
             classes: list[int] | None = None) -> Sets:
        """``count`` sets of ``n`` items from the ``split`` classes (or ``classes`` of it)."""
        pool = self.pools[split]
        if classes is not None:
            pool = ClassPool(self.labels, classes)
        rng = np.random.default_rng(_seed(split, seed))
        episodes = [pool.episode(n, k_max, rng) for _ in range(count)]
        return Sets(np.stack([self.x[e.index] for e in episodes]),
                    np.stack([e.labels for e in episodes]), np.array([e.k for e in episodes]))

    def digest(self) -> str:
        """The training data as resolved: the content hash of the items and their split."""
        return cache.array_digest([self.x, self.labels,
                                   *[np.asarray(v) for v in self.split.values()]])


# --- speech ------------------------------------------------------------------------------

#: Frames of a 1.28 s window (10 ms hop), the paper's snippet length.
SNIPPET_FRAMES = 128


def _pool2d(x: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return x
    n, h, w = x.shape
    h2, w2 = h // factor, w // factor
    return x[:, :h2 * factor, :w2 * factor].reshape(n, h2, factor, w2, factor).mean((2, 4))


def load_speech(spec: str, mode: str, split: tuple[int, int, int], per_speaker: int,
                pool: int, seed: int) -> ItemData:
    """Speakers of corpus ``spec`` split ``(train, val, test)``, each speaker's audio as the
    speaker chapter's mel spectrogram, ``per_speaker`` random 1.28 s windows of it (its
    snippet sampler), average-pooled by ``pool`` (1 keeps 128 x 128)."""
    from dlwild.speakers.corpora import speakers_of, split_speakers
    from dlwild.speakers.embeddings import SnippetDataset
    from dlwild.speakers.features import utterance_features
    from dlwild.speakers.pipeline import SYNTHETIC_GENERATOR, resolve_corpus

    utts, fetched = resolve_corpus(spec, mode, seed)
    long_enough = {s: x for s, x in speakers_of(utts).items()
                   if sum(u.duration_s for u in utts if u.speaker == s) >= 1.5}
    n_train, n_val, n_test = split
    notes = []
    if len(long_enough) < sum(split):
        scale = len(long_enough) / sum(split)
        n_val, n_test = max(5, int(n_val * scale)), max(5, int(n_test * scale))
        n_train = len(long_enough) - n_val - n_test
        notes.append(f"the corpus has {len(long_enough)} speakers: split {n_train} / {n_val} / "
                     f"{n_test} instead of {split}")
        if n_train < 5:
            raise ValueError(f"speech needs at least 15 speakers (5 per split), {spec!r} has "
                             f"{len(long_enough)}")
    rest, test = split_speakers(long_enough, n_test, seed=seed, n_train=n_train + n_val)
    train, val = split_speakers({s: long_enough[s] for s in rest}, n_val, seed=seed,
                                n_train=n_train)
    speakers = train + val + test
    by_speaker = {s: tuple(sorted((u for u in utts if u.speaker == s), key=lambda u: u.name))
                  for s in speakers}
    specs = utterance_features([by_speaker[s] for s in speakers])
    xs, labels = [], []
    for label, spectrogram in enumerate(specs):
        windows = SnippetDataset([spectrogram], [label], SNIPPET_FRAMES, per_speaker,
                                 seed=seed * 100_003 + label)
        xs.append(np.stack([windows[i][0].numpy() for i in range(per_speaker)]))
        labels += [label] * per_speaker
    x = _pool2d(np.concatenate(xs).astype(np.float32), pool)
    ids = {"train": range(len(train)), "val": range(len(train), len(train) + len(val)),
           "test": range(len(train) + len(val), len(speakers))}
    return ItemData("speech", spec.split(":")[0], x, np.array(labels),
                    {k: list(v) for k, v in ids.items()},
                    "synthetic" if fetched is None else "real", fetched, SYNTHETIC_GENERATOR,
                    notes)


# --- images ------------------------------------------------------------------------------

IMAGE_SETS = ("coil20", "mnist")
DIGITS_GENERATOR = ("scikit-learn's bundled 8 x 8 handwritten digits (1,797 images; digits "
                    "0-4 train, 5-9 test) in place of the real images")


def check_image_set(spec: str) -> tuple[str, Path | None]:
    """``coil20``, ``mnist`` or ``coil100:<folder>`` (the user's COIL-100 PNGs) -> (name,
    folder); anything else is a ValueError naming what is accepted."""
    name, _, path = spec.partition(":")
    name = name.strip().lower()
    if name in IMAGE_SETS and not path:
        return name, None
    if name == "coil100" and path:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise ValueError(f"coil100: {folder} is not a folder")
        return name, folder
    raise ValueError(f"unknown image set {spec!r}: expected one of {', '.join(IMAGE_SETS)} or "
                     "coil100:<folder of obj<c>__<angle>.png>")


def _coil100(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    import matplotlib.image as mpimg

    files = sorted(p for p in folder.rglob("*.png") if re.match(r"obj\d+__\d+", p.stem))
    if not files:
        raise ValueError(f"coil100: no obj<c>__<angle>.png files in {folder}")
    images, labels = [], []
    for path in files:
        img = mpimg.imread(path)
        grey = img[..., :3].mean(-1) if img.ndim == 3 else img
        factor = max(1, grey.shape[0] // 32)
        images.append(_pool2d(grey[None], factor)[0][:32, :32])
        labels.append(int(re.match(r"obj(\d+)", path.stem).group(1)))
    return np.stack(images).astype(np.float32), np.array(labels)


def load_images(spec: str, mode: str, split: tuple[int, int, int], seed: int,
                per_class: int = 500) -> ItemData:
    """The image set ``spec`` (see :func:`check_image_set`) with disjoint class splits."""
    from dlwild.core import data as datasets

    name, folder = check_image_set(spec)
    if folder is not None:
        x, y = _coil100(folder)
        classes = sorted(set(y.tolist()))
        wanted = (80, 10, 10) if len(classes) >= 100 else split
        parts = split_classes(classes, wanted, seed)
        return ItemData("images", "coil100", x, y, dict(zip(("train", "val", "test"), parts,
                                                            strict=True)), "real",
                        None, notes=["the user's COIL-100 copy"])
    registered = {"coil20": "coil20_32x32_mat", "mnist": "mnist"}[name]
    fetched = datasets.resolve(registered, mode)
    if fetched is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)
        return ItemData("images", "digits", x, digits.target,
                        {"train": [0, 1, 2, 3, 4], "val": [0, 1, 2, 3, 4],
                         "test": [5, 6, 7, 8, 9]}, "synthetic", None, DIGITS_GENERATOR,
                        ["validation sets hold other images of the training digits"],
                        same_classes_val=True)
    if name == "coil20":
        from scipy.io import loadmat

        mat = loadmat(fetched["COIL20.mat"])
        x = mat["X"].reshape(-1, 32, 32).transpose(0, 2, 1).astype(np.float32) / 255.0
        y = mat["Y"].ravel().astype(np.int64) - 1
        parts = split_classes(sorted(set(y.tolist())), split, seed)
        return ItemData("images", "coil20", x, y, dict(zip(("train", "val", "test"), parts,
                                                           strict=True)), "real", fetched)
    from dlwild.core.readers import load_mnist

    images, labels = load_mnist("train", fetched)
    rng = np.random.default_rng([seed, 28])
    keep = np.concatenate([rng.permutation(np.flatnonzero(labels == d))[:2 * per_class]
                           for d in range(10)])
    x, y = images[keep].astype(np.float32) / 255.0, labels[keep].astype(np.int64)
    # digits 0-4 train (their held-out half validates), 5-9 test: val labels get +10
    held = np.zeros(len(y), bool)
    for d in range(5):
        idx = np.flatnonzero(y == d)
        held[idx[per_class:]] = True
    y = np.where(held, y + 10, y)
    return ItemData("images", "mnist", x, y, {"train": [0, 1, 2, 3, 4],
                                              "val": [10, 11, 12, 13, 14],
                                              "test": [5, 6, 7, 8, 9]}, "real", fetched,
                    notes=["MNIST has 10 classes: digits 0-4 train, 5-9 test; validation "
                           "sets hold held-out images of digits 0-4"])
