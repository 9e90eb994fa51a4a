"""`dlwild.core.tasks`: a chapter's independent work as tasks, here or on a Dask cluster,
with the same results in the same order."""

from __future__ import annotations

import os

import pytest

from dlwild.core import tasks


def power(job: tuple[int, int], shared: dict) -> tuple[int, int]:
    """A task: ``job[0] ** job[1] + shared["offset"]`` and the process that computed it."""
    return job[0] ** job[1] + shared["offset"], os.getpid()


def test_tasks_give_the_same_results_in_order_here_and_on_an_embedded_cluster(monkeypatch):
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    jobs = [(2, 3), (3, 2), (5, 1), (7, 0)]
    here = tasks.run_many(power, jobs, workers=1, shared={"offset": 10})
    assert [v for v, _ in here] == [18, 19, 15, 11]
    assert {pid for _, pid in here} == {os.getpid()}
    there = tasks.run_many(power, jobs, workers=2, shared={"offset": 10})
    assert [v for v, _ in there] == [18, 19, 15, 11]
    assert os.getpid() not in {pid for _, pid in there}  # worker processes did the work
    assert tasks.run_many(power, [], workers=2) == []


def test_without_a_sweep_one_task_runs_here_and_bad_worker_counts_are_refused(monkeypatch):
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    assert tasks.scheduler_address() is None
    assert tasks.run_one(power, (2, 2), {"offset": 0}) == (4, os.getpid())
    with pytest.raises(ValueError, match="workers must be at least 1"):
        tasks.run_many(power, [(1, 1)], workers=0)
    monkeypatch.setenv(tasks.SCHEDULER_ENV, "tcp://127.0.0.1:9")  # nothing listens there
    assert tasks.scheduler_address() == "tcp://127.0.0.1:9"
    with pytest.raises(RuntimeError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        tasks.run_one(power, (2, 2), {"offset": 0})


def test_two_embedded_clusters_side_by_side_need_no_fixed_port():
    """Chapters run side by side (``dlwild book --jobs``) may each start a cluster: neither
    asks for the dashboard's port 8787, so none warns that it is taken."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with tasks.local_cluster(1) as first, tasks.local_cluster(1) as second:
            assert first.scheduler_address != second.scheduler_address
