"""How a training run cuts its data into batches: a loader per epoch shuffled from a generator
seeded by ``(seed, epoch)`` alone, so a resumed run draws exactly the batches it would have."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["batch_len", "epoch_seed", "seeded_loader"]


def epoch_seed(seed: int, epoch: int) -> int:
    """The shuffling seed of ``epoch``: depends on (seed, epoch) only, well mixed."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return int(state) & (2**63 - 1)


def seeded_loader(
    data: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int,
    collate_fn: Callable | None,
    pin_memory: bool,
) -> DataLoader:
    """A DataLoader with its own generator seeded by ``seed``: it shuffles from it and draws
    its iterator's base seed from it, never from the global torch RNG."""
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


def batch_len(batch: Any) -> int:
    """Number of samples in a batch: the first dimension of its first tensor."""
    tensor = _first_tensor(batch)
    if tensor is not None and tensor.dim() > 0:
        return int(tensor.shape[0])
    if isinstance(batch, Sequence) and not isinstance(batch, str | bytes):
        return len(batch)
    return 1
