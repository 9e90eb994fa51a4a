"""The one training loop every chapter uses: deterministic, resumable, with early stopping.

``fit`` owns the optimizer (it is given a factory), seeds the run, shuffles each epoch from a
generator seeded by ``(seed, epoch)``, and can write an atomic checkpoint after every epoch that
holds everything needed to continue bit-for-bit: weights, optimizer and scheduler state, history,
the global RNG states and the early-stopping state.  A checkpoint written by a different run
(config, model, batch size, seed, early stopping) is refused, never silently reused.

``fit`` checks its arguments, grouped by :mod:`.fit_arguments`, and hands them to a
:class:`Trainer`, whose methods each do one part of a run. The rest lives beside it and is
re-exported here: :mod:`.history` (``History``), :mod:`.progress` (``progress_bar``),
:mod:`.hardware` (``hardware_name``, ``to_device``), :mod:`.batches` (seeded loaders) and
:mod:`.checkpoint` (fingerprint, files, RNG states, ``CheckpointError``).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from .batches import batch_len, epoch_seed, seeded_loader
from .checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    CheckpointMismatch,
    fingerprint,
    load_own_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from .config import ConfigError, seed_everything, select_device
from .fit_arguments import (
    Checkpointing,
    Data,
    EarlyStopping,
    Objective,
    Optimization,
    Reporting,
    check_arguments,
)
from .hardware import hardware_name, to_device
from .history import History
from .progress import progress_bar

__all__ = [
    "CheckpointError",
    "CheckpointMismatch",
    "History",
    "Trainer",
    "cached_training",
    "fit",
    "progress_bar",
    "hardware_name",
    "to_device",
]

log = logging.getLogger(__name__)

_RESERVED = ("epoch", "train_loss", "val_loss", "lr", "seconds")
_epoch_seed = epoch_seed  # its name here before the split into modules


# --------------------------------------------------------------------------------------------
# What the trainer keeps and counts
# --------------------------------------------------------------------------------------------


@dataclass
class _Best:
    """The early-stopping state: the best monitored value, the epochs since it, its weights."""

    value: float | None = None
    bad_epochs: int = 0
    state: dict[str, torch.Tensor] | None = None

    def to_checkpoint(self) -> dict[str, Any]:
        return {"best_value": self.value, "bad_epochs": self.bad_epochs, "best_state": self.state}

    @classmethod
    def from_checkpoint(cls, saved: Mapping[str, Any]) -> _Best:
        return cls(saved.get("best_value"), int(saved.get("bad_epochs", 0)),
                   saved.get("best_state"))


def _check_loss(loss: Any, where: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor ({where}), got {shape}")
    return loss.reshape(())


def _cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class _SampleMeans:
    """``evaluate`` metrics averaged over samples; a batch where a metric is NaN (undefined
    there) does not count for it, and a metric defined in no batch is NaN."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: Mapping[str, float], n: int) -> None:
        for name, value in values.items():
            if name in _RESERVED:
                raise ValueError(
                    f"evaluate returned {name!r}, a name fit records itself; rename it"
                )
            self.sums.setdefault(name, 0.0)
            self.counts.setdefault(name, 0)
            if not math.isnan(float(value)):
                self.sums[name] += float(value) * n
                self.counts[name] += n

    def means(self) -> dict[str, float]:
        return {name: total / self.counts[name] if self.counts[name] else math.nan
                for name, total in self.sums.items()}


# --------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------


class Trainer:
    """One :func:`fit` run: built with its model, optimizer and scheduler, then :meth:`run`
    starts or resumes it and trains the epochs still to do."""

    def __init__(
        self, model: torch.nn.Module, *, seed: int, device: str | torch.device, data: Data,
        objective: Objective, optimization: Optimization, stopping: EarlyStopping,
        checkpointing: Checkpointing, reporting: Reporting,
    ) -> None:
        self.model, self.seed, self.data, self.objective = model, seed, data, objective
        self.optimization, self.stopping = optimization, stopping
        self.checkpointing, self.reporting = checkpointing, reporting
        self.device = device if isinstance(device, torch.device) else select_device(device)
        self.non_blocking = self.device.type == "cuda"
        model.to(self.device)
        self.optimizer = optimization.optimizer(model.parameters())
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise ConfigError(
                "optimizer must be a callable params -> torch.optim.Optimizer, "
                "e.g. lambda p: torch.optim.Adam(p, lr=1e-3)"
            )
        make_scheduler = optimization.scheduler
        self.scheduler = make_scheduler(self.optimizer) if make_scheduler is not None else None
        self.fingerprint = fingerprint(model, checkpointing.config, data.batch_size, seed,
                                       stopping.patience, stopping.monitor, stopping.mode)
        self.path = Path(checkpointing.path) if checkpointing.path is not None else None
        self.history = History()
        self.start = 0  # epochs trained before this run (by the run it resumes)
        self.best = _Best()
        self.last_saved = 0.0

    def run(self) -> History:
        """Train the epochs not trained yet; the History, with the model in eval mode."""
        self.start_or_resume()
        epochs = self.optimization.epochs
        if self.history.stopped_early or self.start >= epochs:
            return self.finish()
        self.history.add_hardware(hardware_name(self.device))
        val_loader = self._loader(self.data.val, shuffle=False, seed=self.seed)
        self.last_saved = time.perf_counter()
        bar = progress_bar(total=epochs, initial=self.start, unit="epoch",
                           desc=self.reporting.desc or "training",
                           disable=not self.reporting.progress)
        try:
            for epoch in range(self.start + 1, epochs + 1):
                record = self.epoch(epoch, val_loader)
                self.end_epoch(epoch, record, bar)
                if self.history.stopped_early:
                    break
        finally:
            bar.close()
        return self.finish()

    def start_or_resume(self) -> None:
        """Resume from this run's checkpoint if there is one, else seed a fresh run."""
        path = self.path
        if path is None or not path.exists():
            seed_everything(self.seed)
            return
        state = load_own_checkpoint(path, self.fingerprint)
        epochs = self.optimization.epochs
        self.start = int(state["epoch"])
        self.history = History.from_dict(state["history"])
        if self.start > epochs:
            raise CheckpointError(
                f"checkpoint {path} holds {self.start} trained epochs, more than epochs={epochs}; "
                "raise epochs or delete the checkpoint"
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                if state.get("scheduler") is None:
                    raise ValueError("it has no scheduler state, but this run uses a scheduler")
                self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"checkpoint {path} does not fit this run: {exc}") from exc
        self.best = _Best.from_checkpoint(state.get("early_stopping") or {})
        restore_rng_state(state["rng"], self.seed)
        log.info("resuming %s from %s after epoch %d of %d",
                 self.reporting.desc or "training", path, self.start, epochs)

    def _loader(self, data: Dataset | None, *, shuffle: bool, seed: int) -> DataLoader | None:
        if data is None:
            return None
        return seeded_loader(data, self.data.batch_size, shuffle=shuffle, seed=seed,
                             collate_fn=self.data.collate_fn,
                             pin_memory=self.device.type == "cuda")

    def epoch(self, epoch: int, val_loader: DataLoader | None) -> dict[str, Any]:
        """Train epoch ``epoch`` (counted from 1) and validate: the epoch's record."""
        began = time.perf_counter()
        lr = float(self.optimizer.param_groups[0]["lr"])
        record: dict[str, Any] = {"epoch": epoch, "train_loss": self.train_epoch(epoch)}
        if val_loader is not None:
            record.update(self.validate(val_loader))
        record["lr"] = lr
        record["seconds"] = time.perf_counter() - began
        return record

    def train_epoch(self, epoch: int) -> float:
        """One pass over the training data in epoch ``epoch``'s order: the loss per sample."""
        train = self.data.train
        if hasattr(train, "set_epoch"):  # data drawn afresh each epoch (e.g. snippets)
            train.set_epoch(epoch)
        loader = self._loader(train, shuffle=True, seed=epoch_seed(self.seed, epoch))
        self.model.train()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        batches = progress_bar(loader, nested=True, desc=f"epoch {epoch}", unit="batch",
                               disable=not self.reporting.progress)
        try:
            for batch in batches:
                batch = to_device(batch, self.device, self.non_blocking)
                n = batch_len(batch)
                loss_sum += self.step(batch) * n
                count += n
        finally:
            batches.close()
        train_loss = float(loss_sum.item()) / count
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"the training loss is {train_loss} in epoch {epoch}; stopping (the "
                f"checkpoint, if any, still holds epoch {epoch - 1})"
            )
        return train_loss

    def step(self, batch: Any) -> torch.Tensor:
        """One optimizer step on a batch already on the device: its loss, detached, float64."""
        loss = _check_loss(self.objective.loss_fn(self.model, batch), "training")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.optimization.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(),
                                           self.optimization.clip_grad_norm)
        self.optimizer.step()
        return loss.detach().double()

    def validate(self, loader: DataLoader) -> dict[str, float]:
        """Validation loss and ``evaluate`` metrics, averaged over samples (eval mode, no grad)."""
        self.model.eval()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        metrics = _SampleMeans()
        count = 0
        with torch.no_grad():
            for batch in loader:
                batch = to_device(batch, self.device, self.non_blocking)
                n = batch_len(batch)
                loss = _check_loss(self.objective.loss_fn(self.model, batch), "validation")
                loss_sum += loss.detach().double() * n
                if self.objective.evaluate is not None:
                    metrics.add(self.objective.evaluate(self.model, batch), n)
                count += n
        if count == 0:
            raise ValueError("val_data yielded no samples")
        return {"val_loss": float(loss_sum.item()) / count, **metrics.means()}

    def end_epoch(self, epoch: int, record: dict[str, Any], bar: Any) -> None:
        """Book a trained epoch: early stopping, scheduler, history, checkpoint, bar, callbacks."""
        self.track_best(epoch, record)
        self.step_scheduler(record)
        self.history.epochs.append(record)
        if self.path is not None and self.checkpoint_due(epoch):
            self.save(epoch)
        postfix = {k: f"{v:.4g}" for k, v in record.items()
                   if k not in ("epoch", "seconds", "lr") and isinstance(v, float)}
        bar.set_postfix(postfix, refresh=False)
        bar.update(1)
        for callback in self.reporting.callbacks:
            callback(epoch, self.history)

    def track_best(self, epoch: int, record: Mapping[str, Any]) -> None:
        """Early stopping: keep the best epoch's weights, and stop when patience runs out."""
        stopping, best = self.stopping, self.best
        if stopping.patience is None:
            return
        if stopping.monitor not in record:
            raise ConfigError(
                f"monitor={stopping.monitor!r} is not among the epoch's values "
                f"({', '.join(record)})"
            )
        value = float(record[stopping.monitor])
        if stopping.improved(value, best.value):
            best.value, best.bad_epochs = value, 0
            best.state = _cpu_state(self.model)
            self.history.best_epoch = epoch
        else:
            best.bad_epochs += 1
        if best.bad_epochs >= stopping.patience and epoch < self.optimization.epochs:
            self.history.stopped_early = True

    def step_scheduler(self, record: Mapping[str, Any]) -> None:
        """Step the LR scheduler once per epoch; ReduceLROnPlateau gets the monitored value."""
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            monitor = self.stopping.monitor
            key = monitor if monitor in record else (
                "val_loss" if "val_loss" in record else "train_loss")
            self.scheduler.step(record[key])
        else:
            self.scheduler.step()

    def checkpoint_due(self, epoch: int) -> bool:
        """Whether to save after ``epoch``: always after the last, else when the interval passed."""
        every_s = self.checkpointing.every_s
        return (every_s <= 0 or epoch == self.optimization.epochs or self.history.stopped_early
                or time.perf_counter() - self.last_saved >= every_s)

    def save(self, epoch: int) -> None:
        """Write everything needed to continue bit-for-bit after ``epoch`` to the checkpoint."""
        assert self.path is not None
        self.last_saved = time.perf_counter()
        save_checkpoint(self.path, {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "history": copy.deepcopy(self.history.to_dict()),
            "rng": rng_state(self.device),
            "early_stopping": self.best.to_checkpoint(),
        })

    def finish(self) -> History:
        """Give the model its best epoch's weights (early stopping) and eval mode."""
        if self.stopping.patience is not None and self.best.state is not None:
            self.model.load_state_dict(self.best.state)
        self.model.eval()
        return self.history


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


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
    data = Data(train_data, val_data, batch_size, collate_fn)
    objective = Objective(loss_fn, evaluate)
    optimization = Optimization(epochs, optimizer, scheduler, clip_grad_norm)
    stopping = EarlyStopping(early_stopping, monitor, mode)
    checkpointing = Checkpointing(checkpoint, checkpoint_every_s, config)
    check_arguments(seed, data, objective, optimization, stopping, checkpointing)
    return Trainer(
        model, seed=seed, device=device, data=data, objective=objective,
        optimization=optimization, stopping=stopping, checkpointing=checkpointing,
        reporting=Reporting(progress, desc, callbacks),
    ).run()


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
