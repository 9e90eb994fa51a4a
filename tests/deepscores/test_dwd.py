"""Deep Watershed Detector: targets, network, losses, schedule, decoding, and a tiny overfit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlwild.core.train import fit
from dlwild.deepscores.annotations import Page, Symbol
from dlwild.deepscores.dwd import DWDNet, DWDOutput
from dlwild.deepscores.dwd_loss import DWDLoss, Schedule, dwd_losses, rmsprop
from dlwild.deepscores.dwd_targets import (
    DWDCrops,
    TargetConfig,
    class_box_sizes,
    class_index,
    make_targets,
    marker_radius,
)
from dlwild.deepscores.watershed import (
    DecodeConfig,
    decode,
    decode_compact,
    decode_maps,
    decode_output,
    predict,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLASSES = ["noteheadBlack", "accidentalSharp", "gClef"]
IDS = class_index(CLASSES)




def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def grid_page(seed: int = 0, size: int = 256, spacing: int = 40,
              sizes: tuple[float, float] = (6, 30)) -> Page:
    """Symbols of random sizes (6-30 px) and classes on a jittered grid, apart enough that
    their markers do not merge."""
    rng = np.random.default_rng(seed)
    symbols = []
    for gy in range(size // spacing):
        for gx in range(size // spacing):
            h, w = rng.uniform(*sizes, 2)
            cx = spacing / 2 + gx * spacing + rng.uniform(-3, 3)
            cy = spacing / 2 + gy * spacing + rng.uniform(-3, 3)
            symbols.append(Symbol(CLASSES[int(rng.integers(3))],
                                  (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                  len(symbols) + 1))
    return Page("grid", size, size, symbols)


def pixel_distance(shape, cx, cy):
    ii, jj = np.indices(shape)
    return np.hypot(ii + 0.5 - cy, jj + 0.5 - cx)


# ---- targets -------------------------------------------------------------------------------


def test_single_cone_levels_class_and_box():
    config = TargetConfig(e_max=10)
    symbol = Symbol("accidentalSharp", (10.0, 8.0, 21.0, 23.0), 1)  # centre (15.5, 15.5)
    t = make_targets([symbol], (32, 40), IDS, config)
    r = marker_radius(15.0, 11.0, config)
    assert r == pytest.approx(max(4.0, 0.8 * 11 / 2))
    d = pixel_distance((32, 40), 15.5, 15.5)
    assert t.energy[15, 15] == config.e_max - 1  # the peak at the centre pixel
    assert t.energy.max() == config.e_max - 1
    assert (t.energy[d >= r] == 0).all() and (t.energy[d < r] > 0).all()
    expected = np.where(d < r, np.ceil((config.e_max - 1) * (1 - d / r)), 0)
    np.testing.assert_array_equal(t.energy, expected)
    fg = t.energy > 0
    assert (t.cls[fg] == IDS["accidentalSharp"]).all() and (t.cls[~fg] == 0).all()
    assert (t.box[0][fg] == 15.0).all() and (t.box[1][fg] == 11.0).all()
    assert (t.box[:, ~fg] == 0).all()
    assert t.energy.dtype == np.int64 and t.box.dtype == np.float32
    assert len(t.symbols) == 1


def test_tiny_symbols_get_the_minimum_radius():
    config = TargetConfig(min_radius=4.0)
    assert marker_radius(3.0, 3.0, config) == 4.0
    t = make_targets([Symbol("noteheadBlack", (14, 14, 17, 17), 1)], (32, 32), IDS, config)
    assert (t.energy > 0).sum() == (pixel_distance((32, 32), 15.5, 15.5) < 4.0).sum()


def test_overlapping_markers_take_max_energy_and_nearest_centre():
    symbols = [Symbol("gClef", (0, 0, 40, 40), 1),  # r = 16, centre (20, 20)
               Symbol("noteheadBlack", (26, 16, 34, 24), 2),  # r = 4, centre (30, 20)
               Symbol("accidentalSharp", (10, 24, 22, 36), 3)]  # r = 4.8, centre (16, 30)
    config = TargetConfig(e_max=10)
    t = make_targets(symbols, (48, 48), IDS, config)
    energies, dists = [], []
    for s in symbols:
        cx, cy = s.center
        r = marker_radius(*s.size, config)
        d = pixel_distance((48, 48), cx, cy)
        energies.append(np.where(d < r, np.ceil(9 * (1 - d / r)), 0))
        dists.append(np.where(d < r, d, np.inf))
    np.testing.assert_array_equal(t.energy, np.max(energies, axis=0))
    nearest = np.argmin(dists, axis=0)
    fg = t.energy > 0
    ids = np.array([IDS[s.cls] for s in symbols])
    heights = np.array([s.size[0] for s in symbols])
    np.testing.assert_array_equal(t.cls[fg], ids[nearest[fg]])
    np.testing.assert_array_equal(t.box[0][fg], heights[nearest[fg]])
    # a pixel inside the clef's cone but closer to the notehead's centre is the notehead's
    assert t.cls[20, 29] == IDS["noteheadBlack"] and t.energy[20, 29] > 0


def test_crop_keeps_objects_with_centre_inside_clipped_and_ignores_unknown_classes():
    symbols = [Symbol("noteheadBlack", (60, 60, 72, 72), 1),  # centre (66, 66): inside
               Symbol("gClef", (90, 40, 130, 110), 2),  # centre (110, 75): outside the crop
               Symbol("staff", (50, 50, 90, 90), 3)]  # class not detected
    crop = make_targets(symbols, (40, 40), IDS, offset=(40.0, 40.0))  # page x, y in [40, 80)
    assert [s.instance for s in crop.symbols] == [1]
    assert crop.symbols[0].bbox == (20.0, 20.0, 32.0, 32.0)
    assert set(np.unique(crop.cls)) == {0, IDS["noteheadBlack"]}
    # the same object near the border: its marker is clipped, not dropped
    edge = make_targets(symbols[:1], (40, 40), IDS, offset=(64.0, 40.0))
    full = make_targets(symbols[:1], (40, 80), IDS, offset=(40.0, 40.0))
    np.testing.assert_array_equal(edge.energy, full.energy[:, 24:64])
    assert edge.energy[:, 0].max() > 0
    # scale maps page to output pixels before the offset
    scaled = make_targets(symbols[:1], (40, 40), IDS, scale=0.5, offset=(10.0, 10.0))
    assert scaled.symbols[0].bbox == (20.0, 20.0, 26.0, 26.0)
    assert scaled.box[:, 23, 23].tolist() == [6.0, 6.0]


def test_crops_dataset_is_reproducible_per_epoch_and_pads_small_pages():
    page = grid_page(1, size=120)
    image = np.full((120, 120), 255, np.uint8)
    data = DWDCrops([(image, page)], IDS, crop=(64, 64), crops_per_page=2, seed=3)
    assert len(data) == 2
    data.set_epoch(1)
    a, b = data[0], data[0]
    assert torch.equal(a["energy"], b["energy"])
    assert a["image"].shape == (1, 64, 64) and a["energy"].shape == (64, 64)
    assert a["box"].shape == (2, 64, 64) and a["cls"].dtype == torch.int64
    drawn = set()
    for epoch in range(1, 6):
        data.set_epoch(epoch)
        drawn.add(tuple(data[0]["energy"].sum(dim=1).tolist()))
    assert len(drawn) > 1  # new crops each epoch
    small = DWDCrops([(image[:50, :30], Page("s", 30, 50, page.symbols[:1]))], IDS, crop=(64, 64))
    x = small[0]["image"]
    assert x.shape == (1, 64, 64) and x[:, 50:].abs().sum() == 0 and x[:, :, 30:].abs().sum() == 0


def test_short_epochs_take_turns_through_the_passes_over_all_crops():
    # three pages, two crops each: a pass of 6 crops; epochs of 4 run through the passes
    pages = [(np.full((120, 120), 255, np.uint8), grid_page(n, size=120)) for n in (1, 2, 3)]
    whole = DWDCrops(pages, IDS, crop=(64, 64), crops_per_page=2, seed=3, focus=0.5)
    short = DWDCrops(pages, IDS, crop=(64, 64), crops_per_page=2, seed=3, focus=0.5,
                     per_epoch=4)
    assert (len(whole), len(short), short.per_pass) == (6, 4, 6)
    seen = []
    for epoch in range(3):  # 12 crops: exactly two passes
        short.set_epoch(epoch)
        seen += [short[i]["energy"] for i in range(len(short))]
    expected = []
    for epoch in range(2):
        whole.set_epoch(epoch)
        expected += [whole[i]["energy"] for i in range(len(whole))]
    assert all(torch.equal(a, b) for a, b in zip(seen, expected, strict=True))
    with pytest.raises(IndexError):
        short[4]
    assert len(DWDCrops(pages, IDS, crops_per_page=2, per_epoch=100)) == 6
    with pytest.raises(ValueError, match="per_epoch"):
        DWDCrops(pages, IDS, per_epoch=0)


def test_focused_crops_balance_the_classes():
    # 200 noteheads spread over a 1000 x 1000 page and one clef in a corner
    rng = np.random.default_rng(0)
    symbols = [Symbol("noteheadBlack", (x, y, x + 6, y + 5), i + 1)
               for i, (x, y) in enumerate(rng.uniform(100, 900, (200, 2)))]
    symbols.append(Symbol("gClef", (10.0, 10.0, 30.0, 60.0), 201))
    page = Page("p", 1000, 1000, symbols)
    image = np.full((1000, 1000), 255, np.uint8)

    def clef_share(focus: float) -> float:
        data = DWDCrops([(image, page)], IDS, crop=(64, 64), crops_per_page=400, seed=1,
                        focus=focus)
        return np.mean([bool((data[i]["cls"] == IDS["gClef"]).any()) for i in range(len(data))])

    assert clef_share(0.0) < 0.02  # uniform crops almost never see the clef
    assert 0.35 < clef_share(1.0) < 0.65  # two classes on the page: about half the crops
    assert 0.15 < clef_share(0.5) < 0.4
    with pytest.raises(ValueError, match="focus"):
        DWDCrops([(image, page)], IDS, focus=1.5)


# ---- network -------------------------------------------------------------------------------


def test_network_shapes_and_size():
    torch.manual_seed(0)
    net = DWDNet(n_classes=20, e_max=10, width=16)
    params = sum(p.numel() for p in net.parameters())
    assert 0.5e6 < params < 2e6
    out = net(torch.zeros(2, 1, 37, 53))  # odd sizes: outputs still match the input
    assert out.energy.shape == (2, 10, 37, 53)
    assert out.cls.shape == (2, 21, 37, 53)
    assert out.box.shape == (2, 2, 37, 53)
    small = DWDNet(n_classes=3, e_max=6, width=4, levels=2, blocks=2)
    assert small(torch.zeros(1, 1, 16, 16)).energy.shape == (1, 6, 16, 16)


# ---- losses and schedule -------------------------------------------------------------------


def _batch(targets) -> dict[str, torch.Tensor]:
    image = torch.zeros((1, 1, *targets.energy.shape))
    return {"image": image, **{k: v[None] for k, v in targets.as_tensors().items()}}


def test_masked_losses_ignore_background_pixels():
    t = make_targets(grid_page(2, size=64, spacing=32).symbols, (64, 64), IDS)
    batch = _batch(t)
    bg = ~(batch["energy"] > 0)
    torch.manual_seed(0)
    logits = [torch.randn(1, 10, 64, 64), torch.randn(1, 4, 64, 64), torch.randn(1, 2, 64, 64)]
    cls = logits[1].clone().requires_grad_(True)
    box = logits[2].clone().requires_grad_(True)
    loss_e, loss_c, loss_b = dwd_losses(DWDOutput(logits[0], cls, box), batch)
    (loss_c + loss_b).backward()
    assert cls.grad.permute(0, 2, 3, 1)[bg].abs().max() == 0
    assert box.grad.permute(0, 2, 3, 1)[bg].abs().max() == 0
    assert cls.grad.abs().sum() > 0 and box.grad.abs().sum() > 0
    # changing the predictions on background pixels changes neither loss_c nor loss_b
    mask = bg[:, None].float()
    changed = DWDOutput(logits[0], logits[1] + 5 * mask * torch.randn_like(logits[1]),
                        logits[2] + 5 * mask)
    _, loss_c2, loss_b2 = dwd_losses(changed, batch)
    assert loss_c2.item() == pytest.approx(loss_c.item())
    assert loss_b2.item() == pytest.approx(loss_b.item())
    # known values: CE and MSE on log sizes over the foreground only
    fg = ~bg[0]
    expected_c = F.cross_entropy(logits[1][0].permute(1, 2, 0)[fg], batch["cls"][0][fg])
    expected_b = F.mse_loss(logits[2][0].permute(1, 2, 0)[fg],
                            batch["box"][0].permute(1, 2, 0)[fg].log())
    assert loss_c.item() == pytest.approx(expected_c.item())
    assert loss_b.item() == pytest.approx(expected_b.item())
    assert loss_e.item() == pytest.approx(F.cross_entropy(logits[0], batch["energy"]).item())
    # a blank crop: only loss_e is defined
    blank = _batch(make_targets([], (8, 8), IDS))
    assert dwd_losses(DWDOutput(logits[0][..., :8, :8], logits[1][..., :8, :8],
                                logits[2][..., :8, :8]), blank)[1:] == (None, None)


def test_schedule_order():
    schedule = Schedule([("e", 2), ("c", 1), ("b", 1), ("e", 1), ("tot", 2)])
    assert [schedule.stage(i) for i in range(9)] == ["e", "e", "c", "b", "e", "tot", "tot",
                                                     "tot", "tot"]
    assert schedule.total == 7
    assert Schedule([("e", 0), ("c", 1)]).stage(0) == "c"
    staged = Schedule.staged(101)
    assert [name for name, _ in staged.stages] == ["e", "c", "b", "e", "tot"]
    assert staged.total == 101
    with pytest.raises(ValueError, match="unknown stage"):
        Schedule([("energy", 3)])


def test_loss_follows_the_schedule_and_normalises_by_running_means():
    torch.manual_seed(0)
    net = DWDNet(3, e_max=10, width=4, levels=2)
    batch = _batch(make_targets(grid_page(3, size=32, spacing=16).symbols, (32, 32), IDS))
    loss = DWDLoss(Schedule([("e", 1), ("c", 1), ("b", 1), ("tot", 3)]))
    with torch.no_grad():
        e, c, b = dwd_losses(net(batch["image"]), batch)
    net.train()
    values = [loss(net, batch).item() for _ in range(5)]
    assert values[:3] == pytest.approx([e.item(), c.item(), b.item()], rel=1e-5)
    # no parameter changed, so each running mean equals its loss: tot = 2 + 1 + 1
    assert values[3:] == pytest.approx([4.0, 4.0], rel=1e-5)
    assert int(net.loss_memory.step) == 5
    assert "loss_memory.step" in net.state_dict()
    net.eval()  # validation: the plain weighted sum, nothing recorded
    assert loss(net, batch).item() == pytest.approx((2 * e + c + b).item(), rel=1e-5)
    assert int(net.loss_memory.step) == 5
    metrics = loss.metrics(net, batch)
    assert metrics["loss_c"] == pytest.approx(c.item(), rel=1e-5)


def test_rmsprop_is_the_papers():
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = rmsprop(params)
    group = opt.param_groups[0]
    assert isinstance(opt, torch.optim.RMSprop)
    assert group["lr"] == 1e-3 and group["alpha"] == 0.995
    tf = rmsprop(params, tf_init=True)
    assert torch.equal(tf.state[params[0]]["square_avg"], torch.ones(3))
    params[0].grad = torch.ones(3)
    tf.step()  # square_avg = 0.995 * 1 + 0.005 * 1 = 1: a step of lr / (1 + eps)
    assert params[0].detach() == pytest.approx([-1e-3] * 3, rel=1e-4)


def test_fit_resumes_the_schedule_exactly(tmp_path):
    page = grid_page(4, size=32, spacing=16)
    image = np.full((32, 32), 255, np.uint8)
    data = DWDCrops([(image, page)], IDS, crop=(32, 32))

    def run(epochs: int, checkpoint=None) -> DWDNet:
        torch.manual_seed(0)
        net = DWDNet(3, width=4, levels=2)
        fit(net, data, loss_fn=DWDLoss(Schedule([("e", 2), ("c", 2), ("tot", 2)])),
            optimizer=rmsprop, epochs=epochs, batch_size=1, checkpoint=checkpoint,
            progress=False, seed=1)
        return net

    whole = run(6)
    run(3, tmp_path / "ck.pt")
    resumed = run(6, tmp_path / "ck.pt")
    assert int(resumed.loss_memory.step) == 6
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name


# ---- decoding ------------------------------------------------------------------------------


def _one_hot_output(t, e_max: int) -> DWDOutput:
    """Perfect 'predictions' from targets: one-hot logits, exact log sizes."""
    energy = F.one_hot(torch.from_numpy(t.energy), e_max).permute(2, 0, 1)[None].float() * 30
    cls = F.one_hot(torch.from_numpy(t.cls), len(CLASSES) + 1).permute(2, 0, 1)[None].float()
    box = torch.from_numpy(np.log(np.maximum(t.box, 1.0)))[None]
    return DWDOutput(energy, cls * 30, box)


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_decoding_perfect_predictions_round_trips(scale):
    # boxes of 6-30 output pixels: the mean-pixel centre is off by up to ~0.3 px, which
    # costs a 4 px wide box more than 0.1 IoU
    page = grid_page(5, size=round(256 / scale), spacing=round(40 / scale),
                     sizes=(6 / scale, 30 / scale))
    size = (int(page.height * scale), int(page.width * scale))
    t = make_targets(page, size, IDS, scale=scale)
    assert len(t.symbols) == len(page.symbols)
    from_maps = decode(t.energy, t.cls, t.box, CLASSES, 10, scale=scale)
    from_logits = decode_output(_one_hot_output(t, 10), CLASSES, scale=scale)[0]
    for detections in (from_maps, from_logits):
        assert len(detections) == len(page.symbols)
        for s in page.symbols:
            best = max(detections, key=lambda d: iou(d.bbox, s.bbox))
            assert iou(best.bbox, s.bbox) > 0.9
            assert best.cls == s.cls
    assert all(d.score == pytest.approx(1.0) for d in from_logits)
    assert all(d.score == 1.0 for d in from_maps)


def test_compact_maps_decode_as_the_whole_output():
    # a noisy output with many components: the maps kept per page (levels everywhere, the
    # rest only where the level is >= 1) decode to the very detections of the dense maps
    gen = torch.Generator().manual_seed(0)
    e_max, n = 6, len(CLASSES)
    energy = torch.randn(1, e_max, 60, 80, generator=gen) * 3
    energy[:, 0] += 6  # mostly background, as a page is
    output = DWDOutput(energy, torch.randn(1, n + 1, 60, 80, generator=gen) * 3,
                       torch.randn(1, 2, 60, 80, generator=gen) + 2)
    energy_prob = energy.softmax(dim=1)
    class_prob = output.cls.softmax(dim=1)
    levels = energy_prob.argmax(dim=1)[0].numpy()
    dense = dict(foreground_prob=(1 - energy_prob[0, 0]).numpy(), class_prob=class_prob[0].numpy())
    class_map = (class_prob[0, 1:].argmax(dim=0) + 1).numpy()
    maps = decode_maps(output)[0]
    raw = sum(t.numel() * 4 for t in (output.energy, output.cls, output.box))
    assert 0 < maps.where.size < levels.size / 4 and maps.nbytes < raw / 4
    for config in (DecodeConfig(), DecodeConfig(cuts=(1,)), DecodeConfig(cuts=(4,))):
        want = decode(levels, class_map, output.box.exp()[0].numpy(), CLASSES, e_max, config,
                      **dense)
        assert want  # components to decode at every cut
        assert decode_compact(maps, CLASSES, config) == want
        assert decode_output(output, CLASSES, config)[0] == want
    with pytest.raises(ValueError, match="class head has 4 channels"):
        decode_compact(maps, CLASSES[:2])


def test_two_cut_rule_and_tiny_components():
    levels = np.zeros((20, 40), np.int64)
    levels[2:9, 2:9] = 1
    levels[4:7, 4:7] = 5  # a peak above the high cut inside a low blob: one detection
    levels[12:17, 2:7] = 2  # a blob only above the low cut: kept
    levels[2:9, 20:30] = 1
    levels[3:5, 21:23] = 6  # a 4 px high component ...
    levels[6:8, 26:28] = 6  # ... and another in the same low blob: two detections
    levels[15, 35] = 7  # a 1 px speck: dropped
    cls = np.full_like(levels, 1)
    box = np.full((2, 20, 40), 3.0)
    config = DecodeConfig(cuts=(4, 1), min_area=3)
    dets = decode(levels, cls, box, CLASSES, 10, config)
    centres = sorted(((d.bbox[0] + d.bbox[2]) / 2, (d.bbox[1] + d.bbox[3]) / 2) for d in dets)
    assert centres == [(4.5, 14.5), (5.5, 5.5), (22.0, 4.0), (27.0, 7.0)]
    # a single cut at the low level merges the two peaks of the right blob
    assert len(decode(levels, cls, box, CLASSES, 10, DecodeConfig(cuts=(1,), min_area=3))) == 3
    assert DecodeConfig().levels(20) == (7, 1) and DecodeConfig().levels(10) == (4, 1)


def test_decode_votes_scores_and_cached_sizes():
    levels = np.zeros((10, 10), np.int64)
    levels[2:6, 2:6] = 5
    cls = np.zeros_like(levels)
    cls[2:6, 2:6] = 2
    cls[2, 2:5] = 3  # minority class
    box = np.zeros((2, 10, 10))
    box[0, 2:6, 2:6], box[1, 2:6, 2:6] = 8.0, 4.0
    box[0, 2, 2] = 12.0
    fg = np.full((10, 10), 0.5)
    probs = np.zeros((4, 10, 10))
    probs[2] = 0.8
    probs[3, 2, 2:5] = 0.9  # the minority class's probability does not count
    (det,) = decode(levels, cls, box, CLASSES, 10, foreground_prob=fg, class_prob=probs)
    assert det.cls == "accidentalSharp"
    assert det.score == pytest.approx(0.5 * 0.8)
    h = 8.0 + 4.0 / 16  # mean of the box map over 16 px
    assert det.bbox == pytest.approx((4 - 2.0, 4 - h / 2, 4 + 2.0, 4 + h / 2))
    (det_max,) = decode(levels, cls, box, CLASSES, 10, DecodeConfig(box_reduce="max"))
    assert det_max.bbox[3] - det_max.bbox[1] == pytest.approx(12.0)
    cached = class_box_sizes([Page("p", 50, 50, [Symbol("accidentalSharp", (0, 0, 6, 20), 1),
                                                  Symbol("accidentalSharp", (0, 0, 8, 24), 2)])])
    assert cached == {"accidentalSharp": (22.0, 7.0)}
    (det_cached,) = decode(levels, cls, box, CLASSES, 10, box_sizes=cached)
    assert det_cached.bbox == pytest.approx((4 - 3.5, 4 - 11.0, 4 + 3.5, 4 + 11.0))
    # a component where only background is voted gives no detection
    assert decode(levels, np.zeros_like(levels), box, CLASSES, 10) == []


# ---- a tiny overfit through fit ------------------------------------------------------------


def test_overfits_one_synthetic_image():
    """Energy training alone separates marker pixels from background on one toy image.

    The margins come from seeds 0-9 on this machine (the net's initialisation and float
    reductions differ by seed and by CPU): the loss ended at 0.04-0.08 of its first value,
    the AUC of P(level > 0) for marker against background pixels at 0.983-0.999, the mean on
    the markers at 0.42-0.85 and its ratio to the background's at 8.7-78 (8.7 was the old
    threshold's 10 failing, seed 0 and on an AMD EPYC). Each bound sits well inside."""
    from sklearn.metrics import roc_auc_score

    image = np.full((64, 64), 255, np.uint8)
    symbols = []
    for k, (x0, y0, x1, y1, c) in enumerate([(8, 8, 20, 18, 0), (35, 10, 41, 30, 1),
                                             (12, 40, 28, 52, 0), (44, 44, 50, 58, 2)], 1):
        image[y0:y1, x0:x1] = (0, 90, 160)[c]
        symbols.append(Symbol(CLASSES[c], (x0, y0, x1, y1), k))
    data = DWDCrops([(image, Page("toy", 64, 64, symbols))], IDS, crop=(64, 64))
    torch.manual_seed(0)
    net = DWDNet(len(CLASSES), width=8)
    history = fit(net, data, loss_fn=DWDLoss(Schedule([("e", 200)])), optimizer=rmsprop,
                  epochs=200, batch_size=1, progress=False)
    losses = [r["train_loss"] for r in history.epochs]
    assert math.isfinite(losses[-1])
    assert np.mean(losses[-10:]) < 0.25 * losses[0]
    # the net separates marker pixels from background: P(level > 0) ranks the markers first
    sample = data[0]
    with torch.no_grad():
        foreground = 1 - net(sample["image"][None]).energy.softmax(dim=1)[0, 0]
    marker = sample["energy"] > 0
    assert roc_auc_score(marker.numpy().ravel(), foreground.numpy().ravel()) > 0.95
    assert foreground[marker].mean() > 0.2
    assert foreground[marker].mean() > 3 * foreground[~marker].mean()
    assert isinstance(predict(net, image, CLASSES), list)
