"""Internal covariate shift, measured: how the inputs of a hidden layer's nonlinearity drift in training.

:class:`DriftProbe` is a Keras callback that, at chosen training steps, feeds a fixed probe batch
through the network and records per unit the mean, standard deviation and the 15/50/85th
percentiles of what the layer's nonlinearity receives (Ioffe & Szegedy 2015, figure 1). Without
batch normalization that is the dense layer's output ``z = W x + b``; with it, it is
``BN(z) = gamma * (z - mu_B) / sqrt(var_B + eps) + beta`` computed with the probe batch as the batch
(training-mode BN), so the recorded distribution is the one the nonlinearity sees while training.
With BN that distribution is standardized by construction, so the probe also records ``z`` itself
(the ``pre_`` statistics): the drift that BN removes, measured before the normalization.
:func:`drift_summary` turns the trajectories into a few numbers.

Example:
    >>> import numpy as np
    >>> means = np.array([[0.0, 1.0], [0.5, 1.0], [1.0, 1.0]])
    >>> stds = np.ones_like(means)
    >>> drift_summary(means, stds)["mean_range_over_std"]
    0.5
"""

from __future__ import annotations

import keras
import numpy as np

from hw2._checks import check_int

PERCENTILES = (15.0, 50.0, 85.0)


def checkpoint_steps(total_steps: int, n_checkpoints: int) -> np.ndarray:
    """Step 0 plus about ``n_checkpoints`` log-spaced steps in ``[1, total_steps]`` (unique, sorted).

    Example:
        >>> checkpoint_steps(100, 5).tolist()
        [0, 1, 3, 10, 32, 100]
    """
    total_steps = check_int("total_steps", total_steps, low=1)
    n_checkpoints = check_int("n_checkpoints", n_checkpoints, low=1)
    steps = np.unique(np.rint(np.geomspace(1, total_steps, n_checkpoints)).astype(np.int64))
    return np.concatenate([[0], steps])


def nonlinearity_input_stats(z: np.ndarray, gamma=None, beta=None, epsilon: float = 1e-3) -> dict:
    """Per-unit mean, sd and percentiles of a nonlinearity's input over a batch.

    ``z`` has shape (batch, units) (or (batch, ..., units): leading axes are pooled). With ``gamma``
    and ``beta`` the input is ``BN(z)`` with batch statistics; otherwise it is ``z``.
    """
    z = np.asarray(z, dtype=np.float64).reshape(-1, np.shape(z)[-1])
    if gamma is not None:
        z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + epsilon) * np.asarray(gamma) + np.asarray(beta)
    return {"mean": z.mean(axis=0), "std": z.std(axis=0),
            "percentiles": np.percentile(z, PERCENTILES, axis=0)}


class DriftProbe(keras.callbacks.Callback):
    """Record the distribution of a hidden layer's nonlinearity inputs at given training steps.

    Args:
        layer_name: the layer computing ``z`` (e.g. a Dense layer); its BN layer, if the model has
            one called ``f"{layer_name}_bn"``, is applied with the probe batch's statistics.
        probe_x: a fixed batch of inputs (same every checkpoint, never trained on).
        steps: global training steps at which to record (0 = before the first update).

    After training, ``result()`` returns ``steps`` and arrays ``mean``/``std`` of shape
    (checkpoints, units) and ``percentiles`` of shape (checkpoints, 3, units) of the nonlinearity's
    input, and the same of ``z`` before any normalization as ``pre_mean``/``pre_std``/``pre_percentiles``
    (equal to the former without BN).
    """

    def __init__(self, layer_name: str, probe_x: np.ndarray, steps):
        super().__init__()
        self.layer_name = layer_name
        self.probe_x = probe_x
        self.steps = np.asarray(steps, dtype=np.int64)
        self._wanted = {int(s) for s in self.steps if s > 0}
        self._step = 0
        self._records: list[dict] = []
        self._probe = None

    def _record(self) -> None:
        model = self.model  # on JAX, reading ``self.model`` syncs the weights into the variables
        if self._probe is None:
            self._probe = keras.Model(model.input, model.get_layer(self.layer_name).output)
        z = keras.ops.convert_to_numpy(self._probe(self.probe_x, training=False))
        bn = next((lay for lay in model.layers if lay.name == f"{self.layer_name}_bn"), None)
        before = nonlinearity_input_stats(z)
        if bn is None:
            after = before
        else:
            after = nonlinearity_input_stats(
                z, keras.ops.convert_to_numpy(bn.gamma), keras.ops.convert_to_numpy(bn.beta), bn.epsilon)
        self._records.append(dict(after, **{f"pre_{key}": value for key, value in before.items()}))

    def on_train_begin(self, logs=None):
        self._step, self._records = 0, []
        if self.steps.size and self.steps[0] == 0:
            self._record()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step in self._wanted:
            self._record()

    def result(self) -> dict:
        recorded = self.steps[: len(self._records)]
        keys = [f"{prefix}{stat}" for prefix in ("", "pre_") for stat in ("mean", "std", "percentiles")]
        return {"steps": recorded,
                **{key: np.stack([r[key] for r in self._records]).astype(np.float32) for key in keys}}


def drift_summary(means: np.ndarray, stds: np.ndarray) -> dict:
    """How much per-unit input distributions move over training (medians over units).

    ``means`` and ``stds`` have shape (checkpoints, units). Returns

    - ``mean_range_over_std``: median over units of (max - min of the unit's mean over checkpoints)
      divided by the unit's sd averaged over checkpoints: how far the centre wanders, in its own sds;
    - ``std_ratio``: median over units of max / min of the unit's sd over checkpoints: how much the
      spread grows or shrinks (1 = constant).
    """
    means, stds = np.asarray(means, dtype=np.float64), np.asarray(stds, dtype=np.float64)
    mean_range = (means.max(axis=0) - means.min(axis=0)) / np.maximum(stds.mean(axis=0), 1e-12)
    std_ratio = stds.max(axis=0) / np.maximum(stds.min(axis=0), 1e-12)
    return {"mean_range_over_std": float(np.median(mean_range)), "std_ratio": float(np.median(std_ratio))}
