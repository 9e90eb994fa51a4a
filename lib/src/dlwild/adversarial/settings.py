"""The adversarial chapter's knobs per scale and the code its victims depend on. Light on
purpose (no torch): the declaration imports it before any kernel starts."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

#: What a trained victim depends on (its artifact key): the network and its training.
TRAINING_CODE = ("dlwild.adversarial.model",)

#: The five attacks of the paper's Table 1, in its order.
ATTACKS = ("fgsm", "gradient", "one_pixel", "deepfool", "boundary")
#: Which attacks run on the small sample (the slow ones).
SLOW_ATTACKS = ("one_pixel", "boundary")
#: The readings of the paper's "normalised 2-D histogram" (see dlwild.adversarial.entropy).
READINGS = ("intensity", "grey", "cooccurrence")


@dataclass(frozen=True)
class Settings:
    """How big one run is.

    Victim: a VGG-style CNN ``width`` channels wide (two blocks of two 3 x 3 convolutions
    and a max-pool, then two dense layers) trained for ``epochs`` epochs on ``train_images``
    MNIST training images (None: all 60,000). Attacks: ``fast_images`` correctly classified
    test images for FGSM, the gradient attack and DeepFool, ``slow_images`` of them for the
    one-pixel and the boundary attack, drawn at random, stratified by class;
    ``calibration_images`` other correctly classified test images set the thresholds.
    ``boundary_steps`` / ``pixel_iterations``: the budget of the two slow attacks.
    ``few_classes``: the digits of the few-class sub-task (its own victim, DeepFool on
    ``fast_images`` of its test images). ``ablation_images``: clean and attacked images the
    ablations (entropy readings, windows, plain gradients, back-propagated layer) score.
    ``coil20``: also train and attack a COIL-20 victim (full scale only). ``fast_chunk`` /
    ``slow_chunk``: images per saved chunk of the fast / slow attacks (an interrupted run
    resumes at the first chunk it lacks)."""

    train_images: int | None
    epochs: int
    width: int
    fast_images: int
    slow_images: int
    calibration_images: int
    boundary_steps: int
    pixel_iterations: int
    ablation_images: int
    windows: tuple[int, ...]
    few_classes: tuple[int, ...] = (3, 5, 8)
    batch_size: int = 64
    lr: float = 1e-3
    coil20: bool = False
    threads: int | None = None
    fast_chunk: int = 500
    slow_chunk: int = 50

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (for the results record)."""
        return json.loads(json.dumps(asdict(self)))


SETTINGS = {
    # Within the 8-hour forecast of benchmarks/adversarial.py on 2 CPU cores: 8,000 test
    # images for the fast attacks (all 10,000 less the calibration split), 2,000 for the slow
    # ones, a 16-wide victim on all training images, the COIL-20 victim, every ablation on
    # 2,000 images of each attack.  Forecast 5.3 h; the record of 3 December 2026 (500 slow
    # images) measured 3.9 s per image for the one-pixel attack, 0.65 s for the boundary
    # attack and 0.32 s for DeepFool (forecast 4.3, 3.6 and 0.11 s), its attacks 1.5 h in all,
    # so about 3.5 h at these sizes; 3,000 slow images would forecast 7.5 h, too close to 8
    # for a forecast that is off by 3x for one attack.
    "full": Settings(train_images=None, epochs=6, width=16, fast_images=8000,
                     slow_images=2000, calibration_images=2000, boundary_steps=2000,
                     pixel_iterations=20, ablation_images=2000, windows=(3, 5, 7),
                     coil20=True),
    # About three minutes on 2 CPU cores with a cold cache: an 8-wide victim on 15,000
    # training images for 3 epochs, hundreds of images for the fast attacks, tens for the
    # slow ones.
    "quick": Settings(train_images=15_000, epochs=3, width=8, lr=2e-3, fast_images=200,
                      slow_images=30, calibration_images=400, boundary_steps=300,
                      pixel_iterations=10, ablation_images=100, windows=(3, 5, 7),
                      threads=1),
}
