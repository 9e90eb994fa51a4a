"""Training checkpoints: what identifies a run (its fingerprint), the global RNG states, and
atomic writes and careful reads of the file, so that a run resumes only its own checkpoint."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import ConfigError, atomic_write_bytes

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "CheckpointMismatch",
    "fingerprint",
    "fingerprint_diff",
    "load_checkpoint",
    "load_own_checkpoint",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "dlwild.train/1"
REQUIRED = frozenset({"format", "fingerprint", "epoch", "model", "optimizer", "history", "rng"})
_MISSING = "<not set>"
_KEPT = "it was left in place; delete it to start over, or give another checkpoint path"


class CheckpointError(RuntimeError):
    """A training checkpoint cannot be read or used (the file is always left in place)."""


class CheckpointMismatch(CheckpointError):
    """A checkpoint was written by a different run (config, model, batch size, seed, ...)."""


# --------------------------------------------------------------------------------------------
# RNG states
# --------------------------------------------------------------------------------------------


def rng_state(device: torch.device) -> dict[str, Any]:
    """The global RNG states (python, numpy, torch CPU, CUDA if in use) as plain values/tensors."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    cuda = None
    if torch.cuda.is_available() and (device.type == "cuda" or torch.cuda.is_initialized()):
        cuda = torch.cuda.get_rng_state_all()
    version, internal, gauss_next = random.getstate()
    return {
        "python": [version, list(internal), gauss_next],
        "numpy": [str(name), torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
        "cuda": cuda,
    }


def restore_rng_state(state: Mapping[str, Any], seed: int) -> None:
    """Set the global RNG states from :func:`rng_state`'s output; CUDA, if it was not in use
    when saving (or has another device count now), gets the seeded state it then had."""
    version, internal, gauss_next = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), gauss_next))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if torch.cuda.is_available():
        if cuda is not None and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:  # CUDA was not used when saving: its state is still the seeded one
            torch.cuda.manual_seed_all(seed)


# --------------------------------------------------------------------------------------------
# Fingerprint
# --------------------------------------------------------------------------------------------


def _jsonable_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a dict of the run's settings, got {type(config)}")
    return json.loads(json.dumps(dict(config), sort_keys=True, default=str))


def fingerprint(
    model: torch.nn.Module,
    config: Mapping[str, Any] | None,
    batch_size: int,
    seed: int,
    early_stopping: int | None,
    monitor: str,
    mode: str,
) -> dict[str, Any]:
    """What identifies a run: a checkpoint is only resumed by a run with the same fingerprint."""
    return {
        "config": _jsonable_config(config),
        "model_class": type(model).__name__,
        "model": [
            [name, list(tensor.shape), str(tensor.dtype).removeprefix("torch.")]
            for name, tensor in model.state_dict().items()
        ],
        "batch_size": batch_size,
        "seed": seed,
        "early_stopping": (
            None if early_stopping is None
            else {"patience": early_stopping, "monitor": monitor, "mode": mode}
        ),
    }


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _config_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, _MISSING), new.get(name, _MISSING)
        if a != b:
            lines.append(f"config[{name!r}]: {_short(a)} in the checkpoint, {_short(b)} now")
    return lines


def _model_diff(old: list, new: list) -> list[str]:
    """The tensors whose name, shape or dtype differ: at most five, then a count of the rest."""
    a = {entry[0]: tuple(map(str, entry[1:])) for entry in old}
    b = {entry[0]: tuple(map(str, entry[1:])) for entry in new}
    diffs = [
        f"model tensor {name!r}: {a.get(name, _MISSING)} in the checkpoint, "
        f"{b.get(name, _MISSING)} now"
        for name in sorted(set(a) | set(b))
        if a.get(name) != b.get(name)
    ]
    if len(diffs) > 5:
        return [*diffs[:5], f"... and {len(diffs) - 5} more model tensors differ"]
    return diffs


def fingerprint_diff(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints ("there" = checkpoint, "here" = now)."""
    lines: list[str] = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key, _MISSING), current.get(key, _MISSING)
        if old == new:
            continue
        if key == "config" and isinstance(old, Mapping) and isinstance(new, Mapping):
            lines.extend(_config_diff(old, new))
        elif key == "model" and isinstance(old, list) and isinstance(new, list):
            lines.extend(_model_diff(old, new))
        else:
            lines.append(f"{key}: {_short(old)} in the checkpoint, {_short(new)} now")
    return lines


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint (tensors to CPU, no arbitrary pickles); a clear error if it can't be."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to read is reported the same way
        raise CheckpointError(
            f"checkpoint {path} could not be read ({type(exc).__name__}: {_short(str(exc), 200)});"
            f" {_KEPT}"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} is not a dlwild training checkpoint ({CHECKPOINT_FORMAT}); {_KEPT}"
        )
    if not REQUIRED <= set(state):
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(sorted(REQUIRED - set(state)))}; {_KEPT}"
        )
    return state


def load_own_checkpoint(path: Path, expected: Mapping[str, Any]) -> dict[str, Any]:
    """Read a checkpoint and refuse it (:class:`CheckpointMismatch`) unless its fingerprint is
    ``expected``: a different run's state is never silently resumed."""
    state = load_checkpoint(path)
    diff = fingerprint_diff(state["fingerprint"], expected)
    if diff:
        raise CheckpointMismatch(
            f"checkpoint {path} was written by a different run, so it is not resumed:\n  "
            + "\n  ".join(diff)
            + "\nDelete it (or use another checkpoint path) to train this run from scratch."
        )
    return state


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Serialize in memory, then replace the file atomically: a failure leaves the old one."""
    buffer = io.BytesIO()
    try:
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        exc.add_note(
            f"while writing checkpoint {path} after epoch {state['epoch']}; "
            "the previous checkpoint, if any, is intact"
        )
        raise
