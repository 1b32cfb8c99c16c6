"""MiniGoogLeNet: the published layout and parameter count, the width multiplier, padding."""

import numpy as np
import pytest

from hw2.models import mini_googlenet
from hw2.training import pad_to_32


@pytest.fixture(scope="module")
def model():
    # one build per module: under JAX every new weight shape compiles its random initializer
    return mini_googlenet()


def test_parameter_count_and_shapes(model):
    # Zhang et al. / pyimagesearch: about 1.65 M parameters; 1,656,250 with 3 input channels, i.e.
    # 2 * 3 * 3 * 96 = 1728 more first-layer weights than with 1 channel
    assert model.count_params() == 1_654_522 == 1_656_250 - 2 * 3 * 3 * 96
    assert model.layers[1].kernel.shape == (3, 3, 1, 96)
    assert model.input_shape == (None, 32, 32, 1) and model.output_shape == (None, 10)
    pooled = [layer for layer in model.layers if layer.__class__.__name__ == "AveragePooling2D"]
    assert len(pooled) == 1 and pooled[0].input.shape[1:3] == (7, 7)
    assert model.layers[-1].get_config()["activation"] == "softmax"
    assert sum(layer.__class__.__name__ == "BatchNormalization" for layer in model.layers) == 1 + 2 * 8 + 2


def test_width_multiplier_and_forward_pass(model):
    small = mini_googlenet(width=0.25, dropout=0.2)
    assert small.count_params() < model.count_params() / 10
    assert small.name == "mini_googlenet_w0.25" and model.name == "mini_googlenet"
    assert small.layers[1].kernel.shape == (3, 3, 1, 24)
    probs = small.predict(np.zeros((2, 32, 32, 1), "float32"), verbose=0)
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kwargs,match", [
    ({"width": 0}, "width"), ({"dropout": 1.0}, "dropout"), ({"num_classes": 1}, "num_classes"),
    ({"input_shape": (28, 28, 1)}, "input_shape"),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"Argument `{match}`"):
        mini_googlenet(**kwargs)


def test_pad_to_32_keeps_pixels():
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    padded = pad_to_32(x)
    assert padded.shape == (2, 32, 32, 1) and padded.dtype == np.uint8
    np.testing.assert_array_equal(padded[:, 2:30, 2:30, 0], x)
    assert padded[:, :2].sum() == 0 and padded[:, 30:].sum() == 0
    with pytest.raises(ValueError, match="Argument `x`"):
        pad_to_32(np.zeros((2, 40, 40)))
