"""Speech corpora for the speaker-clustering chapter: LibriSpeech, TIMIT and FSDD as lists of
:class:`Utterance`, the papers' two-utterances-per-speaker protocol, and checked audio loading.

Every reader returns the same record, so the chapter can swap the licensed TIMIT (LDC, never
shipped) for the free LibriSpeech mirror without touching the rest. Audio comes back as 16 kHz
mono float32; anything else (8 kHz FSDD, stereo, NIST SPHERE) is converted here, and broken,
empty, silent or too-short audio is refused with the file's name in the error.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "AUDIO_SUFFIXES",
    "SR",
    "AudioError",
    "CorpusError",
    "Utterance",
    "load_audio",
    "load_corpus",
    "read_fsdd",
    "read_librispeech",
    "read_sphere",
    "read_speakers_txt",
    "read_timit",
    "speakers_of",
    "sphere_header",
    "split_speakers",
    "timit_speaker_lists",
    "two_utterances",
]

log = logging.getLogger(__name__)

#: The sampling rate of all features in the papers (TIMIT's own rate).
SR = 16000
#: File suffixes (lower case) taken as audio by the readers.
AUDIO_SUFFIXES = (".wav", ".flac")
#: RMS below which a recording counts as silence (full scale = 1.0; -100 dBFS).
SILENCE_RMS = 1e-5
#: The corpora :func:`load_corpus` knows, and the registered data set behind each (if any).
CORPORA = {"librispeech": "librispeech_resemblyzer", "fsdd": "fsdd", "timit": None}


class CorpusError(ValueError):
    """A corpus could not be read: no audio at the path, unknown layout, bad spec."""


class AudioError(ValueError):
    """A recording cannot be used: corrupt, truncated, empty, silent, too short or unsupported."""


@dataclass(frozen=True)
class Utterance:
    """One recording, or the part ``[start_s, end_s)`` of one, of a known speaker.

    ``sex`` is ``"f"``, ``"m"`` or None (unknown); ``name`` is unique within its corpus;
    ``subset`` is where the corpus puts it (e.g. ``"test/dr1"`` for TIMIT, ``""`` if none);
    ``duration_s`` is the duration of the recording or of the part.
    """

    path: Path
    speaker: str
    sex: str | None
    duration_s: float
    corpus: str
    name: str
    start_s: float = 0.0
    end_s: float | None = None
    subset: str = ""

    @property
    def is_part(self) -> bool:
        """True when this is a cut out of a longer recording."""
        return self.start_s > 0 or self.end_s is not None

    def part(self, start_s: float, end_s: float, suffix: str) -> Utterance:
        """The cut ``[start_s, end_s)`` (seconds from this utterance's own start)."""
        if not 0 <= start_s < end_s <= self.duration_s + 1e-9:
            raise ValueError(
                f"{self.name}: part [{start_s}, {end_s}) is outside 0..{self.duration_s} s"
            )
        return replace(
            self,
            start_s=self.start_s + start_s,
            end_s=self.start_s + end_s,
            duration_s=end_s - start_s,
            name=f"{self.name}{suffix}",
        )


# --------------------------------------------------------------------------------------------
# NIST SPHERE (TIMIT's audio format)

_SPHERE_MAGIC = b"NIST_1A"


def sphere_header(path: str | Path) -> dict[str, int | float | str]:
    """The fields of a NIST SPHERE header (``-i`` ints, ``-r`` reals, ``-sN`` strings), plus
    ``header_size``. Raises :class:`AudioError` naming the file if it is not SPHERE."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(1024)
    lines = head.split(b"\n")
    if len(lines) < 2 or lines[0].strip() != _SPHERE_MAGIC:
        raise AudioError(f"{path}: not a NIST SPHERE file (no NIST_1A header)")
    try:
        size = int(lines[1].strip())
    except ValueError:
        raise AudioError(f"{path}: SPHERE header size {lines[1][:20]!r} is not a number") from None
    if size < 16:
        raise AudioError(f"{path}: SPHERE header size {size} is too small")
    if size > len(head):
        with path.open("rb") as handle:
            head = handle.read(size)
        if len(head) < size:
            raise AudioError(f"{path}: truncated SPHERE header ({len(head)} of {size} bytes)")
    fields: dict[str, int | float | str] = {"header_size": size}
    for raw in head[:size].split(b"\n")[2:]:
        line = raw.decode("ascii", errors="replace").strip()
        if line == "end_head":
            break
        if not line or line.startswith(";"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            continue
        key, kind, value = parts
        try:
            if kind == "-i":
                fields[key] = int(value)
            elif kind == "-r":
                fields[key] = float(value)
            elif kind.startswith("-s"):
                length = int(kind[2:]) if kind[2:].isdigit() else len(value)
                fields[key] = value[:length]
        except ValueError:
            raise AudioError(f"{path}: bad SPHERE header line {line!r}") from None
    else:
        raise AudioError(f"{path}: SPHERE header has no end_head within {size} bytes")
    return fields


def read_sphere(path: str | Path) -> tuple[np.ndarray, int]:
    """Samples ``[n, channels]`` float32 in [-1, 1) and the rate of an uncompressed PCM SPHERE
    file (either byte order). Shorten-compressed and non-PCM files raise :class:`AudioError`."""
    path = Path(path)
    h = sphere_header(path)
    coding = str(h.get("sample_coding", "pcm")).lower()
    if "shorten" in coding or "wavpack" in coding or "shortpack" in coding:
        raise AudioError(
            f"{path}: SPHERE sample_coding {coding!r} (compressed) is unsupported; "
            "decompress it first, e.g. with sph2pipe or sox, to uncompressed PCM"
        )
    if coding != "pcm":
        raise AudioError(f"{path}: SPHERE sample_coding {coding!r} is unsupported (only pcm)")
    for key in ("sample_rate", "sample_count"):
        if key not in h:
            raise AudioError(f"{path}: SPHERE header lacks {key}")
    rate, count = int(h["sample_rate"]), int(h["sample_count"])
    channels = int(h.get("channel_count", 1))
    width = int(h.get("sample_n_bytes", 2))
    order = str(h.get("sample_byte_format", "01"))
    if width not in (1, 2, 4) or channels < 1 or rate <= 0:
        raise AudioError(
            f"{path}: unsupported SPHERE layout (sample_n_bytes={width}, "
            f"channel_count={channels}, sample_rate={rate})"
        )
    if width > 1 and order not in ("01", "10", "0123", "3210"):
        raise AudioError(f"{path}: unsupported SPHERE sample_byte_format {order!r}")
    endian = "<" if order in ("01", "0123", "1") else ">"
    dtype = np.dtype({1: "i1", 2: f"{endian}i2", 4: f"{endian}i4"}[width])
    expected = count * channels * width
    with path.open("rb") as handle:
        handle.seek(int(h["header_size"]))
        data = handle.read(expected)
    if len(data) < expected:
        raise AudioError(
            f"{path}: truncated SPHERE file: header promises {count} samples x {channels} "
            f"channel(s) ({expected} bytes), only {len(data)} bytes present"
        )
    samples = np.frombuffer(data, dtype=dtype).reshape(count, channels)
    scale = float(2 ** (8 * width - 1))
    return (samples.astype(np.float32) / np.float32(scale)), rate


def _is_sphere(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(7) == _SPHERE_MAGIC


def _duration(path: Path) -> float:
    """Seconds of audio in ``path`` from its header (no decoding)."""
    try:
        if _is_sphere(path):
            h = sphere_header(path)
            return int(h.get("sample_count", 0)) / int(h.get("sample_rate", SR) or SR)
        import soundfile as sf

        info = sf.info(str(path))
        return info.frames / info.samplerate if info.samplerate else 0.0
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError
        raise AudioError(f"{path}: cannot read the audio header: {exc}") from exc


def _check_riff(path: Path) -> None:
    """Refuse a RIFF WAV whose ``data`` chunk is cut short (libsndfile would pad silently)."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        size = path.stat().st_size
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if length not in (0, 0xFFFFFFFF) and handle.tell() + length > size:
                    raise AudioError(
                        f"{path}: truncated WAV file: data chunk promises {length} bytes, "
                        f"only {size - handle.tell()} present"
                    )
                return
            handle.seek(length + (length & 1), 1)


# --------------------------------------------------------------------------------------------
# audio loading

_RESAMPLED: set[tuple[int, int]] = set()


def _read(utt: Utterance) -> tuple[np.ndarray, int]:
    """Raw samples ``[n, channels]`` float32 and the rate of one utterance (or its part)."""
    path = Path(utt.path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    if _is_sphere(path):
        data, rate = read_sphere(path)
        start = int(round(utt.start_s * rate))
        stop = None if utt.end_s is None else int(round(utt.end_s * rate))
        return data[start:stop], rate
    _check_riff(path)
    import soundfile as sf

    try:
        info = sf.info(str(path))
        start = int(round(utt.start_s * info.samplerate))
        stop = None if utt.end_s is None else int(round(utt.end_s * info.samplerate))
        data, rate = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=True)
    except Exception as exc:  # LibsndfileError, RuntimeError, ValueError from a bad file
        raise AudioError(f"{path}: corrupt or unreadable audio file: {exc}") from exc
    wanted = (stop if stop is not None else info.frames) - start
    if len(data) < wanted - 1:
        raise AudioError(f"{path}: truncated audio: expected {wanted} frames, decoded {len(data)}")
    return data, int(rate)


def _resample(y: np.ndarray, orig: int, target: int, what: str) -> np.ndarray:
    import librosa

    if (orig, target) not in _RESAMPLED:
        _RESAMPLED.add((orig, target))
        log.warning(
            "resampling %s Hz -> %s Hz with librosa (soxr_hq), e.g. %s; further files at this "
            "rate are resampled without notice",
            orig,
            target,
            what,
        )
    return librosa.resample(y, orig_sr=orig, target_sr=target, res_type="soxr_hq").astype(
        np.float32
    )


def load_audio(
    utt: Utterance | Sequence[Utterance], sr: int = SR, *, min_s: float | None = None
) -> np.ndarray:
    """Mono float32 samples at ``sr`` of an utterance, its part, or several concatenated (a
    protocol group from :func:`two_utterances`). Resamples with librosa when the file's rate
    differs. Raises :class:`AudioError` naming the file for corrupt, truncated, empty or silent
    audio, and for audio shorter than ``min_s`` seconds when asked."""
    if not isinstance(utt, Utterance):
        parts = list(utt)
        if not parts:
            raise AudioError("load_audio: empty group of utterances")
        y = np.concatenate([load_audio(u, sr) for u in parts])
        name = f"{parts[0].name} (+{len(parts) - 1} more)" if len(parts) > 1 else parts[0].name
        _check_length(y, sr, min_s, name)
        return y
    data, rate = _read(utt)
    where = f"{utt.path}" + (
        f" [{utt.start_s:.3f}, {utt.end_s:.3f}) s" if utt.is_part and utt.end_s else ""
    )
    if data.size == 0:
        raise AudioError(f"{where}: no samples (empty audio)")
    y = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(y)):
        raise AudioError(f"{where}: audio contains NaN or infinite samples")
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise AudioError(
            f"{where}: silent audio (RMS {rms:.2e} < {SILENCE_RMS:g}); a silent recording "
            "carries no speaker information"
        )
    if rate != sr:
        y = _resample(y, rate, sr, str(utt.path))
    y = np.ascontiguousarray(y, dtype=np.float32)
    _check_length(y, sr, min_s, where)
    return y


def _check_length(y: np.ndarray, sr: int, min_s: float | None, what: str) -> None:
    if min_s is not None and len(y) < int(round(min_s * sr)):
        raise AudioError(
            f"{what}: {len(y) / sr:.3f} s of audio is shorter than the {min_s:g} s asked for "
            "(one segment)"
        )


# --------------------------------------------------------------------------------------------
# readers


def _audio_files(root: Path) -> list[Path]:
    if not root.exists():
        raise CorpusError(f"{root}: no such file or folder")
    if root.is_file():
        files = [root] if root.suffix.lower() in AUDIO_SUFFIXES else []
    else:
        files = sorted(
            p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()
        )
    if not files:
        raise CorpusError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) found there")
    return files


def read_speakers_txt(path: str | Path) -> dict[str, str]:
    """Speaker id -> ``"f"``/``"m"`` from LibriSpeech's ``SPEAKERS.TXT``
    (``;`` comments, ``ID | SEX | SUBSET | MINUTES | NAME``)."""
    sexes: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 2 and cells[0] and cells[1].upper() in ("F", "M"):
            sexes[cells[0]] = cells[1].lower()
    return sexes


_LIBRI_NAME = re.compile(r"^(\d+)-(\d+)-(\d+)$")


def _find_speakers_txt(root: Path) -> Path | None:
    base = root if root.is_dir() else root.parent
    for candidate in (base / "SPEAKERS.TXT", base.parent / "SPEAKERS.TXT"):
        if candidate.is_file():
            return candidate
    found = sorted(base.rglob("SPEAKERS.TXT"))
    return found[0] if found else None


def _librispeech(files: Iterable[Path], speakers_txt: Path | None, corpus: str) -> list[Utterance]:
    sexes = read_speakers_txt(speakers_txt) if speakers_txt else {}
    out = []
    for path in files:
        match = _LIBRI_NAME.match(path.stem)
        # official tree and flat mirror: <spk>-<chapter>-<utt>; else a per-speaker folder
        speaker = match.group(1) if match else path.parent.name
        out.append(
            Utterance(
                path=path,
                speaker=speaker,
                sex=sexes.get(speaker),
                duration_s=_duration(path),
                corpus=corpus,
                name=path.stem if match else f"{speaker}/{path.stem}",
            )
        )
    return sorted(out, key=lambda u: (u.speaker, u.name))


def read_librispeech(root: str | Path, speakers_txt: str | Path | None = None) -> list[Utterance]:
    """LibriSpeech utterances under ``root``: the official ``<subset>/<spk>/<chapter>/`` tree,
    the flat ``<spk>-<chapter>-<utt>.flac`` mirror, or ``<spk>/<anything>.flac`` folders. Sexes
    come from ``SPEAKERS.TXT`` (given, or found in/under/next to ``root``), else None."""
    root = Path(root)
    files = _audio_files(root)
    txt = Path(speakers_txt) if speakers_txt else _find_speakers_txt(root)
    return _librispeech(files, txt, "librispeech")


_TIMIT_NLTK = re.compile(r"^(dr\d)-([fm][a-z]{3}\d)$", re.IGNORECASE)
_TIMIT_SPK = re.compile(r"^[fm][a-z]{3}\d$", re.IGNORECASE)


def read_timit(root: str | Path) -> list[Utterance]:
    """TIMIT utterances: LDC's ``TRAIN|TEST/DRn/<SPK>/<UTT>.WAV`` (either case; SPHERE or RIFF)
    or NLTK's sample ``dr1-fvmh0/sa1.wav``. Speaker ids are upper case (``FAKS0``), the sex is
    their first letter, ``subset`` is e.g. ``"test/dr1"`` (NLTK: ``"dr1"``)."""
    root = Path(root)
    out: dict[tuple[str, str], Utterance] = {}
    for path in _audio_files(root):
        parts = path.parts
        nltk = _TIMIT_NLTK.match(path.parent.name)
        if nltk:
            subset, speaker = nltk.group(1).lower(), nltk.group(2).upper()
        elif (
            len(parts) >= 4
            and _TIMIT_SPK.match(parts[-2])
            and re.match(r"^dr\d$", parts[-3], re.IGNORECASE)
            and parts[-4].lower() in ("train", "test")
        ):
            subset, speaker = f"{parts[-4].lower()}/{parts[-3].lower()}", parts[-2].upper()
        else:
            continue  # not a TIMIT utterance (e.g. a stray file)
        # some copies hold both SA1.WAV (SPHERE) and a converted SA1.WAV.wav: keep the first
        sentence = path.name.split(".")[0].upper()
        key = (speaker, sentence)
        if key in out:
            continue
        out[key] = Utterance(
            path=path,
            speaker=speaker,
            sex=speaker[0].lower(),
            duration_s=_duration(path),
            corpus="timit",
            name=f"{speaker}/{sentence}",
            subset=subset,
        )
    if not out:
        raise CorpusError(
            f"{root}: audio found, but none in TIMIT's layout (TRAIN|TEST/DRn/<SPK>/<UTT>.WAV "
            "or NLTK's dr1-fvmh0/sa1.wav)"
        )
    return sorted(out.values(), key=lambda u: (u.speaker, u.name))


def timit_speaker_lists(
    utterances: Iterable[Utterance], n_eval: int = 40, n_train: int | None = 100, seed: int = 0
) -> tuple[list[str], list[str]]:
    """The papers' speaker lists on a full TIMIT: (evaluation, training).

    Evaluation = the first ``n_eval`` TEST speakers in sorted ``DRn/<SPK>`` order. This is OUR
    RECONSTRUCTION: ACM MM 2009 names only the first seven of TEST/DR1 (FAKS0, FDAC1, FELC0,
    FJEM0, MDAB0, MJSW0, MREB0), which this order reproduces; the authors' fixed 40-speaker file
    (15 f / 25 m) may differ beyond them. Training = ``n_train`` other speakers (all of them if
    None, i.e. the "590"), drawn with ``seed`` and balanced by sex (50 f / 50 m for 100)."""
    utts = list(utterances)
    test = sorted({(u.subset, u.speaker) for u in utts if u.subset.startswith("test/")})
    if len(test) < n_eval:
        raise CorpusError(
            f"TIMIT's TEST part has {len(test)} speakers here, fewer than the {n_eval} asked for; "
            "is this the full LDC corpus?"
        )
    evaluation = [spk for _, spk in test[:n_eval]]
    rest = {s: x for s, x in speakers_of(utts).items() if s not in set(evaluation)}
    if n_train is None:
        return evaluation, sorted(rest)
    _, train = split_speakers(rest, n_train, seed)
    return evaluation, train


_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")


def read_fsdd(root: str | Path) -> list[Utterance]:
    """Free Spoken Digit Dataset recordings ``recordings/<digit>_<speaker>_<index>.wav``
    (8 kHz; :func:`load_audio` resamples). FSDD states no sexes, so ``sex`` is None."""
    return _fsdd(_audio_files(Path(root)), Path(root))


def _fsdd(files: Iterable[Path], root: Path) -> list[Utterance]:
    out = []
    for path in files:
        match = _FSDD_NAME.match(path.stem)
        if not match:
            continue
        out.append(
            Utterance(
                path=path,
                speaker=match.group(2),
                sex=None,
                duration_s=_duration(path),
                corpus="fsdd",
                name=path.stem,
            )
        )
    if not out:
        raise CorpusError(f"{root}: no FSDD recordings named <digit>_<speaker>_<index>.wav")
    return sorted(
        out,
        key=lambda u: (u.speaker, *(int(x) if x.isdigit() else x for x in u.name.split("_"))),
    )


def check_corpus_spec(spec: str) -> tuple[str, Path | None]:
    """The corpus name and, for ``"<name>:<path>"``, the existing path of a local copy;
    CorpusError (a ValueError) for an unknown name, an empty or missing path, or TIMIT
    without a path (licensed by the LDC, never registered)."""
    name, sep, location = spec.partition(":")
    name = name.strip().lower()
    if name not in CORPORA:
        raise CorpusError(
            f"unknown corpus {spec!r}; use one of {', '.join(CORPORA)}, optionally as "
            "'<name>:<path>' for a local copy"
        )
    if not sep:
        if CORPORA[name] is None:
            raise CorpusError(
                "TIMIT is licensed by the LDC and not in the data registry; pass the path of "
                "your copy as 'timit:/path/to/TIMIT'"
            )
        return name, None
    if not location.strip():
        raise CorpusError(f"{spec!r}: the path after ':' is empty")
    path = Path(location.strip()).expanduser()
    if not path.exists():
        raise CorpusError(f"{spec!r}: {path} does not exist")
    return name, path


def load_corpus(spec: str) -> list[Utterance]:
    """Utterances of ``spec``: ``"librispeech"`` or ``"fsdd"`` (the registered data sets,
    through :func:`dlwild.core.data.fetch`: cache, mirror, download) or ``"<name>:<path>"``
    for a local copy (``timit:/data/TIMIT``; TIMIT is licensed and never registered)."""
    name, path = check_corpus_spec(spec)
    if path is not None:
        reader = {"librispeech": read_librispeech, "timit": read_timit, "fsdd": read_fsdd}[name]
        return reader(path)
    dataset = CORPORA[name]
    from dlwild.core import data

    fetched = data.fetch(dataset)
    files = [p for p in fetched.paths.values() if p.suffix.lower() in AUDIO_SUFFIXES]
    if name == "librispeech":
        txt = next((p for r, p in fetched.paths.items() if r.endswith("SPEAKERS.TXT")), None)
        return _librispeech(files, txt, "librispeech")
    return _fsdd(files, Path(dataset))


# --------------------------------------------------------------------------------------------
# protocol


def speakers_of(utterances: Iterable[Utterance]) -> dict[str, str | None]:
    """Speaker id -> sex, sorted by id."""
    out: dict[str, str | None] = {}
    for u in utterances:
        out.setdefault(u.speaker, u.sex)
    return dict(sorted(out.items()))


def two_utterances(
    utterances: Iterable[Utterance],
    speakers: Iterable[str] | None = None,
    *,
    first: float = 0.8,
    min_s: float = 0.0,
    on_short: str = "error",
) -> list[tuple[Utterance, ...]]:
    """The papers' protocol: per speaker two "utterances" ``(first part, rest)``, returned as a
    flat list ``[spk1 first, spk1 rest, spk2 first, ...]`` of groups (tuples of utterances,
    concatenated when loaded).

    With several recordings, the first ``round(first * n)`` by sorted name (TIMIT: 8 of 10)
    versus the rest; with one recording (the LibriSpeech mirror), that recording's audio cut at
    ``first`` of its duration into two parts (``start_s``/``end_s``). ``speakers`` picks and
    orders the speakers (default: all, sorted). A group shorter than ``min_s`` seconds raises
    ValueError naming the speaker, or drops the speaker if ``on_short="skip"``."""
    if not 0 < first < 1:
        raise ValueError(f"first must be a fraction in (0, 1), got {first}")
    if on_short not in ("error", "skip"):
        raise ValueError(f"on_short must be 'error' or 'skip', got {on_short!r}")
    by_speaker: dict[str, list[Utterance]] = {}
    for u in utterances:
        by_speaker.setdefault(u.speaker, []).append(u)
    order = sorted(by_speaker) if speakers is None else list(speakers)
    out: list[tuple[Utterance, ...]] = []
    for spk in order:
        if spk not in by_speaker:
            raise ValueError(f"speaker {spk!r} has no utterances here")
        utts = sorted(by_speaker[spk], key=lambda u: u.name)
        if len(utts) == 1:
            u = utts[0]
            cut = first * u.duration_s
            a, b = (u.part(0.0, cut, "#a"),), (u.part(cut, u.duration_s, "#b"),)
        else:
            k = min(max(int(round(first * len(utts))), 1), len(utts) - 1)
            a, b = tuple(utts[:k]), tuple(utts[k:])
        short = [g for g in (a, b) if sum(x.duration_s for x in g) < min_s]
        if short:
            if on_short == "skip":
                log.info("two_utterances: speaker %s dropped (a part < %s s)", spk, min_s)
                continue
            have = sum(x.duration_s for x in short[0])
            raise ValueError(
                f"speaker {spk}: utterance {short[0][0].name} ({have:.2f} s) is shorter than "
                f"the minimum {min_s:g} s (one segment)"
            )
        out += [a, b]
    return out


def split_speakers(
    speakers: Mapping[str, str | None] | Iterable[Utterance],
    n_test: int,
    seed: int = 0,
    n_train: int | None = None,
) -> tuple[list[str], list[str]]:
    """Disjoint ``(train, test)`` speaker ids (each sorted): ``n_test`` test speakers drawn with
    ``seed``, half of each sex where the corpus allows (the other sex fills up); train = the rest,
    or ``n_train`` of the rest drawn the same balanced way. Speakers of unknown sex are drawn
    after the known ones run out."""
    if not isinstance(speakers, Mapping):
        speakers = speakers_of(speakers)
    pool = dict(sorted(speakers.items()))
    if n_test < 0 or n_test > len(pool):
        raise ValueError(f"n_test={n_test}, but there are {len(pool)} speakers")
    rng = np.random.default_rng(seed)
    test = _balanced(pool, n_test, rng)
    rest = {s: x for s, x in pool.items() if s not in set(test)}
    if n_train is None:
        train = list(rest)
    else:
        if n_train > len(rest):
            raise ValueError(f"n_train={n_train}, but only {len(rest)} speakers are left")
        train = _balanced(rest, n_train, rng)
    return sorted(train), sorted(test)


def _balanced(pool: Mapping[str, str | None], n: int, rng: np.random.Generator) -> list[str]:
    groups = {
        sex: [pool_spk[i] for i in rng.permutation(len(pool_spk))]
        for sex, pool_spk in (
            ("f", [s for s, x in pool.items() if x == "f"]),
            ("m", [s for s, x in pool.items() if x == "m"]),
            (None, [s for s, x in pool.items() if x not in ("f", "m")]),
        )
    }
    want_f = min(len(groups["f"]), n // 2 + (n % 2 if len(groups["f"]) > len(groups["m"]) else 0))
    want_m = min(len(groups["m"]), n - want_f)
    want_f = min(len(groups["f"]), n - want_m)
    chosen = groups["f"][:want_f] + groups["m"][:want_m]
    chosen += groups[None][: n - len(chosen)]
    return chosen
