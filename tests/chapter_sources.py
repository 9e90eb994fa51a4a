"""Tiny chapter sources shared by the runner, CLI and benchmark code."""

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

# A tiny chapter
"""
PARAMS = """
```{code-cell} ipython3
:tags: [parameters]
scale = "quick"
seed = 0
device = "auto"
data = "auto"
answer = 42
```
"""
FINISH = """
```{code-cell} ipython3
from dlwild.core import report
run = report.Run("tiny", scale=scale, seed=seed, device=device, data=data,
                 params={"answer": answer})
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
