"""Model builders used across the report. Each is a plain Keras model.

Sections: the P2 initialization-study MLP, LeNet-5 (P3), MiniGoogLeNet (P4).
"""

from __future__ import annotations

import keras

from hw2._checks import argument_error, check_choice, check_int, check_positive, check_probability


# ----------------------------------------------------------------------------------- P2 (init study)
def init_study_mlp(activation: str = "tanh", kernel_initializer="glorot_normal", n_hidden: int = 5,
                   units: int = 100, input_dim: int = 784, n_classes: int = 10, seed: int | None = None,
                   name: str = "init_study_mlp") -> keras.Model:
    """The MLP of the intoli article on weight initialization (``create_mlp_model``), zero biases.

    Layout: ``Dense(units)`` (linear, named ``dense_0``) -> ``n_hidden`` x ``Dense(units, activation)``
    (``hidden_1`` ... ``hidden_n``) -> ``Dense(n_classes, softmax)`` (``output``). Every kernel is drawn
    by ``kernel_initializer`` (a Keras initializer or its name); ``seed`` gives each layer its own
    seeded copy so the model is reproducible.

    Example:
        >>> model = init_study_mlp("relu", "he_normal", seed=0)
        >>> [layer.name for layer in model.layers][:3]
        ['dense_0', 'hidden_1', 'hidden_2']
    """
    check_int("n_hidden", n_hidden, low=1)

    def init(i):
        initializer = keras.initializers.get(kernel_initializer)
        if seed is None:
            return initializer
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = seed * 1000 + i
            initializer = initializer.__class__.from_config(config)
        return initializer

    layers = [keras.Input((input_dim,)), keras.layers.Dense(units, kernel_initializer=init(0), name="dense_0")]
    for i in range(1, n_hidden + 1):
        layers.append(keras.layers.Dense(units, activation=activation, kernel_initializer=init(i), name=f"hidden_{i}"))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=init(n_hidden + 1),
                                     name="output"))
    return keras.Sequential(layers, name=name)


def narrow_mlp(depth: int = 10, width: int = 2, activation: str = "relu", negative_slope: float = 0.01,
               name: str = "narrow_mlp") -> keras.Model:
    """A deep narrow regression network ``1 -> width (x depth-1, activation) -> 1`` (Lu et al. 2019).

    ``depth`` counts weight layers. ``activation`` is ``'relu'`` or ``'leaky_relu'`` (a
    ``LeakyReLU(negative_slope)`` layer after each hidden ``Dense``). Kernels He normal, biases zero.

    Example:
        >>> model = narrow_mlp(depth=3, width=2)
        >>> [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        [2, 2, 1]
    """
    check_int("depth", depth, low=1)
    check_int("width", width, low=1)
    check_choice("activation", activation, ("relu", "leaky_relu"))
    layers = [keras.Input((1,))]
    for i in range(depth - 1):
        if activation == "relu":
            layers.append(keras.layers.Dense(width, activation="relu", kernel_initializer="he_normal",
                                             name=f"hidden_{i + 1}"))
        else:
            layers.append(keras.layers.Dense(width, kernel_initializer="he_normal", name=f"hidden_{i + 1}"))
            layers.append(keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"leaky_{i + 1}"))
    layers.append(keras.layers.Dense(1, kernel_initializer="he_normal", name="output"))
    return keras.Sequential(layers, name=name)

# ----------------------------------------------------------------------------------- P3 (LeNet-5)
LENET_INPUTS = ("standardize", "batchnorm")


def lenet5(input_treatment: str = "standardize", hidden_batchnorm: bool = False,
           input_dropout: float = 0.0, hidden_dropout: float = 0.0, input_mean: float = 0.0,
           input_variance: float = 1.0, activation: str = "tanh", conv_dropout: float = 0.0,
           name: str = "lenet5") -> keras.Model:
    """LeNet-5 (LeCun et al. 1998) in its common modern form, with switches for BN and dropout.

    Layout (28x28x1 images in [0, 1]; tanh is the activation of every hidden layer)::

        zero-pad to 32x32 -> input treatment -> [dropout(input_dropout)]
        conv 6@5x5 -> [BN] -> tanh -> avg-pool 2x2 -> [dropout(conv_dropout)]
        conv 16@5x5 -> [BN] -> tanh -> avg-pool 2x2 -> [dropout(conv_dropout)] -> flatten
        dense 120 -> [BN] -> tanh -> [dropout(hidden_dropout)]
        dense 84  -> [BN] -> tanh -> [dropout(hidden_dropout)]
        dense 10 softmax

    The padding comes first, so the border equals the (zero) background before any normalization.
    ``input_treatment='standardize'`` is a :class:`keras.layers.Normalization` with one scalar
    mean / variance (those of the whole training set: pass ``input_mean`` / ``input_variance``,
    e.g. from a Normalization layer adapted once); ``'batchnorm'`` is a
    :class:`keras.layers.BatchNormalization` over the single input channel. With
    ``hidden_batchnorm`` every hidden conv / dense layer is followed by BN before its activation
    and drops its bias (BN's beta replaces it). ``hidden_dropout`` acts on the two hidden dense layers;
    ``conv_dropout`` (default off) after each conv block, where neighbouring pixels of a map are
    strongly correlated, so dropping single pixels regularizes less than dropping dense units.

    Layers are named so experiments can find them: ``input_norm`` / ``input_bn``, ``conv1``,
    ``conv2``, ``fc1``, ``fc2`` (each with ``_bn`` and ``_act``), ``output``.

    Example:
        >>> model = lenet5(hidden_batchnorm=True, hidden_dropout=0.5)
        >>> model.output_shape
        (None, 10)
        >>> [layer.name for layer in model.layers if layer.name.endswith("_bn")]
        ['conv1_bn', 'conv2_bn', 'fc1_bn', 'fc2_bn']
    """
    check_choice("input_treatment", input_treatment, LENET_INPUTS)
    for arg, rate in (("input_dropout", input_dropout), ("hidden_dropout", hidden_dropout),
                      ("conv_dropout", conv_dropout)):
        check_probability(arg, rate, inclusive="left")
    check_positive("input_variance", input_variance)

    def hidden(x, layer, label):
        x = layer(x)
        if hidden_batchnorm:
            x = keras.layers.BatchNormalization(name=f"{label}_bn")(x)
        return keras.layers.Activation(activation, name=f"{label}_act")(x)

    use_bias = not hidden_batchnorm
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.ZeroPadding2D(2, name="pad")(inputs)
    if input_treatment == "standardize":
        x = keras.layers.Normalization(axis=None, mean=input_mean, variance=input_variance,
                                       name="input_norm")(x)
    else:
        x = keras.layers.BatchNormalization(name="input_bn")(x)
    if input_dropout:
        x = keras.layers.Dropout(input_dropout, name="input_dropout")(x)
    for label, channels in (("conv1", 6), ("conv2", 16)):
        x = hidden(x, keras.layers.Conv2D(channels, 5, use_bias=use_bias, name=label), label)
        x = keras.layers.AveragePooling2D(2, name=f"pool{label[-1]}")(x)
        if conv_dropout:
            x = keras.layers.Dropout(conv_dropout, name=f"{label}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for label, units in (("fc1", 120), ("fc2", 84)):
        x = hidden(x, keras.layers.Dense(units, use_bias=use_bias, name=label), label)
        if hidden_dropout:
            x = keras.layers.Dropout(hidden_dropout, name=f"{label}_dropout")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)

# ----------------------------------------------------------------------------------- P4 (MiniGoogLeNet)
PRECISIONS = ("float32", "mixed_bfloat16")
# The Inception-style network of Zhang et al. 2017 ("Understanding deep learning requires rethinking
# generalization"), laid out as in pyimagesearch's Keras learning-rate-finder article.

MINI_GOOGLENET_PLAN = (
    ("inception", 32, 32), ("inception", 32, 48), ("downsample", 80),
    ("inception", 112, 48), ("inception", 96, 64), ("inception", 80, 80), ("inception", 48, 96),
    ("downsample", 96),
    ("inception", 176, 160), ("inception", 176, 160),
)


def mini_googlenet(input_shape=(32, 32, 1), num_classes: int = 10, width: float = 1.0,
                   dropout: float = 0.5, name: str | None = None, precision: str = "float32") -> keras.Model:
    """MiniGoogLeNet: conv 96 -> 2 inception -> downsample -> 4 inception -> downsample -> 2 inception.

    A conv module is Conv2D (3x3 or 1x1, "same") + BatchNormalization + ReLU; an inception module
    concatenates a 1x1 and a 3x3 conv module; a downsample module concatenates a stride-2 3x3 conv
    module ("valid") and a stride-2 3x3 max pool. The head is a 7x7 average pool, dropout and a
    softmax dense layer. On a 32x32 input the two downsamples give 15x15 then 7x7. Fashion-MNIST's
    28x28 images are zero-padded to 32x32 (:func:`hw2.training.pad_to_32`), not resized.

    At ``width=1`` (the published network) it has 1,654,522 parameters for a 1-channel input.
    ``width < 1`` multiplies every filter count (rounded, at least 1) for reduced profiles; that is
    no longer the published model and should be labelled as such.

    ``precision="mixed_bfloat16"`` builds every layer under Keras' mixed policy (bfloat16 compute,
    float32 weights) except the softmax output, which stays float32 for a stable loss. On CPUs with
    AMX-BF16, oneDNN then runs the convolutions in bfloat16 (``benchmarks/minigooglenet.py``).

    Example:
        >>> model = mini_googlenet()
        >>> model.count_params()
        1654522
        >>> model.output_shape
        (None, 10)

    Args:
        input_shape: ``(height, width, channels)``; height and width >= 31 for the 7x7 pool.
        num_classes: number of softmax outputs.
        width: filter-count multiplier > 0 (1 = the published network).
        dropout: dropout rate before the classifier, in [0, 1).
        name: model name; default ``"mini_googlenet"`` (with the width when it is not 1).
        precision: ``"float32"`` or ``"mixed_bfloat16"``.
    """
    check_choice("precision", precision, PRECISIONS)
    check_positive("width", width)
    check_probability("dropout", dropout, inclusive="left")
    check_int("num_classes", num_classes, low=2)
    if len(input_shape) != 3 or min(input_shape[:2]) < 31:
        raise argument_error("input_shape", "(height, width, channels) with height, width >= 31",
                             tuple(input_shape))
    filters = lambda k: max(1, int(round(k * width)))

    def conv_module(x, k, size, strides=1, padding="same"):
        x = keras.layers.Conv2D(filters(k), size, strides=strides, padding=padding)(x)
        x = keras.layers.BatchNormalization()(x)
        return keras.layers.Activation("relu")(x)

    def inception_module(x, k1, k3):
        return keras.layers.Concatenate()([conv_module(x, k1, 1), conv_module(x, k3, 3)])

    def downsample_module(x, k):
        conv = conv_module(x, k, 3, strides=2, padding="valid")
        pool = keras.layers.MaxPooling2D(3, strides=2)(x)
        return keras.layers.Concatenate()([conv, pool])

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # read by every layer when it is created
    try:
        inputs = keras.Input(shape=tuple(input_shape))
        x = conv_module(inputs, 96, 3)
        for kind, *sizes in MINI_GOOGLENET_PLAN:
            x = inception_module(x, *sizes) if kind == "inception" else downsample_module(x, *sizes)
        x = keras.layers.AveragePooling2D(7)(x)
        x = keras.layers.Dropout(dropout)(x)
        x = keras.layers.Flatten()(x)
        outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    finally:
        keras.config.set_dtype_policy(previous)
    if name is None:
        name = "mini_googlenet" if width == 1 else f"mini_googlenet_w{width:g}"
    return keras.Model(inputs, outputs, name=name)
