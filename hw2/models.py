"""Model builders used across the report. Each is a plain Keras model.

Sections: the P2 initialization-study MLP, LeNet-5 (P3), MiniGoogLeNet (P4).
"""

from __future__ import annotations

import keras

# ----------------------------------------------------------------------------------- P2 (init study)
# (init_study_mlp: added with Problem 2)

# ----------------------------------------------------------------------------------- P3 (LeNet-5)
LENET_INPUTS = ("standardize", "batchnorm")


def lenet5(input_treatment: str = "standardize", hidden_batchnorm: bool = False,
           input_dropout: float = 0.0, hidden_dropout: float = 0.0, input_mean: float = 0.0,
           input_variance: float = 1.0, activation: str = "tanh", name: str = "lenet5") -> keras.Model:
    """LeNet-5 (LeCun et al. 1998) in its common modern form, with switches for BN and dropout.

    Layout (28x28x1 images in [0, 1]; tanh is the activation of every hidden layer)::

        zero-pad to 32x32 -> input treatment -> [dropout(input_dropout)]
        conv 6@5x5 -> [BN] -> tanh -> avg-pool 2x2
        conv 16@5x5 -> [BN] -> tanh -> avg-pool 2x2 -> flatten
        dense 120 -> [BN] -> tanh -> [dropout(hidden_dropout)]
        dense 84  -> [BN] -> tanh -> [dropout(hidden_dropout)]
        dense 10 softmax

    The padding comes first, so the border equals the (zero) background before any normalization.
    ``input_treatment='standardize'`` is a :class:`keras.layers.Normalization` with one scalar
    mean / variance (those of the whole training set: pass ``input_mean`` / ``input_variance``,
    e.g. from a Normalization layer adapted once); ``'batchnorm'`` is a
    :class:`keras.layers.BatchNormalization` over the single input channel. With
    ``hidden_batchnorm`` every hidden conv / dense layer is followed by BN before its activation
    and drops its bias (BN's beta replaces it). Hidden dropout acts on the two hidden dense layers
    only: the conv maps have 6 and 16 channels of strongly correlated pixels.

    Layers are named so experiments can find them: ``input_norm`` / ``input_bn``, ``conv1``,
    ``conv2``, ``fc1``, ``fc2`` (each with ``_bn`` and ``_act``), ``output``.

    Example:
        >>> model = lenet5(hidden_batchnorm=True, hidden_dropout=0.5)
        >>> model.output_shape
        (None, 10)
        >>> [layer.name for layer in model.layers if layer.name.endswith("_bn")]
        ['conv1_bn', 'conv2_bn', 'fc1_bn', 'fc2_bn']
    """
    if input_treatment not in LENET_INPUTS:
        raise ValueError(f"Argument `input_treatment` must be one of {LENET_INPUTS}. "
                         f"Received: input_treatment={input_treatment!r}")
    for arg, rate in (("input_dropout", input_dropout), ("hidden_dropout", hidden_dropout)):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Argument `{arg}` must be in [0, 1). Received: {arg}={rate}")
    if not input_variance > 0:
        raise ValueError(f"Argument `input_variance` must be > 0. Received: input_variance={input_variance}")

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
    x = hidden(x, keras.layers.Conv2D(6, 5, use_bias=use_bias, name="conv1"), "conv1")
    x = keras.layers.AveragePooling2D(2, name="pool1")(x)
    x = hidden(x, keras.layers.Conv2D(16, 5, use_bias=use_bias, name="conv2"), "conv2")
    x = keras.layers.AveragePooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for label, units in (("fc1", 120), ("fc2", 84)):
        x = hidden(x, keras.layers.Dense(units, use_bias=use_bias, name=label), label)
        if hidden_dropout:
            x = keras.layers.Dropout(hidden_dropout, name=f"{label}_dropout")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name=name)

# ----------------------------------------------------------------------------------- P4 (MiniGoogLeNet)
# The Inception-style network of Zhang et al. 2017 ("Understanding deep learning requires rethinking
# generalization"), laid out as in pyimagesearch's Keras learning-rate-finder article.

MINI_GOOGLENET_PLAN = (
    ("inception", 32, 32), ("inception", 32, 48), ("downsample", 80),
    ("inception", 112, 48), ("inception", 96, 64), ("inception", 80, 80), ("inception", 48, 96),
    ("downsample", 96),
    ("inception", 176, 160), ("inception", 176, 160),
)


def mini_googlenet(input_shape=(32, 32, 1), num_classes: int = 10, width: float = 1.0,
                   dropout: float = 0.5, name: str | None = None) -> keras.Model:
    """MiniGoogLeNet: conv 96 -> 2 inception -> downsample -> 4 inception -> downsample -> 2 inception.

    A conv module is Conv2D (3x3 or 1x1, "same") + BatchNormalization + ReLU; an inception module
    concatenates a 1x1 and a 3x3 conv module; a downsample module concatenates a stride-2 3x3 conv
    module ("valid") and a stride-2 3x3 max pool. The head is a 7x7 average pool, dropout and a
    softmax dense layer. On a 32x32 input the two downsamples give 15x15 then 7x7. Fashion-MNIST's
    28x28 images are zero-padded to 32x32 (:func:`hw2.training.pad_to_32`), not resized.

    At ``width=1`` (the published network) it has 1,654,522 parameters for a 1-channel input.
    ``width < 1`` multiplies every filter count (rounded, at least 1) for reduced profiles; that is
    no longer the published model and should be labelled as such.

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
    """
    if not width > 0:
        raise ValueError(f"Argument `width` must be > 0. Received: width={width!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"Argument `dropout` must be in [0, 1). Received: dropout={dropout!r}")
    if num_classes < 2:
        raise ValueError(f"Argument `num_classes` must be >= 2. Received: num_classes={num_classes!r}")
    if len(input_shape) != 3 or min(input_shape[:2]) < 31:
        raise ValueError("Argument `input_shape` must be (height, width, channels) with height, width "
                         f">= 31. Received: input_shape={tuple(input_shape)}")
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

    inputs = keras.Input(shape=tuple(input_shape))
    x = conv_module(inputs, 96, 3)
    for kind, *sizes in MINI_GOOGLENET_PLAN:
        x = inception_module(x, *sizes) if kind == "inception" else downsample_module(x, *sizes)
    x = keras.layers.AveragePooling2D(7)(x)
    x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    if name is None:
        name = "mini_googlenet" if width == 1 else f"mini_googlenet_w{width:g}"
    return keras.Model(inputs, outputs, name=name)
