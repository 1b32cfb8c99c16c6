"""Problem 1 experiment ``p1.perceptron``: perceptron criterion (a=0) vs hinge (a=1).

One fixed test set of 1000 points (the homework's); ``n_repeats`` independent training sets of 20
points; both losses train on the same training sets with the same example orders (paired
comparison). Every (lr, epochs) in the grid is measured, so the report can show how the verdict
depends on training length.

Two test samples, two questions. The fixed 1000-point test set is scored as the homework asks; an
interval over training sets on it describes those 1000 points, whose luck every run shares. A
fresh sample of ``n_fresh`` points (200 000) from the same distribution, drawn from its own
seed-derived stream (independent of the training sets, the test set and the example orders),
stands in for the population: at 97 % accuracy its binomial standard error is 0.04 points, so a
run's accuracy there is its accuracy on new data, and an interval over training sets on it answers
"which loss gives the better classifier". The stability of the learned classifiers (how often two
runs disagree) is measured on the fresh sample too. Both are cheap at any size
(:class:`hw2.perceptron.SortedSample`).

The readings of the grid (which loss wins where, does the best setting sit at the grid's edge)
and the wording live in :mod:`hw2.experiments.p1_analysis`, which computes nothing stored.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p1.perceptron", profile="smoke")  # doctest: +SKIP
    >>> sorted(result.data["summary"])                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hw2 import perceptron, stats
from hw2._checks import check_choice, check_fields
from hw2.datasets import unit_square
from hw2.experiments import register

LOSSES = {"perceptron": 0.0, "hinge": 1.0}


@dataclasses.dataclass(frozen=True)
class PerceptronConfig:
    """Full specification of Problem 1 (defaults) and the training settings studied.

    ``n_fresh``: size of the fresh sample the trained weights are also scored on (module doc).
    """

    n_train: int = 20
    n_test: int = 1000
    n_repeats: int = 1000
    lr: float = 1.0
    epochs: int = 10000
    lr_grid: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
    epochs_grid: tuple[int, ...] = (1, 10, 100, 1000, 10000, 100000)
    n_fresh: int = 200_000
    seed: int = 0

    def __post_init__(self):
        check_fields(self, ("n_train", "n_test", "n_repeats", "n_fresh"), low=2)
        check_choice("lr", self.lr, self.lr_grid)
        check_choice("epochs", self.epochs, self.epochs_grid)


def _summary(runs: dict, y_test) -> dict:
    """Headline numbers of the configured setting from its per-run values ``runs[key][loss]``."""
    out = {"single_set_accuracy": {name: float(acc[0]) for name, acc in runs["accuracy"].items()},
           "single_set_fresh_accuracy": {name: float(acc[0]) for name, acc in runs["fresh_accuracy"].items()}}
    # Training set 0, both losses, the same 1000 test points: a paired comparison (McNemar).
    out["single_set_mcnemar"] = stats.mcnemar(runs["predictions"]["hinge"][0] == y_test,
                                              runs["predictions"]["perceptron"][0] == y_test)
    for name in LOSSES:
        entry = {}
        for prefix, key in (("", "accuracy"), ("fresh_", "fresh_accuracy")):
            values = runs[key][name]
            mean, low, high = stats.mean_ci(values)
            entry |= {f"{prefix}accuracy_mean": mean, f"{prefix}accuracy_ci95": [low, high],
                      f"{prefix}accuracy_sd": float(np.std(values, ddof=1)),
                      f"{prefix}accuracy_min": float(np.min(values))}
        angles = runs["angle_deg"][name]
        out[name] = entry | {
            "angle_mean_deg": float(np.mean(angles)), "angle_sd_deg": float(np.std(angles, ddof=1)),
            "mean_pairwise_disagreement": float(np.mean(runs["disagreement"][name])),
            "converged": float(np.mean(runs["converged"][name])),
        }
    out["hinge_minus_perceptron"] = stats.paired_difference(runs["accuracy"]["hinge"],
                                                            runs["accuracy"]["perceptron"])
    out["hinge_minus_perceptron_fresh"] = stats.paired_difference(runs["fresh_accuracy"]["hinge"],
                                                                  runs["fresh_accuracy"]["perceptron"])
    return out


def training_margin(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per run: the smallest signed distance ``min_i y_i·w·x_i / |w|`` of its training points to its line
    (negative when a point is misclassified; 0 for w = 0). Shapes: w (runs, d), x (runs, n, d), y (runs, n).

    Example:
        >>> x = np.array([[[0.9, 0.1], [0.2, 0.8]]]); y = np.array([[1.0, -1.0]])
        >>> training_margin(np.array([[3.0, -3.0]]), x, y).round(4).tolist()
        [0.4243]
    """
    norm = np.linalg.norm(w, axis=1)
    closest = (y * np.einsum("rnd,rd->rn", x, w)).min(axis=1)
    return np.divide(closest, norm, out=np.zeros_like(norm), where=norm > 0)


@register("p1.perceptron", version="3", config_cls=PerceptronConfig,
          description="P1: perceptron criterion vs hinge loss on the unit square (1000 training sets)")
def compute(config: PerceptronConfig) -> dict:
    rng = np.random.default_rng(config.seed)
    x_test, y_test = unit_square(config.n_test, rng)
    x_train, y_train = unit_square(config.n_repeats * config.n_train, rng)
    x_train = x_train.reshape(config.n_repeats, config.n_train, 2)
    y_train = y_train.reshape(config.n_repeats, config.n_train)
    # The fresh sample has its own stream: independent of the sets above and of the example orders.
    fresh = perceptron.SortedSample.of(*unit_square(config.n_fresh, np.random.default_rng([config.seed, 2])))

    shape = (len(LOSSES), len(config.lr_grid), len(config.epochs_grid))
    grid = {key: np.zeros(shape) for key in ("accuracy_mean", "accuracy_sd", "fresh_accuracy_mean", "disagreement",
                                             "train_accuracy", "converged", "train_margin", "weight_norm")}
    # Correct points per training set at every setting: the paired comparisons need them.
    grid["correct"] = np.zeros(shape + (config.n_repeats,), dtype=np.int32)
    grid["fresh_correct"] = np.zeros(shape + (config.n_repeats,), dtype=np.int32)
    keys = ("weights", "accuracy", "fresh_accuracy", "predictions", "angle_deg", "disagreement", "converged",
            "train_margin")
    runs = {key: {} for key in keys}  # the configured setting's per-run values
    n_lr = len(config.lr_grid)
    # The learning-rate grid trains as extra runs: run r*n_lr + i is training set r at lr_grid[i].
    x_runs, y_runs = np.repeat(x_train, n_lr, axis=0), np.repeat(y_train, n_lr, axis=0)
    lr_runs = np.tile(np.asarray(config.lr_grid, dtype=np.float64), config.n_repeats)
    for li, (name, margin) in enumerate(LOSSES.items()):
        # Same order stream for both losses: the comparison is paired.
        order_rng = np.random.default_rng([config.seed, 1])
        _, snapshots = perceptron.train_margin_sgd(
            x_runs, y_runs, margin=margin, lr=lr_runs, epochs=max(config.epochs_grid), rng=order_rng,
            record_epochs=tuple(config.epochs_grid), runs_per_order=n_lr)
        for ei, epochs in enumerate(config.epochs_grid):
            w_all, converged_all = snapshots[epochs]
            for ri, lr in enumerate(config.lr_grid):
                w, converged = w_all[ri::n_lr], converged_all[ri::n_lr]
                preds = perceptron.predict(w, x_test)
                correct = (preds == y_test[None, :]).sum(axis=1)
                acc = correct / config.n_test
                grid["correct"][li, ri, ei] = correct
                grid["accuracy_mean"][li, ri, ei] = acc.mean()
                grid["accuracy_sd"][li, ri, ei] = acc.std(ddof=1)
                grid["fresh_correct"][li, ri, ei] = fresh.correct(w)
                grid["fresh_accuracy_mean"][li, ri, ei] = fresh.accuracy(w).mean()
                disagreement = fresh.disagreement_with_others(w)
                grid["disagreement"][li, ri, ei] = disagreement.mean()
                train_pred = np.where(np.einsum("rnd,rd->rn", x_train, w) > 0, 1.0, -1.0)
                grid["train_accuracy"][li, ri, ei] = (train_pred == y_train).mean()
                grid["converged"][li, ri, ei] = converged.mean()
                margins = training_margin(w, x_train, y_train)
                grid["train_margin"][li, ri, ei] = margins.mean()
                grid["weight_norm"][li, ri, ei] = np.linalg.norm(w, axis=1).mean()
                if lr == config.lr and epochs == config.epochs:
                    values = {"weights": w, "accuracy": acc, "fresh_accuracy": fresh.accuracy(w),
                              "predictions": preds, "angle_deg": perceptron.angle_to_normal(w),
                              "disagreement": disagreement, "converged": converged,
                              "train_margin": margins}
                    for key in keys:
                        runs[key][name] = values[key]

    return {
        "losses": list(LOSSES),
        "x_test": x_test, "y_test": y_test, "n_fresh": config.n_fresh,
        "example_x_train": x_train[0], "example_y_train": y_train[0],
        **{key: runs[key] for key in keys if key != "predictions"},
        "lr_grid": np.asarray(config.lr_grid), "epochs_grid": np.asarray(config.epochs_grid),
        **{f"grid_{key}": value for key, value in grid.items()},
        "summary": _summary(runs, y_test),
    }
