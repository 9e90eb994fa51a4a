"""Known answers for the binning mutual-information estimator and the 12-bit task."""

import numpy as np
import pytest
import torch

from dlwild.wild import infoplane


def test_the_task_has_all_4096_inputs_and_balanced_labels():
    x, y = infoplane.twelve_bit_task(0)
    assert x.shape == (4096, 12) and len(np.unique(x, axis=0)) == 4096
    assert set(np.unique(x)) == {-1.0, 1.0} and y.mean() == pytest.approx(0.5)


def test_identical_variables_give_their_entropy_and_independent_ones_nothing():
    x, y = infoplane.twelve_bit_task(0)
    ixt, ity = infoplane.mutual_information(infoplane.discretise(x), y)
    assert ixt == pytest.approx(12.0) and ity == pytest.approx(1.0)
    const = np.zeros((4096, 3), dtype=np.int16)
    assert infoplane.mutual_information(const, y) == (0.0, 0.0)
    # a bit independent of the label: H(T) = 1, I(T;Y) ~ 0
    bit = ((np.arange(4096) & 1)[:, None]).astype(np.int16)
    labels = (np.arange(4096) >> 1) & 1
    ixt, ity = infoplane.mutual_information(bit, labels)
    assert ixt == pytest.approx(1.0) and ity == pytest.approx(0.0, abs=1e-12)


def test_entropy_of_a_uniform_four_symbol_source_is_two_bits():
    assert infoplane.entropy(np.array([0, 1, 2, 3] * 5)[:, None]) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        infoplane.entropy(np.zeros((0, 1)))


def test_discretise_uses_30_equal_bins_on_minus_one_one():
    t = np.array([-1.0, -0.99, 0.0, 0.99, 1.0])
    b = infoplane.discretise(t)
    assert b.min() == 0 and b.max() == 29 and b[2] == 15
    assert infoplane.discretise(np.zeros(4), 30, 0.0, None).tolist() == [0, 0, 0, 0]


def test_log_epochs_and_compression():
    e = infoplane.log_epochs(1000, 10)
    assert e[0] == 1 and e[-1] == 1000 and e == sorted(set(e))
    ixt = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 2.5]])
    assert infoplane.compression(ixt).tolist() == [1.0, 0.0]


def test_the_network_has_the_papers_layers_and_records_the_plane():
    net = infoplane.IBNet("tanh")
    assert [m.out_features for m in net.layers] == [10, 7, 5, 4, 3, 2]
    x, y = infoplane.twelve_bit_task(0)
    h = infoplane.fit_ib(net, x, y, np.arange(3000), epochs=3, points=3, activation="tanh",
                         seed=0)
    epochs, ixt, ity = infoplane.plane(h)
    assert epochs.tolist() == [1, 2, 3] and ixt.shape == (3, 5) and (ixt <= 12 + 1e-9).all()
    with pytest.raises(ValueError, match="activation"):
        infoplane.IBNet("sigmoid")
    assert torch.is_tensor(net(torch.as_tensor(x[:2])))
