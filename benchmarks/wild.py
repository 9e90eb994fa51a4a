"""Speed of the wild chapter on the book machine (2-core CPU).

1. Mutual information by binning: seconds per epoch's plane (all hidden layers on all
   4,096 inputs) as layer width and sample count grow (random tanh activations).
2. The autoencoders: windows per second through each (inference), and one training epoch
   of 140 windows in batches of 20.
3. The full-run forecast: the information-plane step and MI times the full scale's epochs,
   points and seeds; the imbalance, symbol and curve CNNs' measured step time times the full
   scale's steps. No target: it says whether a full run fits a CPU night (8 h).

Targets live here, never as timing assertions in tests. Results go to
``_build/benchmarks/wild.json``. Run with ``.venv/bin/python benchmarks/wild.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dlwild.wild import imbalance, infoplane, monitoring, nets, symbols
from dlwild.wild.settings import IMBALANCE_METHODS, SETTINGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from timing import fastest  # noqa: E402

OUT = ROOT / "_build" / "benchmarks"
NIGHT_H = 8.0


def mi_times() -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for n in (1024, 4096, 16384):
        y = rng.integers(0, 2, n)
        for width in (4, 10, 32):
            t = np.tanh(rng.normal(size=(n, width)))
            s = fastest(lambda t=t, y=y: infoplane.mutual_information(infoplane.discretise(t), y))
            rows.append({"samples": n, "width": width, "seconds": s})
    return rows


def autoencoder_rates() -> dict:
    x = torch.randn(2048, 100)
    out = {}
    for method in monitoring.DEEP:
        model = monitoring.make_autoencoder(method, 100).eval()
        with torch.no_grad():
            s = fastest(lambda model=model: model(x))
        out[method] = {"windows_per_s": len(x) / s}
    return out


def step_seconds(model: torch.nn.Module, batch: int, shape: tuple[int, ...]) -> float:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.randn(batch, *shape), torch.randint(0, model_out(model, shape), (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    step()
    return fastest(lambda: [step() for _ in range(10)]) / 10


def model_out(model: torch.nn.Module, shape: tuple[int, ...]) -> int:
    with torch.no_grad():
        return int(model(torch.zeros(1, *shape)).shape[1])


def symbol_seconds(full) -> float:
    """The symbols' five methods at full scale: the tail's real patch counts (the DeepScores
    chapter's engraved pages, cached after its first run) times the patch CNN's step time;
    augmentation tops every class up to the head."""
    tail = symbols.symbol_long_tail(full.symbol_classes, full.symbol_head, 0)
    counts = tail.counts
    images = counts.sum() * (len(IMBALANCE_METHODS) - 1) + len(counts) * counts.max()
    step = step_seconds(nets.DigitCNN(full.width, len(counts), tail.size), 64, (1, *tail.size))
    return float(images / 64 * full.symbol_epochs * step)


def forecast() -> dict:
    full = SETTINGS["full"]
    x, y = infoplane.twelve_bit_task(0)
    net = infoplane.IBNet("tanh")
    ib_step = step_seconds(net, full.ip_batch, (12,))
    mi = fastest(lambda: infoplane.layer_information(net, x, y, "tanh"))
    steps_per_epoch = int(np.ceil(0.8 * 4096 / full.ip_batch))
    ib = 2 * full.ip_seeds * (full.ip_epochs * steps_per_epoch * ib_step + full.ip_points * mi)
    cnn_step = step_seconds(nets.DigitCNN(full.width), 64, (1, 28, 28))
    tail = int(sum(imbalance.long_tail_counts(full.head, min(full.ratios)))
               + sum(imbalance.long_tail_counts(full.head, max(full.ratios))))
    # augmentation tops every class up to the head: count it as 10 heads per ratio
    images = tail * (len(IMBALANCE_METHODS) - 1) + 10 * full.head * len(full.ratios)
    imb = images / 64 * full.imbalance_epochs * cnn_step
    wide = step_seconds(nets.DigitCNN(2 * full.width), 32, (1, 28, 28))
    cur = 3 * full.curve_train / 32 * full.curve_epochs * wide
    hours = {"information_plane": ib / 3600, "imbalance": imb / 3600, "curves": cur / 3600,
             "symbols": symbol_seconds(full) / 3600}
    return {"hours": hours, "total_h": sum(hours.values()),
            "fits_a_night": sum(hours.values()) <= NIGHT_H}


def main() -> dict:
    torch.set_num_threads(1)  # as the chapter trains its tiny networks (nets.one_thread)
    result = {"mi_seconds": mi_times(), "autoencoders": autoencoder_rates(),
              "full_forecast": forecast()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "wild.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
