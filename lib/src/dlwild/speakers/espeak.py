"""espeak-ng speech synthesis through its C API (ctypes), for the synthetic speakers of
:mod:`.synthetic`.

espeak-ng comes from the PyPI wheel ``espeakng-loader`` (shared library + voice data). Output
is byte-identical for the same arguments: every call runs in a freshly loaded private copy of
the library (espeak-ng keeps pitch-flutter state in C statics that survive
``espeak_Terminate``) with its noise generator seeded explicitly.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .audio import SR

__all__ = ["REQUIREMENT", "SynthesisError", "espeak_paths", "espeak_version", "synthesize"]

#: The pip requirement that provides espeak-ng (named in every "cannot load" error).
REQUIREMENT = "espeakng-loader==0.2.4"

# espeak-ng C API constants (speak_lib.h).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE = 1, 3, 4
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_LOCK = threading.RLock()
_PRIVATE: dict[str, Path] = {}  # source library path -> this process's private copy


class SynthesisError(RuntimeError):
    """espeak-ng cannot be loaded or refused to speak (missing wheel, library, data or voice)."""



def espeak_paths() -> tuple[Path, Path]:
    """The espeak-ng shared library and ``espeak-ng-data`` directory of the ``espeakng-loader``
    wheel. Raises :class:`SynthesisError` saying what to install when either is missing."""
    try:
        import espeakng_loader
    except ImportError:
        raise SynthesisError(
            "synthetic speech needs espeak-ng from the PyPI wheel espeakng-loader, which is not "
            f"installed; install it with: pip install {REQUIREMENT}"
        ) from None
    library = Path(espeakng_loader.get_library_path())
    if not library.is_file():
        raise SynthesisError(
            f"espeak-ng shared library not found at {library} (from espeakng-loader); "
            f"reinstall it with: pip install --force-reinstall {REQUIREMENT}"
        )
    try:
        data = Path(espeakng_loader.get_data_path())
    except RuntimeError as err:
        raise SynthesisError(
            f"espeak-ng voice data missing ({err}); reinstall it with: "
            f"pip install --force-reinstall {REQUIREMENT}"
        ) from None
    if not (data / "phontab").is_file():
        raise SynthesisError(
            f"espeak-ng voice data at {data} is incomplete (no phontab); reinstall it with: "
            f"pip install --force-reinstall {REQUIREMENT}"
        )
    return library, data


def _private_copy(library: Path) -> Path:
    """A copy of ``library`` only this module loads, so unloading it really resets its state
    and never pulls the library from under another user in the process (e.g. a phonemizer)."""
    key = str(library)
    copy = _PRIVATE.get(key)
    if copy is None or not copy.is_file():
        folder = Path(tempfile.mkdtemp(prefix="dlwild-espeak-"))
        atexit.register(shutil.rmtree, folder, True)
        copy = folder / f"dlwild-{library.name}"
        shutil.copyfile(library, copy)
        _PRIVATE[key] = copy
    return copy


def _dlclose(handle: int) -> None:
    import _ctypes

    close = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if close is not None:
        close(handle)


@contextmanager
def _espeak() -> Iterator[tuple[ctypes.CDLL, int]]:
    """A freshly loaded, initialised espeak-ng (synchronous mode) and its output rate; unloaded
    on exit. Hold ``_LOCK`` around it: espeak-ng is one global state per loaded copy."""
    library, data = espeak_paths()
    copy = _private_copy(library)
    try:
        lib = ctypes.CDLL(str(copy))
    except OSError as err:
        raise SynthesisError(
            f"cannot load the espeak-ng shared library {library}: {err}; "
            f"reinstall it with: pip install --force-reinstall {REQUIREMENT}"
        ) from None
    try:
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(data), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SynthesisError(
                f"espeak-ng failed to initialise with voice data {data} (returned {rate})"
            )
        try:
            yield lib, rate
        finally:
            lib.espeak_Terminate()
    finally:
        _dlclose(lib._handle)


def espeak_version() -> str:
    """The version of the espeak-ng library in use (recorded in corpus manifests)."""
    with _LOCK, _espeak() as (lib, _):
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        return lib.espeak_Info(None).decode()


def synthesize(
    text: str,
    *,
    voice: str,
    pitch: int,
    rate: int,
    sr: int = SR,
    pitch_range: int = 50,
    seed: int = 0,
) -> np.ndarray:
    """Speech for ``text`` as mono float32 at ``sr`` Hz (espeak-ng speaks at 22050 Hz; librosa
    resamples). ``voice`` is an espeak-ng name such as ``"en-us+m3"``; ``pitch`` and
    ``pitch_range`` are espeak-ng's 0-100 scales, ``rate`` is words per minute (80-450);
    ``seed`` drives the breath noise. The same arguments give the same samples, always."""
    if not text.strip():
        raise ValueError("synthesize: empty text")
    for name, value, low, high in (
        ("pitch", pitch, 0, 100),
        ("pitch_range", pitch_range, 0, 100),
        ("rate", rate, 80, 450),
    ):
        if not low <= value <= high:
            raise ValueError(f"synthesize: {name}={value} is outside {low}..{high}")
    if sr <= 0:
        raise ValueError(f"synthesize: sr={sr} must be positive")
    chunks: list[np.ndarray] = []

    def collect(wav: ctypes._Pointer, n: int, _events: int | None) -> int:
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = go on synthesising

    callback = _SynthCallback(collect)
    encoded = text.encode("utf-8")
    with _LOCK, _espeak() as (lib, native_sr):
        lib.espeak_SetSynthCallback(callback)
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        if lib.espeak_SetVoiceByName(voice.encode("utf-8")) != 0:
            raise SynthesisError(f"espeak-ng has no voice {voice!r} (e.g. 'en-us+m3', 'en+f2')")
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed(seed)
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            lib.espeak_SetParameter(parameter, value, 0)
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        status = lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        lib.espeak_Synchronize()
    if status != 0 or not chunks:
        raise SynthesisError(f"espeak-ng produced no audio for {text[:40]!r} (status {status})")
    y = np.concatenate(chunks).astype(np.float32) / 32768.0
    if native_sr != sr:
        import librosa

        y = librosa.resample(y, orig_sr=native_sr, target_sr=sr)
    return np.clip(y, -1.0, 1.0).astype(np.float32)
