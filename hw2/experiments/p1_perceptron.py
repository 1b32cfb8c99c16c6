"""Problem 1 experiment ``p1.perceptron``: perceptron criterion (a=0) vs hinge (a=1).

One fixed test set of 1000 points; ``n_repeats`` independent training sets of 20 points; both losses
train on the same training sets with the same example orders (paired comparison). Every (lr, epochs)
in the grid is measured, so the report can show how the verdict depends on training length, and
:func:`compare_grid`, :func:`where_each_wins` and :func:`edge_check` phrase that dependence from
the per-training-set accuracies (``grid_correct``) with paired 95 % intervals.

The grid reaches lr 100 and 10⁵ epochs: with lr 1 and 10⁴ epochs (the best hinge setting of a
smaller grid) sitting at its corner, the grid is extended until the best setting's accuracy no
longer changes beyond the noise when one more step is added (:func:`edge_check`).

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
    """Full specification of Problem 1 (defaults) and the training settings studied."""

    n_train: int = 20
    n_test: int = 1000
    n_repeats: int = 1000
    lr: float = 1.0
    epochs: int = 10000
    lr_grid: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
    epochs_grid: tuple[int, ...] = (1, 10, 100, 1000, 10000, 100000)
    seed: int = 0

    def __post_init__(self):
        check_fields(self, ("n_train", "n_test", "n_repeats"), low=2)
        check_choice("lr", self.lr, self.lr_grid)
        check_choice("epochs", self.epochs, self.epochs_grid)


def _summary(accuracy: dict, angles: dict, predictions: dict, single: dict, y_test) -> dict:
    out = {"single_set_accuracy": single}
    # Training set 0, both losses, the same 1000 test points: a paired comparison (McNemar).
    out["single_set_mcnemar"] = stats.mcnemar(predictions["hinge"][0] == y_test,
                                              predictions["perceptron"][0] == y_test)
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


@register("p1.perceptron", version="2", config_cls=PerceptronConfig,
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
    # Correct test points per training set at every setting: the paired comparisons need them.
    grid["correct"] = np.zeros(shape + (config.n_repeats,), dtype=np.int32)
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
                preds = perceptron.predict(w, x_test)
                acc = (preds == y_test[None, :]).mean(axis=1)
                grid["correct"][li, ri, ei] = (preds == y_test[None, :]).sum(axis=1)
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
        "summary": _summary(accuracy, angles, predictions, single, y_test),
    }


# ------------------------------------------------------------------ reading the grid (for 1.3)
def _setting(data, ri: int, ei: int) -> tuple[float, int]:
    return float(data["lr_grid"][ri]), int(data["epochs_grid"][ei])


def compare_grid(data: dict) -> dict:
    """Paired hinge − perceptron accuracy at every (lr, epochs) of the grid, over the training sets.

    Returns arrays of shape (n_lr, n_epochs): ``diff_mean``, ``ci_low``, ``ci_high`` (95 %, in
    accuracy fractions) and ``winner``: ``'hinge'`` or ``'perceptron'`` where the interval excludes
    0, ``'tie'`` where it does not.

    Example:
        >>> data = {"losses": ["perceptron", "hinge"], "lr_grid": np.array([1.0]),
        ...         "epochs_grid": np.array([10]), "n_test": 100,
        ...         "grid_correct": np.array([[[[90, 91, 92, 90]]], [[[95, 95, 96, 94]]]])}
        >>> str(compare_grid(data)["winner"][0, 0])
        'hinge'
    """
    correct = np.asarray(data["grid_correct"], dtype=np.float64) / _n_test(data)
    h, p = data["losses"].index("hinge"), data["losses"].index("perceptron")
    shape = correct.shape[1:3]
    out = {key: np.zeros(shape) for key in ("diff_mean", "ci_low", "ci_high")}
    out["winner"] = np.empty(shape, dtype=object)
    for ri in range(shape[0]):
        for ei in range(shape[1]):
            d = stats.paired_difference(correct[h, ri, ei], correct[p, ri, ei])
            out["diff_mean"][ri, ei], out["ci_low"][ri, ei], out["ci_high"][ri, ei] = (
                d["mean_diff"], d["ci_low"], d["ci_high"])
            out["winner"][ri, ei] = ("tie" if not d["significant"] else
                                     "hinge" if d["mean_diff"] > 0 else "perceptron")
    return out


def _n_test(data: dict) -> int:
    return int(data["n_test"]) if "n_test" in data else len(data["y_test"])


def where_each_wins(data: dict) -> dict:
    """``{'hinge': [(lr, epochs), ...], 'perceptron': [...], 'tie': [...]}`` from :func:`compare_grid`.

    Example:
        >>> data = {"losses": ["perceptron", "hinge"], "lr_grid": np.array([1.0]),
        ...         "epochs_grid": np.array([10]), "n_test": 100,
        ...         "grid_correct": np.array([[[[90, 91, 92, 90]]], [[[80, 81, 80, 82]]]])}
        >>> where_each_wins(data)
        {'hinge': [], 'perceptron': [(1.0, 10)], 'tie': []}
    """
    winner = compare_grid(data)["winner"]
    out = {"hinge": [], "perceptron": [], "tie": []}
    for ri in range(winner.shape[0]):
        for ei in range(winner.shape[1]):
            out[winner[ri, ei]].append(_setting(data, ri, ei))
    return out


def edge_check(data: dict, loss: str = "hinge") -> dict:
    """Does the best setting of ``loss`` depend on where the grid stops?

    The best setting is the (lr, epochs) with the highest mean test accuracy. For every edge of the
    grid it touches (largest epochs, largest or smallest lr), the same question is asked of the grid
    without that last row or column: the paired difference (best − best of the smaller grid) over the
    training sets, with its 95 % interval, measures what the last step of the grid bought.

    Returns ``best`` ((lr, epochs)), ``best_accuracy``, ``best_converged`` (share of runs at a fixed
    point there), ``edges``: ``{edge: {'without': (lr, epochs), 'gain': ..., 'ci95': [lo, hi],
    'significant': bool}}``, and ``stable``: True when the best is inside the grid or no edge's gain
    is significant — extending the grid one more step in that direction changed nothing measurable.

    Example:
        >>> data = {"losses": ["hinge"], "lr_grid": np.array([0.1, 1.0]), "epochs_grid": np.array([10, 100]),
        ...         "n_test": 100, "grid_converged": np.ones((1, 2, 2)),
        ...         "grid_correct": np.array([[[[80, 82], [90, 91]], [[85, 86], [95, 95]]]])}
        >>> out = edge_check(data)
        >>> out["best"], sorted(out["edges"]), out["stable"]
        ((1.0, 100), ['largest epochs', 'largest lr'], False)
    """
    li = data["losses"].index(loss)
    correct = np.asarray(data["grid_correct"][li], dtype=np.float64) / _n_test(data)  # (lr, epochs, sets)
    mean = correct.mean(axis=-1)
    n_lr, n_ep = mean.shape
    ri, ei = np.unravel_index(int(np.argmax(mean)), mean.shape)
    edges = {}
    candidates = {"largest epochs": (ei == n_ep - 1 and n_ep > 1, np.s_[:, : n_ep - 1]),
                  "largest lr": (ri == n_lr - 1 and n_lr > 1, np.s_[: n_lr - 1, :]),
                  "smallest lr": (ri == 0 and n_lr > 1, np.s_[1:, :])}
    for edge, (touches, keep) in candidates.items():
        if not touches:
            continue
        sub = mean[keep]
        r2, e2 = np.unravel_index(int(np.argmax(sub)), sub.shape)
        r2 += 1 if edge == "smallest lr" else 0
        d = stats.paired_difference(correct[ri, ei], correct[r2, e2])
        edges[edge] = {"without": _setting(data, r2, e2), "gain": d["mean_diff"],
                       "ci95": [d["ci_low"], d["ci_high"]], "significant": d["significant"]}
    return {"best": _setting(data, ri, ei), "best_accuracy": float(mean[ri, ei]),
            "best_converged": float(data["grid_converged"][li, ri, ei]), "edges": edges,
            "stable": not any(e["significant"] for e in edges.values())}
