"""Where a number came from: profile, backend, device, versions, seed, wall time, date, commit.

Example:
    >>> info = collect(profile="smoke", seed=0, wall_time_s=1.5)
    >>> sorted(info)[:4]
    ['backend', 'code_version', 'date', 'device']
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path

_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "numpy", "hw2")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        version = _version(name)
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
            f" · wall time {record.get('wall_time_s', 0):.1f} s · code {record.get('code_version')}")
