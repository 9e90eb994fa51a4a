"""Speech corpora for the speaker chapters: LibriSpeech, TIMIT and FSDD read as lists of
:class:`~dlwild.speakers.audio.Utterance`, and the papers' two-utterances-per-speaker protocol.

Every reader returns the same record, so the chapter can swap the licensed TIMIT (LDC, never
shipped) for the free LibriSpeech mirror without touching the rest; reading and checking the
audio itself is :mod:`.audio`'s job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .audio import Utterance, duration

__all__ = [
    "AUDIO_SUFFIXES",
    "CorpusError",
    "check_corpus_spec",
    "load_corpus",
    "read_fsdd",
    "read_librispeech",
    "read_speakers_txt",
    "read_timit",
    "speakers_of",
    "split_speakers",
    "timit_speaker_lists",
    "two_utterances",
]

log = logging.getLogger(__name__)


#: File suffixes (lower case) taken as audio by the readers.
AUDIO_SUFFIXES = (".wav", ".flac")
#: The corpora :func:`load_corpus` knows, and the registered data set behind each (if any).
CORPORA = {"librispeech": "librispeech_resemblyzer", "fsdd": "fsdd", "timit": None}


class CorpusError(ValueError):
    """A corpus could not be read: no audio at the path, unknown layout, bad spec."""


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
                duration_s=duration(path),
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
            duration_s=duration(path),
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
                duration_s=duration(path),
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
