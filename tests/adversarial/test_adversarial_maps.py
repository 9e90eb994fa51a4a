"""Feature response maps: captum's guided backpropagation equals a hand-written guided ReLU
backward from the last convolutional block; grey maps lie in [0, 1]."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dlwild.adversarial.maps import feature_response, grey
from dlwild.adversarial.model import VGGNet


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0) * (g > 0)


class _Guided(nn.Module):
    def forward(self, x):
        return _GuidedReLU.apply(x)


def _by_hand(model: VGGNet, x: torch.Tensor) -> torch.Tensor:
    layers = [(_Guided() if isinstance(m, nn.ReLU) else m) for m in model.features]
    x = x.clone().requires_grad_(True)
    a = nn.Sequential(*layers)(x)
    (0.5 * a.pow(2).sum()).backward()
    return grey(x.grad)


def test_guided_backprop_equals_a_hand_written_guided_relu_backward():
    torch.manual_seed(0)
    model = VGGNet(width=4).eval()
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(feature_response(model, x), _by_hand(model, x))
    plain = feature_response(model, x, method="gradient")
    assert plain.shape == (3, 28, 28) and not torch.allclose(plain, _by_hand(model, x))


@pytest.mark.parametrize("method", ["guided", "gradient"])
@pytest.mark.parametrize("layer", ["features", "logit"])
def test_maps_are_grey_in_unit_range_with_max_one(method, layer):
    torch.manual_seed(1)
    maps = feature_response(VGGNet(width=4), torch.rand(4, 1, 28, 28), method=method,
                            layer=layer, batch=3)
    assert maps.shape == (4, 28, 28) and float(maps.min()) >= 0
    assert torch.allclose(maps.flatten(1).amax(1), torch.ones(4))


def test_grey_keeps_zero_maps_zero_and_takes_the_largest_channel():
    r = torch.zeros(2, 3, 2, 2)
    r[1, 2, 0, 0] = -4.0
    r[1, 0, 1, 1] = 2.0
    g = grey(r)
    assert g[0].abs().sum() == 0 and g[1, 0, 0] == 1.0 and g[1, 1, 1] == 0.5


def test_bad_arguments_are_refused():
    model = VGGNet(width=4)
    with pytest.raises(ValueError, match="method must be one of"):
        feature_response(model, torch.rand(1, 1, 28, 28), method="lrp")
    with pytest.raises(ValueError, match="layer must be one of"):
        feature_response(model, torch.rand(1, 1, 28, 28), layer="conv1")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        feature_response(model, torch.rand(28, 28))
