"""The chapter contract: one declaration per chapter, read by the runner, the CLI and the
notebook, so every parameter is validated in one place and resolved once.

A chapter declares itself in ``dlwild/<name>/chapter.py`` as ``CHAPTER = Chapter(...)``: its
name, title, papers (BibTeX keys), its own parameters (:class:`Param`: type, choices, range,
default), its settings per scale, the registered data sets it reads and its training-code
modules (what its trained networks' artifact keys hash). The four parameters every chapter
has (``scale``, ``seed``, ``device``, ``data``) are declared here, once (:data:`COMMON`).
The notebook's first call, ``run = CHAPTER.start(scale=scale, ...)``, turns its parameters
cell into one validated, resolved :class:`~dlwild.core.run.Run`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlwild.core import config, tasks

if TYPE_CHECKING:  # pragma: no cover

    from dlwild.core.run import Run
    from dlwild.core.train import History

_KINDS = (bool, int, float, str, list)


@dataclass(frozen=True)
class Param:
    """One parameter: its default, its type (``bool``, ``int``, ``float``, ``str`` or
    ``list``), and what values it accepts (``choices``, a closed range ``between``, the type
    of a list's ``items``, ``optional`` for None, ``check`` for anything else: a function that
    raises ValueError with the reason)."""

    default: Any
    kind: type
    help: str = ""
    choices: tuple[Any, ...] | None = None
    between: tuple[float, float] | None = None
    items: type | None = None
    optional: bool = False
    check: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise TypeError(f"Param kind must be one of {_KINDS}, got {self.kind!r}")

    def describe(self) -> str:
        """What the parameter accepts, in words (for errors and the parameter tables)."""
        if self.choices is not None:
            what = " | ".join(repr(c) for c in self.choices)
        elif self.kind is list:
            what = f"a list of {self.items.__name__ if self.items else 'values'}"
        else:
            what = self.kind.__name__
            if self.between is not None:
                low, high = (int(b) if float(b).is_integer() else b for b in self.between)
                what += f" in [{low}, {high}]"
        return what + (" or None" if self.optional else "")

    def validate(self, name: str, value: Any) -> Any:
        """``value`` if this parameter accepts it (an int where a float is declared becomes a
        float, a tuple where a list is declared a list); else a ConfigError naming it."""
        if value is None:
            if self.optional:
                return None
            raise config.ConfigError(f"{name} must be {self.describe()}, got None")
        value = self._typed(name, value)
        if self.choices is not None and value not in self.choices:
            raise config.ConfigError(f"{name}={value!r} is not one of {self.describe()}")
        if self.between is not None and not self.between[0] <= value <= self.between[1]:
            raise config.ConfigError(f"{name}={value!r} is out of range: {name} must be "
                                     f"{self.describe()}")
        if self.check is not None:
            try:
                self.check(value)
            except (ValueError, TypeError, OSError) as exc:
                raise config.ConfigError(f"{name}={value!r}: {exc}") from exc
        return value

    def _typed(self, name: str, value: Any) -> Any:
        wrong = config.ConfigError(f"{name} must be {self.describe()}, got {value!r} "
                                   f"({type(value).__name__})")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise wrong
            return value
        if isinstance(value, bool):
            raise wrong
        if self.kind is float and isinstance(value, int):
            return float(value)
        if self.kind is list and isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, self.kind):
            raise wrong
        if self.kind is list and self.items is not None and not all(
                isinstance(v, self.items) and not isinstance(v, bool) for v in value):
            raise wrong
        return value


def _device_available(device: str) -> None:
    """Refuse ``cuda`` without a GPU before any work starts (resolution: Chapter.start)."""
    config.select_device(device)


#: The shared training loop's modules: part of every chapter's training code (what trained
#: networks depend on), whatever the chapter lists.
CORE_TRAINING_CODE = ("dlwild.core.train", "dlwild.core.batches", "dlwild.core.checkpoint",
                      "dlwild.core.fit_arguments", "dlwild.core.history")

#: The parameters every chapter has, declared once.
COMMON: dict[str, Param] = {
    "scale": Param("quick", str, "quick: minutes on a CPU; full: the faithful run",
                   choices=config.SCALES),
    "seed": Param(0, int, "the one seed of the run", between=(0, 2**32 - 1)),
    "device": Param("auto", str, "auto picks a GPU when torch sees one",
                    choices=config.DEVICES, check=_device_available),
    "data": Param("auto", str, "auto: real data when it can be had, else the generator "
                  "(with a banner); real: fail without it; synthetic: the generator",
                  choices=config.DATA_MODES),
}


@dataclass(frozen=True)
class TryThis:
    """A "try this" box for a course: which knob to turn (``change``, e.g.
    ``"segment_ms=100"``, checked against the chapter's parameters), what to ``watch`` on
    the page, and what a reader should ``expect``."""

    change: str
    watch: str
    expect: str

    @property
    def knob(self) -> str:
        """The parameter the box turns."""
        return self.change.partition("=")[0].strip()


@dataclass(frozen=True)
class Chapter:
    """A chapter's declaration (see the module docstring and ``WRITING_A_CHAPTER.md``)."""

    name: str
    title: str
    summary: str
    papers: tuple[str, ...]
    params: Mapping[str, Param]
    settings: Mapping[str, Any]
    data: tuple[str, ...] = ()
    training_code: tuple[str, ...] = ()
    topic: str = ""
    data_modes: tuple[str, ...] = config.DATA_MODES
    data_help: str = ""
    goals: tuple[str, ...] = ()
    prerequisites: tuple[str, ...] = ()
    try_this: tuple[TryThis, ...] = ()
    #: Settings a run selects with the chapter's ``protocol`` parameter instead of its
    #: scale's (e.g. the paper-sized run that a 2-core night cannot hold); "book": the scale's.
    protocols: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = sorted(set(self.params) & set(COMMON))
        if clash:
            raise ValueError(f"chapter {self.name!r} redeclares common parameters {clash}")
        if not set(self.data_modes) <= set(config.DATA_MODES) or "auto" not in self.data_modes:
            raise ValueError(f"chapter {self.name!r}: data_modes {self.data_modes} must include "
                             f"'auto' and come from {config.DATA_MODES}")
        missing = [s for s in config.SCALES if s not in self.settings]
        if missing:
            raise ValueError(f"chapter {self.name!r} has no settings for scale(s) {missing}")
        if self.protocols:
            choices = tuple(getattr(self.params.get("protocol"), "choices", None) or ())
            if set(choices) != {"book", *self.protocols}:
                raise ValueError(f"chapter {self.name!r} declares protocols "
                                 f"{sorted(self.protocols)}: it needs a 'protocol' parameter "
                                 f"with the choices 'book' and those")
        for key, param in self.params.items():
            param.validate(key, param.default)
        for box in self.try_this:
            self.try_value(box)

    def try_value(self, box: TryThis) -> Any:
        """The value a "try this" box sets, checked like a command-line ``-p`` value, so a
        box cannot suggest what the chapter refuses."""
        import yaml

        knob, _, raw = box.change.partition("=")
        if knob.strip() not in self.parameters() or not raw:
            raise ValueError(f"chapter {self.name!r}: try-this {box.change!r} is not "
                             "<parameter>=<value> of a declared parameter")
        return self.parameters()[knob.strip()].validate(knob.strip(), yaml.safe_load(raw))

    # parameters --------------------------------------------------------------
    def parameters(self) -> dict[str, Param]:
        """Every parameter of the chapter: the common four (``data`` limited to the modes
        the chapter honours), then its own."""
        common = dict(COMMON)
        if self.data_modes != config.DATA_MODES:
            common["data"] = replace(COMMON["data"], choices=self.data_modes,
                                     help=self.data_help or COMMON["data"].help)
        return {**common, **self.params}

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter (what the parameters cell must hold)."""
        return {key: param.default for key, param in self.parameters().items()}

    def validate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """All parameters with ``given`` applied and each one checked: an unknown name or a
        bad value is a ConfigError naming what the chapter accepts. The one validation of
        the contract: the runner calls it before a kernel starts, the notebook via start()."""
        known = self.parameters()
        unknown = sorted(set(given) - set(known))
        if unknown:
            accepted = ", ".join(f"{k} ({p.describe()})" for k, p in known.items())
            raise config.ConfigError(f"chapter {self.name!r} has no parameter "
                                     f"{', '.join(unknown)}; it accepts: {accepted}")
        values = {**self.defaults(), **given}
        return {key: param.validate(key, values[key]) for key, param in known.items()}

    def check_notebook(self, defaults: Mapping[str, Any]) -> None:
        """Refuse a parameters cell that disagrees with the declaration (names or defaults)."""
        declared = self.defaults()
        if dict(defaults) != declared:
            extra = sorted(set(defaults) - set(declared))
            lacking = sorted(set(declared) - set(defaults))
            differ = sorted(k for k in set(declared) & set(defaults)
                            if declared[k] != defaults[k])
            raise config.ConfigError(
                f"chapter {self.name!r}: the notebook's parameters cell disagrees with "
                f"its declaration (not declared: {extra}; missing: {lacking}; other default: "
                f"{differ})")

    # the run -----------------------------------------------------------------
    def start(self, **given: Any) -> Run:
        """Validate the parameters cell once, seed once, resolve the device once: the run
        object a notebook works with (``run.settings``, ``run.device``, ``run.params``)."""
        from dlwild.core import plots
        from dlwild.core.run import Run

        values = self.validate(given)
        config.seed_everything(values["seed"])
        plots.use_style()
        plots.attach_alt_text()
        return Run(self, scale=values["scale"], seed=values["seed"],
                   device=config.select_device(values["device"]), data=values["data"],
                   params={k: values[k] for k in self.params})

    def training_modules(self) -> tuple[str, ...]:
        """The modules trained networks depend on: the shared training loop's and the
        chapter's own (its ``training_code``)."""
        return tuple(dict.fromkeys((*CORE_TRAINING_CODE, *self.training_code)))

    def code_hash(self) -> str:
        """Hash of the chapter's training code (part of every artifact key)."""
        from dlwild.core import cache

        return cache.code_hash(*self.training_modules())

    def train_cached(self, network: str, *, params: Mapping[str, Any],
                     data: Mapping[str, Any], make: Callable[[], Any],
                     fit: Callable[[Any, Path], History], seed: int,
                     store: Any = None) -> tuple[Any, History]:
        """A network trained once, then loaded: artifact ``<chapter>-<network>`` keyed by the
        chapter's training code, ``params`` with the ``seed`` (another seed is another
        network), and ``data``, the training data *as resolved* (:func:`training_data`),
        never the name of the data asked for. In a sweep (:mod:`dlwild.core.tasks`) the
        network trains as a task of the sweep's cluster and is then loaded here."""
        from dlwild.core import train

        if not {"source", "sha256"} <= set(data):
            raise ValueError(f"{self.name}/{network}: the artifact key needs the training "
                             "data as resolved (dlwild.core.chapter.training_data)")
        if params.get("seed", seed) != seed:
            raise ValueError(f"{self.name}/{network}: params say seed {params['seed']}, the "
                             f"training seed is {seed}")
        parts = {"code": self.code_hash(), "params": {**params, "seed": seed},
                 "data": dict(data)}
        name = f"{self.name}-{network}"
        if tasks.scheduler_address() is not None:
            _train_on_the_cluster(name, parts, make, fit, seed, store)
        return train.cached_training(name, parts, make, fit, seed=seed, store=store)


def _train_on_the_cluster(name: str, parts: Mapping[str, Any], make: Callable[[], Any],
                          fit: Callable[[Any, Path], History], seed: int, store: Any) -> None:
    """Train ``name`` into the artifact cache as a task of the sweep's cluster (a worker that
    finds it there already loads nothing and returns), so that this process then loads it.
    The workers must share this process's artifact cache (``DLWILD_HOME``)."""
    from dlwild.core import cache

    tasks.run_one(_build_artifact, name, parts, make, fit, seed, store)
    store = store if store is not None else cache.ArtifactCache()
    if not store.exists(name, cache.parts_key(parts)):
        raise config.ConfigError(
            f"{name} was trained on a worker of {tasks.scheduler_address()} but is not in this "
            f"machine's artifact cache {store}: workers and runs must share DLWILD_HOME")


def _build_artifact(name: str, parts: Mapping[str, Any], make: Callable[[], Any],
                    fit: Callable[[Any, Path], History], seed: int, store: Any) -> None:
    """A worker's side of :func:`_train_on_the_cluster` (nothing travels back but success)."""
    from dlwild.core import train

    train.cached_training(name, parts, make, fit, seed=seed, store=store)


def training_data(source: str, sha256: str, **described: Any) -> dict[str, Any]:
    """What a network trained on, for its artifact key and provenance: ``source`` (real or
    synthetic) and the content hash of the training data as resolved (see
    :func:`dlwild.core.cache.array_digest`), plus any description (corpus, counts)."""
    if source not in ("real", "synthetic"):
        raise ValueError(f"training data source must be 'real' or 'synthetic', got {source!r}")
    if len(sha256) != 64:
        raise ValueError(f"training data sha256 must be 64 hex digits, got {sha256!r}")
    return {"source": source, "sha256": sha256, **described}


# --- finding declarations -----------------------------------------------------------------

def declaration_path(name: str, metadata: Mapping[str, Any] | None = None) -> str:
    """``module:attribute`` of a chapter's declaration: the notebook header's
    ``dlwild: {chapter: ...}`` if set, else ``dlwild.<name>.chapter:CHAPTER``."""
    given = ((metadata or {}).get("dlwild") or {}).get("chapter")
    return given or f"dlwild.{name}.chapter:CHAPTER"


def load(name: str, metadata: Mapping[str, Any] | None = None) -> Chapter:
    """The declaration of chapter ``name``; a missing or wrong one is a ConfigError."""
    where = declaration_path(name, metadata)
    module_name, _, attribute = where.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise config.ConfigError(f"chapter {name!r} has no declaration: cannot import "
                                 f"{module_name} ({exc})") from exc
    declared = getattr(module, attribute or "CHAPTER", None)
    if not isinstance(declared, Chapter):
        raise config.ConfigError(f"{where} is not a dlwild.core.chapter.Chapter")
    if declared.name != name:
        raise config.ConfigError(f"{where} declares chapter {declared.name!r}, not {name!r}")
    return declared
