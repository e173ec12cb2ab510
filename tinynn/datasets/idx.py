"""Read IDX files, and load MNIST / Fashion-MNIST from them (downloading if asked).

IDX is the tiny binary format MNIST ships in (http://yann.lecun.com/exdb/mnist/)::

    bytes 0-1   0x00 0x00                  magic
    byte  2     dtype code                 0x08 uint8, 0x09 int8, 0x0B int16,
                                           0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim                       number of dimensions
    4 * ndim    big-endian uint32 sizes    one per dimension
    rest        the values, big-endian, C (row-major) order

Files may be stored raw or gzip-compressed; ``read_idx`` tells them apart by their
first bytes, not by their name.

Downloads go through the private ``_fetch(url) -> bytes`` so tests can replace it
with ``monkeypatch`` and never touch the network.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

# dtype code -> big-endian NumPy dtype of the stored values.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# The format allows up to 255 dimensions; more than NumPy's classic limit of 32 can
# only come from a damaged or non-IDX file.
_MAX_NDIM = 32
_GZIP_MAGIC = b"\x1f\x8b"

# The four standard file names, in the order load_* returns their arrays.
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Mirrors and MD5 checksums of the .gz files, as listed by torchvision.datasets.
_MIRRORS: dict[str, str] = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed) into a NumPy array.

    Args:
        path: the file to read.

    Returns:
        array of shape (d0, d1, ..., d_{ndim-1}) as declared in the header, in native
        byte order, with the dtype given by the header's dtype code (uint8 for MNIST).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not valid IDX (wrong magic, unknown dtype code,
            implausible ndim, truncated header or data, or extra trailing bytes).
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({err})") from err

    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX header: {len(data)} bytes, need at least 4")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: magic starts with bytes "
            f"0x{data[0]:02x} 0x{data[1]:02x}, expected 0x00 0x00"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in _IDX_DTYPES.items())
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}; expected one of {known}")
    if not 1 <= ndim <= _MAX_NDIM:
        raise ValueError(f"{path}: implausible IDX ndim {ndim}; expected 1..{_MAX_NDIM}")

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path}: truncated IDX header: {len(data)} bytes, but ndim={ndim} needs {header_size}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))

    dtype = _IDX_DTYPES[code]
    # math.prod works on Python ints, which cannot overflow: absurd dims give an
    # honest (huge) byte count instead of a wrapped-around small one.
    n_values = math.prod(shape)
    declared = n_values * dtype.itemsize
    available = len(data) - header_size
    if declared > available:
        raise ValueError(
            f"{path}: IDX header declares shape {shape} of {dtype.name} = {declared} bytes "
            f"of data, but only {available} bytes follow the header (truncated file?)"
        )
    if declared < available:
        raise ValueError(
            f"{path}: IDX header declares shape {shape} of {dtype.name} = {declared} bytes "
            f"of data, but {available} bytes follow the header (trailing garbage?)"
        )

    values = np.frombuffer(data, dtype=dtype, count=n_values, offset=header_size)
    # astype copies into native byte order, giving a writable array we own.
    return values.astype(dtype.newbyteorder("=")).reshape(shape)


def _default_dir(name: str) -> Path:
    """Cache folder for data set ``name``: $TINYNN_DATA/<name>, else ~/.cache/tinynn/<name>.

    Read at call time, so setting the variable after ``import tinynn`` still works.
    """
    root = os.environ.get("TINYNN_DATA")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "tinynn"
    return base / name


def _find(folder: Path, stem: str) -> Path | None:
    """Return folder/stem or folder/stem.gz, whichever exists (raw first), else None."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _fetch(url: str) -> bytes:
    """Download ``url`` and return its body. Tests monkeypatch this function.

    Raises:
        OSError: on any network failure (urllib's URLError is an OSError too).
    """
    # Imported here because they cost ~15 ms and only downloads need them.
    import http.client
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except http.client.HTTPException as err:  # e.g. IncompleteRead, not an OSError
        raise OSError(f"bad HTTP response from {url}: {err!r}") from err


def _download(url: str, destination: Path, expected_md5: str) -> None:
    """Fetch ``url``, check its MD5, and write it to ``destination`` atomically.

    The bytes go to a temporary file in the same folder first, then ``os.replace``
    renames it, so an interrupted download never leaves a half-written file that a
    later call would mistake for a good one. A checksum failure removes the file.
    """
    payload = _fetch(url)
    fd, temp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        # mkstemp makes owner-only files; a cached data set is fine to share.
        os.chmod(temp, 0o644)
        # MD5 detects corruption, not tampering; these are the published checksums.
        actual_md5 = hashlib.md5(temp.read_bytes(), usedforsecurity=False).hexdigest()
        if actual_md5 != expected_md5:
            raise ValueError(
                f"checksum mismatch for {url}: MD5 is {actual_md5}, expected {expected_md5}; "
                f"the download was deleted (try again, or place the file in "
                f"{destination.parent} yourself)"
            )
        os.replace(temp, destination)
    finally:
        temp.unlink(missing_ok=True)


class MissingFilesError(FileNotFoundError):
    """Files of a data set are missing from a folder. The message lists them, the folder and
    where to download them; ``explain`` rewords it for another caller (the command line
    passes ``--data`` where Python passes ``path=``)."""

    def __init__(self, name: str, folder: Path, missing: list[str], reason: str) -> None:
        self.dataset, self.folder, self.missing, self.reason = name, folder, missing, reason
        super().__init__(self.explain())

    def explain(
        self,
        reason: str | None = None,
        elsewhere: str = "pass path=... (or set $TINYNN_DATA) to use another folder",
    ) -> str:
        """The message, with ``reason`` for the files being absent and ``elsewhere`` for the
        other way out (by default: how to choose another folder)."""
        mirror = _MIRRORS[self.dataset]
        listing = "\n".join(f"  {stem}.gz  (or uncompressed: {stem})" for stem in self.missing)
        return (
            f"{_TITLES[self.dataset]} files are missing from {self.folder} "
            f"({reason or self.reason}).\n"
            f"Place these files in that folder:\n{listing}\n"
            f"Download them from {mirror} (e.g. {mirror}{self.missing[0]}.gz), "
            f"or {elsewhere}."
        )


def _load(name: str, path: str | os.PathLike[str] | None, download: bool) -> Arrays:
    """Shared body of load_mnist and load_fashion_mnist."""
    folder = Path(path).expanduser() if path is not None else _default_dir(name)
    missing = [stem for stem in _MNIST_FILES if _find(folder, stem) is None]

    if missing and not download:
        raise MissingFilesError(name, folder, missing, "download=False")
    if missing:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for stem in missing:
                gz_name = f"{stem}.gz"
                _download(_MIRRORS[name] + gz_name, folder / gz_name, _MD5[name][gz_name])
        # URLError, timeouts and refused connections are all OSError subclasses.
        except OSError as err:
            reason = f"download failed: {err}"
            still_missing = [stem for stem in _MNIST_FILES if _find(folder, stem) is None]
            raise MissingFilesError(name, folder, still_missing, reason) from err

    x_train, y_train, x_test, y_test = (read_idx(_find(folder, stem)) for stem in _MNIST_FILES)
    for split, images, labels in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{folder}: {split} images have shape {images.shape} and labels "
                f"{labels.shape}; expected (n, rows, cols) images and (n,) labels"
            )
    return (x_train, y_train), (x_test, y_test)


def load_mnist(path: str | os.PathLike[str] | None = None, download: bool = True) -> Arrays:
    """Load MNIST handwritten digits, like ``keras.datasets.mnist.load_data()``.

    Args:
        path: folder holding the four standard IDX files (each raw or .gz). If None,
            use ``$TINYNN_DATA/mnist`` when that variable is set, else
            ``~/.cache/tinynn/mnist``.
        download: if files are missing, download them (with MD5 checks) from
            https://ossci-datasets.s3.amazonaws.com/mnist/ into the folder.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` with x uint8 (60000, 28, 28) and
        (10000, 28, 28), pixel values 0..255; y uint8 (60000,) and (10000,), labels 0..9.

    Raises:
        MissingFilesError: (a FileNotFoundError) files are missing and download=False or
            the download failed; the message lists the files, the folder and where to get
            them.
        ValueError: a downloaded file fails its checksum, or a file is not valid IDX.
    """
    return _load("mnist", path, download)


def load_fashion_mnist(path: str | os.PathLike[str] | None = None, download: bool = True) -> Arrays:
    """Load Fashion-MNIST (Zalando clothing images), like Keras's ``fashion_mnist``.

    Same files, shapes and dtypes as :func:`load_mnist`; labels 0..9 mean T-shirt/top,
    trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot. The
    default folder is ``$TINYNN_DATA/fashion-mnist`` or ``~/.cache/tinynn/fashion-mnist``,
    and the mirror is http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: uint8 (60000, 28, 28), uint8 (60000,),
        uint8 (10000, 28, 28), uint8 (10000,).
    """
    return _load("fashion-mnist", path, download)
