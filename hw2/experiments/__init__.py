"""Experiments: pure functions config -> result, registered by name, cached in the results store.

Each module ``hw2/experiments/pN_*.py`` registers its experiments with :func:`register`. The
runner :func:`run` builds the config for a profile (``hw2.profiles``), checks every seed the
config will use, serves a valid stored result if there is one, and otherwise computes, stores and
returns it with provenance. While an experiment computes, :func:`cached_part` caches pieces of it
(e.g. one training run of many) under the same rules as whole results.

Example:
    >>> from hw2 import experiments
    >>> "p1.perceptron" in experiments.names()
    True
    >>> result = experiments.run("p1.perceptron", profile="smoke")  # doctest: +SKIP
    >>> result.data["summary"]["accuracy_mean"]                     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import hashlib
import importlib
import numbers
import os
import pkgutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hw2 import profiles, provenance
from hw2._checks import argument_error, check_int
from hw2.store import ResultStore, StoredResult, canonical_json, result_key, store_for

MAX_SEED = 2**32 - 1  # numpy's and keras.utils.set_random_seed's limit


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
        prepare: optional ``prepare(config, upstream) -> config`` that fills fields derived from
            upstream experiments (e.g. lr_min from the LR sweep) through ``upstream``, an
            :class:`Upstream`: it runs them cache-first at the same profile and serves only the
            experiments named in ``needs``. It runs before the store key is computed, so the key
            records the concrete values.
        needs: the experiments whose results ``prepare`` reads (the dependency graph: a chain
            runs them first, :func:`chain_members`).
        chain: the chain (``python -m hw2 chain NAME``, :mod:`hw2.chain`) this experiment is a
            piece of, or ``None``.
        per_seed: in its chain, the experiment runs at every seed the chain runs (the policies
            4.7 compares); otherwise once, at the ``finder_seed`` the per-seed pieces read it at.
        seeds: optional ``seeds(config) -> iterable of int``: every seed the computation will use.
            Default (:func:`seeds_used`): ``seed`` and every ``*_seed`` field, ``seeds`` if the config
            has such a tuple, and ``seed, seed + 1, ..., seed + n_seeds - 1`` if it has ``n_seeds``.
    """

    name: str
    version: str
    config_cls: type
    compute: Callable[[Any], dict]
    summarize: Callable[[dict], dict]
    description: str
    gpu_recommended: bool = False
    prepare: Callable[[Any, Upstream], Any] | None = None
    seeds: Callable[[Any], Iterable[int]] | None = None
    needs: tuple[str, ...] = ()
    chain: str | None = None
    per_seed: bool = False

    def config(self, profile: str | None = None, **changes):
        return profiles.config_for(self.name, self.config_cls, profile, **changes)

    def prepared(self, config, profile: str, fallback: bool = False):
        """``config`` with the fields ``prepare`` fills from upstream results (as is without a hook)."""
        if self.prepare is None:
            return config
        return self.prepare(config, Upstream(self.name, self.needs, profiles.resolve_profile(profile), fallback))

    def check_seeds(self, config) -> None:
        """Raise ``ValueError`` unless every seed ``config`` will use is an integer in [0, 2**32 - 1]."""
        for value in (self.seeds or seeds_used)(config):
            if not _is_seed(value):
                raise argument_error("seed", f"an integer in [0, {MAX_SEED}] for every seed {self.name} uses",
                                     received=f"seed={value!r} (from config seed={getattr(config, 'seed', None)!r})")


def _is_seed(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


def seeds_used(config) -> list[int]:
    """The seeds a config names: ``seed``, ``*_seed`` fields, a ``seeds`` tuple, ``seed + range(n_seeds)``.

    Example:
        >>> import dataclasses
        >>> Config = dataclasses.make_dataclass("Config", ["seed", "n_seeds"])
        >>> seeds_used(Config(seed=7, n_seeds=3))
        [7, 8, 9]
    """
    fields = dataclasses.asdict(config)
    out = [value for name, value in fields.items() if name == "seed" or name.endswith("_seed")]
    out += list(fields.get("seeds") or ())
    if "n_seeds" in fields and isinstance(fields.get("seed"), int):
        out += [fields["seed"] + i for i in range(int(fields["n_seeds"]))]
    return list(dict.fromkeys(out))  # each seed once, in order


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False


def summary_member(data: dict) -> dict:
    """The default ``summarize`` of :func:`register`: the result's ``"summary"`` member."""
    return data["summary"]


def register(name: str, *, version: str, config_cls: type, description: str,
             summarize: Callable[[dict], dict] = summary_member, gpu_recommended: bool = False,
             prepare: Callable[[Any, Upstream], Any] | None = None,
             seeds: Callable[[Any], Iterable[int]] | None = None, needs: Iterable[str] = (),
             chain: str | None = None, per_seed: bool = False):
    """Decorator registering ``compute(config) -> dict`` as experiment ``name`` (arguments: the
    attributes of :class:`Experiment`; ``summarize`` defaults to :func:`summary_member`)."""

    def decorate(compute):
        _REGISTRY[name] = Experiment(name, str(version), config_cls, compute, summarize, description,
                                     gpu_recommended, prepare, seeds, tuple(needs), chain, bool(per_seed))
        return compute

    return decorate


@dataclasses.dataclass(frozen=True)
class Upstream:
    """What a ``prepare`` hook may read: the results of the experiments its registration names in
    ``needs`` (run cache-first at ``profile``, passing ``fallback`` on to :func:`run`), and any
    experiment's config at ``profile`` (a policy takes its cycle from the CLR's config).

    A hook that reads an experiment it did not declare fails at once, so the declared graph, which
    the chain runs by (:func:`chain_members`), is the graph the hooks use.
    """

    experiment: str
    needs: tuple[str, ...]
    profile: str
    fallback: bool = False

    def result(self, name: str, seed: int) -> dict:
        """The data of upstream experiment ``name`` at ``seed`` (computed if it is not stored)."""
        if name not in self.needs:
            raise RuntimeError(f"{self.experiment}'s prepare hook reads {name}, which its registration does not "
                               f"declare (needs={self.needs}). Fix: add it to register(..., needs=...).")
        return run(name, self.profile, seed=seed, fallback=self.fallback).data

    def config(self, name: str, **changes):
        """The config of experiment ``name`` at this profile (nothing is run)."""
        return get(name).config(self.profile, **changes)


def chain_members(chain: str) -> list[Experiment]:
    """The experiments of ``chain`` in the order a chain runs them: first those run once (at the
    ``finder_seed``), then the per-seed ones; within each, every experiment after the ones it
    ``needs``, otherwise in registration order (modules alphabetically, then top to bottom).

    A need outside the chain that is itself in no chain is fine (it is looked up or computed by
    ``prepare``); a need on a per-seed experiment, an unknown need or a cycle is an error.
    """
    _discover()
    members = [e for e in _REGISTRY.values() if e.chain == chain]
    if not members:
        raise KeyError(f"No experiment is registered in chain {chain!r}.")
    by_name = {e.name: e for e in members}
    for experiment in members:
        for need in experiment.needs:
            if need not in _REGISTRY:
                raise KeyError(f"{experiment.name} needs {need!r}, which is not a registered experiment.")
            if need in by_name and by_name[need].per_seed and not experiment.per_seed:
                raise ValueError(f"{experiment.name} runs once but needs the per-seed {need}.")
    ordered: list[Experiment] = []
    for group in ([e for e in members if not e.per_seed], [e for e in members if e.per_seed]):
        pending = list(group)
        while pending:
            ready = next((e for e in pending if all(n not in by_name or n in {o.name for o in ordered}
                                                       for n in e.needs)), None)
            if ready is None:
                raise ValueError(f"The needs of chain {chain!r} form a cycle among {[e.name for e in pending]}.")
            ordered.append(ready)
            pending.remove(ready)
    return ordered


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
        store: where to read/write; default ``results/<profile>/``. With the default store, a
            reduced profile whose config equals the full specification reads the committed
            ``results/full/`` result of that config when there is one.
        fallback: if the full profile has no stored result and the experiment wants a GPU that is
            not here, compute the laptop profile instead. The result's provenance then carries
            ``reduced_from='full'`` so the report says so next to the answer.
        **changes: further config fields to override (recorded in the key, so never confused).

    Returns:
        :class:`hw2.store.StoredResult`; ``from_store`` tells whether it was read or computed.
    """
    experiment = get(name)
    profile = profiles.resolve_profile(profile)
    seed = check_int("seed", seed, low=0, high=MAX_SEED)
    config = experiment.config(profile, seed=seed, **changes)
    experiment.check_seeds(config)  # before any work, upstream runs included
    config = experiment.prepared(config, profile, fallback)
    default_store = store is None
    store = store or store_for(profile)
    version = _store_version(experiment, profile)
    if not force:
        cached = store.load(name, config, version)
        if cached is not None:
            return cached
        if default_store and profile != "full":
            # A reduced profile whose config is the full specification (P1 and P2 at laptop) is
            # answered by the committed full-spec result of that config, if there is one.
            committed = store_for("full").load(name, config, experiment.version)
            if committed is not None:
                return committed
    if computing_switched_off():
        if force:
            raise LookupError(f"{name} (profile {profile}, seed {seed}) is to be recomputed (force), but computing "
                              "is switched off (HW2_NO_COMPUTE). Fix: unset HW2_NO_COMPUTE, or drop --force.")
        raise LookupError(f"{name} (profile {profile}, seed {seed}) has no stored result and computing is "
                          "switched off (HW2_NO_COMPUTE). Fix: unset HW2_NO_COMPUTE, or compute it with "
                          f"`python -m hw2 run {name} --profile {profile} --seed {seed}`.")
    if fallback and profile == "full" and experiment.gpu_recommended and not _has_accelerator():
        reduced = run(name, "laptop", seed=seed, force=force, **changes)
        reduced.provenance = dict(reduced.provenance, reduced_from="full")
        return reduced
    import keras

    code = provenance.code_version()  # the tree the computation starts from, not the one it ends at
    sources = provenance.source_digests(experiment.compute.__module__, RENDER_ONLY_MODULES)
    keras.utils.set_random_seed(int(seed))
    context = _RunContext(name, version, force, _parts_store(store))
    token = _CONTEXT.set(context)
    start = time.perf_counter()
    try:
        data = experiment.compute(config)
    finally:
        _CONTEXT.reset(token)
    wall = time.perf_counter() - start
    extra = {"precision": config.precision} if hasattr(config, "precision") else {}
    if context.part_times:  # the wall time alone would hide the parts computed by earlier runs
        extra["parts"] = context.parts_record()
    record = provenance.collect(profile=profile, seed=int(seed), wall_time_s=wall, code_version=code,
                                source_digests=sources, **extra)
    return store.save(name, config, version, data, record)


NO_COMPUTE_ON = ("1", "true", "yes", "on")
NO_COMPUTE_OFF = ("", "0", "false", "no", "off")


def computing_switched_off() -> bool:
    """Whether ``$HW2_NO_COMPUTE`` switches computing off (:func:`run` then only reads the store).

    ``1``/``true``/``yes``/``on`` switch it off; unset, empty, ``0``/``false``/``no``/``off`` leave it on
    (any case); any other value is an error, so a typo never silently decides either way.
    """
    raw = os.environ.get("HW2_NO_COMPUTE", "")
    value = raw.strip().lower()
    if value not in NO_COMPUTE_ON + NO_COMPUTE_OFF:
        raise ValueError(f"Environment variable `HW2_NO_COMPUTE` must be one of {NO_COMPUTE_ON} (computing off) or "
                         f"{NO_COMPUTE_OFF} (on). Received: HW2_NO_COMPUTE={raw!r}")
    return value in NO_COMPUTE_ON


@dataclasses.dataclass
class _RunContext:
    experiment: str
    version: str  # the store version of the running experiment
    force: bool
    parts: ResultStore
    # (compute seconds or None where a cached part did not record them, read from the cache?) of
    # every part this run used, for the provenance
    part_times: list[tuple[float | None, bool]] = dataclasses.field(default_factory=list)

    def parts_record(self) -> dict:
        """How the result was assembled: parts used, how many came from the cache, and the
        seconds they took to compute (in this run or the earlier ones that cached them)."""
        known = [t for t, _ in self.part_times if t is not None]
        return {"n_parts": len(self.part_times), "n_cached": sum(cached for _, cached in self.part_times),
                "n_untimed": len(self.part_times) - len(known), "compute_time_s": round(sum(known), 3)}


_CONTEXT: contextvars.ContextVar[_RunContext | None] = contextvars.ContextVar("hw2_run", default=None)
PARTS_FOLDER = ".parts"  # beside the entries of a store; never committed (see .gitignore)


def _parts_store(store: ResultStore) -> ResultStore:
    return ResultStore(store.root / PARTS_FOLDER)


def cached_part(part: str, key: Any, compute: Callable[[], dict], *, version: str = "1") -> dict:
    """``compute()``, cached as one part of the experiment that :func:`run` is computing.

    Parts follow the rules of whole results: they are keyed by ``key``, ``version`` and the running
    experiment's store version (the library source for smoke/laptop, the experiment version for
    full), digest-checked on load (an edited part raises, naming its file), recomputed and
    overwritten under ``force``, and stored in ``<store>/.parts/<experiment>.<part>/``. Outside
    :func:`run` (or in a thread it did not start: the run is a context variable), ``compute()`` is
    simply called.

    Example:
        >>> cached_part("demo", {"n": 1}, lambda: {"value": 1.0})  # not inside run(): no cache
        {'value': 1.0}
    """
    context = _CONTEXT.get()
    if context is None:
        return compute()
    name = f"{context.experiment}.{part}"
    version = f"{context.version}/part.{version}"
    if not context.force:
        cached = context.parts.load(name, key, version)
        if cached is not None:
            context.part_times.append((cached.provenance.get("wall_time_s"), True))
            return cached.data
    start = time.perf_counter()
    data = compute()
    seconds = time.perf_counter() - start
    context.part_times.append((seconds, False))
    context.parts.save(name, key, version, data, {"experiment": context.experiment, "part": part,
                                                  "wall_time_s": round(seconds, 3)})
    return data


#: Modules that only read stored results when a page renders (plots, banners, the Problem 3 and
#: Problem 4 readings and verdicts). No computation imports them (``tests/test_experiments.py`` checks it),
#: so editing one cannot change a stored number: the reduced profiles' caches survive such edits,
#: as the committed full-spec results do.
RENDER_ONLY_MODULES = ("plotting.py", "report.py", "experiments/p1_analysis.py", "experiments/p2_analysis.py",
                       "experiments/p3_analysis.py",
                       "experiments/p4_finders_analysis.py", "experiments/p4_policies_analysis.py")


@functools.lru_cache(maxsize=1)
def _library_digest() -> str:
    """Hash of the library's source (less :data:`RENDER_ONLY_MODULES`): local caches of reduced
    profiles follow every change of the code that computes them."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if name in RENDER_ONLY_MODULES:
            continue
        digest.update(name.encode())
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
def no_compute():
    """Within this block :func:`run` only reads the store (``HW2_NO_COMPUTE=1``); the variable's
    earlier value, or its absence, comes back after it."""
    previous = os.environ.get("HW2_NO_COMPUTE")
    os.environ["HW2_NO_COMPUTE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HW2_NO_COMPUTE", None)
        else:
            os.environ["HW2_NO_COMPUTE"] = previous


def verify_store(profile: str = "full", store: ResultStore | None = None,
                 only: Iterable[str] | None = None) -> list[str]:
    """Problems with a store: unreadable, edited, digest-less or misplaced files, entries whose
    version or config no longer match the code, and registered experiments with no current entry.
    Empty list: everything is current.

    Entries are checked against the store version :func:`run` would use at ``profile`` (for smoke
    and laptop it includes the library source). With the default store, an experiment that
    :func:`run` answers at a reduced profile from the committed full-spec result counts as current.
    Never computes anything: upstream results that ``prepare`` needs are only looked up. ``only``:
    check just these experiments' folders."""
    profile = profiles.resolve_profile(profile)
    default_store = store is None
    store = store or store_for(profile)
    wanted = names() if only is None else [get(name).name for name in only]
    problems, current = [], set()
    with no_compute():
        for path, meta, error in store.scan():
            if only is not None and path.parent.name not in wanted:
                continue
            where = path.relative_to(store.root).as_posix()
            if error is not None:
                problems.append(f"{where}: {error}")
                continue
            name, key = meta.get("experiment"), meta.get("key")
            expected = f"{name}/{result_key(name, meta.get('config'), meta.get('version'))}.npz"
            if where != expected or key != Path(expected).stem:
                problems.append(f"{where}: misplaced: it holds a {name} entry that belongs at {expected}")
                continue
            try:
                experiment = get(name)
            except KeyError:
                problems.append(f"{where}: unknown experiment {name!r}")
                continue
            seed = meta.get("config", {}).get("seed", 0)
            try:
                config = experiment.prepared(experiment.config(profile, seed=seed), profile)
            except LookupError as exc:
                problems.append(f"{where}: {name}: an upstream result is missing ({exc})")
                continue
            version = _store_version(experiment, profile)
            if meta.get("version") != version:
                problems.append(f"{where}: {name} version {meta.get('version')} != current {version}")
            elif canonical_json(meta.get("config")) != canonical_json(config):
                problems.append(f"{where}: {name} config differs from the current {profile} config")
            else:
                current.add(name)
    for name in wanted:
        if name not in current and not (default_store and _served_from_full(name, profile)):
            problems.append(f"{name}: no current {profile} result stored")
    return problems


def _served_from_full(name: str, profile: str) -> bool:
    """Whether :func:`run` at a reduced ``profile`` (seed 0, default store) serves the committed
    full-spec result, its config being the full specification (P1 and P2 at laptop)."""
    if profile == "full":
        return False
    experiment = get(name)
    try:
        config = experiment.prepared(experiment.config(profile), profile)
    except LookupError:
        return False
    return store_for("full").load(name, config, experiment.version) is not None


def code_changes(profile: str = "full", store: ResultStore | None = None,
                 only: Iterable[str] | None = None) -> dict[str, list[str] | None]:
    """For each current entry of ``profile`` (``"<experiment>/<file>"``), the library files of its
    computation whose code changed since it was computed (:func:`hw2.provenance.changed_sources`;
    docstrings, comments and layout do not count): ``[]`` none, ``None`` cannot be told.

    A change is not a wrong number: ``verify-results --recompute NAME`` tells whether the numbers
    moved. Files outside ``hw2/`` (Keras, NumPy: their versions are in the provenance) and data are
    not covered.
    """
    profile = profiles.resolve_profile(profile)
    store = store or store_for(profile)
    wanted = set(names() if only is None else [get(name).name for name in only])
    out = {}
    for path, meta in store.entries():
        name = meta.get("experiment")
        if name not in wanted or meta.get("version") != _store_version(get(name), profile):
            continue
        module = get(name).compute.__module__
        out[path.relative_to(store.root).as_posix()] = provenance.changed_sources(
            meta.get("provenance", {}), module, RENDER_ONLY_MODULES)
    return out


# Float fields whose value depends on the order of float sums (threads): compared within these.
RECOMPUTE_RTOL = 1e-6
RECOMPUTE_ATOL = 1e-9

#: Result fields that hold how long something took (wall clock), not what the computation
#: determined: a recomputation never reproduces them, so :func:`compare_data` does not compare them.
#: A new timing field must be named here (until it is, ``--recompute`` reports it as differing).
WALL_CLOCK_FIELDS = frozenset({"seconds", "images_per_second", "train_time_s", "epoch_time_s",
                               "seconds_per_epoch", "wall_time_s"})


def compare_data(stored: Any, fresh: Any, *, rtol: float = RECOMPUTE_RTOL, atol: float = RECOMPUTE_ATOL,
                 path: str = "data", skip: Iterable[str] = WALL_CLOCK_FIELDS) -> list[str]:
    """Fields where ``fresh`` differs from ``stored``: structure, strings, integers and booleans
    exactly; floats within ``atol + rtol * |stored|`` (NaN equals NaN). Members named in ``skip``
    (at any depth; default: :data:`WALL_CLOCK_FIELDS`) must exist on both sides but are not compared.

    Example:
        >>> compare_data({"a": 1.0, "b": [1, 2]}, {"a": 1.0 + 1e-9, "b": [1, 3]})
        ['data/b/1: 2 != 3']
        >>> compare_data({"loss": 0.5, "seconds": 12.0}, {"loss": 0.5, "seconds": 14.1})
        []
    """
    import numpy as np

    skip = frozenset(skip)
    if isinstance(stored, dict) or isinstance(fresh, dict):
        if not (isinstance(stored, dict) and isinstance(fresh, dict)):
            return [f"{path}: {type(stored).__name__} != {type(fresh).__name__}"]
        out = [f"{path}/{k}: only in the {'stored' if k in stored else 'recomputed'} result"
               for k in sorted(set(stored) ^ set(fresh), key=str)]
        for k in stored:
            if k in fresh and k not in skip:
                out += compare_data(stored[k], fresh[k], rtol=rtol, atol=atol, path=f"{path}/{k}", skip=skip)
        return out
    if isinstance(stored, (list, tuple)) and isinstance(fresh, (list, tuple)):
        if len(stored) != len(fresh):
            return [f"{path}: length {len(stored)} != {len(fresh)}"]
        return [d for i, (a, b) in enumerate(zip(stored, fresh))
                for d in compare_data(a, b, rtol=rtol, atol=atol, path=f"{path}/{i}", skip=skip)]
    a, b = np.asarray(stored), np.asarray(fresh)
    if a.shape != b.shape or (a.dtype.kind in "fc") != (b.dtype.kind in "fc"):
        return [f"{path}: shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype}"]
    if a.dtype.kind in "fc":
        close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        if close.all():
            return []
        worst = np.unravel_index(np.argmax(np.where(close, 0, np.abs(a - b))), a.shape) if a.ndim else ()
        example = f"e.g. {a[worst].item()!r} != {b[worst].item()!r}"
        return [f"{path}: {int((~close).sum())} of {a.size} values differ ({example})"]
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        return [] if stored == fresh else [f"{path}: {stored!r} != {fresh!r}"]
    if not np.array_equal(a, b):
        if a.ndim == 0:
            return [f"{path}: {stored!r} != {fresh!r}"]
        return [f"{path}: {int((a != b).sum())} of {a.size} values differ"]
    return []


def recompute_and_compare(name: str, profile: str = "full", store: ResultStore | None = None,
                          *, rtol: float = RECOMPUTE_RTOL, atol: float = RECOMPUTE_ATOL) -> list[str]:
    """Recompute every stored ``name`` entry of ``profile`` (its seed and config) into a temporary
    store and compare every stored number but the wall-clock ones (:func:`compare_data`). The store
    itself is never written.

    Returns:
        Problems, one line per differing field; empty when the stored result is reproduced.
    """
    import tempfile

    profile = profiles.resolve_profile(profile)
    experiment = get(name)
    store = store or store_for(profile)
    version = _store_version(experiment, profile)
    entries = [(p, m) for p, m in store.entries() if m.get("experiment") == name and m.get("version") == version]
    if not entries:
        return [f"{name}: no current {profile} result stored to recompute"]
    problems = []
    for path, meta in entries:
        seed = meta.get("config", {}).get("seed", 0)
        stored = store.load(name, meta["config"], version)
        where = path.relative_to(store.root).as_posix()
        with tempfile.TemporaryDirectory(prefix="hw2-recompute-") as tmp:
            fresh = run(name, profile, seed=seed, force=True, store=ResultStore(tmp))
        if canonical_json(fresh.config) != canonical_json(meta["config"]):
            problems.append(f"{where}: the current {profile} config differs from the stored one")
            continue
        problems += [f"{where}: {d}" for d in compare_data(stored.data, fresh.data, rtol=rtol, atol=atol)]
    return problems
