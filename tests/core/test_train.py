"""Tests of dlwild.core.train: learning, determinism, exact resume, refusal of foreign or corrupt
checkpoints, early stopping, atomic checkpoint writes and the plain progress mode."""

from __future__ import annotations

import errno
import json
import math
import random
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from dlwild.core import train as train_mod
from dlwild.core.config import ConfigError
from dlwild.core.train import (
    CheckpointError,
    CheckpointMismatch,
    History,
    fit,
    progress_bar,
    to_device,
)

N_FEATURES = 4


def make_data(n: int = 96, seed: int = 0) -> TensorDataset:
    """A learnable regression set: y = x @ w + small noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, N_FEATURES, generator=g)
    w = torch.tensor([1.5, -2.0, 0.5, 1.0])
    y = x @ w + 0.05 * torch.randn(n, generator=g)
    return TensorDataset(x, y)


def make_model(init_seed: int = 0, hidden: int = 16) -> nn.Module:
    """A tiny MLP with dropout, so that the torch RNG state matters for resuming."""
    torch.manual_seed(init_seed)
    return nn.Sequential(
        nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 1)
    )


def mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return F.mse_loss(model(x).squeeze(-1), y)


def adam(params):
    return torch.optim.Adam(params, lr=1e-2)


TRAIN = make_data(96, seed=0)
VAL = make_data(40, seed=1)


def run(
    model: nn.Module | None = None, train: Dataset = TRAIN, **kw
) -> tuple[nn.Module, History]:
    """``fit`` with this file's defaults; keywords override them."""
    model = model if model is not None else make_model()
    args = {
        "loss_fn": mse,
        "optimizer": adam,
        "epochs": 5,
        "batch_size": 16,
        "val_data": VAL,
        "seed": 0,
        "progress": False,
        "config": {"lr": 1e-2, "hidden": 16},
    }
    args.update(kw)
    history = fit(model, train, **args)
    return model, history


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: nn.Module | dict, b: nn.Module | dict) -> None:
    a = weights(a) if isinstance(a, nn.Module) else a
    b = weights(b) if isinstance(b, nn.Module) else b
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def losses(history: History) -> list[tuple]:
    """Everything in the history except wall-clock seconds."""
    return [tuple((k, v) for k, v in r.items() if k != "seconds") for r in history.epochs]


def scramble_global_rng() -> None:
    random.seed(12345)
    np.random.seed(12345)
    torch.manual_seed(12345)


class Interrupt:
    """A callback that simulates Ctrl-C after a given epoch."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, epoch: int, history: History) -> None:
        if epoch == self.after:
            raise KeyboardInterrupt


# ------------------------------------------------------------------------------------------
# learning and determinism
# ------------------------------------------------------------------------------------------


def test_loss_decreases_on_a_learnable_problem():
    model, history = run(epochs=8)
    frame = history.to_frame()
    assert list(frame.index) == list(range(1, 9))
    assert {"train_loss", "val_loss", "lr", "seconds"} <= set(frame.columns)
    assert frame["train_loss"].iloc[-1] < 0.3 * frame["train_loss"].iloc[0]
    assert frame["val_loss"].iloc[-1] < 0.3 * frame["val_loss"].iloc[0]
    assert history.best_epoch is None and not history.stopped_early
    assert not model.training  # returned in eval mode


def test_same_seed_gives_identical_weights_and_history():
    model_a, hist_a = run(make_model(0), seed=3)
    scramble_global_rng()  # fit seeds everything itself
    model_b, hist_b = run(make_model(0), seed=3)
    assert_same_weights(model_a, model_b)
    assert losses(hist_a) == losses(hist_b)
    _, hist_c = run(make_model(0), seed=4)
    assert losses(hist_c) != losses(hist_a)


def test_epoch_order_depends_only_on_seed_and_epoch():
    assert train_mod._epoch_seed(0, 3) == train_mod._epoch_seed(0, 3)
    assert len({train_mod._epoch_seed(s, e) for s in range(3) for e in range(1, 4)}) == 9


# ------------------------------------------------------------------------------------------
# checkpoint and resume
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {  # early-stopping state (best weights) and a scheduler also have to survive the restart
            "early_stopping": 10,
            "scheduler": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
            "evaluate": lambda model, batch: {"val_mae": float((model(batch[0]).squeeze(-1)
                                                                 - batch[1]).abs().mean())},
        },
    ],
    ids=["plain", "early-stopping+scheduler+evaluate"],
)
def test_interrupted_and_resumed_run_equals_uninterrupted_run(tmp_path, extra):
    reference, ref_hist = run(make_model(0), epochs=5, checkpoint=tmp_path / "ref.pt", **extra)

    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        run(make_model(0), epochs=5, checkpoint=ckpt, callbacks=[Interrupt(after=2)], **extra)
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] == 2 and len(saved["history"]["epochs"]) == 2

    # a new process would build the model from another state and have other RNG states
    scramble_global_rng()
    resumed, res_hist = run(make_model(99), epochs=5, checkpoint=ckpt, **extra)

    assert_same_weights(resumed, reference)
    assert losses(res_hist) == losses(ref_hist)
    assert res_hist.best_epoch == ref_hist.best_epoch
    assert [r["epoch"] for r in res_hist.epochs] == [1, 2, 3, 4, 5]


def test_resume_with_more_epochs_continues_the_same_trajectory(tmp_path):
    reference, ref_hist = run(epochs=5)
    ckpt = tmp_path / "run.pt"
    run(epochs=3, checkpoint=ckpt)
    extended, ext_hist = run(make_model(7), epochs=5, checkpoint=ckpt)
    assert_same_weights(extended, reference)
    assert losses(ext_hist) == losses(ref_hist)


def test_completed_checkpoint_returns_at_once_with_final_weights(tmp_path):
    ckpt = tmp_path / "run.pt"
    model, history = run(epochs=3, checkpoint=ckpt)

    def must_not_train(model, batch):
        raise AssertionError("a completed run was trained again")

    again, hist_again = run(make_model(5), epochs=3, checkpoint=ckpt, loss_fn=must_not_train)
    assert_same_weights(again, model)
    assert hist_again.to_dict() == history.to_dict()
    with pytest.raises(CheckpointError, match="3 trained epochs"):
        run(make_model(5), epochs=2, checkpoint=ckpt)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"config": {"lr": 1e-3, "hidden": 16}}, r"config\['lr'\]: 0.01 in the checkpoint, 0.001"),
        ({"model": "wider"}, r"model tensor '0.weight'"),
        ({"batch_size": 8}, r"batch_size: 16 in the checkpoint, 8 now"),
        ({"seed": 1}, r"seed: 0 in the checkpoint, 1 now"),
        ({"early_stopping": 3}, r"early_stopping: None in the checkpoint"),
    ],
    ids=["config", "model", "batch_size", "seed", "early_stopping"],
)
def test_checkpoint_of_another_run_is_refused(tmp_path, change, expected):
    ckpt = tmp_path / "run.pt"
    run(epochs=2, checkpoint=ckpt)
    before = ckpt.read_bytes()
    kw = dict(change)
    model = make_model(0, hidden=32) if kw.pop("model", None) else make_model(0)
    with pytest.raises(CheckpointMismatch, match=expected) as info:
        run(model, epochs=4, checkpoint=ckpt, **kw)
    assert str(ckpt) in str(info.value)
    assert ckpt.read_bytes() == before  # never overwritten


@pytest.mark.parametrize("damage", ["garbage", "truncated", "not-a-checkpoint"])
def test_corrupt_checkpoint_is_a_clear_error_and_is_kept(tmp_path, damage):
    ckpt = tmp_path / "run.pt"
    if damage == "garbage":
        ckpt.write_bytes(b"this is not a torch file")
    elif damage == "truncated":
        run(epochs=1, checkpoint=ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:200])
    else:
        torch.save({"weights": torch.zeros(3)}, ckpt)
    before = ckpt.read_bytes()
    with pytest.raises(CheckpointError) as info:
        run(epochs=2, checkpoint=ckpt)
    assert str(ckpt) in str(info.value)
    assert "left in place" in str(info.value)
    assert ckpt.read_bytes() == before


def test_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    ckpt = tmp_path / "run.pt"
    real_save = torch.save
    calls = {"n": 0}

    def save_then_fail(obj, f, *args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            if hasattr(f, "write"):
                f.write(b"half a checkpoint")  # a partial write must not reach the file
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kw)

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(OSError) as info:
        run(epochs=3, checkpoint=ckpt)
    assert info.value.errno == errno.ENOSPC
    assert any(str(ckpt) in note for note in getattr(info.value, "__notes__", []))
    monkeypatch.setattr(torch, "save", real_save)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]  # no temp file left
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1
    # and the run resumes from the intact epoch-1 checkpoint onto the uninterrupted trajectory
    reference, ref_hist = run(epochs=3)
    resumed, res_hist = run(make_model(3), epochs=3, checkpoint=ckpt)
    assert_same_weights(resumed, reference)
    assert losses(res_hist) == losses(ref_hist)


# ------------------------------------------------------------------------------------------
# early stopping
# ------------------------------------------------------------------------------------------


class Scripted:
    """An ``evaluate`` whose metric follows a script, one value per epoch (one val batch)."""

    def __init__(self, values: list[float]) -> None:
        self.values = iter(values)

    def __call__(self, model, batch) -> dict[str, float]:
        return {"score": next(self.values)}


@pytest.mark.parametrize(
    ("mode", "script"),
    [("min", [5.0, 3.0, 4.0, 3.5, 1.0, 1.0]), ("max", [1.0, 3.0, 2.0, 2.5, 9.0, 9.0])],
)
def test_early_stopping_stops_and_restores_best_weights(tmp_path, mode, script):
    seen: dict[int, dict[str, torch.Tensor]] = {}
    model = make_model(0)

    def remember(epoch, history):
        seen[epoch] = weights(model)

    ckpt = tmp_path / "run.pt"
    common = {  # batch_size 64: the whole val set in one batch, one metric value per epoch
        "epochs": 10,
        "early_stopping": 2,
        "monitor": "score",
        "mode": mode,
        "checkpoint": ckpt,
        "batch_size": 64,
    }
    _, history = run(model, evaluate=Scripted(script), callbacks=[remember], **common)
    assert history.stopped_early
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3, 4]
    assert history.best_epoch == 2
    assert history.final("score") == 3.0
    assert_same_weights(model, seen[2])
    assert not torch.equal(seen[2]["0.weight"], seen[4]["0.weight"])

    # the finished checkpoint: no more training, best weights again
    again, hist_again = run(make_model(8), evaluate=Scripted([]), **common)
    assert hist_again.to_dict() == history.to_dict()
    assert_same_weights(again, seen[2])


def test_early_stopping_needs_something_to_monitor():
    with pytest.raises(ConfigError, match="val_data"):
        run(val_data=None, early_stopping=2)
    with pytest.raises(ConfigError, match="monitor='accuracy'"):
        run(early_stopping=2, monitor="accuracy")


# ------------------------------------------------------------------------------------------
# batches, metrics, history
# ------------------------------------------------------------------------------------------


class DictData(Dataset):
    def __init__(self, base: TensorDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return {"x": x, "y": y}


def test_dict_batches_and_metrics_weighted_by_batch_size():
    def loss_fn(model, batch):
        return F.mse_loss(model(batch["x"]).squeeze(-1), batch["y"])

    def evaluate(model, batch):
        return {"val_mae": (model(batch["x"]).squeeze(-1) - batch["y"]).abs().mean().item()}

    val = make_data(20, seed=2)  # batches of 8, 8 and 4: the last one must weigh less
    model, history = run(
        train=DictData(TRAIN),
        loss_fn=loss_fn,
        evaluate=evaluate,
        val_data=DictData(val),
        batch_size=8,
        epochs=2,
    )
    model.eval()
    with torch.no_grad():
        pred = model(val.tensors[0]).squeeze(-1)
    assert history.final("val_mae") == pytest.approx((pred - val.tensors[1]).abs().mean().item())
    assert history.final("val_loss") == pytest.approx(F.mse_loss(pred, val.tensors[1]).item())


def test_metric_undefined_in_some_batches_is_averaged_where_defined():
    def loss_fn(model, batch):
        return F.mse_loss(model(batch[0]).squeeze(-1), batch[1])

    def evaluate(model, batch):
        # defined only on batches whose first target is positive; "never" nowhere
        y = batch[1]
        return {"pos_mean": y.mean().item() if y[0] > 0 else math.nan, "never": math.nan}

    x = torch.zeros(12, N_FEATURES)
    y = torch.tensor([1.0] * 4 + [-1.0] * 4 + [3.0] * 4)  # batches of 4: 1, nan, 3
    _, history = run(val_data=TensorDataset(x, y), evaluate=evaluate, loss_fn=loss_fn,
                     batch_size=4, epochs=1)
    assert history.final("pos_mean") == pytest.approx(2.0)
    assert math.isnan(history.final("never"))


def test_non_scalar_loss_is_rejected():
    with pytest.raises(ValueError, match="scalar"):
        run(loss_fn=lambda model, batch: model(batch[0]), epochs=1)


def test_non_finite_training_loss_stops_with_the_last_good_checkpoint(tmp_path):
    ckpt = tmp_path / "run.pt"
    run(epochs=1, checkpoint=ckpt)

    def nan_loss(model, batch):
        return mse(model, batch) * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 2"):
        run(epochs=3, checkpoint=ckpt, loss_fn=nan_loss)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 1


def test_to_device_handles_nested_batches():
    Pair = namedtuple("Pair", "a b")
    batch = {"x": torch.ones(2), "parts": [torch.zeros(1), (torch.ones(1), "label")],
             "pair": Pair(torch.ones(1), 3)}
    moved = to_device(batch, torch.device("cpu"))
    assert isinstance(moved["parts"], list) and isinstance(moved["parts"][1], tuple)
    assert isinstance(moved["pair"], Pair) and moved["pair"].b == 3
    assert moved["parts"][1][1] == "label"


def test_history_round_trips_through_json():
    _, history = run(epochs=2)
    back = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert back == history
    assert back.final("train_loss") == history.epochs[-1]["train_loss"]
    with pytest.raises(KeyError, match="accuracy"):
        back.final("accuracy")


# ------------------------------------------------------------------------------------------
# progress
# ------------------------------------------------------------------------------------------


def test_plain_progress_prints_one_line_per_epoch_to_stdout(monkeypatch, capsys):
    monkeypatch.setenv("DLWILD_PROGRESS", "plain")
    run(epochs=3, progress=True, desc="toy run")
    captured = capsys.readouterr()
    assert "\r" not in captured.out
    lines = [line for line in captured.out.splitlines() if line.startswith("toy run")]
    for k in (1, 2, 3):
        assert any(f"{k}/3" in line and "train_loss=" in line and "val_loss=" in line
                   for line in lines), captured.out
    assert all("#" in line or "|" in line for line in lines)  # ASCII bar
    assert "batch" not in captured.out  # no inner bar in plain mode
    assert captured.err == ""


def test_progress_false_is_silent(monkeypatch, capsys):
    monkeypatch.setenv("DLWILD_PROGRESS", "plain")
    run(epochs=2, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_helper_modes(monkeypatch, capsys):
    monkeypatch.setenv("DLWILD_PROGRESS", "plain")
    assert list(progress_bar(range(3), desc="outer")) == [0, 1, 2]
    assert progress_bar(range(3), nested=True).disable
    out = capsys.readouterr().out
    assert "outer" in out and "3/3" in out
    monkeypatch.setenv("DLWILD_PROGRESS", "off")
    assert progress_bar(range(3)).disable


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="epochs"):
        run(epochs=0)
    with pytest.raises(ConfigError, match="mode"):
        run(mode="lowest")
    with pytest.raises(ConfigError, match="evaluate"):
        run(val_data=None, evaluate=lambda m, b: {})
    with pytest.raises(ConfigError, match="optimizer"):
        run(optimizer=lambda p: None)


def test_checkpoint_path_parent_is_created(tmp_path):
    ckpt = tmp_path / "deep" / "er" / "run.pt"
    run(epochs=1, checkpoint=ckpt)
    assert Path(ckpt).is_file()


def test_fit_tells_the_data_which_epoch_it_draws():
    class Fresh(torch.utils.data.Dataset):
        def __init__(self):
            self.seen = []

        def set_epoch(self, epoch):
            self.seen.append(epoch)

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.ones(2), torch.zeros(1)

    data = Fresh()
    model = torch.nn.Linear(2, 1)
    fit(model, data, loss_fn=lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
        optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=3, batch_size=2, progress=False)
    assert data.seen == [1, 2, 3]


def test_cached_training_trains_once_then_loads(tmp_path):
    from dlwild.core.cache import ArtifactCache
    from dlwild.core.train import cached_training

    store = ArtifactCache(tmp_path)
    calls = []

    def train_fn(model, checkpoint):
        calls.append(1)
        return fit(model, TRAIN, loss_fn=mse, optimizer=adam, epochs=2, batch_size=16,
                   checkpoint=checkpoint, progress=False)

    parts = {"code": "x", "params": {"epochs": 2}, "data": "train"}
    model, history = cached_training("tiny", parts, lambda: make_model(init_seed=5), train_fn,
                                     seed=0, store=store)
    again, history_again = cached_training("tiny", parts, lambda: make_model(init_seed=5),
                                           train_fn, seed=0, store=store)
    assert len(calls) == 1  # the second call read the artifact
    assert_same_weights(model, again)
    assert history_again.to_dict() == history.to_dict()
    other = {**parts, "params": {"epochs": 3}}
    cached_training("tiny", other, lambda: make_model(init_seed=5), train_fn, seed=0,
                    store=store)
    assert len(calls) == 2  # another key trains again


def test_cached_training_resumes_an_interrupted_training_and_then_drops_its_checkpoint(tmp_path):
    from dlwild.core.cache import ArtifactCache, parts_key
    from dlwild.core.train import cached_training

    parts = {"code": "x", "params": {"epochs": 5}, "data": "train"}
    epochs_trained: list[int] = []

    def train_fn(*callbacks):
        def train(model, checkpoint):
            return fit(model, TRAIN, loss_fn=mse, optimizer=adam, epochs=5, batch_size=16,
                       val_data=VAL, seed=3, checkpoint=checkpoint, progress=False,
                       callbacks=[lambda epoch, _: epochs_trained.append(epoch), *callbacks])
        return train

    def make():
        return make_model(init_seed=5)

    reference, ref_hist = cached_training("tiny", parts, make, train_fn(), seed=0,
                                          store=ArtifactCache(tmp_path / "reference"))

    store = ArtifactCache(tmp_path / "interrupted")
    epochs_trained.clear()
    with pytest.raises(KeyboardInterrupt):
        cached_training("tiny", parts, make, train_fn(Interrupt(after=2)), seed=0, store=store)
    checkpoint = store.checkpoint_path("tiny", parts_key(parts))
    assert checkpoint.is_file() and not store.exists("tiny", parts_key(parts))

    scramble_global_rng()
    epochs_trained.clear()
    model, history = cached_training("tiny", parts, make, train_fn(), seed=0, store=store)
    assert epochs_trained == [3, 4, 5]  # only the epochs the interruption lost
    assert_same_weights(model, reference)
    assert losses(history) == losses(ref_hist)
    assert not checkpoint.exists() and store.exists("tiny", parts_key(parts))


def test_history_names_the_hardware_its_epochs_ran_on_and_keeps_it_across_json(tmp_path):
    _, history = run(epochs=2, checkpoint=tmp_path / "run.pt")
    assert history.hardware == train_mod.hardware_name(torch.device("cpu"))
    assert History.from_dict(json.loads(json.dumps(history.to_dict()))).hardware == history.hardware


def test_a_run_resumed_on_other_hardware_names_both(tmp_path, monkeypatch):
    ckpt = tmp_path / "run.pt"
    run(epochs=2, checkpoint=ckpt)
    monkeypatch.setattr(train_mod, "hardware_name", lambda device: "Some GPU")
    _, history = run(make_model(0), epochs=4, checkpoint=ckpt)
    first, added = history.hardware.split(" + ")
    assert "CPU" in first and added == "Some GPU"


def test_a_checkpoint_interval_saves_after_the_last_epoch_and_resumes_from_the_last_save(
        tmp_path):
    reference, ref_hist = run(make_model(0), epochs=5)
    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        run(make_model(0), epochs=5, checkpoint=ckpt, checkpoint_every_s=1e9,
            callbacks=[Interrupt(after=3)])
    assert not ckpt.exists()  # no save was due yet: the interrupted epochs are trained again
    model, history = run(make_model(0), epochs=5, checkpoint=ckpt, checkpoint_every_s=1e9)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 5
    assert_same_weights(model, reference)
    assert losses(history) == losses(ref_hist)


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_a_bad_checkpoint_interval_is_refused(bad):
    with pytest.raises(ConfigError):
        run(epochs=1, checkpoint_every_s=bad)


@pytest.mark.parametrize("mode", ["auto", "plain", "off"])
def test_each_epoch_iterates_its_loader_once_in_the_documented_order(monkeypatch, mode):
    """Epoch k's order is that of a DataLoader shuffled by a generator seeded (seed, k), in
    every progress mode: the bar opens one iterator per epoch (tqdm.auto opened two, so a
    script's run drew other batches than the book's plain-mode run of the same key)."""
    opened = []
    real_iter = torch.utils.data.DataLoader.__iter__

    def counting_iter(loader):
        opened.append(loader)
        return real_iter(loader)

    monkeypatch.setattr(torch.utils.data.DataLoader, "__iter__", counting_iter)
    monkeypatch.setenv("DLWILD_PROGRESS", mode)
    seen = []

    def recording_mse(model, batch):
        seen.append(batch[1].clone())
        return mse(model, batch)

    run(epochs=2, loss_fn=recording_mse, val_data=None, progress=True)
    assert len(opened) == 2  # one iterator per epoch
    for epoch in (1, 2):
        generator = torch.Generator().manual_seed(train_mod._epoch_seed(0, epoch))
        expected = [b[1] for b in real_iter(DataLoader(TRAIN, batch_size=16, shuffle=True,
                                                          generator=generator))]
        got = seen[(epoch - 1) * len(expected):epoch * len(expected)]
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
