"""Problem 1: a bias-free linear classifier trained by SGD on L(w) = max(0, a - y·w·x).

``a = 0`` is the perceptron criterion, ``a = 1`` the hinge loss (no regularization). Many
independent training sets are trained at once: the weights are an array of shape (runs, features)
and each SGD step updates every run with its own example, so 1000 training sets cost about as much
as one.

The kink at zero margin
-----------------------
With zero initial weights every margin y·w·x is exactly 0, where the perceptron criterion is flat on
one side and the gradient is undefined. We take the subgradient -y·x whenever ``y·w·x <= a`` (the
loss counts as active at the kink). For ``a = 0`` this is exactly Rosenblatt's rule — update on
every mistake *including* zero-margin points, ``w <- w + lr·y·x`` — and it is what lets training
start from zero. The other choice (subgradient 0 at the kink, as ``relu``'s gradient in most
frameworks) would leave zero-initialised weights at zero forever: accuracy = chance.

Evaluating many runs on a large sample
--------------------------------------
Every classifier here is a line through the origin, and the data lie in the unit square, so a
point's prediction depends only on its direction. :class:`SortedSample` sorts a large test sample
once by direction; the points any ``w`` calls ``+1`` are then one contiguous block of that order,
found by binary search, and the number of correct points of each of thousands of runs costs
O(log n) instead of a pass over the whole sample (:meth:`SortedSample.correct`).

Why numpy and not Keras here: a step updates a 2-vector per run with one example; the whole
computation is a few thousand elementwise operations on (runs, 2) arrays, which numpy does in
milliseconds while a framework's per-op dispatch would dominate. The rule is the same either way.

Example:
    >>> import numpy as np
    >>> x = np.array([[[0.9, 0.1], [0.2, 0.8]]]); y = np.array([[1.0, -1.0]])
    >>> w, _ = train_margin_sgd(x, y, margin=0.0, lr=1.0, epochs=1, rng=np.random.default_rng(0))
    >>> bool(np.all(np.sign(x[0] @ w[0]) == y[0]))
    True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hw2._checks import argument_error, check_int, check_range


def margin_loss(w: np.ndarray, x: np.ndarray, y: np.ndarray, margin: float) -> np.ndarray:
    """Mean of max(0, margin - y·w·x) over points. Shapes: w (runs, d), x (runs, n, d), y (runs, n)."""
    scores = np.einsum("rnd,rd->rn", x, w)
    return np.maximum(0.0, margin - y * scores).mean(axis=-1)


def _validate(x, y, margin, lr, epochs) -> int:
    """Check the arguments of :func:`train_margin_sgd`; return ``epochs`` as an ``int``."""
    if x.ndim != 3:
        raise argument_error("x", "an array of shape (runs, points, features)", received=f"x.shape={x.shape}")
    if y.shape != x.shape[:2]:
        raise argument_error("y", f"an array of shape {x.shape[:2]}", received=f"y.shape={y.shape}")
    bad = np.argwhere(~np.isin(y, (-1.0, 1.0)))
    if bad.size:
        first = tuple(int(i) for i in bad[0])
        raise argument_error("y", "only -1 and +1 labels", received=f"y with {y[first].item()!r} at index {first}")
    check_range("margin", margin, low=0)
    if not np.all(np.asarray(lr) > 0):
        raise argument_error("lr", "> 0", received=f"lr={lr}")
    return check_int("epochs", epochs, low=0)


def train_margin_sgd(
    x: np.ndarray,
    y: np.ndarray,
    *,
    margin: float,
    lr: float | np.ndarray,
    epochs: int,
    rng: np.random.Generator,
    w0: np.ndarray | None = None,
    record_epochs: tuple[int, ...] = (),
    runs_per_order: int = 1,
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """SGD (one example per step, reshuffled every epoch, independently per run) on max(0, margin - y·w·x).

    Args:
        x: (runs, points, features) inputs; y: (runs, points) labels in {-1, +1}.
        margin: ``a`` in the loss: 0 = perceptron criterion, 1 = hinge.
        lr: step size, a scalar or one per run (so a learning-rate grid trains as extra runs).
        epochs: passes over each training set.
        rng: source of the per-run, per-epoch shuffling.
        w0: initial weights (runs, features); zeros by default.
        record_epochs: epochs after which a copy of the weights is returned (0 = before training).
        runs_per_order: consecutive groups of this many runs share one example order (e.g. the same
            training set at several learning rates), so they differ only in what is being compared.

    Returns:
        ``(w, snapshots)``: final weights (runs, features) and ``{epoch: (weights, converged)}`` for
        ``record_epochs``, where ``converged`` (runs,) marks runs whose last epoch made no update:
        such a run is at a fixed point (every y·w·x > a) and would never change again. Once every
        run is at a fixed point, the remaining epochs draw no orders from ``rng``.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    epochs = _validate(x, y, margin, lr, epochs)
    runs, points, features = x.shape
    lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,))
    if runs % runs_per_order:
        raise argument_error("runs_per_order", f"a divisor of the number of runs ({runs})", runs_per_order)
    # Feature-major throughout (w_t: features x runs; x_t: features x (run, point)), so that every
    # step reads and writes contiguous rows of the live runs.
    w_t = np.zeros((features, runs)) if w0 is None else np.array(w0, dtype=np.float64).T.copy()
    x_t, y_flat = x.reshape(runs * points, features).T.copy(), y.reshape(-1)
    converged = np.zeros(runs, dtype=bool)
    snapshots = {}

    def record(epoch):
        if epoch in record_epochs:
            snapshots[epoch] = (w_t.T.copy(), converged.copy())

    record(0)
    base_order = np.tile(np.arange(points), (runs // runs_per_order, 1))
    for epoch in range(1, epochs + 1):
        if converged.all():  # every run is at a fixed point: no later epoch changes anything
            for later in range(epoch, epochs + 1):
                record(later)
            break
        order = rng.permuted(base_order, axis=1)  # row k: the order of runs k*runs_per_order, ...
        # Only runs that moved last epoch can move now: a run with no update is at a fixed point.
        live = np.flatnonzero(~converged)
        index = (live[:, None] * points + order[live // runs_per_order]).T  # (points, live): this epoch
        xs, ys = [x_f[index] for x_f in x_t], y_flat[index]  # per feature (points, live); (points, live)
        lr_y = lr[live] * ys
        w_live = w_t[:, live]
        score, term, delta = (np.empty(live.size) for _ in range(3))
        active, updated = np.empty(live.size, dtype=bool), np.zeros(live.size, dtype=bool)
        for step in range(points):
            np.multiply(xs[0][step], w_live[0], out=score)
            for f in range(1, features):
                score += np.multiply(xs[f][step], w_live[f], out=term)
            score *= ys[step]
            np.less_equal(score, margin, out=active)  # the kink counts as active (module doc)
            np.multiply(lr_y[step], active, out=delta)
            for f in range(features):
                w_live[f] += np.multiply(delta, xs[f][step], out=term)
            updated |= active
        w_t[:, live] = w_live
        converged[live] = ~updated
        record(epoch)
    return w_t.T.copy(), snapshots


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Labels sign(w·x) in {-1, +1} for weights (runs, d) and points (n, d); a zero score counts as -1."""
    return np.where(np.asarray(x) @ np.asarray(w).T > 0, 1.0, -1.0).T


def accuracy(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Accuracy per run of weights (runs, d) on one shared test set x (n, d), y (n,)."""
    return (predict(w, x) == np.asarray(y)[None, :]).mean(axis=1)


def angle_to_normal(w: np.ndarray, normal=(1.0, -1.0)) -> np.ndarray:
    """Angle in degrees between each run's w and the true normal; 90 for a zero vector."""
    w = np.asarray(w, dtype=np.float64)
    normal = np.asarray(normal, dtype=np.float64) / np.linalg.norm(normal)
    norms = np.linalg.norm(w, axis=1)
    cos = np.divide(w @ normal, norms, out=np.zeros_like(norms), where=norms > 0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclasses.dataclass(frozen=True, eq=False)
class SortedSample:
    """A large 2-D sample, sorted by direction, on which many bias-free lines are scored at once.

    For a point ``x`` with ``x1, x2 >= 0`` and ``s = x1 + x2 > 0``, ``w·x = s·(w1 + (w2 − w1)·t)``
    with ``t = x2 / s`` in [0, 1], so ``w`` calls ``x`` positive exactly when ``t`` lies on one side
    of ``w1 / (w1 − w2)``: on the points sorted by ``t``, a contiguous block. Counts agree with
    ``sign(w·x)`` point by point except for points within rounding error of a line (the division
    rounds ``t``), and they are exact integers, the same on every machine.

    Build it with :meth:`of`; ``key`` is the sorted ``t``, ``positives_before[k]`` the number of
    points labelled ``+1`` among the first ``k``.

    Example:
        >>> sample = SortedSample.of(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.5]]),
        ...                          np.array([1.0, -1.0, 1.0]))
        >>> sample.correct(np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 0.0]])).tolist()
        [3, 0, 2]
    """

    key: np.ndarray
    positives_before: np.ndarray

    @classmethod
    def of(cls, x, y) -> SortedSample:
        """Sort points ``x`` (n, 2) with labels ``y`` (n,) in {-1, +1} by direction."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
            raise argument_error("x", "an array of shape (points, 2)", received=f"x.shape={x.shape}")
        if y.shape != x.shape[:1]:
            raise argument_error("y", f"an array of shape {x.shape[:1]}", received=f"y.shape={y.shape}")
        if not np.isin(y, (-1.0, 1.0)).all():
            raise argument_error("y", "only -1 and +1 labels", received=f"y with values {np.unique(y)[:5]}")
        total = x.sum(axis=1)
        if not (np.all(x >= 0) and np.all(total > 0)):
            raise argument_error("x", "points with nonnegative coordinates, not both 0 (e.g. the unit square)",
                                 received=f"x with min {x.min():g} and min row sum {total.min():g}")
        t = x[:, 1] / total
        order = np.argsort(t, kind="stable")
        positives = np.concatenate([[0], np.cumsum(y[order] > 0)])
        return cls(key=t[order], positives_before=positives)

    def __len__(self) -> int:
        return int(self.key.size)

    def positive_blocks(self, w) -> tuple[np.ndarray, np.ndarray]:
        """``(start, stop)`` per run of ``w`` (runs, 2): the run calls sorted points ``start:stop`` +1."""
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != 2:
            raise argument_error("w", "an array of shape (runs, 2)", received=f"w.shape={w.shape}")
        n = len(self)
        slope = w[:, 1] - w[:, 0]  # w·x / s = w1 + slope·t
        cut = np.divide(w[:, 0], -slope, out=np.zeros(len(w)), where=slope != 0)
        rising, falling = slope > 0, slope < 0
        start = np.where(rising, np.searchsorted(self.key, cut, side="right"), 0)
        stop = np.where(falling, np.searchsorted(self.key, cut, side="left"), n)
        flat_negative = (slope == 0) & (w[:, 0] <= 0)  # w·x = s·w1 <= 0: no point is called +1
        stop = np.where(flat_negative, 0, stop)
        return start.astype(np.int64), stop.astype(np.int64)

    def correct(self, w) -> np.ndarray:
        """Correctly classified points per run of ``w`` (runs, 2), as integers."""
        start, stop = self.positive_blocks(w)
        n, positives = len(self), int(self.positives_before[-1])
        hit = self.positives_before[stop] - self.positives_before[start]  # positives called +1
        return hit + (n - (stop - start)) - (positives - hit)

    def accuracy(self, w) -> np.ndarray:
        """Accuracy per run of ``w`` (runs, 2) on the sample."""
        return self.correct(w) / len(self)

    def disagreement_with_others(self, w) -> np.ndarray:
        """Per run of ``w`` (runs, 2): the share of points on which it and another run disagree,
        averaged over the other runs. Their mean is :func:`hw2.stats.mean_pairwise_disagreement` on
        this sample; each run's own value is what a paired interval of that mean needs.

        Example:
            >>> sample = SortedSample.of(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([1.0, -1.0]))
            >>> sample.disagreement_with_others(np.array([[1.0, -1.0], [1.0, 0.0], [1.0, 0.0]])).tolist()
            [0.5, 0.25, 0.25]
        """
        start, stop = self.positive_blocks(w)
        runs, n = len(start), len(self)
        if runs < 2:
            raise argument_error("w", "an array of shape (runs, 2) with runs >= 2", received=f"w.shape={w.shape}")
        # calls[j]: runs calling sorted point j +1; before[k]: their sum over the first k points.
        calls = np.cumsum(np.bincount(start, minlength=n + 1) - np.bincount(stop, minlength=n + 1))[:n]
        before = np.concatenate([[0], np.cumsum(calls)])
        inside = before[stop] - before[start]
        # On its +1 block a run disagrees with the runs calling -1 there, elsewhere with those calling +1.
        pairs = (runs * (stop - start) - inside) + (before[-1] - inside)
        return pairs / (n * (runs - 1))
