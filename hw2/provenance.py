"""Where a number came from: profile, backend, device, versions, seed, wall time, date, commit,
and a digest of each library source file the computation imports (:func:`source_digests`).

Example:
    >>> info = collect(profile="smoke", seed=0, wall_time_s=1.5)
    >>> sorted(info)[:4]
    ['backend', 'code_version', 'date', 'device']
"""

from __future__ import annotations

import ast
import datetime as _dt
import functools
import hashlib
import importlib.metadata
import importlib.util
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path

_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "hw2")
_MODULES = ("keras", "tensorflow", "jax", "jaxlib", "numpy")  # a distribution whose module has its name


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str]:
    """Python's version and each package's: the ``__version__`` of the module this process imported
    (what actually ran, wherever it was installed: the GPU machine carries Keras in a ``--target``
    folder), else the installed distribution's.

    Example:
        >>> import numpy
        >>> package_versions()["numpy"] == numpy.__version__
        True
    """
    import sys

    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        module = sys.modules.get(name) if name in _MODULES else None
        version = getattr(module, "__version__", None)
        version = version if isinstance(version, str) else _version(name)
        if version:
            versions[name] = version
    return versions


def code_version() -> str:
    """``git describe``-like commit of the repository (with ``+dirty``), or the package version."""
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "hw2"],
                               cwd=repo, capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except Exception:
        return f"hw2 {_version('hw2') or 'unknown'}"


_current_code_version = code_version  # ``collect``'s argument shadows the function

_REPO = Path(__file__).resolve().parents[1]


def normalized_digest(source: str) -> str:
    """SHA-256 (12 hex digits) of Python source as the interpreter sees it: docstrings, comments,
    blank lines and layout do not count, so only a change that can change what runs moves it.

    Example:
        >>> normalized_digest("def f(): 'Doc.'; return (1)  # one") == normalized_digest("def f(): return 1")
        True
        >>> normalized_digest("x = 1") == normalized_digest("x = 2")
        False
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:12]


def _module_path(module: str) -> str | None:
    """``hw2.x.y`` as a repository path (``hw2/x/y.py`` or ``hw2/x/y/__init__.py``), if it exists."""
    base = _REPO.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path.relative_to(_REPO).as_posix()
    return None


def _imported(path: str) -> set[str]:
    """Names of the ``hw2`` modules a file imports anywhere in it (function-level imports too)."""
    module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse((_REPO / path).read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from hw2 import training`
    return {name for name in found if name == "hw2" or name.startswith("hw2.")}


@functools.cache
def source_files(module: str, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The library files that importing ``module`` runs: the module, every ``hw2`` module it imports
    directly or through others, and their packages' ``__init__.py``; less ``exclude`` (paths
    relative to ``hw2/``). Sorted repository paths.

    Example:
        >>> files = source_files("hw2.perceptron")
        >>> "hw2/perceptron.py" in files and "hw2/__init__.py" in files
        True
    """
    todo, seen = [module], set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            path = _module_path(".".join(parts[:i]))
            if path is None or path in seen or path.removeprefix("hw2/") in exclude:
                continue
            seen.add(path)
            todo.extend(_imported(path))
    return tuple(sorted(seen))


def source_digests(module: str, exclude: Iterable[str] = ()) -> dict[str, str]:
    """``{path: normalized_digest}`` of every file in :func:`source_files`: recorded with a result,
    so that a later change to the code that computed it can be named (:func:`changed_sources`)."""
    return {path: normalized_digest((_REPO / path).read_text()) for path in source_files(module, tuple(exclude))}


def _git_file(commit: str, path: str) -> str | None:
    try:
        out = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=_REPO, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def changed_sources(record: dict, module: str, exclude: Iterable[str] = ()) -> list[str] | None:
    """Library files of ``module``'s computation whose code differs from when the result with
    provenance ``record`` was computed: ``[]`` when none does, ``None`` when that cannot be told.

    The record's ``source_digests`` are compared with today's files. A record without them (a
    result from before they were kept) is compared through git with the files at its
    ``code_version``, when that is a clean commit of this repository's history.
    """
    current = source_digests(module, exclude)
    recorded = record.get("source_digests")
    if recorded is None:
        commit = str(record.get("code_version", ""))
        if not commit or "+" in commit or " " in commit:  # dirty tree, or not a git checkout
            return None
        recorded = {}
        for path in current:
            source = _git_file(commit, path)
            if source is None:
                if _git_file(commit, "hw2/__init__.py") is None:
                    return None  # commit unknown here (a shallow clone) or no git
                continue  # the file did not exist then: reported as new
            try:
                recorded[path] = normalized_digest(source)
            except SyntaxError:
                recorded[path] = "unparsable"
    return sorted(path for path in set(current) | set(recorded) if current.get(path) != recorded.get(path))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_description() -> str:
    """The accelerator Keras trains on, or the CPU model and core count."""
    import os

    import keras

    try:
        devices = keras.distribution.list_devices()
    except Exception:
        devices = []
    accelerators = [d for d in devices if not str(d).lower().startswith("cpu")]
    if accelerators:
        try:
            names = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                   capture_output=True, text=True, timeout=10).stdout.strip().splitlines()
        except Exception:
            names = []
        return f"{names[0] if names else accelerators[0]} ({len(accelerators)} accelerator(s))"
    return f"CPU: {_cpu_name()} ({os.cpu_count()} cores)"


def collect(*, profile: str, seed: int | None, wall_time_s: float, code_version: str | None = None,
            **extra) -> dict:
    """Provenance record for a result computed now; ``code_version`` is best taken when the
    computation starts (default: :func:`code_version` now)."""
    import keras

    record = {
        "profile": profile,
        "seed": seed,
        "wall_time_s": round(float(wall_time_s), 3),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "backend": keras.backend.backend(),
        "device": device_description(),
        "versions": package_versions(),
        "code_version": code_version or _current_code_version(),
        "platform": platform.platform(),
    }
    record.update(extra)
    return record


def describe(record: dict) -> str:
    """One line for a report page: 'profile full · jax on NVIDIA H100 · 2026-11-26 · 12.3 s · abc123'."""
    versions = record.get("versions", {})
    precision = f" · {record['precision']}" if record.get("precision") else ""
    return (f"profile {record.get('profile')} · seed {record.get('seed')} · {record.get('backend')} backend"
            f" (keras {versions.get('keras', '?')}){precision} · {record.get('device')} · {record.get('date')}"
            f" · {compute_time(record)} · code {record.get('code_version')}")


def compute_time(record: dict) -> str:
    """What a result cost: its wall time, or for a result assembled from cached parts the parts'
    total compute time too (the assembly alone takes seconds).

    Example:
        >>> compute_time({"wall_time_s": 6.5})
        'wall time 6.5 s'
        >>> compute_time({"wall_time_s": 6.5, "parts": {"n_parts": 18, "n_cached": 18, "n_untimed": 0,
        ...                                              "compute_time_s": 4575.0}})
        'assembled in 6.5 s from 18 parts (18 cached) that took 4575.0 s to compute'
    """
    wall = f"{record.get('wall_time_s', 0):.1f} s"
    parts = record.get("parts")
    if not parts:
        return f"wall time {wall}"
    untimed = f", {parts['n_untimed']} of them untimed" if parts.get("n_untimed") else ""
    return (f"assembled in {wall} from {parts['n_parts']} parts ({parts['n_cached']} cached{untimed}) "
            f"that took {parts['compute_time_s']:.1f} s to compute")
