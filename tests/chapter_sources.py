"""Tiny chapters shared by the runner, CLI and benchmark code: their declarations (on the
chapter contract, found through the notebook header's ``dlwild: {chapter: ...}``) and their
MyST sources. This folder is on the kernels' PYTHONPATH (conftest)."""

from dlwild.core.chapter import Chapter, Param, TryThis
from dlwild.core.claims import Claim

TINY = Chapter(
    name="tiny", title="A tiny chapter", topic="testing the book machine",
    summary="a chapter of a few lines", papers=("stadelmann2018wild",),
    params={"answer": Param(42, int, "the answer it reports", between=(0, 1000))},
    settings={"quick": {"size": 1}, "full": {"size": 10}},
)
TINY_CLAIMS = [Claim("answer", paper="stadelmann2018wild", source="made up for the tests",
                     metric="the answer", paper_value=42.0, fmt=".0f")]
PROBE = Chapter(
    name="probe", title="Probe: a tiny MNIST classifier", topic="testing the book machine",
    summary="an MLP on MNIST, against a made-up paper value", papers=("lecun1998gradient",),
    params={"train_size": Param(2000, int, "training images", between=(100, 60_000)),
            "epochs": Param(4, int, "training epochs", between=(1, 100))},
    settings={"quick": {}, "full": {}}, data=("mnist",),
    training_code=("dlwild.core.train",),
    goals=("train a small MLP on MNIST", "read a learning curve",
           "compare a measured accuracy with a published one"),
    prerequisites=("Python and a first course in machine learning",),
    try_this=(TryThis("epochs=8", watch="the learning curve",
                      expect="the validation loss flattens"),
              TryThis("seed=1", watch="the accuracy", expect="other last digits")),
)

def header(declaration: str, title: str) -> str:
    """A chapter notebook's jupytext header naming its declaration, then its title."""
    return ("---\njupytext:\n"
            "  text_representation: {extension: .md, format_name: myst, format_version: 0.13}\n"
            "kernelspec: {display_name: Python 3, language: python, name: python3}\n"
            f'dlwild: {{chapter: "{declaration}"}}\n---\n\n# {title}\n')


HEADER = header("chapter_sources:TINY", "A tiny chapter")
def parameters_cell(**own: object) -> str:
    """The parameters cell of a test chapter: the four common defaults, then its own."""
    knobs = {"scale": "quick", "seed": 0, "device": "auto", "data": "auto", **own}
    lines = "\n".join(f"{key} = {value!r}" for key, value in knobs.items())
    return f"\n```{{code-cell}} ipython3\n:tags: [parameters]\n{lines}\n```\n"


PARAMS = parameters_cell(answer=42)
FINISH = """
```{code-cell} ipython3
from chapter_sources import TINY, TINY_CLAIMS
from dlwild.core.claims import Measured
run = TINY.start(scale=scale, seed=seed, device=device, data=data, answer=answer)
run.compare(TINY_CLAIMS, {"answer": Measured(answer, "none", scale)})
run.finish({"answer": answer})
```
"""
TRAINS = """
```{code-cell} ipython3
from dlwild.core.train import progress_bar
for _ in progress_bar(range(3), desc="tiny training", miniters=1):
    pass
print("tiny chapter done", end="")
```
"""
BOOM = """
```{code-cell} ipython3
raise RuntimeError("boom in the chapter")
```
"""


def tiny(*cells: str) -> str:
    """A chapter made of the header, the parameters cell and ``cells``."""
    return HEADER + PARAMS + "".join(cells)


TINY_CHAPTER = tiny(FINISH)
TWIN = Chapter(**{**TINY.__dict__, "name": "twin", "title": "The tiny chapter's twin"})


def lingering(name: str, seconds: float) -> str:
    """A chapter (``name``: TINY or TWIN) that stays ``seconds`` between its start and its
    finish, so that runs side by side are seen to overlap in their records."""
    return (header(f"chapter_sources:{name}", f"A lingering chapter ({name})") + PARAMS
            + FINISH.replace("TINY,", f"{name} as TINY,").replace(
                "run.compare", f"import time\ntime.sleep({seconds})\nrun.compare"))
SEEDY = """
```{code-cell} ipython3
import numpy as np
from chapter_sources import TINY, TINY_CLAIMS
from dlwild.core.claims import Measured
run = TINY.start(scale=scale, seed=seed, device=device, data=data, answer=answer)
value = answer + float(np.random.default_rng(seed).normal())  # a result that moves with the seed
run.compare(TINY_CLAIMS, {"answer": Measured(value, "none", scale)})
run.finish({"answer": value})
```
"""
SEEDY_CHAPTER = tiny(SEEDY)
KILLS_ITS_WORKER = """
```{code-cell} ipython3
import os, pathlib, signal
marker = pathlib.Path(os.environ["DLWILD_RESULTS_DIR"]).parents[1] / f"killed-seed{seed}"
if seed == 1 and not marker.exists():  # the first attempt of seed 1 loses its worker
    marker.write_text("killed")
    os.kill(os.getppid(), signal.SIGKILL)
    os._exit(1)
```
"""
KILLED_CHAPTER = tiny(KILLS_ITS_WORKER, SEEDY)
TRAINS_A_NETWORK = """
```{code-cell} ipython3
import os
import torch
from chapter_sources import TINY, TINY_CLAIMS
from dlwild.core import train
from dlwild.core.chapter import training_data
from dlwild.core.claims import Measured
run = TINY.start(scale=scale, seed=seed, device=device, data=data, answer=answer)

def fit(model, checkpoint):  # a small regression whose weights move with the seed
    x = torch.randn(64, 3, generator=torch.Generator().manual_seed(seed))
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    history = train.fit(model, data, loss_fn=lambda m, b: ((m(b[0]) - b[1]) ** 2).mean(),
                        optimizer=lambda p: torch.optim.SGD(p, lr=0.05), epochs=2,
                        batch_size=16, seed=seed, checkpoint=checkpoint, progress=False)
    history.hardware = f"pid {os.getpid()}"  # where it trained
    return history

model, history = TINY.train_cached("regression", params={"epochs": 2},
                                   data=training_data("synthetic", "0" * 64), make=lambda:
                                   torch.nn.Linear(3, 1), fit=fit, seed=seed)
value = answer + float(model.weight.sum())
run.compare(TINY_CLAIMS, {"answer": Measured(value, "none", scale)})
run.finish({"answer": value, "trained_here": history.hardware == f"pid {os.getpid()}"})
```
"""
TRAINING_CHAPTER = tiny(TRAINS_A_NETWORK)
