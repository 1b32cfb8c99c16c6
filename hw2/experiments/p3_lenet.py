"""Problem 3 experiment ``p3.lenet``: LeNet-5 on MNIST with batch normalization, dropout and both.

Six variants of :func:`hw2.models.lenet5` train under identical conditions: the same optimizer,
batch size, epoch cap, early-stopping rule, validation split and, for a given seed, the same data
order. Each seed gives one run of every variant, so variants are compared by paired differences
over seeds.

=================  ========================  ==========  ======================  =====
variant            input                     hidden BN   dropout                 part
=================  ========================  ==========  ======================  =====
baseline           standardized              no          none                    ref.
bn_hidden          standardized              yes         none                    3.2
bn_input_hidden    BatchNormalization        yes         none                    3.3
dropout            standardized              no          0.2 input / 0.5 dense   3.4
dropout_conv       standardized              no          as above + 0.5 conv     3.4
bn_dropout         standardized              yes         0.2 input / 0.5 dense   3.5
=================  ========================  ==========  ======================  =====

Every run trains to convergence: early stopping on the validation loss with ``patience`` epochs,
the best epoch's weights restored, at most ``max_epochs`` epochs (a run that reaches the cap says so).

Per run it stores the per-epoch curves (training-mode running averages from ``fit``, plus
inference-mode loss/accuracy on a fixed training subset and on the validation split), the epochs run
and the best epoch, inference-mode loss/accuracy of the restored weights on the whole training split
and on the test set, every BN layer's learned gamma and beta, the drift of the inputs to the
``fc2`` nonlinearity over training steps (:mod:`hw2.covariate_shift`, part 3.1), and every BN
layer's moving statistics next to the actual inference-time statistics of its input (the variance
shift of Li et al. 2019, part 3.5).

Each (variant, seed) run is cached on its own (a part of the result: ``<store>/.parts/``,
:func:`hw2.experiments.cached_part`), so an interrupted long run
resumes where it stopped.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p3.lenet", profile="smoke")          # doctest: +SKIP
    >>> result.data["summary"]["bn_hidden"]["test_accuracy_mean"]      # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sys
import time

import keras
import numpy as np

from hw2 import covariate_shift, stats, training
from hw2.datasets import load_mnist
from hw2.experiments import cached_part, register
from hw2.models import lenet5

VERSION = "2"  # of the summary built from the runs
RUN_VERSION = "4"  # of one (variant, seed) run: bump when training or what it records changes
VARIANTS = {
    "baseline": {"part": "reference", "input_treatment": "standardize", "hidden_batchnorm": False,
                 "dropout": False, "label": "baseline (no BN, no dropout)"},
    "bn_hidden": {"part": "3.2", "input_treatment": "standardize", "hidden_batchnorm": True,
                  "dropout": False, "label": "3.2 BN hidden"},
    "bn_input_hidden": {"part": "3.3", "input_treatment": "batchnorm", "hidden_batchnorm": True,
                        "dropout": False, "label": "3.3 BN input + hidden"},
    "dropout": {"part": "3.4", "input_treatment": "standardize", "hidden_batchnorm": False,
                "dropout": "dense", "label": "3.4 dropout"},
    "dropout_conv": {"part": "3.4", "input_treatment": "standardize", "hidden_batchnorm": False,
                     "dropout": "dense+conv", "label": "3.4 dropout, conv blocks too"},
    "bn_dropout": {"part": "3.5", "input_treatment": "standardize", "hidden_batchnorm": True,
                   "dropout": "dense", "label": "3.5 BN hidden + dropout"},
}
# (a, b, question): paired comparisons a - b reported by ``comparisons``.
COMPARISONS = (
    ("bn_hidden", "baseline", "does BN in the hidden layers help?"),
    ("bn_input_hidden", "bn_hidden", "does BN on the input help on top of hidden BN?"),
    ("bn_input_hidden", "baseline", "BN input + hidden vs the baseline"),
    ("dropout", "baseline", "does dropout help?"),
    ("dropout", "bn_hidden", "dropout vs BN in the hidden layers"),
    ("dropout", "bn_input_hidden", "dropout vs BN on input and hidden layers"),
    ("dropout_conv", "dropout", "does dropout on the conv blocks help on top of dense dropout?"),
    ("dropout_conv", "baseline", "dropout incl. conv blocks vs the baseline"),
    ("bn_dropout", "dropout", "BN + dropout vs dropout alone"),
    ("bn_dropout", "bn_hidden", "BN + dropout vs BN alone"),
    ("bn_dropout", "baseline", "BN + dropout vs the baseline"),
)
DRIFT_LAYER = "fc2"
HISTORY_KEYS = ("loss", "accuracy", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                "epoch_time_s")
EVAL_BATCH = 1000


@dataclasses.dataclass(frozen=True)
class LeNetConfig:
    """Full specification of Problem 3 (defaults).

    Attributes:
        n_seeds: runs per variant; seeds ``seed, seed + 1, ...``.
        max_epochs, patience: every run stops once the validation loss has not improved for
            ``patience`` epochs (and at ``max_epochs`` at the latest); the best epoch's weights are
            restored (:class:`keras.callbacks.EarlyStopping`).
        batch_size: shared by every variant, as is the optimizer: Adam whose learning rate follows a
            cosine from ``learning_rate`` to ``final_learning_rate`` over ``max_epochs``; loss: sparse
            categorical cross-entropy.
        n_validation: images carved once (fixed permutation, independent of ``seed``) from the
            60k training set for the curves; the rest train.
        n_train, n_test: ``None`` = all; smaller values take the first images (smoke profile).
        input_dropout, hidden_dropout, conv_dropout: rates of the dropout variants (3.4, 3.5);
            ``conv_dropout`` only in ``dropout_conv``.
        probe_size, n_probe_steps, probe_epochs: the 3.1 drift probe (validation images, log-spaced
            steps over the first ``probe_epochs`` epochs, which every run reaches:
            ``probe_epochs <= patience + 1``).
    """

    seed: int = 0
    n_seeds: int = 3
    max_epochs: int = 30
    patience: int = 3
    batch_size: int = 128
    learning_rate: float = 1e-3
    final_learning_rate: float = 1e-4
    n_validation: int = 6000
    n_train: int | None = None
    n_test: int | None = None
    variants: tuple[str, ...] = tuple(VARIANTS)
    input_dropout: float = 0.2
    hidden_dropout: float = 0.5
    conv_dropout: float = 0.5
    probe_size: int = 1000
    n_probe_steps: int = 40
    probe_epochs: int = 4

    def __post_init__(self):
        for name in ("n_seeds", "max_epochs", "patience", "batch_size", "n_validation", "probe_size",
                     "n_probe_steps", "probe_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"Argument `{name}` must be >= 1. Received: {name}={getattr(self, name)}")
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Argument `{name}` must be >= 1 or None. Received: {name}={value}")
        if not 0 < self.final_learning_rate <= self.learning_rate:
            raise ValueError(f"Argument `final_learning_rate` must be in (0, learning_rate={self.learning_rate}]."
                             f" Received: final_learning_rate={self.final_learning_rate}")
        if not self.learning_rate > 0:
            raise ValueError(
                f"Argument `learning_rate` must be > 0. Received: learning_rate={self.learning_rate}")
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"Argument `variants` must be a non-empty subset of {tuple(VARIANTS)}. "
                             f"Received: variants={self.variants}")
        for name in ("input_dropout", "hidden_dropout", "conv_dropout"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(
                    f"Argument `{name}` must be in (0, 1). Received: {name}={getattr(self, name)}")
        if self.probe_epochs > min(self.max_epochs, self.patience + 1):
            raise ValueError(f"Argument `probe_epochs` must be <= min(max_epochs, patience + 1) = "
                             f"{min(self.max_epochs, self.patience + 1)} (every run must reach it). "
                             f"Received: probe_epochs={self.probe_epochs}")


# ------------------------------------------------------------------------------------------ data
@dataclasses.dataclass
class MnistSplits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: float
    variance: float


def mnist_splits(n_validation: int = 6000, n_train: int | None = None,
                 n_test: int | None = None) -> MnistSplits:
    """MNIST as float32 images in [0, 1] of shape (n, 28, 28, 1) with a fixed validation split.

    The split is one permutation with a fixed seed (independent of any run's seed). ``mean`` and
    ``variance`` come from a :class:`keras.layers.Normalization` adapted once on the training images.
    """
    (x, y), (x_test, y_test) = load_mnist()
    if n_validation >= len(x):
        raise ValueError(f"Argument `n_validation` must be < {len(x)}. Received: n_validation={n_validation}")
    order = np.random.default_rng(20260401).permutation(len(x))
    val, train = order[:n_validation], np.sort(order[n_validation:])
    if n_train is not None:
        train = train[:n_train]
    n_test = len(x_test) if n_test is None else min(n_test, len(x_test))

    def images(a):
        return (a.astype(np.float32) / 255.0)[..., None]

    x_train = images(x[train])
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(x_train)
    mean = float(keras.ops.convert_to_numpy(norm.mean).reshape(()))
    variance = float(keras.ops.convert_to_numpy(norm.variance).reshape(()))
    return MnistSplits(x_train, y[train].astype(np.int32), images(x[val]), y[val].astype(np.int32),
                       images(x_test[:n_test]), y_test[:n_test].astype(np.int32), mean, variance)


def predict_padded(model: keras.Model, x: np.ndarray, batch_size: int = EVAL_BATCH):
    """Yield ``model``'s inference-mode outputs for ``x`` batch by batch.

    Every batch has ``batch_size`` rows (the last one is padded and the padding cut off) so the
    compiled predict function sees one shape only.
    """
    batch_size = min(batch_size, len(x))
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size]
        n = len(xb)
        if n < batch_size:
            xb = np.concatenate([xb, np.zeros((batch_size - n,) + xb.shape[1:], xb.dtype)])
        yield np.asarray(model.predict_on_batch(xb))[:n]


def evaluate_arrays(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = EVAL_BATCH):
    """``(loss, accuracy)`` of ``model`` in inference mode over all of ``x`` (static batch shape)."""
    losses, hits, start = [], [], 0
    for p in predict_padded(model, x, batch_size):
        p = p.astype(np.float64)
        yb = y[start:start + len(p)]
        start += len(p)
        losses.append(-np.log(np.clip(p[np.arange(len(p)), yb], 1e-7, 1.0)))
        hits.append(p.argmax(axis=1) == yb)
    return float(np.concatenate(losses).mean()), float(np.concatenate(hits).mean())


def bn_variance_shift(model: keras.Model, x: np.ndarray) -> dict:
    """Per BN layer and channel: the moving mean / variance BN uses at inference, and the actual
    mean / variance of the layer's input over ``x`` in inference mode (dropout off).

    With dropout before a BN layer, training-mode inputs are noisier than inference-mode ones, so
    the moving variance overstates the inference variance: the *variance shift* of Li et al. (2019).
    """
    out = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        probe = keras.Model(model.input, layer.input)
        total, total_sq, count = 0.0, 0.0, 0
        for z in predict_padded(probe, x):
            z = z.astype(np.float64).reshape(-1, z.shape[-1])
            total, total_sq, count = total + z.sum(axis=0), total_sq + (z * z).sum(axis=0), count + len(z)
        mean = total / count
        out[layer.name] = {
            "moving_mean": keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float32),
            "moving_variance": keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float32),
            "inference_mean": mean.astype(np.float32),
            "inference_variance": np.maximum(total_sq / count - mean * mean, 0.0).astype(np.float32)}
    return out


class EpochEvaluation(keras.callbacks.Callback):
    """At each epoch end: inference-mode loss/accuracy on a training subset and the validation split,
    wall time of the epoch, and one concise progress line on stderr."""

    def __init__(self, train_xy, val_xy, label: str, epochs: int, verbose: bool = True):
        super().__init__()
        self.train_xy, self.val_xy, self.label = train_xy, val_xy, label
        self.epochs, self.verbose = epochs, verbose
        self.history = {key: [] for key in HISTORY_KEYS}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        train_loss, train_acc = evaluate_arrays(self.model, *self.train_xy)
        val_loss, val_acc = evaluate_arrays(self.model, *self.val_xy)
        logs = logs or {}
        for key, value in (("loss", logs.get("loss")), ("accuracy", logs.get("accuracy")),
                           ("train_loss", train_loss), ("train_accuracy", train_acc), ("val_loss", val_loss),
                           ("val_accuracy", val_acc), ("epoch_time_s", elapsed)):
            self.history[key].append(float(value))
        if logs is not None:  # for callbacks after this one (early stopping on the inference-mode val_loss)
            logs.update(val_loss=val_loss, val_accuracy=val_acc)
        if self.verbose:
            loss = logs.get("loss", float("nan"))
            print(f"[p3] {self.label} epoch {epoch + 1}/{self.epochs}: loss {loss:.4f} "
                  f"val_acc {val_acc:.4f} ({elapsed:.1f} s)", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ runs
def build_variant(variant: str, config: LeNetConfig, mean: float, variance: float,
                  steps_per_epoch: int) -> keras.Model:
    """The compiled LeNet-5 of one variant (Adam with cosine-decayed learning rate, sparse
    categorical cross-entropy, accuracy)."""
    spec = VARIANTS[variant]
    model = lenet5(input_treatment=spec["input_treatment"], hidden_batchnorm=spec["hidden_batchnorm"],
                   input_dropout=config.input_dropout if spec["dropout"] else 0.0,
                   hidden_dropout=config.hidden_dropout if spec["dropout"] else 0.0,
                   conv_dropout=config.conv_dropout if spec["dropout"] == "dense+conv" else 0.0,
                   input_mean=mean, input_variance=variance, name=f"lenet5_{variant}")
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=config.max_epochs * steps_per_epoch,
        alpha=config.final_learning_rate / config.learning_rate)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def bn_parameters(model: keras.Model) -> dict:
    """``{layer name: {'gamma': ..., 'beta': ...}}`` for every BatchNormalization layer."""
    return {layer.name: {"gamma": keras.ops.convert_to_numpy(layer.gamma).astype(np.float32),
                         "beta": keras.ops.convert_to_numpy(layer.beta).astype(np.float32)}
            for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}


def train_variant(variant: str, run_seed: int, config: LeNetConfig, data: MnistSplits,
                  verbose: bool = True) -> dict:
    """Train one variant with one seed to convergence (early stopping on the validation loss, best
    weights restored); return its curves, epochs, train/test numbers, BN parameters and drift."""
    keras.utils.set_random_seed(run_seed)
    batches = training.EpochBatches(data.x_train, data.y_train, config.batch_size, seed=run_seed,
                                    epochs=config.max_epochs)
    steps_per_epoch = batches.steps_per_epoch
    model = build_variant(variant, config, data.mean, data.variance, steps_per_epoch)
    n_eval = min(len(data.x_val), len(data.x_train))
    evaluation = EpochEvaluation((data.x_train[:n_eval], data.y_train[:n_eval]), (data.x_val, data.y_val),
                                 f"{variant} seed {run_seed}", config.max_epochs, verbose)
    # EpochEvaluation writes the inference-mode val_loss into the epoch logs before EarlyStopping reads it.
    stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                             restore_best_weights=True)
    steps = covariate_shift.checkpoint_steps(config.probe_epochs * steps_per_epoch, config.n_probe_steps)
    probe = covariate_shift.DriftProbe(DRIFT_LAYER, data.x_val[:config.probe_size], steps)
    start = time.perf_counter()
    # shuffle=False: Keras would otherwise shuffle the items, mixing the epochs of EpochBatches
    model.fit(batches, epochs=config.max_epochs, steps_per_epoch=steps_per_epoch, shuffle=False, verbose=0,
              callbacks=[evaluation, stopping, probe])
    train_time = time.perf_counter() - start
    epochs_run = len(evaluation.history["val_loss"])
    best_epoch = int(np.argmin(evaluation.history["val_loss"]))  # what EarlyStopping restored
    train_loss, train_accuracy = evaluate_arrays(model, data.x_train, data.y_train)
    test_loss, test_accuracy = evaluate_arrays(model, data.x_test, data.y_test)
    return {"variant": variant, "seed": run_seed, "test_loss": test_loss, "test_accuracy": test_accuracy,
            "train_loss": train_loss, "train_accuracy": train_accuracy,
            "epochs_run": epochs_run, "best_epoch": best_epoch + 1,
            "history": {key: np.asarray(values, np.float32) for key, values in evaluation.history.items()},
            "bn": bn_parameters(model), "drift": probe.result(), "train_time_s": train_time,
            "variance_shift": bn_variance_shift(model, data.x_val),
            "steps_per_epoch": steps_per_epoch, "n_params": int(model.count_params())}


def _run_key(config: LeNetConfig, variant: str, run_seed: int) -> dict:
    fields = dataclasses.asdict(config)
    for name in ("seed", "n_seeds", "variants"):
        fields.pop(name)
    return dict(fields, variant=variant, run_seed=run_seed)


def cached_run(variant: str, run_seed: int, config: LeNetConfig, data_fn, verbose: bool = True) -> dict:
    """:func:`train_variant`, cached as one part of the running ``p3.lenet`` (resumable long runs;
    same rules as whole results: see :func:`hw2.experiments.cached_part`)."""
    return cached_part("run", _run_key(config, variant, run_seed),
                       lambda: train_variant(variant, run_seed, config, data_fn(), verbose), version=RUN_VERSION)


def _pad(values, length: int) -> np.ndarray:
    """A per-epoch curve padded with NaN to ``length`` epochs (runs stop at different epochs)."""
    values = np.asarray(values, np.float32)
    return np.concatenate([values, np.full(length - len(values), np.nan, np.float32)])


def _stack(runs: list[dict]) -> dict:
    """Per-seed runs of one variant -> arrays with a leading seed axis (curves NaN-padded to the
    longest run; drift checkpoints cut to those every seed recorded)."""
    first = runs[0]
    longest = max(len(r["history"]["val_loss"]) for r in runs)
    n_drift = min(len(r["drift"]["steps"]) for r in runs)
    scalars = ("test_accuracy", "test_loss", "train_accuracy", "train_loss", "train_time_s")
    return {
        "seeds": np.asarray([r["seed"] for r in runs], np.int64),
        **{k: np.asarray([r[k] for r in runs], np.float64) for k in scalars},
        "epochs_run": np.asarray([r["epochs_run"] for r in runs], np.int64),
        "best_epoch": np.asarray([r["best_epoch"] for r in runs], np.int64),
        "history": {k: np.stack([_pad(r["history"][k], longest) for r in runs]) for k in first["history"]},
        "bn": {layer: {p: np.stack([r["bn"][layer][p] for r in runs]) for p in ("gamma", "beta")}
               for layer in first["bn"]},
        "variance_shift": {layer: {k: np.stack([r["variance_shift"][layer][k] for r in runs]) for k in stat}
                           for layer, stat in first["variance_shift"].items()},
        "drift": {k: (np.asarray(first["drift"]["steps"])[:n_drift] if k == "steps"
                      else np.stack([r["drift"][k][:n_drift] for r in runs])) for k in first["drift"]},
        "steps_per_epoch": int(first["steps_per_epoch"]), "n_params": int(first["n_params"]),
    }


# ------------------------------------------------------------------------------------------ analysis
def variant_summary(runs: dict, max_epochs: int) -> dict:
    """Headline numbers of one variant over its seeds (``max_epochs``: the cap, to count the runs
    that reached it instead of converging)."""
    acc = np.asarray(runs["test_accuracy"])
    mean, low, high = stats.mean_ci(acc)
    drift = covariate_shift.drift_summary
    per_seed_drift = [drift(m, s) for m, s in zip(runs["drift"]["mean"], runs["drift"]["std"])]
    return {
        "test_accuracy_mean": mean,
        "test_accuracy_sd": float(acc.std(ddof=1)) if acc.size > 1 else float("nan"),
        "test_accuracy_ci95": [low, high], "test_accuracy_per_seed": acc.tolist(),
        "test_loss_mean": float(np.mean(runs["test_loss"])),
        "train_loss_mean": float(np.mean(runs["train_loss"])),
        "train_accuracy_mean": float(np.mean(runs["train_accuracy"])),
        "best_val_accuracy_mean": float(np.mean(
            [h[e - 1] for h, e in zip(runs["history"]["val_accuracy"], runs["best_epoch"])])),
        "epochs_run_mean": float(np.mean(runs["epochs_run"])),
        "best_epoch_mean": float(np.mean(runs["best_epoch"])),
        "best_epoch_per_seed": [int(e) for e in runs["best_epoch"]],
        "runs_at_epoch_cap": int(np.sum(np.asarray(runs["epochs_run"]) >= max_epochs)),
        "seconds_per_epoch": float(np.nanmean(runs["history"]["epoch_time_s"])),
        "drift_mean_range_over_std": float(np.mean([d["mean_range_over_std"] for d in per_seed_drift])),
        "drift_std_ratio": float(np.mean([d["std_ratio"] for d in per_seed_drift])),
    }


def paired_comparison(a, b) -> dict:
    """:func:`hw2.stats.paired_difference` of ``a - b`` with a Student-t 95 % interval (few seeds)."""
    return stats.paired_difference(a, b, interval="t")


# What a paired comparison can be about: per-seed values of one variant, and how to word them.
METRICS = {
    "test_accuracy": {"what": "test accuracy", "scale": 100.0, "unit": " points", "digits": 2,
                      "higher_is_better": True},
    "train_accuracy": {"what": "training accuracy", "scale": 100.0, "unit": " points", "digits": 2,
                       "higher_is_better": True},
    "test_loss": {"what": "test loss", "scale": 1.0, "unit": "", "digits": 4, "higher_is_better": False},
    "train_loss": {"what": "training loss", "scale": 1.0, "unit": "", "digits": 4, "higher_is_better": False},
    "loss_gap": {"what": "test − training loss gap", "scale": 1.0, "unit": "", "digits": 4,
                 "higher_is_better": False},
    "best_epoch": {"what": "best epoch", "scale": 1.0, "unit": " epochs", "digits": 1, "higher_is_better": False,
                   "words": ("earlier", "later")},
}


def metric_values(runs: dict, metric: str = "test_accuracy") -> np.ndarray:
    """Per-seed values of ``metric`` (a key of ``METRICS``) for one variant's stacked runs;
    ``loss_gap`` is test loss − training loss (restored weights, inference mode), ``best_epoch`` the
    epoch whose weights were restored."""
    if metric not in METRICS:
        raise ValueError(f"Argument `metric` must be one of {tuple(METRICS)}. Received: metric={metric!r}")
    if metric == "loss_gap":
        return np.asarray(runs["test_loss"], np.float64) - np.asarray(runs["train_loss"], np.float64)
    if metric == "best_epoch":
        return np.asarray(runs["best_epoch"], np.float64)
    return np.asarray(runs[metric], np.float64)


def comparisons(variants: dict) -> list[dict]:
    """Paired test-accuracy differences (same seeds) for the questions in ``COMPARISONS``; each also
    carries the seed-to-seed sd (mean of the two variants' sds) to judge the size against."""
    return [dict(comparison(variants, a, b), question=question)
            for a, b, question in COMPARISONS if a in variants and b in variants]


def comparison(variants: dict, a: str, b: str, metric: str = "test_accuracy") -> dict:
    """Paired difference ``a - b`` of ``metric`` over the shared seeds (:func:`paired_comparison`),
    with the seed-to-seed sd (mean of the two variants' sds) to judge its size against."""
    values = {v: metric_values(variants[v], metric) for v in (a, b)}
    diff = paired_comparison(values[a], values[b])
    spread = float(np.mean([np.std(values[v], ddof=1) if values[v].size > 1 else np.nan for v in (a, b)]))
    return dict(diff, a=a, b=b, seed_sd=spread, metric=metric)


def outcome(diff: dict) -> str:
    """``'better'``, ``'worse'`` (``a`` vs ``b``, in the metric's direction) or ``'unclear'``
    (the paired 95 % interval contains 0).

    Example:
        >>> outcome({"metric": "test_loss", "mean_diff": -0.01, "significant": True})
        'better'
    """
    if not diff.get("significant"):
        return "unclear"
    higher = METRICS[diff.get("metric", "test_accuracy")]["higher_is_better"]
    return "better" if (diff["mean_diff"] > 0) == higher else "worse"


def verdict(diff: dict, labels: dict | None = None) -> str:
    """One sentence for a comparison from its paired t interval (accuracy in points, losses in nats).

    Example:
        >>> d = {"a": "x", "b": "y", "mean_diff": 0.002, "ci_low": 0.001, "ci_high": 0.003,
        ...      "significant": True, "frac_a_better": 1.0, "n": 5, "seed_sd": 0.0005}
        >>> verdict(d)
        'x beats y by 0.20 points (paired 95% CI +0.10 to +0.30; better on 5 of 5 seeds; seed sd 0.05)'
        >>> print(verdict(dict(d, metric="test_loss", mean_diff=-0.02, ci_low=-0.03, ci_high=-0.01,
        ...                    frac_b_better=1.0, seed_sd=0.004)))  # doctest: +NORMALIZE_WHITESPACE
        x's test loss is lower than y's by 0.0200 (paired 95% CI -0.0300 to -0.0100;
        x better on 5 of 5 seeds; seed sd 0.0040)
    """
    labels = labels or {}
    a, b = labels.get(diff["a"], diff["a"]), labels.get(diff["b"], diff["b"])
    metric = diff.get("metric", "test_accuracy")
    spec = METRICS[metric]
    digits, scale = spec["digits"], spec["scale"]
    value, lo, hi = scale * diff["mean_diff"], scale * diff["ci_low"], scale * diff["ci_high"]
    if metric == "test_accuracy":
        wins = round(diff["frac_a_better"] * diff["n"])
        ci = (f"paired 95% CI {lo:+.2f} to {hi:+.2f}; better on {wins} of {diff['n']} seeds; "
              f"seed sd {100 * diff['seed_sd']:.2f}")
        if diff["significant"]:
            return f"{a} {'beats' if value > 0 else 'trails'} {b} by {abs(value):.2f} points ({ci})"
        return f"no clear difference between {a} and {b}: {value:+.2f} points ({ci})"
    wins = round(diff["frac_a_better" if spec["higher_is_better"] else "frac_b_better"] * diff["n"])
    ci = (f"paired 95% CI {lo:+.{digits}f} to {hi:+.{digits}f}; {a} "
          f"{spec.get('words', ('better',))[0]} on {wins} of {diff['n']} seeds; "
          f"seed sd {scale * diff['seed_sd']:.{digits}f}")
    if diff["significant"]:
        lower, higher = spec.get("words", ("lower", "higher"))
        return (f"{a}'s {spec['what']} is {higher if value > 0 else lower} than {b}'s by "
                f"{abs(value):.{digits}f}{spec['unit']} ({ci})")
    return (f"no clear difference in {spec['what']} between {a} and {b}: "
            f"{value:+.{digits}f}{spec['unit']} ({ci})")


def variance_shift_table(variants: dict) -> list[dict]:
    """Per variant and BN layer: median over channels (mean over seeds) of inference-time variance
    of the BN input / BN's moving variance. 1 = no shift; < 1: BN over-estimates the variance at test."""
    rows = []
    for name, runs in variants.items():
        for layer in runs.get("variance_shift", {}):
            per_seed = variance_shift_per_seed(runs, layer)
            rows.append({"variant": name, "layer": layer, "ratio_median": float(per_seed.mean()),
                         "ratio_sd": float(per_seed.std(ddof=1)) if per_seed.size > 1 else float("nan")})
    return rows


def drift_table(variants: dict, names=("baseline", "bn_hidden")) -> dict:
    """:func:`hw2.covariate_shift.drift_summary` per seed for the named variants (arrays over seeds)."""
    out = {}
    for name in names:
        if name in variants:
            d = variants[name]["drift"]
            per_seed = [covariate_shift.drift_summary(m, s) for m, s in zip(d["mean"], d["std"])]
            out[name] = {k: np.asarray([p[k] for p in per_seed]) for k in per_seed[0]}
    return out


def bn_table(bn: dict) -> list[dict]:
    """Summary statistics of gamma and beta per BN layer (pooled over seeds and channels), and the
    mean absolute distance from their initial values (gamma 1, beta 0): ``*_mean_abs_change``."""
    rows = []
    for layer, params in bn.items():
        row = {"layer": layer, "channels": int(params["gamma"].shape[-1])}
        for name, start in (("gamma", 1.0), ("beta", 0.0)):
            v = np.asarray(params[name], np.float64).ravel()
            row.update({f"{name}_mean": float(v.mean()), f"{name}_sd": float(v.std()),
                        f"{name}_min": float(v.min()), f"{name}_max": float(v.max()),
                        f"{name}_mean_abs_change": float(np.abs(v - start).mean())})
        rows.append(row)
    return rows


def labels(variants) -> dict:
    """``{variant: its label}``, e.g. ``'3.2 BN hidden'``."""
    return {v: VARIANTS[v]["label"] for v in variants}


def accuracy_table(variants: dict) -> str:
    """Plain-text table: test accuracy mean ± sd over seeds and the per-seed values, per variant."""
    names = labels(variants)
    width = max(len(label) for label in names.values())
    lines = [f"{'variant':<{width}}  test accuracy (mean ± sd)   per seed (seeds "
             f"{', '.join(str(int(s)) for s in next(iter(variants.values()))['seeds'])})"]
    for name, runs in variants.items():
        acc = 100 * np.asarray(runs["test_accuracy"])
        sd = acc.std(ddof=1) if acc.size > 1 else float("nan")
        lines.append(f"{names[name]:<{width}}  {acc.mean():6.2f} % ± {sd:.2f}            "
                     + "  ".join(f"{a:.2f}" for a in acc))
    return "\n".join(lines)


def late_change(runs: dict, key: str = "val_accuracy", last: int = 2) -> tuple[float, float]:
    """Mean ± sd over seeds of how much ``history[key]`` changed over the ``last`` epochs before the
    best (restored) epoch: near 0 when the curve had flattened (``nan`` when too few epochs)."""
    values = np.asarray(runs["history"][key], np.float64)
    change = []
    for curve, best in zip(values, np.asarray(runs["best_epoch"])):
        change.append(curve[best - 1] - curve[best - 1 - last] if best - 1 - last >= 0 else np.nan)
    change = np.asarray(change)
    if np.isnan(change).all():
        return float("nan"), float("nan")
    sd = float(np.nanstd(change, ddof=1)) if np.sum(~np.isnan(change)) > 1 else float("nan")
    return float(np.nanmean(change)), sd


# ------------------------------------------------------------------------------ convergence and fit
def unconverged(runs: dict, max_epochs: int, patience: int) -> np.ndarray:
    """Per seed: did the epoch cap, not the stopping rule, end the run? True when the run reached
    ``max_epochs`` with its best validation loss less than ``patience`` epochs before the end (a run
    that reached the cap ``patience`` epochs after its best would have stopped there anyway)."""
    epochs_run, best = np.asarray(runs["epochs_run"]), np.asarray(runs["best_epoch"])
    return (epochs_run >= max_epochs) & (best > max_epochs - patience)


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in [header, *rows])


def epochs_table(variants: dict, max_epochs: int, patience: int) -> str:
    """Plain-text table: per variant, the best (restored) epoch and the epochs run of every seed,
    how many runs reached the cap and how many of those were still improving there, and how much the
    validation accuracy still rose over the 2 epochs before the best one (:func:`late_change`, mean ± sd
    over seeds; near 0 when the curve had flattened)."""
    names = labels(variants)
    rows = []
    for name, runs in variants.items():
        best, run = np.asarray(runs["best_epoch"]), np.asarray(runs["epochs_run"])
        rows.append([names[name], f"{best.mean():.1f} ({' '.join(str(int(e)) for e in best)})",
                     f"{run.mean():.1f} ({' '.join(str(int(e)) for e in run)})",
                     f"{int((run >= max_epochs).sum())} of {len(run)}",
                     f"{int(unconverged(runs, max_epochs, patience).sum())} of {len(run)}"])
        change, change_sd = late_change(runs)
        rows[-1].append("n/a (best epoch < 3)" if np.isnan(change) else
                        f"{100 * change:+.2f} ± {100 * change_sd:.2f}" if np.isfinite(change_sd) else
                        f"{100 * change:+.2f}")
    return _text_table(["variant", "best epoch: mean (seeds)", "epochs run: mean (seeds)",
                        f"at the {max_epochs}-epoch cap", "still improving at it",
                        "val. acc. rise over 2 epochs to best (points)"], rows)


def convergence_note(variants: dict, max_epochs: int, patience: int) -> str:
    """One sentence: did every run end by the stopping rule, or did the cap end some (and which)?"""
    names = labels(variants)
    at_cap = {v: int((np.asarray(r["epochs_run"]) >= max_epochs).sum()) for v, r in variants.items()}
    improving = {v: int(unconverged(r, max_epochs, patience).sum()) for v, r in variants.items()}
    total = sum(len(r["epochs_run"]) for r in variants.values())
    if not sum(at_cap.values()):
        return (f"all {total} runs stopped before the {max_epochs}-epoch cap, each after {patience} "
                f"epoch{'s' if patience > 1 else ''} without a better validation loss: every one converged "
                f"by the stopping rule")
    where = ", ".join(f"{names[v]} {k}" for v, k in at_cap.items() if k)
    if not sum(improving.values()):
        return (f"{sum(at_cap.values())} of {total} runs reached the {max_epochs}-epoch cap ({where}), but "
                f"each had gone {patience} epochs without a better validation loss by then, so the stopping "
                f"rule would have ended it there too: every run converged by that rule")
    still = ", ".join(f"{names[v]} {k}" for v, k in improving.items() if k)
    return (f"{sum(improving.values())} of {total} runs were still improving their validation loss when the "
            f"{max_epochs}-epoch cap ended them ({still}): those did not converge by the stopping rule, and "
            f"their numbers may understate what the variant reaches with more epochs")


def convergence_report(variants: dict, setup: dict) -> str:
    """What every page states about training length: the stopping rule (``setup['stopping']``), the
    :func:`epochs_table` of ``variants`` and the :func:`convergence_note`."""
    max_epochs, patience = setup["max_epochs"], setup["patience"]
    return "\n".join([f"stopping rule: {setup['stopping']}", epochs_table(variants, max_epochs, patience),
                      convergence_note(variants, max_epochs, patience) + "."])


def convergence_status(variants: dict, max_epochs: int, patience: int) -> str:
    """A short clause for the answers: ``'all 10 runs converged by the stopping rule'`` or
    ``'3 of 10 runs still improving at the 30-epoch cap'``."""
    total = sum(len(r["epochs_run"]) for r in variants.values())
    still = sum(int(unconverged(r, max_epochs, patience).sum()) for r in variants.values())
    if not still:
        return f"all {total} runs converged by the stopping rule"
    return f"{still} of {total} runs still improving at the {max_epochs}-epoch cap"


def loss_table(variants: dict) -> str:
    """Plain-text table: training and test loss and accuracy of the restored weights (inference
    mode, whole training split and test set), mean ± sd over seeds, and the test − training loss gap."""
    names = labels(variants)

    def cell(values, scale=1.0, digits=4):
        values = scale * np.asarray(values, np.float64)
        sd = values.std(ddof=1) if values.size > 1 else float("nan")
        return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"

    rows = [[names[name], cell(runs["train_loss"]), cell(runs["test_loss"]), cell(metric_values(runs, "loss_gap")),
             cell(runs["train_accuracy"], 100, 2), cell(runs["test_accuracy"], 100, 2)]
            for name, runs in variants.items()]
    return _text_table(["variant (mean ± sd over seeds)", "training loss", "test loss", "test − training loss",
                        "training accuracy %", "test accuracy %"], rows)


def difference_text(diff: dict) -> str:
    """``'+0.0123, paired 95% CI +0.0050 to +0.0196'`` in the metric's unit (see ``METRICS``)."""
    spec = METRICS[diff.get("metric", "test_accuracy")]
    digits, scale = spec["digits"], spec["scale"]
    return (f"{scale * diff['mean_diff']:+.{digits}f}{spec['unit']}, paired 95% CI "
            f"{scale * diff['ci_low']:+.{digits}f} to {scale * diff['ci_high']:+.{digits}f}")


def fit_reading(variants: dict, a: str, b: str, max_epochs: int, patience: int) -> dict:
    """How ``a`` differs from ``b`` in fit and in generalization, at the end of training.

    Returns the paired comparisons ``a - b`` of the training loss, of the test − training loss gap and
    of the test accuracy, and sentences built from their intervals (:func:`outcome`): ``fit_text``
    (training loss and gap), ``conclusion`` (what the test accuracy adds; it says "trained to
    convergence" only when no run of ``a`` or ``b`` was still improving at the ``max_epochs`` cap,
    see :func:`unconverged`) and ``text`` (all of it).
    """
    names = labels(variants)
    diffs = {m: comparison(variants, a, b, m) for m in ("train_loss", "loss_gap", "test_accuracy")}
    fit = {"worse": "fits the training set less closely than", "better": "fits the training set more closely than",
           "unclear": "fits the training set about as closely as"}[outcome(diffs["train_loss"])]
    gap = {"better": "a smaller", "worse": "a larger", "unclear": "no clearly different"}[outcome(diffs["loss_gap"])]
    test, train = outcome(diffs["test_accuracy"]), outcome(diffs["train_loss"])
    still = sum(int(unconverged(variants[v], max_epochs, patience).sum()) for v in (a, b))
    total = sum(len(variants[v]["epochs_run"]) for v in (a, b))
    when = ("once both are trained to convergence" if not still else
            f"at the {max_epochs}-epoch cap, where {still} of their {total} runs were still improving")
    if test == "worse":
        close = (f"so it trails {when}, and it fits the training set less" if train == "worse"
                 else f"so it trails on the test set {when}, although it fits the training set no worse")
    elif test == "better":
        close = f"so on the test set its regularization pays off {when}"
    else:
        close = f"so on test accuracy the two cannot be told apart with these seeds {when}"
    fit_text = (f"{names[a]} {fit} {names[b]} (training loss {difference_text(diffs['train_loss'])}), with {gap} "
                f"test − training loss gap ({difference_text(diffs['loss_gap'])})")
    text = f"{fit_text}; test accuracy: {verdict(diffs['test_accuracy'], names)}; {close}"
    return dict(diffs, fit_text=fit_text, conclusion=close, text=text)


def dropout_arm(variants: dict) -> dict:
    """Which dropout arm the 3.4 answer uses, decided by the paired test-accuracy comparison of
    dropout after the conv blocks too (``dropout_conv``) with dense-only dropout (``dropout``):
    the conv arm if it is measurably better, else the dense-only arm (fewer dropout layers, and the
    one that 3.5's BN + dropout variant shares). Returns ``arm``, the ``comparison`` and ``text``."""
    names = labels(variants)
    diff = comparison(variants, "dropout_conv", "dropout")
    result = outcome(diff)
    arm = "dropout_conv" if result == "better" else "dropout"
    why = {"better": "dropout after the conv blocks as well is measurably better, so the 3.4 answer uses it",
           "worse": "dropout after the conv blocks as well costs accuracy, so the 3.4 answer uses dense-only dropout",
           "unclear": "the conv-block dropout gives no measurable difference, so the 3.4 answer uses the simpler "
                      "dense-only dropout"}[result]
    return {"arm": arm, "comparison": diff, "text": f"{verdict(diff, names)}: {why}"}


def same_seed_agreement(variants: dict, a: str, b: str) -> dict:
    """How close ``a`` and ``b`` trained with the same seed end up: per seed ``|test accuracy a − b|``
    (points), its maximum against the seed-to-seed sd (points, mean of both variants' sds), the
    largest ``|γ_a − γ_b|`` per shared BN layer against how much γ varies between seeds of ``b``
    (``same_training_path`` when smaller), and ``text``."""
    gap = 100 * np.abs(metric_values(variants[a], "test_accuracy") - metric_values(variants[b], "test_accuracy"))
    seed_sd = 100 * comparison(variants, a, b)["seed_sd"]
    shared = [layer for layer in variants[a]["bn"] if layer in variants[b]["bn"]]
    gamma_gap = {layer: float(np.max(np.abs(np.asarray(variants[a]["bn"][layer]["gamma"])
                                            - np.asarray(variants[b]["bn"][layer]["gamma"])))) for layer in shared}
    within = bool(gap.max() < seed_sd)
    # how much gamma varies between seeds of the same variant: the scale a same-seed gap is judged on
    gamma_seed_sd = float(np.median([np.std(np.asarray(variants[b]["bn"][layer]["gamma"]), axis=0, ddof=1).mean()
                                     for layer in shared])) if shared and len(gap) > 1 else float("nan")
    same_path = bool(shared) and max(gamma_gap.values()) < gamma_seed_sd
    if within:
        text = (f"with the same seed the two differ by at most {gap.max():.2f} points of test accuracy, less than "
                f"the seed-to-seed sd ({seed_sd:.2f}): the same seed gives nearly the same model")
    else:
        text = (f"with the same seed the two differ by up to {gap.max():.2f} points of test accuracy, no less than "
                f"the seed-to-seed sd ({seed_sd:.2f})")
        if same_path:
            text += (f", although their learned γ agree to {max(gamma_gap.values()):.2g} (γ varies by "
                     f"{gamma_seed_sd:.2g} between seeds): training took the same path, so the difference arises "
                     f"at inference, where BN uses its moving averages")
        else:
            text += ": the same seed does not give the same model"
    return {"per_seed_points": gap, "max_points": float(gap.max()), "seed_sd_points": seed_sd,
            "within_seed_sd": within, "gamma_max_abs_diff": gamma_gap, "gamma_seed_sd": gamma_seed_sd,
            "same_training_path": same_path, "text": text}


# ------------------------------------------------------------------------------ variance shift (3.5)
def variance_shift_per_seed(runs: dict, layer: str) -> np.ndarray:
    """Per seed: median over channels of (inference-time variance of the BN input) / (BN's moving variance)."""
    st = runs["variance_shift"][layer]
    moving = np.maximum(np.asarray(st["moving_variance"], np.float64), 1e-12)
    return np.median(np.asarray(st["inference_variance"], np.float64) / moving, axis=1)


def bn_layers_after_dropout(variant: str) -> list[str]:
    """The BN layers of ``variant`` whose nearest BN-or-dropout layer upstream is a dropout layer:
    those that see dropout noise in training but not at test time (built from ``VARIANTS``).

    Example:
        >>> bn_layers_after_dropout("bn_dropout")
        ['conv1_bn', 'fc2_bn']
    """
    spec, config = VARIANTS[variant], LeNetConfig()
    model = lenet5(input_treatment=spec["input_treatment"], hidden_batchnorm=spec["hidden_batchnorm"],
                   input_dropout=config.input_dropout if spec["dropout"] else 0.0,
                   hidden_dropout=config.hidden_dropout if spec["dropout"] else 0.0,
                   conv_dropout=config.conv_dropout if spec["dropout"] == "dense+conv" else 0.0)
    out, last = [], None
    for layer in model.layers:  # a chain: the layer list is in data-flow order
        if isinstance(layer, keras.layers.BatchNormalization):
            if last == "dropout":
                out.append(layer.name)
            last = "bn"
        elif isinstance(layer, keras.layers.Dropout):
            last = "dropout"
    return out


def variance_shift_reading(variants: dict, shifted: str = "bn_dropout", reference: str = "bn_hidden") -> dict:
    """Per BN layer, the paired difference over seeds (``shifted - reference``) of the variance ratio
    of :func:`variance_shift_per_seed`; ``after_dropout`` / ``others``: the layers right after a
    dropout layer (:func:`bn_layers_after_dropout`) and the rest; ``shifted_after_dropout``: the former
    whose ratio is measurably lower (the variance shift); ``changed_others``: the latter whose ratio is
    measurably ``'lower'`` / ``'higher'``; ``text``: what the intervals say."""
    layers = list(variants[shifted]["variance_shift"])
    after = [layer for layer in bn_layers_after_dropout(shifted) if layer in layers]
    others = [layer for layer in layers if layer not in after]
    per_layer = {}
    for layer in layers:
        ratio_shifted = variance_shift_per_seed(variants[shifted], layer)
        ratio_reference = variance_shift_per_seed(variants[reference], layer)
        per_layer[layer] = dict(paired_comparison(ratio_shifted, ratio_reference),
                                ratio_shifted=float(ratio_shifted.mean()),
                                ratio_reference=float(ratio_reference.mean()))

    def describe(layer):
        d = per_layer[layer]
        return (f"{layer} {d['ratio_shifted']:.3f} vs {d['ratio_reference']:.3f} (difference {d['mean_diff']:+.3f}, "
                f"paired 95% CI {d['ci_low']:+.3f} to {d['ci_high']:+.3f})")

    def measurably(group, sign):
        return [layer for layer in group
                if per_layer[layer]["significant"] and sign * per_layer[layer]["mean_diff"] > 0]

    names = labels(variants)
    text = (f"test-time input variance / BN's moving variance, {names[shifted]} vs {names[reference]}: right after "
            f"a dropout layer " + "; ".join(describe(layer) for layer in after))
    shifted_after = measurably(after, -1)
    text += (f" — measurably lower in {len(shifted_after)} of {len(after)} ({', '.join(shifted_after)}): the "
             f"variance shift" if shifted_after else
             f" — not measurably lower in any of the {len(after)}: no variance shift shows with these seeds")
    changed_others = {"lower": measurably(others, -1), "higher": measurably(others, +1)}
    if others:
        found = "; ".join(f"measurably {word} in {', '.join(group)}" for word, group in changed_others.items() if group)
        text += "; in the other BN layers " + "; ".join(describe(layer) for layer in others)
        if not found:
            text += " — not measurably different in any"
        elif shifted_after:
            text += f" — {found}: the mismatch reaches the layers downstream"
        else:
            text += f" — {found}, although the layers right after dropout show no shift"
    return {"layers": per_layer, "after_dropout": after, "others": others,
            "shifted_after_dropout": shifted_after, "changed_others": changed_others, "text": text}


# ------------------------------------------------------------------------------ input drift (3.1)
def typical_unit(means: np.ndarray, stds: np.ndarray) -> int:
    """The unit whose drift (range of its mean over checkpoints / its average sd) is the median
    among all units; ``means``, ``stds``: (checkpoints, units) of one run."""
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    drift = (means.max(axis=0) - means.min(axis=0)) / np.maximum(stds.mean(axis=0), 1e-12)
    return int(np.argsort(drift)[len(drift) // 2])


def relative_spread(drift: dict) -> np.ndarray:
    """(seeds, checkpoints): median over units of each unit's input sd relative to its final sd."""
    stds = np.asarray(drift["std"], np.float64)
    return np.median(stds / np.maximum(stds[:, -1:, :], 1e-12), axis=2)


DRIFT_MEASURES = {"mean_range_over_std": "range of the mean / sd", "std_ratio": "max sd / min sd"}


def drift_reading(table: dict, a: str = "baseline", b: str = "bn_hidden") -> dict:
    """Per measure of :func:`drift_table` (``DRIFT_MEASURES``, both positive ratios): the paired
    comparison over seeds of ``log a - log b``, as the geometric-mean ratio ``a / b`` with its
    Student-t 95 % interval, and a sentence saying whether the drift is measurably larger in ``a``."""
    names = labels((a, b))
    out = {}
    for key, what in DRIFT_MEASURES.items():
        diff = paired_comparison(np.log(np.maximum(table[a][key], 1e-12)), np.log(np.maximum(table[b][key], 1e-12)))
        ratio, low, high = (float(np.exp(diff[k])) for k in ("mean_diff", "ci_low", "ci_high"))
        word = (f"measurably {'larger' if ratio > 1 else 'smaller'} in {names[a]}" if diff["significant"]
                else "not measurably different with these seeds")
        out[key] = dict(diff, ratio=ratio, ratio_low=low, ratio_high=high,
                        text=f"{what}: {names[a]} / {names[b]} = {ratio:.3g}× (paired 95% CI {low:.3g}× to "
                             f"{high:.3g}×): {word}")
    return out


def _summarize(data: dict) -> dict:
    paired = {f"{c['a']} - {c['b']}": {k: c[k] for k in ("mean_diff", "ci_low", "ci_high", "significant")}
              for c in data["comparisons"]}
    return dict(data["summary"], paired_test_accuracy_differences=paired)


@register("p3.lenet", version=VERSION, config_cls=LeNetConfig, summarize=_summarize,
          description="P3: LeNet-5 on MNIST — baseline, BN hidden, BN input+hidden, two dropout arms, BN+dropout")
def lenet_study(config: LeNetConfig) -> dict:
    """Train every variant over ``n_seeds`` seeds (seed-major, each run cached) and summarize."""
    splits: list[MnistSplits] = []

    def data_fn():
        if not splits:
            splits.append(mnist_splits(config.n_validation, config.n_train, config.n_test))
        return splits[0]

    seeds = [config.seed + i for i in range(config.n_seeds)]
    runs = {v: [] for v in config.variants}
    for run_seed in seeds:
        for variant in config.variants:
            runs[variant].append(cached_run(variant, run_seed, config, data_fn))
    variants = {v: _stack(r) for v, r in runs.items()}
    data = data_fn()
    summary = {v: variant_summary(variants[v], config.max_epochs) for v in variants}
    return {
        "variants": variants,
        "comparisons": comparisons(variants),
        "summary": summary,
        "setup": {"n_train": len(data.x_train), "n_validation": len(data.x_val), "n_test": len(data.x_test),
                  "input_mean": data.mean, "input_sd": float(np.sqrt(data.variance)),
                  "optimizer": f"Adam, learning rate cosine {config.learning_rate:g} -> "
                               f"{config.final_learning_rate:g} over the {config.max_epochs}-epoch cap (a run "
                               "that stops earlier ends at a higher rate)",
                  "batch_size": config.batch_size,
                  "max_epochs": config.max_epochs, "patience": config.patience,
                  "stopping": f"early stopping on the validation loss, patience {config.patience} "
                              f"epoch{'s' if config.patience != 1 else ''}, "
                              f"best weights restored, at most {config.max_epochs} epochs",
                  "probe_epochs": config.probe_epochs, "seeds": seeds, "activation": "tanh",
                  "drift_layer": DRIFT_LAYER},
    }
