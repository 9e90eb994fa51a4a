"""Speed of the DeepScores chapter on the book machine (2-core CPU), as ratios.

1. Engraving: pages per second for the same music21 corpus pieces with Verovio (SVG only,
   and the chapter's full path: SVG + exact boxes + raster + class and instance masks)
   against Debian's LilyPond, the engraver the original DeepScores used
   (``musicxml2ly`` + ``lilypond --png``; skipped with a note when not installed:
   ``apt-get install lilypond``). Baseline: LilyPond; target: the full Verovio path
   (annotated pages: image, boxes, masks) at least 5x LilyPond's bare PNG pages per second,
   as the median ratio of alternating rounds (the machine's speed drifts between them).
   December 2026, 4 chorales, machine otherwise idle: 2.22 against 0.43 pages/s, 4.85x
   (five rounds: 4.53 to 7.03); 3.9x before the instance masks were drawn without an SVG
   and pages sized in their text. With cairo's C calls for the page raster's paths, in the
   same hour as the code before them (the machine ran faster than earlier that day): 3.59
   and 3.74 against 0.55 and 0.63 pages/s, 6.49x and 5.72x (before: 3.30 against 0.58
   pages/s, 5.64x); the ratio of a run moves by about 1x with the machine's state.
2. The detector: inference (forward pass) and decoding time per page, at the engraver's
   interline of 10 px and at half that scale (the original DWD's 0.5), for the quick-scale
   network, each in its own subprocess so that its peak memory (maxrss) is its own.
   Target: a test page in under 10 s on 2 cores.
3. The forecast of a full-scale run: one optimiser step of the full detector (``SETTINGS["full"]``
   width, classes and crop, its loss on a real engraved crop) and of the paper-like classifier
   (its patch size, batch 64), each in its own subprocess, times the steps a full run takes
   (two detectors, joint and staged, and at most ``classifier_classes x patches_per_class``
   patches for ``classifier_epochs``), plus engraving the full scale's corpus (every composer,
   capped per composer) in every font at the seconds per piece measured on one piece of each
   of six composers, in two processes. Target: at most 10 hours. Against the full run of 3
   December 2026 (d3c00aa, AMD EPYC, 2 cores; forecast 2.1 h): engraving took about 0.5 h
   (forecast 0.26 h; not the sample: a uniform random sample of 12 of the 257 pieces
   forecasts 0.22 h. The run also writes its 5.6 GB of pages and a 350 MB index, which this
   benchmark does not time; not investigated further), the classifier 20.8 min (forecast
   23 min), a detector step 0.42 s
   (forecast 0.31 s; the run holds 5.6 GB of pages and trains the detectors one after the
   other in its kernel of ~15 GB): about 2.7 h in all.

Targets live here, never as timing assertions in tests. Results go to
``_build/benchmarks/deepscores.json``. Run with ``.venv/bin/python benchmarks/deepscores.py``
(``--pieces N`` to change the number of pieces)."""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "benchmarks"

DETECTOR = """
import json, resource, sys, time
import numpy as np, torch
from skimage.transform import rescale
from dlwild.deepscores import dwd, dwd_targets, engrave, watershed
from dlwild.deepscores.settings import SETTINGS
torch.set_num_threads(2)
quick = SETTINGS[sys.argv[3] if len(sys.argv) > 3 else "quick"]
scale, piece = float(sys.argv[1]), sys.argv[2]
page = engrave.engrave(engrave.corpus_score(piece), piece=piece)[0]
image = page.image if scale == 1 else (rescale(page.image / 255.0, scale) * 255).astype(np.uint8)
classes = sorted({s.cls for s in page.page.symbols})
model = dwd.DWDNet(len(classes), quick.e_max, width=quick.width).eval()
x = dwd_targets.image_to_input(image)[None]
with torch.no_grad():
    t0 = time.perf_counter(); out = model(x); forward = time.perf_counter() - t0
t0 = time.perf_counter(); watershed.decode_output(out, classes); decode = time.perf_counter() - t0
print(json.dumps({"scale": scale, "pixels": int(image.size), "forward_s": forward,
                  "decode_s": decode,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FULL_STEP = """
import json, sys, time
import torch
from torch.utils.data import default_collate
from dlwild.deepscores import classify, detector, dwd, dwd_loss, dwd_targets, engrave
from dlwild.deepscores.real_pages import scaled
from dlwild.deepscores.settings import SETTINGS
torch.set_num_threads(2)
full, part, steps = SETTINGS["full"], sys.argv[1], int(sys.argv[3])
torch.manual_seed(0)
if part == "detector":
    page = engrave.engrave(engrave.corpus_score(sys.argv[2]), piece=sys.argv[2])[0]
    image, annotations = scaled(page, full.detector_scale)
    classes = classify.top_classes([annotations], full.detector_classes)
    crops = dwd_targets.DWDCrops([(image, annotations)], dwd_targets.class_index(classes),
                                 crop=full.crop, config=dwd_targets.TargetConfig(e_max=full.e_max),
                                 crops_per_page=1, seed=0)
    model = dwd.DWDNet(full.detector_classes, full.e_max, width=full.width).train()
    loss_fn = dwd_loss.DWDLoss(detector.schedule_for("joint", full.steps))
    batch = default_collate([crops[0]])
    optimizer = detector.optimizer_for(full.optimizer, full.lr)(model.parameters())
else:
    model = classify.SymbolResNet(full.classifier_classes, width=full.classifier_width,
                                  blocks=full.classifier_blocks, in_size=full.patch_size).train()
    x = torch.rand(64, 1, *full.patch_size)
    y = torch.randint(0, full.classifier_classes, (64,))
    loss_fn, batch = (lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1])), (x, y)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
def step():
    optimizer.zero_grad(set_to_none=True)
    loss_fn(model, batch).backward()
    optimizer.step()
step()
start = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps({"step_s": (time.perf_counter() - start) / steps}))
"""


def full_step(part: str, piece: str, steps: int = 3) -> float:
    """Seconds per optimiser step of the full-scale ``detector`` or ``classifier``."""
    done = subprocess.run([sys.executable, "-c", FULL_STEP, part, piece, str(steps)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["step_s"]


def corpus_sample(full, composers: int = 6) -> dict:
    """Seconds per piece of the full scale's corpus: music21's export and one font's
    engraving (at most ``max_pages_per_piece`` pages), on the first piece of each of the
    first ``composers`` composers of the seeded, capped candidate list (the pieces differ in
    length far more than the chorales do)."""
    import random

    from dlwild.deepscores import dataset, engrave

    candidates = engrave.corpus_pieces(full.corpus)
    random.Random(0).shuffle(candidates)
    firsts: dict[str, str] = {}
    for piece in candidates:
        firsts.setdefault(engrave.piece_composer(piece), piece)
    sample = list(firsts.values())[:composers]
    export = engraving = 0.0
    pages = 0
    for piece in sample:
        start = time.perf_counter()
        try:
            score = engrave.corpus_score(piece)
        except engrave.EngraveError:
            continue
        export += time.perf_counter() - start
        start = time.perf_counter()
        try:
            pages += len(engrave.engrave(score, piece=piece, max_pages=full.max_pages_per_piece))
        except engrave.EngraveError:
            pass
        engraving += time.perf_counter() - start
    n = len(dataset.capped(candidates, full.per_composer))
    return {"sample": sample, "export_s": export / len(sample),
            "engrave_s_per_font": engraving / len(sample), "pages_per_piece": pages / len(sample),
            "pieces": n if full.pieces is None else min(n, full.pieces)}


def full_forecast(piece: str) -> dict:
    """Hours of a full-scale run on this machine, by part (see the module docstring)."""
    from dlwild.deepscores.dataset import default_workers
    from dlwild.deepscores.settings import SETTINGS

    full = SETTINGS["full"]
    detector_s = full_step("detector", piece)
    classifier_s = full_step("classifier", piece)
    corpus = corpus_sample(full)
    classifier_steps = full.classifier_epochs * -(-full.classifier_classes
                                                  * full.patches_per_class // 64)
    per_piece = corpus["export_s"] + len(full.fonts) * corpus["engrave_s_per_font"]
    page = detector(full.detector_scale, piece, "full")
    test_pages = round(corpus["pieces"] * 0.25) * len(full.fonts) * corpus["pages_per_piece"]
    if full.detector_test_pages is not None:  # the detectors are evaluated on a sample
        test_pages = min(test_pages, full.detector_test_pages)
    parts = {
        "engraving": corpus["pieces"] * per_piece / min(default_workers(), 2),
        "detectors (joint + staged)": 2 * full.steps * detector_s,
        "classifier": classifier_steps * classifier_s,
        "detection on the test pages": 2 * test_pages * (page["forward_s"] + page["decode_s"]),
    }
    return {"detector_step_s": round(detector_s, 3), "classifier_step_s": round(classifier_s, 3),
            "pieces": corpus["pieces"], "fonts": len(full.fonts),
            "engraving_s_per_piece": round(per_piece, 1), "corpus_sample": corpus["sample"],
            "test_pages": round(test_pages), "detection_s_per_page": round(
                page["forward_s"] + page["decode_s"], 2),
            "detector_steps": 2 * full.steps, "classifier_steps": classifier_steps,
            "hours": {k: round(v / 3600, 2) for k, v in parts.items()},
            "total_hours": round(sum(parts.values()) / 3600, 2)}


def verovio_pages(pieces: list[str], full: bool) -> tuple[int, float]:
    """Pages and seconds to engrave ``pieces`` with Verovio (``full``: the chapter's path)."""
    from dlwild.deepscores import engrave

    scores = {p: engrave.corpus_score(p) for p in pieces}  # music21 export, not timed
    start, pages = time.perf_counter(), 0
    for piece, score in scores.items():
        if full:
            pages += len(engrave.engrave(score, piece=piece))
        else:
            pages += len(engrave.page_svgs(score, piece=piece))
    return pages, time.perf_counter() - start


def lilypond_pages(pieces: list[str]) -> tuple[int, float] | None:
    """Pages and seconds for LilyPond (musicxml2ly + lilypond --png) on the same MusicXML."""
    if not (shutil.which("lilypond") and shutil.which("musicxml2ly")):
        return None
    from dlwild.deepscores import engrave

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = []
        for i, piece in enumerate(pieces):
            path = folder / f"piece{i}.musicxml"
            path.write_text(engrave.corpus_score(piece))
            files.append(path)
        start = time.perf_counter()
        for path in files:
            subprocess.run(["musicxml2ly", "-o", str(path.with_suffix(".ly")), str(path)],
                           check=True, capture_output=True)
            subprocess.run(["lilypond", "--png", "-dresolution=170", "-o",
                            str(path.with_suffix("")), str(path.with_suffix(".ly"))],
                           check=True, capture_output=True, cwd=folder)
        seconds = time.perf_counter() - start
        pages = len(list(folder.glob("*.png")))
    return pages, seconds


def engraving_rounds(pieces: list[str], rounds: int) -> dict:
    """The chapter's engraving path and LilyPond on the same pieces, alternately ``rounds``
    times so that both see the same machine state: the median pages per second of each and
    the median of the rounds' ratios (LilyPond's entries None when it is not installed)."""
    verovio, lily, ratios = [], [], []
    for _ in range(rounds):
        n, s = verovio_pages(pieces, full=True)
        verovio.append(n / s)
        done = lilypond_pages(pieces)
        if done is not None:
            lily.append(done[0] / done[1])
            ratios.append(verovio[-1] / lily[-1])
    return {"verovio_full_pages_per_s": statistics.median(verovio),
            "lilypond_pages_per_s": statistics.median(lily) if lily else None,
            "engraving_ratio": statistics.median(ratios) if ratios else None,
            "engraving_ratios": ratios}


def detector(scale: float, piece: str, size: str = "quick") -> dict:
    """Forward and decoding time of the ``size``-scale detector on one page, in a
    subprocess."""
    done = subprocess.run([sys.executable, "-c", DETECTOR, str(scale), piece, size],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate rounds of Verovio and LilyPond (median ratio)")
    args = parser.parse_args()
    from dlwild.deepscores import engrave

    pieces = engrave.corpus_pieces("bach")[: args.pieces]
    results: dict = {"pieces": pieces}
    n, s = verovio_pages(pieces, full=False)
    results["verovio_svg_pages_per_s"] = n / s
    lily = engraving_rounds(pieces, args.rounds)
    results.update(lily)
    results["detector"] = [detector(scale, pieces[0]) for scale in (1.0, 0.5)]
    results["full_forecast"] = full_forecast(pieces[0])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "deepscores.json").write_text(json.dumps(results, indent=2))

    print(f"engraving {len(pieces)} pieces:")
    print(f"  Verovio SVG only            {results['verovio_svg_pages_per_s']:7.2f} pages/s")
    print(f"  Verovio + boxes, raster,    {results['verovio_full_pages_per_s']:7.2f} pages/s")
    if results["engraving_ratio"] is None:
        print("  LilyPond                     not installed (apt-get install lilypond)")
    else:
        rounds = ", ".join(f"{r:.2f}" for r in results["engraving_ratios"])
        print(f"  LilyPond (baseline)         {results['lilypond_pages_per_s']:7.2f} pages/s"
              f"   full Verovio path = {results['engraving_ratio']:.2f}x LilyPond, median "
              f"of {len(results['engraving_ratios'])} alternating rounds ({rounds}; "
              "target >= 5)")
    for row in results["detector"]:
        total = row["forward_s"] + row["decode_s"]
        print(f"detector at scale {row['scale']}: {row['pixels'] / 1e6:.2f} Mpx, forward "
              f"{row['forward_s']:.2f} s + decode {row['decode_s']:.2f} s = {total:.2f} s per "
              f"page (target < 10 s), peak {row['peak_rss_mb']:.0f} MB")
    forecast = results["full_forecast"]
    print(f"full-scale run forecast on this machine: {forecast['total_hours']:.1f} h")
    for part, hours in forecast["hours"].items():
        print(f"  {part:<28} {hours:7.2f} h")
    print(f"  (detector {forecast['detector_step_s']:.2f} s/step x {forecast['detector_steps']}, "
          f"classifier {forecast['classifier_step_s']:.2f} s/step x "
          f"{forecast['classifier_steps']}, {forecast['pieces']} pieces x "
          f"{forecast['fonts']} fonts engraved at {forecast['engraving_s_per_piece']} s per "
          "piece in all fonts, two processes)")


if __name__ == "__main__":
    main()
