"""Results store: experiment results cached under (experiment, config hash, version) with provenance.

A result is a nested dict of JSON values and numpy arrays. It is stored as one ``.npz`` file whose
``__meta__`` member holds the JSON part (with array placeholders), the config, the experiment
version and the provenance. The file name is derived from the key, and the key is re-checked on
load, so a result computed under another config or experiment version is never served.

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

from hw2.atomic import atomic_write_bytes

_ARRAY_TAG = "__array__"
_TUPLE_TAG = "__tuple__"


def canonical_json(value: Any) -> str:
    """Deterministic JSON used for hashing configs (sorted keys, tuples as lists)."""
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # 'nan', 'inf': JSON has no literal for them
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
        """Store ``data`` atomically and return it as a :class:`StoredResult`."""
        arrays: dict[str, np.ndarray] = {}
        skeleton = _split_arrays(data, arrays, "data")
        meta = {
            "experiment": experiment,
            "key": result_key(experiment, config, version),
            "config": _jsonable(config),
            "version": str(version),
            "provenance": _jsonable(provenance),
            "data": skeleton,
        }
        members = {f"a{i}": arr for i, arr in enumerate(arrays.values())}
        meta["array_members"] = dict(zip(arrays.keys(), members.keys()))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                            **members)
        path = self.path_for(experiment, config, version)
        atomic_write_bytes(path, buffer.getvalue())
        return StoredResult(experiment, meta["config"], str(version), data, meta["provenance"], path, False)

    @staticmethod
    def read(path: str | os.PathLike) -> tuple[dict, dict]:
        """Read one entry file: ``(meta, data)``. Raises ``ValueError`` if it is unreadable."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["__meta__"]).decode())
                arrays = {name: npz[member] for name, member in meta["array_members"].items()}
        except Exception as exc:
            raise ValueError(f"unreadable result file {path}: {exc}") from exc
        return meta, _join_arrays(meta["data"], arrays)

    def load(self, experiment: str, config: Any, version: str) -> StoredResult | None:
        """The stored result for exactly this (experiment, config, version), or ``None``.

        A missing, unreadable or mismatching entry (stale version, other config) gives ``None``.
        """
        path = self.path_for(experiment, config, version)
        if not path.exists():
            return None
        try:
            meta, data = self.read(path)
        except ValueError:
            return None
        if (meta.get("experiment") != experiment or meta.get("version") != str(version)
                or canonical_json(meta.get("config")) != canonical_json(config)):
            return None
        return StoredResult(experiment, meta["config"], meta["version"], data, meta["provenance"], path, True)

    def entries(self):
        """Yield ``(path, meta)`` for every readable entry in the store."""
        for path in sorted(self.root.glob("*/*.npz")):
            try:
                meta, _ = self.read(path)
            except ValueError:
                continue
            yield path, meta


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
