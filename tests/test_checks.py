"""hw2._checks: Keras-worded argument checks."""

import dataclasses
import math
import re

import numpy as np
import pytest

from hw2 import _checks as checks

NON_FINITE = [math.nan, math.inf, -math.inf, np.float64("nan"), np.float32("inf")]


def _message(name, requirement, shown):
    return re.escape(f"Argument `{name}` must be {requirement}. Received: {name}={shown}")


# ------------------------------------------------------------------------------ check_positive
@pytest.mark.parametrize("value", [1, 0.5, 1e-12, np.float32(2.0), np.int64(3)])
def test_positive_accepts_and_returns_the_value(value):
    assert checks.check_positive("lr", value) is value


@pytest.mark.parametrize("value, shown", [(0, "0"), (-1.5, "-1.5"), (np.float64(-2.0), "-2.0"), ("1", "'1'"),
                                          (None, "None"), (True, "True")])
def test_positive_rejects_with_keras_wording(value, shown):
    with pytest.raises(ValueError, match="^" + _message("lr", "> 0", shown) + "$"):
        checks.check_positive("lr", value)


@pytest.mark.parametrize("value", NON_FINITE)
def test_numeric_checks_reject_non_finite(value):
    for check in (checks.check_positive, checks.check_finite, checks.check_probability,
                  lambda name, v: checks.check_range(name, v, low=0),
                  lambda name, v: checks.check_range(name, v)):
        with pytest.raises(ValueError, match="Argument `x` must be .*finite"):
            check("x", value)
    for check in (checks.check_int, checks.check_power_of_two):
        with pytest.raises(ValueError, match="Argument `x` must be"):
            check("x", value)


def test_non_finite_message_states_the_bound_first():
    with pytest.raises(ValueError, match="^" + _message("lr", "> 0 and finite", "inf") + "$"):
        checks.check_positive("lr", math.inf)


# ------------------------------------------------------------------------------ check_finite
def test_finite():
    assert checks.check_finite("x", -3.5) == -3.5
    with pytest.raises(ValueError, match=_message("x", "finite", "'a'")):
        checks.check_finite("x", "a")


# ------------------------------------------------------------------------------ check_range
@pytest.mark.parametrize("inclusive, requirement, accepted, rejected", [
    ("both", "in [0, 1]", [0, 0.5, 1], [-0.1, 1.1]),
    ("left", "in [0, 1)", [0, 0.5], [1, -0.1]),
    ("right", "in (0, 1]", [0.5, 1], [0, 1.1]),
    ("neither", "in (0, 1)", [0.5], [0, 1]),
])
def test_range_ends(inclusive, requirement, accepted, rejected):
    for value in accepted:
        assert checks.check_range("gamma", value, 0, 1, inclusive=inclusive) == value
    for value in rejected:
        with pytest.raises(ValueError, match="^" + _message("gamma", requirement, value) + "$"):
            checks.check_range("gamma", value, 0, 1, inclusive=inclusive)


@pytest.mark.parametrize("low, high, inclusive, requirement, bad", [
    (0, None, "both", ">= 0", -1),
    (0, None, "neither", "> 0", 0),
    (None, 5, "both", "<= 5", 6),
    (None, 5, "left", "< 5", 5),
])
def test_range_one_sided(low, high, inclusive, requirement, bad):
    with pytest.raises(ValueError, match="^" + _message("n", requirement, bad) + "$"):
        checks.check_range("n", bad, low, high, inclusive=inclusive)


def test_range_unbounded_is_a_finite_check():
    assert checks.check_range("x", -1e300) == -1e300
    with pytest.raises(ValueError, match=_message("x", "a finite number", "'a'")):
        checks.check_range("x", "a")


def test_range_rejects_an_unknown_inclusive():
    with pytest.raises(ValueError, match="Argument `inclusive` must be one of"):
        checks.check_range("x", 0.5, 0, 1, inclusive="open")


# ------------------------------------------------------------------------------ check_probability
def test_probability():
    assert checks.check_probability("p", 0) == 0
    assert checks.check_probability("p", 1) == 1
    with pytest.raises(ValueError, match=_message("p", "in [0, 1)", "1")):
        checks.check_probability("p", 1, inclusive="left")
    with pytest.raises(ValueError, match=_message("p", "in [0, 1]", "1.5")):
        checks.check_probability("p", 1.5)


# ------------------------------------------------------------------------------ check_int
@pytest.mark.parametrize("value", [3, 3.0, np.int32(3), np.float64(3.0)])
def test_int_accepts_integral_values_and_returns_int(value):
    result = checks.check_int("epochs", value, low=1)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize("value, shown", [(2.5, "2.5"), (True, "True"), (False, "False"), ("3", "'3'"),
                                          (None, "None"), (0, "0")])
def test_int_rejects(value, shown):
    with pytest.raises(ValueError, match="^" + _message("epochs", "an integer >= 1", shown) + "$"):
        checks.check_int("epochs", value, low=1)


def test_int_bounds_wording():
    with pytest.raises(ValueError, match=_message("k", "an integer", "0.5")):
        checks.check_int("k", 0.5)
    with pytest.raises(ValueError, match=_message("k", "an integer in [1, 3]", "4")):
        checks.check_int("k", 4, low=1, high=3)
    with pytest.raises(ValueError, match=_message("k", "an integer <= 3", "4")):
        checks.check_int("k", 4, high=3)
    assert checks.check_int("k", -7) == -7


# ------------------------------------------------------------------------------ check_increasing
def test_increasing_accepts_a_grid_and_returns_a_tuple():
    assert checks.check_increasing("lrs", np.array([1e-3, 1e-2]), low=0, inclusive="neither") == (1e-3, 1e-2)
    sizes = checks.check_increasing("b", [8, 16.0, np.int64(32)], low=1, high=32, integer=True)
    assert sizes == (8, 16, 32) and all(type(b) is int for b in sizes)


@pytest.mark.parametrize("values, shown", [([], "[]"), ([0.1, 0.01], "[0.1, 0.01]"), ([0.1, 0.1], "[0.1, 0.1]"),
                                           ([0.1, math.inf], "[0.1, inf]"), ([0.0, 0.1], "[0.0, 0.1]"),
                                           (0.1, "0.1"), ([0.1, "1"], "[0.1, '1']")])
def test_increasing_rejects(values, shown):
    requirement = "a non-empty, strictly increasing list of finite numbers > 0"
    with pytest.raises(ValueError, match="^" + _message("lrs", requirement, shown) + "$"):
        checks.check_increasing("lrs", values, low=0, inclusive="neither")


@pytest.mark.parametrize("values, shown", [((8, 128), "(8, 128)"), ((True, 16), "(True, 16)"),
                                           ((8.5, 16), "(8.5, 16)"), ((16, 8), "(16, 8)")])
def test_increasing_integers_rejects(values, shown):
    requirement = "a non-empty, strictly increasing list of integers in [1, 64]"
    with pytest.raises(ValueError, match="^" + _message("b", requirement, shown) + "$"):
        checks.check_increasing("b", values, low=1, high=64, integer=True)


# ------------------------------------------------------------------------------ check_power_of_two
@pytest.mark.parametrize("value", [1, 2, 64, 1024, np.int64(8), 4.0])
def test_power_of_two_accepts(value):
    result = checks.check_power_of_two("b", value)
    assert result == value and type(result) is int


@pytest.mark.parametrize("value", [True, False, 0, -2, 3, 96, 2.5, "4", None])
def test_power_of_two_rejects(value):
    with pytest.raises(ValueError, match=re.escape("Argument `b` must be a power of two >= 1. Received: b=")):
        checks.check_power_of_two("b", value)


# ------------------------------------------------------------------------------ check_choice
def test_choice():
    assert checks.check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="^" + _message("mode", "one of ('a', 'b')", "'c'") + "$"):
        checks.check_choice("mode", "c", ["a", "b"])
    with pytest.raises(ValueError, match=re.escape("one of ('relu',)")):
        checks.check_choice("activation", "tanh", {"relu": None})


@pytest.mark.parametrize("value", [["a"], np.array(["a", "b"]), {"a": 1}])
def test_choice_rejects_unhashable_and_arrays_without_crashing(value):
    with pytest.raises(ValueError, match="Argument `mode` must be one of"):
        checks.check_choice("mode", value, ("a", "b"))


# ------------------------------------------------------------------------------ check_callable
def test_callable():
    assert checks.check_callable("schedule", abs, "step -> rate") is abs
    assert checks.check_callable("scale_fn", None, optional=True) is None
    with pytest.raises(ValueError, match="^" + _message("scale_fn", "a callable", "None") + "$"):
        checks.check_callable("scale_fn", None)
    with pytest.raises(ValueError, match="^" + _message("schedule", "a callable step -> rate or None", "3") + "$"):
        checks.check_callable("schedule", 3, "step -> rate", optional=True)


# ------------------------------------------------------------------------------ check_fields
@dataclasses.dataclass
class _Config:
    epochs: int = 2
    seeds: int = 3
    n_train: int | None = None


def test_fields_pass_and_name_the_first_bad_field():
    checks.check_fields(_Config(), ("epochs", "seeds"))
    with pytest.raises(ValueError, match="^" + _message("seeds", "an integer >= 1", "0") + "$"):
        checks.check_fields(_Config(seeds=0), ("epochs", "seeds"))
    with pytest.raises(ValueError, match=_message("epochs", "an integer >= 2", "1")):
        checks.check_fields(_Config(epochs=1), ("epochs",), low=2)


def test_fields_optional():
    checks.check_fields(_Config(), ("n_train",), optional=True)
    with pytest.raises(ValueError, match=_message("n_train", "an integer >= 1", "None")):
        checks.check_fields(_Config(), ("n_train",))
    with pytest.raises(ValueError, match="^" + _message("n_train", "an integer >= 1 or None", "0") + "$"):
        checks.check_fields(_Config(n_train=0), ("n_train",), optional=True)


# ------------------------------------------------------------------------------ the library's callers
_X, _Y = np.zeros((1, 2, 2)), np.ones((1, 2))
_SGD = {"lr": 1.0, "rng": np.random.default_rng(0)}
LIBRARY_CALLS = [  # (module, function, arguments, the message)
    ("hw2.models", "narrow_mlp", {"depth": 0}, _message("depth", "an integer >= 1", "0")),
    ("hw2.models", "narrow_mlp", {"activation": "elu"},
     _message("activation", "one of ('relu', 'leaky_relu')", "'elu'")),
    ("hw2.models", "init_study_mlp", {"n_hidden": 0}, _message("n_hidden", "an integer >= 1", "0")),
    ("hw2.models", "lenet5", {"conv_dropout": 1.0}, _message("conv_dropout", "in [0, 1)", "1.0")),
    ("hw2.models", "lenet5", {"input_variance": 0.0}, _message("input_variance", "> 0", "0.0")),
    ("hw2.models", "mini_googlenet", {"precision": "float16"},
     _message("precision", "one of ('float32', 'mixed_bfloat16')", "'float16'")),
    ("hw2.models", "mini_googlenet", {"num_classes": 1}, _message("num_classes", "an integer >= 2", "1")),
    ("hw2.stats", "wilson_interval", {"successes": 3, "n": 0}, _message("n", "> 0", "0")),
    ("hw2.stats", "wilson_interval", {"successes": 4, "n": 3}, _message("successes", "in [0, 3]", "4")),
    ("hw2.stats", "t_quantile_975", {"df": 0}, _message("df", ">= 1", "0")),
    ("hw2.stats", "mcnemar_exact", {"only_a": 2.5, "only_b": 1}, _message("only_a", "an integer >= 0", "2.5")),
    ("hw2.perceptron", "train_margin_sgd", {"x": _X, "y": _Y, "margin": -1.0, "epochs": 1, **_SGD},
     _message("margin", ">= 0", "-1.0")),
    ("hw2.perceptron", "train_margin_sgd", {"x": _X, "y": _Y, "margin": 0.0, "epochs": -1, **_SGD},
     _message("epochs", "an integer >= 0", "-1")),
    ("hw2.datasets", "load", {"name": "cifar10"}, _message("name", "one of ('fashion_mnist', 'mnist')", "'cifar10'")),
    ("hw2.datasets", "unit_square", {"n": 0, "rng": np.random.default_rng(0)}, _message("n", ">= 1", "0")),
    ("hw2.init_study", "expected_gain", {"activation": "elu"},
     _message("activation", "one of ('tanh', 'sigmoid', 'relu')", "'elu'")),
    ("hw2.init_study", "classify", {"activation_signal_std": [1.0] * 3, "gradient_std": [1.0] * 3, "threshold": 1.0},
     _message("threshold", "> 1", "1.0")),
    ("hw2.experiments.p2_initialization", "InitStudyConfig", {"n_images": 0},
     _message("n_images", "an integer in [1, 10000]", "0")),
    ("hw2.experiments.p4_data", "FashionSummaryConfig", {"images_per_class": 51},
     _message("images_per_class", "an integer in [1, 50]", "51")),
]


@pytest.mark.parametrize(("module", "function", "arguments", "message"), LIBRARY_CALLS,
                         ids=[f"{fn}-{msg.split('`')[1]}" for _, fn, _, msg in LIBRARY_CALLS])
def test_library_checks_use_the_shared_wording(module, function, arguments, message):
    import importlib

    with pytest.raises(ValueError, match="^" + message + "$"):
        getattr(importlib.import_module(module), function)(**arguments)
