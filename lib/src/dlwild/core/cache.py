"""Artifacts (trained models, rendered data sets) cached under a key hashed from code, parameters
and data, so a stale artifact is refused instead of silently reused.

Layout: ``<root>/<name>/<key>/`` holds the payload files plus ``meta.json`` (the key, its parts,
when and by which dlwild it was made, and the sha256 and size of every payload file). Writes go
to a temporary folder next to the target and are renamed into place, so a crash or a full disk
never leaves a half-written artifact, nor damages a good one.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib
import json
import math
import os
import shutil
import tempfile
import types
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any, TypeVar

from dlwild.core.config import atomic_write_text, home

T = TypeVar("T")

META_NAME = "meta.json"
META_FORMAT = 1
_TMP_PREFIX = ".tmp-"
_CHUNK = 1 << 20

__all__ = [
    "ArtifactCache",
    "ArtifactError",
    "ArtifactMismatch",
    "ArtifactWriteError",
    "artifact_key",
    "canonical_json",
    "code_hash",
    "file_digest",
    "load_torch_state",
    "save_torch_state",
]


class ArtifactError(RuntimeError):
    """Base class of the artifact cache's errors."""


class ArtifactMismatch(ArtifactError):
    """An artifact on disk does not match what was asked for (key, meta or payload differ)."""


class ArtifactWriteError(ArtifactError):
    """Saving an artifact failed (full disk, permissions, a failing writer); nothing was kept."""


# --------------------------------------------------------------------------- keys


def _module_files(target: types.ModuleType | str) -> tuple[str, list[tuple[str, Path]]]:
    """Name and (relative path, file) pairs of a module's source, all .py files for a package."""
    module = importlib.import_module(target) if isinstance(target, str) else target
    if not isinstance(module, types.ModuleType):
        raise TypeError(f"code_hash expects modules or dotted names, got {type(target).__name__}")
    name = module.__name__
    locations = list(getattr(module, "__path__", None) or [])
    if locations:  # a package (possibly a namespace package spread over several folders)
        files: list[tuple[str, Path]] = []
        for folder in sorted(Path(p) for p in locations):
            for path in sorted(folder.rglob("*.py")):
                if "__pycache__" in path.parts:
                    continue
                files.append((path.relative_to(folder).as_posix(), path))
        if not files:
            raise ValueError(f"code_hash: package {name!r} has no .py files under {locations}")
        return name, files
    source = getattr(module, "__file__", None)
    if not source or not source.endswith(".py") or not Path(source).is_file():
        raise ValueError(f"code_hash: module {name!r} has no Python source file ({source!r})")
    return name, [(Path(source).name, Path(source))]


def code_hash(*targets: types.ModuleType | str) -> str:
    """sha256 over the source of modules/packages (objects or dotted names), so editing the
    code changes every key built from it. Packages contribute all .py files in sorted order."""
    if not targets:
        raise ValueError("code_hash needs at least one module or package")
    digest = hashlib.sha256()
    for target in targets:
        name, files = _module_files(target)
        digest.update(f"module\0{name}\0".encode())
        for relative, path in files:
            digest.update(f"file\0{relative}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    """Turn ``value`` into plain JSON types deterministically, or raise a TypeError naming it."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return {"__float__": repr(value)}
        return float(value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"artifact key: mapping keys must be strings, got {key!r} at {where}"
                )
            out[key] = _jsonable(item, f"{where}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_jsonable(item, f"{where}{{}}") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value), where)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        np = None
    if np is not None:
        if isinstance(value, np.generic):
            return _jsonable(value.item(), where)
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"artifact key: object arrays are not hashable at {where}")
            return {
                "__ndarray__": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
                "dtype": value.dtype.str,
                "shape": list(value.shape),
            }
    raise TypeError(
        f"artifact key: {type(value).__module__}.{type(value).__qualname__} at {where} is not "
        "JSON-able; pass str/int/float/bool/None, lists, dicts, Paths or numpy values"
    )


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) of ``value``; numpy, Paths, tuples allowed."""
    return json.dumps(
        _jsonable(value, "$"), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    )


def artifact_key(
    *, code: str, params: Mapping[str, Any], data: Mapping[str, Any] | str | None
) -> str:
    """sha256 of the canonical JSON of code hash, parameters and data identity: the cache key."""
    if not isinstance(code, str):
        raise TypeError(f"artifact_key: code must be a str (e.g. code_hash(...)), got {code!r}")
    if not isinstance(params, Mapping):
        raise TypeError(f"artifact_key: params must be a mapping, got {type(params).__name__}")
    payload = canonical_json({"code": code, "params": params, "data": data})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def parts_key(parts: Mapping[str, Any]) -> str:
    """The cache key of ``parts``, a mapping with exactly the ``code``, ``params`` and ``data``
    of :func:`artifact_key`."""
    missing = {"code", "params", "data"} - set(parts)
    if missing:
        raise ValueError(f"artifact parts lack {', '.join(sorted(missing))}")
    return artifact_key(code=parts["code"], params=parts["params"], data=parts["data"])


def array_digest(arrays: Any) -> str:
    """sha256 of a sequence of numpy arrays (shapes, dtypes and bytes, in order): the content
    hash of a network's training data, for its artifact key."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the cache


def _payload_files(folder: Path) -> dict[str, Path]:
    """Payload files of an artifact folder (everything but meta.json), by relative posix path."""
    return {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != META_NAME
    }


def _check_name(label: str, value: str) -> str:
    """Refuse names that would escape the cache root or collide with temporary folders."""
    if (
        not isinstance(value, str)
        or not value
        or value.startswith(".")
        or "/" in value
        or "\\" in value
        or value != value.strip()
    ):
        raise ValueError(f"artifact {label} must be a plain folder name, got {value!r}")
    return value


def _dlwild_version() -> str:
    """The installed dlwild version, recorded in meta.json for provenance."""
    try:
        from dlwild import __version__
    except ImportError:  # pragma: no cover
        return "unknown"
    return __version__


def check_artifact(path: Path, expected_key: str, name: str | None = None) -> dict[str, Any]:
    """Verify the artifact folder ``path`` against ``expected_key`` and its meta.json; return the
    meta, or raise ArtifactMismatch saying what differs."""
    path = Path(path)
    label = f"artifact {name + '/' if name else ''}{path.name} at {path}"
    if not path.is_dir():
        raise ArtifactMismatch(f"{label}: not a folder")
    meta_path = path / META_NAME
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactMismatch(f"{label}: {META_NAME} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactMismatch(f"{label}: {META_NAME} is unreadable ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise ArtifactMismatch(f"{label}: {META_NAME} is not a dlwild artifact meta")
    if meta.get("key") != expected_key:
        raise ArtifactMismatch(
            f"{label}: key differs (meta says {meta.get('key')!r}, expected {expected_key!r}); "
            "it was made from other code, parameters or data"
        )
    if name is not None and meta.get("name") != name:
        raise ArtifactMismatch(f"{label}: name differs (meta says {meta.get('name')!r})")
    expected = meta["files"]
    present = _payload_files(path)
    missing = sorted(set(expected) - set(present))
    extra = sorted(set(present) - set(expected))
    if missing:
        raise ArtifactMismatch(f"{label}: payload files missing: {', '.join(missing)}")
    if extra:
        raise ArtifactMismatch(f"{label}: unexpected payload files: {', '.join(extra)}")
    for relative, file in present.items():
        record = expected[relative]
        if not isinstance(record, dict):
            raise ArtifactMismatch(f"{label}: {META_NAME} entry for {relative} is malformed")
        size = file.stat().st_size
        if size != record.get("size"):
            raise ArtifactMismatch(
                f"{label}: {relative} has {size} bytes, meta says {record.get('size')}"
            )
        digest = file_digest(file)
        if digest != record.get("sha256"):
            raise ArtifactMismatch(
                f"{label}: {relative} sha256 {digest[:12]}… differs from meta "
                f"{str(record.get('sha256'))[:12]}…; the file was changed or corrupted"
            )
    return meta


class ArtifactCache:
    """Keyed store of artifacts under ``root`` (default ``home()/"artifacts"``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else home() / "artifacts"

    def __repr__(self) -> str:
        return f"ArtifactCache(root={str(self.root)!r})"

    def path(self, name: str, key: str) -> Path:
        """Folder where artifact ``name`` under ``key`` lives (whether or not it exists)."""
        return self.root / _check_name("name", name) / _check_name("key", key)

    def checkpoint_path(self, name: str, key: str) -> Path:
        """Where the unfinished training of artifact ``name``/``key`` keeps its checkpoint:
        beside the artifact folder, so that an interrupted run resumes and a finished one
        removes it."""
        return self.root / _check_name("name", name) / f"{_check_name('key', key)}.training.pt"

    def exists(self, name: str, key: str) -> bool:
        """True when an artifact folder for ``name``/``key`` is present (not yet verified)."""
        return self.path(name, key).is_dir()

    def save(
        self,
        name: str,
        key: str,
        write: Callable[[Path], None],
        parts: Mapping[str, Any],
    ) -> Path:
        """Let ``write(tmpdir)`` fill a temporary folder, record meta.json, then rename it into
        place atomically. On any failure nothing is kept and ArtifactWriteError is raised."""
        target = self.path(name, key)
        parent = target.parent
        recorded_parts = json.loads(canonical_json(parts))  # a TypeError here, before any write
        stage = "creating the temporary folder"
        tmp: Path | None = None
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{key[:16]}-", dir=parent))
            stage = "writing the payload"
            write(tmp)
            stage = "hashing the payload"
            files = {
                relative: {"sha256": file_digest(file), "size": file.stat().st_size}
                for relative, file in _payload_files(tmp).items()
            }
            meta = {
                "format": META_FORMAT,
                "name": name,
                "key": key,
                "parts": recorded_parts,
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "dlwild_version": _dlwild_version(),
                "files": files,
            }
            stage = f"writing {META_NAME}"
            atomic_write_text(tmp / META_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")
            stage = "moving the artifact into place"
            self._install(tmp, target)
            tmp = None
        except BaseException as exc:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and friends pass through untouched
            why = f"{type(exc).__name__}: {exc}"
            raise ArtifactWriteError(
                f"could not save artifact {name!r} (key {key[:12]}…) to {target} while {stage}: "
                f"{why}. Nothing was kept; any earlier artifact there is untouched."
            ) from exc
        return target

    @staticmethod
    def _install(tmp: Path, target: Path) -> None:
        """Rename ``tmp`` to ``target``; an existing artifact is swapped out only after the new
        one is complete, and restored if the swap fails."""
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
        # Same key already present (e.g. a rebuild after a mismatch): swap it out.
        old = target.with_name(f"{_TMP_PREFIX}old-{target.name}-{os.getpid()}")
        os.rename(target, old)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)

    def load(self, name: str, key: str, read: Callable[[Path], T]) -> T | None:
        """``read(folder)`` of the verified artifact, None when absent; ArtifactMismatch when
        its meta.json or payload does not match ``key``."""
        target = self.path(name, key)
        if not target.exists():
            return None
        check_artifact(target, key, name)
        return read(target)

    def get_or_create(
        self,
        name: str,
        parts: Mapping[str, Any],
        build: Callable[[], T],
        write: Callable[[T, Path], None],
        read: Callable[[Path], T],
    ) -> T:
        """Load artifact ``name`` keyed by ``artifact_key(**parts)``; build, save and return it
        only when absent. A mismatching artifact raises rather than being rebuilt silently."""
        key = parts_key(parts)
        cached = self.load(name, key, read)
        if cached is not None:
            return cached
        value = build()
        self.save(name, key, lambda folder: write(value, folder), parts)
        return value

    def check(self, path: Path, expected_key: str) -> dict[str, Any]:
        """Verify a user-supplied artifact folder (e.g. a downloaded model) against
        ``expected_key``; return its meta or raise ArtifactMismatch."""
        return check_artifact(Path(path), expected_key)

    def remove(self, name: str, key: str) -> bool:
        """Delete an artifact (e.g. after a mismatch was reported); True if one was there."""
        target = self.path(name, key)
        if not target.exists():
            return False
        shutil.rmtree(target)
        return True


# --------------------------------------------------------------------------- torch helpers


def save_torch_state(obj: Any, path: Path) -> Path:
    """``torch.save`` of a state dict (or tensors) to ``path``, for use inside a ``write``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    with open(path, "wb") as handle:
        torch.save(obj, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def load_torch_state(path: Path, map_location: Any = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, no pickled
    code, so a cached or downloaded file cannot run anything on load."""
    import torch

    return torch.load(Path(path), map_location=map_location, weights_only=True)
