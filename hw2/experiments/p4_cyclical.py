"""Problem 4 experiments: LR sweep and range test, cyclical LR, batch-size finders, cyclical batch sizes.

MiniGoogLeNet (:func:`hw2.models.mini_googlenet`) on the fixed Fashion-MNIST split of
:mod:`hw2.experiments.p4_data` (images zero-padded to 32x32), SGD with momentum 0.9, categorical
cross-entropy on one-hot labels. Every run is one ``model.fit`` fed micro-batches of
``micro_batch`` (64) images (:func:`hw2.training.fit_with_batch_policy`): larger batch sizes are
effective batches of a :class:`hw2.training.GradientAccumulation` optimizer, so batch
normalization always sees ghost batches of 64 and a batch size changes the gradient noise only.
The experiments chain through their ``prepare`` hooks:

==================  ==========================================  =========================================
experiment          homework part                               needs (run cache-first at ``finder_seed``)
==================  ==========================================  =========================================
p4.lr_sweep         4.2 loss after 5 epochs per LR, lr_min/max  --
p4.lr_range_test    4.2 continuous LR range test (Figure 3)     --
p4.clr              4.3 cyclical LR, exp_range, batch 64        lr_min, lr_max from p4.lr_sweep
p4.baseline         4.7 constant LR, batch 64                   the sweep's best LR
p4.batch_sweep      4.4/4.5 loss per batch size at lr_min       lr_min
p4.noise_scale      4.5 gradient-noise-scale batch finder       lr_min
p4.cbs              4.6 cyclical batch size at lr_min           lr_min; b_min, b_max from p4.batch_sweep
p4.cbs_matched      4.6/4.7 CBS at lr_max, lr/B traces CLR's    lr_min, lr_max
==================  ==========================================  =========================================

4.7 stores nothing of its own: :func:`policy_runs` reads every policy at the seeds of
:func:`compare_seeds` (0, 1, 2 at full) and :mod:`hw2.experiments.p4_analysis` compares them when
the page renders. The stored results hold what training produced and only the readings a later
run trains with (lr_min, lr_max, the sweep's best rate, b_min, b_max); every other reading is made
at page time, so changing a rule, a threshold or a sentence recomputes nothing.

The finders always run at ``finder_seed`` (default 0), whatever the seed of the run that uses their
bounds: the seeds of 4.7 vary the initial weights and data order of the policies, not the bounds.
The analysis of the results is in :mod:`hw2.experiments.p4_analysis`.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p4.clr", profile="smoke")   # doctest: +SKIP
    >>> result.data["test_accuracy"]                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time

import keras
import numpy as np

from hw2 import noise_scale, profiles, schedules, sweeps, training
from hw2._checks import check_choice, check_int, check_range
from hw2.experiments import register
from hw2.experiments.p4_data import training_arrays
from hw2.models import PRECISIONS, mini_googlenet
from hw2.range_test import lr_range_test as range_test

LOSS = "categorical_crossentropy"


# ------------------------------------------------------------------------------- shared setup
@dataclasses.dataclass(frozen=True)
class P4Setup:
    """Data and model every P4 training experiment shares (defaults: the full specification).

    Attributes:
        train_size, validation_size, test_size: stratified subset sizes (``None``: the whole part:
            54 000 / 6 000 / 10 000 images).
        width: MiniGoogLeNet filter multiplier (1 = the published network).
        validation_per_class, split_seed: the fixed split (see :mod:`hw2.experiments.p4_data`).
        momentum: SGD momentum.
        micro_batch: the batch fed to the model (and normalized by batch norm); every batch size is
            a multiple of it, reached by accumulating micro-batch gradients.
        precision: ``"float32"`` or ``"mixed_bfloat16"`` (bfloat16 compute, float32 weights), chosen
            per profile by measurement (``benchmarks/minigooglenet.py``).
        bn_momentum: momentum of the batch-norm moving statistics (Keras' default 0.99). With
            only a few dozen updates per epoch (reduced profiles) 0.99 leaves the moving statistics
            far behind the weights and the inference-mode (validation) accuracy near chance; 0.9
            follows them within about ten updates.
    """

    train_size: int | None = None
    validation_size: int | None = None
    test_size: int | None = None
    width: float = 1.0
    validation_per_class: int = 600
    split_seed: int = 0
    momentum: float = 0.9
    micro_batch: int = 64
    bn_momentum: float = 0.99
    precision: str = "mixed_bfloat16"

    def __post_init__(self):
        check_range("width", self.width, low=0, inclusive="right")
        check_range("momentum", self.momentum, low=0, high=1, inclusive="left")
        check_range("bn_momentum", self.bn_momentum, low=0, high=1, inclusive="left")
        check_int("micro_batch", self.micro_batch, low=1)
        check_choice("precision", self.precision, PRECISIONS)


def _data(setup: P4Setup) -> dict:
    arrays = training_arrays(setup.train_size, setup.validation_size, setup.test_size,
                             setup.validation_per_class, setup.split_seed)
    return {name: (training.pad_to_32(x), y) for name, (x, y) in arrays.items()}


def _builder(setup: P4Setup):
    def build():
        model = mini_googlenet(input_shape=(32, 32, 1), width=setup.width, precision=setup.precision)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = setup.bn_momentum  # read when the train step is traced
        return model

    return build


def _sgd(momentum: float):
    return lambda lr: keras.optimizers.SGD(learning_rate=lr, momentum=momentum)


def _eval_batch(n: int, cap: int = 500) -> int:
    """The largest divisor of ``n`` up to ``cap``: one static evaluation shape, no partial batch."""
    return max(d for d in range(1, min(n, cap) + 1) if n % d == 0)


def setup_note(config) -> dict:
    """The sizes a page states next to a (possibly reduced) result."""
    return {"train_images": config.train_size or 54000, "validation_images": config.validation_size or 6000,
            "test_images": config.test_size or 10000, "width": config.width,
            "published_network": config.width == 1, "bn_momentum": config.bn_momentum,
            "precision": config.precision, "micro_batch": config.micro_batch}


def training_profile(profile: str | None = None) -> tuple[str, bool]:
    """The profile whose P4 training results the pages render, and whether it stands in for full.

    At the full profile without an accelerator and without a stored full-spec LR sweep (the first
    piece every other training needs), the pages fall back to the laptop profile
    (``experiments.run(..., fallback=True)``); anywhere else the profile is what it says.

    Example:
        >>> training_profile("smoke")
        ('smoke', False)
    """
    from hw2 import experiments

    profile = profiles.resolve_profile(profile)
    if profile != "full" or experiments._has_accelerator():
        return profile, False
    try:
        with experiments.no_compute():
            experiments.run("p4.lr_sweep", "full")
    except LookupError:
        return "laptop", True
    return profile, False


def _common_summary(data: dict) -> dict:
    return {"setup": data["setup"], "seconds": data.get("seconds")}


def _run_upstream(name: str, profile: str, fallback: bool, seed: int):
    from hw2 import experiments

    return experiments.run(name, profile, seed=seed, fallback=fallback)


# ------------------------------------------------------------------------------------ 4.2 sweep
@dataclasses.dataclass(frozen=True)
class LRSweepConfig(P4Setup):
    """4.2: ``n_lrs`` learning rates log-spaced over [lr_low, lr_high], ``epochs`` epochs each."""

    batch_size: int = 64
    lr_low: float = 1e-9
    lr_high: float = 1e1
    n_lrs: int = 10
    epochs: int = 5
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        if not 0 < self.lr_low < self.lr_high:
            raise ValueError(f"Arguments `lr_low`, `lr_high` must satisfy 0 < lr_low < lr_high. "
                             f"Received: lr_low={self.lr_low}, lr_high={self.lr_high}")
        if self.n_lrs < 2:
            raise ValueError(f"Argument `n_lrs` must be >= 2. Received: n_lrs={self.n_lrs}")
        if self.epochs < 1:
            raise ValueError(f"Argument `epochs` must be >= 1. Received: epochs={self.epochs}")

    @property
    def learning_rates(self) -> np.ndarray:
        return np.logspace(math.log10(self.lr_low), math.log10(self.lr_high), self.n_lrs)


def untrained_training_loss(sweep: sweeps.LRSweepResult) -> float:
    """The training-mode loss of the initial weights: the sweep's loss at its smallest LR.

    The rules compare training-mode epoch losses (dropout on, batch statistics in batch
    normalization). The sweep's ``initial_loss`` is an inference-mode evaluation of the same
    weights, which for MiniGoogLeNet (dropout 0.5, untrained moving statistics) is a different
    number; at 1e-9 the weights do not move, so that run's loss is the consistent reference.
    """
    return float(sweep.losses[0, -1])


@register("p4.lr_sweep", version="4", config_cls=LRSweepConfig, gpu_recommended=True,
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"], "best_lr": d["best_lr"],
                               "final_losses": d["final_losses"], "diverged": d["diverged"], **_common_summary(d)},
          description="P4.2: training loss after 5 epochs for 10 LRs in [1e-9, 1e1]; lr_min / lr_max")
def lr_sweep(config: LRSweepConfig) -> dict:
    data = _data(config)
    x, y = data["train"]
    start = time.perf_counter()
    sweep = sweeps.lr_sweep(_builder(config), x, y, learning_rates=config.learning_rates,
                             epochs=config.epochs, batch_size=config.batch_size,
                             optimizer=_sgd(config.momentum), loss=LOSS, seed=config.seed, progress=True,
                             callbacks=[training.EpochLogger(every=config.epochs, prefix="lr sweep: ")])
    reference = untrained_training_loss(sweep)
    # The bounds the policies train with are read here, once, and stored: they are part of what
    # the later runs were trained on. Every other rule is read when a page renders.
    default = sweep.suggest("default", reference=reference)
    final = sweep.final_losses
    best = int(np.argmin(np.where(np.isfinite(final), final, np.inf)))
    return {
        "setup": setup_note(config), "sweep": sweep.to_dict(),
        "lr_min": float(default.low), "lr_max": float(default.high),
        "reliable": bool(default.reliable), "reference_loss": reference,
        "best_lr": float(sweep.learning_rates[best]), "best_index": best,
        "final_losses": [float(v) for v in final], "diverged": [bool(v) for v in sweep.diverged],
        "seconds": time.perf_counter() - start,
    }


# ------------------------------------------------------------------------------- 4.2 range test
@dataclasses.dataclass(frozen=True)
class LRRangeTestConfig(P4Setup):
    """4.2: one run with the LR growing exponentially per batch from ``start_lr`` to ``end_lr``.

    ``epochs=3`` is what pyimagesearch's finder does on Fashion-MNIST (``ceil(2048 / steps per
    epoch)`` epochs at batch size 64 would be 3 on 60k images).
    """

    batch_size: int = 64
    start_lr: float = 1e-9
    end_lr: float = 1e1
    epochs: int = 3
    beta: float = 0.98
    stop_factor: float = 4.0
    seed: int = 0


#: The range test stores every step up to this many (3 epochs of the full split are 2529 steps), so
#: every rule can be read from the stored curve when a page renders; a longer test keeps this many,
#: evenly spaced.
RANGE_TEST_KEPT_STEPS = 20000


def range_test_reference(test: dict) -> float | None:
    """The range test's 'nothing learned' loss: the mean batch loss over its first 5 % of steps
    (rates within 5 % of the log range above ``start_lr``; the first batch alone is too noisy).

    Example:
        >>> round(range_test_reference({"losses": [2.3, 2.2, 2.4] + [1.0] * 57, "steps": 60}), 6)
        2.3
    """
    losses = np.asarray(test["losses"], dtype=float)
    head = losses[: max(1, int(0.05 * int(test["steps"])))]
    return float(np.mean(head[np.isfinite(head)])) if np.isfinite(head).any() else None


def range_test_result(data: dict):
    """The stored range test of a ``p4.lr_range_test`` result as a :class:`hw2.range_test.LRRangeTestResult`."""
    from hw2.range_test import LRRangeTestResult

    return LRRangeTestResult.from_dict(data["test"])


@register("p4.lr_range_test", version="4", config_cls=LRRangeTestConfig, gpu_recommended=True,
          summarize=lambda d: {"stop_reason": d["test"]["stop_reason"], "steps_run": len(d["test"]["lrs"]),
                               **_common_summary(d)},
          description="P4.2: continuous LR range test (pyimagesearch's Figure 3)")
def lr_range_test(config: LRRangeTestConfig) -> dict:
    data = _data(config)
    x, y = data["train"]
    model = _builder(config)()
    model.compile(optimizer=_sgd(config.momentum)(config.start_lr), loss=LOSS)
    start = time.perf_counter()
    test = range_test(model, x, y, start_lr=config.start_lr, end_lr=config.end_lr,
                                 epochs=config.epochs, batch_size=config.batch_size, beta=config.beta,
                                 stop_factor=config.stop_factor, seed=config.seed, progress=True)
    # The range test's bounds feed no training: they are read when a page renders
    # (hw2.experiments.p4_analysis.range_test_readings), from every stored step.
    keep = np.unique(np.linspace(0, len(test.lrs) - 1, min(len(test.lrs), RANGE_TEST_KEPT_STEPS)).astype(int))
    curve = dict(test.to_dict(), lrs=test.lrs[keep], losses=test.losses[keep], smoothed=test.smoothed[keep])
    return {"setup": setup_note(config), "test": curve, "kept_steps": keep,
            "seconds": time.perf_counter() - start}


# ------------------------------------------------------------------- training under a policy
def train_policy(config: P4Setup, data: dict, *, epochs: int, batch_policy, optimizer, seed: int,
                 label: str = "") -> dict:
    """Train MiniGoogLeNet for ``epochs`` epochs, epoch ``e`` at batch size ``batch_policy(e)``; test it.

    One :func:`hw2.training.fit_with_batch_policy` call: micro-batches of ``config.micro_batch``, a
    :class:`hw2.training.GradientAccumulation` wrapper around ``optimizer`` (its state, and a
    learning-rate schedule's clock in updates, carry across batch sizes), validation after every
    epoch, one progress line per epoch on standard error.

    Returns what training produced and nothing read from it: per-epoch arrays (``history``: loss,
    accuracy, val_loss, val_accuracy, batch_size, steps = updates, learning_rate, seconds), the
    batch size of every update (``update_batch_sizes``), the test loss and accuracy on
    ``test_images`` images, the number of updates and the training throughput. Readings (best
    validation epoch, intervals, verdicts) are computed when a page renders
    (:func:`hw2.experiments.p4_analysis.run_summary`), so changing one recomputes nothing.
    """
    keras.utils.set_random_seed(int(seed))
    model = _builder(config)()
    model.compile(optimizer=training.GradientAccumulation(optimizer), loss=LOSS, metrics=["accuracy"])
    x, y = data["train"]
    x_val, y_val = data["validation"]
    x_test, y_test = data["test"]
    history = training.fit_with_batch_policy(
        model, x, y, batch_policy, epochs, micro_batch=config.micro_batch, seed=seed,
        validation_data=(x_val, y_val), validation_batch_size=_eval_batch(len(x_val)),
        callbacks=[training.EpochLogger(prefix=label)])
    test = model.evaluate(x_test, y_test, batch_size=_eval_batch(len(x_test)), verbose=0, return_dict=True)
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
    from hw2.experiments.p4_analysis import run_summary  # a reading, made when asked (never stored)

    keys = ("test_accuracy", "diverged", "updates", "images_per_second")
    return {**{k: d[k] for k in keys}, **run_summary(d), **{k: d[k] for k in ("policy",) if k in d},
            **_common_summary(d)}


@dataclasses.dataclass(frozen=True)
class PolicyRun(P4Setup):
    """Common fields of the policies compared in 4.7 (same epochs, same start)."""

    step_epochs: int = 8
    cycles: int = 3
    finder_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_int("step_epochs", self.step_epochs, low=1)
        check_int("cycles", self.cycles, low=1)

    @property
    def epochs(self) -> int:
        return 2 * self.step_epochs * self.cycles


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

    batch_size: int = 64
    mode: str = "exp_range"
    final_amplitude: float = 0.1
    lr_min: float | None = None
    lr_max: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in schedules.LR_MODES:
            raise ValueError(f"Argument `mode` must be one of {schedules.LR_MODES}. Received: mode={self.mode!r}")
        if not 0 < self.final_amplitude <= 1:
            raise ValueError(f"Argument `final_amplitude` must be in (0, 1]. "
                             f"Received: final_amplitude={self.final_amplitude}")


def _prepare_lr_bounds(config, profile, fallback):
    if config.lr_min is None or config.lr_max is None:
        sweep = _run_upstream("p4.lr_sweep", profile, fallback, config.finder_seed).data
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


@register("p4.clr", version="4", config_cls=CLRConfig, gpu_recommended=True, prepare=_prepare_lr_bounds,
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"], "gamma": d["gamma"],
                               **_policy_summary(d)},
          description="P4.3: cyclical LR (exp_range, step 8 epochs, 3 cycles) between lr_min and lr_max")
def clr(config: CLRConfig) -> dict:
    if config.lr_min is None or config.lr_max is None:
        raise ValueError("p4.clr needs lr_min and lr_max (run through hw2.experiments.run, which fills them "
                         "from p4.lr_sweep).")
    data = _data(config)
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


# ---------------------------------------------------------------------------- 4.7 constant LR
@dataclasses.dataclass(frozen=True)
class BaselineConfig(PolicyRun):
    """4.7: constant learning rate ``lr`` (default: the sweep's lowest-loss LR) at batch size 64."""

    batch_size: int = 64
    lr: float | None = None


def _prepare_best_lr(config, profile, fallback):
    if config.lr is None:
        sweep = _run_upstream("p4.lr_sweep", profile, fallback, config.finder_seed).data
        config = dataclasses.replace(config, lr=sweep["best_lr"])
    return config


@register("p4.baseline", version="4", config_cls=BaselineConfig, gpu_recommended=True, prepare=_prepare_best_lr,
          summarize=lambda d: {"lr": d["lr"], **_policy_summary(d)},
          description="P4.7: constant-LR baseline (the LR sweep's best LR), same epochs as CLR")
def baseline(config: BaselineConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.baseline needs lr (hw2.experiments.run fills it from p4.lr_sweep).")
    data = _data(config)

    run = train_policy(config, data, epochs=config.epochs, batch_policy=config.batch_size,
                       optimizer=keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum),
                       seed=config.seed, label=f"constant lr seed {config.seed}: ")
    return {"setup": setup_note(config), "policy": "constant LR", "lr": config.lr, "epochs": config.epochs, **run}


# ------------------------------------------------------------------------------- 4.4/4.5 batch
@dataclasses.dataclass(frozen=True)
class BatchSweepConfig(P4Setup):
    """4.4: training loss after ``epochs`` epochs per batch size at the fixed LR ``lr`` (lr_min)."""

    batch_sizes: tuple[int, ...] = sweeps.DEFAULT_BATCH_SIZES
    epochs: int = 5
    budget: str = "epochs"
    lr: float | None = None
    reference_loss: float | None = None
    finder_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        sizes = self.batch_sizes
        if len(sizes) < 2 or list(sizes) != sorted(set(sizes)) or any(b % self.micro_batch for b in sizes):
            raise ValueError(f"Argument `batch_sizes` must be >= 2 increasing multiples of `micro_batch` "
                             f"({self.micro_batch}). Received: batch_sizes={sizes}")
        check_choice("budget", self.budget, sweeps.BUDGETS)


def _prepare_lr_min(config, profile, fallback):
    if config.lr is None or getattr(config, "reference_loss", 0.0) is None:
        sweep = _run_upstream("p4.lr_sweep", profile, fallback, config.finder_seed).data
        config = dataclasses.replace(config, lr=config.lr or sweep["lr_min"])
        if hasattr(config, "reference_loss") and config.reference_loss is None:
            config = dataclasses.replace(config, reference_loss=sweep["reference_loss"])
    return config


@register("p4.batch_sweep", version="4", config_cls=BatchSweepConfig, gpu_recommended=True,
          prepare=_prepare_lr_min,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"],
                               "final_losses": d["final_losses"], **_common_summary(d)},
          description="P4.4/4.5: training loss vs batch size 64..8192 at lr_min; b_min / b_max")
def batch_sweep(config: BatchSweepConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.batch_sweep needs lr (hw2.experiments.run fills it with lr_min from p4.lr_sweep).")
    data = _data(config)
    x, y = data["train"]
    start = time.perf_counter()
    sweep = sweeps.batch_size_sweep(
        _builder(config), x, y, lr=config.lr, batch_sizes=config.batch_sizes, budget=config.budget,
        epochs=config.epochs, micro_batch=config.micro_batch,
        optimizer=_sgd(config.momentum), loss=LOSS, seed=config.seed, progress=True,
        callbacks=[training.EpochLogger(every=config.epochs, prefix="batch sweep: ")])
    # Same reference as 4.2 (training-mode loss of the same initial weights), see
    # untrained_training_loss; without one, the rule falls back to the worst finite loss. The bounds
    # are stored because the CBS of 4.6 trains with them; the rule's evidence is read at page time.
    suggestion = sweep.suggest("default", reference=config.reference_loss)
    return {"setup": setup_note(config), "lr": config.lr, "sweep": sweep.to_dict(),
            "reference_loss": config.reference_loss, "b_min": suggestion.b_min, "b_max": suggestion.b_max,
            "reliable": bool(suggestion.reliable), "final_losses": [float(v) for v in sweep.final_losses],
            "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------- 4.5 gradient-noise finder
@dataclasses.dataclass(frozen=True)
class NoiseScaleConfig(P4Setup):
    """4.5: McCandlish et al.'s ``B_simple`` along ``epochs`` epochs of training at the fixed LR ``lr``.

    Each update averages ``accumulation`` micro-batch gradients (``B = accumulation * micro_batch``),
    which gives the two batch sizes of the estimator (:mod:`hw2.noise_scale`); the bounds are read by
    :func:`hw2.noise_scale.suggest_bounds`, clipped to ``[b_low, b_high]`` (the batch sweep's range).
    """

    accumulation: int = 8
    epochs: int = 5
    b_low: int = 64
    b_high: int = 8192
    lr: float | None = None
    finder_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_int("accumulation", self.accumulation, low=2)
        check_int("epochs", self.epochs, low=1)


@register("p4.noise_scale", version="2", config_cls=NoiseScaleConfig, gpu_recommended=True,
          prepare=lambda config, profile, fallback: _prepare_lr_min(config, profile, fallback),
          summarize=lambda d: {"lr": d["lr"], "b_simple": d["probe"]["b_simple"], **_common_summary(d)},
          description="P4.5: gradient-noise scale B_simple along training at lr_min; b_min / b_max from it")
def noise_scale_finder(config: NoiseScaleConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.noise_scale needs lr (hw2.experiments.run fills it with lr_min from p4.lr_sweep).")
    data = _data(config)
    x, y = data["train"]
    keras.utils.set_random_seed(int(config.seed))
    model = _builder(config)()
    model.compile(optimizer=training.GradientAccumulation(keras.optimizers.SGD(config.lr, momentum=config.momentum)),
                  loss=LOSS, metrics=["accuracy"])
    probe = noise_scale.GradientNoiseScale(config.micro_batch)
    start = time.perf_counter()
    history = training.fit_with_batch_policy(
        model, x, y, config.accumulation * config.micro_batch, config.epochs, micro_batch=config.micro_batch,
        seed=config.seed, callbacks=[probe, training.EpochLogger(prefix="noise scale: ")])
    # The bounds feed no training: hw2.noise_scale.suggest_bounds reads them when a page renders.
    return {"setup": setup_note(config), "lr": config.lr, "b_small": config.micro_batch,
            "b_big": config.accumulation * config.micro_batch,
            "probe": {k: np.asarray(v) for k, v in probe.history.items()},
            "loss": np.asarray(history["loss"]), "updates": int(np.sum(history["steps"])),
            "seconds": time.perf_counter() - start}


# -------------------------------------------------------------------------------------- 4.6 CBS
@dataclasses.dataclass(frozen=True)
class CBSConfig(PolicyRun):
    """4.6: cyclical batch size between b_min and b_max (from 4.5) at the constant LR lr_min.

    The policy is CLR's dual (:class:`hw2.schedules.CyclicalBatchSize`, ``scale="inverse"``: ``1/B``
    moves linearly in the triangle, as the CLR's learning rate does) with the same step, cycles and
    ``exp_range`` decay: its excursion towards b_min shrinks per cycle, cycle ``c`` keeping
    ``final_amplitude ** ((c - 1) / cycles)`` of it (1, 0.46, 0.22 for 3 cycles and 0.1; the amplitude
    would reach ``final_amplitude`` only after the last epoch), and the batch size settles towards
    b_max as the CLR's rate settles at lr_min. The first cycle visits b_min and b_max.
    """

    mode: str = "exp_range"
    scale: str = "inverse"
    final_amplitude: float = 0.1
    lr: float | None = None
    b_min: int | None = None
    b_max: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_choice("mode", self.mode, schedules.BATCH_MODES)
        check_choice("scale", self.scale, schedules.BATCH_SCALES)
        check_range("final_amplitude", self.final_amplitude, low=0, high=1, inclusive="right")


def _prepare_cbs(config, profile, fallback):
    config = _prepare_lr_min(config, profile, fallback)
    if config.b_min is None or config.b_max is None:
        found = _run_upstream("p4.batch_sweep", profile, fallback, config.finder_seed).data
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
    data = _data(config)
    run = train_policy(config, data, epochs=config.epochs, batch_policy=policy,
                       optimizer=keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum),
                       seed=config.seed, label=f"{label} seed {config.seed}: ")
    return {"setup": setup_note(config), "lr": config.lr, "b_min": int(config.b_min), "b_max": int(config.b_max),
            "gamma": getattr(policy, "gamma", math.nan), "scale": config.scale, "epochs": config.epochs,
            "planned_batch_sizes": _planned(policy, config.epochs), **run}


def _planned(policy, epochs: int) -> np.ndarray:
    """The batch sizes a policy plans: one per update (an update plan) or one per epoch."""
    plan = getattr(policy, "update_plan", None)
    return plan(epochs) if plan is not None else policy.trajectory(epochs)


@register("p4.cbs", version="4", config_cls=CBSConfig, gpu_recommended=True, prepare=_prepare_cbs,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"],
                               "batch_sizes": d["history"]["batch_size"], **_policy_summary(d)},
          description="P4.6: cyclical batch size (CLR's dual, exp_range) between b_min and b_max at lr_min")
def cbs(config: CBSConfig) -> dict:
    return dict(_cbs_run(config, "cbs", cbs_policy(config)), policy="CBS")


@dataclasses.dataclass(frozen=True)
class MatchedCBSConfig(CBSConfig):
    """4.6/4.7: a CBS whose gradient-noise temperature ``lr / B`` is the CLR's ``lr(t) / 64``.

    It runs at the fixed rate ``lr = lr_max`` with :class:`hw2.schedules.NoiseMatchedBatchSize` of
    the CLR of 4.3 (same bounds, step, cycles and exp_range decay, at ``clr_batch``), update by
    update: each update takes the samples of the CLR's next ``k`` steps whose rates sum to about
    ``lr_max``, so ``B = k * clr_batch`` and ``lr_max / B`` is the CLR's mean ``lr / clr_batch`` over
    the same samples. ``b_min = clr_batch`` (a CLR step at ``lr_max``) and ``b_max = clr_batch *
    lr_max / lr_min`` (a step at ``lr_min``), rounded and capped at ``b_cap`` and the training set.
    Which of them the run reaches is the CLR's to say (:func:`matched_reach`): ``exp_range`` has
    already decayed at its first peak, and the cap needs ``b_max / clr_batch`` consecutive CLR
    steps near ``lr_min``. The homework's CBS at lr_min is, by the same measure, never hotter than
    the CLR's coldest point.
    """

    clr_batch: int = 64
    b_cap: int = 8192
    lr_min: float | None = None
    lr_max: float | None = None

    def __post_init__(self):
        super().__post_init__()
        check_int("clr_batch", self.clr_batch, low=1)
        check_int("b_cap", self.b_cap, low=1)
        check_choice("mode", self.mode, schedules.LR_MODES)  # it mirrors a CLR


def matched_policy(config: MatchedCBSConfig, train_images: int) -> schedules.NoiseMatchedBatchSize:
    """The batch-size policy of the noise-matched CBS: the CLR of ``config``'s bounds, seen through ``lr / B``."""
    schedule, per_epoch, _ = clr_schedule(config, train_images, batch_size=config.clr_batch)
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
    return matched_reach(matched_policy(config, config.train_size or 54000), config.epochs)


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
    from hw2 import experiments

    config = experiments.get("p4.cbs_matched").config(profile)
    images = config.train_size or 54000
    bounds = matched_bounds(lr_min, lr_max, config.clr_batch, min(config.b_cap, images))
    config = dataclasses.replace(config, lr_min=lr_min, lr_max=lr_max, lr=lr_max, b_min=bounds["b_min"],
                                 b_max=bounds["b_max"])
    plan = matched_policy(config, images).update_plan(config.epochs)
    return {"bounds": bounds, "smallest": int(plan.min()), "largest": int(plan.max()), "updates": int(len(plan)),
            "step_epochs": int(config.step_epochs), "steps_per_epoch": images // config.clr_batch}


def _prepare_matched(config, profile, fallback):
    if config.lr_min is None or config.lr_max is None:
        sweep = _run_upstream("p4.lr_sweep", profile, fallback, config.finder_seed).data
        config = dataclasses.replace(config, lr_min=config.lr_min or sweep["lr_min"],
                                     lr_max=config.lr_max or sweep["lr_max"])
    train_images = config.train_size or 54000
    bounds = matched_bounds(config.lr_min, config.lr_max, config.clr_batch, min(config.b_cap, train_images))
    return dataclasses.replace(config, lr=config.lr or config.lr_max, b_min=bounds["b_min"], b_max=bounds["b_max"])


@register("p4.cbs_matched", version="4", config_cls=MatchedCBSConfig, gpu_recommended=True,
          prepare=_prepare_matched,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"], "matched": d["matched"],
                               "batch_sizes": d["history"]["batch_size"], **_policy_summary(d)},
          description="P4.6/4.7: CBS at lr_max whose lr/B traces the CLR's lr/64 (noise-matched)")
def cbs_matched(config: MatchedCBSConfig) -> dict:
    if config.lr_min is None or config.lr_max is None:
        raise ValueError("p4.cbs_matched needs lr_min and lr_max (hw2.experiments.run fills them from p4.lr_sweep).")
    train_images = config.train_size or 54000
    bounds = matched_bounds(config.lr_min, config.lr_max, config.clr_batch, min(config.b_cap, train_images))
    policy = matched_policy(config, train_images)
    k, rate_sums = policy.groups(config.epochs)
    run = _cbs_run(config, "matched cbs", policy)
    # How far the CLR lets the mirror reach (matched_reach) is read at page time from the config.
    return dict(run, policy="matched CBS", matched=bounds, clr_rate_sums=rate_sums, clr_batch=int(config.clr_batch))


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
            raise ValueError(f"Argument `seeds` must be distinct integers >= 0. Received: seeds={self.seeds}")
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
        """``{policy: {seed: run data}}``, what :func:`hw2.experiments.p4_analysis.compare_policies` reads."""
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
