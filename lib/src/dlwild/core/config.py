"""Paths, device selection and seeding: the few settings every chapter shares."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

SCALES = ("quick", "full")
DATA_MODES = ("auto", "real", "synthetic")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A parameter or setting has a value the book cannot work with."""


def home() -> Path:
    """The user cache (data, artifacts): ``$DLWILD_HOME`` or ``~/.cache/dlwild``."""
    path = Path(os.environ.get("DLWILD_HOME") or Path.home() / ".cache" / "dlwild")
    return path.expanduser()


def mirror() -> Path | None:
    """The local mirror laid out like ``shared/data`` (``$DLWILD_MIRROR``), if set."""
    value = os.environ.get("DLWILD_MIRROR")
    return Path(value).expanduser().resolve() if value else None


def offline() -> bool:
    """True when ``$DLWILD_OFFLINE`` forbids downloads (cache and mirror only)."""
    return os.environ.get("DLWILD_OFFLINE", "").lower() in {"1", "true", "yes"}


def project_root(start: Path | None = None) -> Path | None:
    """The book's root (the folder holding ``_toc.yml``), searched upwards from ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file():
            return folder
    return None


def results_dir() -> Path:
    """Where a run writes ``<chapter>.json``: ``$DLWILD_RESULTS_DIR`` (set by the runner), else
    ``<project root>/results``, else ``./results``."""
    value = os.environ.get("DLWILD_RESULTS_DIR")
    if value:
        return Path(value)
    root = project_root()
    return (root or Path.cwd()) / "results"


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ConfigError naming both."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def select_device(device: str = "auto"):
    """Resolve ``auto|cpu|cuda`` to a ``torch.device``; CUDA without a GPU is an error."""
    import torch

    check_choice("device", device, DEVICES)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device='cuda' was asked for, but torch sees no CUDA GPU "
            f"(torch {torch.__version__}); use device='cpu' or install a CUDA build of torch "
            "(see the README)."
        )
    return torch.device(device)


def seed_everything(seed: int) -> int:
    """Seed python, numpy and torch (CPU and CUDA) in one call; returns the seed."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return seed
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return seed


def atomic_write_bytes(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` via a temporary file and a rename, so a crash or a full
    disk never leaves a half-written file where a good one was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))
