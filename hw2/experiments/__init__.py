"""Experiments: pure functions config -> result, registered by name, cached in the results store.

Each module ``hw2/experiments/pN_*.py`` registers its experiments with :func:`register`. The
runner :func:`run` builds the config for a profile (``hw2.profiles``), serves a valid stored
result if there is one, and otherwise computes, stores and returns it with provenance.

Example:
    >>> from hw2 import experiments
    >>> "p1.perceptron" in experiments.names()
    True
    >>> result = experiments.run("p1.perceptron", profile="smoke")  # doctest: +SKIP
    >>> result.data["summary"]["accuracy_mean"]                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import os
import pkgutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hw2 import profiles, provenance
from hw2.store import ResultStore, StoredResult, store_for


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: dotted name, e.g. ``'p1.perceptron'``.
        version: bumped whenever the meaning of the result changes (stale entries are not served).
        config_cls: frozen dataclass whose defaults are the full homework specification.
        compute: ``compute(config) -> dict`` (JSON values and numpy arrays).
        summarize: ``summarize(data) -> dict`` of headline numbers (printed by the CLI).
        description: one line for ``python -m hw2 list``.
        gpu_recommended: the full profile is impractical on a CPU.
        prepare: optional ``prepare(config, profile, fallback) -> config`` that fills fields derived
            from upstream experiments (e.g. lr_min from the LR sweep) by running them (cache-first) at
            the same profile, passing ``fallback`` on to :func:`run`.
            It runs before the store key is computed, so the key records the concrete values.
    """

    name: str
    version: str
    config_cls: type
    compute: Callable[[Any], dict]
    summarize: Callable[[dict], dict]
    description: str
    gpu_recommended: bool = False
    prepare: Callable[[Any, str, bool], Any] | None = None

    def config(self, profile: str | None = None, **changes):
        return profiles.config_for(self.name, self.config_cls, profile, **changes)


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False


def register(name: str, *, version: str, config_cls: type, summarize: Callable[[dict], dict],
             description: str, gpu_recommended: bool = False,
             prepare: Callable[[Any, str, bool], Any] | None = None):
    """Decorator registering ``compute(config) -> dict`` as experiment ``name``."""

    def decorate(compute):
        _REGISTRY[name] = Experiment(name, str(version), config_cls, compute, summarize, description,
                                     gpu_recommended, prepare)
        return compute

    return decorate


def _discover() -> None:
    global _DISCOVERED
    if not _DISCOVERED:
        for module in pkgutil.iter_modules(__path__):
            if module.name.startswith("p"):
                importlib.import_module(f"{__name__}.{module.name}")
        _DISCOVERED = True


def names() -> list[str]:
    """Names of all registered experiments, sorted."""
    _discover()
    return sorted(_REGISTRY)


def get(name: str) -> Experiment:
    """The experiment called ``name``; a clear error lists the known names otherwise."""
    _discover()
    if name not in _REGISTRY:
        raise KeyError(f"Unknown experiment {name!r}. Known experiments: {', '.join(names())}.")
    return _REGISTRY[name]


def run(name: str, profile: str | None = None, *, seed: int = 0, force: bool = False,
        store: ResultStore | None = None, fallback: bool = False, **changes) -> StoredResult:
    """Result of experiment ``name`` at ``profile`` (cache-first).

    Args:
        name: experiment name (see :func:`names`).
        profile: 'smoke', 'laptop' or 'full'; default ``$HW2_PROFILE`` or 'full'.
        seed: the experiment's seed; the same seed gives the same numbers on a CPU.
        force: recompute even if a valid stored result exists.
        store: where to read/write; default ``results/<profile>/``.
        fallback: if the full profile has no stored result and the experiment wants a GPU that is
            not here, compute the laptop profile instead. The result's provenance then carries
            ``reduced_from='full'`` so the report says so next to the answer.
        **changes: further config fields to override (recorded in the key, so never confused).

    Returns:
        :class:`hw2.store.StoredResult`; ``from_store`` tells whether it was read or computed.
    """
    experiment = get(name)
    profile = profiles.resolve_profile(profile)
    if seed is None or int(seed) < 0:
        raise ValueError(f"Argument `seed` must be an integer >= 0. Received: seed={seed!r}")
    config = experiment.config(profile, seed=int(seed), **changes)
    if experiment.prepare is not None:
        config = experiment.prepare(config, profile, fallback)
    store = store or store_for(profile)
    if not force:
        cached = store.load(name, config, _store_version(experiment, profile))
        if cached is not None:
            return cached
    if os.environ.get("HW2_NO_COMPUTE"):
        raise LookupError(f"{name} (profile {profile}, seed {seed}) has no stored result and computing is "
                          "switched off (HW2_NO_COMPUTE)")
    if fallback and profile == "full" and experiment.gpu_recommended and not _has_accelerator():
        reduced = run(name, "laptop", seed=seed, force=force, **changes)
        reduced.provenance = dict(reduced.provenance, reduced_from="full")
        return reduced
    import keras

    keras.utils.set_random_seed(int(seed))
    start = time.perf_counter()
    data = experiment.compute(config)
    wall = time.perf_counter() - start
    record = provenance.collect(profile=profile, seed=int(seed), wall_time_s=wall)
    return store.save(name, config, _store_version(experiment, profile), data, record)


@functools.lru_cache(maxsize=1)
def _library_digest() -> str:
    """Hash of the library's source: local caches of reduced profiles follow every code change."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _store_version(experiment: Experiment, profile: str) -> str:
    """The version a result is stored under. Full-spec results are committed and keyed by the
    experiment's version alone (bumped when its meaning changes); smoke and laptop results are local
    caches, so they are also keyed by the library's source and never outlive a code change."""
    if profile == "full":
        return experiment.version
    return f"{experiment.version}+code.{_library_digest()}"


def _has_accelerator() -> bool:
    import keras

    try:
        return any(not str(d).lower().startswith("cpu") for d in keras.distribution.list_devices())
    except Exception:
        return False


@contextlib.contextmanager
def _no_compute():
    previous = os.environ.get("HW2_NO_COMPUTE")
    os.environ["HW2_NO_COMPUTE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HW2_NO_COMPUTE", None)
        else:
            os.environ["HW2_NO_COMPUTE"] = previous


def verify_store(profile: str = "full", store: ResultStore | None = None) -> list[str]:
    """Problems with a committed store: entries whose version or config no longer match the code,
    and registered experiments with no current entry. Empty list: everything is current.
    Never computes anything: upstream results that ``prepare`` needs are only looked up."""
    store = store or store_for(profile)
    problems, current = [], set()
    with _no_compute():
        for path, meta in store.entries():
            name = meta.get("experiment")
            try:
                experiment = get(name)
            except KeyError:
                problems.append(f"{path.name}: unknown experiment {name!r}")
                continue
            seed = meta.get("config", {}).get("seed", 0)
            try:
                config = experiment.config(profile, seed=seed)
                if experiment.prepare is not None:
                    config = experiment.prepare(config, profile, False)
            except LookupError as exc:
                problems.append(f"{path.name}: {name}: an upstream result is missing ({exc})")
                continue
            if meta.get("version") != experiment.version:
                problems.append(f"{path.name}: {name} version {meta.get('version')} != current {experiment.version}")
            elif store.load(name, config, experiment.version) is None:
                problems.append(f"{path.name}: {name} config differs from the current {profile} config")
            else:
                current.add(name)
    for name in names():
        if name not in current:
            problems.append(f"{name}: no current {profile} result stored")
    return problems
