"""Progress bars that suit where the book runs: a widget in Jupyter, a bar in a terminal, and
one plain text line per update under the notebook runner (``$DLWILD_PROGRESS=plain``)."""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

from tqdm import TqdmExperimentalWarning

__all__ = ["PROGRESS_ENV", "progress_bar", "progress_mode"]

PROGRESS_ENV = "DLWILD_PROGRESS"


class _LineStream:
    """A text stream that turns every tqdm redraw (``\\r`` + status) into its own line.

    Notebook runners (nbclient, myst-nb) drop the text before a ``\\r``, so a plain tqdm bar in a
    static page would only show its last state; one line per update keeps every epoch visible.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        for part in text.replace("\r", "\n").split("\n"):
            part = part.rstrip()
            if part:
                self._stream.write(part + "\n")
        return len(text)

    def flush(self) -> None:
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        if name == "_stream":  # not set yet (e.g. during copying): no recursion
            raise AttributeError(name)
        return getattr(self._stream, name)


def progress_mode() -> str:
    """``plain``, ``off`` or ``auto``, from ``$DLWILD_PROGRESS``."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if value == "plain":
        return "plain"
    if value in {"off", "0", "false", "no", "none"}:
        return "off"
    return "auto"


def _plain_bar(iterable: Iterable | None, kw: dict[str, Any]):
    """An ASCII tqdm bar on ``sys.stdout`` that prints each update as its own line."""
    from tqdm.std import tqdm as plain_tqdm

    kw.setdefault("file", _LineStream(sys.stdout))
    kw.setdefault("ascii", True)
    kw.setdefault("mininterval", 0)
    kw.setdefault("dynamic_ncols", False)
    kw["leave"] = False  # every update is already a permanent line; no repeat on close
    total = kw.get("total")
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if total and total > 40:
        kw.setdefault("miniters", math.ceil(total / 20))
    return plain_tqdm(iterable, **kw)


def progress_bar(iterable: Iterable | None = None, *, nested: bool = False, **kw: Any):
    """A tqdm bar that suits where the book runs: ``tqdm.autonotebook`` (widget in Jupyter),
    or, when ``$DLWILD_PROGRESS=plain`` (the Papermill runner), ASCII text on ``sys.stdout``
    with one line per update so the static page shows it; ``$DLWILD_PROGRESS=off`` hides all
    bars.

    ``nested=True`` marks an inner bar (e.g. batches inside epochs): it does not leave, and it is
    hidden in plain mode.  Other keywords go to tqdm.  In plain mode updates print at most about
    20 lines for a long loop (``miniters``); pass ``miniters=1`` to print every step.
    """
    mode = progress_mode()
    if mode == "off" or (mode == "plain" and nested):
        kw["disable"] = True
    if mode == "plain":
        return _plain_bar(iterable, kw)
    # tqdm.autonotebook, not tqdm.auto: the latter's asyncio class calls iter() on the
    # iterable when built and again when iterated, which costs a DataLoader a second iterator
    # (a shuffle draw, and with workers a second set of processes) every epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)
        from tqdm.autonotebook import tqdm as auto_tqdm

    if nested:
        kw.setdefault("leave", False)
    return auto_tqdm(iterable, **kw)
