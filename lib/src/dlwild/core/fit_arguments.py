"""The keyword arguments of :func:`dlwild.core.train.fit`, grouped into small frozen records by
what they are about, and checked before anything is built or trained."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from .config import ConfigError, check_choice
from .history import History

__all__ = [
    "Checkpointing",
    "Data",
    "EarlyStopping",
    "Objective",
    "Optimization",
    "Reporting",
    "check_arguments",
]

MODES = ("min", "max")


@dataclass(frozen=True)
class Data:
    """What a run trains and validates on, and the batches it is cut into."""

    train: Dataset
    val: Dataset | None
    batch_size: int
    collate_fn: Callable[[list[Any]], Any] | None


@dataclass(frozen=True)
class Objective:
    """The loss a run minimizes, ``loss_fn(model, batch)``, and the metrics it reports."""

    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor]
    evaluate: Callable[[torch.nn.Module, Any], Mapping[str, float]] | None


@dataclass(frozen=True)
class Optimization:
    """How the weights are updated: for how many epochs, by what optimizer and LR scheduler
    (factories), with what gradient clipping."""

    epochs: int
    optimizer: Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
    scheduler: Callable[[torch.optim.Optimizer], Any] | None
    clip_grad_norm: float | None


@dataclass(frozen=True)
class EarlyStopping:
    """Stop after ``patience`` epochs without improvement of ``monitor`` (``None``: never)."""

    patience: int | None
    monitor: str
    mode: str

    def improved(self, value: float | None, best: float | None) -> bool:
        """Whether ``value`` beats ``best`` (a non-finite value never does)."""
        if value is None or not math.isfinite(value):
            return False
        if best is None:
            return True
        return value < best if self.mode == "min" else value > best


@dataclass(frozen=True)
class Checkpointing:
    """Where a run's state is saved (``None``: nowhere), at most how often, and the config
    that, with the model, batch size, seed and early stopping, identifies the run."""

    path: str | os.PathLike[str] | None
    every_s: float
    config: Mapping[str, Any] | None


@dataclass(frozen=True)
class Reporting:
    """What a run shows and tells as it goes: progress bars and per-epoch callbacks."""

    progress: bool
    desc: str | None
    callbacks: Sequence[Callable[[int, History], Any]]


def _check_integer(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")


def check_arguments(
    seed: int, data: Data, objective: Objective, optimization: Optimization,
    stopping: EarlyStopping, checkpointing: Checkpointing,
) -> None:
    """Refuse arguments :func:`fit` cannot work with, before anything is built or trained."""
    _check_integer("epochs", optimization.epochs, 1)
    _check_integer("batch_size", data.batch_size, 1)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    patience = stopping.patience
    if patience is not None and (
        not isinstance(patience, int) or isinstance(patience, bool) or patience < 1
    ):
        raise ConfigError(f"early_stopping must be a patience >= 1 (epochs), got {patience!r}")
    check_choice("mode", stopping.mode, MODES)
    if objective.evaluate is not None and data.val is None:
        raise ConfigError("evaluate was given without val_data to evaluate on")
    if patience is not None and stopping.monitor == "val_loss" and data.val is None:
        raise ConfigError("early stopping monitors 'val_loss', but no val_data was given")
    if not checkpointing.every_s >= 0:
        raise ConfigError(
            f"checkpoint_every_s must be >= 0 seconds, got {checkpointing.every_s!r}")
    clip = optimization.clip_grad_norm
    if clip is not None and not clip > 0:
        raise ConfigError(f"clip_grad_norm must be positive, got {clip!r}")
    if len(data.train) == 0:
        raise ValueError("train_data is empty")
