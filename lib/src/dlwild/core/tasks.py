"""Independent pieces of a chapter's work (networks to train) as tasks of one Dask cluster.

Which cluster: the one a sweep runs on, whose scheduler address ``dlwild sweep`` hands to
each seed's notebook in ``DLWILD_SCHEDULER`` (so every seed's networks share its workers,
local, remote or SLURM alike); else, where a run asks for ``jobs > 1``, an embedded
``LocalCluster`` of that many worker processes; else none: the work runs here, in order,
as it always did on a laptop. Results are content-addressed by the artifact keys, so a task
that another worker already finished is loaded rather than retrained, and Dask resubmits
the task of a lost worker, which resumes from the network's checkpoint."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["SCHEDULER_ENV", "local_cluster", "run_many", "run_one", "scheduler_address"]

#: The environment variable that names the Dask scheduler of the sweep a run belongs to.
SCHEDULER_ENV = "DLWILD_SCHEDULER"


def scheduler_address() -> str | None:
    """The scheduler this process's work goes to (``DLWILD_SCHEDULER``), or None."""
    return os.environ.get(SCHEDULER_ENV) or None


def _on_a_worker() -> bool:
    """True inside a Dask worker's task (which must not wait on its own cluster's tasks)."""
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


def local_cluster(workers: int) -> Any:
    """The book's embedded Dask cluster: ``workers`` processes of one thread each, no
    dashboard, no memory limit (a full-width CNN may hold more than a worker's share). The
    scheduler's HTTP server (health routes; it has one even without a dashboard) takes a free
    port, so that clusters of chapters run side by side do not both ask for 8787."""
    from dask.distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        memory_limit=0, dashboard_address=None,
                        scheduler_kwargs={"dashboard_address": ":0"})


@contextmanager
def _client(jobs: int) -> Iterator[Any]:
    """A client of the sweep's scheduler, or of an embedded cluster of ``jobs`` processes."""
    from dask.distributed import Client

    address = scheduler_address()
    if address:
        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise RuntimeError(f"no Dask scheduler answers at {address} (from {SCHEDULER_ENV}, "
                               f"set by dlwild sweep): {exc}") from exc
        with client:
            yield client
        return
    with local_cluster(jobs) as cluster, Client(cluster) as client:
        yield client


def run_many(fn: Callable[..., Any], jobs: Sequence[Any], *, workers: int = 1,
             shared: Any = None, desc: str = "tasks", unit: str = "task") -> list[Any]:
    """``[fn(job, shared) for job in jobs]``, in the order of ``jobs``: as tasks of the
    sweep's cluster, or of an embedded one when ``workers > 1``, else here in order.
    ``shared`` (e.g. a training set) is sent to every worker once; ``fn`` must be importable
    (a module-level function). A progress bar counts the finished tasks."""
    from dlwild.core.train import progress_bar

    jobs = list(jobs)
    if not jobs:
        return []
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if (scheduler_address() is None and workers == 1) or _on_a_worker():
        return [fn(job, shared) for job in progress_bar(jobs, desc=desc, unit=unit)]
    from dask.distributed import as_completed

    with _client(min(workers, len(jobs))) as client:
        scattered = client.scatter(shared, broadcast=True) if shared is not None else None
        futures = {client.submit(fn, job, scattered, pure=False): i
                   for i, job in enumerate(jobs)}
        out: list[Any] = [None] * len(jobs)
        for future in progress_bar(as_completed(futures), total=len(jobs), desc=desc,
                                   unit=unit):
            out[futures[future]] = future.result()
    return out


def run_one(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` as one task of the sweep's cluster when this run belongs to
    one (``DLWILD_SCHEDULER``), else here. ``fn`` and its arguments travel by cloudpickle,
    closures included."""
    if scheduler_address() is None or _on_a_worker():
        return fn(*args, **kwargs)
    with _client(1) as client:
        return client.submit(fn, *args, pure=False, **kwargs).result()
