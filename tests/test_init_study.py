"""Problem 2.1 statistics: exact gradients via the recording optimizer, per-layer activation scales."""

import keras
import numpy as np
import pytest

from hw2 import init_study
from hw2.models import init_study_mlp


def test_gradient_recorder_returns_the_analytic_gradient_and_keeps_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.integers(0, 3, size=16)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    kernel_before = keras.ops.convert_to_numpy(model.layers[0].kernel).copy()
    recorder = init_study.GradientRecorder()
    model.compile(optimizer=recorder, loss="sparse_categorical_crossentropy")
    model.train_on_batch(x, y)
    logits = x @ kernel_before  # bias starts at zero
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = x.T @ (p - np.eye(3)[y]) / len(x)  # d mean(cross-entropy) / d kernel
    np.testing.assert_allclose(recorder.gradient_for(model.layers[0].kernel), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.layers[0].kernel), kernel_before)


@pytest.mark.slow
def test_small_normal_init_shrinks_tanh_activations_layer_by_layer():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(200, 40)).astype("float32")
    y = rng.integers(0, 10, size=200)
    small = init_study.layer_statistics("tanh/normal(0.01)", x, y, gradient_batch_size=50, units=50, seed=0,
                                        n_samples=100)
    assert small["activation_std"].shape == (5,) and small["activation_samples"].shape == (5, 100)
    # Linear regime: each layer multiplies the scale by about sigma * sqrt(units) = 0.07.
    ratios = small["activation_std"][1:] / small["activation_std"][:-1]
    np.testing.assert_allclose(ratios, 0.01 * np.sqrt(50), rtol=0.25)
    relu = init_study.layer_statistics("relu/he_normal", x, y, gradient_batch_size=50, units=50, seed=0,
                                       n_samples=100)
    assert np.all(relu["activation_saturated"] > 0.2)  # about half of the ReLU outputs are zero
    assert np.all(relu["gradient_std"] > 0)
    big = init_study.layer_statistics("tanh/normal(1)", x, y, gradient_batch_size=50, units=50, seed=0,
                                      n_samples=100)
    assert np.all(big["activation_saturated"][1:] > 0.5)  # tanh saturates


def test_cases_and_parsing():
    cases = init_study.default_cases()
    assert "relu/he_normal" in cases and "sigmoid/glorot_normal" in cases and "tanh/normal(0.01)" in cases
    assert len(cases) == 16 and "sigmoid/glorot_normal(4)" in cases
    assert init_study.parse_case("sigmoid/glorot_normal(4)") == ("sigmoid", "glorot_normal", 4.0)
    assert init_study.case_label("sigmoid/glorot_normal(4)") == "sigmoid, 4 × Glorot normal"
    assert init_study.parse_case("relu/normal(0.1)") == ("relu", "normal", 0.1)
    assert init_study.case_label("relu/he_normal") == "relu, He normal"
    for bad, name in [("elu/he_normal", "case"), ("relu/orthogonal", "case"), ("relu/normal(-1)", "σ"),
                      ("sigmoid/glorot_normal(0)", "gain"), ("sigmoid/orthogonal(2)", "case")]:
        with pytest.raises(ValueError, match=name):
            init_study.parse_case(bad)
    with pytest.raises(ValueError, match="gradient_batch_size"):
        init_study.layer_statistics("relu/he_normal", np.zeros((4, 3)), np.zeros(4), gradient_batch_size=5)


def test_init_study_mlp_layout():
    model = init_study_mlp("sigmoid", "glorot_normal", n_hidden=5, seed=3)
    names = [layer.name for layer in model.layers]
    assert names == ["dense_0"] + [f"hidden_{i}" for i in range(1, 6)] + ["output"]
    assert model.get_layer("dense_0").activation.__name__ == "linear"
    again = init_study_mlp("sigmoid", "glorot_normal", n_hidden=5, seed=3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("hidden_2").kernel),
                                  keras.ops.convert_to_numpy(again.get_layer("hidden_2").kernel))


def test_gain_scales_the_same_draws():
    plain = init_study_mlp("sigmoid", init_study.kernel_initializer("sigmoid/glorot_normal"), seed=0)
    scaled = init_study_mlp("sigmoid", init_study.kernel_initializer("sigmoid/glorot_normal(4)"), seed=0)
    for name in ("dense_0", "hidden_3", "output"):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(scaled.get_layer(name).kernel),
                                   4 * keras.ops.convert_to_numpy(plain.get_layer(name).kernel), rtol=1e-6)


def test_classify_uses_one_factor_and_one_threshold():
    t = init_study.SCALE_THRESHOLD
    layers = np.arange(5)
    flat = np.ones(5)
    # Just inside and just outside the band, on either side, for either scale.
    assert init_study.classify((0.99 / t) ** layers, flat)["verdict"] == "activations vanish"
    assert init_study.classify((1.01 / t) ** layers, flat)["keeps_scale"]
    assert init_study.classify((1.01 * t) ** layers, flat)["verdict"] == "activations explode"
    assert init_study.classify(flat, (1.01 * t) ** layers)["verdict"] == "gradients vanish towards the input"
    assert init_study.classify(flat, (0.99 / t) ** layers)["verdict"] == "gradients explode towards the input"
    # The factor farther from 1 names the verdict.
    both = init_study.classify(0.5 ** layers, 3.0 ** layers)
    assert both["verdict"] == "gradients vanish towards the input"
    assert both["activation_factor"] == pytest.approx(0.5) and both["gradient_factor"] == pytest.approx(3.0)
    # ReLU: Glorot's theoretical factor 1/sqrt(2) and He's 1 fall on either side of the threshold.
    assert not init_study.classify(2 ** (-layers / 2), flat)["keeps_scale"]
    assert init_study.classify(flat, flat)["keeps_scale"]
    assert init_study.classify(flat, np.zeros(5))["verdict"] == "gradients exactly zero"
    # Zero gradients count only through the activations: exploding activations name the verdict.
    exploding = init_study.classify(6.0 ** layers, np.zeros(5))
    assert exploding["verdict"] == "activations explode" and exploding["gradients_zero"]
    with pytest.raises(ValueError, match="`threshold` must be > 1"):
        init_study.classify(flat, flat, threshold=1.0)


def test_saturation_is_its_own_verdict_and_comes_first():
    t = init_study.SATURATION_THRESHOLD
    flat = np.ones(5)
    below, at = [t - 0.01] + [0.0] * 4, [0.0, 0.0, t, 0.0, 0.0]
    assert init_study.classify(flat, flat, saturated=below)["verdict"] == "keeps its scale"
    saturated = init_study.classify(0.5 ** np.arange(5), flat, saturated=at)
    assert saturated["verdict"] == "saturates" and saturated["saturated_max"] == t
    assert np.isnan(init_study.classify(flat, flat)["saturated_max"])
    assert init_study.saturation_applies("tanh") and not init_study.saturation_applies("relu")
    with pytest.raises(ValueError, match="`saturation_threshold` must be in"):
        init_study.classify(flat, flat, saturated=at, saturation_threshold=0.0)
    with pytest.raises(ValueError, match="`activation`"):
        init_study.saturation_applies("elu")


def test_layer_violins_name_the_power_of_ten_in_the_axis_label():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    fig, axes = plotting.new_figure(ncols=2)
    rng = np.random.default_rng(0)
    plotting.plot_layer_violins(axes[0], 3e-4 * rng.normal(size=(5, 50)), ylabel="dLoss/dW")
    plotting.plot_layer_violins(axes[1], rng.uniform(size=(5, 50)), ylabel="activation")
    fig.canvas.draw()
    assert axes[0].get_ylabel() == "dLoss/dW (×$10^{-4}$)" and axes[1].get_ylabel() == "activation"
    assert axes[0].yaxis.get_offset_text().get_text() == ""
    assert max(abs(t) for t in axes[0].get_yticks()) >= 1  # the ticks are in units of 1e-4
