"""DWD's losses and the paper's staged training schedule (ISMIR 2018, digest section 3.2).

Choices where the paper is silent (each one is documented where it is made):

* Box regression on log sizes (the paper: MSE on pixel sizes) -- sizes span ~2-200 px, and on
  pixels the big symbols would dominate the loss.
* Training: RMSProp lr 1e-3 with "decay 0.995" read as RMSProp's squared-gradient discount
  (the authors' code passes it as TensorFlow's ``decay``); loss weights (2, 1, 1) and a running
  mean over the last 5 values (code).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dlwild.deepscores.dwd import DWDOutput, LossMemory

STAGES = ("e", "c", "b", "tot")
_MIN_SIZE = 0.25  # px; box sizes are clamped here before the log (no -inf)


def dwd_losses(
    output: DWDOutput, batch: Mapping[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(loss_e, loss_c, loss_b) of a batch.

    loss_e: cross-entropy of the energy levels, mean over all pixels.  loss_c: cross-entropy of
    the class map, mean over pixels whose target energy is > 0.  loss_b: MSE between predicted
    and target log (height, width), mean over those pixels and both channels.  loss_c and
    loss_b are None when the batch has no pixel with energy > 0 (e.g. a blank crop).
    """
    energy, cls, box = batch["energy"], batch["cls"], batch["box"]
    loss_e = F.cross_entropy(output.energy, energy)
    mask = energy > 0
    if not bool(mask.any()):
        return loss_e, None, None
    class_logits = output.cls.permute(0, 2, 3, 1)[mask]
    loss_c = F.cross_entropy(class_logits, cls[mask])
    pred = output.box.permute(0, 2, 3, 1)[mask]
    target = torch.log(box.permute(0, 2, 3, 1)[mask].clamp_min(_MIN_SIZE))
    loss_b = F.mse_loss(pred, target)
    return loss_e, loss_c, loss_b


@dataclass(frozen=True)
class Schedule:
    """The staged training of DWD: which loss is optimised at each training iteration.

    ``Schedule([("e", n1), ("c", n2), ("b", n3), ("e", n4), ("tot", n5)])``: ``n1`` iterations on
    loss_e, then ``n2`` on loss_c, and so on (stage names in :data:`STAGES`; 0-length stages are
    allowed for ablations).  Iterations past the end stay in the last stage.
    """

    stages: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        stages = tuple((str(name), int(n)) for name, n in self.stages)
        if not stages:
            raise ValueError("a schedule needs at least one stage")
        for name, n in stages:
            if name not in STAGES:
                raise ValueError(f"unknown stage {name!r}; use one of {', '.join(STAGES)}")
            if n < 0:
                raise ValueError(f"stage {name!r} has a negative length {n}")
        object.__setattr__(self, "stages", stages)

    @classmethod
    def staged(
        cls, total: int, fractions: Sequence[float] = (0.3, 0.15, 0.15, 0.1, 0.3)
    ) -> Schedule:
        """The paper's order e, c, b, e, tot over ``total`` iterations split by ``fractions``
        (our split: the paper gives no iteration counts).  The last stage gets the rest."""
        if len(fractions) != 5 or any(f < 0 for f in fractions) or not sum(fractions) > 0:
            raise ValueError("fractions must be 5 non-negative numbers, not all zero")
        share = [f / sum(fractions) for f in fractions]
        counts = [math.floor(total * f) for f in share[:-1]]
        counts.append(total - sum(counts))
        return cls(tuple(zip(("e", "c", "b", "e", "tot"), counts, strict=True)))

    @property
    def total(self) -> int:
        """Iterations of all stages together."""
        return sum(n for _, n in self.stages)

    def stage(self, step: int) -> str:
        """The active loss at training iteration ``step`` (counted from 0)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        end = 0
        for name, n in self.stages:
            end += n
            if step < end:
                return name
        return self.stages[-1][0]


class DWDLoss:
    """``loss_fn(model, batch)`` for :func:`dlwild.core.train.fit`, following a :class:`Schedule`.

    In training mode each call is one iteration: it computes loss_e, loss_c and loss_b, records
    all three in the model's :class:`LossMemory` (running means; so they are warm when the
    ``tot`` stage begins), advances the step and returns the active stage's loss.  ``tot`` is
    ``sum w_i * loss_i / running_mean_i`` with ``weights`` (2, 1, 1) and window 5 as in the
    authors' code; the running mean includes the current value and is not differentiated.
    A loss that is undefined in a batch (no foreground pixel) is left out (zero, no gradient).

    In eval mode (fit's validation) nothing is recorded and the plain weighted sum
    ``w_e * loss_e + w_c * loss_c + w_b * loss_b`` is returned, so that val_loss is comparable
    across stages.  The last components are kept in ``self.last`` (detached tensors).

    A model without a ``loss_memory`` (not a :class:`DWDNet`) gets one held by this object: it
    works, but fit's checkpoints then do not carry the schedule position.
    """

    def __init__(
        self, schedule: Schedule, weights: tuple[float, float, float] = (2.0, 1.0, 1.0)
    ) -> None:
        self.schedule = schedule
        self.weights = tuple(float(w) for w in weights)
        self.last: dict[str, torch.Tensor] = {}
        self._memory: LossMemory | None = None

    def _memory_of(self, model: nn.Module) -> LossMemory:
        memory = getattr(model, "loss_memory", None)
        if isinstance(memory, LossMemory):
            return memory
        if self._memory is None:
            self._memory = LossMemory()
        return self._memory

    def __call__(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        output = model(batch["image"])
        losses = dwd_losses(output, batch)
        zero = output.energy.sum() * 0.0
        parts = [loss if loss is not None else zero for loss in losses]
        self.last = dict(zip(("loss_e", "loss_c", "loss_b"), (p.detach() for p in parts),
                             strict=True))
        if not model.training:
            return sum((w * p for w, p in zip(self.weights, parts, strict=True)), zero)
        memory = self._memory_of(model)
        stage = self.schedule.stage(int(memory.step))
        for index, loss in enumerate(losses):
            if loss is not None:
                memory.push(index, loss)
        memory.step += 1
        if stage != "tot":
            return parts["ecb".index(stage)]
        total = zero
        for index, (w, loss) in enumerate(zip(self.weights, losses, strict=True)):
            if loss is None:
                continue
            mean = memory.mean(index)
            total = total + w * loss / mean.clamp_min(1e-12)
        return total

    def metrics(self, model: nn.Module, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """loss_e, loss_c, loss_b of a batch (NaN when undefined): an ``evaluate`` for fit."""
        with torch.no_grad():
            losses = dwd_losses(model(batch["image"]), batch)
        return {name: float("nan") if loss is None else float(loss)
                for name, loss in zip(("loss_e", "loss_c", "loss_b"), losses, strict=True)}


def rmsprop(
    params: Iterable[nn.Parameter],
    lr: float = 1e-3,
    decay: float = 0.995,
    *,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    tf_init: bool = False,
) -> torch.optim.RMSprop:
    """The paper's optimiser: RMSProp, learning rate 1e-3, decay 0.995 (an ``optimizer``
    factory for fit; bind other values with a lambda).

    "decay" is RMSProp's discount of the squared-gradient average (TensorFlow's
    ``RMSPropOptimizer(decay=...)`` in the authors' code = PyTorch's ``alpha``), not a
    learning-rate decay.  TensorFlow 1 starts that average at 1, PyTorch at 0; ``tf_init=True``
    starts it at 1 (early steps are then ~lr * gradient, i.e. a long warm-up with decay 0.995);
    the default keeps PyTorch's start.  ``weight_decay`` adds L2 regularisation (WoRMS 2018).
    """
    optimizer = torch.optim.RMSprop(params, lr=lr, alpha=decay, eps=eps,
                                    weight_decay=weight_decay)
    if tf_init:
        for group in optimizer.param_groups:
            for p in group["params"]:
                optimizer.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32),
                    "square_avg": torch.ones_like(p, memory_format=torch.preserve_format),
                }
    return optimizer
