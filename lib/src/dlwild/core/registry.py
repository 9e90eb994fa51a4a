"""The data set registry: what each data set is (files, sha256s, provenance), read from data.

Every data set is a file ``datasets/<name>.toml`` beside its manifest ``datasets/<name>.tsv``;
adding one touches no Python code. The toml holds::

    name = "mnist"                 # the file's stem
    title = "..."                  # one line: what it is
    licence = "..."
    citation = "..."
    homepage = "https://..."
    folder = "mnist"               # its sub-folder in a mirror laid out like shared/data
    reader = "load_mnist"          # optional: its reader in dlwild.core.readers

    [manifest]                     # optional: files listed in a manifest beside the toml
    file = "mnist.tsv"             # TSV: sha256, size, path[, raw_sha256, raw_size]
    url = "https://..."            # a file's URL is this + its URL-quoted path

    [[files]]                      # optional, repeatable: a file given explicitly; it replaces
    path = "x.gz"                  # the manifest row of the same path (or of its extracted
    url = "https://.../x.gz"       # form, which must then match raw_sha256/raw_size)
    sha256 = "..."
    size = 123
    raw_sha256 = "..."             # only for .gz: the gunzipped content, also accepted
    raw_size = 456

The packaged folder is loaded at first use; :func:`load_folder` adds another (tests, users), and
:func:`register` adds a :class:`Dataset` made in code.
"""

from __future__ import annotations

import fnmatch
import re
import threading
import tomllib
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from dlwild.core.data_errors import ChecksumError, DataError, RegistryError, UnknownDataset
from dlwild.core.manifests import ManifestRow, parse_manifest, sha256_file, write_manifest

__all__ = [
    "ChecksumError",
    "DataError",
    "Dataset",
    "ManifestRow",
    "RegistryError",
    "RemoteFile",
    "UnknownDataset",
    "builtin_folder",
    "get",
    "load_folder",
    "load_manifest",
    "names",
    "read_dataset",
    "register",
    "sha256_file",
    "write_manifest",
]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GLOB_CHARS = set("*?[")


# --------------------------------------------------------------------------------------------
# data sets and their files


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
    """A registered data set: its files, provenance (licence, citation, homepage), the
    sub-folder it has in a mirror laid out like ``shared/data`` and the name of its reader in
    :mod:`dlwild.core.readers` (if it has one)."""

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    homepage: str
    folder: str
    reader: str | None = None
    bibtex: str | None = None

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


# --------------------------------------------------------------------------------------------
# the registry


_REGISTRY: dict[str, Dataset] = {}
_BUILTIN_LOCK = threading.Lock()
_builtin_loaded = False


def builtin_folder() -> Traversable:
    """The packaged folder of data set files, ``dlwild/core/datasets``."""
    return resources.files("dlwild.core").joinpath("datasets")


def _ensure_builtin() -> None:
    """Register the packaged data sets on first use (keeps ``import`` cheap)."""
    global _builtin_loaded
    if _builtin_loaded:
        return
    with _BUILTIN_LOCK:
        if not _builtin_loaded:
            for ds in _read_folder(builtin_folder()):
                _REGISTRY.setdefault(ds.name, ds)
            _builtin_loaded = True


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


def load_folder(folder: str | Path | Traversable, *, replace: bool = False) -> list[Dataset]:
    """Register every ``*.toml`` data set file in ``folder`` (all are read before any is
    registered, so a malformed one leaves the registry unchanged)."""
    if isinstance(folder, str):
        folder = Path(folder)
    return [register(ds, replace=replace) for ds in _read_folder(folder)]


def _read_folder(folder: Traversable) -> list[Dataset]:
    if not folder.is_dir():
        raise RegistryError(f"{folder}: no such folder of data set files")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)
    return [_read_dataset(p, folder) for p in files]


# --------------------------------------------------------------------------------------------
# data set files (toml)


_REQUIRED = ("name", "title", "licence", "citation", "homepage", "folder")
_TOP_KEYS = {*_REQUIRED, "reader", "bibtex", "manifest", "files"}
_MANIFEST_KEYS = {"file", "url"}
_FILE_REQUIRED = ("path", "url", "sha256", "size")
_FILE_KEYS = {*_FILE_REQUIRED, "raw_sha256", "raw_size"}


def _keys(table: Any, where: str, required: Sequence[str], allowed: set[str], source: str):
    """Check a toml table: a table, no unknown key, every required key present."""
    if not isinstance(table, dict):
        raise RegistryError(f"{source}: {where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RegistryError(
            f"{source}: unknown key(s) {', '.join(unknown)} in {where}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    missing = [key for key in required if key not in table]
    if missing:
        raise RegistryError(f"{source}: {where} lacks required key(s) {', '.join(missing)}")


def _typed(table: dict, key: str, kind: type, where: str, source: str) -> Any:
    value = table.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        what = "an integer" if kind is int else "a string"
        raise RegistryError(f"{source}: {key!r} in {where} must be {what}")
    if isinstance(value, str) and not value.strip():
        raise RegistryError(f"{source}: {key!r} in {where} is empty")
    return value


def read_dataset(path: str | Path) -> Dataset:
    """The Dataset described by the toml file ``path`` (and the manifest it names, beside it);
    anything malformed raises RegistryError naming the file."""
    path = Path(path)
    return _read_dataset(path, path.parent)


def _read_dataset(path: Traversable, folder: Traversable) -> Dataset:
    source = str(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{source}: not valid TOML ({exc})") from exc
    _keys(spec, "the data set", _REQUIRED, _TOP_KEYS, source)
    top = {key: _typed(spec, key, str, "the data set", source)
           for key in (*_REQUIRED, "reader", "bibtex")}
    stem = path.name.removesuffix(".toml")
    if top["name"] != stem:
        raise RegistryError(f"{source}: name {top['name']!r} differs from the file name {stem!r}")
    if top["reader"] is not None:
        from dlwild.core import readers

        if top["reader"].startswith("_") or not callable(getattr(readers, top["reader"], None)):
            raise RegistryError(f"{source}: reader {top['reader']!r} is not in dlwild.core.readers")

    files: list[RemoteFile] = []
    if "manifest" in spec:
        files = _manifest_files(spec["manifest"], folder, source)
    explicit = spec.get("files", [])
    if not isinstance(explicit, list):
        raise RegistryError(f"{source}: 'files' must be an array of tables ([[files]])")
    seen: set[str] = set()
    for number, entry in enumerate(explicit, 1):
        f = _explicit_file(entry, f"[[files]] entry {number}", source)
        if f.path in seen:
            raise RegistryError(f"{source}: [[files]] lists {f.path!r} twice")
        seen.add(f.path)
        _merge(files, f, source)
    if not files:
        raise RegistryError(f"{source}: the data set lists no files ([manifest] or [[files]])")
    try:
        return Dataset(files=tuple(files), **top)
    except ValueError as exc:
        raise RegistryError(f"{source}: {exc}") from exc


def _manifest_files(table: Any, folder: Traversable, source: str) -> list[RemoteFile]:
    """RemoteFiles from the manifest beside the toml; the URL is ``url + quoted path``."""
    _keys(table, "[manifest]", ("file", "url"), _MANIFEST_KEYS, source)
    name = _typed(table, "file", str, "[manifest]", source)
    base = _typed(table, "url", str, "[manifest]", source)
    if Path(name).name != name or name in (".", ".."):
        raise RegistryError(f"{source}: [manifest] file {name!r} must be a file name beside it")
    manifest = folder.joinpath(name)
    if not manifest.is_file():
        raise RegistryError(f"{source}: its manifest {name!r} is not beside it")
    text = manifest.read_text(encoding="utf-8")
    out = []
    for r in parse_manifest(text, str(manifest)):
        try:
            out.append(
                RemoteFile(
                    r.path,
                    base + urllib.parse.quote(r.path),
                    r.sha256,
                    r.size,
                    r.raw_sha256,
                    r.raw_size,
                )
            )
        except ValueError as exc:
            raise RegistryError(f"{manifest}: {exc}") from exc
    return out


def _explicit_file(entry: Any, where: str, source: str) -> RemoteFile:
    _keys(entry, where, _FILE_REQUIRED, _FILE_KEYS, source)
    if ("raw_sha256" in entry) != ("raw_size" in entry):
        raise RegistryError(f"{source}: {where} needs both raw_sha256 and raw_size, or neither")
    cells = {key: _typed(entry, key, str, where, source) for key in ("path", "url", "sha256")}
    cells["raw_sha256"] = _typed(entry, "raw_sha256", str, where, source)
    for key in ("size", "raw_size"):
        cells[key] = _typed(entry, key, int, where, source)
    try:
        return RemoteFile(**cells)
    except ValueError as exc:
        raise RegistryError(f"{source}: {where}: {exc}") from exc


def _merge(files: list[RemoteFile], f: RemoteFile, source: str) -> None:
    """Put the explicit file ``f`` in place of the manifest row it replaces (same path, or its
    extracted form, whose hash and size must agree), or append it."""
    for i, row in enumerate(files):
        if row.path == f.path:
            same = row.variants() == f.variants()
        elif row.path == f.extracted_path:
            same = (row.sha256, row.size) == (f.raw_sha256, f.raw_size)
        else:
            continue
        if not same:
            raise RegistryError(
                f"{source}: [[files]] {f.path!r} disagrees with the manifest row {row.path!r} "
                "(sha256 or size)"
            )
        files[i] = f
        return
    files.append(f)


# --------------------------------------------------------------------------------------------
# manifests


def load_manifest(name: str, folder: str | Path | Traversable | None = None) -> list[ManifestRow]:
    """The manifest ``<name>.tsv`` in ``folder`` (default: the packaged data set files)."""
    if folder is None:
        folder = builtin_folder()
    resource = (Path(folder) if isinstance(folder, str) else folder).joinpath(f"{name}.tsv")
    return parse_manifest(resource.read_text(encoding="utf-8"), f"datasets/{name}.tsv")
