"""hw2: Keras library and report for a deep-learning-systems homework.

Submodules: ``datasets``, ``profiles``, ``store``, ``experiments``, ``perceptron``, ``stats``,
``report``, ``plotting``, ``models``, ``initializers``, ``init_study``, ``dying_relu``,
``schedules``, ``suggest``, ``range_test``, ``sweeps``, ``noise_scale``, ``training``. Public names are
importable from ``hw2`` directly
(loaded on first use, so ``import hw2`` stays fast).

Example:
    >>> import hw2
    >>> hw2.resolve_profile("smoke")
    'smoke'
"""

from __future__ import annotations

import importlib
import os

# TensorFlow's C++ start-up banner is noise in the report and the CLI; real errors still print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# public name -> submodule that defines it (imported lazily)
_EXPORTS = {
    "load_mnist": "datasets", "load_fashion_mnist": "datasets", "unit_square": "datasets",
    "resolve_profile": "profiles", "config_for": "profiles",
    "ResultStore": "store", "StoredResult": "store",
    "train_margin_sgd": "perceptron",
    "wilson_interval": "stats", "paired_difference": "stats",
    # Problem 4: the cyclical-policy library
    "CyclicalLearningRate": "schedules", "CyclicalBatchSize": "schedules",
    "suggest_lr": "suggest", "suggest_batch_size": "suggest", "Suggestion": "suggest",
    "lr_range_test": "range_test", "LRRangeTestResult": "range_test",
    "lr_sweep": "sweeps", "batch_size_sweep": "sweeps", "batch_size_finder": "sweeps",
    "LRSweepResult": "sweeps", "BatchSweepResult": "sweeps", "BatchFinderResult": "sweeps",
    "BATCH_FINDER_STEPS": "sweeps",
    "GradientAccumulation": "accumulation", "BatchSizeSchedule": "training", "EpochBatches": "training",
    "fit_with_batch_policy": "training", "EpochLogger": "training", "TraceCounter": "training",
    "pad_to_32": "training", "epoch_order": "training",
    "mini_googlenet": "models",
    "GradientNoiseScale": "noise_scale", "noise_scale": "noise_scale", "NOISE_FINDER_STEPS": "noise_scale",
    # Problem 2
    "DyingReluEnsemble": "dying_relu", "NetworkStack": "dying_relu", "EnsembleRegressor": "dying_relu",
    "Arm": "dying_relu", "analyze_parameters": "dying_relu", "born_dead_monte_carlo": "dying_relu",
    "one_sided_death_probability": "dying_relu", "train_reference_network": "dying_relu",
    "randomized_asymmetric": "initializers", "apply_randomized_asymmetric": "initializers",
    "GradientRecorder": "init_study", "layer_statistics": "init_study",
    "init_study_mlp": "models", "narrow_mlp": "models",
    # Problem 3
    "lenet5": "models", "DriftProbe": "covariate_shift", "drift_summary": "covariate_shift",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"hw2.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hw2' has no attribute {name!r}")
