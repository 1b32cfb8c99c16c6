"""Problem 1 experiment ``p1.perceptron``: perceptron criterion (a=0) vs hinge (a=1).

One fixed test set of 1000 points; ``n_repeats`` independent training sets of 20 points; both losses
train on the same training sets with the same example orders (paired comparison). Every (lr, epochs)
in the grid is measured, so the report can show how the verdict depends on training length.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p1.perceptron", profile="smoke")  # doctest: +SKIP
    >>> sorted(result.data["summary"])                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hw2 import perceptron, stats
from hw2.datasets import unit_square
from hw2.experiments import register

LOSSES = {"perceptron": 0.0, "hinge": 1.0}


@dataclasses.dataclass(frozen=True)
class PerceptronConfig:
    """Full specification of Problem 1 (defaults) and the training settings studied."""

    n_train: int = 20
    n_test: int = 1000
    n_repeats: int = 1000
    lr: float = 1.0
    epochs: int = 10000
    lr_grid: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
    epochs_grid: tuple[int, ...] = (1, 10, 100, 1000, 10000)
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "n_test"):
            if getattr(self, name) < 2:
                raise ValueError(f"Argument `{name}` must be >= 2. Received: {name}={getattr(self, name)}")
        if self.n_repeats < 2:
            raise ValueError(f"Argument `n_repeats` must be >= 2. Received: n_repeats={self.n_repeats}")
        if self.lr not in self.lr_grid:
            raise ValueError(f"Argument `lr` must be one of lr_grid={self.lr_grid}. Received: lr={self.lr}")
        if self.epochs not in self.epochs_grid:
            raise ValueError(
                f"Argument `epochs` must be one of epochs_grid={self.epochs_grid}. Received: epochs={self.epochs}")


def _summary(accuracy: dict, angles: dict, predictions: dict, single: dict) -> dict:
    out = {"single_set_accuracy": single}
    for name in LOSSES:
        mean, low, high = stats.mean_ci(accuracy[name])
        out[name] = {
            "accuracy_mean": mean, "accuracy_ci95": [low, high], "accuracy_sd": float(np.std(accuracy[name], ddof=1)),
            "accuracy_min": float(np.min(accuracy[name])),
            "angle_mean_deg": float(np.mean(angles[name])), "angle_sd_deg": float(np.std(angles[name], ddof=1)),
            "mean_pairwise_disagreement": stats.mean_pairwise_disagreement(predictions[name]),
        }
    out["hinge_minus_perceptron"] = stats.paired_difference(accuracy["hinge"], accuracy["perceptron"])
    return out


@register("p1.perceptron", version="1", config_cls=PerceptronConfig,
          summarize=lambda data: data["summary"],
          description="P1: perceptron criterion vs hinge loss on the unit square (1000 training sets)")
def compute(config: PerceptronConfig) -> dict:
    rng = np.random.default_rng(config.seed)
    x_test, y_test = unit_square(config.n_test, rng)
    x_train, y_train = unit_square(config.n_repeats * config.n_train, rng)
    x_train = x_train.reshape(config.n_repeats, config.n_train, 2)
    y_train = y_train.reshape(config.n_repeats, config.n_train)

    shape = (len(LOSSES), len(config.lr_grid), len(config.epochs_grid))
    grid = {key: np.zeros(shape) for key in
            ("accuracy_mean", "accuracy_sd", "disagreement", "train_accuracy", "converged")}
    weights, accuracy, angles, predictions = {}, {}, {}, {}
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
                acc = perceptron.accuracy(w, x_test, y_test)
                preds = perceptron.predict(w, x_test)
                grid["accuracy_mean"][li, ri, ei] = acc.mean()
                grid["accuracy_sd"][li, ri, ei] = acc.std(ddof=1)
                grid["disagreement"][li, ri, ei] = stats.mean_pairwise_disagreement(preds)
                train_pred = np.where(np.einsum("rnd,rd->rn", x_train, w) > 0, 1.0, -1.0)
                grid["train_accuracy"][li, ri, ei] = (train_pred == y_train).mean()
                grid["converged"][li, ri, ei] = converged.mean()
                if lr == config.lr and epochs == config.epochs:
                    weights[name], accuracy[name], predictions[name] = w, acc, preds
                    angles[name] = perceptron.angle_to_normal(w)

    single = {name: float(accuracy[name][0]) for name in LOSSES}
    return {
        "losses": list(LOSSES),
        "x_test": x_test, "y_test": y_test,
        "example_x_train": x_train[0], "example_y_train": y_train[0],
        "weights": weights, "accuracy": accuracy, "angle_deg": angles,
        "lr_grid": np.asarray(config.lr_grid), "epochs_grid": np.asarray(config.epochs_grid),
        **{f"grid_{key}": value for key, value in grid.items()},
        "summary": _summary(accuracy, angles, predictions, single),
    }
