"""Per-layer activation and gradient statistics of an MLP at initialization (Problem 2.1).

The network is the one of the intoli article on weight initialization (:func:`hw2.models.init_study_mlp`):
MNIST images flattened to 784 values in [0, 1], a linear ``Dense(100)``, five hidden ``Dense(100)``
layers with the activation under study, and a ``Dense(10)`` softmax; zero biases. For one
*case* — an activation and a kernel initializer, written ``'tanh/normal(0.01)'``,
``'sigmoid/glorot_normal'``, ``'sigmoid/glorot_normal(4)'`` (Glorot's standard deviation times 4)
or ``'relu/he_normal'`` — :func:`layer_statistics` measures, for each of the five hidden layers,

* the activations on a set of images (their std, mean, and the fraction saturated or zero), and
* the gradient of the cross-entropy loss with respect to the layer's kernel on one batch.

Keras 3 has no backend-independent ``grad``; :class:`GradientRecorder` is an optimizer that, instead
of updating the weights, stores the gradients it is handed, so one ``train_on_batch`` yields the
exact gradients the backend computes for training.

:func:`classify` turns the per-layer numbers of a case into one verdict — saturates, vanishes,
explodes, or keeps its scale — from one measure of each scale (its per-layer factor), one threshold
on it (:data:`SCALE_THRESHOLD`) and one on the saturated share (:data:`SATURATION_THRESHOLD`).

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

from hw2._checks import argument_error, check_choice, check_int, check_range

ACTIVATIONS = ("tanh", "sigmoid", "relu")
NAMED_INITIALIZERS = ("glorot_normal", "he_normal")
_NORMAL = re.compile(r"^normal\((?P<sigma>[0-9.eE+-]+)\)$")
_NAMED = re.compile(r"^(?P<name>[a-z_]+)(\((?P<gain>[0-9.eE+-]+)\))?$")


def parse_case(case: str) -> tuple[str, str, float | None]:
    """``'tanh/normal(0.1)'`` -> ``('tanh', 'normal', 0.1)``; ``'relu/he_normal'`` -> ``('relu', 'he_normal', None)``.

    A named initializer may carry a gain on its standard deviation: ``'sigmoid/glorot_normal(4)'``
    -> ``('sigmoid', 'glorot_normal', 4.0)`` (the same draws as Glorot normal, times 4).

    Example:
        >>> parse_case("sigmoid/normal(1.0)")
        ('sigmoid', 'normal', 1.0)
        >>> parse_case("sigmoid/glorot_normal(4)")
        ('sigmoid', 'glorot_normal', 4.0)
    """
    activation, _, init = str(case).partition("/")
    if activation not in ACTIVATIONS:
        raise argument_error("case", f"'activation/initializer' with an activation among {ACTIVATIONS}", case)
    match = _NORMAL.match(init)
    if match:
        sigma = float(match.group("sigma"))
        if not sigma > 0:
            raise argument_error("case", "'activation/normal(σ)' with σ > 0", case)
        return activation, "normal", sigma
    match = _NAMED.match(init)
    if not match or match.group("name") not in NAMED_INITIALIZERS:
        raise argument_error("case", f"'activation/normal(σ)' or 'activation/name' with a name among "
                                     f"{NAMED_INITIALIZERS} (optionally with a gain, e.g. 'glorot_normal(4)')", case)
    gain = match.group("gain")
    if gain is None:
        return activation, match.group("name"), None
    if not float(gain) > 0:
        raise argument_error("case", "'activation/name(gain)' with gain > 0", case)
    return activation, match.group("name"), float(gain)


def case_label(case: str) -> str:
    """A short label for plots: ``'tanh, N(0, 0.01)'``, ``'relu, He normal'``, ``'sigmoid, 4 × Glorot normal'``."""
    activation, init, sigma = parse_case(case)
    names = {"glorot_normal": "Glorot normal", "he_normal": "He normal"}
    if init == "normal":
        return f"{activation}, N(0, {sigma:g})"
    return f"{activation}, " + (f"{sigma:g} × " if sigma is not None else "") + names[init]


def default_cases(sigmas=(0.01, 0.1, 1.0), sigmoid_gains=(2, 4, 8)) -> tuple[str, ...]:
    """tanh and sigmoid with N(0, σ) and Glorot normal; sigmoid also with Glorot normal times each of
    ``sigmoid_gains`` (4 = 1/slope at 0, see :func:`expected_gain`); ReLU with N(0, σ), Glorot normal
    and He normal."""
    cases = []
    for activation in ACTIVATIONS:
        cases += [f"{activation}/normal({s:g})" for s in sigmas] + [f"{activation}/glorot_normal"]
        if activation == "sigmoid":
            cases += [f"sigmoid/glorot_normal({g:g})" for g in sigmoid_gains]
        if activation == "relu":
            cases.append("relu/he_normal")
    return tuple(cases)


# Keras' definitions of the named initializers (keras.initializers.GlorotNormal / HeNormal).
_VARIANCE_SCALING = {"glorot_normal": (1.0, "fan_avg"), "he_normal": (2.0, "fan_in")}


def kernel_initializer(case: str):
    """The Keras initializer of ``case``: ``RandomNormal(0, σ)``, ``'glorot_normal'``, ``'he_normal'``, or
    for a gain ``g`` the same ``VarianceScaling`` with ``scale`` multiplied by ``g²`` (same draws times ``g``).

    Example:
        >>> init = kernel_initializer("sigmoid/glorot_normal(4)")
        >>> init.get_config()["scale"], init.get_config()["mode"]
        (16.0, 'fan_avg')
    """
    _, init, sigma = parse_case(case)
    if init == "normal":
        return keras.initializers.RandomNormal(mean=0.0, stddev=sigma)
    if sigma is None:
        return init
    scale, mode = _VARIANCE_SCALING[init]
    return keras.initializers.VarianceScaling(scale=scale * sigma**2, mode=mode, distribution="truncated_normal")


def expected_gain(activation: str) -> float:
    """Slope of ``activation`` at 0: the factor a small signal is multiplied by (1 for tanh, 1/4 for sigmoid).

    Glorot's derivation assumes units that are linear with slope 1 around a zero mean. tanh is; the
    sigmoid ``1/2 + z/4 + O(z³)`` has slope 1/4 and mean 1/2, so keeping a small signal's variance
    needs a standard deviation 1/slope = 4 times Glorot's. ReLU's slope is 1 on half the inputs
    (He's factor √2 on the standard deviation comes from that half, not from the slope).

    Example:
        >>> expected_gain("sigmoid"), expected_gain("tanh")
        (0.25, 1.0)
    """
    slopes = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0}
    check_choice("activation", activation, slopes)
    return slopes[activation]


# One threshold for every case: a scale "keeps" when its per-layer factor f satisfies 1/T <= f <= T.
# T = 2**(1/4) is halfway, on a log scale, between He's theoretical factor 1 for ReLU and the 1/√2
# that Glorot's variance gives ReLU: the two answers the homework contrasts fall on either side.
SCALE_THRESHOLD = 2 ** 0.25

# A bounded activation (tanh, sigmoid) *saturates* when at least this share of some hidden layer's
# outputs sits in its flat tails (see :func:`layer_statistics`), where the slope is under 4 % of its
# largest value: that share of the layer passes almost no gradient back.
SATURATION_THRESHOLD = 0.25


def saturation_applies(activation: str) -> bool:
    """Whether ``activation`` can saturate: tanh and sigmoid are bounded; ReLU is not (its zeros,
    about half of its outputs at any scale, are its normal state, not a flat tail reached by scale).

    Example:
        >>> saturation_applies("sigmoid"), saturation_applies("relu")
        (True, False)
    """
    check_choice("activation", activation, ACTIVATIONS)
    return activation != "relu"


def per_layer_factor(values) -> float:
    """Geometric mean factor per layer, ``(last / first) ** (1 / (layers - 1))``; nan if first is 0 or not finite.

    Example:
        >>> round(per_layer_factor([1.0, 0.5, 0.25]), 3)
        0.5
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        raise argument_error("values", "one value per layer, >= 2 layers", received=f"{values.size} value(s)")
    first, last = values[0], values[-1]
    if not (np.isfinite(first) and np.isfinite(last)) or first <= 0 or last < 0:
        return float("nan")
    return float((last / first) ** (1.0 / (values.size - 1)))


def classify(activation_signal_std, gradient_std, threshold: float = SCALE_THRESHOLD, saturated=None,
             saturation_threshold: float = SATURATION_THRESHOLD) -> dict:
    """One verdict per case: saturates, vanishes, explodes, or keeps its scale.

    *Activation scale* is one measure, the **spread**: each unit's std over the images, averaged over
    the units of a layer (``activation_signal_std`` of :func:`layer_statistics`); the gradient scale
    is the std of the layer's weight gradient. Each enters through its per-layer factor
    (:func:`per_layer_factor`). In this order:

    1. ``'saturates'``: ``saturated`` (per-layer share of outputs in the flat tails; ``None`` for an
       activation that cannot saturate, :func:`saturation_applies`) reaches ``saturation_threshold``
       in some layer;
    2. both factors within ``[1/threshold, threshold]``: ``'keeps its scale'``, or ``'gradients
       exactly zero'`` when every gradient is exactly 0;
    3. otherwise the factor farther from 1 (log scale; a zero gradient counts only through the
       activations) names it: ``'activations vanish'`` / ``'activations explode'``, ``'gradients
       vanish towards the input'`` (they grow towards the output) / ``'gradients explode towards
       the input'``.

    Returns ``{'verdict', 'keeps_scale', 'activation_factor', 'gradient_factor', 'saturated_max',
    'gradients_zero', 'threshold', 'saturation_threshold'}``.

    Example:
        >>> classify([1.0, 0.9, 0.8, 0.75, 0.7], [1.0] * 5)["verdict"]   # ×0.91/layer
        'keeps its scale'
        >>> classify([1.0, 0.6, 0.36, 0.22, 0.13], [1.0] * 5)["verdict"]  # ×0.6/layer
        'activations vanish'
        >>> classify([1.0] * 5, [1.0, 3.0, 9.0, 27.0, 81.0])["verdict"]  # layer 1's gradient 81× smaller
        'gradients vanish towards the input'
        >>> classify([1.0] * 5, [1.0] * 5, saturated=[0.6, 0.3, 0.2, 0.2, 0.2])["verdict"]
        'saturates'
    """
    check_range("threshold", threshold, low=1, inclusive="neither")
    check_range("saturation_threshold", saturation_threshold, 0, 1, inclusive="right")
    gradient_std = np.asarray(gradient_std, dtype=np.float64)
    f_act, f_grad = per_layer_factor(activation_signal_std), per_layer_factor(gradient_std)
    zero = bool(np.all(gradient_std == 0))
    sat_max = float(np.max(saturated)) if saturated is not None else float("nan")
    out = {"activation_factor": f_act, "gradient_factor": f_grad, "saturated_max": sat_max, "gradients_zero": zero,
           "threshold": float(threshold), "saturation_threshold": float(saturation_threshold)}
    if saturated is not None and sat_max >= saturation_threshold:
        return {**out, "verdict": "saturates", "keeps_scale": False}
    log_t = np.log(threshold)
    distance = {"activations": abs(np.log(f_act)) if f_act > 0 else np.inf,
                "gradients": 0.0 if zero else abs(np.log(f_grad)) if f_grad > 0 else np.inf}
    worst = max(distance, key=distance.get)
    if distance[worst] <= log_t:
        if zero:
            return {**out, "verdict": "gradients exactly zero", "keeps_scale": False}
        return {**out, "verdict": "keeps its scale", "keeps_scale": True}
    if worst == "activations":
        verdict = "activations vanish" if f_act < 1 else "activations explode"
    else:
        verdict = "gradients vanish towards the input" if f_grad > 1 else "gradients explode towards the input"
    return {**out, "verdict": verdict, "keeps_scale": False}


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
        raise argument_error(("x", "y"), "of shapes (n, features) and (n,)",
                             received=f"x.shape={x.shape}, y.shape={y.shape}")
    gradient_batch_size = check_int("gradient_batch_size", gradient_batch_size, 1, x.shape[0])
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
