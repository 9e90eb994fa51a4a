"""Tests of dlwild.core.checkpoint alone: a round trip through the file, refusal of another
run's checkpoint (and of files that are no checkpoint), fingerprint differences, RNG states."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from dlwild.core.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    CheckpointMismatch,
    fingerprint,
    fingerprint_diff,
    load_checkpoint,
    load_own_checkpoint,
    restore_rng_state,
    rng_state,
    save_checkpoint,
)
from dlwild.core.config import ConfigError

CPU = torch.device("cpu")


def print_of(model: nn.Module, **kw) -> dict:
    args = {"config": {"lr": 0.01}, "batch_size": 16, "seed": 0, "early_stopping": None,
            "monitor": "val_loss", "mode": "min"}
    args.update(kw)
    return fingerprint(model, args.pop("config"), **args)


def state_of(model: nn.Module, epoch: int = 2, **kw) -> dict:
    return {"format": CHECKPOINT_FORMAT, "fingerprint": print_of(model, **kw), "epoch": epoch,
            "model": model.state_dict(), "optimizer": {"state": {}, "param_groups": []},
            "history": {"epochs": [{"epoch": 1}, {"epoch": 2}]}, "rng": rng_state(CPU)}


def test_a_saved_checkpoint_reads_back_for_its_own_run(tmp_path):
    model = nn.Linear(3, 2)
    path = tmp_path / "deep" / "run.pt"  # the folder is created
    save_checkpoint(path, state_of(model))
    state = load_own_checkpoint(path, print_of(model))
    assert state["epoch"] == 2 and state["fingerprint"] == print_of(model)
    for key, tensor in model.state_dict().items():
        assert torch.equal(state["model"][key], tensor)
    assert [p.name for p in path.parent.iterdir()] == ["run.pt"]  # no temporary file left


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"config": {"lr": 0.1}}, r"config\['lr'\]: 0.01 in the checkpoint, 0.1 now"),
        ({"batch_size": 8}, r"batch_size: 16 in the checkpoint, 8 now"),
        ({"seed": 3}, r"seed: 0 in the checkpoint, 3 now"),
        ({"early_stopping": 2}, r"early_stopping: None in the checkpoint, \{'patience': 2"),
    ],
)
def test_another_runs_checkpoint_is_refused_and_kept(tmp_path, change, expected):
    model = nn.Linear(3, 2)
    path = tmp_path / "run.pt"
    save_checkpoint(path, state_of(model))
    before = path.read_bytes()
    with pytest.raises(CheckpointMismatch, match=expected) as info:
        load_own_checkpoint(path, print_of(model, **change))
    assert str(path) in str(info.value) and "Delete it" in str(info.value)
    assert path.read_bytes() == before


def test_another_model_is_named_tensor_by_tensor_at_most_five():
    small, wide = nn.Sequential(*[nn.Linear(2, 2) for _ in range(4)]), nn.Linear(5, 5)
    lines = fingerprint_diff(print_of(small), print_of(wide))
    assert lines[0] == "model tensor '0.bias': ('[2]', 'float32') in the checkpoint, <not set> now"
    assert len([line for line in lines if line.startswith("model tensor")]) == 5
    assert lines[5:] == ["... and 5 more model tensors differ",  # 8 tensors there, 2 here
                         "model_class: 'Sequential' in the checkpoint, 'Linear' now"]
    assert fingerprint_diff(print_of(small), print_of(small)) == []


def test_the_fingerprint_holds_what_identifies_a_run():
    model = nn.Linear(3, 2)
    print_ = print_of(model, config={"b": 1, "a": (1, 2)}, early_stopping=4, mode="max")
    assert print_ == {
        "config": {"a": [1, 2], "b": 1},  # as JSON would read it back
        "model_class": "Linear",
        "model": [["weight", [2, 3], "float32"], ["bias", [2], "float32"]],
        "batch_size": 16,
        "seed": 0,
        "early_stopping": {"patience": 4, "monitor": "val_loss", "mode": "max"},
    }
    with pytest.raises(ConfigError, match="config must be a dict"):
        print_of(model, config=[1, 2])


@pytest.mark.parametrize("content", ["garbage", "not-a-checkpoint", "incomplete"])
def test_a_file_that_is_no_usable_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / "run.pt"
    if content == "garbage":
        path.write_bytes(b"no torch file")
    elif content == "not-a-checkpoint":
        torch.save({"weights": torch.zeros(2)}, path)
    else:
        torch.save({"format": CHECKPOINT_FORMAT, "epoch": 1}, path)
    with pytest.raises(CheckpointError, match="left in place") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)
    if content == "incomplete":
        assert "lacks fingerprint, history, model, optimizer, rng" in str(info.value)


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = nn.Linear(3, 2)
    path = tmp_path / "run.pt"
    save_checkpoint(path, state_of(model, epoch=1))

    def full_disk(*args, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dlwild.core.checkpoint.atomic_write_bytes", full_disk)
    with pytest.raises(OSError) as info:
        save_checkpoint(path, state_of(model, epoch=2))
    assert any("after epoch 2" in note for note in info.value.__notes__)
    assert load_checkpoint(path)["epoch"] == 1


def test_rng_states_survive_the_file_and_continue_the_same_draws(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    np.random.normal()  # a cached gaussian is part of numpy's state
    path = tmp_path / "run.pt"
    save_checkpoint(path, state_of(nn.Linear(1, 1)))
    expected = (random.random(), np.random.normal(), torch.rand(3))

    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    restore_rng_state(load_checkpoint(path)["rng"], seed=1)
    got = (random.random(), np.random.normal(), torch.rand(3))
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])
