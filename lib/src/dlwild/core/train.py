"""The one training loop every chapter uses: deterministic, resumable, with early stopping.

``fit`` owns the optimizer (it is given a factory), seeds the run, shuffles each epoch from a
generator seeded by ``(seed, epoch)``, and can write an atomic checkpoint after every epoch that
holds everything needed to continue bit-for-bit: weights, optimizer and scheduler state, history,
the global RNG states and the early-stopping state.  A checkpoint written by a different run
(config, model, batch size, seed, early stopping) is refused, never silently reused.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import TqdmExperimentalWarning

from .config import ConfigError, atomic_write_bytes, check_choice, seed_everything, select_device

__all__ = [
    "CheckpointError",
    "CheckpointMismatch",
    "History",
    "fit",
    "progress_bar",
    "hardware_name",
    "to_device",
]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "dlwild.train/1"
PROGRESS_ENV = "DLWILD_PROGRESS"
MODES = ("min", "max")
_RESERVED = ("epoch", "train_loss", "val_loss", "lr", "seconds")


class CheckpointError(RuntimeError):
    """A training checkpoint cannot be read or used (the file is always left in place)."""


class CheckpointMismatch(CheckpointError):
    """A checkpoint was written by a different run (config, model, batch size, seed, ...)."""


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------


@dataclass
class History:
    """Per-epoch records of a :func:`fit` run, JSON-able so chapters can put it in results.

    ``epochs`` holds one dict per epoch (``epoch`` counted from 1, ``train_loss``, ``val_loss``
    when there is validation data, the ``evaluate`` metrics, ``lr`` and ``seconds``).
    ``best_epoch`` is the epoch whose weights the model holds after early stopping (``None``
    without early stopping, where the model keeps the last epoch's weights); ``stopped_early``
    says whether patience ran out before ``epochs`` was reached. ``hardware`` names what the
    epochs ran on (e.g. ``"NVIDIA H200"``), so a model trained elsewhere and loaded from the
    cache still says where its learning curve was measured.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    hardware: str | None = None

    def __len__(self) -> int:
        return len(self.epochs)

    def to_frame(self):
        """The records as a ``pandas.DataFrame`` indexed by epoch."""
        import pandas as pd

        frame = pd.DataFrame(self.epochs)
        return frame.set_index("epoch") if "epoch" in frame else frame

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (plain lists, dicts, numbers); inverse of :meth:`from_dict`."""
        return {
            "epochs": [dict(record) for record in self.epochs],
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "hardware": self.hardware,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict` output (e.g. read back from JSON)."""
        best = data.get("best_epoch")
        return cls(
            epochs=[dict(record) for record in data.get("epochs", [])],
            best_epoch=None if best is None else int(best),
            stopped_early=bool(data.get("stopped_early", False)),
            hardware=data.get("hardware"),
        )

    def final(self, key: str) -> Any:
        """``key`` at the epoch whose weights the model ends with: ``best_epoch`` when early
        stopping restored one, else the last epoch."""
        if not self.epochs:
            raise KeyError(f"{key!r}: the history is empty (no epoch was trained)")
        record = self.epochs[-1]
        if self.best_epoch is not None:
            record = next((r for r in self.epochs if r.get("epoch") == self.best_epoch), record)
        if key not in record:
            raise KeyError(f"{key!r} is not recorded; the epochs have {', '.join(record)}")
        return record[key]


# --------------------------------------------------------------------------------------------
# Progress bars
# --------------------------------------------------------------------------------------------


class _LineStream:
    """A text stream that turns every tqdm redraw (``\\r`` + status) into its own line.

    Notebook runners (nbclient, myst-nb) drop the text before a ``\\r``, so a plain tqdm bar in a
    static page would only show its last state; one line per update keeps every epoch visible.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        for part in text.replace("\r", "\n").split("\n"):
            part = part.rstrip()
            if part:
                self._stream.write(part + "\n")
        return len(text)

    def flush(self) -> None:
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name == "_stream":  # not set yet (e.g. during copying): no recursion
            raise AttributeError(name)
        return getattr(self._stream, name)


def _progress_mode() -> str:
    """``plain``, ``off`` or ``auto``, from ``$DLWILD_PROGRESS``."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if value == "plain":
        return "plain"
    if value in {"off", "0", "false", "no", "none"}:
        return "off"
    return "auto"


def progress_bar(iterable: Iterable | None = None, *, nested: bool = False, **kw: Any):
    """A tqdm bar that suits where the book runs: ``tqdm.autonotebook`` (widget in Jupyter),
    or, when ``$DLWILD_PROGRESS=plain`` (the Papermill runner), ASCII text on ``sys.stdout``
    with one line per update so the static page shows it; ``$DLWILD_PROGRESS=off`` hides all
    bars.

    ``nested=True`` marks an inner bar (e.g. batches inside epochs): it does not leave, and it is
    hidden in plain mode.  Other keywords go to tqdm.  In plain mode updates print at most about
    20 lines for a long loop (``miniters``); pass ``miniters=1`` to print every step.
    """
    mode = _progress_mode()
    if mode == "off" or (mode == "plain" and nested):
        kw["disable"] = True
    if mode == "plain":
        from tqdm.std import tqdm as plain_tqdm

        kw.setdefault("file", _LineStream(sys.stdout))
        kw.setdefault("ascii", True)
        kw.setdefault("mininterval", 0)
        kw.setdefault("dynamic_ncols", False)
        kw["leave"] = False  # every update is already a permanent line; no repeat on close
        total = kw.get("total")
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        if total and total > 40:
            kw.setdefault("miniters", math.ceil(total / 20))
        return plain_tqdm(iterable, **kw)
    # tqdm.autonotebook, not tqdm.auto: the latter's asyncio class calls iter() on the
    # iterable when built and again when iterated, which costs a DataLoader a second iterator
    # (a shuffle draw, and with workers a second set of processes) every epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)
        from tqdm.autonotebook import tqdm as auto_tqdm

    if nested:
        kw.setdefault("leave", False)
    return auto_tqdm(iterable, **kw)


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------


def hardware_name(device: torch.device) -> str:
    """What ``device`` is, for the record: the GPU's name, or the CPU's with its thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    cpu = platform.processor() or platform.machine() or "CPU"
    return f"{cpu} CPU ({torch.get_num_threads()} threads)"


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """Move the tensors of a batch (tensor, or tuples/lists/dicts of them, nested) to ``device``;
    anything else is returned unchanged."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        moved = {k: to_device(v, device, non_blocking) for k, v in batch.items()}
        try:
            return type(batch)(moved)
        except TypeError:
            return moved
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def _first_tensor(batch: Any) -> torch.Tensor | None:
    if isinstance(batch, torch.Tensor):
        return batch
    values = batch.values() if isinstance(batch, Mapping) else batch
    if isinstance(values, Iterable) and not isinstance(values, str | bytes):
        for value in values:
            found = _first_tensor(value)
            if found is not None:
                return found
    return None


def _batch_len(batch: Any) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    tensor = _first_tensor(batch)
    if tensor is not None and tensor.dim() > 0:
        return int(tensor.shape[0])
    if isinstance(batch, Sequence) and not isinstance(batch, str | bytes):
        return len(batch)
    return 1


def _check_loss(loss: Any, where: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor ({where}), got {shape}")
    return loss.reshape(())


def _epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling seed of ``epoch``: depends on (seed, epoch) only, well mixed."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return int(state) & (2**63 - 1)


def _loader(
    data: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    collate_fn: Callable | None,
    pin_memory: bool,
) -> DataLoader:
    # Every loader gets its own generator: the sampler shuffles from it, and the loader's
    # iterator draws its base seed from it instead of from the global torch RNG.
    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        data,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=generator,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
    )


# --------------------------------------------------------------------------------------------
# RNG states, fingerprint, checkpoint files
# --------------------------------------------------------------------------------------------


def _rng_state(device: torch.device) -> dict[str, Any]:
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


def _set_rng_state(state: Mapping[str, Any], seed: int) -> None:
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


def _jsonable_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError(f"config must be a dict of the run's settings, got {type(config)}")
    return json.loads(json.dumps(dict(config), sort_keys=True, default=str))


def _fingerprint(
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


def _fingerprint_diff(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints ("there" = checkpoint, "here" = now)."""
    lines: list[str] = []
    missing = "<not set>"
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key, missing), current.get(key, missing)
        if old == new:
            continue
        if key == "config" and isinstance(old, Mapping) and isinstance(new, Mapping):
            for name in sorted(set(old) | set(new)):
                a, b = old.get(name, missing), new.get(name, missing)
                if a != b:
                    lines.append(
                        f"config[{name!r}]: {_short(a)} in the checkpoint, {_short(b)} now"
                    )
        elif key == "model" and isinstance(old, list) and isinstance(new, list):
            a = {entry[0]: tuple(map(str, entry[1:])) for entry in old}
            b = {entry[0]: tuple(map(str, entry[1:])) for entry in new}
            diffs = [
                f"model tensor {name!r}: {a.get(name, missing)} in the checkpoint, "
                f"{b.get(name, missing)} now"
                for name in sorted(set(a) | set(b))
                if a.get(name) != b.get(name)
            ]
            lines.extend(diffs[:5])
            if len(diffs) > 5:
                lines.append(f"... and {len(diffs) - 5} more model tensors differ")
        else:
            lines.append(f"{key}: {_short(old)} in the checkpoint, {_short(new)} now")
    return lines


def _load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint (tensors to CPU, no arbitrary pickles); a clear error if it can't be."""
    hint = "it was left in place; delete it to start over, or give another checkpoint path"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to read is reported the same way
        raise CheckpointError(
            f"checkpoint {path} could not be read ({type(exc).__name__}: {_short(str(exc), 200)});"
            f" {hint}"
        ) from exc
    required = {"format", "fingerprint", "epoch", "model", "optimizer", "history", "rng"}
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} is not a dlwild training checkpoint ({CHECKPOINT_FORMAT}); {hint}"
        )
    if not required <= set(state):
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(sorted(required - set(state)))}; {hint}"
        )
    return state


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
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


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def _improved(value: float | None, best: float | None, mode: str) -> bool:
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best if mode == "min" else value > best


def _validate(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    evaluate: Callable[[torch.nn.Module, Any], Mapping[str, float]] | None,
    device: torch.device,
    non_blocking: bool,
) -> dict[str, float]:
    """Validation loss and ``evaluate`` metrics, averaged over samples (eval mode, no grad).

    A metric that is NaN for a batch (undefined there, e.g. a class loss on a crop without
    objects) is averaged over the batches where it is defined; NaN when defined in none."""
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    metric_sums: dict[str, float] = {}
    metric_counts: dict[str, int] = {}
    count = 0
    with torch.no_grad():
        for batch in loader:
            batch = to_device(batch, device, non_blocking)
            n = _batch_len(batch)
            loss = _check_loss(loss_fn(model, batch), "validation")
            loss_sum += loss.detach().double() * n
            if evaluate is not None:
                for name, value in evaluate(model, batch).items():
                    if name in _RESERVED:
                        raise ValueError(
                            f"evaluate returned {name!r}, a name fit records itself; rename it"
                        )
                    metric_sums.setdefault(name, 0.0)
                    metric_counts.setdefault(name, 0)
                    if not math.isnan(float(value)):
                        metric_sums[name] += float(value) * n
                        metric_counts[name] += n
            count += n
    if count == 0:
        raise ValueError("val_data yielded no samples")
    record = {"val_loss": float(loss_sum.item()) / count}
    record.update({name: total / metric_counts[name] if metric_counts[name] else math.nan
                   for name, total in metric_sums.items()})
    return record


def fit(
    model: torch.nn.Module,
    train_data: Dataset,
    *,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer],
    epochs: int,
    batch_size: int,
    val_data: Dataset | None = None,
    evaluate: Callable[[torch.nn.Module, Any], Mapping[str, float]] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    early_stopping: int | None = None,
    monitor: str = "val_loss",
    mode: str = "min",
    config: Mapping[str, Any] | None = None,
    progress: bool = True,
    desc: str | None = None,
    callbacks: Sequence[Callable[[int, History], Any]] = (),
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    clip_grad_norm: float | None = None,
    checkpoint_every_s: float = 0.0,
) -> History:
    """Train ``model`` for ``epochs`` epochs, deterministically and resumably; return its History.

    ``loss_fn(model, batch)`` gives the scalar loss of a batch already on the device;
    ``optimizer(params)`` builds the optimizer (and ``scheduler(optimizer)`` an optional LR
    scheduler, stepped once per epoch; ReduceLROnPlateau gets ``monitor``'s value).  With
    ``val_data`` the validation loss (and ``evaluate(model, batch)`` metrics) is computed each
    epoch in eval mode without gradients, averaged over samples.

    A fresh run seeds python/numpy/torch with ``seed``; epoch ``k`` is shuffled from a generator
    seeded by ``(seed, k)``.  With ``checkpoint``, the state is written atomically after every
    epoch and an existing file is resumed (a different run's file is refused), so an interrupted
    run continued later ends with exactly the weights of an uninterrupted one.  With
    ``early_stopping=patience``, training stops after ``patience`` epochs without improvement of
    ``monitor`` (``mode`` min/max) and the model gets the best epoch's weights.

    ``checkpoint_every_s > 0`` writes the checkpoint only when that many seconds have passed
    since the last one (and after the last epoch): for big models, whose checkpoint costs more
    than an epoch on a GPU; an interrupted run then repeats at most that much work.

    ``callbacks`` are called as ``cb(epoch, history)`` after each epoch (and its checkpoint,
    when one is due). The model is returned in eval mode.
    """
    # ---- arguments -------------------------------------------------------------------------
    for name, value, low in (("epochs", epochs, 1), ("batch_size", batch_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if early_stopping is not None and (
        not isinstance(early_stopping, int) or isinstance(early_stopping, bool)
        or early_stopping < 1
    ):
        raise ConfigError(
            f"early_stopping must be a patience >= 1 (epochs), got {early_stopping!r}"
        )
    check_choice("mode", mode, MODES)
    if evaluate is not None and val_data is None:
        raise ConfigError("evaluate was given without val_data to evaluate on")
    if early_stopping is not None and monitor == "val_loss" and val_data is None:
        raise ConfigError("early stopping monitors 'val_loss', but no val_data was given")
    if not checkpoint_every_s >= 0:
        raise ConfigError(f"checkpoint_every_s must be >= 0 seconds, got {checkpoint_every_s!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ConfigError(f"clip_grad_norm must be positive, got {clip_grad_norm!r}")
    if len(train_data) == 0:
        raise ValueError("train_data is empty")

    dev = device if isinstance(device, torch.device) else select_device(device)
    non_blocking = dev.type == "cuda"
    model.to(dev)
    opt = optimizer(model.parameters())
    if not isinstance(opt, torch.optim.Optimizer):
        raise ConfigError(
            "optimizer must be a callable params -> torch.optim.Optimizer, "
            "e.g. lambda p: torch.optim.Adam(p, lr=1e-3)"
        )
    sched = scheduler(opt) if scheduler is not None else None
    plateau = isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau)
    fingerprint = _fingerprint(model, config, batch_size, seed, early_stopping, monitor, mode)
    path = Path(checkpoint) if checkpoint is not None else None

    # ---- fresh start or resume -------------------------------------------------------------
    history = History()
    start = 0
    best_value: float | None = None
    bad_epochs = 0
    best_state: dict[str, torch.Tensor] | None = None
    if path is not None and path.exists():
        state = _load_checkpoint(path)
        diff = _fingerprint_diff(state["fingerprint"], fingerprint)
        if diff:
            raise CheckpointMismatch(
                f"checkpoint {path} was written by a different run, so it is not resumed:\n  "
                + "\n  ".join(diff)
                + "\nDelete it (or use another checkpoint path) to train this run from scratch."
            )
        start = int(state["epoch"])
        history = History.from_dict(state["history"])
        if start > epochs:
            raise CheckpointError(
                f"checkpoint {path} holds {start} trained epochs, more than epochs={epochs}; "
                "raise epochs or delete the checkpoint"
            )
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            if sched is not None:
                if state.get("scheduler") is None:
                    raise ValueError("it has no scheduler state, but this run uses a scheduler")
                sched.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"checkpoint {path} does not fit this run: {exc}") from exc
        stopping = state.get("early_stopping") or {}
        best_value = stopping.get("best_value")
        bad_epochs = int(stopping.get("bad_epochs", 0))
        best_state = stopping.get("best_state")
        _set_rng_state(state["rng"], seed)
        log.info("resuming %s from %s after epoch %d of %d", desc or "training", path, start,
                 epochs)
    else:
        seed_everything(seed)

    def finish() -> History:
        if early_stopping is not None and best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        return history

    if history.stopped_early or start >= epochs:
        return finish()
    here = hardware_name(dev)
    if history.hardware is None:
        history.hardware = here
    elif here not in history.hardware.split(" + "):
        history.hardware = f"{history.hardware} + {here}"  # resumed on other hardware

    # ---- epochs ----------------------------------------------------------------------------
    pin = dev.type == "cuda"
    val_loader = (
        _loader(val_data, batch_size, shuffle=False, seed=seed, collate_fn=collate_fn,
                pin_memory=pin)
        if val_data is not None else None
    )
    last_saved = time.perf_counter()
    bar = progress_bar(
        total=epochs, initial=start, desc=desc or "training", unit="epoch", disable=not progress
    )
    try:
        for epoch in range(start + 1, epochs + 1):
            began = time.perf_counter()
            lr = float(opt.param_groups[0]["lr"])
            if hasattr(train_data, "set_epoch"):  # data drawn afresh each epoch (e.g. snippets)
                train_data.set_epoch(epoch)
            loader = _loader(train_data, batch_size, shuffle=True, seed=_epoch_seed(seed, epoch),
                             collate_fn=collate_fn, pin_memory=pin)
            model.train()
            loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
            count = 0
            batches = progress_bar(loader, nested=True, desc=f"epoch {epoch}", unit="batch",
                                   disable=not progress)
            try:
                for batch in batches:
                    batch = to_device(batch, dev, non_blocking)
                    n = _batch_len(batch)
                    loss = _check_loss(loss_fn(model, batch), "training")
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if clip_grad_norm is not None:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                    opt.step()
                    loss_sum += loss.detach().double() * n
                    count += n
            finally:
                batches.close()
            train_loss = float(loss_sum.item()) / count
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"the training loss is {train_loss} in epoch {epoch}; stopping (the "
                    f"checkpoint, if any, still holds epoch {epoch - 1})"
                )
            record: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss}
            if val_loader is not None:
                record.update(_validate(model, val_loader, loss_fn, evaluate, dev, non_blocking))
            record["lr"] = lr
            record["seconds"] = time.perf_counter() - began

            if early_stopping is not None:
                if monitor not in record:
                    raise ConfigError(
                        f"monitor={monitor!r} is not among the epoch's values "
                        f"({', '.join(record)})"
                    )
                value = float(record[monitor])
                if _improved(value, best_value, mode):
                    best_value, bad_epochs = value, 0
                    best_state = _cpu_state(model)
                    history.best_epoch = epoch
                else:
                    bad_epochs += 1
                if bad_epochs >= early_stopping and epoch < epochs:
                    history.stopped_early = True
            if sched is not None:
                if plateau:
                    key = monitor if monitor in record else (
                        "val_loss" if "val_loss" in record else "train_loss")
                    sched.step(record[key])
                else:
                    sched.step()
            history.epochs.append(record)

            due = (checkpoint_every_s <= 0 or epoch == epochs or history.stopped_early
                   or time.perf_counter() - last_saved >= checkpoint_every_s)
            if path is not None and due:
                last_saved = time.perf_counter()
                _save_checkpoint(path, {
                    "format": CHECKPOINT_FORMAT,
                    "fingerprint": fingerprint,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else None,
                    "history": copy.deepcopy(history.to_dict()),
                    "rng": _rng_state(dev),
                    "early_stopping": {
                        "best_value": best_value,
                        "bad_epochs": bad_epochs,
                        "best_state": best_state,
                    },
                })
            postfix = {k: f"{v:.4g}" for k, v in record.items()
                       if k not in ("epoch", "seconds", "lr") and isinstance(v, float)}
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            for callback in callbacks:
                callback(epoch, history)
            if history.stopped_early:
                break
    finally:
        bar.close()
    return finish()


def cached_training(
    name: str,
    parts: Mapping[str, Any],
    make: Callable[[], torch.nn.Module],
    train: Callable[[torch.nn.Module, Path], History],
    *,
    seed: int,
    store: Any = None,
) -> tuple[torch.nn.Module, History]:
    """A model and its History, trained once and then loaded: artifact ``name`` keyed by
    ``parts`` (code, parameters, data) in ``store`` (default the user's ArtifactCache).

    Training seeds torch with ``seed``, builds the model with ``make()`` and calls
    ``train(model, checkpoint)``, which hands ``checkpoint`` to :func:`fit`: an interrupted
    training (a killed process, a lost GPU lease) resumes from its last epoch on the next call
    and ends with the weights of an uninterrupted one; the checkpoint is deleted once the
    artifact is saved. The artifact holds ``model.pt`` and ``history.json``; reading it back
    builds a fresh ``make()`` and loads the weights. The model is returned on the CPU."""
    from dlwild.core import cache

    store = store if store is not None else cache.ArtifactCache()
    checkpoint = store.checkpoint_path(name, cache.parts_key(parts))

    def build() -> tuple[torch.nn.Module, History]:
        torch.manual_seed(seed)
        model = make()
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        history = train(model, checkpoint)
        return model.cpu(), history

    def write(value: tuple[torch.nn.Module, History], folder: Path) -> None:
        cache.save_torch_state(value[0], folder / "model.pt")
        (folder / "history.json").write_text(json.dumps(value[1].to_dict()))

    def read(folder: Path) -> tuple[torch.nn.Module, History]:
        model = make()
        model.load_state_dict(cache.load_torch_state(folder / "model.pt"))
        return model, History.from_dict(json.loads((folder / "history.json").read_text()))

    result = store.get_or_create(name, parts, build, write, read)
    checkpoint.unlink(missing_ok=True)
    return result
