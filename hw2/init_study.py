"""Per-layer activation and gradient statistics of an MLP at initialization (Problem 2.1).

The network is the one of the intoli article on weight initialization (:func:`hw2.models.init_study_mlp`):
MNIST images flattened to 784 values in [0, 1], a linear ``Dense(100)``, five hidden ``Dense(100)``
layers with the activation under study, and a ``Dense(10)`` softmax; zero biases. For one
*case* — an activation and a kernel initializer, written ``'tanh/normal(0.01)'``,
``'sigmoid/glorot_normal'`` or ``'relu/he_normal'`` — :func:`layer_statistics` measures, for each
of the five hidden layers,

* the activations on a set of images (their std, mean, and the fraction saturated or zero), and
* the gradient of the cross-entropy loss with respect to the layer's kernel on one batch.

Keras 3 has no backend-independent ``grad``; :class:`GradientRecorder` is an optimizer that, instead
of updating the weights, stores the gradients it is handed, so one ``train_on_batch`` yields the
exact gradients the backend computes for training.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).uniform(size=(64, 784)).astype("float32")
    >>> y = np.arange(64) % 10
    >>> stats = layer_statistics("tanh/glorot_normal", x, y, gradient_batch_size=32, seed=0)  # doctest: +SKIP
    >>> stats["activation_std"].shape                                                  # doctest: +SKIP
    (5,)
"""

from __future__ import annotations

import re

import keras
import numpy as np
from keras import ops

ACTIVATIONS = ("tanh", "sigmoid", "relu")
NAMED_INITIALIZERS = ("glorot_normal", "he_normal")
_NORMAL = re.compile(r"^normal\((?P<sigma>[0-9.eE+-]+)\)$")


def parse_case(case: str) -> tuple[str, str, float | None]:
    """``'tanh/normal(0.1)'`` -> ``('tanh', 'normal', 0.1)``; ``'relu/he_normal'`` -> ``('relu', 'he_normal', None)``.

    Example:
        >>> parse_case("sigmoid/normal(1.0)")
        ('sigmoid', 'normal', 1.0)
    """
    activation, _, init = str(case).partition("/")
    if activation not in ACTIVATIONS:
        raise ValueError(f"Argument `case` must start with one of {ACTIVATIONS}. Received: case={case!r}")
    match = _NORMAL.match(init)
    if match:
        sigma = float(match.group("sigma"))
        if not sigma > 0:
            raise ValueError(f"The σ of a normal initializer must be > 0. Received: case={case!r}")
        return activation, "normal", sigma
    if init not in NAMED_INITIALIZERS:
        raise ValueError(f"Argument `case` must end with 'normal(σ)' or one of {NAMED_INITIALIZERS}. "
                         f"Received: case={case!r}")
    return activation, init, None


def case_label(case: str) -> str:
    """A short label for plots: ``'tanh, N(0, 0.01)'``, ``'relu, He normal'``."""
    activation, init, sigma = parse_case(case)
    names = {"glorot_normal": "Glorot normal", "he_normal": "He normal"}
    return f"{activation}, " + (f"N(0, {sigma:g})" if init == "normal" else names[init])


def default_cases(sigmas=(0.01, 0.1, 1.0)) -> tuple[str, ...]:
    """tanh and sigmoid with N(0, σ) and Glorot normal; ReLU with N(0, σ), Glorot normal and He normal."""
    cases = []
    for activation in ACTIVATIONS:
        cases += [f"{activation}/normal({s:g})" for s in sigmas] + [f"{activation}/glorot_normal"]
        if activation == "relu":
            cases.append("relu/he_normal")
    return tuple(cases)


def kernel_initializer(case: str):
    """The Keras initializer of ``case`` (``RandomNormal(0, σ)``, ``'glorot_normal'`` or ``'he_normal'``)."""
    _, init, sigma = parse_case(case)
    return keras.initializers.RandomNormal(mean=0.0, stddev=sigma) if init == "normal" else init


class GradientRecorder(keras.optimizers.Optimizer):
    """An optimizer that records the gradients it receives and leaves the weights unchanged.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> recorder = GradientRecorder()
        >>> model.compile(optimizer=recorder, loss="mse")
        >>> _ = model.train_on_batch(np.ones((4, 3)), np.zeros((4, 2)))  # doctest: +SKIP
        >>> recorder.gradient_for(model.layers[0].kernel).shape         # doctest: +SKIP
        (3, 2)
    """

    def __init__(self, name: str = "gradient_recorder", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)

    def build(self, variables):
        """Create one gradient slot per trained variable."""
        if self.built:
            return
        super().build(variables)
        self.gradients = [self.add_variable_from_reference(v, name="gradient") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        """Store ``gradient``; ``variable`` is left unchanged."""
        self.assign(self.gradients[self._get_variable_index(variable)], gradient)

    def gradient_for(self, variable) -> np.ndarray:
        """The last gradient recorded for ``variable``, as numpy."""
        return ops.convert_to_numpy(self.gradients[self._get_variable_index(variable)])


def layer_statistics(case: str, x: np.ndarray, y: np.ndarray, *, gradient_batch_size: int = 256,
                     n_hidden: int = 5, units: int = 100, seed: int = 0, n_samples: int = 4000) -> dict:
    """Per-hidden-layer activation and weight-gradient statistics of one case.

    Args:
        case: e.g. ``'tanh/normal(0.01)'`` (see :func:`parse_case`).
        x: inputs ``(n, 784)`` in [0, 1]; activations are measured on all of them.
        y: integer labels ``(n,)``; the gradient uses the first ``gradient_batch_size`` examples.
        seed: seeds the kernel initializers (layer ``i`` gets ``seed * 1000 + i``), so two N(0, σ)
            cases with the same seed differ only by the scale σ.
        n_samples: values kept per layer for violin plots (a uniform subsample).

    Returns:
        ``activation_std`` (over all images and units), ``activation_signal_std`` (each unit's std
        over the images, averaged over units), ``activation_mean``, ``activation_saturated`` (tanh: ``|a| > 0.99``;
        sigmoid: ``a < 0.01`` or ``a > 0.99``; ReLU: ``a == 0``), ``gradient_std``,
        ``gradient_abs_mean`` (arrays over the ``n_hidden`` layers), ``activation_samples`` and
        ``gradient_samples`` (``(n_hidden, n_samples)``), and the loss of the gradient batch.
    """
    from hw2.models import init_study_mlp

    activation, _, _ = parse_case(case)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"`x` must be (n, features) and `y` (n,). Received shapes {x.shape} and {y.shape}")
    if not 1 <= gradient_batch_size <= x.shape[0]:
        raise ValueError(f"Argument `gradient_batch_size` must be in [1, {x.shape[0]}]. "
                         f"Received: gradient_batch_size={gradient_batch_size}")
    model = init_study_mlp(activation, kernel_initializer(case), n_hidden=n_hidden, units=units,
                           input_dim=x.shape[1], seed=seed)
    hidden = [model.get_layer(f"hidden_{i}") for i in range(1, n_hidden + 1)]
    features = keras.Model(model.inputs[0], [layer.output for layer in hidden])
    activations = [ops.convert_to_numpy(a) for a in features(x, training=False)]

    recorder = GradientRecorder()
    model.compile(optimizer=recorder, loss="sparse_categorical_crossentropy", jit_compile=False)
    logs = model.train_on_batch(x[:gradient_batch_size], y[:gradient_batch_size], return_dict=True)
    gradients = [recorder.gradient_for(layer.kernel) for layer in hidden]

    rng = np.random.default_rng([seed, 21])

    def sample(values):
        flat = values.ravel()
        return flat[rng.choice(flat.size, size=min(n_samples, flat.size), replace=False)].astype(np.float32)

    if activation == "tanh":
        saturated = [np.mean(np.abs(a) > 0.99) for a in activations]
    elif activation == "sigmoid":
        saturated = [np.mean((a < 0.01) | (a > 0.99)) for a in activations]
    else:
        saturated = [np.mean(a == 0) for a in activations]
    return {
        "activation_std": np.array([a.std() for a in activations]),
        # Input-dependent variation: each unit's std over the images, averaged over units. Unlike the
        # overall std it ignores unit-to-unit offsets (e.g. sigmoid outputs pinned near 0.5).
        "activation_signal_std": np.array([a.std(axis=0).mean() for a in activations]),
        "activation_mean": np.array([a.mean() for a in activations]),
        "activation_saturated": np.array(saturated, dtype=np.float64),
        "gradient_std": np.array([g.std() for g in gradients]),
        "gradient_abs_mean": np.array([np.abs(g).mean() for g in gradients]),
        "activation_samples": np.stack([sample(a) for a in activations]),
        "gradient_samples": np.stack([sample(g) for g in gradients]),
        "loss": float(logs["loss"]),
    }
