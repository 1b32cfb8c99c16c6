"""Problem 2 experiments: initialization statistics (2.1) and dying ReLU (2.2, 2.3).

* ``p2.init``: per-layer activations and weight gradients of the intoli MLP on the 10,000 MNIST
  test images, for tanh / sigmoid with N(0, σ) and Glorot normal, sigmoid also with Glorot normal
  times 2, 4 (= 1 / its slope at 0) and 8, ReLU with N(0, σ), Glorot and He normal
  (:mod:`hw2.init_study`); each case classified by :func:`hw2.init_study.classify` (saturates,
  vanishes, explodes, keeps its scale), activations measured by one scale, their spread.
* ``p2.dying_relu``: 1000 independent trainings of a depth-10 width-2 network on ``|x|`` with ReLU,
  the same 1000 with Leaky ReLU (same data, weights and batch order) and with ReLU under the
  randomized asymmetric initialization (:mod:`hw2.dying_relu`); collapse and born-dead fractions
  with Wilson intervals, paired comparisons, a Monte-Carlo born-dead probability.
* ``p2.dying_relu_long``: the ReLU and Leaky ReLU networks of ``p2.dying_relu`` trained on until
  their collapse counts stop changing (a stated rule, checkpoints to show when): 2.2's and 2.3's
  answers.
* ``p2.dying_relu_depth``: collapse fraction against depth for width 2, a depth x width map, and
  the Monte-Carlo born-dead probability of every cell.

Example:
    >>> from hw2 import experiments
    >>> result = experiments.run("p2.dying_relu", profile="smoke")   # doctest: +SKIP
    >>> result.data["summary"]["relu"]["collapsed"]["fraction"]        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from hw2 import dying_relu, init_study, stats
from hw2._checks import check_fields, check_int, check_range
from hw2.datasets import load_mnist
from hw2.experiments import register
from hw2.progress import progress_bar


# ------------------------------------------------------------------------------------------- 2.1
@dataclasses.dataclass(frozen=True)
class InitStudyConfig:
    """Problem 2.1: the intoli MLP at initialization, statistics over the MNIST test images."""

    cases: tuple[str, ...] = init_study.default_cases()
    n_images: int = 10000
    gradient_batch_size: int = 256
    n_hidden: int = 5
    units: int = 100
    n_samples: int = 2000
    seed: int = 0

    def __post_init__(self):
        for case in self.cases:
            init_study.parse_case(case)
        check_int("n_images", self.n_images, 1, 10000)
        check_int("gradient_batch_size", self.gradient_batch_size, 1, self.n_images)


@register("p2.init", version="3", config_cls=InitStudyConfig,
          description="P2.1: per-layer activation and gradient statistics of the intoli MLP at initialization")
def compute_init(config: InitStudyConfig) -> dict:
    _, (x_test, y_test) = load_mnist()
    x = x_test[: config.n_images].reshape(config.n_images, -1).astype(np.float32) / 255.0
    y = y_test[: config.n_images].astype(np.int64)
    per_case = []
    for case in progress_bar(len(config.cases), True, "p2.init cases", iterable=config.cases):
        per_case.append(init_study.layer_statistics(
            case, x, y, gradient_batch_size=config.gradient_batch_size, n_hidden=config.n_hidden,
            units=config.units, seed=config.seed, n_samples=config.n_samples))
    keys = [k for k in per_case[0] if k != "loss"]
    data = {key: np.stack([c[key] for c in per_case]) for key in keys}
    data["loss"] = np.array([c["loss"] for c in per_case])
    data["cases"] = list(config.cases)
    data["labels"] = [init_study.case_label(c) for c in config.cases]
    summary = {}
    for i, case in enumerate(config.cases):
        # One measure of activation scale, the spread (activation_signal_std), wherever a verdict is made.
        saturated = data["activation_saturated"][i]
        activation = init_study.parse_case(case)[0]
        summary[case] = {
            "activation_spread": [float(v) for v in data["activation_signal_std"][i]],
            "gradient_std": [float(v) for v in data["gradient_std"][i]],
            "saturated_or_zero": [float(v) for v in saturated],
            "loss": float(data["loss"][i]),
            **init_study.classify(data["activation_signal_std"][i], data["gradient_std"][i],
                                  saturated=saturated if init_study.saturation_applies(activation) else None),
        }
    data["summary"] = summary
    return data


# ------------------------------------------------------------------------------------ 2.2 / 2.3
def checkpoint_epochs(epochs: int) -> tuple[int, ...]:
    """Epochs at which the collapse fractions are recorded: 1, 2, 5, 10, 20, 30, ... and the last.

    Example:
        >>> checkpoint_epochs(50)
        (1, 2, 5, 10, 20, 30, 40, 50)
    """
    marks = [1, 2, 5] + list(range(10, epochs + 1, 10)) + [epochs]
    return tuple(sorted({m for m in marks if 1 <= m <= epochs}))


TOLERANCE_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1)


@dataclasses.dataclass(frozen=True)
class DyingReluConfig:
    """Problems 2.2 and 2.3 as in Lu et al. (2019), plus RAI as a third arm.

    ``depth`` counts weight layers (Lu et al.'s convention): 10 = nine hidden layers of ``width``.
    ``tolerance``: a network has collapsed when the spread of its output on ``grid_size`` points of
    the domain is at most ``tolerance`` x the spread of the target there.
    """

    n_simulations: int = 1000
    depth: int = 10
    width: int = 2
    arms: tuple[str, ...] = ("relu", "leaky_relu", "relu+rai")
    target: str = "abs"
    n_points: int = 3000
    batch_size: int = 64
    epochs: int = 50
    learning_rate: float = 1e-3
    negative_slope: float = 0.01
    tolerance: float = 1e-3
    grid_size: int = 1001
    born_dead_mc: int = 200000
    n_curves: int = 24
    n_examples: int = 8
    seed: int = 0

    def __post_init__(self):
        # Builds nothing heavy: validates every argument the way the simulator does.
        dying_relu.layer_sizes(self.depth, self.width)
        dying_relu.check_target(self.target)
        for arm in self.arms:
            dying_relu.Arm.parse(arm)
        dying_relu.check_batch_size(self.batch_size, self.n_points)
        check_fields(self, ("n_simulations", "epochs", "born_dead_mc"))
        check_range("tolerance", self.tolerance, low=0)


def _per_network(fin: dict, ini: dict) -> dict:
    """The per-network arrays stored for one arm: its analysis after training (``fin``) and at
    initialization (``ini``), both from :meth:`hw2.dying_relu.DyingReluEnsemble.analyze`."""
    return {
        "collapsed": fin["collapsed"], "dead": fin["dead"], "dead_layer": fin["dead_layer"],
        "relative_spread": fin["relative_spread"].astype(np.float32), "mse": fin["mse"].astype(np.float32),
        "mean_output": fin["mean_output"].astype(np.float32), "non_finite": fin["non_finite"],
        "born_dead": ini["dead"], "constant_at_init": ini["collapsed"],
        "relative_spread_at_init": ini["relative_spread"].astype(np.float32),
    }


def _proportion(flags) -> dict:
    flags = np.asarray(flags, dtype=bool)
    count, n = int(flags.sum()), int(flags.size)
    low, high = stats.wilson_interval(count, n)
    return {"count": count, "n": n, "fraction": count / n, "ci95": [low, high]}


def _paired(a, b) -> dict:
    """Paired comparison of two 0/1 outcomes on the same simulations (a - b)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    diff = stats.paired_difference(a.astype(float), b.astype(float))
    return {"both": int(np.sum(a & b)), "only_a": int(np.sum(a & ~b)), "only_b": int(np.sum(~a & b)),
            "neither": int(np.sum(~a & ~b)), "difference": diff["mean_diff"],
            "ci95": [diff["ci_low"], diff["ci_high"]], "significant": diff["significant"]}


def _example_indices(collapsed, n: int) -> np.ndarray:
    """``n`` simulation indices: the first non-collapsed ones (at most half), then the first collapsed ones."""
    collapsed = np.asarray(collapsed, dtype=bool)
    n = min(n, collapsed.size)
    alive = np.flatnonzero(~collapsed)[: n // 2]
    flat = np.flatnonzero(collapsed)[: n - alive.size]
    rest = np.setdiff1d(np.arange(collapsed.size), np.concatenate([alive, flat]))[: n - alive.size - flat.size]
    return np.sort(np.concatenate([alive, flat, rest])).astype(np.int64)


def _summarize_dying_relu(data: dict) -> dict:
    return {arm: {key: data["summary"][arm][key] for key in ("collapsed", "born_dead", "dead", "non_finite")}
            for arm in data["arms"]}


@register("p2.dying_relu", version="2", config_cls=DyingReluConfig, summarize=_summarize_dying_relu,
          description="P2.2-2.3: 1000 width-2 depth-10 networks on |x|: ReLU vs Leaky ReLU vs RAI collapse")
def compute_dying_relu(config: DyingReluConfig) -> dict:
    ens = dying_relu.DyingReluEnsemble(
        config.n_simulations, depth=config.depth, width=config.width, arms=config.arms, target=config.target,
        n_points=config.n_points, batch_size=config.batch_size, learning_rate=config.learning_rate,
        negative_slope=config.negative_slope, seed=config.seed)
    names = [arm.name for arm in ens.arms]
    initial = ens.analyze(config.grid_size, config.tolerance, training_mse=False)
    checkpoints = checkpoint_epochs(config.epochs)
    history = ens.train(config.epochs, checkpoints=checkpoints, grid_size=config.grid_size,
                        tolerance=config.tolerance)
    final = ens.analyze(config.grid_size, config.tolerance)

    loss = history["loss"]  # (epochs, arms, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns if every network diverged
        loss_quantiles = np.nanquantile(np.where(np.isfinite(loss), loss, np.nan), [0.1, 0.5, 0.9], axis=2)
    by_epoch = {0: initial, **history["checkpoints"]}
    epochs_axis = np.array(sorted(by_epoch))
    collapsed_by_epoch = np.array([[by_epoch[e][a]["collapsed"].mean() for a in names] for e in epochs_axis])
    dead_by_epoch = np.array([[by_epoch[e][a]["dead"].mean() for a in names] for e in epochs_axis])

    # Example functions per arm: the first non-collapsed simulations (up to half) and the first collapsed ones.
    example_grid = dying_relu.grid(201)
    params = ens.parameters()
    example_indices = np.stack([_example_indices(final[a.name]["collapsed"], config.n_examples) for a in ens.arms])
    example_outputs = np.stack([
        dying_relu.evaluate_networks([(k[idx], b[idx]) for k, b in params[a.name]], example_grid, a.activation,
                                     config.negative_slope)[0]
        for a, idx in zip(ens.arms, example_indices)]).astype(np.float32)

    summary, per_arm = {}, {}
    for arm in ens.arms:
        name = arm.name
        fin, ini = final[name], initial[name]
        tolerance_curve = [float(np.mean(fin["relative_spread"] <= t)) for t in TOLERANCE_GRID]
        summary[name] = {
            "collapsed": _proportion(fin["collapsed"]), "dead": _proportion(fin["dead"]),
            "born_dead": _proportion(ini["dead"]), "constant_at_init": _proportion(ini["collapsed"]),
            "non_finite": int(fin["non_finite"].sum()),
            "collapsed_not_dead": int(np.sum(fin["collapsed"] & ~fin["dead"])),
            "dead_not_collapsed": int(np.sum(fin["dead"] & ~fin["collapsed"])),
            "collapsed_by_tolerance": dict(zip([f"{t:g}" for t in TOLERANCE_GRID], tolerance_curve)),
            "median_mse_collapsed": float(np.nanmedian(fin["mse"][fin["collapsed"]])) if fin["collapsed"].any()
            else float("nan"),
            "median_mse_not_collapsed": float(np.nanmedian(fin["mse"][~fin["collapsed"] & ~fin["non_finite"]]))
            if np.any(~fin["collapsed"] & ~fin["non_finite"]) else float("nan"),
        }
        per_arm[name] = _per_network(fin, ini)
    if "relu" in names and "leaky_relu" in names:
        relu, leaky = per_arm["relu"], per_arm["leaky_relu"]
        summary["relu_vs_leaky_relu"] = {"collapsed": _paired(relu["collapsed"], leaky["collapsed"]),
                                         "dead": _paired(relu["dead"], leaky["dead"])}
    if "relu" in names and "relu+rai" in names:
        summary["relu_vs_relu+rai"] = {"collapsed": _paired(per_arm["relu"]["collapsed"],
                                                            per_arm["relu+rai"]["collapsed"])}
    grid_points = dying_relu.grid(config.grid_size)
    target_values = dying_relu.TARGETS[config.target](grid_points)
    summary["born_dead_monte_carlo"] = {
        init: dying_relu.born_dead_monte_carlo(config.depth, config.width, config.born_dead_mc, initialization=init,
                                               seed=config.seed, grid_size=2 if init == "he_normal" else 201)
        for init in dict.fromkeys(arm.initialization for arm in ens.arms)}
    summary["one_sided_death_probability"] = dying_relu.one_sided_death_probability(config.depth, config.width)
    summary["target_mean_on_grid"] = float(target_values.mean())
    summary["target_variance_on_domain"] = float(np.var(target_values))
    # How much the collapse fraction still moved over the second half of training.
    summary["collapse_change_second_half"] = {
        name: float(collapsed_by_epoch[-1, i] - collapsed_by_epoch[epochs_axis >= epochs_axis[-1] // 2][0, i])
        for i, name in enumerate(names)}
    return {
        "arms": names, "per_arm": per_arm, "summary": summary,
        "loss_curves": loss[:, :, : config.n_curves].astype(np.float32),
        "loss_quantiles": loss_quantiles.astype(np.float32), "checkpoint_epochs": epochs_axis,
        "collapsed_by_epoch": collapsed_by_epoch, "dead_by_epoch": dead_by_epoch,
        "tolerance_grid": np.array(TOLERANCE_GRID), "example_grid": example_grid.astype(np.float32),
        "example_outputs": example_outputs, "example_indices": example_indices,
        "example_target": dying_relu.TARGETS[config.target](example_grid).astype(np.float32),
    }


# ------------------------------------------------------------------------ trained to convergence
@dataclasses.dataclass(frozen=True)
class ConvergedConfig:
    """Problems 2.2 and 2.3 trained until the collapse counts stop changing.

    The same 1000 simulations as ``p2.dying_relu`` (same seed: same data, initial weights and batch
    orders; its ReLU and Leaky ReLU arms) trained on, and analysed on the grid after epochs 1, 2, 5,
    10, 20 and then every ``every`` epochs. *Stopping rule*: training stops at the first checkpoint
    (at least ``window`` epochs in) at which, in every arm, at most ``max_change`` networks changed
    their collapsed status (at ``tolerance``) at some checkpoint of the last ``window`` epochs; or at
    ``max_epochs``, which the result then says. The networks' state after ``snapshot_epoch`` epochs
    is kept, to compare with the shorter run.
    """

    n_simulations: int = 1000
    arms: tuple[str, ...] = ("relu", "leaky_relu")
    depth: int = 10
    width: int = 2
    target: str = "abs"
    n_points: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    negative_slope: float = 0.01
    tolerance: float = 1e-3
    grid_size: int = 1001
    every: int = 25
    window: int = 250
    max_change: int = 2
    max_epochs: int = 5000
    snapshot_epoch: int = 50
    seed: int = 0

    def __post_init__(self):
        dying_relu.layer_sizes(self.depth, self.width)
        dying_relu.check_target(self.target)
        for arm in self.arms:
            dying_relu.Arm.parse(arm)
        dying_relu.check_batch_size(self.batch_size, self.n_points)
        check_fields(self, ("n_simulations", "every", "window", "max_epochs", "snapshot_epoch"))
        check_int("max_change", self.max_change, low=0)
        check_range("tolerance", self.tolerance, low=0)


def converged_marks(every: int, max_epochs: int) -> tuple[int, ...]:
    """Checkpoint epochs of ``p2.dying_relu_long``: 1, 2, 5, 10, 20, then every ``every`` epochs up to ``max_epochs``.

    Example:
        >>> converged_marks(25, 100)
        (1, 2, 5, 10, 20, 25, 50, 75, 100)
    """
    every, max_epochs = check_int("every", every, low=1), check_int("max_epochs", max_epochs, low=1)
    marks = {m for m in (1, 2, 5, 10, 20) if m <= max_epochs} | set(range(every, max_epochs + 1, every))
    return tuple(sorted(marks | {max_epochs}))


def changed_within(last_change, epoch: int, window: int) -> int:
    """How many networks changed status at a checkpoint later than ``epoch - window`` (``last_change``:
    each network's last checkpoint epoch with a change, 0 if none).

    Example:
        >>> changed_within(np.array([0, 30, 120, 250]), epoch=250, window=200)
        2
    """
    return int(np.sum(np.asarray(last_change) > epoch - window))


@register("p2.dying_relu_long", version="1", config_cls=ConvergedConfig,
          description="P2.2-2.3: the 1000 ReLU / Leaky ReLU networks trained until their collapse stops changing")
def compute_converged(config: ConvergedConfig) -> dict:
    ens = dying_relu.DyingReluEnsemble(
        config.n_simulations, depth=config.depth, width=config.width, arms=config.arms, target=config.target,
        n_points=config.n_points, batch_size=config.batch_size, learning_rate=config.learning_rate,
        negative_slope=config.negative_slope, seed=config.seed)
    names = [arm.name for arm in ens.arms]
    S, tolerances = config.n_simulations, np.array(TOLERANCE_GRID)
    initial = ens.analyze(config.grid_size, config.tolerance, training_mse=False)

    def counts(analysis):
        spread = np.stack([analysis[a]["relative_spread"] for a in names])  # (arms, S)
        with np.errstate(invalid="ignore"):
            by_tol = (spread[:, :, None] <= tolerances).sum(axis=1)
        return (np.array([analysis[a]["collapsed"].sum() for a in names]),
                np.array([analysis[a]["dead"].sum() for a in names]), by_tol)

    marks_done, collapsed_n, dead_n, by_tol_n, changed_n = [0], [], [], [], [np.zeros(len(names), np.int64)]
    for values, store in zip(counts(initial), (collapsed_n, dead_n, by_tol_n)):
        store.append(values)
    flags = np.stack([initial[a]["collapsed"] for a in names])
    last_change = np.zeros((len(names), S), dtype=np.int64)
    losses, snapshot, stopped_by = [], None, "cap"
    bar = progress_bar(config.max_epochs, True, f"training {len(names)} x {S} networks", unit="epoch")
    for mark in converged_marks(config.every, config.max_epochs):
        history = ens.train(mark - marks_done[-1], progress=False)
        bar.update(mark - marks_done[-1])
        losses.append(history["loss"])
        analysis = ens.analyze(config.grid_size, config.tolerance, training_mse=False)
        now = np.stack([analysis[a]["collapsed"] for a in names])
        changed = now != flags
        last_change[changed] = mark
        flags = now
        marks_done.append(mark)
        changed_n.append(changed.sum(axis=1))
        for values, store in zip(counts(analysis), (collapsed_n, dead_n, by_tol_n)):
            store.append(values)
        if mark == config.snapshot_epoch:
            snapshot = {a: analysis[a] for a in names}
        recent = [changed_within(last_change[i], mark, config.window) for i in range(len(names))]
        bar.set_postfix(collapsed=collapsed_n[-1].tolist(), changed=recent)
        if mark >= config.window and mark % config.every == 0 and max(recent) <= config.max_change:
            stopped_by = "rule"
            break
    bar.close()
    epochs_run = marks_done[-1]
    final = ens.analyze(config.grid_size, config.tolerance)
    loss = np.concatenate(losses)  # (epochs, arms, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        loss_quantiles = np.nanquantile(np.where(np.isfinite(loss), loss, np.nan), [0.1, 0.5, 0.9], axis=2)

    summary, per_arm = {}, {}
    for i, name in enumerate(names):
        fin, ini = final[name], initial[name]
        summary[name] = {
            "collapsed": _proportion(fin["collapsed"]), "dead": _proportion(fin["dead"]),
            "born_dead": _proportion(ini["dead"]), "constant_at_init": _proportion(ini["collapsed"]),
            "non_finite": int(fin["non_finite"].sum()),
            "last_change_epoch": int(last_change[i].max()),
            "changed_in_last_window": changed_within(last_change[i], epochs_run, config.window),
            "collapsed_by_tolerance": {f"{t:g}": float(np.mean(fin["relative_spread"] <= t)) for t in TOLERANCE_GRID},
        }
        per_arm[name] = dict(_per_network(fin, ini), last_change=last_change[i])
        if snapshot is not None:
            per_arm[name]["collapsed_at_snapshot"] = snapshot[name]["collapsed"]
            per_arm[name]["relative_spread_at_snapshot"] = snapshot[name]["relative_spread"].astype(np.float32)
    if "relu" in names and "leaky_relu" in names:
        summary["relu_vs_leaky_relu"] = {"collapsed": _paired(per_arm["relu"]["collapsed"],
                                                              per_arm["leaky_relu"]["collapsed"])}
    target_values = dying_relu.TARGETS[config.target](dying_relu.grid(config.grid_size))
    summary.update({"epochs_run": int(epochs_run), "stopped_by": stopped_by,
                    "target_mean_on_grid": float(target_values.mean()),
                    "target_variance_on_domain": float(np.var(target_values))})
    return {
        "arms": names, "per_arm": per_arm, "summary": summary, "checkpoint_epochs": np.array(marks_done),
        "collapsed_counts": np.array(collapsed_n), "dead_counts": np.array(dead_n),
        "collapsed_counts_by_tolerance": np.array(by_tol_n), "changed_counts": np.array(changed_n),
        "tolerance_grid": tolerances, "loss_quantiles": loss_quantiles.astype(np.float32),
    }


# ------------------------------------------------------------------------------ depth and width map
@dataclasses.dataclass(frozen=True)
class DepthSweepConfig:
    """Collapse against depth (width 2) and a depth x width map, ReLU + He normal, zero biases.

    The width-2 sweep trains ``n_simulations`` networks per depth, all depths on the same data and
    batch order; the map trains ``map_simulations`` per cell for the wider widths. Fewer epochs
    than 2.2 (``epochs``): the collapse fraction settles within the first epochs (see 2.2's
    checkpoints). Born-dead probabilities come from ``mc_networks`` freshly initialized networks
    per cell, for every depth in ``mc_depths`` and width in ``mc_widths``.
    """

    depths: tuple[int, ...] = tuple(range(2, 13))
    n_simulations: int = 500
    map_depths: tuple[int, ...] = (2, 4, 6, 8, 10, 12)
    map_widths: tuple[int, ...] = (2, 3, 4)
    map_simulations: int = 200
    mc_depths: tuple[int, ...] = tuple(range(1, 17))
    mc_widths: tuple[int, ...] = (2, 3, 4, 6, 8)
    mc_networks: int = 20000
    epochs: int = 20
    target: str = "abs"
    n_points: int = 3000
    batch_size: int = 64
    learning_rate: float = 1e-3
    tolerance: float = 1e-3
    grid_size: int = 1001
    seed: int = 0

    def __post_init__(self):
        for d in (*self.depths, *self.map_depths, *self.mc_depths):
            dying_relu.layer_sizes(d, 2)
        for w in (*self.map_widths, *self.mc_widths):
            dying_relu.layer_sizes(2, w)
        dying_relu.check_target(self.target)
        dying_relu.check_batch_size(self.batch_size, self.n_points)


def _train_depths(depths, width, n_simulations, config) -> dict:
    """Train one ensemble holding every depth (same data and batch orders) and analyse it."""
    arms = [dying_relu.Arm("relu", depth=d, width=width) for d in depths]
    ens = dying_relu.DyingReluEnsemble(n_simulations, depth=max(depths), width=width, arms=arms,
                                       target=config.target, n_points=config.n_points,
                                       batch_size=config.batch_size, learning_rate=config.learning_rate,
                                       seed=config.seed)
    initial = ens.analyze(config.grid_size, config.tolerance, training_mse=False)
    ens.train(config.epochs)
    final = ens.analyze(config.grid_size, config.tolerance, training_mse=False)
    return {d: (initial[a.name], final[a.name]) for d, a in zip(depths, arms)}


@register("p2.dying_relu_depth", version="1", config_cls=DepthSweepConfig,
          description="P2 beyond the question: collapse vs depth (width 2), depth x width map, born-dead MC")
def compute_depth(config: DepthSweepConfig) -> dict:
    sweep = _train_depths(config.depths, 2, config.n_simulations, config)
    collapsed = np.array([sweep[d][1]["collapsed"].mean() for d in config.depths])
    dead = np.array([sweep[d][1]["dead"].mean() for d in config.depths])
    born_dead = np.array([sweep[d][0]["dead"].mean() for d in config.depths])
    ci = np.array([stats.wilson_interval(int(sweep[d][1]["collapsed"].sum()), config.n_simulations)
                   for d in config.depths])

    map_collapsed = np.full((len(config.map_widths), len(config.map_depths)), np.nan)
    map_born_dead = np.full_like(map_collapsed, np.nan)
    map_n = np.zeros(map_collapsed.shape, dtype=np.int64)
    for wi, width in enumerate(config.map_widths):
        if width == 2 and set(config.map_depths) <= set(config.depths):
            cells = {d: sweep[d] for d in config.map_depths}
            n = config.n_simulations
        else:
            cells = _train_depths(config.map_depths, width, config.map_simulations, config)
            n = config.map_simulations
        for di, d in enumerate(config.map_depths):
            map_collapsed[wi, di] = cells[d][1]["collapsed"].mean()
            map_born_dead[wi, di] = cells[d][0]["dead"].mean()
            map_n[wi, di] = n

    mc = np.zeros((len(config.mc_widths), len(config.mc_depths)))
    theory = np.zeros_like(mc)
    for wi, width in enumerate(config.mc_widths):
        for di, d in enumerate(config.mc_depths):
            # Zero biases make every layer positively homogeneous in x, so x = ±√7 decide death exactly.
            mc[wi, di] = dying_relu.born_dead_monte_carlo(d, width, config.mc_networks, seed=config.seed,
                                                          grid_size=2)["probability"]
            theory[wi, di] = dying_relu.one_sided_death_probability(d, width)
    summary = {
        "width2": {str(d): {"collapsed": float(c), "ci95": [float(lo), float(hi)], "dead": float(dd),
                            "born_dead": float(b)}
                   for d, c, (lo, hi), dd, b in zip(config.depths, collapsed, ci, dead, born_dead)},
        "map_collapsed": {f"w{w}": {f"d{d}": float(map_collapsed[wi, di]) for di, d in enumerate(config.map_depths)}
                          for wi, w in enumerate(config.map_widths)},
    }
    return {
        "depths": np.array(config.depths), "collapsed": collapsed, "collapsed_ci95": ci, "dead": dead,
        "born_dead": born_dead, "map_depths": np.array(config.map_depths), "map_widths": np.array(config.map_widths),
        "map_collapsed": map_collapsed, "map_born_dead": map_born_dead, "map_n": map_n,
        "mc_depths": np.array(config.mc_depths), "mc_widths": np.array(config.mc_widths), "mc_born_dead": mc,
        "one_sided_death": theory, "summary": summary,
    }
