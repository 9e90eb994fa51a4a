"""Recordings for the speaker chapters: the :class:`Utterance` record every corpus reader
returns, NIST SPHERE reading (TIMIT's format) and checked audio loading.

Audio comes back as 16 kHz mono float32; anything else (8 kHz FSDD, stereo, NIST SPHERE) is
converted here, and broken, empty, silent or too-short audio is refused with the file's name
in the error. The corpus readers and the papers' protocols live in :mod:`.corpora`.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = [
    "SR",
    "AudioError",
    "Utterance",
    "duration",
    "load_audio",
    "read_sphere",
    "sphere_header",
]

log = logging.getLogger(__name__)


#: The sampling rate of all features in the papers (TIMIT's own rate).
SR = 16000
#: RMS below which a recording counts as silence (full scale = 1.0; -100 dBFS).
SILENCE_RMS = 1e-5


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


def duration(path: Path) -> float:
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
