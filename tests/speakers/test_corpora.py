"""Corpus readers and the two-utterance protocol (`corpora`), the SPHERE reader and audio
loading checks (`audio`), on tiny files written here (plus the real LibriSpeech mirror when
DLWILD_MIRROR is set)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dlwild.speakers import audio
from dlwild.speakers.audio import AudioError, Utterance, load_audio, read_sphere, sphere_header
from dlwild.speakers.corpora import (
    CorpusError,
    load_corpus,
    read_fsdd,
    read_librispeech,
    read_speakers_txt,
    read_timit,
    split_speakers,
    timit_speaker_lists,
    two_utterances,
)

SR = 16000


def tone(seconds: float, sr: int = SR, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, seconds: float = 0.5, sr: int = SR, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr, **kw), sr, subtype="PCM_16")
    return path


def write_sphere(
    path: Path,
    samples: np.ndarray,
    sr: int = SR,
    *,
    byte_format: str = "01",
    coding: str = "pcm",
    channels: int = 1,
    extra: str = "",
) -> Path:
    """A NIST SPHERE file as TIMIT ships it: 1024-byte NIST_1A header, then int16 samples."""
    samples = np.asarray(samples, dtype=np.int16).reshape(-1, channels)
    lines = [
        "NIST_1A",
        "   1024",
        "database_id -s5 TIMIT",
        f"sample_count -i {len(samples)}",
        f"sample_rate -i {sr}",
        f"channel_count -i {channels}",
        "sample_n_bytes -i 2",
        f"sample_byte_format -s2 {byte_format}",
        f"sample_coding -s{len(coding)} {coding}",
        "sample_sig_bits -i 16",
    ]
    if extra:
        lines.append(extra)
    lines.append("end_head")
    header = ("\n".join(lines) + "\n").encode("ascii").ljust(1024, b" ")
    dtype = "<i2" if byte_format == "01" else ">i2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + samples.astype(dtype).tobytes())
    return path


def int16_tone(seconds: float, sr: int = SR) -> np.ndarray:
    return (tone(seconds, sr) * 32767).astype(np.int16)


# ------------------------------------------------------------------------------------------
# SPHERE


@pytest.mark.parametrize("byte_format", ["01", "10"])
def test_sphere_reader_both_byte_orders(tmp_path, byte_format):
    samples = int16_tone(0.25)
    path = write_sphere(tmp_path / "SA1.WAV", samples, byte_format=byte_format)
    header = sphere_header(path)
    assert header["sample_rate"] == SR and header["sample_count"] == len(samples)
    assert header["channel_count"] == 1 and header["sample_n_bytes"] == 2
    assert header["sample_byte_format"] == byte_format and header["database_id"] == "TIMIT"
    assert header["header_size"] == 1024
    data, rate = read_sphere(path)
    assert rate == SR and data.shape == (len(samples), 1) and data.dtype == np.float32
    np.testing.assert_array_equal(data[:, 0], samples / np.float32(32768))


def test_sphere_stereo_is_mixed_down(tmp_path):
    left, right = int16_tone(0.1), np.zeros(1600, np.int16)
    inter = np.stack([left, right], axis=1)
    path = write_sphere(tmp_path / "x.wav", inter, channels=2)
    utt = Utterance(path, "FAKS0", "f", 0.1, "timit", "x")
    y = load_audio(utt)
    np.testing.assert_allclose(y, left / 32768 / 2, atol=1e-6)


def test_sphere_truncated_and_shorten_are_clear_errors(tmp_path):
    path = write_sphere(tmp_path / "cut.wav", int16_tone(0.25))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(AudioError, match=r"cut\.wav.*truncated"):
        read_sphere(path)
    shorten = write_sphere(
        tmp_path / "sh.wav", int16_tone(0.1), coding="pcm,embedded-shorten-v2.00"
    )
    with pytest.raises(AudioError, match=r"sh\.wav.*shorten.*unsupported"):
        read_sphere(shorten)
    with pytest.raises(AudioError, match="unsupported"):
        load_audio(Utterance(shorten, "MABC0", "m", 0.1, "timit", "sh"))
    notsphere = tmp_path / "n.wav"
    notsphere.write_bytes(b"hello world")
    with pytest.raises(AudioError, match="NIST"):
        sphere_header(notsphere)


# ------------------------------------------------------------------------------------------
# TIMIT layouts


def make_ldc(root: Path, upper: bool) -> None:
    c = str.upper if upper else str.lower
    for part, dr, spk in [
        ("TEST", "DR1", "FAKS0"),
        ("TEST", "DR1", "MDAB0"),
        ("TEST", "DR2", "FCMR0"),
        ("TRAIN", "DR1", "FCJF0"),
        ("TRAIN", "DR1", "MDPK0"),
        ("TRAIN", "DR2", "MARC0"),
    ]:
        for sent in ("SA1", "SA2", "SI943", "SX133"):
            path = root / c(part) / c(dr) / c(spk) / c(f"{sent}.WAV")
            write_sphere(path, int16_tone(0.05), byte_format="10" if upper else "01")
    (root / c("TEST") / c("DR1") / c("FAKS0") / c("SA1.TXT")).write_text("0 1 text")


@pytest.mark.parametrize("upper", [True, False])
def test_timit_ldc_layout(tmp_path, upper):
    make_ldc(tmp_path / "timit", upper)
    utts = read_timit(tmp_path / "timit")
    assert len(utts) == 24
    assert {u.speaker for u in utts} == {"FAKS0", "MDAB0", "FCMR0", "FCJF0", "MDPK0", "MARC0"}
    faks = [u for u in utts if u.speaker == "FAKS0"]
    assert [u.name for u in faks] == ["FAKS0/SA1", "FAKS0/SA2", "FAKS0/SI943", "FAKS0/SX133"]
    assert all(u.sex == "f" and u.subset == "test/dr1" and u.corpus == "timit" for u in faks)
    assert {u.sex for u in utts if u.speaker.startswith("M")} == {"m"}
    assert faks[0].duration_s == pytest.approx(0.05)
    y = load_audio(faks[0])
    assert y.shape == (800,) and y.dtype == np.float32
    evaluation, train = timit_speaker_lists(utts, n_eval=3, n_train=2)
    assert evaluation == ["FAKS0", "MDAB0", "FCMR0"]  # sorted by DRn, then speaker
    assert sorted(Counter(s[0] for s in train).values()) == [1, 1]
    assert not set(train) & set(evaluation)
    assert timit_speaker_lists(utts, n_eval=3, n_train=None)[1] == ["FCJF0", "MARC0", "MDPK0"]
    with pytest.raises(CorpusError, match="fewer"):
        timit_speaker_lists(utts, n_eval=40)


def test_timit_nltk_layout_and_riff(tmp_path):
    for spk in ("dr1-fvmh0", "dr1-mcpm0"):
        for sent in ("sa1", "sa2", "sx1"):
            write_wav(tmp_path / "timit" / spk / f"{sent}.wav", 0.1)
    utts = read_timit(tmp_path / "timit")
    assert [u.speaker for u in utts[::3]] == ["FVMH0", "MCPM0"]
    assert utts[0].name == "FVMH0/SA1" and utts[0].subset == "dr1" and utts[0].sex == "f"
    assert load_audio(utts[0]).shape == (1600,)
    assert load_corpus(f"timit:{tmp_path / 'timit'}") == utts


def test_timit_not_registered_and_wrong_layout(tmp_path):
    with pytest.raises(CorpusError, match="timit:"):
        load_corpus("timit")
    write_wav(tmp_path / "other" / "a.wav")
    with pytest.raises(CorpusError, match="TIMIT"):
        read_timit(tmp_path / "other")


# ------------------------------------------------------------------------------------------
# LibriSpeech layouts, FSDD, load_corpus

SPEAKERS_TXT = """\
; Some pipe(|) separated metadata about all LibriVox readers
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
26   | M | train-clean-100  | 25.08 | Denny Sayers
60   | M | train-clean-100  | 20.18 | |CBW|Simon
"""


def test_read_speakers_txt(tmp_path):
    (tmp_path / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    assert read_speakers_txt(tmp_path / "SPEAKERS.TXT") == {"19": "f", "26": "m", "60": "m"}


def test_librispeech_official_tree(tmp_path):
    root = tmp_path / "LibriSpeech"
    root.mkdir()
    (root / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    for spk, chapter in (("19", "198"), ("26", "495")):
        for utt in range(3):
            write_wav(root / "train-clean-100" / spk / chapter / f"{spk}-{chapter}-{utt:04d}.flac")
    (root / "train-clean-100" / "19" / "198" / "19-198.trans.txt").write_text("x")
    utts = read_librispeech(root / "train-clean-100")  # SPEAKERS.TXT one level up
    assert [u.speaker for u in utts] == ["19"] * 3 + ["26"] * 3
    assert [u.sex for u in utts] == ["f"] * 3 + ["m"] * 3
    assert utts[0].name == "19-198-0000" and utts[0].duration_s == pytest.approx(0.5)
    assert load_corpus(f"librispeech:{root}") == utts


def test_librispeech_flat_and_per_speaker(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "SPEAKERS.TXT").write_text(SPEAKERS_TXT)
    write_wav(flat / "19-198-0000.flac")
    write_wav(flat / "26-495-0000.flac")
    write_wav(flat / "99-1-0000.flac")  # not in SPEAKERS.TXT
    utts = read_librispeech(flat)
    assert [(u.speaker, u.sex) for u in utts] == [("19", "f"), ("26", "m"), ("99", None)]

    per = tmp_path / "per"
    write_wav(per / "19" / "a.flac")
    write_wav(per / "19" / "b.wav")
    write_wav(per / "60" / "hello.flac")
    utts = read_librispeech(per, speakers_txt=flat / "SPEAKERS.TXT")
    assert [u.name for u in utts] == ["19/a", "19/b", "60/hello"]
    assert [u.sex for u in utts] == ["f", "f", "m"]


def test_fsdd_naming(tmp_path):
    rec = tmp_path / "recordings"
    for name in ("0_george_0", "0_george_10", "0_george_2", "3_theo_1"):
        write_wav(rec / f"{name}.wav", 0.2, sr=8000)
    (rec / "README.wav.txt").write_text("x")
    utts = read_fsdd(tmp_path)
    assert [u.name for u in utts] == ["0_george_0", "0_george_2", "0_george_10", "3_theo_1"]
    assert [u.speaker for u in utts] == ["george"] * 3 + ["theo"]
    assert utts[0].sex is None and utts[0].duration_s == pytest.approx(0.2)


def test_resampling_8k_to_16k(tmp_path, caplog):
    path = write_wav(tmp_path / "0_theo_0.wav", 0.5, sr=8000, freq=1000.0)
    utt = read_fsdd(tmp_path)[0]
    audio._RESAMPLED.discard((8000, 16000))
    with caplog.at_level("WARNING", logger="dlwild.speakers.audio"):
        y = load_audio(utt)
        load_audio(utt)
    assert sum("8000 Hz -> 16000 Hz" in r.message for r in caplog.records) == 1
    assert y.shape == (8000,) and y.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) * SR / len(y) == pytest.approx(1000, abs=4)
    assert np.sqrt(np.mean(y**2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.02)
    assert path.exists()


def test_corpus_path_without_audio(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    for spec in ("librispeech", "fsdd", "timit"):
        with pytest.raises(CorpusError, match=r"empty.*no audio"):
            load_corpus(f"{spec}:{tmp_path / 'empty'}")
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(f"fsdd:{tmp_path / 'missing'}")
    with pytest.raises(CorpusError, match="unknown corpus"):
        load_corpus("voxceleb")


def test_a_corpus_spec_is_checked_before_anything_is_read(tmp_path):
    """The chapter's declaration validates corpora with this, before a kernel starts."""
    from dlwild.speakers.corpora import check_corpus_spec

    assert check_corpus_spec(" LibriSpeech ") == ("librispeech", None)
    assert check_corpus_spec(f"timit:{tmp_path}") == ("timit", tmp_path)
    for spec, why in (("timit", "licensed by the LDC"), ("fsdd: ", "empty"),
                      (f"fsdd:{tmp_path / 'gone'}", "does not exist"),
                      ("voxceleb", "unknown corpus")):
        with pytest.raises(CorpusError, match=why):
            check_corpus_spec(spec)


# ------------------------------------------------------------------------------------------
# audio checks


def test_audio_errors_name_the_file(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(8000, np.float32), SR, subtype="PCM_16")
    quiet = tmp_path / "quiet.wav"
    sf.write(str(quiet), np.full(8000, 1e-7, np.float32), SR, subtype="FLOAT")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    nosamples = tmp_path / "nosamples.wav"
    sf.write(str(nosamples), np.zeros(0, np.float32), SR)
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC" + os.urandom(200))
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(os.urandom(300))
    truncated = write_wav(tmp_path / "truncated.wav", 0.5)
    truncated.write_bytes(truncated.read_bytes()[:-2000])

    def utt(path: Path) -> Utterance:
        return Utterance(path, "s", None, 0.5, "test", path.stem)

    cases = [
        (silent, "silent"),
        (quiet, "silent"),
        (empty, "empty"),
        (nosamples, "no samples|empty"),
        (corrupt, "corrupt"),
        (garbage, "corrupt"),
        (truncated, "truncated"),
        (tmp_path / "absent.wav", "no such"),
    ]
    for path, what in cases:
        with pytest.raises(AudioError, match=rf"{path.name}.*({what})"):
            load_audio(utt(path))
    good = write_wav(tmp_path / "short.wav", 0.5)
    with pytest.raises(AudioError, match=r"short\.wav.*shorter than the 1 s"):
        load_audio(utt(good), min_s=1.0)
    assert load_audio(utt(good), min_s=0.5).shape == (8000,)


def test_stereo_mixdown_and_part(tmp_path):
    path = tmp_path / "st.wav"
    left = tone(1.0)
    sf.write(str(path), np.stack([left, np.full_like(left, 0.1)], axis=1), SR, subtype="FLOAT")
    whole = Utterance(path, "s", None, 1.0, "test", "st")
    y = load_audio(whole)
    np.testing.assert_allclose(y, (left + 0.1) / 2, atol=1e-6)
    part = whole.part(0.25, 0.75, "#x")
    assert part.duration_s == 0.5 and part.start_s == 0.25 and part.end_s == 0.75
    np.testing.assert_allclose(load_audio(part), y[4000:12000], atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        whole.part(0.5, 2.0, "#y")


# ------------------------------------------------------------------------------------------
# protocol


def test_two_utterances_single_recording_split_80_20(tmp_path):
    path = write_wav(tmp_path / "19-198-0000.flac", 2.5)
    utts = read_librispeech(tmp_path)
    groups = two_utterances(utts)
    assert len(groups) == 2 and all(len(g) == 1 for g in groups)
    (a,), (b,) = groups
    assert (a.start_s, a.end_s) == (0.0, pytest.approx(2.0))
    assert (b.start_s, b.end_s) == (pytest.approx(2.0), pytest.approx(2.5))
    assert a.duration_s == pytest.approx(2.0) and b.duration_s == pytest.approx(0.5)
    assert a.name == "19-198-0000#a" and b.name == "19-198-0000#b" and a.path == path
    ya, yb = load_audio(a), load_audio(b)
    assert (len(ya), len(yb)) == (32000, 8000)
    np.testing.assert_array_equal(np.concatenate([ya, yb]), load_audio(utts[0]))
    with pytest.raises(ValueError, match=r"19-198-0000#b.*shorter than the minimum 1 s"):
        two_utterances(utts, min_s=1.0)
    assert two_utterances(utts, min_s=1.0, on_short="skip") == []


def test_two_utterances_several_recordings_first_8_of_10():
    utts = [
        Utterance(Path(f"/x/{s}.wav"), "FAKS0", "f", 3.0, "timit", f"FAKS0/{s}")
        for s in ["SX" + str(i) for i in range(7)] + ["SA1", "SA2", "SI943"]
    ]
    utts += [Utterance(Path(f"/x/m{i}.wav"), "MDAB0", "m", 2.0, "timit", f"m{i}") for i in (1, 2)]
    groups = two_utterances(utts[::-1], speakers=["FAKS0", "MDAB0"])
    first, rest = groups[0], groups[1]
    assert [u.name.split("/")[1] for u in first] == ["SA1", "SA2", "SI943"] + [
        "SX" + str(i) for i in range(5)
    ]
    assert [u.name for u in rest] == ["FAKS0/SX5", "FAKS0/SX6"]
    assert [u.name for u in groups[2]] == ["m1"] and [u.name for u in groups[3]] == ["m2"]
    with pytest.raises(ValueError, match="nobody"):
        two_utterances(utts, speakers=["nobody"])


def test_split_speakers_disjoint_and_balanced():
    sexes = {f"f{i}": "f" for i in range(10)} | {f"m{i}": "m" for i in range(30)}
    train, test = split_speakers(sexes, 8, seed=1)
    assert len(test) == 8 and len(train) == 32 and not set(train) & set(test)
    assert Counter(sexes[s] for s in test) == {"f": 4, "m": 4}
    assert split_speakers(sexes, 8, seed=1) == (train, test)
    assert split_speakers(sexes, 8, seed=2) != (train, test)
    _, test = split_speakers(sexes, 26, seed=0)  # only 10 women: men fill up
    assert Counter(sexes[s] for s in test) == {"f": 10, "m": 16}
    train, test = split_speakers(sexes, 4, seed=0, n_train=6)
    assert Counter(sexes[s] for s in train) == {"f": 3, "m": 3}
    with pytest.raises(ValueError, match="n_test"):
        split_speakers(sexes, 41)


# ------------------------------------------------------------------------------------------
# the real mirror


@pytest.mark.skipif(not os.environ.get("DLWILD_MIRROR"), reason="DLWILD_MIRROR not set")
def test_real_librispeech_mirror(isolated_home, monkeypatch):
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    utts = load_corpus("librispeech")
    assert len(utts) == 251 and len({u.speaker for u in utts}) == 251
    assert Counter(u.sex for u in utts) == {"f": 125, "m": 126}
    assert all(u.path.suffix == ".flac" and u.corpus == "librispeech" for u in utts)
    total = sum(u.duration_s for u in utts)
    assert total / 60 == pytest.approx(52.3, abs=0.1)
    assert min(u.duration_s for u in utts) == pytest.approx(1.6, abs=0.05)
    _, test = split_speakers(utts, 40, seed=0)
    assert Counter(u.sex for u in utts if u.speaker in test) == {"f": 20, "m": 20}
    groups = two_utterances(utts, speakers=test)
    assert len(groups) == 80
    assert [g[0].speaker for g in groups[::2]] == test
    for a, b in zip(groups[::2], groups[1::2], strict=True):
        whole = a[0].duration_s + b[0].duration_s
        assert a[0].duration_s == pytest.approx(0.8 * whole)
        assert b[0].end_s == pytest.approx(whole)
    y = load_audio(groups[1])
    assert len(y) == pytest.approx(groups[1][0].duration_s * SR, abs=2)
