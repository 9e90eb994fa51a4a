"""Tests of dlwild.core.hardware: the hardware's name for the record, and moving batches."""

from __future__ import annotations

import pytest
import torch

from dlwild.core import hardware
from dlwild.core.hardware import hardware_name, to_device


@pytest.mark.parametrize(("threads", "says"), [(1, "(1 thread)"), (2, "(2 threads)"),
                                               (64, "(64 threads)")])
def test_a_cpu_is_named_with_its_thread_count(monkeypatch, threads, says):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    monkeypatch.setattr(hardware.platform, "processor", lambda: "")
    monkeypatch.setattr(hardware.platform, "machine", lambda: "x86_64")
    assert hardware_name(torch.device("cpu")) == f"x86_64 CPU {says}"


def test_a_cpu_without_a_known_architecture_is_still_a_cpu(monkeypatch):
    monkeypatch.setattr(hardware.platform, "processor", lambda: "")
    monkeypatch.setattr(hardware.platform, "machine", lambda: "")
    assert hardware_name(torch.device("cpu")).startswith("CPU CPU (")


def test_a_gpu_is_named_by_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "NVIDIA H200")
    assert hardware_name(torch.device("cuda", 0)) == "NVIDIA H200"


def test_to_device_moves_tensors_and_leaves_the_rest():
    batch = ({"x": torch.ones(2)}, [torch.zeros(1), "label", 3])
    moved = to_device(batch, "cpu")
    assert isinstance(moved, tuple) and isinstance(moved[1], list)
    assert torch.equal(moved[0]["x"], torch.ones(2)) and moved[1][1:] == ["label", 3]
