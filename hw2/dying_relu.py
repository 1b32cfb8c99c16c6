"""Dying ReLU: thousands of independent narrow networks trained as one batched Keras computation.

The experiment of Lu, Shin, Su and Karniadakis, "Dying ReLU and Initialization: Theory and
Numerical Examples" (arXiv:1903.06733): a deep, narrow network ``1 -> width -> ... -> width -> 1``
learns a 1-D function from 3000 points drawn uniformly in ``[-√7, √7]``; with ReLU, He-normal
weights and zero biases most such networks end up as a constant function.

**One module, on purpose** (about 680 lines): the batched Keras simulator, its NumPy evaluation and
the plain one-network reference are one mechanism whose parts the tests check against each other;
split, each half would be read without the other it must agree with.

**Depth convention.** ``depth`` counts weight layers, as in Lu et al. (a network "with L layers"
has ``L - 1`` hidden layers and a linear output layer): ``depth=10, width=2`` is
``1 -> 2 (x9, activation) -> 1``. A network "with 10 hidden layers" is ``depth=11``.

**One computation for all networks.** :class:`NetworkStack` is a Keras layer holding ``S``
independent networks: kernels of shape ``(S, fan_in, fan_out)`` and biases ``(S, fan_out)``. Data
are laid out with one column per network, so one row of a batch holds one point of every network:
a batch has shape ``(batch_size, S)``. The products of these tiny layers are written elementwise
(no batched matmuls of 2 x 2 matrices). The loss is the sum over networks of each network's
mean-squared error on its own minibatch, so each network receives exactly its own gradient, and
Keras' Adam — elementwise — gives each network exactly the update it would get if trained alone.
:func:`train_reference_network` trains one plain ``keras.Sequential`` model the same way; the tests
check that both agree. Several *arms* (e.g. ReLU, Leaky ReLU, ReLU with the randomized asymmetric
initialization) train side by side on the same data and batch order: the comparison is paired.

**Collapse.** After training, each network is evaluated on a dense grid of the domain.

* *collapsed*: the spread (max - min) of its output on the grid is at most ``tolerance`` times the
  spread of the target on the grid — the network computes a constant function.
* *dead*: some layer has every unit inactive (pre-activation <= 0) at every grid point. For ReLU
  that layer outputs exactly zero, so a dead ReLU network is a constant function. A Leaky ReLU
  layer in that state still passes ``negative_slope x`` its input, so the network is not constant.
* *born dead*: dead already at initialization.

Example (training is skipped as a doctest: compiling the train step takes 5-20 s on a CPU;
``tests/test_dying_relu.py`` trains the same way):

    >>> ens = DyingReluEnsemble(n_simulations=4, depth=3, width=2, n_points=128, batch_size=64, seed=0)
    >>> history = ens.train(epochs=1, progress=False)          # doctest: +SKIP
    >>> history["loss"].shape                                   # doctest: +SKIP
    (1, 2, 4)
    >>> ens.analyze()["relu"]["collapsed"].shape
    (4,)
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from hw2 import initializers
from hw2._checks import argument_error, check_choice, check_fields, check_int, check_positive, check_range
from hw2.progress import progress_bar

DOMAIN_HALF_WIDTH = math.sqrt(7.0)

TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "xsin5x": lambda x: x * np.sin(5.0 * x),
    "step_sin": lambda x: (x > 0).astype(x.dtype) + 0.2 * np.sin(5.0 * x),
}
TARGET_FORMULAS = {"abs": "|x|", "xsin5x": "x·sin(5x)", "step_sin": "1{x>0} + 0.2·sin(5x)"}
ACTIVATIONS = ("relu", "leaky_relu")
# How a layer's tiny products are written: one (batch, S) tensor per unit, or one einsum per layer.
PRODUCTS = ("auto", "elementwise", "einsum")
ELEMENTWISE_MAX_WIDTH = 3  # 'auto' writes layers up to this width elementwise
INITIALIZATIONS = ("he_normal", "rai")


# ----------------------------------------------------------------------------------------- checks
def check_target(name: str) -> str:
    """``name`` if it is one of :data:`TARGETS`, else Keras' "must be one of" ``ValueError``.

    Example:
        >>> check_target("abs")
        'abs'
    """
    return check_choice("target", name, TARGETS)


def check_batch_size(batch_size, n_points: int) -> int:
    """``batch_size`` as an ``int`` if it is an integer in [1, ``n_points``] (one epoch holds at
    least one batch), else a Keras-worded ``ValueError``.

    Example:
        >>> check_batch_size(64, 3000)
        64
        >>> check_batch_size(4000, 3000)
        Traceback (most recent call last):
        ...
        ValueError: Argument `batch_size` must be <= n_points=3000. Received: batch_size=4000
    """
    batch_size = check_int("batch_size", batch_size, low=1)
    if batch_size > n_points:
        raise argument_error("batch_size", f"<= n_points={n_points}", batch_size)
    return batch_size


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm of a comparison: activation, initialization and (optionally) its own architecture.

    Written ``'relu'``, ``'leaky_relu'``, ``'relu+rai'`` (initialization ``he_normal`` unless
    ``+rai``); ``depth`` / ``width`` left ``None`` take the ensemble's.

    Example:
        >>> Arm.parse("leaky_relu+rai")
        Arm(activation='leaky_relu', initialization='rai', depth=None, width=None)
        >>> Arm("relu", depth=4, width=3).name
        'relu@4x3'
    """

    activation: str = "relu"
    initialization: str = "he_normal"
    depth: int | None = None
    width: int | None = None

    def __post_init__(self):
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("initialization", self.initialization, INITIALIZATIONS)
        check_fields(self, ("depth", "width"), optional=True)

    @classmethod
    def parse(cls, text) -> Arm:
        if isinstance(text, Arm):
            return text
        activation, _, init = str(text).partition("+")
        return cls(activation, {"": "he_normal", "he": "he_normal"}.get(init, init))

    @property
    def name(self) -> str:
        name = self.activation if self.initialization == "he_normal" else f"{self.activation}+{self.initialization}"
        return name if self.depth is None and self.width is None else f"{name}@{self.depth}x{self.width}"


def layer_sizes(depth: int, width: int) -> list[int]:
    """Units per layer, input and output included: ``[1, width, ..., width, 1]`` (``depth`` weight layers)."""
    depth = check_int("depth", depth, low=1)
    width = check_int("width", width, low=1)
    return [1] + [width] * (depth - 1) + [1]


# ---------------------------------------------------------------------------------- the Keras side
def _activation(name: str, negative_slope: float):
    if name == "relu":
        return ops.relu
    if name == "leaky_relu":
        return lambda x: ops.leaky_relu(x, negative_slope=negative_slope)
    check_choice("activation", name, ACTIVATIONS)


@keras.saving.register_keras_serializable(package="hw2")
class NetworkStack(keras.layers.Layer):
    """``n_networks`` independent networks ``1 -> width (x depth-1) -> 1`` evaluated together.

    Input ``(batch, n_networks)``: column ``s`` is a batch of scalar inputs of network ``s``.
    Output ``(batch, n_networks)``. Weights: ``kernel_i`` of shape ``(n_networks, fan_in, fan_out)``
    and ``bias_i`` of shape ``(n_networks, fan_out)``; the activation (Keras' own ``ops.relu`` or
    ``ops.leaky_relu``) follows every layer but the last. ``products='elementwise'`` writes each
    unit as a sum of ``(batch, S)`` products (fast for width 2); ``'einsum'`` uses one ``einsum``
    per layer (a compact graph for wider layers); ``'auto'`` picks by width.

    The weights start at zero: the ensemble sets them with :meth:`set_parameters`. ``get_config``
    mirrors the constructor (``products`` as resolved), so the layer serializes like any Keras
    layer; the weights travel with ``model.save`` / ``get_weights``, as for Keras' own layers.

    Example:
        >>> stack = NetworkStack(3, depth=2, width=2)
        >>> tuple(stack(np.ones((5, 3), "float32")).shape)
        (5, 3)
        >>> NetworkStack.from_config(stack.get_config()).sizes
        [1, 2, 1]
    """

    def __init__(self, n_networks: int, depth: int, width: int, activation: str = "relu",
                 negative_slope: float = 0.01, products: str = "auto", **kwargs):
        super().__init__(**kwargs)
        check_choice("products", products, PRODUCTS)
        self.n_networks = check_int("n_networks", n_networks, low=1)
        self.sizes = layer_sizes(depth, width)
        self.depth, self.width = len(self.sizes) - 1, self.sizes[1]
        if products == "auto":
            products = "elementwise" if self.width <= ELEMENTWISE_MAX_WIDTH else "einsum"
        self.products = products
        self.activation_name = check_choice("activation", activation, ACTIVATIONS)
        self.negative_slope = float(negative_slope)
        self._act = _activation(activation, self.negative_slope)
        self.kernels, self.biases = [], []
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            self.kernels.append(self.add_weight(shape=(self.n_networks, fan_in, fan_out), initializer="zeros",
                                                name=f"kernel_{i}"))
            self.biases.append(self.add_weight(shape=(self.n_networks, fan_out), initializer="zeros",
                                               name=f"bias_{i}"))

    def call(self, x):
        """``(batch, S)`` inputs -> ``(batch, S)`` outputs, network ``s`` on column ``s``."""
        if self.products == "einsum":
            h = ops.expand_dims(x, 1)  # (batch, units, S)
            for layer, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
                z = ops.einsum("bis,sio->bos", h, kernel) + ops.expand_dims(ops.transpose(bias), 0)
                h = z if layer == len(self.kernels) - 1 else self._act(z)
            return h[:, 0, :]
        units = [x]  # one (batch, S) tensor per unit of the current layer
        for layer, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            outputs = []
            for j in range(kernel.shape[2]):
                # Same order as Dense: sum_i x_i W_ij, then + b_j.
                z = units[0] * kernel[:, 0, j]
                for i in range(1, kernel.shape[1]):
                    z = z + units[i] * kernel[:, i, j]
                outputs.append(z + bias[:, j])
            units = outputs if layer == len(self.kernels) - 1 else [self._act(z) for z in outputs]
        return units[0]

    def set_parameters(self, params) -> None:
        """Assign ``[(kernel (S, fan_in, fan_out), bias (S, fan_out)), ...]``."""
        if len(params) != len(self.kernels):
            raise ValueError(f"expected {len(self.kernels)} layers of parameters, got {len(params)}")
        for (kernel, bias), k_var, b_var in zip(params, self.kernels, self.biases):
            k_var.assign(np.asarray(kernel, dtype="float32"))
            b_var.assign(np.asarray(bias, dtype="float32"))

    def get_parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(ops.convert_to_numpy(k), ops.convert_to_numpy(b)) for k, b in zip(self.kernels, self.biases)]

    def get_config(self) -> dict:
        """The constructor's arguments (``products`` as resolved), as for any Keras layer."""
        return {**super().get_config(), "n_networks": self.n_networks, "depth": self.depth, "width": self.width,
                "activation": self.activation_name, "negative_slope": self.negative_slope, "products": self.products}


@keras.saving.register_keras_serializable(package="hw2")
class PerNetworkMean(keras.metrics.Metric):
    """Mean over the steps of an epoch of each network's minibatch loss (shape ``(arms, S)``).

    Example:
        >>> metric = PerNetworkMean((1, 2))
        >>> metric.update_state([[1.0, 2.0]]); metric.update_state([[3.0, 2.0]])
        >>> ops.convert_to_numpy(metric.result()).tolist()
        [[2.0, 2.0]]
        >>> PerNetworkMean.from_config(metric.get_config()).shape
        (1, 2)
    """

    def __init__(self, shape, name="network_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.shape = tuple(int(n) for n in shape)
        self.total = self.add_variable(shape=tuple(shape), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        """Add one step's per-network losses."""
        self.total.assign_add(ops.cast(values, self.total.dtype))
        self.count.assign_add(ops.cast(1.0, self.count.dtype))

    def result(self):
        """Mean per-network loss over the steps seen since the last reset."""
        return self.total / ops.maximum(self.count, 1.0)

    def get_config(self) -> dict:
        """Keras' metric config plus ``shape``."""
        return {**super().get_config(), "shape": self.shape}


@keras.saving.register_keras_serializable(package="hw2")
class EnsembleRegressor(keras.Model):
    """Several :class:`NetworkStack` arms fed the same ``(batch, S)`` input; output ``(batch, arms, S)``.

    The loss is ``sum over arms and networks of mean over the batch of (prediction - y)²``: a sum of
    independent losses, so every network gets exactly its own gradient. ``get_config`` holds the
    arms' serialized configs, so ``model.save("m.keras")`` / ``keras.saving.load_model`` round-trip.

    Example:
        >>> model = EnsembleRegressor([NetworkStack(4, 2, 2), NetworkStack(4, 2, 2, "leaky_relu")])
        >>> [stack.activation_name for stack in EnsembleRegressor.from_config(model.get_config()).stacks]
        ['relu', 'leaky_relu']
    """

    def __init__(self, stacks, **kwargs):
        super().__init__(**kwargs)
        self.stacks = list(stacks)
        self.network_loss = PerNetworkMean((len(self.stacks), self.stacks[0].n_networks))

    def call(self, x):
        """``(batch, S)`` -> ``(batch, arms, S)``."""
        return ops.stack([stack(x) for stack in self.stacks], axis=1)

    def get_config(self) -> dict:
        """Keras' model config plus ``stacks``: each arm's serialized :class:`NetworkStack`."""
        return {**super().get_config(), "stacks": [keras.saving.serialize_keras_object(s) for s in self.stacks]}

    @classmethod
    def from_config(cls, config):
        """The model :meth:`get_config` describes (arms rebuilt; weights as after construction)."""
        config = dict(config)
        stacks = [keras.saving.deserialize_keras_object(s) for s in config.pop("stacks")]
        return cls(stacks, **config)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Sum over arms and networks of each network's minibatch MSE; records the per-network terms."""
        per_network = ops.mean(ops.square(y_pred - ops.expand_dims(y, 1)), axis=0)
        self.network_loss.update_state(per_network)
        return ops.sum(per_network)


# ----------------------------------------------------------------------------- numpy evaluation
def _np_activation(z: np.ndarray, activation: str, negative_slope: float) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, np.float32(0.0))
    return np.where(z >= 0, z, np.float32(negative_slope) * z)


def evaluate_networks(params, x: np.ndarray, activation: str = "relu", negative_slope: float = 0.01):
    """Outputs of ``S`` networks on shared inputs ``x`` (shape ``(G,)``) or per-network inputs ``(S, G)``.

    Computed in float32 like the training, unit by unit (the layers are narrow).

    Returns:
        ``(outputs (S, G), dead (S,), dead_layer (S,))``: ``dead`` is True when some hidden layer has
        all units at pre-activation <= 0 for every input; ``dead_layer`` is the first such layer
        (1-based hidden-layer index) or 0.

    Example:
        >>> params = initial_parameters("he_normal", 3, 2, 4, np.random.default_rng(0))
        >>> outputs, dead, layer = evaluate_networks(params, grid(11))
        >>> outputs.shape, dead.shape
        ((4, 11), (4,))
    """
    n = np.asarray(params[0][0]).shape[0]
    x = np.asarray(x, dtype=np.float32)
    units = [np.broadcast_to(x, (n, x.shape[-1]))]
    dead_layer = np.zeros(n, dtype=np.int64)
    last = len(params) - 1
    for layer, (kernel, bias) in enumerate(params):
        kernel = np.asarray(kernel, np.float32)
        bias = np.asarray(bias, np.float32)
        outputs = []
        for j in range(kernel.shape[2]):
            z = units[0] * kernel[:, 0, j, None]
            for i in range(1, kernel.shape[1]):
                z += units[i] * kernel[:, i, j, None]
            z += bias[:, j, None]
            outputs.append(z)
        if layer == last:
            return outputs[0], dead_layer > 0, dead_layer
        inactive = np.logical_and.reduce([np.all(z <= 0, axis=1) for z in outputs])
        dead_layer = np.where((dead_layer == 0) & inactive, layer + 1, dead_layer)
        units = [_np_activation(z, activation, negative_slope) for z in outputs]
    raise AssertionError("unreachable")


def initial_parameters(initialization: str, depth: int, width: int, n_networks: int,
                       rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Initial ``[(kernel (S, fan_in, fan_out), bias (S, fan_out)), ...]`` for ``n_networks`` networks.

    ``'he_normal'``: kernels as ``keras.initializers.HeNormal``, zero biases (the symmetric
    initialization Lu et al. analyse). ``'rai'``: randomized asymmetric initialization of every layer.
    """
    sizes = layer_sizes(depth, width)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if initialization == "he_normal":
            kernel = initializers.he_normal(fan_in, fan_out, rng, size=(n_networks,))
            bias = np.zeros((n_networks, fan_out), dtype=np.float32)
        elif initialization == "rai":
            kernel, bias = initializers.randomized_asymmetric(fan_in, fan_out, rng, size=(n_networks,))
        else:
            check_choice("initialization", initialization, INITIALIZATIONS)
        params.append((kernel, bias))
    return params


def grid(size: int = 1001) -> np.ndarray:
    """``size`` evenly spaced points of the domain ``[-√7, √7]`` (endpoints included)."""
    return np.linspace(-DOMAIN_HALF_WIDTH, DOMAIN_HALF_WIDTH, check_int("grid_size", size, low=2))


def born_dead_monte_carlo(depth: int, width: int, n_networks: int, *, initialization: str = "he_normal",
                          seed: int = 0, grid_size: int = 201, chunk: int = 20000) -> dict:
    """Monte-Carlo probability that a freshly initialized ReLU network is dead (constant) on the domain.

    Returns ``{'probability', 'ci95', 'n'}`` (Wilson interval).

    Example:
        >>> born_dead_monte_carlo(1, 2, 100)["probability"]   # no hidden layer: never dead
        0.0
    """
    from hw2.stats import wilson_interval

    n_networks = check_int("n_networks", n_networks, low=1)
    rng = np.random.default_rng([seed, 7, depth, width])
    points = grid(grid_size)
    dead = 0
    for start in range(0, n_networks, chunk):
        size = min(chunk, n_networks - start)
        params = initial_parameters(initialization, depth, width, size, rng)
        _, is_dead, _ = evaluate_networks(params, points)
        dead += int(is_dead.sum())
    low, high = wilson_interval(dead, n_networks)
    return {"probability": dead / n_networks, "ci95": [low, high], "n": n_networks}


def one_sided_death_probability(depth: int, width: int) -> float:
    """P(the network is dead for every x > 0) at a zero-bias symmetric initialization.

    Given a non-zero input, each unit of the next layer is active with probability 1/2 independently
    (the weights are symmetric and continuous), so a hidden layer dies with probability ``2^-width``
    and the signal survives ``depth - 1`` hidden layers with probability ``(1 - 2^-width)^(depth-1)``.
    Being dead on the whole domain needs both signs of x to die, so this is an upper bound on the
    born-dead probability.

    Example:
        >>> round(one_sided_death_probability(10, 2), 4)
        0.9249
    """
    depth = check_int("depth", depth, low=1)
    width = check_int("width", width, low=1)
    return 1.0 - (1.0 - 2.0 ** -width) ** (depth - 1)


# ---------------------------------------------------------------------------------- the simulator
class DyingReluEnsemble:
    """``n_simulations`` independent trainings per arm, run as one Keras model.

    Simulation ``k`` has its own training points, its own initialization and its own batch order
    each epoch; arms share them (arms with the same initialization share the initial weights), so
    arm comparisons are paired.

    Args:
        n_simulations: networks per arm (S).
        depth, width: architecture (``depth`` weight layers; see the module docstring).
        arms: e.g. ``('relu', 'leaky_relu', 'relu+rai')``.
        target: ``'abs'`` (``|x|``), ``'xsin5x'`` or ``'step_sin'``.
        n_points: training points per simulation, uniform in ``[-√7, √7]``.
        batch_size: minibatch size; the last partial batch of an epoch is dropped (static shapes).
        learning_rate: Adam's learning rate (the other Adam settings are Keras' defaults).
        negative_slope: Leaky ReLU slope.
        seed: everything (data, initializations, batch orders) derives from it.
        products: see :class:`NetworkStack`.
        record_orders: keep every epoch's batch order (to replay one simulation elsewhere).
        jit_compile: compile the train step with XLA (Keras' ``jit_compile``).
    """

    def __init__(self, n_simulations: int, depth: int = 10, width: int = 2, arms=("relu", "leaky_relu"),
                 target: str = "abs", n_points: int = 3000, batch_size: int = 64, learning_rate: float = 1e-3,
                 negative_slope: float = 0.01, seed: int = 0, products: str = "auto",
                 record_orders: bool = False, jit_compile: bool = True):
        self.n_simulations = check_int("n_simulations", n_simulations, low=1)
        self.depth = check_int("depth", depth, low=1)
        self.width = check_int("width", width, low=1)
        self.n_points = check_int("n_points", n_points, low=1)
        self.batch_size = check_batch_size(batch_size, self.n_points)
        check_positive("learning_rate", learning_rate)
        check_range("negative_slope", negative_slope, 0, 1, inclusive="left")
        check_choice("products", products, PRODUCTS)
        self.arms = [Arm.parse(a) for a in arms]
        if not self.arms:
            raise argument_error("arms", "a non-empty sequence of arms", received="no arm")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise argument_error("arms", "distinct arms (none repeated)", received=f"arms={names}")
        self.target = check_target(target)
        self.learning_rate = float(learning_rate)
        self.negative_slope = float(negative_slope)
        self.seed = int(seed)
        self.products = products
        self.jit_compile = bool(jit_compile)
        self.steps_per_epoch = self.n_points // self.batch_size
        self.record_orders = record_orders
        self.orders: list[np.ndarray] = []
        self.epochs_trained = 0

        S = self.n_simulations
        data_rng = np.random.default_rng([self.seed, 1])
        # Row k holds the training points of simulation k.
        self.x = data_rng.uniform(-DOMAIN_HALF_WIDTH, DOMAIN_HALF_WIDTH, size=(S, self.n_points)).astype(np.float32)
        # Arms with the same initialization and architecture start from the same weights.
        self.initial_params = {}
        for key in dict.fromkeys(self._init_key(a) for a in self.arms):
            init, depth, width = key
            rng = np.random.default_rng([self.seed, 2, INITIALIZATIONS.index(init), depth, width])
            self.initial_params[key] = initial_parameters(init, depth, width, S, rng)
        self._order_rng = np.random.default_rng([self.seed, 3])
        self._model = None

    def architecture(self, arm) -> tuple[int, int]:
        """``(depth, width)`` of ``arm`` (its own, else the ensemble's)."""
        arm = Arm.parse(arm)
        return (arm.depth or self.depth, arm.width or self.width)

    def _init_key(self, arm) -> tuple[str, int, int]:
        arm = Arm.parse(arm)
        return (arm.initialization, *self.architecture(arm))

    def initial_parameters_of(self, arm) -> list[tuple[np.ndarray, np.ndarray]]:
        """The initial ``[(kernel (S, fan_in, fan_out), bias (S, fan_out)), ...]`` of ``arm``."""
        return self.initial_params[self._init_key(arm)]

    # -- data --------------------------------------------------------------------------------------
    def target_values(self, x: np.ndarray) -> np.ndarray:
        return TARGETS[self.target](x)

    def training_set(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of simulation ``k``, each of shape ``(n_points,)``."""
        return self.x[k], self.target_values(self.x[k])

    def _next_epoch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The next epoch in batch order: ``x_epoch[i, k]`` is the i-th point simulation ``k`` sees."""
        S, n = self.n_simulations, self.n_points
        used = self.steps_per_epoch * self.batch_size
        base = np.broadcast_to(np.arange(n, dtype=np.int16 if n < 2**15 else np.int32), (S, n))
        order = self._order_rng.permuted(base, axis=1)[:, :used]  # an independent shuffle per simulation
        x_epoch = np.ascontiguousarray(np.take_along_axis(self.x, order, axis=1).T)
        return x_epoch, self.target_values(x_epoch), order

    # -- model -------------------------------------------------------------------------------------
    @property
    def model(self) -> EnsembleRegressor:
        """The Keras model (built, initialized and compiled on first use)."""
        if self._model is None:
            stacks = [NetworkStack(self.n_simulations, *self.architecture(arm), arm.activation, self.negative_slope,
                                   products=self.products, name=arm.name.replace("+", "_").replace("@", "_"))
                      for arm in self.arms]
            model = EnsembleRegressor(stacks)
            model(np.zeros((self.batch_size, self.n_simulations), dtype=np.float32))
            for arm, stack in zip(self.arms, stacks):
                stack.set_parameters(self.initial_parameters_of(arm))
            model.compile(optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
                          jit_compile=self.jit_compile, steps_per_execution=self.steps_per_epoch)
            self._model = model
        return self._model

    def parameters(self) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        """Current parameters per arm name (the initial ones before training)."""
        if self._model is None:
            return {a.name: self.initial_parameters_of(a) for a in self.arms}
        return {a.name: stack.get_parameters() for a, stack in zip(self.arms, self._model.stacks)}

    def train(self, epochs: int, *, checkpoints=(), progress: bool = True, grid_size: int = 201,
              tolerance: float = 1e-3) -> dict:
        """Train every network for ``epochs`` more epochs.

        Args:
            epochs: number of epochs.
            checkpoints: epochs (counted from the start of this call) after which the networks are
                analysed (:func:`analyze_parameters`, on a ``grid_size`` grid) — in a worker thread,
                while training goes on.
            progress: show a progress bar over epochs on stderr.

        Returns:
            A dict: ``loss`` of shape ``(epochs, arms, S)``, the mean minibatch loss of each network in
            each epoch, and ``checkpoints``, mapping each checkpoint epoch to its analysis.
        """
        epochs = check_int("epochs", epochs, low=1)
        model = self.model
        losses = np.zeros((epochs, len(self.arms), self.n_simulations), dtype=np.float32)
        wanted = {int(c) for c in checkpoints if 1 <= int(c) <= epochs}
        futures = {}
        analyse = lambda params: {arm.name: analyze_parameters(params[arm.name], arm.activation, self.target,
                                                              self.negative_slope, grid_size, tolerance)
                                  for arm in self.arms}
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            # The next epoch's shuffles are drawn in a worker thread while this one trains.
            pending = pool.submit(self._next_epoch)
            bar = progress_bar(epochs, progress, f"training {len(self.arms)} x {self.n_simulations} networks",
                               iterable=range(epochs), unit="epoch")
            for epoch in bar:
                x_epoch, y_epoch, order = pending.result()
                if epoch + 1 < epochs:
                    pending = pool.submit(self._next_epoch)
                if self.record_orders:
                    self.orders.append(order)
                model.network_loss.reset_state()
                model.fit(x_epoch, y_epoch, batch_size=self.batch_size, epochs=1, shuffle=False, verbose=0)
                losses[epoch] = ops.convert_to_numpy(model.network_loss.result())
                self.epochs_trained += 1
                if epoch + 1 in wanted:
                    futures[epoch + 1] = pool.submit(analyse, self.parameters())
                if progress:
                    bar.set_postfix(median_loss=f"{np.nanmedian(losses[epoch]):.3g}")
            analyses = {epoch: future.result() for epoch, future in futures.items()}
        return {"loss": losses, "checkpoints": analyses}

    def analyze(self, grid_size: int = 1001, tolerance: float = 1e-3, training_mse: bool = True) -> dict:
        """:func:`analyze_parameters` for every arm's current parameters, plus each network's MSE on
        its own training set (``training_mse``)."""
        out = {}
        for arm, params in zip(self.arms, self.parameters().values()):
            out[arm.name] = analyze_parameters(params, arm.activation, self.target, self.negative_slope,
                                               grid_size, tolerance)
            if training_mse:
                predictions, _, _ = evaluate_networks(params, self.x, arm.activation, self.negative_slope)
                mse = np.mean((predictions - self.target_values(self.x)) ** 2, axis=1)
                out[arm.name]["mse"] = np.where(out[arm.name]["non_finite"], np.nan, mse)
        return out


def analyze_parameters(params, activation: str, target: str = "abs", negative_slope: float = 0.01,
                       grid_size: int = 1001, tolerance: float = 1e-3) -> dict[str, np.ndarray]:
    """Collapse diagnostics of ``S`` networks on a ``grid_size`` grid of the domain.

    Returns per network: ``relative_spread`` (spread of the output on the grid / spread of the
    target), ``collapsed`` (relative_spread <= tolerance), ``dead`` (a layer with every unit
    inactive everywhere), ``dead_layer``, ``non_finite`` (output not finite: diverged) and
    ``mean_output``.

    Example:
        >>> params = initial_parameters("he_normal", 10, 2, 100, np.random.default_rng(0))
        >>> out = analyze_parameters(params, "relu")
        >>> bool(np.all(out["dead"] <= out["collapsed"]))   # a dead ReLU network is constant
        True
    """
    check_range("tolerance", tolerance, low=0)
    points = grid(grid_size)
    target_values = TARGETS[check_target(target)](points)
    target_spread = float(target_values.max() - target_values.min())
    outputs, dead, dead_layer = evaluate_networks(params, points, activation, negative_slope)
    finite = np.all(np.isfinite(outputs), axis=1)
    with np.errstate(invalid="ignore"):
        spread = np.where(finite, outputs.max(axis=1) - outputs.min(axis=1), np.nan)
    relative = spread / target_spread
    return {
        "relative_spread": relative, "collapsed": finite & (relative <= tolerance), "dead": finite & dead,
        "dead_layer": dead_layer, "non_finite": ~finite,
        "mean_output": np.where(finite, outputs.mean(axis=1), np.nan),
    }


# ------------------------------------------------------------------------------ the naive reference
def train_reference_network(ensemble: DyingReluEnsemble, arm, k: int, epochs: int, *,
                            orders: list[np.ndarray] | None = None, jit_compile: bool = True):
    """Train simulation ``k`` of ``arm`` alone, as a plain ``keras.Sequential`` model with ``fit``.

    Same initial weights, same data and — given ``orders`` (the ensemble's recorded batch orders,
    one ``(S, used)`` array per epoch) — the same batch order, so the tests can compare the two
    update by update. Without ``orders`` each epoch is a fresh shuffle of its own.

    Returns:
        ``(model, params, losses)``: ``params`` as ``[(kernel (1, fan_in, fan_out), bias (1, fan_out)), ...]``,
        ``losses`` the loss Keras reports for each epoch.
    """
    from hw2.models import narrow_mlp

    arm = Arm.parse(arm)
    model = narrow_mlp(*ensemble.architecture(arm), activation=arm.activation, negative_slope=ensemble.negative_slope)
    init = ensemble.initial_parameters_of(arm)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, (kernel, bias) in zip(dense, init):
        layer.set_weights([kernel[k], bias[k]])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=ensemble.learning_rate), loss="mse",
                  jit_compile=jit_compile)
    x, y = ensemble.training_set(k)
    used = ensemble.steps_per_epoch * ensemble.batch_size
    rng = np.random.default_rng([ensemble.seed, 4, k])
    losses = []
    for epoch in range(epochs):
        order = orders[epoch][k] if orders is not None else rng.permutation(ensemble.n_points)[:used]
        history = model.fit(x[order, None], y[order, None], batch_size=ensemble.batch_size, epochs=1,
                            shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
    params = [(layer.get_weights()[0][None], layer.get_weights()[1][None]) for layer in dense]
    return model, params, np.asarray(losses)


def float32_resolution(output_level, target_spread: float) -> np.ndarray:
    """The smallest nonzero relative spread float32 can show for outputs near ``output_level``.

    A network's output on the grid is stored in float32; if its variation over the domain is below
    one float32 step (``np.spacing``) at its level, every grid value rounds to the same number and
    the measured spread is exactly 0, although the function is not constant in exact arithmetic.
    One step, divided by the target's spread, is the resolution of ``relative_spread``.

    Example:
        >>> float(float32_resolution(1.0, 2.0))  # 2**-23 / 2
        5.960464477539063e-08
    """
    check_positive("target_spread", target_spread)
    level = np.abs(np.asarray(output_level, dtype=np.float32))
    return np.spacing(level).astype(np.float64) / float(target_spread)
