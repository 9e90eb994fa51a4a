"""Synthetic speakers from espeak-ng, the speaker-clustering chapter's offline fallback.

Used only when no real speech corpus is reachable: each synthetic "speaker" is a fixed espeak-ng
voice (English accent + voice variant) with its own base pitch, pitch range and rate, reading
public-domain Harvard sentences. The voices differ audibly and consistently, but they are formant
synthesis, not people: results on them say nothing about real speakers (say so in the chapter).

The speech itself comes from :mod:`.espeak` (espeak-ng through its C API), byte-identical for
the same arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .audio import SR, Utterance
from .espeak import espeak_version, synthesize

__all__ = [
    "ACCENTS",
    "HARVARD_SENTENCES",
    "NOTICE",
    "VARIANTS",
    "SyntheticVoice",
    "synthetic_corpus",
    "voice_plan",
]

log = logging.getLogger(__name__)

#: One sentence for the chapter's banner when it falls back to this module.
NOTICE = (
    "No real speech corpus was reachable, so this run uses synthetic voices generated with "
    "espeak-ng (dlwild.speakers.synthetic). Formant-synthesis voices are far easier to tell "
    "apart than people: the numbers below show the pipeline works, not how well it clusters "
    "real speakers."
)


#: English accents (espeak-ng voice names) a synthetic speaker can have.
ACCENTS: tuple[str, ...] = (
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)

#: espeak-ng voice variants (files under ``espeak-ng-data/voices/!v``) with their sex where the
#: variant file declares one (``gender`` line); None where it does not.
VARIANTS: dict[str, str | None] = {
    **{f"m{i}": "m" for i in range(1, 9)},
    **{f"f{i}": "f" for i in range(1, 6)},
    **{f"klatt{i}" if i > 1 else "klatt": None for i in range(1, 7)},
    **{f"robosoft{i}" if i > 1 else "robosoft": None for i in range(1, 9)},
    **{f"iven{i}" if i > 1 else "iven": None for i in range(1, 5)},
    **{f"steph{i}" if i > 1 else "steph": "f" for i in range(1, 4)},
    **{f"RicishayMax{i}" if i > 1 else "RicishayMax": None for i in range(1, 4)},
    **dict.fromkeys(
        "Alicia Andrea Annie anika anikaRobot aunty belinda grandma linda".split(), "f"
    ),
    **dict.fromkeys(
        "Andy AnxiousAndy Denis Diogo Henrique Hugo Lee Marco Storm UniRobot antonio croak "
        "michel miguel sandro travis victor".split(),
        "m",
    ),
    **dict.fromkeys(
        "Alex Gene Gene2 Jacky Mario Michael Mike Nguyen Reed Tweaky adam announcer benjamin "
        "boris caleb david ed edward edward2 fast gustave grandpa ian john kaukovalta "
        "marcelo max mike2 norbert pablo paul pedro quincy rob robert shelby zac".split(),
        None,
    ),
}

#: Harvard sentences, lists 1-6 (IEEE Recommended Practice for Speech Quality Measurements,
#: 1969; public domain): phonetically balanced English read by every synthetic speaker.
HARVARD_SENTENCES: tuple[str, ...] = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
    "A king ruled the state in the early days.",
    "The ship was torn apart on the sharp reef.",
    "Sickness kept him home the third week.",
    "The wide road shimmered in the hot sun.",
    "The lazy cow lay in the cool grass.",
    "Lift the square stone over the fence.",
    "The rope will bind the seven books at once.",
    "Hop over the fence and plunge in.",
    "The friendly gang left the drug store.",
    "Mesh wire keeps chicks inside.",
    "The frosty air passed through the coat.",
    "The crooked maze failed to fool the mouse.",
    "Adding fast leaves the sum unclear.",
    "The show was a flop from the very start.",
    "A saw is a tool used for making boards.",
    "The wagon moved on well oiled wheels.",
    "March the soldiers past the next hill.",
    "A cup of sugar makes sweet fudge.",
    "Place a rosebush near the porch steps.",
    "Both lost their lives in the raging storm.",
)

# Bump when the voice plan, texts or audio processing change: cached corpora are then rebuilt.
_FORMAT = 1
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: espeak-ng ``voice`` (``accent+variant``), base ``pitch`` and
    ``pitch_range`` (espeak-ng's 0-100 scales), ``rate`` (words per minute), ``sex`` if known."""

    speaker: str
    voice: str
    pitch: int
    pitch_range: int
    rate: int
    sex: str | None


# --------------------------------------------------------------------------------------------
# The synthetic corpus


def voice_plan(n_speakers: int, seed: int) -> list[SyntheticVoice]:
    """``n_speakers`` distinct synthetic voices, fixed by ``seed``. Variants are used once each
    before any repeats; a variant used again gets another accent and a spread-out pitch."""
    if n_speakers < 1:
        raise ValueError(f"voice_plan: n_speakers={n_speakers} must be at least 1")
    rng = np.random.default_rng(seed)
    names = list(VARIANTS)
    order = [names[i] for i in rng.permutation(len(names))]
    chosen = [order[i % len(order)] for i in range(n_speakers)]
    uses: dict[str, list[int]] = {}
    for i, variant in enumerate(chosen):
        uses.setdefault(variant, []).append(i)
    pitches = [0] * n_speakers
    accents = [""] * n_speakers
    for variant, speakers in uses.items():
        sex = VARIANTS[variant]
        low, high = {"m": (25, 65), "f": (35, 75)}.get(sex or "", (20, 80))
        k = len(speakers)
        if k == 1:
            levels = [int(rng.integers(low, high + 1))]
        else:
            grid = np.linspace(low, high, k)
            step = (high - low) / (k - 1)
            jitter = rng.uniform(-step / 4, step / 4, size=k)
            levels = [int(round(p)) for p in rng.permutation(grid + jitter)]
        picks = rng.choice(len(ACCENTS), size=k, replace=k > len(ACCENTS))
        for j, i in enumerate(speakers):
            pitches[i] = min(max(levels[j], 0), 100)
            accents[i] = ACCENTS[int(picks[j])]
    width = max(3, len(str(n_speakers - 1)))
    return [
        SyntheticVoice(
            speaker=f"syn{i:0{width}d}",
            voice=f"{accents[i]}+{chosen[i]}",
            pitch=pitches[i],
            pitch_range=int(rng.integers(30, 81)),
            rate=int(rng.integers(140, 201)),
            sex=VARIANTS[chosen[i]],
        )
        for i in range(n_speakers)
    ]


def _texts(rng: np.random.Generator, n: int, per: int) -> list[str]:
    """``n`` texts of ``per`` Harvard sentences; a speaker repeats no sentence until all 60 are
    used."""
    pool: list[int] = []
    texts = []
    for _ in range(n):
        picked: list[int] = []
        while len(picked) < per:
            if not pool:
                pool = list(rng.permutation(len(HARVARD_SENTENCES)))
            picked.append(int(pool.pop()))
        texts.append(" ".join(HARVARD_SENTENCES[i] for i in picked))
    return texts


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    """Write 16-bit PCM WAV atomically (temporary file in the same folder, then rename)."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        sf.write(tmp, y, sr, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_json(path: Path, obj: object) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _utterances(root: Path, records: Sequence[dict]) -> list[Utterance]:
    return [
        Utterance(
            path=root / r["path"],
            speaker=r["speaker"],
            sex=r["sex"],
            duration_s=float(r["duration_s"]),
            corpus="synthetic",
            name=r["name"],
        )
        for r in records
    ]


def _our_files(root: Path) -> set[str]:
    """WAV files (relative paths) an earlier run may have left in ``root``: those its manifest
    lists and any named like ours (``synNNN/synNNN-KK.wav``, e.g. from an interrupted run)."""
    found = {
        p.relative_to(root).as_posix()
        for p in root.glob("syn*/syn*-*.wav")
        if re.fullmatch(r"(syn\d+)/\1-\d+\.wav", p.relative_to(root).as_posix())
    }
    try:
        manifest = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
        found |= {str(r["path"]) for r in manifest["utterances"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {rel for rel in found if rel.endswith(".wav") and ".." not in Path(rel).parts}


def _cached(root: Path, params: dict) -> list[Utterance] | None:
    """The corpus recorded in ``root``'s manifest if it was made with ``params`` and every file
    is still there; None otherwise. Needs no espeak-ng: a cached corpus works without it."""
    try:
        manifest = json.loads((root / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("params") != params:
        return None
    records = manifest.get("utterances")
    if not isinstance(records, list) or not all(
        isinstance(r, dict) and (root / str(r.get("path", ""))).is_file() for r in records
    ):
        return None
    try:
        return _utterances(root, records)
    except (KeyError, TypeError, ValueError):
        return None


def synthetic_corpus(
    root: str | Path,
    n_speakers: int,
    utterances_per_speaker: int,
    seed: int,
    *,
    sentences_per_utterance: int = 3,
    progress: Callable[[int, int], None] | None = None,
) -> list[Utterance]:
    """A corpus of ``n_speakers`` synthetic voices (:func:`voice_plan`) reading
    ``utterances_per_speaker`` texts of ``sentences_per_utterance`` Harvard sentences each
    (about 2 s per sentence), as 16 kHz WAVs ``root/<speaker>/<speaker>-<k>.wav``.

    Deterministic for ``seed`` (byte-identical files); a corpus already in ``root`` with the same
    parameters (``manifest.json``) is reused. For disjoint training and test speakers make one
    corpus and split it by speaker: two seeds can share voices. ``progress(done, total)`` is
    called after each speaker."""
    if utterances_per_speaker < 1 or sentences_per_utterance < 1:
        raise ValueError("synthetic_corpus: need at least one utterance and one sentence each")
    root = Path(root)
    params = {
        "format": _FORMAT,
        "n_speakers": n_speakers,
        "utterances_per_speaker": utterances_per_speaker,
        "sentences_per_utterance": sentences_per_utterance,
        "seed": seed,
        "sr": SR,
        "sentences": hashlib.sha256("\n".join(HARVARD_SENTENCES).encode()).hexdigest()[:16],
    }
    cached = _cached(root, params)
    if cached is not None:
        log.info("reusing the synthetic corpus in %s (%d utterances)", root, len(cached))
        return cached
    voices = voice_plan(n_speakers, seed)
    # Drop the old manifest first: an interrupted run must never pass for a finished one.
    stale = _our_files(root)
    (root / _MANIFEST).unlink(missing_ok=True)
    log.info(
        "synthesising %d speakers x %d utterances into %s", n_speakers, utterances_per_speaker, root
    )
    records = []
    for done, v in enumerate(voices, start=1):
        # One generator per speaker: its texts and small per-utterance prosody changes.
        rng = np.random.default_rng([seed, done - 1])
        texts = _texts(rng, utterances_per_speaker, sentences_per_utterance)
        for k, text in enumerate(texts):
            pitch = int(np.clip(v.pitch + rng.integers(-3, 4), 0, 100))
            rate = int(v.rate + rng.integers(-8, 9))
            y = synthesize(
                text,
                voice=v.voice,
                pitch=pitch,
                rate=rate,
                sr=SR,
                pitch_range=v.pitch_range,
                seed=(seed * 100003 + (done - 1) * 101 + k) % 2**31,
            )
            name = f"{v.speaker}-{k:02d}"
            rel = f"{v.speaker}/{name}.wav"
            _write_wav(root / rel, y, SR)
            records.append(
                {
                    "path": rel,
                    "name": name,
                    "speaker": v.speaker,
                    "sex": v.sex,
                    "duration_s": round(len(y) / SR, 6),
                    "text": text,
                    "pitch": pitch,
                    "rate": rate,
                }
            )
        if progress is not None:
            progress(done, len(voices))
    for rel in stale - {r["path"] for r in records}:
        (root / rel).unlink(missing_ok=True)  # files of an earlier, larger corpus
        if (root / rel).parent != root and not any((root / rel).parent.iterdir()):
            (root / rel).parent.rmdir()
    _write_json(
        root / _MANIFEST,
        {
            "params": params,
            "espeak": espeak_version(),
            "voices": [asdict(v) for v in voices],
            "utterances": records,
        },
    )
    return _utterances(root, records)
