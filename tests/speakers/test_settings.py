"""The chapter's declaration, settings and network catalogue: one place each, consistent."""

from __future__ import annotations

import sys

import pytest

from dlwild.core import config
from dlwild.speakers.chapter import CHAPTER
from dlwild.speakers.settings import (
    GMM_SYSTEM,
    NETWORKS,
    SETTINGS,
    TRAINING_CODE,
    chapter_networks,
    default_segment_ms,
)


def test_the_catalogue_names_each_network_once():
    assert list(NETWORKS) == ["cnn2016", "cnn2017", "bilstm2018"]
    assert [n.embedding_layer for n in NETWORKS.values()] == ["L7", "L7", "L3"]
    assert NETWORKS["cnn2016"].layers == ("L7", "L8")
    assert NETWORKS["cnn2016"].system("L8") == "MLSP 2016 CNN, L8 softmax"
    assert NETWORKS["cnn2017"].system("L7") == "MLSP 2017 CNN (PKLD), L7"
    assert {n.paper for n in NETWORKS.values()} <= set(CHAPTER.papers)
    assert GMM_SYSTEM.startswith("ACM MM 2009")
    for kind, network in NETWORKS.items():
        assert network.kind == kind and network.title.startswith(network.name[:9])


def test_every_scale_sets_every_network():
    for settings in SETTINGS.values():
        for table in (settings.batches, settings.batch_size, settings.optimizer,
                      settings.per_speaker):
            assert set(table) == set(NETWORKS)
        for kind in NETWORKS:
            assert settings.batch_size[kind] % settings.per_speaker[kind] == 0
        assert settings.segment_ms == CHAPTER.params["segment_ms"].default


def test_the_full_scale_is_the_committed_records():
    """Full-scale settings are the papers' and the committed record's: changing them would
    leave the record describing another run."""
    import json

    from conftest import ROOT

    record = json.loads((ROOT / "book/records/speakers.full.json").read_text())
    saved = record["metrics"]["settings"]
    ours = json.loads(json.dumps(SETTINGS["full"].as_dict()))
    assert ours == saved


def test_chapter_networks_lists_every_training():
    quick = SETTINGS["quick"]
    jobs = chapter_networks(quick)
    assert jobs[:3] == [(kind, None, None) for kind in NETWORKS]
    assert jobs[3:] == [("bilstm2018", ms, quick.sweep_batches) for ms in quick.sweep_ms]
    assert default_segment_ms("cnn2016", quick) == 1000
    assert default_segment_ms("bilstm2018", quick) == quick.segment_ms


def test_the_declaration_validates_the_chapters_own_parameters():
    assert CHAPTER.settings is SETTINGS and CHAPTER.training_code == TRAINING_CODE
    assert CHAPTER.validate({})["train_corpus"] == "librispeech"
    for bad in ({"segment_ms": 10}, {"jobs": 0}, {"train_corpus": "voxceleb"},
                {"test_corpus": "timit"}):
        with pytest.raises(config.ConfigError):
            CHAPTER.validate(bad)


def _imported_after(module: str, *names: str) -> list[bool]:
    """Whether importing ``module`` in a fresh interpreter imports each of ``names``."""
    import subprocess

    code = (f"import sys, {module}; "
            f"print(*[n in sys.modules for n in {list(names)!r}])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return [word == "True" for word in done.stdout.split()]


def test_the_declaration_imports_no_torch_and_no_pipeline():
    """The runner reads the declaration before a kernel starts: it stays light."""
    assert _imported_after("dlwild.speakers.chapter", "torch",
                           "dlwild.speakers.pipeline") == [False, False]


def test_the_embeddings_module_does_not_import_the_pipeline():
    """A learning-to-cluster chapter reuses the embeddings without this chapter's pipeline."""
    assert _imported_after("dlwild.speakers.embeddings", "dlwild.speakers.pipeline",
                           "dlwild.speakers.embeddings") == [False, True]
