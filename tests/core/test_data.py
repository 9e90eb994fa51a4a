"""Tests of the data layer: the registry (data set files: toml + tsv), fetch from
cache/mirror/download, checksums. The readers of file formats are in test_readers.py.

Everything runs against files and a local HTTP server the tests create in tmp; only
``test_real_mirror`` reads the real mirror, and only when ``$DLWILD_MIRROR`` points at one.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import re
import socket
import threading
import warnings
from pathlib import Path

import pytest

from dlwild.core import data, manifests, registry
from dlwild.core.data import (
    ChecksumError,
    Dataset,
    DataUnavailable,
    DataWarning,
    RemoteFile,
)
from dlwild.core.registry import RegistryError

#: The real mirror, if the environment points at one (read before the fixtures clear it).
REAL_MIRROR = os.environ.get("DLWILD_MIRROR")


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache, no mirror, online, no proxy for 127.0.0.1, an own registry copy."""
    monkeypatch.setenv("DLWILD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLWILD_MIRROR", raising=False)
    monkeypatch.delenv("DLWILD_OFFLINE", raising=False)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    data.names()  # load the built-in data sets before copying the registry
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(data, "_VERIFIED", {})
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 5.0)
    return tmp_path


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (body, mode)``; mode "cut" advertises the full
    Content-Length, sends half and closes the connection."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        entry = self.server.routes.get(self.path)
        if entry is None:
            self.send_error(404)
            return
        body, mode = entry
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class Server:
    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.routes = {}
        self.httpd.hits = []
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def hits(self) -> list[str]:
        return self.httpd.hits

    def serve(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.httpd.routes["/" + path] = (body, mode)
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


CONTENT = {
    "a.txt": b"alpha\n" * 100,
    "sub/b.bin": bytes(range(256)) * 40,
    "sub/c.bin": b"gamma" * 333,
}


def make_dataset(server: Server | None, contents=CONTENT, name: str = "toy") -> Dataset:
    """Register a small data set whose files the (optional) server serves."""
    base = server.base if server else "http://127.0.0.1:9/"
    files = []
    for path, body in contents.items():
        url = server.serve(f"{name}/{path}", body) if server else base + path
        files.append(RemoteFile(path, url, sha(body), len(body)))
    ds = Dataset(
        name=name,
        title="A toy data set",
        files=tuple(files),
        licence="CC0",
        citation="Nobody: Toys. 2024.",
        homepage="https://example.org/toy",
        folder=f"{name}_folder",
    )
    data.register(ds)
    return ds


def write_mirror(root: Path, ds: Dataset, contents=CONTENT) -> Path:
    """Lay the data set's files out like shared/data (``<root>/<folder>/<path>``)."""
    for path, body in contents.items():
        target = root / ds.folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
    return root


# --------------------------------------------------------------------------------------------
# registry


def test_builtin_registry_pins_the_six_mirror_sets():
    assert data.names() == sorted(
        [
            "librispeech_resemblyzer",
            "fsdd",
            "mnist",
            "cwru_bearing",
            "coil20_32x32_mat",
            "foolbox_samples",
        ]
    )
    counts = {n: len(data.get(n).files) for n in data.names()}
    assert counts == {
        "librispeech_resemblyzer": 252,
        "fsdd": 3000,
        "mnist": 4,
        "cwru_bearing": 10,
        "coil20_32x32_mat": 1,
        "foolbox_samples": 80,
    }
    libri = data.get("librispeech_resemblyzer")
    assert "librispeech_train-clean-100/SPEAKERS.TXT" in {f.path for f in libri.files}
    assert not any("LICENSE" in f.path for n in data.names() for f in data.get(n).files)
    assert libri.file("librispeech_train-clean-100/SPEAKERS.TXT").url == (
        "https://raw.githubusercontent.com/resemble-ai/Resemblyzer/"
        "15d828edebe06bc72b9cabc8ef8ca5ab2cb457ce/audio_data/librispeech_train-clean-100/"
        "SPEAKERS.TXT"
    )
    cwru = data.get("cwru_bearing").file("12k_Drive_End_OR007@6_0_130.mat")
    assert cwru.url.endswith(
        "b19e5a7e9fcd72b1c541f3c12fb42ac3fe94202f/12k_Drive_End_OR007%406_0_130.mat"
    )
    train = data.get("mnist").file("train-images-idx3-ubyte.gz")
    assert train == RemoteFile(
        "train-images-idx3-ubyte.gz",
        "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        9912422,
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47040016,
    )
    assert all(f.raw_sha256 for f in data.get("mnist").files)
    assert data.get("mnist").file("train-images-idx3-ubyte") is train  # extracted name works
    for name in data.names():
        ds = data.get(name)
        assert ds.licence and ds.citation and ds.homepage.startswith("http")
        assert all(f.url.startswith("https://") for f in ds.files)


def test_get_unknown_lists_known_names():
    with pytest.raises(KeyError) as info:
        data.get("imagenet")
    message = str(info.value)
    assert "imagenet" in message and "mnist" in message and "fsdd" in message


def test_register_refuses_a_different_duplicate():
    ds = make_dataset(None)
    assert data.register(ds) is ds  # the same again is fine
    other = Dataset(ds.name, "other", ds.files, ds.licence, ds.citation, ds.homepage, "x")
    with pytest.raises(ValueError, match="already registered"):
        data.register(other)
    assert data.register(other, replace=True) is other


def test_remote_file_validation():
    with pytest.raises(ValueError):
        RemoteFile("a", "u", "not-a-hash", 1)
    with pytest.raises(ValueError):
        RemoteFile("../a", "u", "0" * 64, 1)
    with pytest.raises(ValueError):
        RemoteFile("a.bin", "u", "0" * 64, 1, raw_sha256="1" * 64, raw_size=2)


def test_write_manifest_round_trip(tmp_path):
    folder = tmp_path / "set"
    (folder / "d").mkdir(parents=True)
    raw = b"hello " * 50
    payloads = {"d/x.bin": b"xx", "y.gz": gzip.compress(raw), "LICENSE.txt": b"MIT"}
    for rel, body in payloads.items():
        (folder / rel).write_bytes(body)
    (folder / "MANIFEST.sha256").write_text(
        "".join(f"{sha(b)}  {rel}\n" for rel, b in payloads.items())
    )
    out = tmp_path / "set.tsv"
    rows = data.write_manifest(folder, out)
    assert [r.path for r in rows] == ["d/x.bin", "y.gz"]  # LICENSE left out
    assert rows[1].raw_sha256 == sha(raw) and rows[1].raw_size == len(raw)
    assert manifests.parse_manifest(out.read_text(), "set.tsv") == rows
    (folder / "d/x.bin").write_bytes(b"xy")
    with pytest.raises(ChecksumError, match="d/x.bin"):
        data.write_manifest(folder, out)


# --------------------------------------------------------------------------------------------
# data set files (toml + tsv)

#: The six packaged data sets exactly as they were registered in Python code before they
#: became files (fingerprint() of each): moving them to toml changed no byte of them.
PINNED = {
    "coil20_32x32_mat": "1d1254b41c760c1a27004a7f66a20ac13414109a9f6e514e78c3bf0256508878",
    "cwru_bearing": "0efb73fe501ea6c0007ea3717793e05bbe8a0c9cbe2c10f8196df3be1f89d994",
    "foolbox_samples": "a8b5b94359ec5be42e6f5ef147b64ee81761945f9ebff52db0dfb823574d6afa",
    "fsdd": "7852f3c593439aff8928ba3585dddeb6056c199b147fd4ee432ba4fa6310a96f",
    "librispeech_resemblyzer": "9c3ed43adb91a381bb85f6cad669df9ece95b4753173bcf082f7972d320f1190",
    "mnist": "b0909518385ba27f8fd55fa20c2eb892058268eae5f5d62f4e7b23809928f701",
}


def fingerprint(ds: Dataset) -> str:
    lines = [ds.name, ds.title, ds.licence, ds.citation, ds.homepage, ds.folder]
    lines += [
        "\t".join(map(str, (f.path, f.url, f.sha256, f.size, f.raw_sha256, f.raw_size)))
        for f in ds.files
    ]
    return sha("\n".join(lines).encode())


def test_every_packaged_toml_loads_with_its_fields():
    folder = Path(str(registry.builtin_folder()))
    tomls = sorted(folder.glob("*.toml"))
    assert [p.stem for p in tomls] == data.names()  # the registry is exactly these files
    readers = {}
    for path in tomls:
        ds = registry.read_dataset(path)
        assert ds == data.get(path.stem)
        assert (folder / f"{ds.name}.tsv").is_file()  # its manifest beside it
        for value in (ds.title, ds.licence, ds.citation, ds.folder):
            assert value.strip() and "  " not in value and "\n" not in value, (ds.name, value)
        assert ds.homepage.startswith("http") and ds.files
        assert all(f.url.startswith("https://") for f in ds.files)
        readers[ds.name] = ds.reader
        assert fingerprint(ds) == PINNED[ds.name], f"{path.name} changed a pinned data set"
    assert readers["mnist"] == "load_mnist"
    assert not (folder.parent / "manifests").exists()


TOY_TOML = """\
name = "toyset"
title = "A toy data set from files"
licence = "CC0"
citation = "Nobody: Toys from files. 2024."
homepage = "https://example.org/toyset"
folder = "toyset_mirror"

[manifest]
file = "toyset.tsv"
url = "{base}"

[[files]]
path = "packed.bin.gz"
url = "{base}packed.bin.gz"
sha256 = "{gz_sha}"
size = {gz_size}
raw_sha256 = "{raw_sha}"
raw_size = {raw_size}
"""


def test_a_dataset_added_as_toml_and_tsv_is_fetched(tmp_path, monkeypatch, server):
    """No Python code: a toml and a manifest written by write_manifest from a mirror folder."""
    contents = {"a.txt": b"alpha\n" * 10, "sub/x y@1.bin": bytes(range(200))}
    raw = b"unpacked " * 30
    packed = gzip.compress(raw, mtime=0)
    mirror = tmp_path / "mirror"
    for rel, body in {**contents, "packed.bin": raw}.items():
        (mirror / "toyset_mirror" / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / "toyset_mirror" / rel).write_bytes(body)
    (mirror / "toyset_mirror/MANIFEST.sha256").write_text(
        "".join(f"{sha(b)}  {rel}\n" for rel, b in contents.items())
    )
    sets = tmp_path / "sets"
    sets.mkdir()
    data.write_manifest(mirror / "toyset_mirror", sets / "toyset.tsv")
    base = server.base + "toyset/"
    (sets / "toyset.toml").write_text(
        TOY_TOML.format(
            base=base, gz_sha=sha(packed), gz_size=len(packed), raw_sha=sha(raw), raw_size=len(raw)
        )
    )
    assert "toyset" not in data.names()
    (ds,) = registry.load_folder(sets)
    assert data.get("toyset") is ds and "toyset" in data.names()
    assert [f.path for f in ds.files] == ["a.txt", "sub/x y@1.bin", "packed.bin.gz"]
    assert ds.file("sub/x y@1.bin").url == base + "sub/x%20y%401.bin"
    assert ds.file("packed.bin") is ds.file("packed.bin.gz") and ds.reader is None

    monkeypatch.setenv("DLWILD_MIRROR", str(mirror))
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    got = data.fetch("toyset")
    assert set(got.origins.values()) == {"mirror"} and len(got) == 3
    assert got["sub/x y@1.bin"].read_bytes() == contents["sub/x y@1.bin"]
    assert got["packed.bin.gz"].read_bytes() == raw  # the extracted form, in place
    assert data.resolve("toyset", "real", "*.txt").record()["licence"] == "CC0"

    monkeypatch.delenv("DLWILD_MIRROR")
    monkeypatch.delenv("DLWILD_OFFLINE")
    for rel, body in {**contents, "packed.bin.gz": packed}.items():
        server.serve("toyset/" + rel.replace(" ", "%20").replace("@", "%40"), body)
    got = data.fetch("toyset")
    assert set(got.origins.values()) == {"download"}
    assert got["packed.bin.gz"].read_bytes() == packed
    assert registry.load_folder(sets) == [ds]  # loading the same again is fine


MALFORMED = {
    "missing sha256": (
        '[[files]]\npath = "a"\nurl = "https://e.org/a"\nsize = 1\n',
        "lacks required key(s) sha256",
    ),
    "unknown key": ('licenze = "CC0"\n', "unknown key(s) licenze"),
    "unknown file key": (
        '[[files]]\npath = "a"\nurl = "u"\nsha256 = "{h}"\nsize = 1\nmd5 = "x"\n',
        "unknown key(s) md5 in [[files]] entry 1",
    ),
    "bad sha256": (
        '[[files]]\npath = "a"\nurl = "u"\nsha256 = "ABC"\nsize = 1\n',
        "not a lowercase hex sha256",
    ),
    "size as text": (
        '[[files]]\npath = "a"\nurl = "u"\nsha256 = "{h}"\nsize = "1"\n',
        "'size' in [[files]] entry 1 must be an integer",
    ),
    "half raw": (
        '[[files]]\npath = "a.gz"\nurl = "u"\nsha256 = "{h}"\nsize = 1\nraw_size = 2\n',
        "both raw_sha256 and raw_size",
    ),
    "no manifest beside": ('[manifest]\nfile = "gone.tsv"\nurl = "u"\n', "'gone.tsv' is not"),
    "manifest elsewhere": ('[manifest]\nfile = "../x.tsv"\nurl = "u"\n', "file name beside"),
    "bad manifest row": ('[manifest]\nfile = "bad.tsv"\nurl = "u"\n', "bad.tsv:2: expected 3"),
    "no files": ("", "lists no files"),
    "a file twice": (
        '[[files]]\npath = "a"\nurl = "u"\nsha256 = "{h}"\nsize = 1\n' * 2,
        "lists 'a' twice",
    ),
    "unknown reader": ('reader = "read_everything"\n', "read_everything"),
    "not toml": ("[[files]\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_dataset_file_is_refused_naming_it(tmp_path, case):
    head = (
        'name = "broken"\ntitle = "t"\nlicence = "CC0"\ncitation = "c"\n'
        'homepage = "https://e.org"\nfolder = "broken"\n'
    )
    body, match = MALFORMED[case]
    body = body.replace("{h}", "0" * 64)
    text = head.replace('licence = "CC0"\n', "") + body if case == "unknown key" else head + body
    sets = tmp_path / "sets"
    sets.mkdir()
    (sets / "bad.tsv").write_text("# header\n" + "0" * 64 + "\t1\n")
    good = f'[[files]]\npath = "g"\nurl = "u"\nsha256 = "{"1" * 64}"\nsize = 2\n'
    (sets / "a_good.toml").write_text(head.replace("broken", "a_good") + good)
    path = sets / "broken.toml"
    path.write_text(text)
    before = data.names()
    with pytest.raises(RegistryError, match=re.escape(match)) as info:
        registry.load_folder(sets)
    assert str(path) in str(info.value) or "bad.tsv" in str(info.value), str(info.value)
    assert isinstance(info.value, data.DataError)  # the CLI reports it as one
    assert data.names() == before  # nothing of the folder was registered


def test_a_dataset_file_named_unlike_its_data_set_is_refused(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(
        'name = "toy2"\ntitle = "t"\nlicence = "l"\ncitation = "c"\nhomepage = "h"\n'
        'folder = "f"\n[[files]]\npath = "a"\nurl = "u"\nsize = 1\n'
        f'sha256 = "{"2" * 64}"\n'
    )
    with pytest.raises(RegistryError, match="differs from the file name 'other'") as info:
        registry.read_dataset(path)
    assert str(path) in str(info.value)


def test_an_explicit_file_must_agree_with_its_manifest_row(tmp_path):
    (tmp_path / "m.tsv").write_text(f"{'3' * 64}\t10\tx.bin\n")
    (tmp_path / "m.toml").write_text(
        'name = "m"\ntitle = "t"\nlicence = "l"\ncitation = "c"\nhomepage = "h"\n'
        'folder = "f"\n[manifest]\nfile = "m.tsv"\nurl = "https://e.org/"\n'
        f'[[files]]\npath = "x.bin.gz"\nurl = "u"\nsize = 4\nsha256 = "{"4" * 64}"\n'
        f'raw_sha256 = "{"3" * 64}"\nraw_size = 11\n'
    )
    with pytest.raises(RegistryError, match="'x.bin.gz' disagrees with the manifest row"):
        registry.read_dataset(tmp_path / "m.toml")


# --------------------------------------------------------------------------------------------
# fetch


def test_fetch_from_mirror_uses_files_in_place(tmp_path, monkeypatch):
    ds = make_dataset(None)
    root = write_mirror(tmp_path / "mirror", ds)
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    got = data.fetch("toy")
    assert set(got.origins.values()) == {"mirror"}
    assert got["sub/b.bin"] == (root / "toy_folder/sub/b.bin").resolve()
    assert got["sub/b.bin"].read_bytes() == CONTENT["sub/b.bin"]
    assert files_under(tmp_path / "home") == []  # nothing copied
    record = got.record()
    combined = hashlib.sha256(
        "".join(f"{p}\t{sha(CONTENT[p])}\n" for p in sorted(CONTENT)).encode()
    ).hexdigest()
    assert record["name"] == "toy" and record["files"] == 3
    assert record["bytes"] == sum(map(len, CONTENT.values()))
    assert record["sha256"] == combined
    assert record["origins"] == {"mirror": 3}
    assert record["licence"] == "CC0" and record["citation"].startswith("Nobody")

    calls = []
    real = data.sha256_file
    monkeypatch.setattr(data, "sha256_file", lambda p: calls.append(p) or real(p))
    data.fetch("toy")
    assert calls == []  # verification memoised by (path, size, mtime_ns)
    target = root / "toy_folder/a.txt"
    os.utime(target, ns=(1, 1))  # a touched file is hashed again
    data.fetch("toy", ["a.txt"])
    assert len(calls) == 1


def test_fetch_downloads_into_cache_then_reuses_it(server):
    make_dataset(server)
    got = data.fetch("toy", ["a.txt", "sub/*"])
    assert set(got.paths) == set(CONTENT)
    assert set(got.origins.values()) == {"download"}
    cache = data.cache_dir("toy")
    for path, body in CONTENT.items():
        assert got[path] == cache / path and got[path].read_bytes() == body
    assert len(server.hits) == 3
    again = data.fetch("toy")
    assert set(again.origins.values()) == {"cache"}
    assert len(server.hits) == 3  # no new requests
    assert again.record()["sha256"] == got.record()["sha256"]


def test_fetch_subset_by_pattern_and_unknown_file(server):
    make_dataset(server)
    got = data.fetch("toy", "sub/*")
    assert sorted(got.paths) == ["sub/b.bin", "sub/c.bin"]
    with pytest.raises(KeyError, match="no file"):
        data.fetch("toy", ["nope.txt"])
    with pytest.raises(KeyError, match="matches no file"):
        data.fetch("toy", ["*.wav"])


def test_mirror_checksum_mismatch_is_refused(tmp_path, monkeypatch, server):
    ds = make_dataset(server)
    root = write_mirror(tmp_path / "mirror", ds)
    bad = b"tampered"
    (root / "toy_folder/sub/c.bin").write_bytes(bad)
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    with pytest.raises(ChecksumError) as info:
        data.fetch("toy")
    message = str(info.value)
    assert "sub/c.bin" in message
    assert sha(CONTENT["sub/c.bin"]) in message and sha(bad) in message
    assert info.value.expected == sha(CONTENT["sub/c.bin"]) and info.value.actual == sha(bad)
    assert server.hits == []  # not silently skipped in favour of a download
    assert files_under(tmp_path / "home") == []
    ((name, n_ok, problems),) = data.verify("toy")
    assert (name, n_ok) == ("toy", 2)
    assert any("sub/c.bin" in p and sha(bad) in p for p in problems)


def test_download_checksum_mismatch_caches_nothing(server):
    make_dataset(server)
    wrong = b"not what was pinned"
    server.serve("toy/a.txt", wrong)
    with pytest.raises(ChecksumError) as info:
        data.fetch("toy", ["a.txt"])
    message = str(info.value)
    assert "a.txt" in message and sha(CONTENT["a.txt"]) in message and sha(wrong) in message
    assert files_under(data.cache_dir("toy")) == []


def test_interrupted_download_leaves_no_cache_entry(server):
    make_dataset(server)
    body = CONTENT["sub/b.bin"]
    server.serve("toy/sub/b.bin", body, mode="cut")
    with pytest.raises(DataUnavailable) as info:
        data.fetch("toy", ["sub/b.bin"])
    message = str(info.value)
    assert "sub/b.bin" in message and server.base in message
    assert "interrupted" in message and "Nothing of it was cached" in message
    assert files_under(data.cache_dir("toy")) == []  # no partial file, no temporary left
    assert data.resolve("toy", "auto", ["sub/b.bin"]) is None  # a network failure: fall back


def test_offline_with_nothing_says_how_to_get_it(tmp_path, monkeypatch):
    make_dataset(None)
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as info:
        data.fetch("toy")
    message = str(info.value)
    for expected in (
        "'toy'",
        "a.txt",
        "sub/b.bin",
        "sub/c.bin",
        "DLWILD_MIRROR",
        "toy_folder/",
        "DLWILD_OFFLINE",
        "https://example.org/toy",
        "3 of 3",
    ):
        assert expected in message, expected
    monkeypatch.setenv("DLWILD_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(DataUnavailable, match="has no toy_folder/ folder"):
        data.fetch("toy")


def test_unreachable_server_is_unavailable(monkeypatch):
    make_dataset(None)  # URLs point at 127.0.0.1:9 where nothing listens
    with pytest.raises(DataUnavailable, match="a.txt"):
        data.fetch("toy", ["a.txt"])


def test_resolve_modes(tmp_path, monkeypatch):
    ds = make_dataset(None)
    monkeypatch.setenv("DLWILD_OFFLINE", "1")

    def forbidden(*args, **kwargs):
        raise AssertionError("synthetic must not fetch")

    with monkeypatch.context() as patch:
        patch.setattr(data, "fetch", forbidden)
        assert data.resolve("toy", "synthetic") is None
    assert not (tmp_path / "home").exists()

    with pytest.raises(DataUnavailable):
        data.resolve("toy", "real")
    assert data.resolve("toy", "auto") is None

    root = write_mirror(tmp_path / "mirror", ds)
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    got = data.resolve("toy", "auto", ["a.txt"])
    assert got is not None and list(got.paths) == ["a.txt"]
    assert data.resolve("toy", "real") is not None

    (root / "toy_folder/a.txt").write_bytes(b"corrupt")
    with pytest.raises(ChecksumError):  # corrupt data never falls back to synthetic
        data.resolve("toy", "auto")

    with pytest.raises(ValueError) as info:
        data.resolve("toy", "fake")
    assert all(mode in str(info.value) for mode in ("auto", "real", "synthetic", "fake"))


def test_gz_file_or_its_extracted_form(tmp_path, monkeypatch, server):
    raw = bytes(range(24)) * 10
    packed = gzip.compress(raw, mtime=0)
    url = server.serve("gz/images.idx.gz", packed)
    remote = RemoteFile("images.idx.gz", url, sha(packed), len(packed), sha(raw), len(raw))
    ds = data.register(Dataset("gzset", "gz", (remote,), "CC0", "cite", "https://e.org", "gzf"))
    root = tmp_path / "mirror"
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    (root / "gzf").mkdir(parents=True)

    (root / "gzf/images.idx").write_bytes(raw)  # only the extracted file
    got = data.fetch(ds)
    assert got["images.idx.gz"].name == "images.idx" and got.origins["images.idx.gz"] == "mirror"
    assert got["images.idx"] == got["images.idx.gz"]
    assert got["images.idx.gz"].read_bytes() == raw
    assert (
        got.record()["sha256"]
        == hashlib.sha256(f"images.idx.gz\t{sha(packed)}\n".encode()).hexdigest()
    )

    (root / "gzf/images.idx").write_bytes(raw[:-1])  # a bad extracted copy is refused
    with pytest.raises(ChecksumError, match=sha(raw)):
        data.fetch(ds)

    (root / "gzf/images.idx").unlink()
    (root / "gzf/images.idx.gz").write_bytes(packed)  # only the .gz
    got = data.fetch(ds)
    assert got["images.idx.gz"].name == "images.idx.gz"
    assert gzip.decompress(got["images.idx.gz"].read_bytes()) == raw

    monkeypatch.delenv("DLWILD_MIRROR")
    monkeypatch.delenv("DLWILD_OFFLINE")
    got = data.fetch(ds)  # download gets the .gz itself
    assert got.origins["images.idx.gz"] == "download"
    assert got["images.idx.gz"] == data.cache_dir(ds) / "images.idx.gz"


def test_corrupt_cache_file_is_quarantined_and_fetched_again(server):
    make_dataset(server)
    cached = data.cache_dir("toy") / "a.txt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bit rot")
    with pytest.warns(DataWarning, match="corrupt") as record:
        got = data.fetch("toy", ["a.txt"])
    assert sha(b"bit rot") in str(record[0].message)
    assert got.origins["a.txt"] == "download"
    assert cached.read_bytes() == CONTENT["a.txt"]
    assert (cached.parent / "a.txt.corrupt").read_bytes() == b"bit rot"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert data.fetch("toy", ["a.txt"]).origins["a.txt"] == "cache"


def test_verify_and_status(tmp_path, monkeypatch, server):
    ds = make_dataset(server)
    (toy,) = data.status("toy")
    assert (toy["files"], toy["cache"], toy["mirror"], toy["missing"]) == (3, 0, 0, 3)
    ((_, n_ok, problems),) = data.verify("toy")
    assert n_ok == 0 and len(problems) == 1 and "3 of 3" in problems[0]

    data.fetch("toy", ["a.txt"])
    root = write_mirror(tmp_path / "mirror", ds, {"sub/b.bin": CONTENT["sub/b.bin"]})
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    (toy,) = data.status("toy")
    assert (toy["cache"], toy["mirror"], toy["missing"]) == (1, 1, 1)
    ((_, n_ok, problems),) = data.verify("toy")
    assert n_ok == 2 and len(problems) == 1 and "sub/c.bin" in problems[0]
    hits = len(server.hits)
    assert {row[0] for row in data.verify()} >= {"toy", "mnist"}
    assert len(server.hits) == hits  # verify never downloads
    assert {row["name"] for row in data.status()} >= {"toy", "mnist", "fsdd"}


# --------------------------------------------------------------------------------------------
# the real mirror (CI sets DLWILD_MIRROR)


@pytest.mark.skipif(not REAL_MIRROR, reason="DLWILD_MIRROR does not point at a real mirror")
def test_real_mirror_is_complete_and_valid(tmp_path, monkeypatch):
    root = Path(REAL_MIRROR).resolve()
    monkeypatch.setenv("DLWILD_MIRROR", str(root))
    monkeypatch.setenv("DLWILD_OFFLINE", "1")
    for name, n_ok, problems in data.verify():
        assert problems == [] and n_ok == len(data.get(name).files), (
            name,
            problems[:3],
        )
    for name in data.names():
        ds = data.get(name)
        got = data.fetch(name)
        assert set(got.origins.values()) == {"mirror"} and len(got) == len(ds.files)
        assert all(root / ds.folder in p.parents for p in got.paths.values())
        regenerated = data.write_manifest(root / ds.folder, tmp_path / f"{name}.tsv")
        assert regenerated == data.load_manifest(name), f"datasets/{name}.tsv is stale"
    assert files_under(tmp_path / "home") == []
