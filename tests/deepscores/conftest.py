"""Shared fixtures of the DeepScores tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Small convolutions run fastest on one thread on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
