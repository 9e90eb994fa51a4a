"""Feature response maps: guided backpropagation (Springenberg et al. 2015) through captum,
and plain gradients as the ablation, grey-scaled and normalised to [0, 1].

Which signal is propagated back (the paper: "the activations of the final convolutional
layer", not further specified): ``layer="features"`` starts from the activations A of the
network's ``features`` (its last convolutional block's ReLU) with the gradient A itself,
i.e. the gradient of 1/2 ||A||^2; ``layer="logit"`` from the predicted class's logit.
Grey: the maximum over colour channels of |R|, divided by its per-image maximum (a map
that is zero everywhere stays zero). Reused by later chapters: ``feature_response`` needs
only a model with a ``features`` module whose ReLUs are ``nn.ReLU`` modules."""

from __future__ import annotations

import warnings

import torch
from torch import nn

LAYERS = ("features", "logit")
METHODS = ("guided", "gradient")


class FeatureEnergy(nn.Module):
    """1/2 ||A||^2 of ``model.features(x)`` per image, as an (N, 1) output: its gradient
    back-propagates the last convolutional block's activations themselves."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.model.features(x)
        return 0.5 * a.pow(2).flatten(1).sum(1, keepdim=True)


def grey(response: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) responses -> (N, H, W) grey maps in [0, 1]: max over channels of |R|,
    divided by each map's maximum (all-zero maps stay zero)."""
    if response.ndim != 4:
        raise ValueError(f"responses must have shape (N, C, H, W), got {tuple(response.shape)}")
    g = response.abs().amax(dim=1)
    top = g.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
    return (g / top).clamp(0.0, 1.0)


def feature_response(model: nn.Module, x: torch.Tensor, *, method: str = "guided",
                     layer: str = "features", batch: int = 256) -> torch.Tensor:
    """Grey feature response maps (N, H, W) in [0, 1] of images ``x`` (N, C, H, W):
    ``method`` "guided" (captum's GuidedBackprop) or "gradient" (plain gradients, the
    ablation), from ``layer`` "features" or "logit" (see the module docstring)."""
    from captum.attr import GuidedBackprop, Saliency

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(x.shape)}")
    model.eval()
    forward = FeatureEnergy(model) if layer == "features" else model
    explainer = GuidedBackprop(forward) if method == "guided" else Saliency(forward)
    out = []
    for start in range(0, len(x), batch):
        part = x[start:start + batch].detach().clone().requires_grad_(True)
        if layer == "features":
            target = 0
        else:
            with torch.no_grad():
                target = model(part).argmax(1)
        with warnings.catch_warnings():  # captum's notice that it hooks the ReLUs
            warnings.simplefilter("ignore", UserWarning)
            if method == "guided":
                response = explainer.attribute(part, target=target)
            else:
                response = explainer.attribute(part, target=target, abs=False)
        out.append(grey(response.detach()))
    return torch.cat(out) if out else torch.zeros(0, *x.shape[2:])
