"""What a run computes on and how its batches get there: the hardware's name for the record
(a History, a report) and moving nested batches of tensors to a device."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["hardware_name", "to_device"]


def hardware_name(device: torch.device) -> str:
    """What ``device`` is, for the record: the GPU's name, or the CPU's with its thread count
    (e.g. ``"x86_64 CPU (8 threads)"``, ``"x86_64 CPU (1 thread)"``)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine() or "CPU"
    threads = torch.get_num_threads()
    return f"{cpu} CPU ({threads} thread{'' if threads == 1 else 's'})"


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
