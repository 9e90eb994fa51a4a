"""Training L2C through the book's loop (:func:`dlwild.core.train.fit`: progress bars,
learning curves, checkpoints, resumable) and its artifact cache
(:meth:`dlwild.core.chapter.Chapter.train_cached`), keyed by the training code, the
network's settings and the data *as resolved* (its content hash), never the name asked for.

An epoch is ``batches_per_epoch`` minibatches of ``sets_per_batch`` sets drawn afresh from
(seed, epoch) from the training classes; validation sets come from the validation classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from dlwild.core import train
from dlwild.core.chapter import training_data
from dlwild.l2c.loss import PairWeights, l2c_loss, pair_probabilities, same_cluster, weights_for
from dlwild.l2c.model import L2C
from dlwild.l2c.settings import Net


class SetDataset(Dataset):
    """Sets of one split as a torch data set; :meth:`set_epoch` draws epoch e's sets."""

    def __init__(self, data: Any, split: str, count: int, n: int, k_max: int, seed: int,
                 classes: list[int] | None = None) -> None:
        self.data, self.split, self.count, self.n, self.k_max = data, split, count, n, k_max
        self.seed, self.classes = seed, classes
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the sets of ``epoch`` (0: a fixed set, e.g. for validation)."""
        kwargs = {"classes": self.classes} if self.classes is not None else {}
        self.sets = self.data.sets(self.split, self.count, self.n, self.k_max,
                                   seed=(self.seed, epoch), **kwargs)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (torch.from_numpy(np.ascontiguousarray(self.sets.x[i])),
                torch.from_numpy(self.sets.labels[i]), torch.tensor(int(self.sets.k[i])))


def make_model(input_shape: tuple[int, ...], net: Net, k_max: int, max_n: int) -> L2C:
    """The L2C network a :class:`Net` describes."""
    return L2C(input_shape, k_max=k_max, m=net.m, width=net.width,
               count_units=net.count_units, cnn_scale=net.cnn_scale, metric=net.metric,
               max_n=max_n)


def loss_function(weights: PairWeights, lam: float):
    """``loss_fn(model, batch)`` for :func:`dlwild.core.train.fit`."""
    def loss_fn(model: L2C, batch: Any) -> torch.Tensor:
        x, labels, k = batch
        return l2c_loss(model(x), labels, k, weights, lam)[0]
    return loss_fn


def val_metrics(model: L2C, batch: Any) -> dict[str, float]:
    """Validation count accuracy and pair accuracy (P_ij > 0.5 against y_ij)."""
    x, labels, k = batch
    out = model(x)
    count_acc = (out.log_pk.argmax(1) + 1 == k).float().mean()
    pair_acc = ((pair_probabilities(out) > 0.5).float() == same_cluster(labels)).float().mean()
    return {"count_acc": float(count_acc), "pair_acc": float(pair_acc)}


def _optimizer(net: Net):
    if net.optimizer == "adadelta":
        return lambda p: torch.optim.Adadelta(p, lr=net.lr)
    if net.optimizer == "adam":
        return lambda p: torch.optim.Adam(p, lr=net.lr)
    raise ValueError(f"optimizer must be adadelta or adam, got {net.optimizer!r}")


@dataclass
class Trained:
    """A trained L2C network, its history and what it was trained with."""

    name: str
    model: L2C
    history: train.History
    net: Net
    data: dict[str, Any]



def train_net(name: str, data: Any, net: Net, *, k_max: int, lam: float, max_n: int,
              seed: int, device: Any = "cpu", classes: list[int] | None = None,
              progress: bool = True, store: Any = None) -> Trained:
    """Train (or load) the L2C network ``name`` on ``data`` (:mod:`dlwild.l2c.data`)."""
    from dlwild.l2c.chapter import CHAPTER

    digest = data.digest(k_max, net.n) if data.name == "points" else data.digest()
    described = {"data_type": data.name, "kind": data.kind}
    if classes is not None:
        described["classes"] = list(classes)
    key_data = training_data(data.source, digest, **described)
    weights = weights_for(net.n, k_max)
    params = {**net.as_dict(), "k_max": k_max, "lam": lam, "max_n": max_n,
              "input_shape": list(data.input_shape)}

    def make() -> L2C:
        return make_model(data.input_shape, net, k_max, max_n)

    def fit(model: L2C, checkpoint: Any) -> train.History:
        train_sets = SetDataset(data, "train", net.sets_per_batch * net.batches_per_epoch,
                                net.n, k_max, seed, classes)
        val_sets = SetDataset(data, "val", net.val_sets, net.n, k_max, seed)
        loss_fn = loss_function(weights, lam)
        if model.metric in ("mahalanobis", "full"):
            inner = loss_fn

            def loss_fn(m: L2C, batch: Any) -> torch.Tensor:  # project before each step
                if m.training:
                    m.project_metric()
                return inner(m, batch)
        return train.fit(model, train_sets, loss_fn=loss_fn, optimizer=_optimizer(net),
                         epochs=max(1, net.batches // net.batches_per_epoch),
                         batch_size=net.sets_per_batch, val_data=val_sets,
                         evaluate=val_metrics, device=device, seed=seed,
                         checkpoint=checkpoint, early_stopping=net.patience,
                         config=params, progress=progress,
                         desc=f"L2C {name}", clip_grad_norm=5.0, checkpoint_every_s=30.0)

    model, history = CHAPTER.train_cached(name, params=params, data=key_data,
                                          make=make, fit=fit, seed=seed, store=store)
    if model.metric in ("mahalanobis", "full"):
        model.project_metric()
    model.eval()
    return Trained(name, model, history, net, key_data)
