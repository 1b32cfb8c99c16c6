"""Small models and data shared by the range-test and sweep tests."""

import keras
import numpy as np
from keras import ops


def classifier(bn=False):
    layers = [keras.Input((6,)), keras.layers.Dense(8)]
    if bn:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Activation("relu"), keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(layers)


def regressor():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")


def state(model):
    return ([np.array(v.numpy()) for v in model.variables],
            [np.array(v.numpy()) for v in model.optimizer.variables])


class NaNStatistic(keras.layers.Layer):
    """A statistic (like batch norm's moving mean) that becomes NaN at the first training step,
    while the layer's output stays finite (NaN mapped to 0, as a ReLU can): the loss stays about
    ln 3 although the model's weights are no longer finite."""

    def build(self, input_shape):
        self.statistic = self.add_weight(shape=(), initializer="zeros", trainable=False, name="statistic")

    def call(self, x, training=False):
        h = x + self.statistic * 0.0
        if training:
            self.statistic.assign(self.statistic + float("nan"))
        return ops.where(ops.isfinite(h), h, ops.zeros_like(h))


def poisoned_classifier():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), NaNStatistic(),
                             keras.layers.Activation("relu"), keras.layers.Dense(3, activation="softmax")])
