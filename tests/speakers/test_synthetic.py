"""The espeak-ng fallback corpus (`synthetic`, speaking through `espeak`): real synthesis
through the espeakng-loader wheel (skipped when the wheel is absent), determinism, speaker
separability, caching and the errors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from dlwild.speakers import synthetic
from dlwild.speakers.audio import Utterance, load_audio
from dlwild.speakers.espeak import SynthesisError, espeak_paths, synthesize
from dlwild.speakers.synthetic import ACCENTS, VARIANTS, synthetic_corpus, voice_plan

needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("espeakng_loader") is None,
    reason="espeakng-loader (espeak-ng) is not installed",
)

SENTENCE = "The birch canoe slid on the smooth planks."


def _mfcc_mean(y: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.feature.mfcc(y=y, sr=16000, n_mfcc=20).mean(axis=1)


@needs_espeak
def test_synthesize_gives_plausible_speech() -> None:
    y = synthesize(SENTENCE, voice="en-us+m3", pitch=50, rate=175)
    assert y.dtype == np.float32 and y.ndim == 1
    assert 1.0 < len(y) / 16000 < 5.0  # one Harvard sentence is about two seconds
    assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) > 0.01
    assert np.abs(y).max() <= 1.0
    native = synthesize(SENTENCE, voice="en-us+m3", pitch=50, rate=175, sr=22050)
    assert abs(len(native) / 22050 - len(y) / 16000) < 0.01


@needs_espeak
def test_synthesize_is_deterministic_whatever_ran_before() -> None:
    # espeak-ng keeps flutter state across calls and seeds breath noise from the clock; the
    # module must hide both (f2 has breath, klatt3 uses the Klatt synthesiser).
    first = synthesize(SENTENCE, voice="en+f2", pitch=60, rate=160)
    synthesize(
        "Something else entirely, to move any state on.", voice="en+klatt3", pitch=30, rate=200
    )
    assert np.array_equal(first, synthesize(SENTENCE, voice="en+f2", pitch=60, rate=160))
    other = synthesize(SENTENCE, voice="en+f2", pitch=60, rate=160, seed=1)
    assert not np.array_equal(first, other)  # the seed reaches the breath noise


@needs_espeak
def test_synthesize_errors() -> None:
    with pytest.raises(SynthesisError, match="no voice"):
        synthesize(SENTENCE, voice="xx-nope+zz", pitch=50, rate=175)
    with pytest.raises(ValueError, match="pitch"):
        synthesize(SENTENCE, voice="en", pitch=150, rate=175)
    with pytest.raises(ValueError, match="rate"):
        synthesize(SENTENCE, voice="en", pitch=50, rate=10)
    with pytest.raises(ValueError, match="empty"):
        synthesize("  ", voice="en", pitch=50, rate=175)


@needs_espeak
def test_missing_library_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import espeakng_loader

    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(tmp_path / "nope.so"))
    with pytest.raises(SynthesisError, match=r"nope\.so.*pip install .*espeakng-loader=="):
        synthesize(SENTENCE, voice="en", pitch=50, rate=175)


@needs_espeak
def test_broken_library_and_data_are_clear_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import espeakng_loader

    junk = tmp_path / "libjunk.so"
    junk.write_bytes(b"not a shared library")
    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: str(junk))
    with pytest.raises(SynthesisError, match="cannot load the espeak-ng shared library"):
        synthesize(SENTENCE, voice="en", pitch=50, rate=175)
    monkeypatch.undo()
    monkeypatch.setattr(espeakng_loader, "get_data_path", lambda: str(tmp_path))
    with pytest.raises(SynthesisError, match="voice data .* incomplete"):
        synthesize(SENTENCE, voice="en", pitch=50, rate=175)


def test_missing_wheel_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "espeakng_loader", None)  # import now fails
    with pytest.raises(SynthesisError, match=r"pip install espeakng-loader=="):
        espeak_paths()


@needs_espeak
def test_every_variant_and_accent_exists() -> None:
    _, data = espeak_paths()
    variants = {p.name for p in (data / "voices" / "!v").iterdir()}
    assert set(VARIANTS) <= variants
    for accent in ACCENTS:  # SetVoiceByName accepts each accent with a variant
        synthesize("Yes.", voice=f"{accent}+m1", pitch=50, rate=175)


def test_voice_plan_is_distinct_and_deterministic() -> None:
    plan = voice_plan(180, seed=3)
    assert plan == voice_plan(180, seed=3) and plan != voice_plan(180, seed=4)
    assert len({(v.voice, v.pitch) for v in plan}) == 180
    assert len({v.speaker for v in plan}) == 180
    assert len({v.voice.split("+")[1] for v in plan}) == len(VARIANTS)  # all variants used
    for v in plan:
        accent, variant = v.voice.split("+")
        assert accent in ACCENTS and v.sex == VARIANTS[variant]
        assert 0 <= v.pitch <= 100 and 0 <= v.pitch_range <= 100 and 80 <= v.rate <= 450
    # a variant used twice differs in accent and clearly in pitch
    by_variant: dict[str, list] = {}
    for v in plan:
        by_variant.setdefault(v.voice.split("+")[1], []).append(v)
    for same in (vs for vs in by_variant.values() if len(vs) == 2):
        assert same[0].voice != same[1].voice and abs(same[0].pitch - same[1].pitch) >= 10
    with pytest.raises(ValueError):
        voice_plan(0, seed=0)


@needs_espeak
def test_corpus_is_deterministic_cached_and_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = synthetic_corpus(tmp_path / "a", 3, 2, seed=7, sentences_per_utterance=1)
    b = synthetic_corpus(tmp_path / "b", 3, 2, seed=7, sentences_per_utterance=1)
    assert len(a) == 6 and all(isinstance(u, Utterance) for u in a)
    assert [u.name for u in a] == [u.name for u in b]
    for ua, ub in zip(a, b, strict=True):
        assert ua.path.read_bytes() == ub.path.read_bytes()  # byte-identical WAVs
        assert ua.path == tmp_path / "a" / ua.speaker / f"{ua.name}.wav"
        assert ua.corpus == "synthetic" and ua.subset == "" and not ua.is_part
        y = load_audio(ua)
        assert y.dtype == np.float32 and abs(len(y) / 16000 - ua.duration_s) < 1e-3
    assert len({u.speaker for u in a}) == 3
    assert not list((tmp_path / "a").rglob("*.tmp"))

    # Same parameters: reused from the manifest without synthesising anything.
    def refuse(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("synthesised although the corpus was cached")

    monkeypatch.setattr(synthetic, "synthesize", refuse)
    assert synthetic_corpus(tmp_path / "a", 3, 2, seed=7, sentences_per_utterance=1) == a
    # Other parameters, or a file gone: made again.
    a[0].path.unlink()
    with pytest.raises(AssertionError, match="cached"):
        synthetic_corpus(tmp_path / "a", 3, 2, seed=7, sentences_per_utterance=1)
    with pytest.raises(AssertionError, match="cached"):
        synthetic_corpus(tmp_path / "b", 3, 2, seed=8, sentences_per_utterance=1)
    assert not (tmp_path / "b" / "manifest.json").exists()  # an unfinished run is no cache
    monkeypatch.undo()
    # A smaller corpus in the same folder removes the files the larger or unfinished one left.
    (tmp_path / "b" / "notes.wav").write_bytes(b"not ours")
    small = synthetic_corpus(tmp_path / "b", 2, 1, seed=7, sentences_per_utterance=1)
    left = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.wav"))
    ours = sorted(u.path.relative_to(tmp_path / "b") for u in small)
    assert left == sorted([*ours, Path("notes.wav")])


@needs_espeak
def test_speakers_differ_more_than_their_utterances(tmp_path: Path) -> None:
    corpus = synthetic_corpus(tmp_path, 6, 3, seed=0, sentences_per_utterance=1)
    X = np.stack([_mfcc_mean(load_audio(u)) for u in corpus])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    distance = 1 - X @ X.T
    speakers = np.array([u.speaker for u in corpus])
    same = speakers[:, None] == speakers[None, :]
    within = distance[same & ~np.eye(len(corpus), dtype=bool)].mean()
    between = distance[~same].mean()
    assert between > 3 * within
    # nearest neighbour (cosine on MFCC means) finds the same speaker far above chance (1/5)
    np.fill_diagonal(distance, np.inf)
    assert (speakers[distance.argmin(axis=1)] == speakers).mean() >= 0.6


@needs_espeak
def test_sentences_fill_several_seconds(tmp_path: Path) -> None:
    (u,) = synthetic_corpus(tmp_path, 1, 1, seed=1)
    assert 4.0 < u.duration_s < 12.0  # three Harvard sentences
    with pytest.raises(ValueError):
        synthetic_corpus(tmp_path, 1, 0, seed=1)
