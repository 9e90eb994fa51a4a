"""Real data sets: a checksummed registry, and a fetch that looks in the cache, then the mirror,
then downloads.

Every chapter that trains on real data goes through :func:`fetch` (or :func:`resolve`), so every
byte it reads was checked against a pinned sha256 and its provenance can be written into the
results (:meth:`Fetched.record`). Where a file comes from:

1. the user cache ``home()/data/<name>/<path>`` (filled by earlier downloads);
2. the local mirror ``$DLWILD_MIRROR/<folder>/<path>`` (laid out like ``shared/data``; used in
   place, never copied);
3. a download from the original public URL with pooch, unless ``$DLWILD_OFFLINE`` is set.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import logging
import os
import re
import threading
import urllib.parse
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from dlwild.core.config import (
    DATA_MODES,
    atomic_write_text,
    check_choice,
    home,
    mirror,
    offline,
)

__all__ = [
    "ChecksumError",
    "DataError",
    "DataUnavailable",
    "Dataset",
    "Fetched",
    "RemoteFile",
    "UnknownDataset",
    "fetch",
    "get",
    "load_manifest",
    "load_mnist",
    "names",
    "read_idx",
    "register",
    "resolve",
    "sha256_file",
    "status",
    "verify",
    "write_manifest",
]

#: Seconds pooch waits for the server (connect and between bytes) before giving up.
DOWNLOAD_TIMEOUT = 60.0
#: Parallel downloads when many small files are missing (FSDD has 3000).
DOWNLOAD_WORKERS = 8

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GLOB_CHARS = set("*?[")


# --------------------------------------------------------------------------------------------
# errors


class DataError(RuntimeError):
    """Base class of the data layer's errors."""


class ChecksumError(DataError, ValueError):
    """A file's content differs from its pinned sha256: it is refused, never used."""

    def __init__(self, file: str, expected: str, actual: str, where: str | Path = "") -> None:
        self.file, self.expected, self.actual, self.where = file, expected, actual, str(where)
        at = f" at {where}" if where else ""
        super().__init__(
            f"checksum mismatch for {file!r}{at}: expected sha256 {expected}, got {actual}. "
            "The file is corrupt, truncated or a different version; it was not used."
        )


class DataUnavailable(DataError):
    """The files of a data set are neither cached, nor in the mirror, nor downloadable now."""


class UnknownDataset(DataError, KeyError):
    """No data set of that name is registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DataWarning(UserWarning):
    """Something in the data layer was repaired (e.g. a corrupt cache file moved aside)."""


# --------------------------------------------------------------------------------------------
# registry


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: its path inside the data set, where to download it and what it
    must hash to. ``raw_sha256``/``raw_size`` describe the gunzipped content of a ``.gz`` file,
    which is then also accepted in extracted form (without the ``.gz``)."""

    path: str
    url: str
    sha256: str
    size: int
    raw_sha256: str | None = None
    raw_size: int | None = None

    def __post_init__(self) -> None:
        if not self.path or self.path.startswith("/") or ".." in Path(self.path).parts:
            raise ValueError(
                f"RemoteFile path must be relative, inside the data set: {self.path!r}"
            )
        for value in (self.sha256, self.raw_sha256):
            if value is not None and not _SHA256.match(value):
                raise ValueError(f"{self.path}: {value!r} is not a lowercase hex sha256")
        if self.size < 0 or (self.raw_size is not None and self.raw_size < 0):
            raise ValueError(f"{self.path}: sizes must be non-negative")
        if self.raw_sha256 is not None and not self.path.endswith(".gz"):
            raise ValueError(f"{self.path}: raw_sha256 is only meaningful for a .gz file")

    @property
    def extracted_path(self) -> str | None:
        """The path of the gunzipped alternative, or None if there is none."""
        return self.path[:-3] if self.raw_sha256 is not None else None

    def variants(self) -> list[tuple[str, str, int | None]]:
        """``(relative path, sha256, size)`` of each accepted form, the registered one first."""
        out: list[tuple[str, str, int | None]] = [(self.path, self.sha256, self.size)]
        if self.raw_sha256 is not None:
            out.append((self.path[:-3], self.raw_sha256, self.raw_size))
        return out


@dataclass(frozen=True)
class Dataset:
    """A registered data set: its files, provenance (licence, citation, homepage) and the
    sub-folder it has in a mirror laid out like ``shared/data``."""

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    homepage: str
    folder: str

    def __post_init__(self) -> None:
        files = tuple(self.files)
        object.__setattr__(self, "files", files)
        if not re.match(r"^[A-Za-z0-9_.-]+$", self.name):
            raise ValueError(f"data set name {self.name!r} must be a simple identifier")
        seen = Counter(f.path for f in files)
        dupes = [p for p, n in seen.items() if n > 1]
        if dupes:
            raise ValueError(f"data set {self.name!r} lists these paths twice: {dupes[:5]}")

    @property
    def size(self) -> int:
        """Total bytes of the registered files."""
        return sum(f.size for f in self.files)

    def file(self, path: str) -> RemoteFile:
        """The RemoteFile registered as ``path`` (a ``.gz`` may also be named by its extracted
        name)."""
        for f in self.files:
            if path == f.path or path == f.extracted_path:
                return f
        raise KeyError(
            f"data set {self.name!r} has no file {path!r}; "
            f"it has {len(self.files)}, e.g. {', '.join(f.path for f in self.files[:5])}"
        )

    def select(self, files: Iterable[str] | str | None = None) -> list[RemoteFile]:
        """The RemoteFiles named by ``files`` (exact paths or glob patterns; None = all)."""
        if files is None:
            return list(self.files)
        if isinstance(files, str):
            files = [files]
        out: dict[str, RemoteFile] = {}
        for wanted in files:
            if _GLOB_CHARS & set(wanted):
                hits = [f for f in self.files if fnmatch.fnmatchcase(f.path, wanted)]
                if not hits:
                    raise KeyError(f"data set {self.name!r}: pattern {wanted!r} matches no file")
                out.update((f.path, f) for f in hits)
            else:
                f = self.file(wanted)
                out[f.path] = f
        return list(out.values())


_REGISTRY: dict[str, Dataset] = {}
_BUILTIN_LOCK = threading.Lock()
_builtin_loaded = False


def _ensure_builtin() -> None:
    """Register the packaged data sets on first use (keeps ``import`` cheap)."""
    global _builtin_loaded
    if _builtin_loaded:
        return
    with _BUILTIN_LOCK:
        if not _builtin_loaded:
            _builtin_loaded = True
            _register_builtin()


def register(ds: Dataset, *, replace: bool = False) -> Dataset:
    """Add ``ds`` to the registry (an existing, different entry is only replaced if asked)."""
    _ensure_builtin()
    old = _REGISTRY.get(ds.name)
    if old is not None and old != ds and not replace:
        raise ValueError(f"a different data set {ds.name!r} is already registered")
    _REGISTRY[ds.name] = ds
    return ds


def get(name: str | Dataset) -> Dataset:
    """The registered data set called ``name`` (a Dataset is passed through)."""
    if isinstance(name, Dataset):
        return name
    _ensure_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDataset(
            f"unknown data set {name!r}; known: {', '.join(names()) or '(none)'}"
        ) from None


def names() -> list[str]:
    """Names of all registered data sets, sorted."""
    _ensure_builtin()
    return sorted(_REGISTRY)


# --------------------------------------------------------------------------------------------
# manifests (generated from a mirror folder, shipped as package data)


@dataclass(frozen=True)
class ManifestRow:
    """One line of a ``manifests/<name>.tsv``: a file's sha256, size and path, plus the hash and
    size of its gunzipped content for ``.gz`` files."""

    sha256: str
    size: int
    path: str
    raw_sha256: str | None = None
    raw_size: int | None = None


def _gunzip_digest(path: Path) -> tuple[str, int]:
    digest, total = hashlib.sha256(), 0
    with gzip.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            total += len(chunk)
    return digest.hexdigest(), total


def write_manifest(
    folder: str | Path, out: str | Path, *, exclude: Sequence[str] = ("LICENSE*",)
) -> list[ManifestRow]:
    """Write ``out`` (TSV: sha256, size, path[, raw_sha256, raw_size]) from a mirror folder's
    ``MANIFEST.sha256``, checking each file against it; ``.gz`` files also get the hash of their
    gunzipped content. Top-level names matching ``exclude`` are left out. This is how the
    packaged manifests were made: no hash in them was typed by hand."""
    folder = Path(folder)
    rows: list[ManifestRow] = []
    for line in (folder / "MANIFEST.sha256").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        sha, rel = line.split(maxsplit=1)
        rel = rel.strip().lstrip("*")
        if any(fnmatch.fnmatchcase(rel, pattern) for pattern in exclude):
            continue
        path = folder / rel
        actual = sha256_file(path)
        if actual != sha:
            raise ChecksumError(rel, sha, actual, path)
        raw_sha = raw_size = None
        if rel.endswith(".gz"):
            raw_sha, raw_size = _gunzip_digest(path)
        rows.append(ManifestRow(sha, path.stat().st_size, rel, raw_sha, raw_size))
    rows.sort(key=lambda r: r.path)
    lines = [
        f"# generated by dlwild.core.data.write_manifest from {folder.name}/MANIFEST.sha256",
        "# sha256\tsize\tpath\traw_sha256\traw_size",
    ]
    for r in rows:
        cells = [r.sha256, str(r.size), r.path]
        if r.raw_sha256 is not None:
            cells += [r.raw_sha256, str(r.raw_size)]
        lines.append("\t".join(cells))
    atomic_write_text(Path(out), "\n".join(lines) + "\n")
    return rows


def _parse_manifest(text: str, source: str) -> list[ManifestRow]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) not in (3, 5):
            raise ValueError(f"{source}:{number}: expected 3 or 5 tab-separated columns")
        raw_sha, raw_size = (cells[3], int(cells[4])) if len(cells) == 5 else (None, None)
        rows.append(ManifestRow(cells[0], int(cells[1]), cells[2], raw_sha, raw_size))
    return rows


def load_manifest(name: str) -> list[ManifestRow]:
    """The packaged manifest ``dlwild/core/manifests/<name>.tsv``."""
    resource = resources.files("dlwild.core").joinpath("manifests", f"{name}.tsv")
    return _parse_manifest(resource.read_text(encoding="utf-8"), f"manifests/{name}.tsv")


# --------------------------------------------------------------------------------------------
# the six data sets of the local mirror, with their original public URLs

_GH = "https://raw.githubusercontent.com"
_RESEMBLYZER = f"{_GH}/resemble-ai/Resemblyzer/15d828edebe06bc72b9cabc8ef8ca5ab2cb457ce/audio_data/"
_FSDD = f"{_GH}/Jakobovski/free-spoken-digit-dataset/26eb9aaf76e81b692f806f9140c2d2777410d7a1/"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_CWRU = f"{_GH}/yyxyz/CaseWesternReserveUniversityData/b19e5a7e9fcd72b1c541f3c12fb42ac3fe94202f/"
_COIL20 = f"{_GH}/hyzhang98/AdaGAE/6d04946060bacd41ee31eba5c124887bca44f369/data/"
_FOOLBOX = f"{_GH}/bethgelab/foolbox/v3.3.4/foolbox/"

#: The official MNIST train-images .gz, which the mirror holds only extracted
#: (sha256 and sizes as published in shared/data/mnist/SOURCE.md).
_MNIST_TRAIN_IMAGES = RemoteFile(
    path="train-images-idx3-ubyte.gz",
    url=_MNIST + "train-images-idx3-ubyte.gz",
    sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    size=9912422,
    raw_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    raw_size=47040016,
)


def _files(name: str, base: str, prefix: str = "") -> tuple[RemoteFile, ...]:
    """RemoteFiles from the packaged manifest; the URL is ``base + prefix + quoted path``."""
    return tuple(
        RemoteFile(
            r.path,
            base + urllib.parse.quote(prefix + r.path),
            r.sha256,
            r.size,
            r.raw_sha256,
            r.raw_size,
        )
        for r in load_manifest(name)
    )


def _mnist_files() -> tuple[RemoteFile, ...]:
    out = []
    for f in _files("mnist", _MNIST):
        if f.path == _MNIST_TRAIN_IMAGES.extracted_path:
            if (f.sha256, f.size) != (_MNIST_TRAIN_IMAGES.raw_sha256, _MNIST_TRAIN_IMAGES.raw_size):
                raise ValueError("manifests/mnist.tsv disagrees with the pinned train images")
            f = _MNIST_TRAIN_IMAGES
        out.append(f)
    return tuple(sorted(out, key=lambda f: f.path))


def _register_builtin() -> None:
    """Register the six data sets of the local mirror (files from the packaged manifests)."""
    datasets = []
    add = datasets.append
    add(
        Dataset(
            name="librispeech_resemblyzer",
            title="LibriSpeech train-clean-100, 251 speakers x 1 utterance (Resemblyzer demo data)",
            files=_files("librispeech_resemblyzer", _RESEMBLYZER),
            licence="CC BY 4.0 (LibriSpeech audio, (c) 2014 Vassil Panayotov)",
            citation=(
                "V. Panayotov, G. Chen, D. Povey, S. Khudanpur: LibriSpeech: an ASR corpus "
                "based on public domain audio books. ICASSP 2015."
            ),
            homepage="https://www.openslr.org/12",
            folder="librispeech_resemblyzer",
        ),
    )
    add(
        Dataset(
            name="fsdd",
            title="Free Spoken Digit Dataset: 6 speakers x 10 digits x 50 recordings, 8 kHz WAV",
            files=_files("fsdd", _FSDD),
            licence="CC BY-SA 4.0",
            citation=(
                "Z. Jackson, C. Souza, J. Flaks, Y. Pan, H. Nicolas, A. Thite: Free Spoken Digit "
                "Dataset (FSDD), https://github.com/Jakobovski/free-spoken-digit-dataset"
            ),
            homepage="https://github.com/Jakobovski/free-spoken-digit-dataset",
            folder="fsdd",
        ),
    )
    add(
        Dataset(
            name="mnist",
            title="MNIST handwritten digits, 60000 train + 10000 test, IDX format",
            files=_mnist_files(),
            licence="CC BY-SA 3.0 ((c) Yann LeCun and Corinna Cortes)",
            citation=(
                "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner: Gradient-based learning applied to "
                "document recognition. Proceedings of the IEEE 86(11):2278-2324, 1998."
            ),
            homepage="http://yann.lecun.com/exdb/mnist/",
            folder="mnist",
        ),
    )
    add(
        Dataset(
            name="cwru_bearing",
            title="CWRU bearing vibration, 12 kHz drive end, 0 HP: normal + 9 faults (.mat)",
            files=_files("cwru_bearing", _CWRU),
            licence=(
                "none stated: public research data, attribution requested "
                "(Case Western Reserve University Bearing Data Center)"
            ),
            citation=(
                "Case Western Reserve University Bearing Data Center, "
                "https://engineering.case.edu/bearingdatacenter"
            ),
            homepage="https://engineering.case.edu/bearingdatacenter",
            folder="cwru_bearing",
        ),
    )
    add(
        Dataset(
            name="coil20_32x32_mat",
            title="COIL-20, 20 objects x 72 poses, downsampled to 32x32 (derived COIL20.mat)",
            files=_files("coil20_32x32_mat", _COIL20),
            licence=(
                "research use only, (c) Columbia University; no explicit redistribution licence"
            ),
            citation=(
                "S. A. Nene, S. K. Nayar, H. Murase: Columbia Object Image Library (COIL-20). "
                "Technical Report CUCS-005-96, Columbia University, 1996."
            ),
            homepage="https://www.cs.columbia.edu/CAVE/software/softlib/coil-20.php",
            folder="coil20_32x32_mat",
        ),
    )
    add(
        Dataset(
            name="foolbox_samples",
            title="Foolbox samples: 20 test images each of CIFAR-10/100, MNIST, Fashion-MNIST",
            files=_files("foolbox_samples", _FOOLBOX),
            licence=(
                "MIT (Foolbox, (c) 2020 Jonas Rauber et al.); images: CIFAR-10/100 research use, "
                "MNIST CC BY-SA 3.0, Fashion-MNIST MIT"
            ),
            citation=(
                "J. Rauber, R. Zimmermann, M. Bethge, W. Brendel: Foolbox Native: Fast adversarial "
                "attacks to benchmark the robustness of machine learning models in PyTorch, "
                "TensorFlow, and JAX. JOSS 5(53):2607, 2020."
            ),
            homepage="https://github.com/bethgelab/foolbox",
            folder="foolbox_samples",
        ),
    )
    for ds in datasets:
        _REGISTRY.setdefault(ds.name, ds)


# --------------------------------------------------------------------------------------------
# checksums


_VERIFIED: dict[tuple[str, int, int], str] = {}
_VERIFIED_LOCK = threading.Lock()


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (os.fspath(path.absolute()), st.st_size, st.st_mtime_ns)


def _digest(path: Path) -> str:
    """sha256 of ``path``, memoised per process by (path, size, mtime_ns)."""
    key = _stat_key(path)
    with _VERIFIED_LOCK:
        known = _VERIFIED.get(key)
    if known is None:
        known = sha256_file(path)
        with _VERIFIED_LOCK:
            _VERIFIED[key] = known
    return known


def _forget(path: Path) -> None:
    prefix = os.fspath(path.absolute())
    with _VERIFIED_LOCK:
        for key in [k for k in _VERIFIED if k[0] == prefix]:
            del _VERIFIED[key]


# --------------------------------------------------------------------------------------------
# fetch


ORIGINS = ("cache", "mirror", "download")


@dataclass
class Fetched:
    """The local files of (part of) a data set, all checksum-verified: ``paths`` maps each
    registry path to the local file, ``origins`` says where each came from."""

    dataset: Dataset
    paths: dict[str, Path]
    origins: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, path: str) -> Path:
        if path in self.paths:
            return self.paths[path]
        return self.paths[self.dataset.file(path).path]

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self):
        return iter(self.paths)

    def record(self) -> dict:
        """Provenance for a results file: what was read, how much, its combined checksum,
        where it came from, and under which licence and citation."""
        files = [self.dataset.file(p) for p in sorted(self.paths)]
        combined = hashlib.sha256()
        for f in sorted(files, key=lambda f: f.path):
            combined.update(f"{f.path}\t{f.sha256}\n".encode())
        return {
            "name": self.dataset.name,
            "title": self.dataset.title,
            "files": len(files),
            "bytes": sum(f.size for f in files),
            "sha256": combined.hexdigest(),
            "origins": dict(sorted(Counter(self.origins.values()).items())),
            "licence": self.dataset.licence,
            "citation": self.dataset.citation,
            "homepage": self.dataset.homepage,
        }


def cache_dir(dataset: str | Dataset) -> Path:
    """Where downloads of ``dataset`` are kept: ``home()/data/<name>``."""
    return home() / "data" / get(dataset).name


def _mirror_dir(ds: Dataset) -> Path | None:
    root = mirror()
    return root / ds.folder if root is not None else None


def _check(rel: str, expected: str, path: Path) -> None:
    actual = _digest(path)
    if actual != expected:
        raise ChecksumError(rel, expected, actual, path)


def _from_cache(ds: Dataset, f: RemoteFile) -> Path | None:
    """A valid cached copy of ``f``; a corrupt one is renamed ``*.corrupt`` with a warning."""
    base = cache_dir(ds)
    for rel, expected, _ in f.variants():
        path = base / rel
        if not path.is_file():
            continue
        try:
            _check(rel, expected, path)
            return path
        except ChecksumError as exc:
            aside = path.with_name(path.name + ".corrupt")
            os.replace(path, aside)
            _forget(path)
            warnings.warn(
                f"data set {ds.name!r}: cached file is corrupt and was moved aside to {aside} "
                f"(expected sha256 {exc.expected}, got {exc.actual}); fetching it again.",
                DataWarning,
                stacklevel=3,
            )
    return None


def _from_mirror(ds: Dataset, f: RemoteFile) -> Path | None:
    """A valid mirror copy of ``f``; a mirror copy that does not verify is an error."""
    base = _mirror_dir(ds)
    if base is None:
        return None
    for rel, expected, _ in f.variants():
        path = base / rel
        if path.is_file():
            _check(rel, expected, path)
            return path
    return None


def _how_to_get(ds: Dataset, example: RemoteFile | None = None) -> str:
    root = mirror()
    if root is None:
        hint_mirror = (
            f"set DLWILD_MIRROR to a folder holding {ds.folder}/ (laid out like shared/data)"
        )
    elif not (root / ds.folder).is_dir():
        hint_mirror = f"DLWILD_MIRROR={root} has no {ds.folder}/ folder; point it at one that has"
    else:
        hint_mirror = f"complete {root / ds.folder} (its copy lacks these files)"
    example = example or (ds.files[0] if ds.files else None)
    url = example.url if example else ds.homepage
    hint_online = (
        "go online (unset DLWILD_OFFLINE) to download them from the original URLs"
        if offline()
        else "check the network connection and retry"
    )
    return (
        f"To get them: {hint_mirror}; or {hint_online} (e.g. {url}); or fetch them by hand "
        f"from {ds.homepage} into {cache_dir(ds)}/<path>."
    )


def _list(paths: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


class _VerifyingDownloader:
    """pooch downloader that hashes the temporary file itself, so a mismatch is reported with
    both hashes (pooch then deletes the temporary file: nothing reaches the cache)."""

    def __init__(self, f: RemoteFile, progress: bool) -> None:
        import pooch

        self.f = f
        self.inner = pooch.HTTPDownloader(progressbar=progress, timeout=DOWNLOAD_TIMEOUT)
        self.actual: str | None = None

    def __call__(self, url: str, output_file, pooch_obj) -> None:
        self.inner(url, output_file, pooch_obj)
        if isinstance(output_file, str | os.PathLike):
            self.actual = sha256_file(output_file)
            if self.actual != self.f.sha256:
                raise ChecksumError(self.f.path, self.f.sha256, self.actual, url)


def _download(ds: Dataset, f: RemoteFile, progress: bool) -> Path:
    import pooch
    import requests

    target = cache_dir(ds) / f.path
    downloader = _VerifyingDownloader(f, progress)
    try:
        got = pooch.retrieve(
            f.url,
            known_hash=f"sha256:{f.sha256}",
            fname=target.name,
            path=target.parent,
            downloader=downloader,
            progressbar=progress,
        )
    except ChecksumError:
        raise
    except ValueError as exc:  # pooch's own hash check (should not happen after ours)
        if "hash" in str(exc).lower():
            raise ChecksumError(f.path, f.sha256, downloader.actual or "unknown", f.url) from exc
        raise
    except (requests.exceptions.RequestException, OSError) as exc:
        raise DataUnavailable(
            f"data set {ds.name!r}: download of {f.path!r} from {f.url} failed "
            f"(interrupted, unreachable or refused): {exc}. Nothing of it was cached. "
            + _how_to_get(ds, f)
        ) from exc
    path = Path(got)
    if downloader.actual is not None:  # rename keeps size and mtime: remember the hash
        with _VERIFIED_LOCK:
            _VERIFIED[_stat_key(path)] = downloader.actual
    return path


def fetch(
    dataset: str | Dataset,
    files: Iterable[str] | str | None = None,
    *,
    progress: bool = False,
) -> Fetched:
    """Local, checksum-verified copies of ``files`` (paths or glob patterns; None = all) of a
    data set, from the cache, the mirror or a download, in that order.

    Raises ChecksumError when a mirror copy or a download does not match its pinned sha256, and
    DataUnavailable when some file can be had from none of the three places."""
    ds = get(dataset)
    wanted = ds.select(files)
    paths: dict[str, Path] = {}
    origins: dict[str, str] = {}
    missing: list[RemoteFile] = []
    for f in wanted:
        local = _from_cache(ds, f)
        origin = "cache"
        if local is None:
            local, origin = _from_mirror(ds, f), "mirror"
        if local is None:
            missing.append(f)
            continue
        paths[f.path], origins[f.path] = local, origin

    if missing:
        if offline():
            raise DataUnavailable(
                f"data set {ds.name!r} ({ds.title}): {len(missing)} of {len(wanted)} file(s) "
                f"are neither in the cache nor in the mirror, and downloads are off "
                f"(DLWILD_OFFLINE is set): {_list([f.path for f in missing])}. " + _how_to_get(ds)
            )
        bar = None
        if progress and len(missing) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(missing), desc=f"download {ds.name}", unit="file")

        def one(f: RemoteFile) -> tuple[RemoteFile, Path]:
            path = _download(ds, f, progress and bar is None)
            if bar is not None:
                bar.update(1)
            return f, path

        import pooch

        logger = pooch.get_logger()  # it logs one "Downloading ..." line per file otherwise
        level = logger.level
        if not progress:
            logger.setLevel(max(level, logging.WARNING))
        try:
            if len(missing) == 1:
                results = [one(missing[0])]
            else:
                pool = ThreadPoolExecutor(min(DOWNLOAD_WORKERS, len(missing)))
                try:
                    results = list(pool.map(one, missing))
                finally:  # on the first failure, do not start the remaining downloads
                    pool.shutdown(wait=True, cancel_futures=True)
        finally:
            logger.setLevel(level)
            if bar is not None:
                bar.close()
        for f, path in results:
            paths[f.path], origins[f.path] = path, "download"

    order = {f.path: i for i, f in enumerate(wanted)}
    paths = dict(sorted(paths.items(), key=lambda kv: order[kv[0]]))
    return Fetched(ds, paths, {p: origins[p] for p in paths})


def resolve(
    name: str | Dataset, mode: str, files: Iterable[str] | str | None = None
) -> Fetched | None:
    """Apply a chapter's ``data`` parameter: ``"real"`` fetches or raises DataUnavailable,
    ``"synthetic"`` returns None without touching disk or network, ``"auto"`` fetches and
    returns None only if the data are unavailable (corrupt data still raise)."""
    check_choice("data", mode, DATA_MODES)
    if mode == "synthetic":
        return None
    if mode == "real":
        return fetch(name, files)
    try:
        return fetch(name, files)
    except DataUnavailable:
        return None


# --------------------------------------------------------------------------------------------
# verify / status (for the CLI)


def verify(name: str | None = None) -> list[tuple[str, int, list[str]]]:
    """Check every local copy (cache and mirror) of one or all data sets against its sha256,
    without downloading: ``[(name, files ok, problems)]``. Missing files are one problem."""
    out = []
    for ds in [get(name)] if name is not None else [get(n) for n in names()]:
        bases = [cache_dir(ds)]
        mirror_dir = _mirror_dir(ds)
        if mirror_dir is not None:
            bases.append(mirror_dir)
        n_ok, problems, missing = 0, [], []
        for f in ds.files:
            good = False
            for base in bases:
                for rel, expected, _ in f.variants():
                    path = base / rel
                    if not path.is_file():
                        continue
                    actual = _digest(path)
                    if actual == expected:
                        good = True
                    else:
                        problems.append(str(ChecksumError(rel, expected, actual, path)))
            if good:
                n_ok += 1
            else:
                missing.append(f.path)
        if missing:
            problems.append(
                f"{len(missing)} of {len(ds.files)} file(s) have no valid local copy: "
                f"{_list(missing)}"
            )
        out.append((ds.name, n_ok, problems))
    return out


def status(name: str | None = None) -> list[dict]:
    """Per data set, how many files are in the cache, in the mirror (only) or missing; a cheap
    look at names and sizes, no hashing (see :func:`verify`)."""
    out = []
    for ds in [get(name)] if name is not None else [get(n) for n in names()]:
        counts = Counter()
        mirror_dir = _mirror_dir(ds)
        for f in ds.files:
            where = "missing"
            for origin, base in (("cache", cache_dir(ds)), ("mirror", mirror_dir)):
                if base is not None and any(
                    _size_ok(base / rel, size) for rel, _, size in f.variants()
                ):
                    where = origin
                    break
            counts[where] += 1
        out.append(
            {
                "name": ds.name,
                "title": ds.title,
                "files": len(ds.files),
                "bytes": ds.size,
                "cache": counts["cache"],
                "mirror": counts["mirror"],
                "missing": counts["missing"],
                "licence": ds.licence,
            }
        )
    return out


def _size_ok(path: Path, size: int | None) -> bool:
    try:
        return path.is_file() and (size is None or path.stat().st_size == size)
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# IDX (MNIST) reader


_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format; gzip-compressed or not) into a native-endian array;
    a wrong magic number or a size that disagrees with the header is a ValueError."""
    path = Path(path)
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (magic {data[:4].hex() or 'missing'}; expected 0000 + a "
            "type byte 08/09/0b/0c/0d/0e + number of dimensions)"
        )
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{path}: IDX size disagrees with its header: shape {shape} of {dtype.name} needs "
            f"{expected} bytes, the file has {len(data)} (truncated or corrupt)"
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


_MNIST_SPLITS = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000),
}


def load_mnist(
    split: str = "train", fetched: Fetched | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (uint8 [N, 28, 28]) and labels (uint8 [N]) of ``split`` ("train"/"test"),
    read from ``fetched`` or from a fresh :func:`fetch` of just those two files."""
    check_choice("split", split, tuple(_MNIST_SPLITS))
    images_name, labels_name, count = _MNIST_SPLITS[split]
    if fetched is None:
        fetched = fetch("mnist", [images_name, labels_name])
    images, labels = read_idx(fetched[images_name]), read_idx(fetched[labels_name])
    if images.shape != (count, 28, 28) or labels.shape != (count,):
        raise ValueError(
            f"MNIST {split}: expected {count} images of 28x28 and {count} labels, got "
            f"{images.shape} and {labels.shape}"
        )
    return images, labels
