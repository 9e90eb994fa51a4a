"""One look for every figure of the book: opaque backgrounds (readable in dark mode),
a colour-blind-safe palette, and the shared figure helpers (learning curves)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

#: Okabe-Ito, readable for colour-blind readers and on both light and dark pages.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "figure.figsize": (7.0, 4.0),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "font.size": 11,
    "legend.frameon": False,
    "text.color": "#222222",
    "axes.labelcolor": "#222222",
    "xtick.color": "#222222",
    "ytick.color": "#222222",
}


def use_style() -> None:
    """Apply the book's style to matplotlib and seaborn (call once per chapter)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE)
    plt.rcParams.update(STYLE)


ALT_ATTRIBUTE = "_dlwild_alt"


def set_alt(fig: Any, text: str) -> Any:
    """Give ``fig`` the sentence a screen reader (and the page's image) says for it, when
    :func:`describe` would not say enough; returns the figure."""
    setattr(fig, ALT_ATTRIBUTE, text)
    return fig


def describe(fig: Any) -> str:
    """A sentence saying what ``fig`` shows, for its alt text: the one :func:`set_alt` gave,
    else built from its title and each panel's title and axes ("Learning curves. Panels:
    Loss (epoch against loss); ...")."""
    given = getattr(fig, ALT_ATTRIBUTE, None)
    if given:
        return given
    title = fig._suptitle.get_text().strip() if getattr(fig, "_suptitle", None) else ""
    panels = []
    for ax in fig.get_axes():
        if not ax.get_visible() or not (ax.has_data() or ax.images):
            continue
        name = " ".join(ax.get_title().split()) or "a panel"
        x, y = ax.get_xlabel().strip(), ax.get_ylabel().strip()
        axes = f" ({x or 'x'} against {y or 'y'})" if x or y else ""
        panels.append(name + axes)
    if not panels:
        return title or "A figure."
    lead = f"{title}. " if title else ""
    what = "Panel" if len(panels) == 1 else f"{len(panels)} panels"
    return f"{lead}{what}: " + "; ".join(panels) + "."


def _wrap_png_printer(shell: Any) -> None:
    """Make the PNG printer of matplotlib figures add the figure's alt text (once)."""
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    try:
        draw = png.lookup_by_type(Figure)
    except KeyError:  # the inline backend has not set its printers yet
        return
    if getattr(draw, "_dlwild_alt", False):
        return

    def with_alt(fig: Figure):
        data = draw(fig)
        return (data, {"alt": describe(fig)}) if data is not None else None

    with_alt._dlwild_alt = True
    png.for_type(Figure, with_alt)


def attach_alt_text() -> None:
    """In a notebook, make every displayed matplotlib figure carry its alt text
    (:func:`describe`) in its PNG output's metadata, which the book's Sphinx extension
    ``dlwild.sphinx_alt`` puts on the page's image; outside IPython, nothing. The inline
    backend may set its printers only after the cell that first imports it, so the wrap is
    checked again before every cell."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    plt.close(plt.figure())  # a first figure loads the backend, which sets its printers
    _wrap_png_printer(shell)
    if not getattr(shell, "_dlwild_alt_hook", False):
        shell.events.register("pre_run_cell", lambda *_: _wrap_png_printer(shell))
        shell._dlwild_alt_hook = True


def figure(nrows: int = 1, ncols: int = 1, **kwargs: Any):
    """``plt.subplots`` in the book's style (opaque white background, constrained layout)."""
    use_style()
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, **kwargs)


def learning_curves(history: Any, *, title: str | None = None, metrics: list[str] | None = None,
                    held_out: str = "val", metrics_title: str = "Validation metrics"):
    """Plot training (and validation) loss per epoch, plus any extra metrics on a second panel.

    ``history`` is a :class:`dlwild.core.train.History` or a DataFrame with an ``epoch`` column.
    ``held_out`` names the held-out data in the legends (e.g. ``"test"`` for curves on test data
    that select nothing), ``metrics_title`` the second panel. Returns the matplotlib Figure."""

    def label(column: str) -> str:
        text = column.replace("_", " ")
        return f"{held_out} {text[4:]}" if text.startswith("val ") else text

    frame = history if isinstance(history, pd.DataFrame) else history.to_frame()
    if "epoch" not in frame.columns and frame.index.name == "epoch":
        frame = frame.reset_index()
    if frame.empty or "epoch" not in frame:
        raise ValueError("learning_curves needs a history with at least one epoch")
    losses = [c for c in ("train_loss", "val_loss") if c in frame]
    skip = {"epoch", "seconds", "lr", *losses}
    extra = metrics if metrics is not None else [
        c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])
    ]
    fig, axes = figure(1, 2 if extra else 1, figsize=(10 if extra else 6, 3.6), squeeze=False)
    ax = axes[0, 0]
    for column in losses:
        ax.plot(frame["epoch"], frame[column], marker="o", ms=3, label=label(column))
    best = getattr(history, "best_epoch", None)
    if best is not None:
        ax.axvline(best, color="#888888", ls="--", lw=1, label=f"best epoch ({best})")
    ax.set(xlabel="epoch", ylabel="loss", title=title or "Learning curve")
    ax.legend()
    if extra:
        ax2 = axes[0, 1]
        for column in extra:
            ax2.plot(frame["epoch"], frame[column], marker="o", ms=3, label=label(column))
        ax2.set(xlabel="epoch", ylabel="value", title=metrics_title)
        ax2.legend()
    return fig
