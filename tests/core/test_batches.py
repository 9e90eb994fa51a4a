"""Tests of dlwild.core.batches: epoch orders that depend on (seed, epoch) alone, batch sizes."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from dlwild.core.batches import batch_len, epoch_seed, seeded_loader

DATA = TensorDataset(torch.arange(20.0))


def order(seed: int) -> list[float]:
    loader = seeded_loader(DATA, 4, shuffle=True, seed=seed, collate_fn=None, pin_memory=False)
    return [float(v) for (batch,) in loader for v in batch]


def test_an_epochs_order_depends_on_its_seed_only_not_on_the_global_rng():
    first = order(epoch_seed(0, 1))
    torch.manual_seed(123)  # the global RNG does not matter
    assert order(epoch_seed(0, 1)) == first
    assert sorted(first) == [float(v) for v in range(20)]
    assert order(epoch_seed(0, 2)) != first
    assert epoch_seed(0, 1) != epoch_seed(1, 0)
    assert 0 <= epoch_seed(2**40, 10**6) < 2**63


def test_an_unshuffled_loader_keeps_the_data_order():
    loader = seeded_loader(DATA, 8, shuffle=False, seed=0, collate_fn=None, pin_memory=False)
    assert [len(batch) for (batch,) in loader] == [8, 8, 4]


def test_a_batch_counts_the_samples_of_its_first_tensor():
    assert batch_len((torch.zeros(5, 3), torch.zeros(5))) == 5
    assert batch_len({"meta": ["a"], "x": torch.zeros(7, 2)}) == 7
    assert batch_len(["a", "b", "c"]) == 3  # no tensor: the sequence's length
    assert batch_len(torch.tensor(1.0)) == 1  # a scalar is one sample
