"""Problem 4's finders: the LR sweep and range test (4.2), the batch-size sweep (4.4) and the
gradient-noise-scale finder (4.5), on the setup of :mod:`hw2.experiments.p4_setup`.

==================  ==========================================  =========================================
experiment          homework part                               needs (run cache-first at ``finder_seed``)
==================  ==========================================  =========================================
p4.lr_sweep         4.2 loss after 5 epochs per LR, lr_min/max  --
p4.lr_range_test    4.2 continuous LR range test (Figure 3)     --
p4.batch_sweep      4.4/4.5 loss per batch size at lr_min       lr_min
p4.noise_scale      4.5 gradient-noise-scale batch finder       lr_min
==================  ==========================================  =========================================

Each runs once, at the policies' ``finder_seed`` (default 0): the seeds of 4.7 vary the initial
weights and data order of the policies (:mod:`hw2.experiments.p4_policies`), not their bounds. The
results hold what training produced and only the readings a later run trains with (lr_min, lr_max,
the sweep's best rate, b_min, b_max); every other reading is made when a page renders
(:mod:`hw2.experiments.p4_finders_analysis`), so changing a rule recomputes nothing.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p4.lr_sweep", profile="smoke")   # doctest: +SKIP
    >>> result.data["lr_min"] < result.data["lr_max"]              # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np

from hw2 import accumulation, noise_scale, sweeps, training
from hw2._checks import argument_error, check_choice, check_int, check_positive
from hw2.experiments import register
from hw2.experiments.p4_setup import LOSS, P4Setup, common_summary, data_arrays, network_builder, setup_note, sgd
from hw2.range_test import lr_range_test as range_test


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
        if not (check_positive("lr_low", self.lr_low) < check_positive("lr_high", self.lr_high)):
            raise argument_error(("lr_low", "lr_high"), "such that 0 < lr_low < lr_high",
                                 received=f"lr_low={self.lr_low}, lr_high={self.lr_high}")
        check_int("n_lrs", self.n_lrs, low=2)
        check_int("epochs", self.epochs, low=1)

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


@register("p4.lr_sweep", version="4", config_cls=LRSweepConfig, gpu_recommended=True, chain="p4",
          summarize=lambda d: {"lr_min": d["lr_min"], "lr_max": d["lr_max"], "best_lr": d["best_lr"],
                               "final_losses": d["final_losses"], "diverged": d["diverged"], **common_summary(d)},
          description="P4.2: training loss after 5 epochs for 10 LRs in [1e-9, 1e1]; lr_min / lr_max")
def lr_sweep(config: LRSweepConfig) -> dict:
    data = data_arrays(config)
    x, y = data["train"]
    start = time.perf_counter()
    sweep = sweeps.lr_sweep(network_builder(config), x, y, learning_rates=config.learning_rates,
                             epochs=config.epochs, batch_size=config.batch_size,
                             optimizer=sgd(config.momentum), loss=LOSS, seed=config.seed, progress=True,
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


@register("p4.lr_range_test", version="4", config_cls=LRRangeTestConfig, gpu_recommended=True, chain="p4",
          summarize=lambda d: {"stop_reason": d["test"]["stop_reason"], "steps_run": len(d["test"]["lrs"]),
                               **common_summary(d)},
          description="P4.2: continuous LR range test (pyimagesearch's Figure 3)")
def lr_range_test(config: LRRangeTestConfig) -> dict:
    data = data_arrays(config)
    x, y = data["train"]
    model = network_builder(config)()
    model.compile(optimizer=sgd(config.momentum)(config.start_lr), loss=LOSS)
    start = time.perf_counter()
    test = range_test(model, x, y, start_lr=config.start_lr, end_lr=config.end_lr,
                                 epochs=config.epochs, batch_size=config.batch_size, beta=config.beta,
                                 stop_factor=config.stop_factor, seed=config.seed, progress=True)
    # The range test's bounds feed no training: they are read when a page renders
    # (hw2.experiments.p4_finders_analysis.range_test_readings), from every stored step.
    keep = np.unique(np.linspace(0, len(test.lrs) - 1, min(len(test.lrs), RANGE_TEST_KEPT_STEPS)).astype(int))
    curve = dict(test.to_dict(), lrs=test.lrs[keep], losses=test.losses[keep], smoothed=test.smoothed[keep])
    return {"setup": setup_note(config), "test": curve, "kept_steps": keep,
            "seconds": time.perf_counter() - start}


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
            raise argument_error("batch_sizes", f">= 2 increasing multiples of `micro_batch` ({self.micro_batch})",
                                 sizes)
        check_choice("budget", self.budget, sweeps.BUDGETS)


def prepare_lr_min(config, upstream):
    if config.lr is None or getattr(config, "reference_loss", 0.0) is None:
        sweep = upstream.result("p4.lr_sweep", seed=config.finder_seed)
        config = dataclasses.replace(config, lr=config.lr or sweep["lr_min"])
        if hasattr(config, "reference_loss") and config.reference_loss is None:
            config = dataclasses.replace(config, reference_loss=sweep["reference_loss"])
    return config


@register("p4.batch_sweep", version="4", config_cls=BatchSweepConfig, gpu_recommended=True,
          prepare=prepare_lr_min, needs=("p4.lr_sweep",), chain="p4",
          summarize=lambda d: {"lr": d["lr"], "b_min": d["b_min"], "b_max": d["b_max"],
                               "final_losses": d["final_losses"], **common_summary(d)},
          description="P4.4/4.5: training loss vs batch size 64..8192 at lr_min; b_min / b_max")
def batch_sweep(config: BatchSweepConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.batch_sweep needs lr (hw2.experiments.run fills it with lr_min from p4.lr_sweep).")
    data = data_arrays(config)
    x, y = data["train"]
    start = time.perf_counter()
    sweep = sweeps.batch_size_sweep(
        network_builder(config), x, y, lr=config.lr, batch_sizes=config.batch_sizes, budget=config.budget,
        epochs=config.epochs, micro_batch=config.micro_batch,
        optimizer=sgd(config.momentum), loss=LOSS, seed=config.seed, progress=True,
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
          prepare=prepare_lr_min, needs=("p4.lr_sweep",), chain="p4",
          summarize=lambda d: {"lr": d["lr"], "b_simple": d["probe"]["b_simple"], **common_summary(d)},
          description="P4.5: gradient-noise scale B_simple along training at lr_min; b_min / b_max from it")
def noise_scale_finder(config: NoiseScaleConfig) -> dict:
    if config.lr is None:
        raise ValueError("p4.noise_scale needs lr (hw2.experiments.run fills it with lr_min from p4.lr_sweep).")
    data = data_arrays(config)
    x, y = data["train"]
    keras.utils.set_random_seed(int(config.seed))
    model = network_builder(config)()
    sgd_update = keras.optimizers.SGD(config.lr, momentum=config.momentum)
    model.compile(optimizer=accumulation.GradientAccumulation(sgd_update),
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


