"""Tests for tinynn.datasets.idx: the IDX reader and the MNIST loaders.

No test touches the network: every download goes through a monkeypatched ``_fetch``.
"""

import gzip
import hashlib
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tinynn.datasets import idx, load_fashion_mnist, load_mnist, read_idx

DTYPE_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}
FILE_STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX: magic, dims, then big-endian values."""
    code = DTYPE_CODES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, payload: bytes) -> Path:
    path.write_bytes(payload)
    return path


def fake_mnist(n_train: int = 5, n_test: int = 3) -> dict[str, np.ndarray]:
    """Tiny MNIST-shaped arrays, keyed by file stem."""
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, stem in zip((x_train, y_train, x_test, y_test), FILE_STEMS, strict=True):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[stem])


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("dtype", list(DTYPE_CODES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 2)])
def test_round_trip_every_dtype(tmp_path, dtype, compressed, shape):
    rng = np.random.default_rng(1)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    else:
        array = rng.normal(0, 1e3, shape).astype(dtype)
    payload = idx_bytes(array)
    name = "data.idx.gz" if compressed else "data.idx"
    path = write(tmp_path / name, gzip.compress(payload) if compressed else payload)

    result = read_idx(path)
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    assert result.shape == shape
    assert result.flags.writeable
    np.testing.assert_array_equal(result, array)


def test_values_are_big_endian(tmp_path):
    payload = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    result = read_idx(write(tmp_path / "be.idx", payload))
    assert result.tolist() == [0x0102, -2]


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = write(tmp_path / "no-suffix", gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(str(path)), array)


def test_empty_dimension_is_allowed(tmp_path):
    result = read_idx(write(tmp_path / "empty.idx", idx_bytes(np.zeros((0, 28), np.uint8))))
    assert result.shape == (0, 28)


GOOD = idx_bytes(np.arange(12, dtype=np.int16).reshape(3, 4))


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", r"truncated IDX header: 0 bytes, need at least 4"),
        (b"\x00\x00\x08", r"truncated IDX header: 3 bytes"),
        (b"\x01\x00" + GOOD[2:], r"not an IDX file: magic .* 0x01 0x00, expected 0x00 0x00"),
        (b"PK\x03\x04" + GOOD[4:], r"not an IDX file"),
        (b"\x00\x00\x0a\x01" + GOOD[4:], r"unknown IDX dtype code 0x0A; expected one of"),
        (b"\x00\x00\x08\x00", r"implausible IDX ndim 0; expected 1\.\.32"),
        (b"\x00\x00\x08\xc8" + b"\x00" * 64, r"implausible IDX ndim 200"),
        (GOOD[:10], r"truncated IDX header: 10 bytes, but ndim=2 needs 12"),
        (GOOD[:-1], r"declares shape \(3, 4\) of int16 = 24 bytes .* only 23 bytes"),
        (GOOD + b"\x00\x00", r"24 bytes of data, but 26 bytes follow .*trailing"),
        (
            b"\x00\x00\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 16,
            r"shape \(4294967295, 4294967295\) .* only 16 bytes",
        ),
        (gzip.compress(GOOD)[:-12], r"corrupt or truncated gzip data"),
        (b"\x1f\x8b" + b"not really gzip", r"corrupt or truncated gzip data"),
    ],
    ids=[
        "empty",
        "short-header",
        "bad-magic",
        "zip-file",
        "bad-dtype",
        "ndim-zero",
        "ndim-absurd",
        "truncated-dims",
        "truncated-data",
        "trailing-bytes",
        "absurd-dims",
        "truncated-gzip",
        "fake-gzip",
    ],
)
def test_corrupt_files_raise_value_error_naming_the_file(tmp_path, payload, match):
    path = write(tmp_path / "broken-file.idx", payload)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert "broken-file.idx" in str(info.value)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# --------------------------------------------------------------------------- loaders


@pytest.fixture
def no_network(monkeypatch):
    """Fail loudly if anything tries to download."""

    def refuse(url):
        raise AssertionError(f"test tried to fetch {url}")

    monkeypatch.setattr(idx, "_fetch", refuse)


def test_load_from_folder_with_raw_and_gz_files(tmp_path, no_network):
    arrays = fake_mnist()
    for i, (stem, array) in enumerate(arrays.items()):
        if i % 2:
            write(tmp_path / f"{stem}.gz", gzip.compress(idx_bytes(array)))
        else:
            write(tmp_path / stem, idx_bytes(array))
    assert_loaded(load_mnist(path=tmp_path), arrays)
    assert_loaded(load_fashion_mnist(path=str(tmp_path), download=False), arrays)


def test_default_folder_comes_from_tinynn_data_at_call_time(tmp_path, monkeypatch, no_network):
    arrays = fake_mnist()
    for stem, array in arrays.items():
        (tmp_path / "fashion-mnist").mkdir(exist_ok=True)
        write(tmp_path / "fashion-mnist" / stem, idx_bytes(array))
    monkeypatch.setenv("TINYNN_DATA", str(tmp_path))
    assert_loaded(load_fashion_mnist(), arrays)


def test_default_folder_falls_back_to_home_cache(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("TINYNN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(download=False)
    assert str(tmp_path / ".cache" / "tinynn" / "mnist") in str(info.value)


def test_download_false_names_files_folder_and_mirror(tmp_path, no_network):
    arrays = fake_mnist()
    write(tmp_path / FILE_STEMS[0], idx_bytes(arrays[FILE_STEMS[0]]))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(path=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "download=False" in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message
    for stem in FILE_STEMS[1:]:
        assert f"{stem}.gz" in message
    assert FILE_STEMS[0] not in message  # present files are not listed


def install_fake_server(monkeypatch, name, arrays, fetched):
    """Serve gzipped fake files from ``_fetch`` and register their MD5s."""
    served = {}
    for stem, array in arrays.items():
        payload = gzip.compress(idx_bytes(array))
        served[idx._MIRRORS[name] + f"{stem}.gz"] = payload
        md5 = hashlib.md5(payload).hexdigest()
        monkeypatch.setitem(idx._MD5[name], f"{stem}.gz", md5)

    def fake_fetch(url):
        fetched.append(url)
        return served[url]

    monkeypatch.setattr(idx, "_fetch", fake_fetch)


@pytest.mark.parametrize(
    ("loader", "name"), [(load_mnist, "mnist"), (load_fashion_mnist, "fashion-mnist")]
)
def test_download_writes_verified_files_then_loads_them(tmp_path, monkeypatch, loader, name):
    arrays = fake_mnist()
    fetched = []
    install_fake_server(monkeypatch, name, arrays, fetched)
    folder = tmp_path / "new" / "folder"

    assert_loaded(loader(path=folder), arrays)
    assert sorted(fetched) == sorted(idx._MIRRORS[name] + f"{s}.gz" for s in FILE_STEMS)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{s}.gz" for s in FILE_STEMS)

    fetched.clear()
    assert_loaded(loader(path=folder), arrays)  # second call reads the cache
    assert fetched == []


def test_download_fetches_only_missing_files(tmp_path, monkeypatch):
    arrays = fake_mnist()
    write(tmp_path / FILE_STEMS[2], idx_bytes(arrays[FILE_STEMS[2]]))
    fetched = []
    install_fake_server(monkeypatch, "mnist", arrays, fetched)
    assert_loaded(load_mnist(path=tmp_path), arrays)
    assert len(fetched) == 3
    assert not any(FILE_STEMS[2] in url for url in fetched)


def test_checksum_failure_raises_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "_fetch", lambda url: b"corrupted download")
    with pytest.raises(
        ValueError, match=r"checksum mismatch .*train-images-idx3-ubyte\.gz"
    ) as info:
        load_mnist(path=tmp_path)
    bad_md5 = hashlib.md5(b"corrupted download").hexdigest()
    assert bad_md5 in str(info.value)
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_offline_raises_file_not_found_with_instructions(tmp_path, monkeypatch):
    def offline(url):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(idx, "_fetch", offline)
    folder = tmp_path / "fmnist"
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(path=folder)
    message = str(info.value)
    assert "download failed" in message and "name resolution" in message
    assert str(folder) in message
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in message
    for stem in FILE_STEMS:
        assert f"{stem}.gz" in message
    assert list(folder.iterdir()) == []  # no partial or temporary files


def test_mismatched_image_and_label_counts_raise(tmp_path, no_network):
    arrays = fake_mnist()
    arrays["t10k-labels-idx1-ubyte"] = arrays["t10k-labels-idx1-ubyte"][:-1]
    for stem, array in arrays.items():
        write(tmp_path / stem, idx_bytes(array))
    with pytest.raises(ValueError, match=r"t10k images have shape \(3, 28, 28\) and labels \(2,\)"):
        load_mnist(path=tmp_path)


def test_checksum_table_is_complete():
    for name in ("mnist", "fashion-mnist"):
        assert sorted(idx._MD5[name]) == sorted(f"{s}.gz" for s in FILE_STEMS)
        assert all(len(md5) == 32 for md5 in idx._MD5[name].values())
