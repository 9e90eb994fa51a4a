"""`dlwild sweep`: a chapter over seeds as Dask tasks, aggregated per claim; an interrupted
sweep finishes only its missing seeds; bad input refused before any work."""

from __future__ import annotations

import os
import statistics
import subprocess

import numpy as np
import pytest

from chapter_sources import KILLED_CHAPTER, SEEDY_CHAPTER, TRAINING_CHAPTER
from conftest import DLWILD, make_project
from dlwild.core import results
from dlwild.runner import Project
from dlwild.runner.execution import run_chapter
from dlwild.runner.sweep import (
    SweepError,
    aggregate,
    seed_folder,
    slurm_cluster,
    slurm_config,
    sweep,
    sweep_workers,
)


def expected(seed: int) -> float:
    """What the seedy chapter measures for ``seed`` (run sequentially, by hand)."""
    return 42 + float(np.random.default_rng(seed).normal())


@pytest.fixture
def project(tmp_path, isolated_home):
    return Project.find(make_project(tmp_path / "book", {"tiny": SEEDY_CHAPTER}))


def test_three_seeds_on_two_workers_give_the_sequential_values_and_their_spread(project):
    logged = []
    done = sweep(project, "tiny", 3, cluster="local", workers=2, log=logged.append)
    assert done.seeds == [0, 1, 2] and done.reused == []
    claim = done.record["claims"][0]
    values = [expected(s) for s in range(3)]
    np.testing.assert_allclose(claim["values"], values, rtol=0, atol=1e-12)
    assert claim["mean"] == pytest.approx(statistics.fmean(values))
    assert claim["std"] == pytest.approx(statistics.stdev(values))
    assert claim["seeds"] == 3 and done.record["seeds"] == [0, 1, 2]
    assert (project.results / "tiny.sweep.json").exists()
    spread = done.record["metrics"]["answer"]  # the figures' error bars
    assert spread["values"] == claim["values"] and spread["std"] == pytest.approx(claim["std"])
    # the same command again: every seed is kept, nothing runs
    again = sweep(project, "tiny", 3, cluster="local", workers=2, log=logged.append)
    assert again.reused == [0, 1, 2] and again.record == done.record
    # a lost seed (an interrupted sweep) is the only one run again
    (project.build / "sweeps" / "tiny" / "quick" / "seed1.json").unlink()
    third = sweep(project, "tiny", 3, cluster="local", workers=2, log=logged.append)
    assert third.reused == [0, 2] and third.record["claims"] == done.record["claims"]


def test_a_worker_killed_mid_task_is_replaced_and_the_sweep_gives_the_same_values(
        tmp_path, isolated_home):
    """Seed 1's first attempt kills its worker process; Dask resubmits the task to a new
    worker and the sweep ends with the values of undisturbed runs."""
    project = Project.find(make_project(tmp_path / "book", {"tiny": KILLED_CHAPTER}))
    done = sweep(project, "tiny", 3, cluster="local", workers=2, log=lambda *_: None)
    assert (project.build / "killed-seed1").exists()  # the worker was killed once
    np.testing.assert_allclose(done.record["claims"][0]["values"],
                               [expected(s) for s in range(3)], rtol=0, atol=1e-12)


def test_a_seeds_networks_train_as_tasks_of_the_sweeps_workers_with_the_values_of_a_run_here(
        tmp_path, isolated_home):
    """The chapter's ``train_cached`` trains on a worker of the sweep's cluster (not in the
    seed's notebook kernel), and the result is that of the same chapter run by hand."""
    import shutil

    from dlwild.core import cache

    project = Project.find(make_project(tmp_path / "book", {"tiny": TRAINING_CHAPTER}))
    by_hand = []
    for seed in (0, 1):
        outcome = run_chapter(project, "tiny", {"seed": seed}, log=lambda *_: None)
        assert outcome.status == "ran", outcome.message
        record = results.load_results(outcome.results)
        assert record["metrics"]["trained_here"] is True
        by_hand.append(record["metrics"]["answer"])
    shutil.rmtree(cache.ArtifactCache().root)  # the sweep must train them again
    done = sweep(project, "tiny", 2, cluster="local", workers=2, log=lambda *_: None)
    seeds = [results.load_results(seed_folder(project, "tiny", "quick") / f"seed{s}.json")
             for s in (0, 1)]
    assert [r["metrics"]["trained_here"] for r in seeds] == [False, False]
    np.testing.assert_allclose(done.record["claims"][0]["values"], by_hand, rtol=0, atol=1e-6)
    assert by_hand[0] != by_hand[1]


def test_the_verdict_uses_the_seeds():
    def record(seed, verdict, ours):
        return {"chapter": "c", "scale": "quick", "provenance": {"seed": seed},
                "claims": [{"id": "a", "kind": "relation", "ours": ours, "verdict": verdict},
                           {"id": "b", "kind": "value", "ours": 1.0,
                            "verdict": "not comparable"}]}

    mixed = aggregate("c", [record(0, "holds", True), record(1, "differs", False),
                            record(2, "holds", True)])
    a, b = mixed["claims"]
    assert (a["verdict"], a["holds_in"], a["mean"], a["std"]) == ("mixed", 2, None, None)
    assert b["verdict"] == "not comparable" and b["mean"] == 1.0 and b["std"] == 0.0
    assert aggregate("c", [record(0, "holds", True)])["claims"][0]["verdict"] == "holds"
    none = aggregate("c", [record(0, "differs", False)] * 2)
    assert none["claims"][0]["verdict"] == "differs"
    assert none["claims"][0]["reason"] == "holds in 0 of 2 seeds"

    def value(values, kind="value", verdict="holds"):
        made = [{"chapter": "c", "scale": "quick", "provenance": {"seed": i},
                 "claims": [{"id": "v", "kind": kind, "ours": v, "verdict": verdict,
                             "paper_value": 0.1, "tolerance": 0.05, "fmt": ".2f"}]}
                for i, v in enumerate(values)]
        return aggregate("c", made)["claims"][0]

    inside = value([0.08, 0.12])  # 0.10 ± 0.03 within 0.05 .. 0.15
    assert inside["verdict"] == "holds"
    assert inside["reason"] == ("mean ± std = 0.07 .. 0.13, inside the paper's band "
                                "(0.05 .. 0.15); holds in 2 of 2 seeds")
    assert value([0.0, 0.3])["verdict"] == "mixed"  # 0.15 ± 0.21 crosses the band's edges
    assert value([0.5, 0.6], verdict="differs")["verdict"] == "differs"
    assert value([0.0, 0.02], kind="at_most")["reason"].startswith(
        "mean ± std = -0.00 .. 0.02, inside the paper's band (at most 0.15)")
    assert value([0.3, 0.32], kind="at_least")["verdict"] == "holds"
    with pytest.raises(SweepError, match="one scale"):
        aggregate("c", [record(0, "holds", True), {**record(1, "holds", True),
                                                    "scale": "full"}])


def test_bad_sweeps_are_refused_before_any_work(project, tmp_path):
    with pytest.raises(SweepError, match="at least 1"):
        sweep(project, "tiny", 0)
    with pytest.raises(SweepError, match="no Dask scheduler answers"):
        sweep(project, "tiny", 1, cluster="tcp://127.0.0.1:9")
    with pytest.raises(SweepError, match="--cluster must be"):
        sweep(project, "tiny", 1, cluster="cloud")
    assert not (project.build / "sweeps").exists()
    done = subprocess.run([DLWILD, "--root", str(project.root), "sweep", "tiny", "--seeds",
                           "0"], capture_output=True, text=True)
    assert done.returncode != 0 and "at least 1" in done.stderr
    with pytest.raises(SweepError, match="--workers must be a whole number of at least 1"):
        sweep(project, "tiny", 1, workers=0)
    assert sweep_workers(None, "local", 5) == (os.cpu_count() or 1)  # sized to the machine
    assert sweep_workers(None, "slurm", 5) == 5 and sweep_workers(3, "local", 5) == 3


def test_the_slurm_job_script_follows_the_configuration(tmp_path):
    config = tmp_path / "slurm.yaml"
    config.write_text("partition: gpu\ncores: 4\nmemory: 16GB\nwalltime: '08:00:00'\n")
    with pytest.raises(SweepError, match="lacks gpus_per_job"):
        slurm_config(config)
    config.write_text(config.read_text() + "gpus_per_job: 1\n")
    script = slurm_cluster(slurm_config(config)).job_script()
    assert "#SBATCH -p gpu" in script and "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH -t 08:00:00" in script and "#SBATCH --cpus-per-task=4" in script
    with pytest.raises(SweepError, match="does not exist"):
        slurm_config(tmp_path / "missing.yaml")
