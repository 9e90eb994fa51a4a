"""The paper's five attacks through maintained libraries: FGSM, the single-step gradient
attack, DeepFool and the boundary attack from Foolbox 3, the one-pixel attack from the
Adversarial Robustness Toolbox (Foolbox 3 has none). Each run records its library, version
and parameters; success is re-checked on the returned images (prediction != label), and an
image an attack fails on stays in the counts as failed, never dropped. A long run attacks in
chunks, each kept as an artifact once done (:func:`attack_in_chunks`), so an interrupted run
resumes at the first chunk it lacks."""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlwild.adversarial.model import predict
from dlwild.adversarial.settings import ATTACKS
from dlwild.core import cache
from dlwild.core.progress import progress_bar

#: The paper's names of the attacks (Table 1).
TITLES = {"fgsm": "FGSM", "gradient": "Gradient attack", "one_pixel": "One pixel attack",
          "deepfool": "DeepFool", "boundary": "Boundary attack"}
#: FGSM and the gradient attack search their step size (as Foolbox 1's did, which the paper
#: used): the smallest of these epsilons that changes the prediction, per image.
FGSM_EPSILONS = tuple(float(e) for e in np.round(np.linspace(0.02, 0.5, 25), 3))
GRADIENT_EPSILONS = tuple(float(e) for e in np.round(np.linspace(0.25, 10.0, 40), 3))


@dataclass
class AttackResult:
    """One attack on a batch: the clean and attacked images (N, C, H, W) in [0, 1], the
    labels, the per-image success flags, the library, its version and the parameters."""

    name: str
    library: str
    library_version: str
    params: dict[str, Any]
    clean: torch.Tensor
    adversarial: torch.Tensor
    labels: torch.Tensor
    success: np.ndarray
    seconds: float
    clean_probs: torch.Tensor = field(repr=False, default=None)  # type: ignore[assignment]
    adv_probs: torch.Tensor = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def success_rate(self) -> float:
        return float(self.success.mean()) if self.n else float("nan")

    def norms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-image L2 and Linf norms of the perturbation."""
        delta = (self.adversarial - self.clean).flatten(1)
        return delta.norm(dim=1).numpy(), delta.abs().amax(dim=1).numpy()

    def summary(self) -> dict[str, Any]:
        """Table 1's columns: images, success rate, median L2 / Linf of successful
        perturbations, mean true-class confidence before and after, mean confidence of the
        new class (after successful attacks), seconds per image."""
        l2, linf = self.norms()
        ok = self.success
        idx = np.arange(self.n)
        labels = self.labels.numpy()
        new = self.adv_probs.argmax(1).numpy()
        true_after = self.adv_probs.numpy()[idx, labels]
        new_conf = self.adv_probs.numpy()[idx, new]
        nan = float("nan")
        return {
            "attack": TITLES[self.name], "library": f"{self.library} {self.library_version}",
            "images": self.n, "successful": int(ok.sum()), "success rate": self.success_rate,
            "median L2": float(np.median(l2[ok])) if ok.any() else nan,
            "median Linf": float(np.median(linf[ok])) if ok.any() else nan,
            "clean confidence": float(self.clean_probs.numpy()[idx, labels].mean()),
            "GT confidence": float(true_after[ok].mean()) if ok.any() else nan,
            "new-class confidence": float(new_conf[ok].mean()) if ok.any() else nan,
            "s / image": self.seconds / max(self.n, 1),
        }


def _smallest_successful(raw_success: np.ndarray, clipped: list[torch.Tensor],
                         clean: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
    """Per image, the attacked image of the smallest epsilon that succeeded; the clean
    image where none did (the attack failed on it)."""
    success = raw_success.any(axis=0)
    first = raw_success.argmax(axis=0)
    stacked = torch.stack(clipped)  # (E, N, C, H, W)
    chosen = stacked[torch.from_numpy(first), torch.arange(clean.shape[0])]
    return torch.where(torch.from_numpy(success)[:, None, None, None], chosen, clean), success


def _foolbox(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             settings: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    import foolbox as fb

    fmodel = fb.PyTorchModel(model.eval(), bounds=(0.0, 1.0))
    criterion = fb.criteria.Misclassification(y)
    if name in ("fgsm", "gradient"):
        attack = fb.attacks.FGSM() if name == "fgsm" else fb.attacks.L2FastGradientAttack()
        epsilons = FGSM_EPSILONS if name == "fgsm" else GRADIENT_EPSILONS
        _, clipped, success = attack(fmodel, x, criterion, epsilons=list(epsilons))
        adv, _ = _smallest_successful(success.numpy(), list(clipped), x)
        norm = "Linf" if name == "fgsm" else "L2"
        return adv, {"attack": type(attack).__name__, "norm": norm,
                     "epsilons": f"{len(epsilons)} from {epsilons[0]} to {epsilons[-1]}, "
                                 "smallest successful per image"}
    if name == "deepfool":
        attack = fb.attacks.L2DeepFoolAttack(steps=50, candidates=10, overshoot=0.02)
        params = {"attack": "L2DeepFoolAttack", "steps": 50, "candidates": 10,
                  "overshoot": 0.02}
    elif name == "boundary":
        return _boundary(fb, fmodel, criterion, x, y, settings)
    else:
        raise ValueError(f"no Foolbox attack {name!r}")
    with warnings.catch_warnings():  # Foolbox warns when its init attack fails on an image
        warnings.simplefilter("ignore", UserWarning)
        _, clipped, _ = attack(fmodel, x, criterion, epsilons=None)
    return clipped, params


def _boundary(fb: Any, fmodel: Any, criterion: Any, x: torch.Tensor, y: torch.Tensor,
              settings: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    """The boundary attack from the starting points Foolbox's default initialisation
    (blending in uniform noise) finds; where it finds none the attack has failed on that
    image (Foolbox would refuse the whole batch), and the image stays as it was."""
    init = fb.attacks.LinearSearchBlendedUniformNoiseAttack(directions=1000, steps=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, start, found = init(fmodel, x, criterion, epsilons=None)
    found = found.numpy() if isinstance(found, torch.Tensor) else np.asarray(found)
    adv = x.clone()
    if found.any():
        keep = torch.from_numpy(found)
        attack = fb.attacks.BoundaryAttack(steps=settings.boundary_steps)
        _, moved, _ = attack(fmodel, x[keep], fb.criteria.Misclassification(y[keep]),
                             epsilons=None, starting_points=start[keep])
        adv[keep] = moved
    return adv, {"attack": "BoundaryAttack", "steps": settings.boundary_steps,
                 "init_attack": "LinearSearchBlendedUniformNoiseAttack(directions=1000, "
                                "steps=1000)",
                 "no starting point": int((~found).sum())}


def _one_pixel(model: nn.Module, x: torch.Tensor, y: torch.Tensor, settings: Any,
               classes: int) -> tuple[torch.Tensor, dict[str, Any]]:
    from art.attacks.evasion import PixelAttack
    from art.estimators.classification import PyTorchClassifier

    classifier = PyTorchClassifier(model=model.eval(), loss=nn.CrossEntropyLoss(),
                                   input_shape=tuple(x.shape[1:]), nb_classes=classes,
                                   clip_values=(0.0, 1.0), channels_first=True,
                                   device_type="cpu")
    attack = PixelAttack(classifier, th=1, es=1, max_iter=settings.pixel_iterations,
                         targeted=False, verbose=False)
    adv = attack.generate(x.numpy().astype(np.float32), y=np.eye(classes)[y.numpy()])
    return torch.from_numpy(np.asarray(adv, dtype=np.float32)), {
        "attack": "PixelAttack", "pixels (th)": 1, "evolution": "differential (es=1)",
        "max_iter": settings.pixel_iterations}


def run_attack(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
               settings: Any, seed: int) -> AttackResult:
    """Attack images ``x`` (N, C, H, W) in [0, 1] with true labels ``y`` by ``name`` (one
    of :data:`dlwild.adversarial.settings.ATTACKS`), seeded."""
    if name not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}, got {name!r}")
    if x.ndim != 4 or len(x) != len(y):
        raise ValueError(f"images must be (N, C, H, W) with one label each, got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    model = model.eval()
    classes = int(model(x[:1]).shape[1]) if len(x) else 0
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    began = time.perf_counter()
    if len(x) == 0:
        adv, params = x.clone(), {}
    elif name == "one_pixel":
        adv, params = _one_pixel(model, x, y, settings, classes)
    else:
        adv, params = _foolbox(name, model, x, y, settings)
    seconds = time.perf_counter() - began
    library = _library(name)
    return _checked(name, library, version(library), params, model, x, adv, y, seconds)


def _library(name: str) -> str:
    return "adversarial-robustness-toolbox" if name == "one_pixel" else "foolbox"


def _checked(name: str, library: str, library_version: str, params: dict[str, Any],
             model: nn.Module, x: torch.Tensor, adv: torch.Tensor, y: torch.Tensor,
             seconds: float) -> AttackResult:
    """The result with success re-checked on the returned images (prediction != label)."""
    adv = adv.detach().to(torch.float32).clamp(0, 1)
    clean_probs, adv_probs = predict(model, x), predict(model, adv)
    success = (adv_probs.argmax(1) != y).numpy()
    return AttackResult(name, library, library_version, params, x, adv, y, success, seconds,
                        clean_probs, adv_probs)


#: What an attacked chunk depends on besides its images and victim (its artifact key).
ATTACK_CODE = ("dlwild.adversarial.attacks",)


def _budget(name: str, settings: Any) -> dict[str, int]:
    """The settings an attack's result depends on."""
    return ({"boundary_steps": settings.boundary_steps} if name == "boundary" else
            {"pixel_iterations": settings.pixel_iterations} if name == "one_pixel" else {})


def model_digest(model: nn.Module) -> str:
    """sha256 of a network's weights (names, shapes and values): the victim in a key."""
    state = model.state_dict()
    arrays = [np.frombuffer(k.encode(), dtype=np.uint8) for k in state]
    return cache.array_digest(arrays + [v.detach().cpu().numpy() for v in state.values()])


def attack_in_chunks(name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                     settings: Any, seed: int, chunk: int, store: Any = None) -> AttackResult:
    """:func:`run_attack` on ``x`` in chunks of ``chunk`` images, each saved as an artifact
    (keyed by the attack code, library version, budget, seed, victim weights and the chunk's
    images) as soon as it is done: a rerun loads what is there and attacks only the rest.
    Chunk ``i`` is seeded ``seed + 7919 * i``, so one chunk is exactly ``run_attack``."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least one image, got {chunk}")
    if name not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}, got {name!r}")
    store = store if store is not None else cache.ArtifactCache()
    library = _library(name)
    code, victim = cache.code_hash(*ATTACK_CODE), model_digest(model)
    starts = range(0, len(x), chunk)
    parts = []
    for i, start in enumerate(progress_bar(starts, desc=f"{TITLES[name]}, chunks of {chunk}",
                                           disable=len(starts) < 2)):
        xs, ys = x[start:start + chunk], y[start:start + chunk]
        key = {"code": code, "data": {"victim": victim,
                                      "images": cache.array_digest([xs.numpy(), ys.numpy()])},
               "params": {"attack": name, "library": library, "version": version(library),
                          "seed": seed + 7919 * i, **_budget(name, settings)}}
        parts.append(store.get_or_create(
            f"adversarial-attack-{name}", key,
            build=lambda xs=xs, ys=ys, i=i: run_attack(name, model, xs, ys, settings=settings,
                                                       seed=seed + 7919 * i),
            write=_write_chunk,
            read=lambda folder, xs=xs, ys=ys: _read_chunk(folder, name, model, xs, ys)))
    if not parts:
        return run_attack(name, model, x, y, settings=settings, seed=seed)
    first = parts[0]
    return _checked(name, first.library, first.library_version,
                    {**first.params, "chunks": f"{len(parts)} of up to {chunk} images"},
                    model, x, torch.cat([p.adversarial for p in parts]), y,
                    sum(p.seconds for p in parts))


def _write_chunk(result: AttackResult, folder: Path) -> None:
    np.save(folder / "adversarial.npy", result.adversarial.numpy())
    (folder / "attack.json").write_text(json.dumps(
        {"library": result.library, "library_version": result.library_version,
         "params": result.params, "seconds": result.seconds}, indent=1, default=str))


def _read_chunk(folder: Path, name: str, model: nn.Module, x: torch.Tensor,
                y: torch.Tensor) -> AttackResult:
    info = json.loads((folder / "attack.json").read_text())
    adv = torch.from_numpy(np.load(folder / "adversarial.npy"))
    if adv.shape != x.shape:
        raise cache.ArtifactMismatch(f"{folder}: attacked images {tuple(adv.shape)} do not "
                                     f"match the chunk's {tuple(x.shape)}")
    return _checked(name, info["library"], info["library_version"], info["params"], model, x,
                    adv, y, info["seconds"])
