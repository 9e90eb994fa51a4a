"""Tiny speaker corpora and a tiny run for the speaker tests: tone "voices" written as a
LibriSpeech-style folder, settings small enough to train every network in seconds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import soundfile as sf

from dlwild.core.run import Run
from dlwild.speakers import corpora
from dlwild.speakers.audio import Utterance
from dlwild.speakers.chapter import CHAPTER
from dlwild.speakers.settings import SETTINGS

TINY = dataclasses.replace(
    SETTINGS["quick"], n_train_speakers=4, n_test_speakers=(2, 3), hidden_scale=0.1,
    lstm_units=8, batches={"cnn2016": 4, "cnn2017": 4, "bilstm2018": 4},
    batch_size={"cnn2016": 8, "cnn2017": 8, "bilstm2018": 8}, batches_per_epoch=2,
    per_speaker={"cnn2016": 1, "cnn2017": 1, "bilstm2018": 4},
    val_snippets=8, min_test_s=5.0, sweep_ms=(100, 200), sweep_batches=2, gmm_components=4)


def tone_corpus(root: Path, n: int, seconds: float = 6.0, *, first: int = 100,
                pitch: float = 110.0) -> list[Utterance]:
    """One recording per speaker (ids ``first``, ``first + 1``, ...), each a different chord
    with noise (distinct 'voices'), read back as LibriSpeech."""
    rng = np.random.default_rng(first)
    t = np.arange(int(16000 * seconds)) / 16000
    for s in range(n):
        f0 = pitch * 2 ** (s / 4)
        y = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        y = 0.2 * y + 0.01 * rng.standard_normal(len(t))
        folder = root / f"{first + s}"
        folder.mkdir(parents=True)
        sf.write(folder / f"{first + s}-1-0000.flac", y.astype(np.float32), 16000)
    return corpora.read_librispeech(root)


def tiny_run(settings=TINY, **params) -> Run:
    """A validated run of the speakers chapter with ``settings`` at both scales, on the CPU,
    training its networks in this process (``jobs=1``) unless told otherwise."""
    chapter = dataclasses.replace(CHAPTER, settings={"quick": settings, "full": settings})
    return chapter.start(scale="quick", device="cpu", **{"jobs": 1, **params})
