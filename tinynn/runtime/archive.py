"""The tinynn file format, defined once: one ``.npz`` archive, written atomically, read safely.

    __config__            uint8 bytes of a UTF-8 JSON document: the format tag and version,
                          then whatever the writer records (the model config, compile
                          settings, random-generator states) and ``arrays``: the name, shape
                          and dtype of every array below
    weights/<i>           the i-th parameter of the model, layer by layer
    state/<layer>/<key>   non-trained arrays (BatchNormalization's moving statistics)
    optimizer/<i>/<key>   the optimizer's buffers for parameter i

The archive is a plain NumPy ``.npz`` (``np.load(path)`` opens it). Writing goes to a
temporary file in the same folder, which is flushed, synced and then renamed over the target,
so an interrupted save leaves the previous file whole. Reading never unpickles and trusts no
size it declares: ``ArchiveReader`` parses every ``.npy`` header itself, refuses object
dtypes, checks each declared shape against the bytes actually stored before allocating
anything, and bounds the file, the config and the number of members.

This module imports only NumPy and the standard library: the runtime ships it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np

FORMAT, FORMAT_VERSION = "tinynn.model", 1
CONFIG_KEY = "__config__"
MAX_FILE_BYTES = 1 << 30
MAX_CONFIG_BYTES = 1 << 24
MAX_MEMBERS = 10_000
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class ModelFileError(ValueError):
    """A model file that is corrupt, truncated, crafted, or inconsistent with its own config."""


def write_archive(path: str | os.PathLike, config: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Write ``config`` (with the format tag and an ``arrays`` manifest added) and ``arrays``
    to ``path``: a temporary file, fsync, then an atomic rename. If anything fails half-way
    (a full disk, an interrupt), the previous file at ``path`` is untouched and the temporary
    file is removed."""
    arrays = {key: np.asarray(value) for key, value in arrays.items()}
    manifest = [
        {"key": key, "shape": list(value.shape), "dtype": value.dtype.name}
        for key, value in arrays.items()
    ]
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **config, "arrays": manifest}
    arrays[CONFIG_KEY] = np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)
    write_atomic(os.fspath(path), lambda stream: np.savez(stream, **arrays))


def write_atomic(path: str | os.PathLike, write: Any) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets the mode a plain ``open()`` would give it under the user's umask.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=".tinynn-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)  # mkstemp makes the file private (0600); undo that
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def read_archive(
    path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES, select: Any = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked config and arrays of a tinynn file, or ``ModelFileError``.

    Reads the arrays the config's manifest lists (only those whose key ``select(key)`` accepts,
    if given) and checks each against its declared shape and dtype.
    """
    path = check_file(path, max_bytes)
    try:
        with zipfile.ZipFile(path) as archive:
            reader = ArchiveReader(archive, path, max_bytes)
            if CONFIG_KEY not in reader.members:
                raise ModelFileError(f"{path!r} has no {CONFIG_KEY!r} entry; not written by tinynn")
            config = decode_config(reader.array(CONFIG_KEY, "config"), path)
            manifest = {entry.get("key"): entry for entry in config["arrays"]}
            unlisted = sorted(set(reader.members) - set(manifest) - {CONFIG_KEY})
            if unlisted:
                raise ModelFileError(
                    f"{path!r} holds arrays its config does not list: {unlisted[:5]}"
                )
            wanted = [key for key in manifest if select is None or select(key)]
            arrays = {key: reader.array(key, "weight") for key in wanted}
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise ModelFileError(
            f"{path!r} is not a readable tinynn model file (corrupt or truncated): {error}"
        ) from None
    for key, array in arrays.items():
        entry = manifest[key]
        if list(array.shape) != entry.get("shape") or array.dtype.name != entry.get("dtype"):
            raise ModelFileError(
                f"{path!r}: array {key!r} has shape {array.shape} and dtype {array.dtype}; "
                f"the config declares {tuple(entry.get('shape') or ())} and {entry.get('dtype')}"
            )
    return config, arrays


def check_file(path: str | os.PathLike, max_bytes: int) -> str:
    """``path`` as a string after checking that it is a zip archive of at most max_bytes."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model file at {path!r}")
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ModelFileError(f"{path!r} is {size} bytes; the limit is max_bytes={max_bytes}")
    with open(path, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            raise ModelFileError(
                f"{path!r} is not a readable tinynn model file: it is not an .npz (zip) archive"
            )
    return path


def decode_config(raw: np.ndarray, path: str) -> dict[str, Any]:
    """The JSON config, checked for the format tag, the version and the array manifest."""
    try:
        config = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelFileError(f"{path!r} has an unreadable config: {error}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path!r} is not a tinynn model (the config lacks format {FORMAT!r})")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} has format version {config.get('format_version')!r}; "
            f"this tinynn reads version {FORMAT_VERSION}"
        )
    manifest = config.setdefault("arrays", [])
    if not isinstance(manifest, list) or not all(isinstance(e, dict) for e in manifest):
        raise ModelFileError(f"{path!r}: the config's array list is malformed")
    return config


class ArchiveReader:
    """Reads ``.npy`` members of the zip without trusting any size it declares."""

    def __init__(self, archive: zipfile.ZipFile, path: str, max_bytes: int) -> None:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"{path!r} holds {len(infos)} arrays; at most {MAX_MEMBERS}")
        total = sum(info.file_size for info in infos)
        if total > max_bytes:
            raise ModelFileError(
                f"{path!r} declares {total} bytes of arrays; the limit is max_bytes={max_bytes}"
            )
        self.archive, self.path = archive, path
        self.members = {info.filename.removesuffix(".npy"): info for info in infos}

    def array(self, key: str, kind: str) -> np.ndarray:
        """Member ``key`` as an array; kind "config" wants uint8, "weight" a float dtype
        (float32 or float64; float16 for weights stored at half precision)."""
        info = self.members.get(key)
        if info is None:
            raise ModelFileError(f"{self.path!r} is missing the array {key!r}")
        if kind == "config" and info.file_size > MAX_CONFIG_BYTES:
            raise ModelFileError(f"{self.path!r}: the config is over {MAX_CONFIG_BYTES} bytes")
        with self.archive.open(info) as stream:
            try:  # numpy parses the header dict with ast.literal_eval: never code
                version = np.lib.format.read_magic(stream)
                read_header = HEADER_READERS.get(version)
                if read_header is None:
                    raise ValueError(f".npy format version {version} is not supported")
                shape, fortran, dtype = read_header(stream)
            except (ValueError, TypeError, SyntaxError) as error:
                raise ModelFileError(f"{self.path!r}: array {key!r}: bad header: {error}") from None
            if kind == "config" and dtype != np.uint8:
                raise ModelFileError(f"{self.path!r}: the config has dtype {dtype}; expected uint8")
            if kind == "weight" and (dtype.kind != "f" or dtype.itemsize not in (2, 4, 8)):
                raise ModelFileError(  # this also refuses object arrays, i.e. pickles
                    f"{self.path!r}: array {key!r} has dtype {dtype}; expected float32 or float64 "
                    "(float16 in files exported with --quantize float16)"
                )
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes != info.file_size - stream.tell():
                raise ModelFileError(
                    f"{self.path!r}: array {key!r} declares shape {shape} ({nbytes} bytes) but "
                    f"holds {info.file_size - stream.tell()} bytes"
                )
            data = stream.read(nbytes)
            stream.read(1)  # reach the end, so zipfile verifies the CRC
        array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return array.astype(dtype.newbyteorder("="))
