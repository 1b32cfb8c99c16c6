"""Problem 4's policies: cyclical LR (4.3), cyclical batch sizes (4.6), a constant-LR baseline
and the seeds 4.7 compares them at, on the setup of :mod:`hw2.experiments.p4_setup`.

==================  ==========================================  =========================================
experiment          homework part                               needs (run cache-first at ``finder_seed``)
==================  ==========================================  =========================================
p4.clr              4.3 cyclical LR, exp_range, batch 64        lr_min, lr_max from p4.lr_sweep
p4.cbs              4.6 cyclical batch size at lr_min           lr_min; b_min, b_max from p4.batch_sweep
p4.cbs_matched      4.6/4.7 CBS at lr_max, lr/B traces CLR's    lr_min, lr_max
p4.baseline         4.7 constant LR, batch 64                   the sweep's best LR
==================  ==========================================  =========================================

The CLR's config is the one home of the cycle (``step_epochs``, ``cycles``) every policy trains
for, and of the shape (mode, decay, batch size) the cyclical batch sizes mirror: the other
policies' ``prepare`` hooks copy it (:func:`with_clr_fields`, :func:`mirrored_clr`).

4.7 stores nothing of its own: :func:`policy_runs` reads every policy at the seeds of
:func:`compare_seeds` (0, 1, 2 at full) and :mod:`hw2.experiments.p4_policies_analysis` compares
them when the page renders.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p4.clr", profile="smoke")   # doctest: +SKIP
    >>> result.data["test_accuracy"]                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import keras
import numpy as np

from hw2 import accumulation, profiles, schedules, training
from hw2._checks import argument_error, check_choice, check_fields, check_int, check_range
from hw2.experiments import register
from hw2.experiments.p4_finders import prepare_lr_min
from hw2.experiments.p4_setup import LOSS, P4Setup, common_summary, data_arrays, eval_batch, network_builder, setup_note


# ------------------------------------------------------------------- training under a policy
def train_policy(config: P4Setup, data: dict, *, epochs: int, batch_policy, optimizer, seed: int,
                 label: str = "") -> dict:
    """Train MiniGoogLeNet for ``epochs`` epochs, epoch ``e`` at batch size ``batch_policy(e)``; test it.

    One :func:`hw2.training.fit_with_batch_policy` call: micro-batches of ``config.micro_batch``, a
    :class:`hw2.accumulation.GradientAccumulation` wrapper around ``optimizer`` (its state, and a
    learning-rate schedule's clock in updates, carry across batch sizes), validation after every
    epoch, one progress line per epoch on standard error.

    Returns what training produced and nothing read from it: per-epoch arrays (``history``: loss,
    accuracy, val_loss, val_accuracy, batch_size, steps = updates, learning_rate, seconds), the
    batch size of every update (``update_batch_sizes``), the test loss and accuracy on
    ``test_images`` images, the number of updates and the training throughput. Readings (best
    validation epoch, intervals, verdicts) are computed when a page renders
    (:func:`hw2.experiments.p4_policies_analysis.run_summary`), so changing one recomputes nothing.
    """
    keras.utils.set_random_seed(int(seed))
    model = network_builder(config)()
    model.compile(optimizer=accumulation.GradientAccumulation(optimizer), loss=LOSS, metrics=["accuracy"])
    x, y = data["train"]
    x_val, y_val = data["validation"]
    x_test, y_test = data["test"]
    history = training.fit_with_batch_policy(
        model, x, y, batch_policy, epochs, micro_batch=config.micro_batch, seed=seed,
        validation_data=(x_val, y_val), validation_batch_size=eval_batch(len(x_val)),
        callbacks=[training.EpochLogger(prefix=label)])
    test = model.evaluate(x_test, y_test, batch_size=eval_batch(len(x_test)), verbose=0, return_dict=True)
    seconds = float(np.sum(history["seconds"]))
    fed = len(history["epoch"]) * (len(x) // config.micro_batch) * config.micro_batch
    kept = ("epoch", "batch_size", "steps", "learning_rate", "seconds", "loss", "accuracy", "val_loss", "val_accuracy")
    return {
        "history": {key: np.asarray(history[key]) for key in kept},
        "diverged": bool(history["diverged"]),
        "test_loss": float(test["loss"]), "test_accuracy": float(test["accuracy"]), "test_images": len(x_test),
        "updates": int(np.sum(history["steps"])),
        "update_batch_sizes": np.asarray(history["update_batch_sizes"], dtype=np.int64),
        "images_per_second": float(fed / max(seconds, 1e-9)),
        "seconds": seconds,
    }


def _policy_summary(d: dict) -> dict:
    from hw2.experiments.p4_policies_analysis import run_summary  # a reading, made when asked (never stored)

    keys = ("test_accuracy", "diverged", "updates", "images_per_second")
    return {**{k: d[k] for k in keys}, **run_summary(d), **{k: d[k] for k in ("policy",) if k in d},
            **common_summary(d)}


@dataclasses.dataclass(frozen=True)
class PolicyRun(P4Setup):
    """Common fields of the policies compared in 4.7 (same epochs, same start).

    ``step_epochs`` and ``cycles`` (the training length, ``2 * step_epochs * cycles`` epochs) are
    the CLR's (:class:`CLRConfig`): ``None`` takes them from ``p4.clr``'s config at the same
    profile when ``prepare`` runs, so every policy trains as long as the CLR does.
    """

    step_epochs: int | None = None
    cycles: int | None = None
    finder_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_fields(self, ("step_epochs", "cycles"), optional=True)

    @property
    def epochs(self) -> int:
        if self.step_epochs is None or self.cycles is None:
            raise ValueError(f"{type(self).__name__} has no cycle yet: step_epochs and cycles are the CLR's, "
                             "filled by prepare (run it through hw2.experiments.run).")
        return 2 * self.step_epochs * self.cycles


#: The fields of the CLR's config a policy copies where its own are ``None``: the cycle every policy
#: of 4.7 shares, and the shape (mode, decay) the cyclical batch sizes mirror.
CLR_CYCLE = ("step_epochs", "cycles")
CLR_SHAPE = ("mode", "final_amplitude")


def with_clr_fields(config, clr, fields=CLR_CYCLE):
    """``config`` with each of ``fields`` that is ``None`` taken from the CLR config ``clr``.

    Example:
        >>> config = with_clr_fields(BaselineConfig(), CLRConfig(step_epochs=2, cycles=3))
        >>> config.step_epochs, config.cycles, config.epochs
        (2, 3, 12)
    """
    return dataclasses.replace(config, **{f: getattr(clr, f) for f in fields if getattr(config, f) is None})


def _decay_per_unit(final_amplitude: float, units: int) -> float:
    """``gamma`` such that ``gamma ** units == final_amplitude`` (exp_range's decay)."""
    return float(final_amplitude ** (1.0 / max(units, 1)))


# -------------------------------------------------------------------------------------- 4.3 CLR
@dataclasses.dataclass(frozen=True)
class CLRConfig(PolicyRun):
    """4.3: cyclical LR between lr_min and lr_max (from 4.2), ``exp_range``, at batch size 64.

    The cycle is ``2 * step_epochs`` epochs; ``gamma`` (per iteration) is chosen so that the
    amplitude falls to ``final_amplitude`` of its start by the last iteration: at the full
    specification (843 iterations per epoch, 48 epochs) that is ``gamma = 0.99994``, the value of
    the reference Keras CLR implementation.
    """

    step_epochs: int = 8
    cycles: int = 3
    batch_size: int = 64
    mode: str = "exp_range"
    final_amplitude: float = 0.1
    lr_min: float | None = None
    lr_max: float | None = None

    def __post_init__(self):
        super().__post_init__()
        check_fields(self, CLR_CYCLE)  # the CLR is where the other policies take their cycle from
        check_choice("mode", self.mode, schedules.LR_MODES)
        check_range("final_amplitude", self.final_amplitude, low=0, high=1, inclusive="right")


def _with_lr_bounds(config, upstream):
    """``lr_min`` / ``lr_max`` from the LR sweep where they are ``None``."""
    if config.lr_min is None or config.lr_max is None:
        sweep = upstream.result("p4.lr_sweep", seed=config.finder_seed)
        config = dataclasses.replace(config, lr_min=config.lr_min or sweep["lr_min"],
                                     lr_max=config.lr_max or sweep["lr_max"])
    return config


def clr_schedule(config, train_images: int, batch_size: int | None = None):
    """The :class:`hw2.schedules.CyclicalLearningRate` of ``config`` (a CLR config, or a CBS config
    mirroring one at ``batch_size``) and its iterations per epoch and in all."""
    per_epoch = train_images // (batch_size or config.batch_size)
    iterations = per_epoch * config.epochs
    gamma = _decay_per_unit(config.final_amplitude, iterations) if config.mode == "exp_range" else 1.0
    schedule = schedules.CyclicalLearningRate(config.lr_min, config.lr_max, step_size=config.step_epochs * per_epoch,
                                              mode=config.mode, gamma=gamma)
    return schedule, per_epoch, iterations


@register("p4.clr", version="4", config_cls=CLRConfig, gpu_recommended=True, prepare=_with_lr_bounds,
          needs=("p4.lr_sweep",), chain="p4", per_seed=True,
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"], "gamma": d["gamma"],
                               **_policy_summary(d)},
          description="P4.3: cyclical LR (exp_range, step 8 epochs, 3 cycles) between lr_min and lr_max")
def clr(config: CLRConfig) -> dict:
    if config.lr_min is None or config.lr_max is None:
        raise ValueError("p4.clr needs lr_min and lr_max (run through hw2.experiments.run, which fills them "
                         "from p4.lr_sweep).")
    data = data_arrays(config)
    schedule, per_epoch, iterations = clr_schedule(config, len(data["train"][0]))

    run = train_policy(config, data, epochs=config.epochs, batch_policy=config.batch_size,
                       optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=config.momentum),
                       seed=config.seed, label=f"clr seed {config.seed}: ")
    t = np.unique(np.linspace(0, iterations - 1, min(iterations, 4000)).astype(int))
    trace = config.lr_min + (config.lr_max - config.lr_min) * schedules.triangle_position(
        t, schedule.step_size, config.mode, schedule.gamma)
    return {"setup": setup_note(config), "policy": "CLR", "lr_min": config.lr_min, "lr_max": config.lr_max,
            "gamma": schedule.gamma, "step_iterations": schedule.step_size, "iterations_per_epoch": per_epoch,
            "epochs": config.epochs, "lr_trace_iteration": t, "lr_trace": trace, **run}


# -------------------------------------------------------------------------------------- 4.6 CBS
@dataclasses.dataclass(frozen=True)
class CBSConfig(PolicyRun):
    """4.6: cyclical batch size between b_min and b_max (from 4.5) at the constant LR lr_min.

    The policy is CLR's dual (:class:`hw2.schedules.CyclicalBatchSize`, ``scale="inverse"``: ``1/B``
    moves linearly in the triangle, as the CLR's learning rate does) with the CLR's step, cycles,
    mode and decay (``None`` here: taken from ``p4.clr``'s config, :data:`CLR_CYCLE` and
    :data:`CLR_SHAPE`). With ``exp_range`` its excursion towards b_min shrinks per cycle, cycle ``c``
    keeping ``final_amplitude ** ((c - 1) / cycles)`` of it (1, 0.46, 0.22 for 3 cycles and 0.1; the
    amplitude would reach ``final_amplitude`` only after the last epoch), and the batch size settles
    towards b_max as the CLR's rate settles at lr_min. The first cycle visits b_min and b_max.
    """

    mode: str | None = None
    scale: str = "inverse"
    final_amplitude: float | None = None
    lr: float | None = None
    b_min: int | None = None
    b_max: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.mode is not None:
            check_choice("mode", self.mode, schedules.BATCH_MODES)
        check_choice("scale", self.scale, schedules.BATCH_SCALES)
        if self.final_amplitude is not None:
            check_range("final_amplitude", self.final_amplitude, low=0, high=1, inclusive="right")


def _prepare_cbs(config, upstream):
    config = with_clr_fields(prepare_lr_min(config, upstream), upstream.config("p4.clr"), CLR_CYCLE + CLR_SHAPE)
    if config.b_min is None or config.b_max is None:
        found = upstream.result("p4.batch_sweep", seed=config.finder_seed)
        config = dataclasses.replace(config, b_min=config.b_min or found["b_min"],
                                     b_max=config.b_max or found["b_max"])
    return config


def cbs_policy(config) -> schedules.CyclicalBatchSize:
    """The :class:`hw2.schedules.CyclicalBatchSize` of a CBS config (time unit: epochs)."""
    gamma = _decay_per_unit(config.final_amplitude, config.epochs) if config.mode == "exp_range" else 1.0
    return schedules.CyclicalBatchSize(int(config.b_min), int(config.b_max), step_size=config.step_epochs,
                                       mode=config.mode, gamma=gamma, scale=config.scale)


def _cbs_run(config, label: str, policy) -> dict:
    if None in (config.lr, config.b_min, config.b_max):
        raise ValueError(f"{label} needs lr, b_min and b_max (hw2.experiments.run fills them from the finders).")
    data = data_arrays(config)
    run = train_policy(config, data, epochs=config.epochs, batch_policy=policy,
                       optimizer=keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum),
                       seed=config.seed, label=f"{label} seed {config.seed}: ")
    return {"setup": setup_note(config), "lr": config.lr, "b_min": int(config.b_min), "b_max": int(config.b_max),
            "gamma": getattr(policy, "gamma", math.nan), "scale": getattr(config, "scale", None),
            "epochs": config.epochs,
            "planned_batch_sizes": _planned(policy, config.epochs), **run}


def _planned(policy, epochs: int) -> np.ndarray:
    """The batch sizes a policy plans: one per update (an update plan) or one per epoch."""
    plan = getattr(policy, "update_plan", None)
    return plan(epochs) if plan is not None else policy.trajectory(epochs)


@register("p4.cbs", version="4", config_cls=CBSConfig, gpu_recommended=True, prepare=_prepare_cbs,
          needs=("p4.lr_sweep", "p4.batch_sweep"), chain="p4", per_seed=True,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"],
                               "batch_sizes": d["history"]["batch_size"], **_policy_summary(d)},
          description="P4.6: cyclical batch size (CLR's dual, exp_range) between b_min and b_max at lr_min")
def cbs(config: CBSConfig) -> dict:
    return dict(_cbs_run(config, "cbs", cbs_policy(config)), policy="CBS")


@dataclasses.dataclass(frozen=True)
class MatchedCBSConfig(PolicyRun):
    """4.6/4.7: a CBS whose gradient-noise temperature ``lr / B`` is the CLR's ``lr(t) / 64``.

    It runs at the fixed rate ``lr = lr_max`` with :class:`hw2.schedules.NoiseMatchedBatchSize` of
    the CLR of 4.3 (same bounds, step, cycles, mode and decay, at ``clr_batch`` = the CLR's batch
    size: every ``None`` field is taken from ``p4.clr``'s config by ``prepare``), update by
    update: each update takes the samples of the CLR's next ``k`` steps whose rates sum to about
    ``lr_max``, so ``B = k * clr_batch`` and ``lr_max / B`` is the CLR's mean ``lr / clr_batch`` over
    the same samples. ``b_min = clr_batch`` (a CLR step at ``lr_max``) and ``b_max = clr_batch *
    lr_max / lr_min`` (a step at ``lr_min``), rounded and capped at ``b_cap`` and the training set.
    Which of them the run reaches is the CLR's to say (:func:`matched_reach`): ``exp_range`` has
    already decayed at its first peak, and the cap needs ``b_max / clr_batch`` consecutive CLR
    steps near ``lr_min``. The homework's CBS at lr_min is, by the same measure, never hotter than
    the CLR's coldest point.
    """

    mode: str | None = None
    final_amplitude: float | None = None
    clr_batch: int | None = None
    b_cap: int = 8192
    lr: float | None = None
    b_min: int | None = None
    b_max: int | None = None
    lr_min: float | None = None
    lr_max: float | None = None

    def __post_init__(self):
        super().__post_init__()
        check_fields(self, ("clr_batch",), optional=True)
        check_int("b_cap", self.b_cap, low=1)
        if self.mode is not None:
            check_choice("mode", self.mode, schedules.LR_MODES)  # it mirrors a CLR

    def bounds(self) -> dict:
        """:func:`matched_bounds` of this config: the cap is ``b_cap`` and the training set."""
        return matched_bounds(self.lr_min, self.lr_max, self.clr_batch, min(self.b_cap, self.train_images))


def mirrored_clr(config, clr) -> MatchedCBSConfig:
    """``config`` with every field of the CLR it mirrors that is ``None`` taken from the CLR config ``clr``."""
    config = with_clr_fields(config, clr, CLR_CYCLE + CLR_SHAPE)
    return config if config.clr_batch is not None else dataclasses.replace(config, clr_batch=clr.batch_size)


def matched_policy(config: MatchedCBSConfig) -> schedules.NoiseMatchedBatchSize:
    """The batch-size policy of the noise-matched CBS: the CLR of ``config``'s bounds, seen through ``lr / B``."""
    schedule, per_epoch, _ = clr_schedule(config, config.train_images, batch_size=config.clr_batch)
    return schedules.NoiseMatchedBatchSize(schedule, lr=config.lr, reference_batch=config.clr_batch,
                                           b_max=int(config.b_max), steps_per_epoch=per_epoch)


def matched_reach(policy: schedules.NoiseMatchedBatchSize, epochs: int) -> dict:
    """How far a noise-matched batch size can reach towards its bounds, from the schedule it mirrors.

    ``b_hottest_exact`` is ``reference_batch * lr / max rate``: the batch of the schedule's hottest
    step (``reference_batch`` only if the schedule reaches ``lr``). ``coldest_window_over_lr`` is the
    smallest sum of ``b_max / reference_batch`` consecutive rates over ``lr``: at most 1, the
    schedule has a stretch cold enough for one update of ``b_max``; well above 1 (1.5) even its
    coldest stretch is too hot for it (the update would be that many times colder than the schedule
    over the same samples), so the cap is not reached.

    Example:
        >>> clr = schedules.CyclicalLearningRate(1e-3, 1e-1, step_size=100)
        >>> reach = matched_reach(schedules.NoiseMatchedBatchSize(clr, 1e-1, 64, 6400, 50), epochs=4)
        >>> round(reach["b_hottest_exact"], 1), round(reach["coldest_window_over_lr"], 1)
        (64.0, 50.0)
    """
    rates = policy.rates(epochs)
    k = policy.b_max // policy.reference_batch
    cumulative = np.concatenate([[0.0], np.cumsum(rates)])
    window = cumulative[k:] - cumulative[:-k] if k <= len(rates) else cumulative[-1:]
    return {"max_rate": float(rates.max()), "min_rate": float(rates.min()),
            "b_hottest_exact": float(policy.reference_batch * policy.lr / rates.max()),
            "b_coldest_exact": float(policy.reference_batch * policy.lr / rates.min()),
            "coldest_window_over_lr": float(window.min() / policy.lr), "window_steps": int(k)}


def stored_matched_reach(config: dict) -> dict:
    """:func:`matched_reach` of a stored ``p4.cbs_matched`` run, rebuilt from its stored config.

    The reach is a property of the policy (the CLR it mirrors), not of the training, so it is read
    when a page renders rather than stored.
    """
    fields = {f.name for f in dataclasses.fields(MatchedCBSConfig)}
    config = MatchedCBSConfig(**{k: v for k, v in config.items() if k in fields})
    return matched_reach(matched_policy(config), config.epochs)


def matched_bounds(lr_min: float, lr_max: float, clr_batch: int, cap: int) -> dict:
    """``b_min``, ``b_max`` of the noise-matched CBS, and whether the cap cut ``b_max``.

    Example:
        >>> matched_bounds(1e-3, 1e-1, 64, 8192)
        {'b_min': 64, 'b_max': 6400, 'exact_b_max': 6400.0, 'capped': False, 'cap': 8192}
        >>> matched_bounds(1e-4, 1e-1, 64, 8192)["b_max"], matched_bounds(1e-4, 1e-1, 64, 8192)["capped"]
        (8192, True)
    """
    exact = clr_batch * lr_max / lr_min
    cap = (cap // clr_batch) * clr_batch
    b_max = int(min(cap, max(2 * clr_batch, clr_batch * round(exact / clr_batch))))
    return {"b_min": int(clr_batch), "b_max": b_max, "exact_b_max": float(exact), "capped": bool(exact > cap),
            "cap": int(cap)}


def matched_plan_at(profile: str, lr_min: float, lr_max: float) -> dict:
    """The noise-matched CBS a profile would run with the bounds ``lr_min``, ``lr_max`` (no training).

    Returns the nominal ``bounds`` (:func:`matched_bounds`), the ``smallest`` and ``largest`` batch
    size of its update plan, its ``updates``, and the CLR's ``step_epochs`` and ``steps_per_epoch``:
    what a reduced page needs to say whether the full specification would reach the cap.

    Example:
        >>> out = matched_plan_at("full", 3.6e-4, 6e-2)
        >>> out["largest"], out["bounds"]["b_max"], out["steps_per_epoch"]
        (8192, 8192, 843)
    """
    config = matched_config(profile, lr_min, lr_max)
    plan = matched_policy(config).update_plan(config.epochs)
    return {"bounds": config.bounds(), "smallest": int(plan.min()), "largest": int(plan.max()),
            "updates": int(len(plan)), "step_epochs": int(config.step_epochs),
            "steps_per_epoch": config.train_images // config.clr_batch}


def matched_config(profile: str, lr_min: float, lr_max: float) -> MatchedCBSConfig:
    """The config ``p4.cbs_matched`` runs at ``profile`` with the LR bounds ``lr_min``, ``lr_max``:
    what its ``prepare`` makes of them, without running the LR sweep."""
    from hw2 import experiments

    config = experiments.get("p4.cbs_matched").config(profile, lr_min=lr_min, lr_max=lr_max)
    return _with_matched_bounds(mirrored_clr(config, experiments.get("p4.clr").config(profile)))


def _with_matched_bounds(config: MatchedCBSConfig) -> MatchedCBSConfig:
    bounds = config.bounds()
    return dataclasses.replace(config, lr=config.lr or config.lr_max, b_min=bounds["b_min"], b_max=bounds["b_max"])


def _prepare_matched(config, upstream):
    return _with_matched_bounds(mirrored_clr(_with_lr_bounds(config, upstream), upstream.config("p4.clr")))


@register("p4.cbs_matched", version="4", config_cls=MatchedCBSConfig, gpu_recommended=True,
          prepare=_prepare_matched, needs=("p4.lr_sweep",), chain="p4", per_seed=True,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"], "matched": d["matched"],
                               "batch_sizes": d["history"]["batch_size"], **_policy_summary(d)},
          description="P4.6/4.7: CBS at lr_max whose lr/B traces the CLR's lr/64 (noise-matched)")
def cbs_matched(config: MatchedCBSConfig) -> dict:
    if config.lr_min is None or config.lr_max is None:
        raise ValueError("p4.cbs_matched needs lr_min and lr_max (hw2.experiments.run fills them from p4.lr_sweep).")
    bounds = config.bounds()
    policy = matched_policy(config)
    k, rate_sums = policy.groups(config.epochs)
    run = _cbs_run(config, "matched cbs", policy)
    # How far the CLR lets the mirror reach (matched_reach) is read at page time from the config.
    return dict(run, policy="matched CBS", matched=bounds, clr_rate_sums=rate_sums, clr_batch=int(config.clr_batch))


# ---------------------------------------------------------------------------- 4.7 constant LR
@dataclasses.dataclass(frozen=True)
class BaselineConfig(PolicyRun):
    """4.7: constant learning rate ``lr`` (default: the sweep's lowest-loss LR) at batch size 64."""

    batch_size: int = 64
    lr: float | None = None


def _prepare_best_lr(config, upstream):
    config = with_clr_fields(config, upstream.config("p4.clr"))
    if config.lr is None:
        sweep = upstream.result("p4.lr_sweep", seed=config.finder_seed)
        config = dataclasses.replace(config, lr=sweep["best_lr"])
    return config


@register("p4.baseline", version="4", config_cls=BaselineConfig, gpu_recommended=True, prepare=_prepare_best_lr,
          needs=("p4.lr_sweep",), chain="p4", per_seed=True,
          summarize=lambda d: {"lr": d["lr"], **_policy_summary(d)},
          description="P4.7: constant-LR baseline (the LR sweep's best LR), same epochs as CLR")
def baseline(config: BaselineConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.baseline needs lr (hw2.experiments.run fills it from p4.lr_sweep).")
    data = data_arrays(config)

    run = train_policy(config, data, epochs=config.epochs, batch_policy=config.batch_size,
                       optimizer=keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum),
                       seed=config.seed, label=f"constant lr seed {config.seed}: ")
    return {"setup": setup_note(config), "policy": "constant LR", "lr": config.lr, "epochs": config.epochs, **run}


# ---------------------------------------------------------------------------------- 4.7 compare
POLICIES = {"CLR": "p4.clr", "CBS": "p4.cbs", "matched CBS": "p4.cbs_matched", "constant LR": "p4.baseline"}
#: The name under which :mod:`hw2.profiles` holds the seeds 4.7 compares the policies at. 4.7 stores
#: nothing of its own: it reads the policy runs and compares them when its page renders.
COMPARISON = "p4.compare"


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """4.7: the seeds at which every policy of :data:`POLICIES` is trained and compared."""

    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self):
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds:
            raise argument_error("seeds", "distinct integers >= 0", self.seeds)
        # stored as Python ints: experiments.run refuses a seed of 1.0 that check_int accepts
        object.__setattr__(self, "seeds", tuple(check_int("seeds", seed, low=0, high=2**32 - 1) for seed in self.seeds))


def compare_seeds(profile: str | None = None) -> tuple[int, ...]:
    """The seeds 4.7 compares the policies at, at ``profile`` (full: 0, 1, 2).

    Example:
        >>> compare_seeds("full")
        (0, 1, 2)
    """
    return tuple(profiles.config_for(COMPARISON, CompareConfig, profile).seeds)


@dataclasses.dataclass
class PolicyRuns:
    """The stored policy runs 4.7 compares: ``results[policy][seed]`` is a :class:`hw2.store.StoredResult`.

    ``profile`` is the profile every run comes from (one profile for all: a comparison never mixes
    a full-spec run with a reduced one); ``reduced_from`` is ``"full"`` when the full-spec runs were
    not all stored and the reduced profile was used instead.
    """

    results: dict
    profile: str
    seeds: tuple[int, ...]
    reduced_from: str | None = None

    @property
    def data(self) -> dict:
        """``{policy: {seed: run data}}``, what :func:`hw2.experiments.p4_policies_analysis.compare_policies` reads."""
        return {policy: {seed: r.data for seed, r in runs.items()} for policy, runs in self.results.items()}

    def all_results(self) -> list:
        return [r for runs in self.results.values() for r in runs.values()]


def _load_policy_runs(profile: str, seeds, policies, *, compute: bool) -> dict:
    from hw2 import experiments

    with contextlib.nullcontext() if compute else experiments.no_compute():
        return {policy: {seed: experiments.run(POLICIES[policy], profile, seed=seed) for seed in seeds}
                for policy in policies}


def policy_runs(profile: str | None = None, *, fallback: bool = False, policies=None) -> PolicyRuns:
    """Every policy of :data:`POLICIES` (or just ``policies``) at every seed of :func:`compare_seeds`, cache-first.

    With ``fallback`` at the full profile: if any full-spec run is missing and no accelerator is
    here, every run comes from the laptop profile instead (computed if needed), so the comparison
    is never a mixture of sizes.
    """
    from hw2 import experiments

    profile = profiles.resolve_profile(profile)
    policies = tuple(POLICIES) if policies is None else tuple(policies)
    for policy in policies:
        check_choice("policies", policy, tuple(POLICIES))
    seeds = compare_seeds(profile)
    if fallback and profile == "full" and not experiments._has_accelerator():
        try:
            return PolicyRuns(_load_policy_runs(profile, seeds, policies, compute=False), profile, seeds)
        except LookupError:
            reduced = "laptop"
            results = _load_policy_runs(reduced, compare_seeds(reduced), policies, compute=True)
            for runs in results.values():
                for r in runs.values():
                    r.provenance = dict(r.provenance, reduced_from="full")
            return PolicyRuns(results, reduced, compare_seeds(reduced), reduced_from="full")
    return PolicyRuns(_load_policy_runs(profile, seeds, policies, compute=True), profile, seeds)
