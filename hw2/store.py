"""Results store: experiment results cached under (experiment, config hash, version) with provenance.

A result is a nested dict of JSON values and numpy arrays. It is stored as one ``.npz`` file whose
``__meta__`` member holds the JSON part (with array placeholders), the config, the experiment
version, the provenance and a SHA-256 *content digest* of all of it and of every array. The file
name is derived from the key, and the key is re-checked on load, so a result computed under another
config or experiment version is never served. The digest is re-checked on load too: a file whose
numbers were edited (or that is unreadable) raises :class:`ResultIntegrityError` naming the file;
it is neither served nor silently recomputed over. A file without a digest (written before digests
existed, or with the digest removed by hand) raises the same error: its content cannot be checked,
so it is never served.

Writes are atomic (temporary file + rename): two writers of the same entry each rename a complete
file, so readers see one of them, never a mix.

Example:
    >>> import tempfile, numpy as np
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> entry = store.save("demo", {"n": 3}, "1", {"x": np.arange(3), "mean": 1.0}, {"seed": 0})
    >>> store.load("demo", {"n": 3}, "1").data["x"]
    array([0, 1, 2])
    >>> store.load("demo", {"n": 4}, "1") is None
    True
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hw2._checks import check_choice
from hw2.atomic import atomic_write_bytes

_ARRAY_TAG = "__array__"
_TUPLE_TAG = "__tuple__"
_DIGEST = "sha256"


class ResultIntegrityError(ValueError):
    """A stored result file is unreadable or its content no longer matches its digest."""


def canonical_json(value: Any) -> str:
    """Deterministic JSON used for hashing configs (sorted keys, tuples as lists; :func:`jsonable`)."""
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


#: What :func:`jsonable` does with ``nan`` and infinities.
NONFINITE = ("repr", "keep")


def jsonable(value: Any, *, nonfinite: str = "repr") -> Any:
    """``value`` as JSON values, the one conversion of :mod:`hw2`.

    Dataclass instances and dicts become dicts with ``str`` keys; lists, tuples and NumPy arrays
    become lists; NumPy scalars become the Python numbers they hold. Non-finite floats (Python or
    NumPy) depend on ``nonfinite``:

    - ``"repr"`` (configs, provenance, :func:`canonical_json`): the strings ``'nan'``, ``'inf'``,
      ``'-inf'``, since JSON has no literal for them. Converting the result again gives the same
      JSON, so a config read back from the store hashes as it did when it was written.
    - ``"keep"`` (result data such as :meth:`hw2.suggest.Suggestion.to_dict`): floats, which the
      store's own encoding of result data writes and reads back as floats.

    Example:
        >>> jsonable({"sizes": (64, 128), "lr": np.float64(0.1), "cap": float("inf")})
        {'sizes': [64, 128], 'lr': 0.1, 'cap': 'inf'}
        >>> jsonable({"drop": np.array([0.5, np.nan]), 1: np.bool_(True)}, nonfinite="keep")
        {'drop': [0.5, nan], '1': True}
    """
    check_choice("nonfinite", nonfinite, NONFINITE)
    return _jsonable(value, nonfinite == "repr")


def _jsonable(value: Any, as_repr: bool) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, as_repr) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        value = value.tolist()  # nested lists of Python scalars (a 0-d array: one scalar)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, as_repr) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if as_repr and isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    return value


def result_key(experiment: str, config: Any, version: str) -> str:
    """The store key: experiment name plus a hash of (config, version)."""
    digest = hashlib.sha256(canonical_json({"config": config, "version": str(version)}).encode())
    return f"{experiment}-{digest.hexdigest()[:16]}"


def _split_arrays(value: Any, arrays: dict, path: str) -> Any:
    """Replace numpy arrays by placeholders (collected in ``arrays``); keep the rest JSON-able."""
    if isinstance(value, np.ndarray):
        arrays[path] = value
        return {_ARRAY_TAG: path}
    if isinstance(value, dict):
        return {str(k): _split_arrays(v, arrays, f"{path}/{k}") for k, v in value.items()}
    if isinstance(value, tuple):
        return {_TUPLE_TAG: [_split_arrays(v, arrays, f"{path}/{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_split_arrays(v, arrays, f"{path}/{i}") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": repr(value)}
    return value


def _join_arrays(value: Any, arrays: dict) -> Any:
    if isinstance(value, dict):
        if _ARRAY_TAG in value:
            return arrays[value[_ARRAY_TAG]]
        if _TUPLE_TAG in value:
            return tuple(_join_arrays(v, arrays) for v in value[_TUPLE_TAG])
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _join_arrays(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_arrays(v, arrays) for v in value]
    return value


def content_digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of an entry: its meta (canonical JSON, without the digest itself) and, per array
    member in name order, the member name, dtype, shape and bytes."""
    digest = hashlib.sha256(canonical_json({k: v for k, v in meta.items() if k != _DIGEST}).encode())
    for member in sorted(arrays):
        array = np.ascontiguousarray(arrays[member])
        digest.update(f"{member}:{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _encode(meta: dict, members: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **members)
    return buffer.getvalue()


@dataclasses.dataclass
class StoredResult:
    """One experiment result with everything needed to say where it came from."""

    experiment: str
    config: dict
    version: str
    data: dict
    provenance: dict
    path: Path | None = None
    from_store: bool = False
    sha256: str | None = None  # content digest (None only before the result is saved)

    @property
    def profile(self) -> str:
        return self.provenance.get("profile", "?")


class ResultStore:
    """A folder of results, one ``<experiment>/<key>.npz`` file per entry."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path_for(self, experiment: str, config: Any, version: str) -> Path:
        return self.root / experiment / f"{result_key(experiment, config, version)}.npz"

    def save(self, experiment: str, config: Any, version: str, data: dict, provenance: dict) -> StoredResult:
        """Store ``data`` atomically, with its content digest, and return it as a :class:`StoredResult`."""
        arrays: dict[str, np.ndarray] = {}
        skeleton = _split_arrays(data, arrays, "data")
        meta = {
            "experiment": experiment,
            "key": result_key(experiment, config, version),
            "config": jsonable(config),
            "version": str(version),
            "provenance": jsonable(provenance),
            "data": skeleton,
        }
        members = {f"a{i}": np.asarray(arr) for i, arr in enumerate(arrays.values())}
        meta["array_members"] = dict(zip(arrays.keys(), members.keys()))
        meta = json.loads(json.dumps(meta))  # the digest covers exactly what a reader will parse
        meta[_DIGEST] = content_digest(meta, members)
        path = self.path_for(experiment, config, version)
        atomic_write_bytes(path, _encode(meta, members))
        return StoredResult(experiment, meta["config"], str(version), data, meta["provenance"], path, False,
                            meta[_DIGEST])

    @staticmethod
    def read(path: str | os.PathLike) -> tuple[dict, dict]:
        """Read one entry file: ``(meta, data)``.

        Raises:
            ResultIntegrityError: the file is unreadable, has no digest, or its content does not
                match its digest (edited or damaged after it was written).
        """
        try:
            content = Path(path).read_bytes()
        except OSError as exc:
            raise ResultIntegrityError(f"unreadable result file {path}: {exc}. Fix: delete it, or recompute it "
                                       "with `python -m hw2 run ... --force`.") from exc
        return ResultStore.decode(content, path)

    @staticmethod
    def decode(content: bytes, path: str | os.PathLike) -> tuple[dict, dict]:
        """:meth:`read` on bytes already read from ``path`` (named in errors): what a copy writes
        is then exactly what was checked, whatever happens to the file meanwhile.

        Example:
            >>> ResultStore.decode(b"not a result", "x.npz")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            hw2.store.ResultIntegrityError: unreadable result file x.npz: ...
        """
        try:
            with np.load(io.BytesIO(content), allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["__meta__"]).decode())
                members = {member: npz[member] for member in meta["array_members"].values()}
        except Exception as exc:
            raise ResultIntegrityError(f"unreadable result file {path}: {exc}. Fix: delete it, or recompute it "
                                       "with `python -m hw2 run ... --force`.") from exc
        stored = meta.get(_DIGEST)
        if stored is None:  # nothing to check the content against: an edit would go unnoticed
            raise ResultIntegrityError(
                f"result file {path} has no content digest, so its content cannot be checked and it is not "
                "used. Fix: recompute it with `python -m hw2 run ... --force`.")
        if content_digest(meta, members) != stored:
            raise ResultIntegrityError(
                f"result file {path} was changed after it was written: its content does not match its "
                "SHA-256 digest, so it is not used. Fix: restore it (git checkout), or recompute it with "
                "`python -m hw2 run ... --force`.")
        arrays = {name: members[member] for name, member in meta["array_members"].items()}
        return meta, _join_arrays(meta["data"], arrays)

    def load(self, experiment: str, config: Any, version: str) -> StoredResult | None:
        """The stored result for exactly this (experiment, config, version), or ``None``.

        A missing entry, or a file whose own key differs (stale version, other config or experiment,
        copied or renamed by hand), gives ``None``. An unreadable or edited file, or one without a
        digest, raises :class:`ResultIntegrityError`.
        """
        path = self.path_for(experiment, config, version)
        if not path.exists():
            return None
        meta, data = self.read(path)
        if (meta.get("experiment") != experiment or meta.get("version") != str(version)
                or canonical_json(meta.get("config")) != canonical_json(config)):
            return None
        return StoredResult(experiment, meta["config"], meta["version"], data, meta["provenance"], path, True,
                            meta[_DIGEST])

    def scan(self):
        """Yield ``(path, meta, error)`` for every entry file: ``meta`` is ``None`` and ``error`` the
        :class:`ResultIntegrityError` for an unreadable or edited file."""
        for path in sorted(self.root.glob("*/*.npz")):
            try:
                meta, _ = self.read(path)
            except ResultIntegrityError as exc:
                yield path, None, exc
                continue
            yield path, meta, None

    def entries(self):
        """Yield ``(path, meta)`` for every readable, unedited entry in the store."""
        for path, meta, error in self.scan():
            if error is None:
                yield path, meta


class StoredFields:
    """Mixin for a result dataclass kept in the store as its fields: ``to_dict`` / ``from_dict``.

    Example:
        >>> import dataclasses
        >>> @dataclasses.dataclass
        ... class Point(StoredFields):
        ...     x: float
        >>> Point.from_dict({"x": 1.0, "extra": 2}).to_dict()
        {'x': 1.0}
    """

    def to_dict(self) -> dict:
        """Every field by name (numpy arrays and JSON values, as the store keeps them)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict):
        """The instance back from :meth:`to_dict`'s output (keys that are not fields are ignored)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def results_root() -> Path:
    """``$HW2_RESULTS_DIR``, else the repository's ``results/``, else ``~/.cache/hw2/results``."""
    env = os.environ.get("HW2_RESULTS_DIR")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "results"
    return Path.home() / ".cache" / "hw2" / "results"


def store_for(profile: str) -> ResultStore:
    """The store a profile reads and writes: ``results/<profile>/`` (only ``full`` is committed)."""
    return ResultStore(results_root() / profile)
