"""Real data sets: a fetch that looks in the cache, then the mirror, then downloads, and checks
every file against the sha256 pinned in the registry (:mod:`dlwild.core.registry`).

Every chapter that trains on real data goes through :func:`fetch` (or :func:`resolve`), so every
byte it reads was checked against a pinned sha256 and its provenance can be written into the
results (:meth:`Fetched.record`). Where a file comes from:

1. the user cache ``home()/data/<name>/<path>`` (filled by earlier downloads);
2. the local mirror ``$DLWILD_MIRROR/<folder>/<path>`` (laid out like ``shared/data``; used in
   place, never copied);
3. a download from the original public URL with pooch, unless ``$DLWILD_OFFLINE`` is set.

The registry's names (:func:`get`, :func:`register`, :class:`Dataset`, the errors, ...) are
importable from here too: this module is the data layer's public face. Readers of file formats
are in :mod:`dlwild.core.readers`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from dlwild.core.config import DATA_MODES, check_choice, home, mirror, offline
from dlwild.core.registry import (
    ChecksumError,
    DataError,
    Dataset,
    RemoteFile,
    UnknownDataset,
    get,
    load_manifest,
    names,
    register,
    sha256_file,
    write_manifest,
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
    "names",
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


# --------------------------------------------------------------------------------------------
# errors (the registry's are in dlwild.core.registry)


class DataUnavailable(DataError):
    """The files of a data set are neither cached, nor in the mirror, nor downloadable now."""


class DataWarning(UserWarning):
    """Something in the data layer was repaired (e.g. a corrupt cache file moved aside)."""


# --------------------------------------------------------------------------------------------
# checksums (memoised)


_VERIFIED: dict[tuple[str, int, int], str] = {}
_VERIFIED_LOCK = threading.Lock()


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
