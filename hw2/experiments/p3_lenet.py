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
the best epoch's weights restored. The learning rate decays over ``decay_epochs`` and then holds; the
cap ``max_epochs`` lies far beyond, so runs stop by the rule (a run that reaches the cap says so).

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

The stored result holds what training produced, each variant's headline numbers
(:func:`variant_summary`) and the paired test-accuracy differences of ``COMPARISONS``; this module
keeps only what computes them (and :func:`comparison`, which the pages call for any other metric).
Every other reading -- tables, convergence and fit sentences, verdicts, the 3.4 dropout arm, the
variance shift and drift readings -- is made when a page renders, by
:mod:`hw2.experiments.p3_analysis`, so changing a rule or a sentence there recomputes nothing.

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
from hw2._checks import argument_error, check_choice, check_fields, check_positive, check_range
from hw2.datasets import load_mnist
from hw2.experiments import cached_part, register
from hw2.models import lenet5

VERSION = "3"  # of the summary built from the runs
RUN_VERSION = "5"  # of one (variant, seed) run: bump when training or what it records changes
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
            cosine from ``learning_rate`` to ``final_learning_rate`` over ``decay_epochs`` (at most
            ``max_epochs``) and then holds, so a longer cap changes no run that stops before
            ``decay_epochs``; loss: sparse categorical cross-entropy.
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
    n_seeds: int = 5
    max_epochs: int = 100
    patience: int = 3
    decay_epochs: int = 30
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
        check_fields(self, ("n_seeds", "max_epochs", "patience", "decay_epochs", "batch_size", "n_validation",
                            "probe_size", "n_probe_steps", "probe_epochs"))
        check_fields(self, ("n_train", "n_test"), optional=True)
        check_positive("learning_rate", self.learning_rate)
        if not 0 < self.final_learning_rate <= self.learning_rate:
            raise argument_error("final_learning_rate", f"in (0, learning_rate={self.learning_rate}]",
                                 self.final_learning_rate)
        if not self.variants or any(v not in VARIANTS for v in self.variants):
            raise argument_error("variants", f"a non-empty subset of {tuple(VARIANTS)}", self.variants)
        for name in ("input_dropout", "hidden_dropout", "conv_dropout"):
            check_range(name, getattr(self, name), 0, 1, inclusive="neither")
        if self.probe_epochs > min(self.max_epochs, self.patience + 1):
            raise argument_error("probe_epochs", f"<= min(max_epochs, patience + 1) = "
                                 f"{min(self.max_epochs, self.patience + 1)} (every run must reach it)",
                                 self.probe_epochs)


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
    check_range("n_validation", n_validation, high=len(x), inclusive="left")
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
def variant_options(variant: str, config: LeNetConfig) -> dict:
    """The :func:`hw2.models.lenet5` switches of one variant of ``VARIANTS``: its input treatment,
    hidden BN, and dropout rates from ``config`` (``0.0``: no such dropout layer). A dropout variant
    has ``input_dropout`` on the input and ``hidden_dropout`` after both hidden dense layers, and
    ``dropout_conv`` also ``conv_dropout`` after both conv blocks.

    Example:
        >>> variant_options("dropout", LeNetConfig())
        {'input_treatment': 'standardize', 'hidden_batchnorm': False, 'input_dropout': 0.2, \
'hidden_dropout': 0.5, 'conv_dropout': 0.0}
    """
    spec = VARIANTS[variant]
    return {"input_treatment": spec["input_treatment"], "hidden_batchnorm": spec["hidden_batchnorm"],
            "input_dropout": config.input_dropout if spec["dropout"] else 0.0,
            "hidden_dropout": config.hidden_dropout if spec["dropout"] else 0.0,
            "conv_dropout": config.conv_dropout if spec["dropout"] == "dense+conv" else 0.0}


def build_variant(variant: str, config: LeNetConfig, mean: float, variance: float,
                  steps_per_epoch: int) -> keras.Model:
    """The compiled LeNet-5 of one variant (:func:`variant_options`; Adam with cosine-decayed
    learning rate, sparse categorical cross-entropy, accuracy)."""
    model = lenet5(**variant_options(variant, config), input_mean=mean, input_variance=variance,
                   name=f"lenet5_{variant}")
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=min(config.decay_epochs, config.max_epochs) * steps_per_epoch,
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


# ------------------------------------------------------------------------------- summary and comparisons
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


# What a paired comparison can be about (per-seed values of one variant); how each is worded is
# hw2.experiments.p3_analysis.METRICS.
METRIC_NAMES = ("test_accuracy", "train_accuracy", "test_loss", "train_loss", "loss_gap", "best_epoch")


def metric_values(runs: dict, metric: str = "test_accuracy") -> np.ndarray:
    """Per-seed values of ``metric`` (one of ``METRIC_NAMES``) for one variant's stacked runs;
    ``loss_gap`` is test loss − training loss (restored weights, inference mode), ``best_epoch`` the
    epoch whose weights were restored."""
    check_choice("metric", metric, METRIC_NAMES)
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
    decay_epochs = min(config.decay_epochs, config.max_epochs)
    summary = {v: variant_summary(variants[v], config.max_epochs) for v in variants}
    return {
        "variants": variants,
        "comparisons": comparisons(variants),
        "summary": summary,
        "setup": {"n_train": len(data.x_train), "n_validation": len(data.x_val), "n_test": len(data.x_test),
                  "input_mean": data.mean, "input_sd": float(np.sqrt(data.variance)),
                  "optimizer": f"Adam, learning rate cosine {config.learning_rate:g} -> "
                               f"{config.final_learning_rate:g} over {decay_epochs} epochs, then held "
                               "(a run that stops earlier ends at a higher rate)",
                  "decay_epochs": decay_epochs,
                  "batch_size": config.batch_size,
                  "max_epochs": config.max_epochs, "patience": config.patience,
                  "stopping": f"early stopping on the validation loss, patience {config.patience} "
                              f"epoch{'s' if config.patience != 1 else ''}, "
                              f"best weights restored, at most {config.max_epochs} epochs",
                  "probe_epochs": config.probe_epochs, "seeds": seeds, "activation": "tanh",
                  "drift_layer": DRIFT_LAYER},
    }
