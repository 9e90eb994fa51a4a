"""Tests of dlwild.core.history alone: the record of a run, its JSON round trip, the final
value and the hardware it ran on."""

from __future__ import annotations

import json

import pytest

from dlwild.core.history import History


def test_final_reads_the_best_epoch_when_early_stopping_restored_it():
    history = History(epochs=[{"epoch": 1, "val_loss": 2.0}, {"epoch": 2, "val_loss": 1.0},
                              {"epoch": 3, "val_loss": 1.5}], best_epoch=2, stopped_early=True)
    assert history.final("val_loss") == 1.0
    assert History(epochs=history.epochs).final("val_loss") == 1.5
    assert History.from_dict(json.loads(json.dumps(history.to_dict()))) == history
    with pytest.raises(KeyError, match="empty"):
        History().final("val_loss")


def test_the_hardware_is_named_once_and_added_when_resumed_elsewhere():
    history = History()
    history.add_hardware("x86_64 CPU (2 threads)")
    history.add_hardware("x86_64 CPU (2 threads)")
    assert history.hardware == "x86_64 CPU (2 threads)"
    history.add_hardware("NVIDIA H200")
    history.add_hardware("x86_64 CPU (2 threads)")
    assert history.hardware == "x86_64 CPU (2 threads) + NVIDIA H200"
