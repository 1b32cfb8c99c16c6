"""Run an experiment chain piece by piece, copying each finished piece out at once.

A chain is every experiment registered with ``chain=NAME`` (:func:`hw2.experiments.register`),
in the order :func:`hw2.experiments.chain_members` gives: the experiments run once (the finders,
at the policies' ``finder_seed``), then the per-seed ones (the policies) at the first seed, then at
the next seeds, each after the experiments it ``needs``. ``python -m hw2 chain p4`` runs Problem 4
so: ``p4.lr_sweep``, ``p4.lr_range_test``, ``p4.batch_sweep``, ``p4.noise_scale``, then ``p4.clr``,
``p4.cbs``, ``p4.cbs_matched``, ``p4.baseline`` at seeds 0, 1, 2 (the seeds 4.7 compares the
policies at; 4.7 stores nothing of its own).

Every piece goes through :func:`hw2.experiments.run`, so it is cache-first: a rerun skips what is
stored and resumes where a killed run stopped. After each piece its result files are copied to a
folder (or one tar archive), only from bytes that passed their content digest; one line per piece
gives its wall time and training throughput (:func:`images_and_seconds`). A piece that fails
prints one line, and the chain goes on with every piece that does not need it. SIGTERM and Ctrl-C
stop it with a last line saying what was copied. Under JAX the chain turns on JAX's persistent
compilation cache (:func:`use_compilation_cache`) before Keras is imported.

How to run it on a GPU machine, what each switch does and what the lines mean:
``docs/reproducibility.rst`` ("Regenerating Problem 4 on a GPU").

Example:
    >>> [piece.label for piece in p4_plan(0, seeds=(0,), compare_seeds=(0,))][:5]
    ['p4.lr_sweep seed 0', 'p4.lr_range_test seed 0', 'p4.batch_sweep seed 0', 'p4.noise_scale seed 0', 'p4.clr seed 0']
    >>> images_and_seconds("p4.clr", {"images_per_second": 100.0, "seconds": 2.0})
    (200, 2.0)
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import signal
import sys
import tarfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from hw2._checks import argument_error, check_choice, check_int, check_positive
from hw2.atomic import atomic_write_bytes

#: The chains ``python -m hw2 chain`` offers (read without importing the experiments, hence Keras;
#: ``tests/test_chain.py`` checks it against the chains the registry names).
CHAINS = ("p4",)
LOG_NAME = "chain.log"

#: JAX's persistent compilation cache; read by JAX when it is imported (Keras imports it).
CACHE_ENV = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
             "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES")


def configured_backend(environ=None) -> str:
    """The backend importing Keras will select, read without importing it (which would import JAX
    before its cache is set): ``$KERAS_BACKEND``, else ``backend`` in ``$KERAS_HOME/keras.json``
    (``~/.keras``), else ``tensorflow``, Keras' own order.

    Example:
        >>> configured_backend({"KERAS_BACKEND": "jax"})
        'jax'
    """
    import json

    environ = os.environ if environ is None else environ
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    home = environ.get("KERAS_HOME")  # set, even empty, it is the folder (Keras tests `in os.environ`)
    if home is None:  # Keras falls back to /tmp when the home folder is not writable
        base = os.path.expanduser("~")
        home = Path(base if os.access(base, os.W_OK) else "/tmp") / ".keras"
    try:
        return json.loads((Path(home).expanduser() / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):  # no readable config: Keras' default
        return "tensorflow"


def default_cache_dir() -> Path:
    """``$HW2_XLA_CACHE``, else ``~/.cache/hw2/xla``."""
    return Path(os.environ.get("HW2_XLA_CACHE") or Path.home() / ".cache" / "hw2" / "xla").expanduser()


def use_compilation_cache(directory: str | os.PathLike | None = None, environ=None) -> str:
    """Point JAX's persistent compilation cache at ``directory`` (default :func:`default_cache_dir`)
    and cache every program, however quick to compile or small, by setting the environment
    variables of :data:`CACHE_ENV` in ``environ`` (default ``os.environ``).

    JAX reads them when it is imported, and Keras imports JAX, so call this before Keras is
    imported (``python -m hw2 chain`` does so first thing). Values already set (on the command
    line) are kept. The variables mean nothing to TensorFlow: harmless under another backend.
    Returns one line saying what was done, or that JAX was imported too early for it to act.

    Example:
        >>> import tempfile
        >>> env = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1"}  # as if set on the command line
        >>> folder = tempfile.mkdtemp()
        >>> _ = use_compilation_cache(folder, environ=env)
        >>> env["JAX_COMPILATION_CACHE_DIR"] == folder, env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]
        (True, '1')
        >>> env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"]
        '-1'
    """
    environ = os.environ if environ is None else environ
    directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
    environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(directory))
    environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    where = environ["JAX_COMPILATION_CACHE_DIR"]
    if "jax" in sys.modules:
        return (f"JAX was imported before the chain started, so its compilation cache is what it started with "
                f"(set {CACHE_ENV[0]}={where} on the command line to change it)")
    Path(where).mkdir(parents=True, exist_ok=True)
    return f"XLA compilation cache (JAX backend): {where}"


# ------------------------------------------------------------------------------------ the plan
@dataclasses.dataclass(frozen=True)
class Piece:
    """One experiment at one seed, and the pieces (``(experiment, seed)``) it takes results from."""

    experiment: str
    seed: int
    needs: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> tuple[str, int]:
        return self.experiment, self.seed

    @property
    def label(self) -> str:
        return f"{self.experiment} seed {self.seed}"


@dataclasses.dataclass(frozen=True)
class Plan:
    """The pieces of a chain in the order they run, and why a piece was left out (if one was)."""

    chain: str
    profile: str
    pieces: tuple[Piece, ...]
    notes: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()  # every experiment of the chain, also those ``only`` left out

    def __iter__(self):
        return iter(self.pieces)

    def __len__(self):
        return len(self.pieces)


def build_plan(chain: str, members: Sequence, finder_seed: int, seeds: Sequence[int],
               compare_seeds: Sequence[int], profile: str = "full", only: Iterable[str] | None = None) -> Plan:
    """The pieces of ``chain`` for these seeds (pure: no Keras, no store).

    ``members`` are the chain's experiments in order (anything with ``name``, ``needs`` and
    ``per_seed``, as :class:`hw2.experiments.Experiment`): the ones run once come first, at
    ``finder_seed``, then the per-seed ones at each of ``seeds``. ``compare_seeds`` are the seeds 4.7
    compares the policies at; a chain that leaves some out says so. ``only`` keeps the pieces of
    these experiments.

    Example:
        >>> from types import SimpleNamespace as E
        >>> members = [E(name="sweep", needs=(), per_seed=False), E(name="fit", needs=("sweep",), per_seed=True)]
        >>> [(p.label, p.needs) for p in build_plan("demo", members, 0, seeds=(0, 1), compare_seeds=(0, 1))]
        [('sweep seed 0', ()), ('fit seed 0', (('sweep', 0),)), ('fit seed 1', (('sweep', 0),))]
    """
    seeds = _check_seeds(seeds)
    finder_seed = _check_seeds([finder_seed], "finder_seed")[0]
    known = tuple(member.name for member in members)
    per_seed = {member.name for member in members if member.per_seed}
    only = None if only is None else list(only)
    if only is not None:
        unknown = [name for name in only if name not in known]
        if unknown or not only:
            raise argument_error("only", f"names of pieces of chain {chain} ({', '.join(known)})", only)

    def piece(member, seed):
        needs = tuple((need, seed if need in per_seed else finder_seed) for need in member.needs if need in known)
        return Piece(member.name, seed, needs)

    pieces = [piece(member, finder_seed) for member in members if not member.per_seed]
    pieces += [piece(member, seed) for seed in seeds for member in members if member.per_seed]
    notes = []
    missing = [int(s) for s in compare_seeds if int(s) not in seeds]
    if missing:
        notes.append(f"4.7 compares the policies at seeds {_seed_list(compare_seeds)}; this chain runs seeds "
                     f"{_seed_list(seeds)}, so 4.7 will find seeds {_seed_list(missing)} missing")
    if only is not None:
        pieces = [piece for piece in pieces if piece.experiment in only]
        if not pieces:
            raise argument_error("only", f"pieces that run at seeds {_seed_list(seeds)} "
                                 f"({'; '.join(notes) or 'check the names'})", only)
    return Plan(chain, profile, tuple(pieces), tuple(notes), known)


def p4_plan(finder_seed: int, seeds: Sequence[int], compare_seeds: Sequence[int], profile: str = "full",
            only: Iterable[str] | None = None) -> Plan:
    """The P4 chain for these seeds, its experiments and their needs read from the registry
    (:func:`hw2.experiments.chain_members`; imports the experiments, so Keras).

    Example:
        >>> plan = p4_plan(0, seeds=(0, 1, 2), compare_seeds=(0, 1, 2))
        >>> [piece.label for piece in plan][4:13:4], len(plan)
        (['p4.clr seed 0', 'p4.clr seed 1', 'p4.clr seed 2'], 16)
        >>> p4_plan(0, seeds=(0,), compare_seeds=(0, 1, 2)).notes[0]
        '4.7 compares the policies at seeds 0 1 2; this chain runs seeds 0, so 4.7 will find seeds 1 2 missing'
    """
    from hw2 import experiments

    return build_plan("p4", experiments.chain_members("p4"), finder_seed, seeds, compare_seeds, profile, only)


def plan(chain: str, profile: str, *, seeds: Sequence[int] | None = None,
         only: Iterable[str] | None = None) -> Plan:
    """The plan of ``chain`` at ``profile``: seeds default to the seeds 4.7 compares the policies at
    that profile, the finders run at the policies' ``finder_seed`` (imports the experiments, so Keras)."""
    from hw2 import experiments, profiles
    from hw2.experiments.p4_policies import compare_seeds as seeds_compared

    check_choice("chain", chain, CHAINS)
    profile = profiles.resolve_profile(profile)
    compare_seeds = seeds_compared(profile)
    per_seed = next(member for member in experiments.chain_members(chain) if member.per_seed)
    finder_seed = per_seed.config(profile).finder_seed
    return p4_plan(finder_seed, compare_seeds if seeds is None else seeds, compare_seeds, profile, only)


def archive_name(plan: Plan) -> str:
    """The archive ``--tar`` copies into: ``<chain>-<profile>.tar``."""
    return f"{plan.chain}-{plan.profile}.tar"


def _check_seeds(seeds, name: str = "seeds") -> list[int]:
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise argument_error(name, "distinct integers in [0, 4294967295]", seeds)
    return [check_int(name, seed, low=0, high=2**32 - 1) for seed in seeds]


def _seed_list(seeds) -> str:
    return " ".join(str(s) for s in seeds)


def check_time_limit(seconds, name: str = "--time-limit") -> float:
    """A time limit in seconds: finite and > 0.

    Example:
        >>> check_time_limit(float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: Argument `--time-limit` must be > 0 and finite. Received: --time-limit=inf
    """
    return check_positive(name, seconds)


# ------------------------------------------------------------------------------ throughput
def _policy_images(data: dict) -> tuple[int, float]:
    return int(round(float(data["images_per_second"]) * float(data["seconds"]))), float(data["seconds"])


def _lr_sweep_images(data: dict) -> tuple[int, float]:
    import numpy as np

    sweep = data["sweep"]
    batch = int(sweep["batch_size"])
    per_epoch = (int(data["setup"]["train_images"]) // batch) * batch  # full batches only
    epochs = np.where(np.asarray(sweep["diverged"], bool), np.asarray(sweep["diverged_epoch"]) + 1,
                      int(sweep["epochs"]))  # a diverged run stops in the epoch it diverged
    return int(epochs.sum()) * per_epoch, float(np.sum(sweep["seconds"]))


def _range_test_images(data: dict) -> tuple[int, float]:
    steps = int(data["kept_steps"][-1]) + 1 if len(data["kept_steps"]) else 0  # the last step is always kept
    return steps * int(data["test"]["batch_size"]), float(data["seconds"])


def _batch_sweep_images(data: dict) -> tuple[int, float]:
    import numpy as np

    sweep = data["sweep"]
    seconds = np.asarray(sweep["seconds"], float)
    return int(round(float(np.sum(np.asarray(sweep["images_per_second"], float) * seconds)))), float(seconds.sum())


def _noise_scale_images(data: dict) -> tuple[int, float]:
    return int(data["updates"]) * int(data["b_big"]), float(data["seconds"])


#: experiment -> ``data -> (training images, training seconds)``, read from what the finders store.
THROUGHPUT = {"p4.lr_sweep": _lr_sweep_images, "p4.lr_range_test": _range_test_images,
              "p4.batch_sweep": _batch_sweep_images, "p4.noise_scale": _noise_scale_images}


def images_and_seconds(experiment: str, data: dict) -> tuple[int, float] | None:
    """Training images and training seconds a stored result records: a finder's from
    :data:`THROUGHPUT`, a policy run's from the ``images_per_second`` and ``seconds`` that
    :func:`hw2.experiments.p4_policies.train_policy` stores (``None``: it trains nothing)."""
    if experiment in THROUGHPUT:
        return THROUGHPUT[experiment](data)
    return _policy_images(data) if "images_per_second" in data and "seconds" in data else None


# ---------------------------------------------------------------------------------- copying
def check_copy_folder(folder: str | os.PathLike, tar_name: str | None = None) -> str:
    """Check, creating nothing, that ``folder`` can receive the copies (``--copy-to``); with
    ``tar_name``, that an archive already there can be read (its members are kept). Returns one
    line saying what is there.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> check_copy_folder(folder / "new", "p4-full.tar")
        'a new folder'
        >>> _ = (folder / "a-file").write_text("")
        >>> check_copy_folder(folder / "a-file")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `--copy-to` must be a folder that can be written. Received: --copy-to=... (a file)
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        what = "a file" if existing == folder else f"{existing} is a file"
        raise _bad_copy_folder(folder, what)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _bad_copy_folder(folder, f"{existing} is not writable")
    if existing != folder:
        return "a new folder"
    archive = folder / tar_name if tar_name else None
    if archive is None or not archive.exists():
        return "an existing folder"
    return f"an archive of {len(_read_archive(archive))} result file(s) already there, kept"


def _bad_copy_folder(folder: Path, why: str) -> ValueError:
    return argument_error("--copy-to", "a folder that can be written", received=f"--copy-to={folder} ({why})")


def _read_archive(path: Path) -> dict[str, tuple[bytes, int]]:
    """The regular-file members of an archive the chain wrote: ``name -> (bytes, mtime)``."""
    try:
        with tarfile.open(path) as archive:
            return {info.name: (archive.extractfile(info).read(), int(info.mtime))
                    for info in archive.getmembers() if info.isfile()}
    except (tarfile.TarError, OSError) as exc:
        raise argument_error("--copy-to", "a folder whose archive of this chain, if any, can be read (else the "
                             "chain would overwrite it; fix: move it away, or copy to another folder)",
                             received=f"{path}, which is not a readable tar archive ({exc})") from exc


class Copier:
    """Copies result files out as ``<experiment>/<file>.npz``: into ``folder``, or (``tar``) into one
    archive ``folder/<name>`` rewritten atomically after each addition. Either way a reader (or a
    killed process) leaves only complete files behind.

    Each file is read once, checked against its content digest (:meth:`hw2.store.ResultStore.decode`)
    and those bytes are written: an edited or damaged file is logged and left behind. An archive
    already in ``folder`` keeps its members; a new file of the same name replaces its member.
    """

    def __init__(self, folder: str | os.PathLike, *, tar_name: str | None = None):
        check_copy_folder(folder, tar_name)
        self.folder = Path(folder)
        self.tar_name = tar_name
        self.folder.mkdir(parents=True, exist_ok=True)
        self._members = _read_archive(self.target) if tar_name and self.target.exists() else {}
        self._stamps: dict[str, tuple[int, int]] = {}
        self.copied: list[str] = []  # member names copied by this copier, in order
        self.refused: list[str] = []  # "member: why" for files that failed their digest

    @staticmethod
    def member(path: Path) -> str:
        return f"{path.parent.name}/{path.name}"

    @property
    def target(self) -> Path:
        return self.folder / self.tar_name if self.tar_name else self.folder

    def add(self, paths: Iterable[str | os.PathLike]) -> list[str]:
        """Copy these result files (those new or changed since the last copy, and intact); return
        their member names."""
        from hw2.store import ResultIntegrityError, ResultStore

        changed = []
        for path in map(Path, paths):
            name, stat = self.member(path), path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._stamps.get(name) == stamp:
                continue
            self._stamps[name] = stamp
            content = path.read_bytes()
            try:
                ResultStore.decode(content, path)
            except ResultIntegrityError as exc:
                self.refused.append(f"{name}: {exc}")
                self.log(f"[chain] not copied: {' '.join(str(exc).split())}")
                continue
            if self.tar_name is None:
                atomic_write_bytes(self.folder / name, content)
            else:
                self._members[name] = content, int(stat.st_mtime)
            changed.append(name)
        if changed and self.tar_name is not None:
            atomic_write_bytes(self.target, self._archive())
        self.copied += changed
        return changed

    def _archive(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name in sorted(self._members):
                data, mtime = self._members[name]
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), mtime, 0o644
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def log(self, text: str) -> None:
        with open(self.folder / LOG_NAME, "a", encoding="utf-8") as handle:
            handle.write(text.rstrip("\n") + "\n")


def _new_results(root: Path, experiments: Iterable[str], since: float) -> list[Path]:
    """Result files under ``root/<experiment>/`` written since ``since`` (upstream results that a
    ``prepare`` hook computed inside another piece)."""
    out = []
    for name in experiments:
        for path in sorted((root / name).glob("*.npz")):
            if path.stat().st_mtime >= since:
                out.append(path)
    return out


# ---------------------------------------------------------------------------------- running
@dataclasses.dataclass
class Outcome:
    """What became of one piece: ``status`` is computed, stored, failed, skipped or not started."""

    piece: Piece
    status: str
    wall_s: float = 0.0
    images: int | None = None
    train_s: float | None = None
    path: Path | None = None
    error: str = ""

    @property
    def done(self) -> bool:
        return self.status in ("computed", "stored")


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _throughput(images: int | None, seconds: float | None) -> str:
    if images is None or not seconds:
        return "no training"
    return f"{images / seconds:,.0f} img/s ({images:,} images in {seconds:.1f} s of training)"


def run_chain(plan: Plan, copy_to: str | os.PathLike, *, tar: bool = False, time_limit_s: float | None = None,
              runner: Callable | None = None, echo: Callable[[str], None] = print) -> list[Outcome]:
    """Run ``plan``'s pieces in order through ``runner`` (default :func:`hw2.experiments.run`),
    copying each finished piece to ``copy_to`` and echoing one line per piece.

    Once ``time_limit_s`` seconds have passed, no further piece is started; a piece whose upstream
    piece failed or was skipped is skipped. Exceptions of a piece are caught (the traceback goes
    to ``chain.log``). While it runs (in the main thread), SIGTERM and SIGINT stop it: the last
    line says which signal, during which piece, after how long and what was copied, and it raises
    ``SystemExit(128 + signal)``; the handlers it replaced are restored when it returns.

    Example:
        >>> import tempfile, pathlib, types
        >>> from hw2.store import ResultStore
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> def fake_run(name, profile, seed):  # stores a result, as hw2.experiments.run does
        ...     path = ResultStore(folder / "store").save(name, {"seed": seed}, "1", {}, {}).path
        ...     return types.SimpleNamespace(path=path, from_store=False, data={})
        >>> outcomes = run_chain(p4_plan(0, (0,), (0,), "smoke"), folder / "out", runner=fake_run, echo=lambda s: None)
        >>> [o.status for o in outcomes].count("computed"), sorted(p.name for p in (folder / "out").iterdir())[:2]
        (8, ['chain.log', 'p4.baseline'])
    """
    if runner is None:
        from hw2 import experiments

        runner = experiments.run
    if time_limit_s is not None:
        check_time_limit(time_limit_s, "time_limit_s")
    copier = Copier(copy_to, tar_name=archive_name(plan) if tar else None)
    names = sorted({*plan.experiments, *(piece.experiment for piece in plan)})
    say = lambda line: (echo(line), copier.log(line))
    chain_start = time.time()
    clock = time.perf_counter()
    say(f"[chain] {plan.chain} at profile {plan.profile}: {len(plan)} pieces -> {copier.target}")
    for note in plan.notes:
        say(f"[chain] {note}")
    status: dict[tuple[str, int], str] = {}
    outcomes: list[Outcome] = []
    running = {}  # the piece in progress and when it started, for the line a signal leaves
    try:
        with _stopped_by_signals():
            for index, piece in enumerate(plan, 1):
                head = f"[chain] {index}/{len(plan)} {piece.label}:"
                blocked = [need for need in piece.needs if status.get(need) in ("failed", "skipped", "not started")]
                elapsed = time.perf_counter() - clock
                if time_limit_s is not None and elapsed >= time_limit_s:
                    outcome = Outcome(piece, "not started", error=f"time limit {time_limit_s:g} s reached")
                    say(f"{head} not started: {outcome.error}; total {elapsed:.1f} s")
                elif blocked:
                    need = blocked[0]
                    outcome = Outcome(piece, "skipped", error=f"needs {need[0]} seed {need[1]}, which {status[need]}")
                    say(f"{head} skipped: {outcome.error}; total {elapsed:.1f} s")
                else:
                    running.update(piece=piece, start=time.perf_counter())
                    outcome = _run_piece(piece, plan.profile, runner, copier, names, chain_start, say, head, clock)
                    running.clear()
                status[piece.key] = outcome.status
                outcomes.append(outcome)
    except ChainStopped as stop:
        _say_stopped(stop, running, copier, say, clock, len(plan) - len(outcomes) - bool(running))
        raise SystemExit(128 + stop.signum) from None
    counts = {s: sum(o.status == s for o in outcomes) for s in ("computed", "stored", "failed", "skipped",
                                                                "not started")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    say(f"[chain] {plan.chain} at profile {plan.profile}: {summary}; total {time.perf_counter() - clock:.1f} s; "
        f"copies in {copier.target}")
    if counts["computed"] + counts["stored"] < len(outcomes):
        say("[chain] rerun the same command to go on: stored pieces are read, not recomputed")
    return outcomes


class ChainStopped(BaseException):
    """SIGTERM or SIGINT arrived during a chain. A ``BaseException``, like ``KeyboardInterrupt``:
    the ``except Exception`` that keeps a failed piece from stopping the chain must not catch it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def _stopped_by_signals():
    """Turn SIGTERM and SIGINT into :class:`ChainStopped` for the duration (main thread only: Python
    delivers signals there), then restore the handlers that were there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise ChainStopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _say_stopped(stop: ChainStopped, running: dict, copier: Copier, say, clock, left: int) -> None:
    now = time.perf_counter()
    during = (f"during {running['piece'].label} (running {now - running['start']:.1f} s)"
              if running else "between pieces")
    copied = f"{len(copier.copied)} file(s) copied: {', '.join(copier.copied)}" if copier.copied else "nothing copied"
    say(f"[chain] stopped by {stop} after {now - clock:.1f} s, {during}; {left} piece(s) not started; {copied}")
    say("[chain] rerun the same command to go on: stored pieces are read, not recomputed")


def _run_piece(piece, profile, runner, copier, names, chain_start, say, head, clock) -> Outcome:
    start = time.perf_counter()
    try:
        result = runner(piece.experiment, profile, seed=piece.seed)
        outcome = Outcome(piece, "stored" if result.from_store else "computed", time.perf_counter() - start,
                          path=result.path)
        copied, refused = [], len(copier.refused)
        if result.path is not None:  # a piece counts as done once its copy is out
            root = Path(result.path).parent.parent
            copied = copier.add([result.path, *_new_results(root, names, chain_start)])
    except Exception as exc:  # a failed piece must not stop the pieces that do not need it
        wall = time.perf_counter() - start
        outcome = Outcome(piece, "failed", wall, error=_one_line(exc))
        say(f"{head} FAILED after {wall:.1f} s: {outcome.error}; total {time.perf_counter() - clock:.1f} s")
        copier.log(traceback.format_exc())
        return outcome
    try:
        measured = images_and_seconds(piece.experiment, result.data)
        if measured is not None:
            outcome.images, outcome.train_s = measured
        speed = _throughput(outcome.images, outcome.train_s)
    except Exception as exc:  # a result laid out otherwise than expected is still a finished piece
        speed = f"img/s not read ({_one_line(exc)})"
    how = "read from the store" if outcome.status == "stored" else "computed"
    where = Copier.member(Path(result.path)) if result.path is not None else "nothing stored"
    extra = f" (+{len(copied) - 1} upstream)" if len(copied) > 1 else ""
    if len(copier.refused) > refused:
        extra += f"; {len(copier.refused) - refused} file(s) failed their digest and were not copied (see {LOG_NAME})"
    say(f"{head} {how} in {outcome.wall_s:.1f} s; {speed}; -> {where}{extra}; "
        f"total {time.perf_counter() - clock:.1f} s")
    return outcome
