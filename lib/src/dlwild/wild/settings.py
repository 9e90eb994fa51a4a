"""The wild chapter's knobs: settings per scale and the code its trained networks depend
on. Light on purpose (no torch): the declaration imports it before any kernel starts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

#: What a trained network depends on (its artifact key): editing claims, figures or prose
#: retrains nothing.
TRAINING_CODE = ("dlwild.wild.nets", "dlwild.wild.imbalance", "dlwild.wild.monitoring",
                 "dlwild.wild.infoplane", "dlwild.wild.curves", "dlwild.wild.symbols")

#: The rate every CWRU signal is brought to (the fault files' own rate).
TARGET_RATE = 12_000
#: What file 97 (the normal baseline) may have been sampled at: CWRU lists no rate for it;
#: Smith & Randall (2015) report 48 kHz, most papers use it as 12 kHz.
NORMAL_RATES = (48_000, 12_000)
IMBALANCE_METHODS = ("ce", "weighted", "focal", "resample", "augment")


@dataclass(frozen=True)
class Settings:
    """How big one run is (see ``scale_note`` for the words).

    Imbalance: MNIST long tails with ``head`` training images of the most frequent digit,
    ``ratios`` the imbalance ratios, tested on ``test_per_class`` balanced test images per
    digit, ``imbalance_epochs`` epochs of a CNN ``width`` channels wide. Monitoring: CWRU
    windows of ``window`` samples at 12 kHz, ``hop`` apart on the normal signal,
    ``fault_windows`` per fault file, ``bands`` FFT sub-band energies, autoencoders trained
    ``ae_epochs`` epochs in batches of 20. Information plane: ``ip_seeds`` seeds, ``ip_epochs``
    epochs in batches of ``ip_batch`` at Adam learning rate ``ip_lr`` (full: the authors'
    512 and 4e-4; quick: full-batch steps at a higher rate, to fit the minutes), MI at
    ``ip_points`` log-spaced epochs. Curves: ``curve_train`` MNIST training
    images, ``curve_epochs`` epochs. Symbols: the ``symbol_classes`` most frequent classes of
    the DeepScores chapter's quick-scale engraved pages, at most ``symbol_head`` patches per
    class (0: every patch), ``symbol_epochs`` epochs."""

    head: int
    ratios: tuple[int, ...]
    test_per_class: int
    imbalance_epochs: int
    width: int
    window: int
    hop: int
    fault_windows: int
    bands: int
    ae_epochs: int
    ip_seeds: int
    ip_epochs: int
    ip_points: int
    ip_batch: int
    ip_lr: float
    curve_train: int
    curve_val: int
    curve_epochs: int
    symbol_classes: int
    symbol_head: int
    symbol_epochs: int

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (for the results record)."""
        return json.loads(json.dumps(asdict(self)))


SETTINGS = {
    # A CPU night: a head of 5,000 images, every CWRU window, ten information-plane seeds
    # with the authors' batch, learning rate and 8,000 epochs, the symbols for 15 epochs.
    "full": Settings(head=5000, ratios=(100, 1000), test_per_class=890, imbalance_epochs=15,
                     width=16, window=1024, hop=128, fault_windows=0, bands=100, ae_epochs=50,
                     ip_seeds=10, ip_epochs=8000, ip_points=60, ip_batch=512, ip_lr=4e-4,
                     curve_train=2000, curve_val=2000, curve_epochs=100, symbol_classes=16,
                     symbol_head=0, symbol_epochs=15),
    # A few minutes on 2 shared CPU cores with a cold cache: tiny CNNs, 40 windows per fault
    # file, three information-plane seeds of 800 full-batch epochs, the 16 symbol classes of
    # the DeepScores chapter's quick pages (all they have) with at most 400 patches each (the
    # augmentation tops every class up to the head: 2,770 noteheads made it 2 minutes).
    "quick": Settings(head=600, ratios=(100, 1000), test_per_class=200, imbalance_epochs=8,
                      width=8, window=1024, hop=256, fault_windows=40, bands=100,
                      ae_epochs=50, ip_seeds=3, ip_epochs=800, ip_points=20,
                      ip_batch=4096, ip_lr=3e-3, curve_train=300,
                      curve_val=1000, curve_epochs=20, symbol_classes=16, symbol_head=400,
                      symbol_epochs=5),
}


def scale_note(scale: str) -> str:
    """What a run at ``scale`` scales down against the full scale, in words."""
    s, f = SETTINGS[scale], SETTINGS["full"]
    if s == f:
        return "nothing: this is the full scale"
    every = "every window" if f.fault_windows == 0 else f"{f.fault_windows} windows"
    return (f"a long tail headed by {s.head} images (full: {f.head}) trained {s.imbalance_epochs}"
            f" epochs (full: {f.imbalance_epochs}); {s.fault_windows} windows per CWRU fault "
            f"file and a hop of {s.hop} samples on the normal signal (full: {every}, hop "
            f"{f.hop}); {s.ip_seeds} information-plane seeds of {s.ip_epochs} epochs (full: "
            f"{f.ip_seeds} of {f.ip_epochs}); learning curves on {s.curve_train} images for "
            f"{s.curve_epochs} epochs (full: {f.curve_train} for {f.curve_epochs}); "
            f"{head_text(s.symbol_head)} of a symbol class, trained {s.symbol_epochs} epochs "
            f"(full: {head_text(f.symbol_head)}, {f.symbol_epochs} epochs)")


def head_text(cap: int) -> str:
    """The symbols' head cap in words."""
    return "every patch" if cap == 0 else f"at most {cap} patches"
