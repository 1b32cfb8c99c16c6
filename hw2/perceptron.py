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
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
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
        such a run is at a fixed point (every y·w·x > a) and would never change again.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    epochs = _validate(x, y, margin, lr, epochs)
    runs, points, features = x.shape
    w = np.zeros((runs, features)) if w0 is None else np.array(w0, dtype=np.float64, copy=True)
    lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,))
    if runs % runs_per_order:
        raise argument_error("runs_per_order", f"a divisor of the number of runs ({runs})", runs_per_order)
    converged = np.zeros(runs, dtype=bool)
    snapshots = {0: (w.copy(), converged.copy())} if 0 in record_epochs else {}
    base_order = np.tile(np.arange(points), (runs // runs_per_order, 1))
    for epoch in range(1, epochs + 1):
        order = np.repeat(rng.permuted(base_order, axis=1), runs_per_order, axis=0)
        # Only runs that moved last epoch can move now: a run with no update is at a fixed point.
        live = np.flatnonzero(~converged)
        if live.size:
            xs = np.take_along_axis(x[live], order[live][:, :, None], axis=1)  # this epoch's example order
            ys = np.take_along_axis(y[live], order[live], axis=1)
            w_live, lr_live = w[live], lr[live]
            updated = np.zeros(live.size, dtype=bool)
            for step in range(points):
                xi, yi = xs[:, step], ys[:, step]
                active = yi * (xi * w_live).sum(axis=1) <= margin  # kink counts as active (module doc)
                w_live += (lr_live * active * yi)[:, None] * xi
                updated |= active
            w[live] = w_live
            converged[live] = ~updated
        if epoch in record_epochs:
            snapshots[epoch] = (w.copy(), converged.copy())
    return w, snapshots


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
