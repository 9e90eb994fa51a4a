"""The chapter contract: parameters validated in one place with clear messages, resolved
once, and one cached-training helper whose key holds the data a network learned from."""

from __future__ import annotations

import pytest
import torch

from dlwild.core import cache, config
from dlwild.core.chapter import COMMON, Chapter, Param, load, training_data
from dlwild.core.run import Run


def chapter(**kw) -> Chapter:
    base = dict(name="demo", title="Demo", summary="a test chapter", papers=("p",),
                params={"width": Param(8, int, "units", between=(1, 64)),
                        "rate": Param(0.5, float, between=(0.0, 1.0)),
                        "fonts": Param(None, list, items=str, optional=True),
                        "mode": Param("a", str, choices=("a", "b"))},
                settings={"quick": {"n": 1}, "full": {"n": 100}})
    base.update(kw)
    return Chapter(**base)


@pytest.mark.parametrize("given,message", [
    ({"width": 0}, r"width=0 is out of range: width must be int in \[1, 64\]"),
    ({"width": 2.5}, "width must be int"),
    ({"width": True}, "width must be int"),
    ({"rate": "high"}, "rate must be float"),
    ({"fonts": ["a", 3]}, "fonts must be a list of str"),
    ({"fonts": "Bravura"}, "fonts must be a list of str"),
    ({"mode": "c"}, "mode='c' is not one of 'a' | 'b'"),
    ({"width": None}, "width must be int in .* got None"),
    ({"scale": "huge"}, "scale='huge' is not one of 'quick' | 'full'"),
    ({"seed": -1}, "seed=-1 is out of range"),
    ({"data": "maybe"}, "data='maybe'"),
    ({"colour": "red"}, "chapter 'demo' has no parameter colour; it accepts: scale"),
])
def test_bad_values_are_refused_naming_what_is_accepted(given, message):
    with pytest.raises(config.ConfigError, match=message):
        chapter().validate(given)


def test_validation_fills_defaults_and_normalises_types():
    values = chapter().validate({"rate": 1, "fonts": ("x", "y"), "seed": 4})
    assert values == {"scale": "quick", "seed": 4, "device": "auto", "data": "auto",
                      "width": 8, "rate": 1.0, "fonts": ["x", "y"], "mode": "a"}
    assert isinstance(values["rate"], float)


def test_a_check_function_says_why():
    def even(v):
        if v % 2:
            raise ValueError("must be even")

    demo = chapter(params={"n": Param(2, int, check=even)})
    with pytest.raises(config.ConfigError, match="n=3: must be even"):
        demo.validate({"n": 3})


def test_declarations_are_checked_themselves():
    with pytest.raises(ValueError, match="redeclares common parameters"):
        chapter(params={"seed": Param(1, int)})
    with pytest.raises(ValueError, match="no settings for scale"):
        chapter(settings={"quick": {}})
    with pytest.raises(config.ConfigError, match="out of range"):
        chapter(params={"n": Param(0, int, between=(1, 2))})  # a default it refuses
    with pytest.raises(TypeError):
        Param(1, dict)


def test_a_protocol_parameter_selects_other_settings_than_the_scale():
    """A chapter's named protocols (e.g. the paper-sized run) replace the scale's settings
    when a run asks for one; "book" keeps the scale's; a declaration without the parameter
    that selects them is refused."""
    param = Param("book", str, choices=("book", "paper"))
    demo = chapter(params={"protocol": param}, protocols={"paper": {"n": 10_000}})
    asked = Run(demo, "full", 0, torch.device("cpu"), "auto", params={"protocol": "paper"})
    assert asked.settings == {"n": 10_000}
    book = Run(demo, "full", 0, torch.device("cpu"), "auto", params={"protocol": "book"})
    assert book.settings == {"n": 100}
    with pytest.raises(ValueError, match="needs a 'protocol' parameter"):
        chapter(protocols={"paper": {"n": 1}})


def test_a_chapter_may_honour_fewer_data_modes():
    demo = chapter(data_modes=("auto", "real"), data_help="no generator")
    with pytest.raises(config.ConfigError, match="data='synthetic' is not one of 'auto' | 'real'"):
        demo.validate({"data": "synthetic"})
    assert demo.parameters()["data"].help == "no generator"
    assert COMMON["data"].choices == config.DATA_MODES  # the common one is untouched


def test_the_notebook_must_hold_the_declared_parameters():
    demo = chapter()
    demo.check_notebook(demo.defaults())
    with pytest.raises(config.ConfigError, match=r"not declared: \['x'\]"):
        demo.check_notebook({**demo.defaults(), "x": 1})
    with pytest.raises(config.ConfigError, match=r"other default: \['width'\]"):
        demo.check_notebook({**demo.defaults(), "width": 9})


def test_start_seeds_once_and_resolves_the_device_once():
    run = chapter().start(seed=5, device="cpu", width=16)
    assert isinstance(run, Run) and run.device == torch.device("cpu")
    assert run.params == {"width": 16, "rate": 0.5, "fonts": None, "mode": "a"}
    assert run.settings == {"n": 1} and run.name == "demo"
    first = torch.rand(3)
    chapter().start(seed=5, device="cpu")
    assert torch.equal(first, torch.rand(3))
    if not torch.cuda.is_available():
        with pytest.raises(config.ConfigError, match="no CUDA GPU"):
            chapter().validate({"device": "cuda"})


def _fit_counter(calls):
    def fit(model, checkpoint):
        from dlwild.core.train import History

        calls.append(1)
        return History(epochs=[{"epoch": 1, "train_loss": 0.0, "seconds": 0.1}])
    return fit


def test_train_cached_keys_on_the_data_the_network_learned_from(tmp_path):
    demo = chapter(training_code=("dlwild.core.chapter",))
    store = cache.ArtifactCache(tmp_path)
    calls = []
    synthetic = training_data("synthetic", "a" * 64, corpus="voices")
    real = training_data("real", "b" * 64, corpus="librispeech")

    def train(data, seed=0):
        return demo.train_cached("net", params={"w": 1}, data=data,
                                 make=lambda: torch.nn.Linear(2, 2), fit=_fit_counter(calls),
                                 seed=seed, store=store)

    train(synthetic)
    train(synthetic)
    assert len(calls) == 1  # loaded the second time
    train(real)
    assert len(calls) == 2  # other data: trained afresh, never the synthetic network
    train(real, seed=1)
    assert len(calls) == 3  # another seed is another network, never seed 0's
    with pytest.raises(ValueError, match="params say seed 2, the training seed is 1"):
        demo.train_cached("net", params={"seed": 2}, data=real,
                          make=lambda: torch.nn.Linear(2, 2), fit=_fit_counter(calls), seed=1,
                          store=store)
    with pytest.raises(ValueError, match="training data as resolved"):
        demo.train_cached("net", params={}, data={"corpus": "librispeech"},
                          make=lambda: torch.nn.Linear(2, 2), fit=_fit_counter(calls), seed=0,
                          store=store)


def test_training_data_is_checked():
    with pytest.raises(ValueError, match="'real' or 'synthetic'"):
        training_data("auto", "a" * 64)
    with pytest.raises(ValueError, match="64 hex"):
        training_data("real", "abc")
    digest = cache.array_digest([torch.zeros(2, 3).numpy()])
    assert digest != cache.array_digest([torch.zeros(3, 2).numpy()])
    assert training_data("real", digest, n=3) == {"source": "real", "sha256": digest, "n": 3}


def test_declarations_are_found_by_convention_or_the_notebook_header():
    from dlwild.speakers.chapter import CHAPTER

    assert load("speakers") is CHAPTER
    assert load("tiny", {"dlwild": {"chapter": "chapter_sources:TINY"}}).name == "tiny"
    with pytest.raises(config.ConfigError, match="has no declaration"):
        load("nope")
    with pytest.raises(config.ConfigError, match="declares chapter 'tiny', not 'probe'"):
        load("probe", {"dlwild": {"chapter": "chapter_sources:TINY"}})
    with pytest.raises(config.ConfigError, match="is not a dlwild.core.chapter.Chapter"):
        load("tiny", {"dlwild": {"chapter": "chapter_sources:HEADER"}})


def test_the_shared_training_loop_is_part_of_every_chapters_training_code():
    from dlwild.core.chapter import CORE_TRAINING_CODE

    demo = chapter(training_code=("dlwild.core.chapter", "dlwild.core.train"))
    assert demo.training_modules()[:len(CORE_TRAINING_CODE)] == CORE_TRAINING_CODE
    assert demo.training_modules().count("dlwild.core.train") == 1
    assert "dlwild.core.checkpoint" in chapter().training_modules()


def test_a_check_raising_os_errors_is_a_clear_config_error():
    def exists(path):
        raise FileNotFoundError(f"{path} does not exist")

    demo = chapter(params={"pages": Param(None, str, optional=True, check=exists)})
    with pytest.raises(config.ConfigError, match="pages='/nope': /nope does not exist"):
        demo.validate({"pages": "/nope"})
