"""Problem 4 experiments: LR sweep and range test, cyclical LR, batch-size sweep, cyclical batch size.

MiniGoogLeNet (:func:`hw2.models.mini_googlenet`) on the fixed Fashion-MNIST split of
:mod:`hw2.experiments.p4_data` (images zero-padded to 32x32), SGD with momentum 0.9, categorical
cross-entropy on one-hot labels. The experiments chain through their ``prepare`` hooks:

=================  ===========================================  =======================================
experiment         homework part                                needs (run cache-first at ``finder_seed``)
=================  ===========================================  =======================================
p4.lr_sweep        4.2 loss after 5 epochs per LR, lr_min/max   --
p4.lr_range_test   4.2 continuous LR range test (Figure 3)      --
p4.clr             4.3 cyclical LR, exp_range                   lr_min, lr_max from p4.lr_sweep
p4.baseline        4.7 constant LR                              the sweep's best LR
p4.batch_sweep     4.4/4.5 loss per batch size at lr_min        lr_min
p4.cbs             4.6 cyclical batch size at lr_min            lr_min; b_min, b_max from p4.batch_sweep
p4.compare         4.7 CLR vs CBS vs constant LR over seeds     p4.clr, p4.cbs, p4.baseline per seed
=================  ===========================================  =======================================

The finders always run at ``finder_seed`` (default 0), whatever the seed of the run that uses their
bounds: the seeds of 4.7 vary the initial weights and data order of the policies, not the bounds.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p4.clr", profile="smoke")   # doctest: +SKIP
    >>> result.data["test_accuracy"]                          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np

from hw2 import range_test, schedules, stats, suggest, sweeps, training
from hw2.experiments import register
from hw2.experiments.p4_data import training_arrays
from hw2.models import mini_googlenet

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
        micro_batch: the largest batch fed to the model at once; larger batches are effective
            batches by gradient accumulation.
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
    micro_batch: int = 1024
    bn_momentum: float = 0.99

    def __post_init__(self):
        if not self.width > 0:
            raise ValueError(f"Argument `width` must be > 0. Received: width={self.width}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"Argument `momentum` must be in [0, 1). Received: momentum={self.momentum}")
        if not 0 <= self.bn_momentum < 1:
            raise ValueError(f"Argument `bn_momentum` must be in [0, 1). Received: bn_momentum={self.bn_momentum}")
        if not _is_power_of_two(self.micro_batch):
            raise ValueError(f"Argument `micro_batch` must be a power of two. Received: micro_batch={self.micro_batch}")


def _is_power_of_two(value) -> bool:
    return isinstance(value, (int, np.integer)) and value >= 1 and not value & (value - 1)


def _data(setup: P4Setup) -> dict:
    arrays = training_arrays(setup.train_size, setup.validation_size, setup.test_size,
                             setup.validation_per_class, setup.split_seed)
    return {name: (training.pad_to_32(x), y) for name, (x, y) in arrays.items()}


def _builder(setup: P4Setup):
    def build():
        model = mini_googlenet(input_shape=(32, 32, 1), width=setup.width)
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
            "published_network": config.width == 1, "bn_momentum": config.bn_momentum}


def setup_sentence(setup: dict) -> str:
    """Plain words for the data and network behind a result (what a reduced profile changed).

    Example:
        >>> setup_sentence({"train_images": 2048, "validation_images": 1000, "test_images": 2000,
        ...                 "width": 1.0, "published_network": True, "bn_momentum": 0.99})[:59]
        'MiniGoogLeNet (the published width), 2048 of 54000 training'
    """
    if setup["published_network"]:
        net = "MiniGoogLeNet (the published width)"
    else:
        net = f"MiniGoogLeNet with every filter count x {setup['width']:g} (narrower than the published network)"
    bn = setup.get("bn_momentum", 0.99)
    bn_note = "" if bn == 0.99 else f" (batch-norm moving-statistics momentum {bn:g} instead of Keras' 0.99)"
    return (f"{net}{bn_note}, {setup['train_images']} of 54000 training, {setup['validation_images']} of 6000 "
            f"validation and {setup['test_images']} of 10000 test images")


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


def _suggestions(sweep_or_test, reference: float) -> dict:
    """Every rule of :func:`hw2.suggest.suggest_lr`; ``reference`` is the 'nothing learned' loss."""
    return {rule: sweep_or_test.suggest(rule, **({"reference": reference} if rule == "default" else {})).to_dict()
            for rule in suggest.LR_RULES}


def untrained_training_loss(sweep: sweeps.LRSweepResult) -> float:
    """The training-mode loss of the initial weights: the sweep's loss at its smallest LR.

    The rules compare training-mode epoch losses (dropout on, batch statistics in batch
    normalization). The sweep's ``initial_loss`` is an inference-mode evaluation of the same
    weights, which for MiniGoogLeNet (dropout 0.5, untrained moving statistics) is a different
    number; at 1e-9 the weights do not move, so that run's loss is the consistent reference.
    """
    return float(sweep.losses[0, -1])


@register("p4.lr_sweep", version="2", config_cls=LRSweepConfig, gpu_recommended=True,
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
    suggestions = _suggestions(sweep, reference)
    default = suggestions["default"]
    final = sweep.final_losses
    best = int(np.argmin(np.where(np.isfinite(final), final, np.inf)))
    return {
        "setup": setup_note(config), "sweep": sweep.to_dict(), "suggestions": suggestions,
        "lr_min": float(default["low"]), "lr_max": float(default["high"]),
        "reliable": bool(default["reliable"]), "reference_loss": reference,
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


@register("p4.lr_range_test", version="2", config_cls=LRRangeTestConfig, gpu_recommended=True,
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"],
                               "stop_reason": d["test"]["stop_reason"], "steps_run": len(d["test"]["lrs"]),
                               **{r: d["suggestions"][r]["value"] for r in ("valley", "steep", "minimum")},
                               **_common_summary(d)},
          description="P4.2: continuous LR range test (pyimagesearch's Figure 3)")
def lr_range_test(config: LRRangeTestConfig) -> dict:
    data = _data(config)
    x, y = data["train"]
    model = _builder(config)()
    model.compile(optimizer=_sgd(config.momentum)(config.start_lr), loss=LOSS)
    start = time.perf_counter()
    test = range_test.lr_range_test(model, x, y, start_lr=config.start_lr, end_lr=config.end_lr,
                                 epochs=config.epochs, batch_size=config.batch_size, beta=config.beta,
                                 stop_factor=config.stop_factor, seed=config.seed, progress=True)
    # Reference: the mean batch loss over the first 5 % of the steps (rates within 5 % of the log
    # range above start_lr: nothing is learned there). The first batch alone is too noisy.
    head = test.losses[: max(1, int(0.05 * test.steps))]
    reference = float(np.mean(head[np.isfinite(head)])) if np.isfinite(head).any() else None
    suggestions = _suggestions(test, reference)
    # The plot needs every point; the store keeps at most ~4000 of them (evenly in steps).
    keep = np.unique(np.linspace(0, len(test.lrs) - 1, min(len(test.lrs), 4000)).astype(int))
    curve = dict(test.to_dict(), lrs=test.lrs[keep], losses=test.losses[keep], smoothed=test.smoothed[keep])
    return {"setup": setup_note(config), "test": curve, "kept_steps": keep, "suggestions": suggestions,
            "reference_loss": reference,
            "lr_min": float(suggestions["default"]["low"]), "lr_max": float(suggestions["default"]["high"]),
            "seconds": time.perf_counter() - start}


def lr_agreement(sweep: dict, range_test: dict) -> dict:
    """Do the sweep (4.2) and the range test suggest the same bounds? Distances in decades.

    They 'agree' on a bound when it differs by at most one grid spacing of the sweep (the sweep
    cannot resolve finer).

    Example:
        >>> s = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 11)}}
        >>> lr_agreement(s, {"lr_min": 3e-4, "lr_max": 1e-3})["agree"]
        {'lr_min': True, 'lr_max': True}
    """
    grid = np.log10(np.asarray(sweep["sweep"]["learning_rates"], dtype=float))
    spacing = float(np.mean(np.diff(grid)))
    out = {"grid_spacing_decades": spacing, "decades": {}, "agree": {}}
    for bound in ("lr_min", "lr_max"):
        d = abs(math.log10(range_test[bound]) - math.log10(sweep[bound]))
        out["decades"][bound] = d
        out["agree"][bound] = bool(d <= spacing + 1e-9)
    return out


# ------------------------------------------------------------------- training under a policy
def _copy_optimizer_state(source, target) -> None:
    """Carry SGD's momentum and update count over when the accumulation factor changes.

    Keras counts micro-steps in ``_iterations`` and applies an accumulated update when
    ``(_iterations + 1) % k == 0``; ``iterations`` is the number of real updates. Setting the
    target's micro-step count to ``updates * k`` keeps both the update count and the alignment of
    its next accumulation group (every epoch ends on an update, so no gradient is pending).
    """
    updates = int(keras.ops.convert_to_numpy(source.iterations))
    target._iterations.assign(updates * (target.gradient_accumulation_steps or 1))
    for src, dst in zip(getattr(source, "momentums", []), getattr(target, "momentums", [])):
        dst.assign(src)


def train_under_policy(build_model, data: dict, *, epochs: int, batch_policy, make_optimizer,
                       micro_batch: int, seed: int, label: str = "") -> dict:
    """Train for ``epochs`` epochs, epoch ``e`` at batch size ``batch_policy(e)``; evaluate on test.

    Batch sizes up to ``micro_batch`` are fed as they are; a larger batch ``B`` is fed as
    micro-batches with ``B // micro_batch`` gradient-accumulation steps. Since the factor may change
    from epoch to epoch (a cyclical batch size), each factor gets its own compiled view of the
    same layers (one compilation per factor and shape) and the momentum is carried across.
    Per epoch: shuffle by :func:`hw2.training.epoch_order`, full batches only.

    ``make_optimizer(k)`` returns a fresh optimizer accumulating ``k`` steps (``None`` for 1).

    Returns per-epoch lists (loss, accuracy, val_loss, val_accuracy, batch_size, steps,
    learning_rate, seconds) and the final test loss / accuracy.
    """
    base = build_model()
    x, y = data["train"]
    x_val, y_val = data["validation"]
    x_test, y_test = data["test"]
    n = len(x)
    val_batch = _eval_batch(len(x_val))
    views: dict[int, keras.Model] = {}

    def view(k: int) -> keras.Model:
        if k not in views:
            model = base if not views else keras.Model(base.inputs, base.outputs)
            optimizer = make_optimizer(k if k > 1 else None)
            model.compile(optimizer=optimizer, loss=LOSS, metrics=["accuracy"])
            optimizer.build(model.trainable_variables)
            views[k] = model
        return views[k]

    logger = training.EpochLogger(prefix=label, epochs=epochs)
    history: dict[str, list] = {key: [] for key in ("epoch", "batch_size", "steps", "learning_rate", "seconds",
                                                    "loss", "accuracy", "val_loss", "val_accuracy")}
    current = None
    diverged = False
    for epoch in range(epochs):
        batch_size = int(batch_policy(epoch))
        if not 1 <= batch_size <= n:
            raise ValueError(f"The batch-size policy must return values in [1, {n}]. "
                             f"Received: batch_size={batch_size} at epoch {epoch}")
        k = batch_size // micro_batch if batch_size > micro_batch else 1
        model = view(k)
        if current is not None and current is not model:
            _copy_optimizer_state(current.optimizer, model.optimizer)
        current = model
        steps = n // batch_size
        order = training.epoch_order(n, seed, epoch)[: steps * batch_size]
        start = time.perf_counter()
        result = model.fit(x[order], y[order], batch_size=batch_size // k, epochs=epoch + 1, initial_epoch=epoch,
                           shuffle=False, verbose=0, validation_data=(x_val, y_val),
                           validation_batch_size=val_batch,
                           callbacks=[logger, keras.callbacks.TerminateOnNaN()])
        history["seconds"].append(time.perf_counter() - start)
        history["epoch"].append(epoch)
        history["batch_size"].append(batch_size)
        history["steps"].append(steps)
        history["learning_rate"].append(training.current_learning_rate(model.optimizer))
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            history[key].append(float(result.history.get(key, [math.nan])[-1]))
        if not math.isfinite(history["loss"][-1]):
            diverged = True
            break
    test = current.evaluate(x_test, y_test, batch_size=_eval_batch(len(x_test)), verbose=0, return_dict=True)
    val_acc = np.asarray(history["val_accuracy"], dtype=float)
    best = int(np.nanargmax(val_acc)) if np.isfinite(val_acc).any() else -1
    correct = int(round(float(test["accuracy"]) * len(x_test)))
    low, high = stats.wilson_interval(correct, len(x_test))
    return {
        "history": {key: np.asarray(values) for key, values in history.items()},
        "diverged": diverged,
        "test_loss": float(test["loss"]), "test_accuracy": float(test["accuracy"]),
        "test_accuracy_ci95": [low, high], "test_images": len(x_test),
        "best_val_accuracy": float(val_acc[best]) if best >= 0 else math.nan,
        "best_val_epoch": best + 1,
        "final_val_accuracy": float(val_acc[-1]),
        "compiled_views": sorted(views),
        "seconds": float(np.sum(history["seconds"])),
    }


def _policy_summary(d: dict) -> dict:
    keys = ("test_accuracy", "test_accuracy_ci95", "best_val_accuracy", "best_val_epoch", "final_val_accuracy",
            "diverged")
    return {**{k: d[k] for k in keys}, **{k: d[k] for k in ("policy",) if k in d}, **_common_summary(d)}


@dataclasses.dataclass(frozen=True)
class PolicyRun(P4Setup):
    """Common fields of the three policies compared in 4.7 (same epochs, same start)."""

    step_epochs: int = 8
    cycles: int = 3
    finder_seed: int = 0
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        for name in ("step_epochs", "cycles"):
            if getattr(self, name) < 1:
                raise ValueError(f"Argument `{name}` must be >= 1. Received: {name}={getattr(self, name)}")

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


def clr_schedule(config: CLRConfig, train_images: int):
    """The :class:`hw2.schedules.CyclicalLearningRate` of ``config`` and its iterations."""
    per_epoch = train_images // config.batch_size
    iterations = per_epoch * config.epochs
    gamma = _decay_per_unit(config.final_amplitude, iterations) if config.mode == "exp_range" else 1.0
    schedule = schedules.CyclicalLearningRate(config.lr_min, config.lr_max, step_size=config.step_epochs * per_epoch,
                                              mode=config.mode, gamma=gamma)
    return schedule, per_epoch, iterations


@register("p4.clr", version="1", config_cls=CLRConfig, gpu_recommended=True, prepare=_prepare_lr_bounds,
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"], "gamma": d["gamma"],
                               **_policy_summary(d)},
          description="P4.3: cyclical LR (exp_range, step 8 epochs, 3 cycles) between lr_min and lr_max")
def clr(config: CLRConfig) -> dict:
    if config.lr_min is None or config.lr_max is None:
        raise ValueError("p4.clr needs lr_min and lr_max (run through hw2.experiments.run, which fills them "
                         "from p4.lr_sweep).")
    data = _data(config)
    schedule, per_epoch, iterations = clr_schedule(config, len(data["train"][0]))

    def make_optimizer(k):
        return keras.optimizers.SGD(learning_rate=schedule, momentum=config.momentum,
                                    gradient_accumulation_steps=k)

    run = train_under_policy(_builder(config), data, epochs=config.epochs, batch_policy=lambda e: config.batch_size,
                             make_optimizer=make_optimizer, micro_batch=config.micro_batch, seed=config.seed,
                             label=f"clr seed {config.seed}: ")
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


@register("p4.baseline", version="1", config_cls=BaselineConfig, gpu_recommended=True, prepare=_prepare_best_lr,
          summarize=lambda d: {"lr": d["lr"], **_policy_summary(d)},
          description="P4.7: constant-LR baseline (the LR sweep's best LR), same epochs as CLR")
def baseline(config: BaselineConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.baseline needs lr (hw2.experiments.run fills it from p4.lr_sweep).")
    data = _data(config)

    def make_optimizer(k):
        return keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum, gradient_accumulation_steps=k)

    run = train_under_policy(_builder(config), data, epochs=config.epochs, batch_policy=lambda e: config.batch_size,
                             make_optimizer=make_optimizer, micro_batch=config.micro_batch, seed=config.seed,
                             label=f"constant lr seed {config.seed}: ")
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
        if len(sizes) < 2 or not all(_is_power_of_two(b) for b in sizes) or list(sizes) != sorted(set(sizes)):
            raise ValueError(f"Argument `batch_sizes` must be >= 2 increasing powers of two. "
                             f"Received: batch_sizes={sizes}")
        if self.budget not in sweeps.BUDGETS:
            raise ValueError(f"Argument `budget` must be one of {sweeps.BUDGETS}. Received: budget={self.budget!r}")


def _prepare_lr_min(config, profile, fallback):
    if config.lr is None or getattr(config, "reference_loss", 0.0) is None:
        sweep = _run_upstream("p4.lr_sweep", profile, fallback, config.finder_seed).data
        config = dataclasses.replace(config, lr=config.lr or sweep["lr_min"])
        if hasattr(config, "reference_loss") and config.reference_loss is None:
            config = dataclasses.replace(config, reference_loss=sweep["reference_loss"])
    return config


@register("p4.batch_sweep", version="2", config_cls=BatchSweepConfig, gpu_recommended=True,
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
        epochs=config.epochs, micro_batch=config.micro_batch if config.batch_sizes[-1] > config.micro_batch else None,
        optimizer=_sgd(config.momentum), loss=LOSS, seed=config.seed, progress=True,
        callbacks=[training.EpochLogger(every=config.epochs, prefix="batch sweep: ")])
    # Same reference as 4.2 (training-mode loss of the same initial weights), see
    # untrained_training_loss; without one, the rule falls back to the worst finite loss.
    suggestion = sweep.suggest("default", reference=config.reference_loss)
    found = sweeps.BatchFinderResult(sweep, suggestion)
    return {"setup": setup_note(config), "lr": config.lr, "sweep": found.sweep.to_dict(),
            "suggestion": suggestion.to_dict(), "reference_loss": config.reference_loss,
            "b_min": suggestion.b_min, "b_max": suggestion.b_max,
            "reliable": bool(suggestion.reliable), "final_losses": [float(v) for v in found.sweep.final_losses],
            "seconds": time.perf_counter() - start}


def shape_similarity(lr_sweep_data: dict, batch_sweep_data: dict) -> dict:
    """4.4's question: is loss vs batch size the loss-vs-LR curve seen through ``lr / B``?

    For plain SGD the displacement per epoch and the gradient noise both scale with ``lr / B``
    (``N / B`` updates of size ``lr``; noise scale ``g ~ lr N / B``, Smith & Le 2018). So the batch
    sweep at the fixed rate ``lr`` should reproduce the LR sweep (batch ``b0``) at the *equivalent*
    learning rate ``lr * b0 / B``. This function reads the LR sweep's loss at each equivalent rate
    (linear interpolation in log lr between finite, non-diverged points) and reports the deviations,
    plus rank correlations of loss with the 'noise' coordinate (``log lr`` and ``-log B``) and
    where each curve has its minimum.

    Example:
        >>> lr = {"sweep": {"learning_rates": [1e-3, 1e-2, 1e-1], "diverged": [False] * 3, "batch_size": 64},
        ...       "final_losses": [2.0, 1.0, 0.5]}
        >>> bs = {"lr": 1e-2, "sweep": {"batch_sizes": [64, 128, 640], "diverged": [False] * 3},
        ...       "final_losses": [1.0, 0.9, 2.0]}
        >>> out = shape_similarity(lr, bs)
        >>> out["equivalent_lr"].round(3).tolist(), out["lr_curve_at_equivalent"].round(2).tolist()
        ([0.01, 0.005, 0.001], [1.0, 1.3, 2.0])
        >>> out["spearman"]
        {'loss_vs_log_lr': -1.0, 'loss_vs_minus_log_batch': -0.5}
    """

    def curve(xs, losses, diverged):
        xs, losses = np.asarray(xs, float), np.asarray(losses, float)
        ok = np.isfinite(losses) & ~np.asarray(diverged, bool)
        return xs[ok], losses[ok]

    lrs, lr_loss = curve(lr_sweep_data["sweep"]["learning_rates"], lr_sweep_data["final_losses"],
                         lr_sweep_data["sweep"]["diverged"])
    bss, bs_loss = curve(batch_sweep_data["sweep"]["batch_sizes"], batch_sweep_data["final_losses"],
                         batch_sweep_data["sweep"]["diverged"])

    def spearman(a, b):
        if len(a) < 3:
            return math.nan
        ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
        return float(np.corrcoef(ra, rb)[0, 1])

    def where_min(losses):
        i = int(np.argmin(losses))
        return "first" if i == 0 else "last" if i == len(losses) - 1 else "interior"

    equivalent = float(batch_sweep_data["lr"]) * int(lr_sweep_data["sweep"]["batch_size"]) / bss
    inside = (equivalent >= lrs.min() * (1 - 1e-9)) & (equivalent <= lrs.max() * (1 + 1e-9))
    on_lr_curve = np.full(len(bss), np.nan)
    on_lr_curve[inside] = np.interp(np.log10(equivalent[inside]), np.log10(lrs), lr_loss)
    deviation = bs_loss - on_lr_curve
    lr_range = float(lr_loss.max() - lr_loss.min()) if len(lr_loss) else math.nan
    worst = float(np.nanmax(np.abs(deviation))) if np.isfinite(deviation).any() else math.nan
    return {
        "equivalent_lr": equivalent, "batch_sizes": bss, "batch_losses": bs_loss,
        "lr_curve_at_equivalent": on_lr_curve, "deviation": deviation,
        "max_abs_deviation": worst, "lr_curve_range": lr_range,
        "max_deviation_fraction": worst / lr_range if lr_range and np.isfinite(worst) else math.nan,
        "spearman": {"loss_vs_log_lr": spearman(np.log10(lrs), lr_loss),
                     "loss_vs_minus_log_batch": spearman(-np.log2(bss), bs_loss)},
        "minimum_at": {"lr": where_min(lr_loss), "batch": where_min(bs_loss)},
        "finite_points": {"lr": int(len(lrs)), "batch": int(len(bss))},
    }


def lr_budget(run: dict) -> float:
    """Sum of the learning rates of all optimizer updates of a policy run (how far SGD may travel).

    CLR: the schedule summed over its iterations; constant LR and CBS: ``lr`` times the updates.
    """
    if "lr_trace" in run:
        return float(np.mean(run["lr_trace"]) * run["iterations_per_epoch"] * len(run["history"]["steps"]))
    return float(run["lr"] * np.sum(run["history"]["steps"]))


# -------------------------------------------------------------------------------------- 4.6 CBS
@dataclasses.dataclass(frozen=True)
class CBSConfig(PolicyRun):
    """4.6: cyclical batch size between b_min and b_max (from 4.5) at the constant LR lr_min.

    The batch size moves geometrically (doubling / halving per step of the log2 triangle) and, with
    ``mode="exp_range"``, its excursion towards b_min shrinks by ``gamma`` per epoch (``gamma`` such
    that only ``final_amplitude`` is left at the end): the batch size settles at b_max as the CLR's
    learning rate settles at lr_min.
    """

    mode: str = "exp_range"
    final_amplitude: float = 0.1
    lr: float | None = None
    b_min: int | None = None
    b_max: int | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.mode not in schedules.BATCH_MODES:
            raise ValueError(f"Argument `mode` must be one of {schedules.BATCH_MODES}. Received: mode={self.mode!r}")


def _prepare_cbs(config, profile, fallback):
    config = _prepare_lr_min(config, profile, fallback)
    if config.b_min is None or config.b_max is None:
        found = _run_upstream("p4.batch_sweep", profile, fallback, config.finder_seed).data
        config = dataclasses.replace(config, b_min=config.b_min or found["b_min"],
                                     b_max=config.b_max or found["b_max"])
    return config


def cbs_policy(config: CBSConfig) -> schedules.CyclicalBatchSize:
    gamma = _decay_per_unit(config.final_amplitude, config.epochs) if config.mode == "exp_range" else 1.0
    return schedules.CyclicalBatchSize(int(config.b_min), int(config.b_max), step_size=config.step_epochs,
                                       mode=config.mode, gamma=gamma)


@register("p4.cbs", version="1", config_cls=CBSConfig, gpu_recommended=True, prepare=_prepare_cbs,
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"],
                               "batch_sizes": d["history"]["batch_size"], **_policy_summary(d)},
          description="P4.6: cyclical batch size (exp_range) between b_min and b_max at lr_min")
def cbs(config: CBSConfig) -> dict:
    if None in (config.lr, config.b_min, config.b_max):
        raise ValueError("p4.cbs needs lr, b_min and b_max (hw2.experiments.run fills them from p4.lr_sweep "
                         "and p4.batch_sweep).")
    data = _data(config)
    policy = cbs_policy(config)

    def make_optimizer(k):
        return keras.optimizers.SGD(learning_rate=config.lr, momentum=config.momentum, gradient_accumulation_steps=k)

    run = train_under_policy(_builder(config), data, epochs=config.epochs, batch_policy=policy,
                             make_optimizer=make_optimizer, micro_batch=config.micro_batch, seed=config.seed,
                             label=f"cbs seed {config.seed}: ")
    return {"setup": setup_note(config), "policy": "CBS", "lr": config.lr, "b_min": int(config.b_min),
            "b_max": int(config.b_max), "gamma": policy.gamma, "epochs": config.epochs,
            "planned_batch_sizes": policy.trajectory(config.epochs), **run}


# ---------------------------------------------------------------------------------- 4.7 compare
POLICIES = {"CLR": "p4.clr", "CBS": "p4.cbs", "constant LR": "p4.baseline"}


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """4.7: CLR, CBS and constant LR at ``seeds`` (each run cache-first at the same profile).

    ``upstream`` is filled by the prepare hook with ``(policy, seed, profile, store key)`` of each
    run, so a stored comparison is tied to exactly the runs it summarizes.
    """

    seeds: tuple[int, ...] = (0, 1)
    upstream: tuple[tuple[str, int, str, str], ...] = ()
    seed: int = 0

    def __post_init__(self):
        if len(set(self.seeds)) < 1 or any(s < 0 for s in self.seeds):
            raise ValueError(f"Argument `seeds` must be distinct integers >= 0. Received: seeds={self.seeds}")


def _prepare_compare(config, profile, fallback):
    if config.upstream:
        return config
    upstream = []
    for policy, name in POLICIES.items():
        for seed in config.seeds:
            result = _run_upstream(name, profile, fallback, seed)
            upstream.append((policy, int(seed), result.profile, result.path.stem if result.path else ""))
    return dataclasses.replace(config, upstream=tuple(upstream))


def compare_policies(per_run: dict) -> dict:
    """Table and verdict of 4.7 from ``{policy: {seed: run_data}}``.

    Per policy: mean and sd over seeds of the best validation accuracy and the final test accuracy.
    Per pair: the paired (same seed) test-accuracy difference. The winner is the policy with the
    highest mean test accuracy; its margin over the runner-up is compared with the seed-to-seed
    spread (pooled sd over policies).

    Example:
        >>> runs = {"A": {0: {"test_accuracy": .90, "best_val_accuracy": .91},
        ...               1: {"test_accuracy": .92, "best_val_accuracy": .93}},
        ...         "B": {0: {"test_accuracy": .80, "best_val_accuracy": .81},
        ...               1: {"test_accuracy": .81, "best_val_accuracy": .80}}}
        >>> out = compare_policies(runs)
        >>> out["winner"], round(out["margin"], 3)
        ('A', 0.105)
    """
    table = {}
    for policy, runs in per_run.items():
        seeds = sorted(runs)
        test = np.array([runs[s]["test_accuracy"] for s in seeds], dtype=float)
        val = np.array([runs[s]["best_val_accuracy"] for s in seeds], dtype=float)
        table[policy] = {
            "seeds": seeds, "test_accuracy": test, "best_val_accuracy": val,
            "test_mean": float(test.mean()), "test_sd": float(test.std(ddof=1)) if len(test) > 1 else math.nan,
            "val_mean": float(val.mean()), "val_sd": float(val.std(ddof=1)) if len(val) > 1 else math.nan,
        }
    ranking = sorted(table, key=lambda p: -table[p]["test_mean"])
    winner, runner_up = ranking[0], ranking[1]
    margin = table[winner]["test_mean"] - table[runner_up]["test_mean"]
    variances = [table[p]["test_sd"] ** 2 for p in table if np.isfinite(table[p]["test_sd"])]
    spread = float(math.sqrt(np.mean(variances))) if variances else math.nan
    pairs = {}
    for i, a in enumerate(ranking):
        for b in ranking[i + 1:]:
            common = sorted(set(table[a]["seeds"]) & set(table[b]["seeds"]))
            pairs[f"{a} - {b}"] = stats.paired_difference([per_run[a][s]["test_accuracy"] for s in common],
                                                          [per_run[b][s]["test_accuracy"] for s in common])
    return {"table": table, "ranking": ranking, "winner": winner, "runner_up": runner_up, "margin": float(margin),
            "seed_sd": spread, "margin_over_sd": float(margin / spread) if spread and spread > 0 else math.inf,
            "pairs": pairs}


@register("p4.compare", version="2", config_cls=CompareConfig, gpu_recommended=True, prepare=_prepare_compare,
          summarize=lambda d: {"winner": d["comparison"]["winner"], "margin": d["comparison"]["margin"],
                               "seed_sd": d["comparison"]["seed_sd"],
                               "test_mean": {p: v["test_mean"] for p, v in d["comparison"]["table"].items()},
                               "val_mean": {p: v["val_mean"] for p, v in d["comparison"]["table"].items()}},
          description="P4.7: best validation / test accuracy of CLR, CBS and constant LR over seeds")
def compare(config: CompareConfig) -> dict:
    from hw2 import experiments

    per_run: dict[str, dict] = {policy: {} for policy in POLICIES}
    runs = []
    for policy, seed, profile, key in config.upstream:
        result = experiments.run(POLICIES[policy], profile, seed=seed)
        if result.path is not None and key and result.path.stem != key:
            raise RuntimeError(f"{POLICIES[policy]} seed {seed}: stored key {result.path.stem} != expected {key}")
        per_run[policy][seed] = result.data
        runs.append({"policy": policy, "seed": seed, "profile": result.profile, "key": key,
                     "updates": int(np.sum(result.data["history"]["steps"])), "lr_sum": lr_budget(result.data),
                     "test_accuracy": result.data["test_accuracy"],
                     "best_val_accuracy": result.data["best_val_accuracy"],
                     "history_val_accuracy": result.data["history"]["val_accuracy"],
                     "setup": result.data["setup"], "epochs": result.data["epochs"]})
    return {"runs": runs, "comparison": compare_policies(per_run)}
