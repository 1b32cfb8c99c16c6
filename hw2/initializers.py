"""Initializations that Keras lacks, drawn with numpy for stacks of independent networks.

Everything else in the report uses ``keras.initializers`` directly. This module holds

* :func:`he_normal`: the distribution of ``keras.initializers.HeNormal`` (a normal truncated at two
  standard deviations and rescaled so its variance is ``2 / fan_in``), drawn with a numpy generator
  for any number of independent layers at once (a leading ``size`` shape). Keras' own initializer
  would read a ``(S, fan_in, fan_out)`` stack as a convolution kernel and use the wrong fan-in.
* :func:`randomized_asymmetric`: the randomized asymmetric initialization (RAI) of Lu, Shin, Su and
  Karniadakis, "Dying ReLU and Initialization: Theory and Numerical Examples" (arXiv:1903.06733).
  For every unit ``j`` of a layer, its weights and bias ``V_j = [W_j, b_j]`` are drawn from
  ``N(0, σ² / fan_in)``, then one entry of ``V_j`` chosen uniformly at random is replaced by a draw
  from a positive distribution ``P``. With ``P = Beta(2, 1)`` the paper's choice is ``σ = 0.6007``.
  The positive entry makes it unlikely that a unit is inactive for every input, which is how a
  narrow ReLU network dies.
* :func:`apply_randomized_asymmetric`: RAI for the ``Dense`` layers of an existing Keras model.

Example:
    >>> import numpy as np
    >>> kernel, bias = randomized_asymmetric(2, 3, np.random.default_rng(0), size=(5,))
    >>> kernel.shape, bias.shape
    ((5, 2, 3), (5, 3))
    >>> w = he_normal(100, 100, np.random.default_rng(0))
    >>> round(float(w.std() * np.sqrt(100 / 2)), 1)
    1.0
"""

from __future__ import annotations

import numpy as np

from hw2._checks import check_int, check_positive

# Keras' VarianceScaling(truncated_normal) divides the target std by the std of a standard normal
# truncated to [-2, 2], so the truncated draws keep the intended variance.
_TRUNCATED_NORMAL_STD = 0.87962566103423978
RAI_SIGMA = 0.6007


def _check_fans(fan_in: int, fan_out: int) -> tuple[int, int]:
    return check_int("fan_in", fan_in, low=1), check_int("fan_out", fan_out, low=1)


def truncated_normal(rng: np.random.Generator, stddev: float, shape: tuple[int, ...]) -> np.ndarray:
    """Normal draws with standard deviation ``stddev`` truncated to ±2 ``stddev``, by redrawing.

    The distribution of ``keras.random.truncated_normal`` (a normal conditioned on ``|z| <= 2``),
    not its draws: Keras' backends sample it their own way (JAX's ``jax.random.truncated_normal``,
    TensorFlow's ``stateless_truncated_normal``).
    """
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return values * stddev


def he_normal(fan_in: int, fan_out: int, rng: np.random.Generator, size: tuple[int, ...] = (),
              dtype=np.float32) -> np.ndarray:
    """Kernels of shape ``size + (fan_in, fan_out)`` distributed as ``keras.initializers.HeNormal``.

    Example:
        >>> he_normal(2, 2, np.random.default_rng(1), size=(3,)).shape
        (3, 2, 2)
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    stddev = np.sqrt(2.0 / fan_in) / _TRUNCATED_NORMAL_STD
    return truncated_normal(rng, stddev, tuple(size) + (fan_in, fan_out)).astype(dtype)


def randomized_asymmetric(fan_in: int, fan_out: int, rng: np.random.Generator, size: tuple[int, ...] = (),
                          sigma: float = RAI_SIGMA, positive=None, dtype=np.float32):
    """Randomized asymmetric initialization (Lu et al. 2019) of a dense layer.

    Args:
        fan_in, fan_out: layer sizes.
        rng: numpy generator.
        size: leading shape for a stack of independent layers (e.g. ``(S,)``).
        sigma: the symmetric part is ``N(0, sigma² / fan_in)``.
        positive: ``positive(rng, shape)`` draws the asymmetric entries; default ``Beta(2, 1)``.

    Returns:
        ``(kernel, bias)`` of shapes ``size + (fan_in, fan_out)`` and ``size + (fan_out,)``.

    Example:
        >>> k, b = randomized_asymmetric(1, 2, np.random.default_rng(0))
        >>> k.shape, b.shape
        ((1, 2), (2,))
    """
    fan_in, fan_out = _check_fans(fan_in, fan_out)
    check_positive("sigma", sigma)
    size = tuple(size)
    # V[..., j, :] = [W[:, j], b[j]]: one row of fan_in + 1 entries per unit.
    v = rng.standard_normal(size + (fan_out, fan_in + 1)) * (sigma / np.sqrt(fan_in))
    chosen = rng.integers(0, fan_in + 1, size=size + (fan_out,))
    draws = rng.beta(2.0, 1.0, size=size + (fan_out,)) if positive is None else positive(rng, size + (fan_out,))
    np.put_along_axis(v, chosen[..., None], np.asarray(draws, dtype=v.dtype)[..., None], axis=-1)
    kernel = np.swapaxes(v[..., :fan_in], -1, -2)
    bias = v[..., fan_in]
    return np.ascontiguousarray(kernel, dtype=dtype), np.ascontiguousarray(bias, dtype=dtype)


def apply_randomized_asymmetric(model, rng: np.random.Generator, sigma: float = RAI_SIGMA) -> None:
    """Re-initialize every ``Dense`` layer of a built Keras ``model`` (kernel and bias) with RAI.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu")])
        >>> apply_randomized_asymmetric(model, np.random.default_rng(0))
        >>> bool(np.all(keras.ops.convert_to_numpy(model.layers[0].bias) == 0))  # Keras' zeros are gone
        False
    """
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            fan_in, fan_out = layer.kernel.shape
            kernel, bias = randomized_asymmetric(int(fan_in), int(fan_out), rng, sigma=sigma)
            layer.kernel.assign(kernel)
            if layer.bias is not None:
                layer.bias.assign(bias)
