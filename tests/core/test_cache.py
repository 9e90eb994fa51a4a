"""Tests of dlwild.core.cache: keys, atomic saves, refusal of mismatching artifacts."""

from __future__ import annotations

import errno
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from dlwild.core import cache as cache_mod
from dlwild.core.cache import (
    ArtifactCache,
    ArtifactMismatch,
    ArtifactWriteError,
    artifact_key,
    code_hash,
    load_torch_state,
    save_torch_state,
)

PARTS = {"code": "c0de", "params": {"lr": 0.1, "epochs": 3}, "data": {"name": "toy", "n": 10}}


def key_of(parts: dict) -> str:
    return artifact_key(code=parts["code"], params=parts["params"], data=parts["data"])


def write_text(text: str):
    def write(folder: Path) -> None:
        (folder / "payload.txt").write_text(text)
        (folder / "sub").mkdir()
        (folder / "sub" / "extra.bin").write_bytes(b"\x00\x01")

    return write


def read_text(folder: Path) -> str:
    return (folder / "payload.txt").read_text()


def temp_dirs(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


@pytest.fixture
def store(tmp_path: Path) -> ArtifactCache:
    return ArtifactCache(tmp_path / "artifacts")


def test_default_root_follows_dlwild_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DLWILD_HOME", str(tmp_path / "h"))
    assert ArtifactCache().root == tmp_path / "h" / "artifacts"


def test_round_trip_and_meta(store):
    key = key_of(PARTS)
    path = store.save("model", key, write_text("hello"), PARTS)
    assert path == store.root / "model" / key
    assert store.load("model", key, read_text) == "hello"
    meta = json.loads((path / "meta.json").read_text())
    assert meta["name"] == "model" and meta["key"] == key
    assert meta["parts"] == PARTS
    assert meta["dlwild_version"] and meta["created"]
    assert meta["files"]["payload.txt"]["size"] == 5
    assert set(meta["files"]) == {"payload.txt", "sub/extra.bin"}
    assert store.check(path, key)["key"] == key
    assert temp_dirs(store.root) == []


def test_load_absent_returns_none(store):
    assert store.load("model", key_of(PARTS), read_text) is None


def test_keys_differ_by_code_params_data():
    base = key_of(PARTS)
    assert key_of(PARTS) == base
    assert key_of({**PARTS, "code": "other"}) != base
    assert key_of({**PARTS, "params": {"lr": 0.2, "epochs": 3}}) != base
    assert key_of({**PARTS, "data": {"name": "toy", "n": 11}}) != base
    assert key_of({**PARTS, "data": "toy-v2"}) != key_of({**PARTS, "data": None})
    # key order does not matter
    assert key_of({**PARTS, "params": {"epochs": 3, "lr": 0.1}}) == base


def test_key_handles_numpy_paths_tuples():
    params = {
        "a": np.float32(0.5),
        "b": np.int64(3),
        "arr": np.arange(6).reshape(2, 3),
        "p": Path("x/y"),
        "t": (1, 2),
    }
    k1 = artifact_key(code="c", params=params, data=None)
    same = {**params, "a": 0.5, "b": 3, "p": "x/y", "t": [1, 2], "arr": np.arange(6).reshape(2, 3)}
    assert artifact_key(code="c", params=same, data=None) == k1
    changed = {**params, "arr": np.arange(6).reshape(3, 2)}
    assert artifact_key(code="c", params=changed, data=None) != k1


def test_key_rejects_unjsonable():
    with pytest.raises(TypeError, match="params.f.*not JSON-able"):
        artifact_key(code="c", params={"f": object()}, data=None)


def test_tampered_payload_is_refused(store):
    key = key_of(PARTS)
    path = store.save("model", key, write_text("hello"), PARTS)
    (path / "payload.txt").write_text("HELLO")  # same size, other content
    with pytest.raises(ArtifactMismatch, match="payload.txt sha256"):
        store.load("model", key, read_text)
    (path / "payload.txt").write_text("hello!")
    with pytest.raises(ArtifactMismatch, match="payload.txt has 6 bytes"):
        store.load("model", key, read_text)


def test_tampered_meta_key_is_refused(store):
    key = key_of(PARTS)
    path = store.save("model", key, write_text("hello"), PARTS)
    meta = json.loads((path / "meta.json").read_text())
    meta["key"] = "0" * 64
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactMismatch, match="key differs"):
        store.load("model", key, read_text)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "extra", "gone"])
def test_damaged_artifact_is_refused(store, damage):
    key = key_of(PARTS)
    path = store.save("model", key, write_text("hello"), PARTS)
    if damage == "missing":
        (path / "meta.json").unlink()
    elif damage == "corrupt":
        (path / "meta.json").write_text("{not json")
    elif damage == "extra":
        (path / "intruder.txt").write_text("x")
    else:
        (path / "sub" / "extra.bin").unlink()
    with pytest.raises(ArtifactMismatch, match="model"):
        store.load("model", key, read_text)


def test_check_foreign_artifact(store, tmp_path):
    key = key_of(PARTS)
    path = store.save("model", key, write_text("hello"), PARTS)
    assert store.check(path, key)["name"] == "model"
    with pytest.raises(ArtifactMismatch, match="key differs"):
        store.check(path, key_of({**PARTS, "code": "new"}))
    bare = tmp_path / "downloaded"
    bare.mkdir()
    (bare / "weights.pt").write_bytes(b"w")
    with pytest.raises(ArtifactMismatch, match="meta.json is missing"):
        store.check(bare, key)


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_enospc_in_writer_keeps_previous(store):
    key = key_of(PARTS)
    store.save("model", key, write_text("good"), PARTS)

    def failing(folder: Path) -> None:
        (folder / "payload.txt").write_text("half")
        enospc()

    with pytest.raises(ArtifactWriteError) as info:
        store.save("model", key, failing, PARTS)
    message = str(info.value)
    assert "No space left on device" in message and "'model'" in message
    assert str(store.root / "model" / key) in message and "writing the payload" in message
    assert isinstance(info.value.__cause__, OSError)
    assert temp_dirs(store.root) == []
    assert store.load("model", key, read_text) == "good"


def test_enospc_on_meta_write(store, monkeypatch):
    key = key_of(PARTS)
    monkeypatch.setattr(cache_mod, "atomic_write_text", enospc)
    with pytest.raises(ArtifactWriteError, match="meta.json.*No space left"):
        store.save("model", key, write_text("x"), PARTS)
    assert temp_dirs(store.root) == []
    assert store.load("model", key, read_text) is None


def test_failed_rename_restores_previous(store, monkeypatch):
    key = key_of(PARTS)
    store.save("model", key, write_text("old"), PARTS)
    real_rename = cache_mod.os.rename
    calls = []

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:  # new -> target, after the old one was moved aside
            enospc()
        return real_rename(src, dst)

    monkeypatch.setattr(cache_mod.os, "rename", flaky)
    with pytest.raises(ArtifactWriteError, match="moving the artifact"):
        store.save("model", key, write_text("new"), PARTS)
    monkeypatch.undo()
    assert temp_dirs(store.root) == []
    assert store.load("model", key, read_text) == "old"


def test_replacing_existing_key(store):
    key = key_of(PARTS)
    store.save("model", key, write_text("old"), PARTS)
    store.save("model", key, write_text("new"), PARTS)
    assert store.load("model", key, read_text) == "new"
    assert temp_dirs(store.root) == []


def test_get_or_create_builds_once(store):
    built = []

    def build() -> str:
        built.append(1)
        return "value"

    def write(value: str, folder: Path) -> None:
        (folder / "payload.txt").write_text(value)

    for _ in range(3):
        assert store.get_or_create("thing", PARTS, build, write, read_text) == "value"
    assert len(built) == 1
    other = {**PARTS, "params": {"lr": 1.0}}
    assert store.get_or_create("thing", other, build, write, read_text) == "value"
    assert len(built) == 2


def test_get_or_create_refuses_mismatch(store):
    key = key_of(PARTS)
    path = store.save("thing", key, write_text("v"), PARTS)
    (path / "payload.txt").write_text("w")
    with pytest.raises(ArtifactMismatch):
        store.get_or_create("thing", PARTS, lambda: "v", lambda v, f: None, read_text)


def test_bad_names_rejected(store):
    with pytest.raises(ValueError):
        store.path("../evil", "k")
    with pytest.raises(ValueError):
        store.path("model", ".tmp-x")


def test_code_hash_changes_with_source(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "dlwild_probe_pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("def f():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    try:
        first = code_hash("dlwild_probe_pkg")
        assert first == code_hash(importlib.import_module("dlwild_probe_pkg"))
        mod_hash = code_hash("dlwild_probe_pkg.sub.mod")
        (pkg / "sub" / "mod.py").write_text("def f():\n    return 2\n")
        assert code_hash("dlwild_probe_pkg") != first
        assert code_hash("dlwild_probe_pkg.sub.mod") != mod_hash
        (pkg / "sub" / "mod.py").write_text("def f():\n    return 1\n")
        assert code_hash("dlwild_probe_pkg") == first
        (pkg / "new.py").write_text("")
        assert code_hash("dlwild_probe_pkg") != first
        assert code_hash("dlwild_probe_pkg", "dlwild_probe_pkg.sub.mod") != first
    finally:
        for name in [n for n in sys.modules if n.startswith("dlwild_probe_pkg")]:
            del sys.modules[name]


def test_code_hash_of_dlwild_is_stable():
    assert code_hash("dlwild.core") == code_hash("dlwild.core")
    with pytest.raises(ValueError):
        code_hash()


def test_torch_state_round_trip(store, tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    parts = {**PARTS, "code": "torch"}
    key = key_of(parts)
    store.save("net", key, lambda folder: save_torch_state(model, folder / "model.pt"), parts)
    state = store.load("net", key, lambda folder: load_torch_state(folder / "model.pt"))
    assert set(state) == {"weight", "bias"}
    assert torch.equal(state["weight"], model.weight.detach())
    # weights_only refuses arbitrary pickled objects
    evil = tmp_path / "evil.pt"
    torch.save({"obj": _Opaque()}, evil)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_torch_state(evil)


class _Opaque:
    pass


def test_save_rejects_unjsonable_parts_before_writing(store):
    with pytest.raises(TypeError, match="not JSON-able"):
        store.save("model", "k" * 64, write_text("x"), {**PARTS, "params": {"f": object()}})
    assert not (store.root / "model").exists()
