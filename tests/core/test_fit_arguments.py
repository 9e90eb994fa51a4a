"""Tests of dlwild.core.fit_arguments: fit's grouped arguments, their checks, and what counts
as an improvement for early stopping."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from dlwild.core.config import ConfigError
from dlwild.core.fit_arguments import (
    Checkpointing,
    Data,
    EarlyStopping,
    Objective,
    Optimization,
    check_arguments,
)

TRAIN = TensorDataset(torch.zeros(4, 2))


def check(seed=0, *, train=TRAIN, val=None, batch_size=2, evaluate=None, epochs=1,
          clip=None, patience=None, monitor="val_loss", mode="min", every_s=0.0):
    check_arguments(seed, Data(train, val, batch_size, None), Objective(lambda m, b: 0, evaluate),
                    Optimization(epochs, torch.optim.SGD, None, clip),
                    EarlyStopping(patience, monitor, mode), Checkpointing(None, every_s, None))


def test_good_arguments_pass():
    check()
    check(val=TRAIN, evaluate=lambda m, b: {}, patience=2, mode="max", clip=1.0, every_s=60)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": True}, "batch_size must be an integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"patience": 0, "val": TRAIN}, "early_stopping must be a patience"),
        ({"mode": "lowest"}, "mode"),
        ({"evaluate": lambda m, b: {}}, "evaluate was given without val_data"),
        ({"patience": 2}, "monitors 'val_loss', but no val_data"),
        ({"every_s": math.nan}, "checkpoint_every_s"),
        ({"clip": 0.0}, "clip_grad_norm must be positive"),
    ],
)
def test_bad_arguments_are_config_errors(kw, expected):
    with pytest.raises(ConfigError, match=expected):
        check(**kw)


def test_the_first_problem_in_fits_order_is_named():
    with pytest.raises(ConfigError, match="epochs"):
        check(epochs=0, batch_size=0, seed=-1)


def test_empty_training_data_is_refused():
    with pytest.raises(ValueError, match="train_data is empty"):
        check(train=TensorDataset(torch.zeros(0, 2)))


@pytest.mark.parametrize(
    ("mode", "value", "best", "improved"),
    [("min", 1.0, None, True), ("min", 1.0, 2.0, True), ("min", 2.0, 2.0, False),
     ("max", 3.0, 2.0, True), ("max", 1.0, 2.0, False), ("min", math.nan, None, False),
     ("min", math.inf, 2.0, False), ("max", None, 1.0, False)],
)
def test_what_counts_as_an_improvement(mode, value, best, improved):
    assert EarlyStopping(2, "val_loss", mode).improved(value, best) is improved
