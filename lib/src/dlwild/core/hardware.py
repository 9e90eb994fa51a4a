"""What a run computes on and how its batches get there: the hardware's name for the record
(a History, a report) and moving nested batches of tensors to a device."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["available_memory", "hardware_name", "hardware_record", "to_device"]


def hardware_name(device: torch.device) -> str:
    """What ``device`` is, for the record: the GPU's name, or the CPU's with its thread count
    (e.g. ``"x86_64 CPU (8 threads)"``, ``"x86_64 CPU (1 thread)"``)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine() or "CPU"
    threads = torch.get_num_threads()
    return f"{cpu} CPU ({threads} thread{'' if threads == 1 else 's'})"


def available_memory() -> int:
    """Bytes of memory available to new processes now (Linux: MemAvailable, which counts
    reclaimable caches; elsewhere the free pages)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def hardware_record(device: torch.device | None = None) -> dict[str, Any]:
    """What a run ran on, for its provenance: platform, CPU count, memory, torch's CPU
    threads (float sums on CPU, so the last digits of some results, depend on them) and the
    device with its name (:func:`hardware_name`)."""
    info: dict[str, Any] = {"platform": platform.platform(), "machine": platform.machine(),
                            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    if device is not None:
        info["device"] = str(device)
        info["name"] = hardware_name(torch.device(device))
    return info


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
